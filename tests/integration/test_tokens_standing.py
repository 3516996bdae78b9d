"""Every request checks its token against the database: a user, role or tenant made
inactive, a role taken from the user or an organisation from the role, stops the
token at once with a JSON 401 naming the reason; putting it back lets it work
again (the session itself never ended)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.settings import Settings
from tests.integration.helpers import (
    GARDENWORLD,
    HQ,
    assert_error,
    create_role,
    create_user,
    drop_role,
    drop_user,
    other_tenant,
    unique,
)

PROCESSES = "/api/v1/processes"
JOBS = "/api/v1/processes/jobs"


@dataclass(frozen=True)
class Member:
    user_id: int
    role_id: int
    name: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token}


@pytest.fixture
def member(client: TestClient, db: psycopg.Connection[Row]) -> Iterator[Member]:
    """A GardenWorld user with one role of its own, logged in (one step)."""
    name = unique("Standing")
    role_id = create_role(db, unique("Standing Role"), access={"test-echo": True})
    user_id = create_user(db, name, [role_id])
    answer = client.post(
        "/api/v1/auth/tokens", json={"userName": name, "password": name}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    yield Member(user_id, role_id, name, body["token"], body["refresh_token"])
    drop_user(db, user_id)
    drop_role(db, role_id)


def _refused_everywhere(
    client: TestClient, member: Member, title: str, *naming: str
) -> None:
    for path in (PROCESSES, JOBS, PROCESSES + "/test-echo"):
        answer = client.get(path, headers=member.headers)
        assert_error(answer, 401, title, *naming)
    roles = client.get("/api/v1/auth/roles?client=11", headers=member.headers)
    assert_error(roles, 401, title, *naming)


def _refresh(client: TestClient, member: Member) -> int:
    answer = client.post(
        "/api/v1/auth/refresh",
        json={
            "refresh_token": member.refresh_token,
            "clientId": GARDENWORLD,
            "userId": member.user_id,
        },
    )
    return answer.status_code


@dataclass(frozen=True)
class Loss:
    """A change that takes a login's standing away, the change that gives it
    back, and the 401 it causes meanwhile."""

    change: str
    undo: str
    title: str
    detail: str


LOSSES = {
    "user-inactive": Loss(
        "UPDATE ad_user SET isactive = false WHERE ad_user_id = %(user)s",
        "UPDATE ad_user SET isactive = true WHERE ad_user_id = %(user)s",
        "User is inactive",
        "is inactive",
    ),
    "role-inactive": Loss(
        "UPDATE ad_role SET isactive = false WHERE ad_role_id = %(role)s",
        "UPDATE ad_role SET isactive = true WHERE ad_role_id = %(role)s",
        "Role is inactive",
        "is inactive",
    ),
    "role-assignment-inactive": Loss(
        "UPDATE ad_user_roles SET isactive = false"
        " WHERE ad_user_id = %(user)s AND ad_role_id = %(role)s",
        "UPDATE ad_user_roles SET isactive = true"
        " WHERE ad_user_id = %(user)s AND ad_role_id = %(role)s",
        "Unauthorized",
        "no longer assigned",
    ),
    "role-removed": Loss(
        "DELETE FROM ad_user_roles"
        " WHERE ad_user_id = %(user)s AND ad_role_id = %(role)s",
        "INSERT INTO ad_user_roles (ad_user_id, ad_role_id)"
        " VALUES (%(user)s, %(role)s)",
        "Unauthorized",
        "no longer assigned",
    ),
    "org-access-removed": Loss(
        "DELETE FROM ad_role_orgaccess WHERE ad_role_id = %(role)s",
        "INSERT INTO ad_role_orgaccess (ad_role_id, ad_org_id)"
        " VALUES (%(role)s, %(org)s)",
        "Unauthorized",
        "organization",
    ),
}


@pytest.mark.parametrize("loss", LOSSES.values(), ids=LOSSES.keys())
def test_a_token_stops_at_once_when_its_login_is_no_longer_valid(
    client: TestClient, db: psycopg.Connection[Row], member: Member, loss: Loss
) -> None:
    ids = {"user": member.user_id, "role": member.role_id, "org": HQ}
    assert client.get(PROCESSES, headers=member.headers).status_code == 200

    db.execute(loss.change, ids)

    _refused_everywhere(client, member, loss.title, loss.detail)
    assert _refresh(client, member) == 401
    db.execute(loss.undo, ids)
    assert client.get(PROCESSES, headers=member.headers).status_code == 200
    # The refused refresh spent nothing.
    assert _refresh(client, member) == 200


def test_a_token_of_an_inactive_tenant_is_refused(
    client: TestClient, db: psycopg.Connection[Row]
) -> None:
    with other_tenant(client, db, access={}) as tenant:
        db.execute(
            "UPDATE ad_client SET isactive = false WHERE ad_client_id ="
            " (SELECT ad_client_id FROM ad_user WHERE ad_user_id = %s)",
            (tenant.user_id,),
        )

        answer = client.get(PROCESSES, headers=tenant.headers)

    assert_error(answer, 401, "Client is inactive", "inactive")


def test_the_error_names_the_user(
    client: TestClient, db: psycopg.Connection[Row], member: Member
) -> None:
    db.execute(
        "UPDATE ad_user SET isactive = false WHERE ad_user_id = %s", (member.user_id,)
    )

    answer = client.get(PROCESSES, headers=member.headers)

    body = assert_error(answer, 401, "User is inactive")
    assert body["detail"] == f"User {member.name} ({member.user_id}) is inactive"


def test_a_first_token_of_an_inactive_user_is_refused(
    client: TestClient, db: psycopg.Connection[Row]
) -> None:
    name = unique("StandingFirst")
    roles = [
        create_role(db, unique("Standing Role")),
        create_role(db, unique("Standing Role")),
    ]
    user_id = create_user(db, name, roles)
    try:
        first = client.post(
            "/api/v1/auth/tokens", json={"userName": name, "password": name}
        ).json()
        db.execute(
            "UPDATE ad_user SET isactive = false WHERE ad_user_id = %s", (user_id,)
        )

        answer = client.put(
            "/api/v1/auth/tokens",
            json={"clientId": GARDENWORLD, "roleId": roles[0]},
            headers={"Authorization": "Bearer " + first["token"]},
        )
    finally:
        drop_user(db, user_id)
        for role_id in roles:
            drop_role(db, role_id)

    assert_error(answer, 401, "User is inactive")


def test_a_token_made_with_the_secret_but_no_session_is_checked_too(
    client: TestClient, db: psycopg.Connection[Row], settings: Settings, member: Member
) -> None:
    now = dt.datetime.now(dt.UTC)
    claims = {
        "sub": member.name,
        "AD_User_ID": member.user_id,
        "AD_Client_ID": GARDENWORLD,
        "AD_Role_ID": member.role_id,
        "AD_Org_ID": HQ,
        "iss": "procserv",
        "exp": now + dt.timedelta(minutes=5),
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), "HS512")
    headers = {"Authorization": "Bearer " + token}
    assert client.get(PROCESSES, headers=headers).status_code == 200

    db.execute(
        "UPDATE ad_user SET isactive = false WHERE ad_user_id = %s", (member.user_id,)
    )

    assert_error(client.get(PROCESSES, headers=headers), 401, "User is inactive")


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"AD_Session_ID": 999_999_999}, "No session has AD_Session_ID 999999999"),
        ({"AD_Role_ID": 102}, "belongs to another login"),
        ({"AD_Session_ID": "abc"}, "AD_Session_ID"),
    ],
    ids=["unknown-session", "other-role", "not-a-number"],
)
def test_a_token_whose_session_claim_does_not_match_is_refused(
    client: TestClient,
    settings: Settings,
    member: Member,
    changes: dict[str, object],
    detail: str,
) -> None:
    claims = jwt.decode(
        member.token,
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS512"],
        issuer="procserv",
    )
    token = jwt.encode(
        {**claims, **changes}, settings.jwt_secret.get_secret_value(), "HS512"
    )

    answer = client.get(PROCESSES, headers={"Authorization": "Bearer " + token})

    assert_error(answer, 401, "Unauthorized", detail)


def test_requests_bring_the_last_use_of_a_session_forward(
    client: TestClient, db: psycopg.Connection[Row], member: Member
) -> None:
    session = "SELECT lastused FROM ad_session WHERE ad_user_id = %s"
    db.execute(
        "UPDATE ad_session SET lastused = now() - interval '5 minutes'"
        " WHERE ad_user_id = %s",
        (member.user_id,),
    )

    client.get(PROCESSES, headers=member.headers)

    row = db.execute(session, (member.user_id,)).fetchone()
    assert row is not None
    assert dt.datetime.now(dt.UTC) - row["lastused"] < dt.timedelta(minutes=1)
