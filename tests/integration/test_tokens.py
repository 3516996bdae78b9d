"""Sessions and their tokens: every full login opens a session and carries a
refresh token; ``POST /auth/refresh`` rotates it (a used one coming back ends the
session); ``POST /auth/logout`` ends the session at once; ``GET /auth/warehouses``
answers none."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx2
import jwt
import psycopg
import pytest
from psycopg.rows import dict_row
from starlette.testclient import TestClient

from app.auth import sessions
from app.auth.errors import AuthenticateError
from app.db import Row
from app.main import create_app
from app.settings import Settings
from tests.integration.helpers import (
    ADMIN_ROLE,
    ADMIN_USER,
    GARDENWORLD,
    HQ,
    assert_error,
    create_role,
    create_user,
    drop_role,
    drop_user,
    json_body,
    unique,
)

TOKENS = "/api/v1/auth/tokens"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
PROCESSES = "/api/v1/processes"
JOBS = "/api/v1/processes/jobs"


def _login(client: TestClient, name: str = "GardenAdmin", **body: Any) -> Any:
    answer = client.post(TOKENS, json={"userName": name, "password": name, **body})
    assert answer.status_code == 200, answer.text
    return json_body(answer)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


def _claims(token: str, settings: Settings) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS512"],
        issuer="procserv",
    )
    return claims


def _refresh(
    client: TestClient,
    refresh_token: str,
    client_id: Any = GARDENWORLD,
    user_id: Any = ADMIN_USER,
) -> httpx2.Response:
    body = {"refresh_token": refresh_token, "clientId": client_id, "userId": user_id}
    return client.post(REFRESH, json=body)


def _session(db: psycopg.Connection[Row], session_id: int) -> Row:
    row = db.execute(
        "SELECT * FROM ad_session WHERE ad_session_id = %s", (session_id,)
    ).fetchone()
    assert row is not None, session_id
    return row


def _assert_session_ended(client: TestClient, *access_tokens: str) -> None:
    for token in access_tokens:
        for path in (PROCESSES, JOBS):
            answer = client.get(path, headers=_bearer(token))
            assert_error(answer, 401, "Unauthorized", "Session ended")


@pytest.fixture
def two_roles(db: psycopg.Connection[Row]) -> Iterator[Row]:
    """A GardenWorld user with two roles, so logging in takes two steps."""
    name = unique("TokensTwoRoles")
    second = create_role(db, unique("Tokens Role"), access={"test-echo": True})
    user_id = create_user(db, name, [ADMIN_ROLE, second])
    yield {"name": name, "user_id": user_id, "second_role": second}
    drop_user(db, user_id)
    drop_role(db, second)


# --- logging in opens a session ---------------------------------------------------


def test_a_full_login_opens_a_session_named_in_the_token(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings
) -> None:
    body = _login(client)

    assert list(body)[-2:] == ["token", "refresh_token"]
    session_id = _claims(body["token"], settings)["AD_Session_ID"]
    assert isinstance(session_id, int)
    assert session_id >= 1_000_000
    row = _session(db, session_id)
    assert (row["ad_user_id"], row["ad_client_id"], row["ad_role_id"]) == (
        ADMIN_USER,
        GARDENWORLD,
        ADMIN_ROLE,
    )
    assert (row["ad_org_id"], row["ad_language"], row["ended"]) == (HQ, "en_US", None)
    assert isinstance(body["refresh_token"], str)
    assert len(body["refresh_token"]) >= 43


def test_no_refresh_token_is_stored_in_the_clear(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings
) -> None:
    body = _login(client)
    session_id = _claims(body["token"], settings)["AD_Session_ID"]

    rows = db.execute(
        "SELECT tokenhash FROM rest_refreshtoken WHERE ad_session_id = %s",
        (session_id,),
    ).fetchall()

    assert len(rows) == 1
    assert body["refresh_token"].encode() not in bytes(rows[0]["tokenhash"])
    assert len(rows[0]["tokenhash"]) == 32


def test_login_with_parameters_and_the_second_step_carry_a_refresh_token(
    client: TestClient, two_roles: Row, settings: Settings
) -> None:
    name = two_roles["name"]
    choices = {"clientId": GARDENWORLD, "roleId": two_roles["second_role"]}

    first = _login(client, name)
    chosen = client.put(TOKENS, json=choices, headers=_bearer(first["token"]))
    at_once = _login(client, name, parameters=choices)

    assert "refresh_token" not in first
    assert "AD_Session_ID" not in _claims(first["token"], settings)
    for body in (json_body(chosen), at_once):
        assert list(body)[-2:] == ["token", "refresh_token"]
        assert (
            _claims(body["token"], settings)["AD_Role_ID"] == two_roles["second_role"]
        )
    sessions = {
        _claims(body["token"], settings)["AD_Session_ID"]
        for body in (json_body(chosen), at_once)
    }
    assert len(sessions) == 2


# --- refresh ------------------------------------------------------------------------


def test_refresh_gives_a_new_pair_for_the_same_session(
    client: TestClient, settings: Settings
) -> None:
    login = _login(client)

    answer = _refresh(client, login["refresh_token"])

    assert answer.status_code == 200, answer.text
    pair = json_body(answer)
    assert list(pair) == ["token", "refresh_token"]
    assert pair["refresh_token"] != login["refresh_token"]
    old, new = _claims(login["token"], settings), _claims(pair["token"], settings)
    for claim in (
        "sub",
        "AD_Session_ID",
        "AD_User_ID",
        "AD_Client_ID",
        "AD_Role_ID",
        "AD_Org_ID",
        "AD_Language",
        "Clients",
    ):
        assert new[claim] == old[claim], claim
    assert client.get(PROCESSES, headers=_bearer(pair["token"])).status_code == 200


def test_the_access_token_of_before_a_refresh_works_until_logout(
    client: TestClient,
) -> None:
    login = _login(client)
    pair = json_body(_refresh(client, login["refresh_token"]))

    before = client.get(PROCESSES, headers=_bearer(login["token"]))
    client.post(LOGOUT, json={"token": pair["token"]})

    assert before.status_code == 200
    _assert_session_ended(client, login["token"], pair["token"])


def test_each_refresh_token_of_a_chain_refreshes_once(client: TestClient) -> None:
    refresh_token = _login(client)["refresh_token"]

    for _ in range(3):
        answer = _refresh(client, refresh_token)
        assert answer.status_code == 200, answer.text
        refresh_token = answer.json()["refresh_token"]


def test_a_used_refresh_token_ends_the_session_and_every_token_of_it(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings
) -> None:
    login = _login(client)
    pair = json_body(_refresh(client, login["refresh_token"]))

    reused = _refresh(client, login["refresh_token"])

    assert_error(reused, 401, "Authenticate error", "Invalid refresh token")
    assert reused.json()["detail"] == "Invalid refresh token"
    _assert_session_ended(client, login["token"], pair["token"])
    assert_error(_refresh(client, pair["refresh_token"]), 401, "Authenticate error")
    session = _session(db, _claims(login["token"], settings)["AD_Session_ID"])
    assert session["endreason"] == "reuse"
    assert session["ended"] is not None


def test_a_reused_refresh_token_leaves_other_sessions_of_the_user_alone(
    client: TestClient,
) -> None:
    other = _login(client)
    login = _login(client)
    _refresh(client, login["refresh_token"])

    _refresh(client, login["refresh_token"])

    assert client.get(PROCESSES, headers=_bearer(other["token"])).status_code == 200
    assert _refresh(client, other["refresh_token"]).status_code == 200


def test_two_refreshes_with_one_token_at_once_count_as_reuse(
    client: TestClient, settings: Settings
) -> None:
    login = _login(client)

    async def refresh_twice_at_once() -> list[object]:
        conns = [
            await psycopg.AsyncConnection.connect(
                settings.database_url, autocommit=True, row_factory=dict_row
            )
            for _ in range(2)
        ]
        try:
            return await asyncio.gather(
                *(
                    sessions.rotate(
                        conn,
                        settings,
                        login["refresh_token"],
                        client_id=GARDENWORLD,
                        user_id=ADMIN_USER,
                    )
                    for conn in conns
                ),
                return_exceptions=True,
            )
        finally:
            for conn in conns:
                await conn.close()

    results = asyncio.run(refresh_twice_at_once())

    assert sum(isinstance(result, dict) for result in results) == 1
    assert sum(isinstance(result, AuthenticateError) for result in results) == 1
    _assert_session_ended(client, login["token"])


@pytest.mark.parametrize(
    ("table", "minutes"),
    [("rest_refreshtoken", 1441), ("ad_session", 10081)],
    ids=["unused-too-long", "past-the-absolute-limit"],
)
def test_an_expired_refresh_token_is_refused(
    client: TestClient,
    db: psycopg.Connection[Row],
    settings: Settings,
    table: str,
    minutes: int,
) -> None:
    login = _login(client)
    session_id = _claims(login["token"], settings)["AD_Session_ID"]
    db.execute(
        f"UPDATE {table} SET created = now() - make_interval(mins => %s)"
        " WHERE ad_session_id = %s",
        (minutes, session_id),
    )

    answer = _refresh(client, login["refresh_token"])

    assert_error(answer, 401, "Authenticate error", "Invalid refresh token")
    # Expiry is no breach: the session goes on until its access token expires.
    assert client.get(PROCESSES, headers=_bearer(login["token"])).status_code == 200


def test_a_refresh_token_used_within_its_limits_is_accepted(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings
) -> None:
    login = _login(client)
    session_id = _claims(login["token"], settings)["AD_Session_ID"]
    db.execute(
        "UPDATE rest_refreshtoken SET created = now() - interval '1430 minutes'"
        " WHERE ad_session_id = %s",
        (session_id,),
    )

    assert _refresh(client, login["refresh_token"]).status_code == 200


def test_no_access_token_outlives_the_absolute_limit_of_its_login(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings
) -> None:
    login = _login(client)
    session_id = _claims(login["token"], settings)["AD_Session_ID"]
    db.execute(
        "UPDATE ad_session SET created = now() - interval '10070 minutes'"
        " WHERE ad_session_id = %s",
        (session_id,),
    )

    pair = json_body(_refresh(client, login["refresh_token"]))

    expires = dt.datetime.fromtimestamp(_claims(pair["token"], settings)["exp"], dt.UTC)
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=9) < left <= dt.timedelta(minutes=10)


@pytest.mark.parametrize(
    ("client_id", "user_id"),
    [(GARDENWORLD + 1, ADMIN_USER), (GARDENWORLD, ADMIN_USER + 1), (0, 0)],
    ids=["other-client", "other-user", "system"],
)
def test_a_refresh_for_another_client_or_user_is_refused_and_spends_nothing(
    client: TestClient, client_id: int, user_id: int
) -> None:
    login = _login(client)

    answer = _refresh(client, login["refresh_token"], client_id, user_id)

    assert_error(answer, 401, "Authenticate error", "Invalid refresh token")
    assert client.get(PROCESSES, headers=_bearer(login["token"])).status_code == 200
    assert _refresh(client, login["refresh_token"]).status_code == 200


def test_refresh_takes_ids_as_numeric_text(client: TestClient) -> None:
    login = _login(client)

    answer = _refresh(client, login["refresh_token"], "11", "101")

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("body", "status", "title", "detail"),
    [
        ({"clientId": 11, "userId": 101}, 401, "Authenticate error", "refresh_token"),
        ({"refresh_token": "x", "userId": 101}, 401, "Authenticate error", "clientId"),
        ({"refresh_token": "x", "clientId": 11}, 401, "Authenticate error", "userId"),
        (
            {"refresh_token": 5, "clientId": 11, "userId": 101},
            401,
            "Authenticate error",
            "Invalid refresh token",
        ),
        (
            {"refresh_token": "x", "clientId": "GardenWorld", "userId": 101},
            400,
            "Invalid parameter",
            "clientId",
        ),
        (
            {"refresh_token": "x", "clientId": 11, "userId": True},
            400,
            "Invalid parameter",
            "userId",
        ),
        (
            {"refresh_token": "unknown", "clientId": 11, "userId": 101},
            401,
            "Authenticate error",
            "Invalid refresh token",
        ),
    ],
    ids=[
        "no-token",
        "no-client",
        "no-user",
        "number",
        "client-name",
        "bool",
        "unknown",
    ],
)
def test_a_refresh_request_without_what_it_needs_is_refused(
    client: TestClient, body: dict[str, Any], status: int, title: str, detail: str
) -> None:
    answer = client.post(REFRESH, json=body)

    assert_error(answer, status, title, detail)


def test_client_and_user_may_be_left_out_where_settings_allow(
    settings: Settings,
) -> None:
    relaxed = settings.model_copy(
        update={
            "mandatory_client_id_on_refresh": False,
            "mandatory_user_id_on_refresh": False,
        }
    )
    with TestClient(create_app(relaxed)) as relaxed_client:
        login = _login(relaxed_client)

        answer = relaxed_client.post(
            REFRESH, json={"refresh_token": login["refresh_token"]}
        )

    assert answer.status_code == 200, answer.text


# --- logout -------------------------------------------------------------------------


def test_logout_ends_the_session_at_once(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings
) -> None:
    login = _login(client)
    assert client.get(PROCESSES, headers=_bearer(login["token"])).status_code == 200

    answer = client.post(LOGOUT, json={"token": login["token"]})

    assert answer.status_code == 200
    assert answer.text == '{"summary":"OK"}'
    assert answer.headers["content-type"] == "application/json"
    _assert_session_ended(client, login["token"])
    refused = _refresh(client, login["refresh_token"])
    assert_error(refused, 401, "Authenticate error", "Invalid refresh token")
    session = _session(db, _claims(login["token"], settings)["AD_Session_ID"])
    assert session["endreason"] == "logout"


def test_logout_takes_the_bearer_token_when_the_body_has_none(
    client: TestClient,
) -> None:
    login = _login(client)

    answer = client.post(LOGOUT, headers=_bearer(login["token"]))

    assert json_body(answer) == {"summary": "OK"}
    _assert_session_ended(client, login["token"])


def test_logging_out_twice_is_no_error(client: TestClient) -> None:
    login = _login(client)
    client.post(LOGOUT, json={"token": login["token"]})

    answer = client.post(LOGOUT, json={"token": login["token"]})

    assert json_body(answer) == {"summary": "OK"}


def test_logout_leaves_the_other_sessions_of_the_user_alone(
    client: TestClient,
) -> None:
    kept, ended = _login(client), _login(client)

    client.post(LOGOUT, json={"token": ended["token"]})

    assert client.get(PROCESSES, headers=_bearer(kept["token"])).status_code == 200


def test_an_expired_token_can_still_log_its_session_out(
    client: TestClient, settings: Settings
) -> None:
    login = _login(client)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    expired = jwt.encode(
        {**_claims(login["token"], settings), "exp": past},
        settings.jwt_secret.get_secret_value(),
        algorithm="HS512",
    )

    answer = client.post(LOGOUT, json={"token": expired})

    assert json_body(answer) == {"summary": "OK"}
    _assert_session_ended(client, login["token"])


def test_a_logged_out_token_cannot_take_the_second_login_step(
    client: TestClient,
) -> None:
    login = _login(client)
    client.post(LOGOUT, json={"token": login["token"]})

    answer = client.put(
        TOKENS, json={"clientId": GARDENWORLD}, headers=_bearer(login["token"])
    )

    assert_error(answer, 401, "Unauthorized", "Session ended")


def test_logout_with_a_first_token_is_the_original_404(
    client: TestClient, two_roles: Row
) -> None:
    first = _login(client, two_roles["name"])

    answer = client.post(LOGOUT, json={"token": first["token"]})

    body = assert_error(answer, 404, "AD_Session_ID not found", "first token")
    assert body["status"] == 404


@pytest.mark.parametrize(
    ("body", "headers", "detail"),
    [
        ({}, {}, "No token provided"),
        ({"token": ""}, {}, "No token provided"),
        ({"token": 12}, {}, "No token provided"),
        ({"token": "not.a.token"}, {}, "Invalid token"),
    ],
    ids=["nothing", "empty", "number", "broken"],
)
def test_logout_without_a_valid_token_is_an_authenticate_error(
    client: TestClient, body: dict[str, Any], headers: dict[str, str], detail: str
) -> None:
    answer = client.post(LOGOUT, json=body, headers=headers)

    assert_error(answer, 401, "Authenticate error", detail)


def test_logout_with_a_forged_token_ends_nothing(
    client: TestClient, settings: Settings
) -> None:
    login = _login(client)
    forged = jwt.encode(
        _claims(login["token"], settings), "another-secret-" * 5, algorithm="HS512"
    )

    answer = client.post(LOGOUT, json={"token": forged})

    assert_error(answer, 401, "Authenticate error", "Invalid token")
    assert client.get(PROCESSES, headers=_bearer(login["token"])).status_code == 200


# --- warehouses ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["first", "full"])
def test_warehouses_route_answers_none(
    client: TestClient, two_roles: Row, kind: str
) -> None:
    first = _login(client, two_roles["name"])
    token = first["token"]
    if kind == "full":
        token = _login(client, parameters={"clientId": 11, "roleId": 102})["token"]

    answer = client.get(
        "/api/v1/auth/warehouses?client=11&role=102&organization=11",
        headers=_bearer(token),
    )

    assert answer.status_code == 200
    assert answer.text == '{"warehouses":[]}'


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("client=12345&role=102&organization=11", "Invalid client"),
        ("role=102&organization=11", "Invalid client"),
        ("client=11&role=103&organization=11", "Invalid role"),
        ("client=11&organization=11", "Invalid role"),
        ("client=11&role=102&organization=999", "Invalid organization"),
        ("client=11&role=102&organization=HQ", "Invalid organization"),
        ("client=11&role=102", "Invalid organization"),
    ],
)
def test_warehouses_route_checks_client_role_and_organization(
    client: TestClient, two_roles: Row, query: str, detail: str
) -> None:
    first = _login(client, two_roles["name"])

    answer = client.get(
        "/api/v1/auth/warehouses?" + query, headers=_bearer(first["token"])
    )

    body = assert_error(answer, 401, "Authenticate error")
    assert body["detail"] == detail


def test_warehouses_route_needs_a_token(client: TestClient) -> None:
    answer = client.get("/api/v1/auth/warehouses?client=11&role=102&organization=11")

    assert_error(answer, 401, "Unauthorized", "bearer token")
