"""``/api/v1/auth``: logging in, choosing tenant, role and organisation, and the
401s every process route gives without a valid full token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import jwt
import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
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
PROCESSES = "/api/v1/processes"


def _claims(token: str, settings: Settings) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(
        token,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS512"],
        issuer="procserv",
    )
    return claims


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


@pytest.fixture
def two_roles(client: TestClient, db: psycopg.Connection[Row]) -> Iterator[Row]:
    """A GardenWorld user with two roles, so logging in needs a choice."""
    name = unique("TwoRoles")
    second = create_role(db, unique("Auth Test Role"), access={"test-echo": True})
    user_id = create_user(db, name, [ADMIN_ROLE, second])
    yield {"name": name, "user_id": user_id, "second_role": second}
    drop_user(db, user_id)
    drop_role(db, second)


# --- POST /auth/tokens --------------------------------------------------------


def test_login_gives_a_full_token_at_once_when_there_is_no_choice(
    client: TestClient, settings: Settings
) -> None:
    answer = client.post(
        TOKENS, json={"userName": "GardenAdmin", "password": "GardenAdmin"}
    )

    assert answer.status_code == 200
    body = json_body(answer)
    assert body["clients"] == [{"id": GARDENWORLD, "name": "GardenWorld"}]
    assert body["clientId"] == GARDENWORLD
    assert body["userId"] == ADMIN_USER
    assert body["roleId"] == ADMIN_ROLE
    assert body["organizationId"] == HQ
    assert body["language"] == "en_US"
    claims = _claims(body["token"], settings)
    assert claims["AD_Client_ID"] == GARDENWORLD
    assert claims["AD_Role_ID"] == ADMIN_ROLE
    assert claims["AD_User_ID"] == ADMIN_USER
    assert client.get(PROCESSES, headers=_bearer(body["token"])).status_code == 200


def test_login_with_a_choice_gives_the_tenants_and_a_first_token(
    client: TestClient, two_roles: Row
) -> None:
    name = two_roles["name"]

    answer = client.post(TOKENS, json={"userName": name, "password": name})

    assert answer.status_code == 200
    body = json_body(answer)
    assert list(body) == ["clients", "token"]
    assert body["clients"] == [{"id": GARDENWORLD, "name": "GardenWorld"}]


def test_first_token_is_refused_on_process_routes(
    client: TestClient, two_roles: Row
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})
    headers = _bearer(first.json()["token"])

    for answer in (
        client.get(PROCESSES, headers=headers),
        client.get(PROCESSES + "/test-echo", headers=headers),
        client.post(PROCESSES + "/test-echo", json={}, headers=headers),
        client.post(PROCESSES + "/jobs/test-echo", json={}, headers=headers),
        client.get(PROCESSES + "/jobs", headers=headers),
    ):
        assert_error(answer, 401, "Unauthorized", "PUT /api/v1/auth/tokens")


def test_put_with_the_first_token_chooses_tenant_role_and_organisation(
    client: TestClient, two_roles: Row, settings: Settings
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})

    answer = client.put(
        TOKENS,
        json={
            "clientId": GARDENWORLD,
            "roleId": two_roles["second_role"],
            "organizationId": HQ,
        },
        headers=_bearer(first.json()["token"]),
    )

    assert answer.status_code == 200
    body = json_body(answer)
    assert body["userId"] == two_roles["user_id"]
    assert body["roleId"] == two_roles["second_role"]
    assert body["organizationId"] == HQ
    claims = _claims(body["token"], settings)
    assert claims["AD_Role_ID"] == two_roles["second_role"]
    # The chosen role's access applies: it has test-echo only.
    listed = client.get(PROCESSES, headers=_bearer(body["token"])).json()
    assert [p["slug"] for p in listed["processes"]] == ["test-echo"]


def test_put_without_a_role_when_there_are_two_is_an_authenticate_error(
    client: TestClient, two_roles: Row
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})

    answer = client.put(
        TOKENS, json={"clientId": GARDENWORLD}, headers=_bearer(first.json()["token"])
    )

    assert_error(answer, 401, "Authenticate error", "roleId")


@pytest.mark.parametrize(
    "choices",
    [(11, 102, 11), ("11", "102", "11"), ("GardenWorld", "GardenWorld Admin", "HQ")],
    ids=["numbers", "numeric-strings", "names"],
)
@pytest.mark.parametrize("warehouse_id", [103, 0, "103"])
def test_login_parameters_name_tenant_role_and_org_by_id_or_name(
    client: TestClient,
    settings: Settings,
    choices: tuple[Any, Any, Any],
    warehouse_id: Any,
) -> None:
    client_id, role_id, organization_id = choices

    answer = client.post(
        TOKENS,
        json={
            "userName": "GardenAdmin",
            "password": "GardenAdmin",
            "parameters": {
                "clientId": client_id,
                "roleId": role_id,
                "organizationId": organization_id,
                "warehouseId": warehouse_id,
                "language": "es_CO",
            },
        },
    )

    assert answer.status_code == 200, answer.text
    body = json_body(answer)
    assert body["clientId"] == GARDENWORLD
    assert body["roleId"] == ADMIN_ROLE
    assert body["organizationId"] == HQ
    assert body["language"] == "es_CO"
    claims = _claims(body["token"], settings)
    assert (claims["AD_Client_ID"], claims["AD_Role_ID"], claims["AD_Org_ID"]) == (
        GARDENWORLD,
        ADMIN_ROLE,
        HQ,
    )
    assert claims["AD_Language"] == "es_CO"


@pytest.mark.parametrize(
    "parameters",
    [
        {"clientId": 99},
        {"clientId": "NoSuchTenant"},
        {"clientId": 11, "roleId": 103},
        {"clientId": 11, "roleId": 102, "organizationId": "Nowhere"},
        {"clientId": 11, "roleId": 102, "language": "xx_XX"},
    ],
    ids=["foreign-tenant", "unknown-tenant", "role-not-his", "unknown-org", "lang"],
)
def test_login_parameters_that_name_nothing_of_the_user_are_refused(
    client: TestClient, parameters: dict[str, Any]
) -> None:
    answer = client.post(
        TOKENS,
        json={
            "userName": "GardenAdmin",
            "password": "GardenAdmin",
            "parameters": parameters,
        },
    )

    assert_error(answer, 401, "Authenticate error")


@pytest.mark.parametrize(
    ("user", "password"),
    [("GardenAdmin", "wrong"), ("NoSuchUser", "NoSuchUser"), ("GardenAdmin", "")],
)
def test_login_with_a_wrong_password_or_user_is_the_original_401(
    client: TestClient, user: str, password: str
) -> None:
    answer = client.post(TOKENS, json={"userName": user, "password": password})

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    assert answer.text == (
        '{"title":"Authenticate error","status":401,'
        '"detail":"Invalid User ID or Password"}'
    )


# --- helper routes --------------------------------------------------------------


def test_roles_route_lists_the_roles_of_the_tenant(
    client: TestClient, two_roles: Row, db: psycopg.Connection[Row]
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})
    expected = db.execute(
        "SELECT ad_role_id AS id, name FROM ad_role WHERE ad_role_id IN (%s, %s)"
        " ORDER BY name",
        (ADMIN_ROLE, two_roles["second_role"]),
    ).fetchall()

    answer = client.get(
        "/api/v1/auth/roles?client=11", headers=_bearer(first.json()["token"])
    )

    assert answer.status_code == 200
    assert json_body(answer) == {"roles": expected}


def test_organizations_route_lists_the_organisations_of_the_role(
    client: TestClient, two_roles: Row
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})

    answer = client.get(
        f"/api/v1/auth/organizations?client=11&role={two_roles['second_role']}",
        headers=_bearer(first.json()["token"]),
    )

    assert answer.status_code == 200
    assert json_body(answer) == {"organizations": [{"id": HQ, "name": "HQ"}]}


def test_language_route_gives_the_base_language(
    client: TestClient, two_roles: Row
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})

    answer = client.get(
        "/api/v1/auth/language?client=11", headers=_bearer(first.json()["token"])
    )

    assert answer.status_code == 200
    assert json_body(answer) == {"AD_Language": "en_US"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/roles?client=12345",
        "/api/v1/auth/organizations?client=11&role=103",
        "/api/v1/auth/language?client=abc",
    ],
)
def test_helper_routes_refuse_a_tenant_or_role_not_the_users(
    client: TestClient, two_roles: Row, path: str
) -> None:
    name = two_roles["name"]
    first = client.post(TOKENS, json={"userName": name, "password": name})

    answer = client.get(path, headers=_bearer(first.json()["token"]))

    assert_error(answer, 401, "Authenticate error")


# --- tokens on process routes ---------------------------------------------------


def _session_claims(**changes: Any) -> dict[str, Any]:
    """The claims of GardenAdmin's full token, valid for five minutes from now."""
    now = dt.datetime.now(dt.UTC)
    return {
        "sub": "GardenAdmin",
        "AD_User_ID": ADMIN_USER,
        "AD_Client_ID": GARDENWORLD,
        "AD_Role_ID": ADMIN_ROLE,
        "AD_Org_ID": HQ,
        "AD_Language": "en_US",
        "iss": "procserv",
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
        **changes,
    }


def test_a_token_made_with_the_secret_is_accepted(
    client: TestClient, settings: Settings
) -> None:
    token = jwt.encode(
        _session_claims(), settings.jwt_secret.get_secret_value(), algorithm="HS512"
    )

    assert client.get(PROCESSES, headers=_bearer(token)).status_code == 200


def test_an_expired_token_is_a_json_401(client: TestClient, settings: Settings) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    token = jwt.encode(
        _session_claims(exp=past, iat=past - dt.timedelta(hours=1)),
        settings.jwt_secret.get_secret_value(),
        algorithm="HS512",
    )

    answer = client.get(PROCESSES, headers=_bearer(token))

    assert_error(answer, 401, "Unauthorized", "expired")


@pytest.mark.parametrize(
    ("secret", "algorithm"),
    [("another-secret-" * 5, "HS512"), (None, "HS256"), (None, "none")],
    ids=["other-secret", "other-algorithm", "unsigned"],
)
def test_a_forged_token_is_a_json_401(
    client: TestClient, settings: Settings, secret: str | None, algorithm: str
) -> None:
    key = (
        None
        if algorithm == "none"
        else secret or settings.jwt_secret.get_secret_value()
    )
    token = jwt.encode(_session_claims(), key, algorithm=algorithm)

    answer = client.get(PROCESSES, headers=_bearer(token))

    assert_error(answer, 401, "Unauthorized", "Invalid token")


@pytest.mark.parametrize("token", ["not.a.token", "abc", "a.b"])
def test_a_broken_token_is_a_json_401(client: TestClient, token: str) -> None:
    answer = client.get(PROCESSES, headers=_bearer(token))

    assert_error(answer, 401, "Unauthorized", "Invalid token")


def test_an_empty_bearer_token_is_a_json_401(client: TestClient) -> None:
    answer = client.get(PROCESSES, headers={"Authorization": "Bearer "})

    assert_error(answer, 401, "Unauthorized", "bearer token")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic R2FyZGVuQWRtaW46R2FyZGVuQWRtaW4="}],
    ids=["none", "basic"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", PROCESSES),
        ("GET", PROCESSES + "/test-echo"),
        ("POST", PROCESSES + "/test-echo"),
        ("POST", PROCESSES + "/jobs/test-echo"),
        ("GET", PROCESSES + "/jobs"),
        ("GET", PROCESSES + "/jobs/1"),
    ],
)
def test_a_missing_bearer_token_is_a_json_401(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    answer = client.request(method, path, json={}, headers=headers)

    assert_error(answer, 401, "Unauthorized", "bearer token")
