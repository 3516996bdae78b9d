"""What the integration tests share beyond the fixtures: reading answers, waiting
for instances, and making (then removing) users, roles and tenants in the test
database."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import psycopg
from starlette.testclient import TestClient

from app.auth.passwords import hash_password
from app.db import Row
from tests.integration.conftest import login

GARDENWORLD = 11
HQ = 11
ADMIN_ROLE = 102
USER_ROLE = 103
ADMIN_USER = 101

ALREADY_RUNNING = (
    "Another instance of this process is already running, please wait until it "
    "finishes to run it again."
)


def unique(prefix: str) -> str:
    """A label no other test uses, so runs of different tests never compare equal."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- answers ----------------------------------------------------------------


def json_body(answer: httpx2.Response) -> Any:
    """The body of a JSON answer, after checking what clients of the original rely
    on: the content type, and compact JSON (no space after ':' or ',')."""
    assert answer.headers["content-type"] == "application/json", answer.headers
    body = answer.json()
    compact = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    assert answer.text == compact
    return body


def assert_error(
    answer: httpx2.Response, status: int, title: str, *naming: str
) -> dict[str, Any]:
    """An error in the reference's shape, whose detail names every given text."""
    assert answer.status_code == status, answer.text
    body = json_body(answer)
    assert list(body) == ["title", "status", "detail"]
    assert body["title"] == title
    assert body["status"] == status
    for text in naming:
        assert text in body["detail"], (text, body["detail"])
    return dict(body)


# --- instances --------------------------------------------------------------


def instance(db: psycopg.Connection[Row], instance_id: int) -> Row:
    row = db.execute(
        "SELECT * FROM ad_pinstance WHERE ad_pinstance_id = %s", (instance_id,)
    ).fetchone()
    assert row is not None, instance_id
    return row


def stored_counts(db: psycopg.Connection[Row]) -> tuple[int, int]:
    """How many instances and instance parameters are stored."""
    row = db.execute(
        "SELECT (SELECT count(*) FROM ad_pinstance) AS instances,"
        "       (SELECT count(*) FROM ad_pinstance_para) AS parameters"
    ).fetchone()
    assert row is not None
    return row["instances"], row["parameters"]


def wait_for_job(
    client: TestClient,
    headers: dict[str, str],
    job_id: int,
    timeout: float = 60,
    *,
    delivered: bool = True,
) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` the way clients do, until ``processing`` is false
    and (with ``delivered``) its notifications are no longer under way."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(f"/api/v1/processes/jobs/{job_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = json_body(answer)
        delivering = delivered and any(
            n["status"] in ("pending", "sending") for n in body.get("notifications", [])
        )
        if not body["processing"] and not delivering:
            return body
        assert time.monotonic() < deadline, f"job {job_id} still running: {body}"
        time.sleep(0.2)


def wait_until_final(
    db: psycopg.Connection[Row], ids: Iterable[int], timeout: float = 60
) -> None:
    """Wait until none of the instances is queued or running."""
    pending = list(ids)
    deadline = time.monotonic() + timeout
    while pending:
        rows = db.execute(
            "SELECT ad_pinstance_id FROM ad_pinstance"
            " WHERE ad_pinstance_id = ANY(%s) AND status IN ('queued', 'running')",
            (pending,),
        ).fetchall()
        pending = [row["ad_pinstance_id"] for row in rows]
        if pending:
            assert time.monotonic() < deadline, f"instances {pending} still running"
            time.sleep(0.2)


def wait_until_running(
    db: psycopg.Connection[Row], instance_id: int, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while instance(db, instance_id)["status"] == "queued":
        assert time.monotonic() < deadline, f"instance {instance_id} never started"
        time.sleep(0.05)


def instance_labelled(
    db: psycopg.Connection[Row], label: str, timeout: float = 10
) -> int:
    """The id of the instance whose Label parameter is ``label``, once stored."""
    deadline = time.monotonic() + timeout
    while True:
        row = db.execute(
            "SELECT ad_pinstance_id FROM ad_pinstance_para"
            " WHERE parametername = 'Label' AND p_string = %s",
            (label,),
        ).fetchone()
        if row is not None:
            return int(row["ad_pinstance_id"])
        assert time.monotonic() < deadline, f"no instance labelled {label}"
        time.sleep(0.05)


def wait_until_idle(
    db: psycopg.Connection[Row], slug: str, timeout: float = 60
) -> None:
    """Wait until no instance of the process is queued or running."""
    rows = db.execute(
        "SELECT i.ad_pinstance_id FROM ad_pinstance i JOIN ad_process p"
        " USING (ad_process_id) WHERE p.slug = %s",
        (slug,),
    ).fetchall()
    wait_until_final(db, [row["ad_pinstance_id"] for row in rows], timeout)


# --- users, roles, tenants --------------------------------------------------


@dataclass(frozen=True)
class Account:
    user_id: int
    name: str
    headers: dict[str, str]


def create_role(
    db: psycopg.Connection[Row],
    name: str,
    *,
    client_id: int = GARDENWORLD,
    org_id: int = HQ,
    operator: bool = False,
    access: dict[str, bool] | None = None,
) -> int:
    """A role with access to the org and to the processes named by slug
    (``True`` read-write, ``False`` read-only)."""
    row = db.execute(
        "INSERT INTO ad_role (ad_client_id, name, isoperator) VALUES (%s, %s, %s)"
        " RETURNING ad_role_id",
        (client_id, name, operator),
    ).fetchone()
    assert row is not None
    role_id: int = row["ad_role_id"]
    db.execute(
        "INSERT INTO ad_role_orgaccess (ad_role_id, ad_org_id) VALUES (%s, %s)",
        (role_id, org_id),
    )
    for slug, read_write in (access or {}).items():
        db.execute(
            "INSERT INTO ad_process_access (ad_role_id, ad_process_id, isreadwrite)"
            " SELECT %s, ad_process_id, %s FROM ad_process WHERE slug = %s",
            (role_id, read_write, slug),
        )
    return role_id


def create_user(
    db: psycopg.Connection[Row],
    name: str,
    role_ids: Iterable[int],
    *,
    client_id: int = GARDENWORLD,
    org_id: int = HQ,
) -> int:
    """A user whose password is its name, with the given roles."""
    row = db.execute(
        "INSERT INTO ad_user (ad_client_id, ad_org_id, name, password)"
        " VALUES (%s, %s, %s, %s) RETURNING ad_user_id",
        (client_id, org_id, name, hash_password(name)),
    ).fetchone()
    assert row is not None
    user_id: int = row["ad_user_id"]
    for role_id in role_ids:
        db.execute(
            "INSERT INTO ad_user_roles (ad_user_id, ad_role_id) VALUES (%s, %s)",
            (user_id, role_id),
        )
    return user_id


def drop_user(db: psycopg.Connection[Row], user_id: int) -> None:
    """Remove the user and every instance it started (once they are final)."""
    rows = db.execute(
        "SELECT ad_pinstance_id FROM ad_pinstance WHERE ad_user_id = %s", (user_id,)
    ).fetchall()
    wait_until_final(db, [row["ad_pinstance_id"] for row in rows])
    db.execute("DELETE FROM ad_pinstance WHERE ad_user_id = %s", (user_id,))
    db.execute("DELETE FROM ad_user WHERE ad_user_id = %s", (user_id,))


def drop_role(db: psycopg.Connection[Row], role_id: int) -> None:
    db.execute("DELETE FROM ad_role WHERE ad_role_id = %s", (role_id,))


@contextmanager
def account(
    client: TestClient,
    db: psycopg.Connection[Row],
    prefix: str,
    role_ids: Iterable[int],
) -> Iterator[Account]:
    """A new user of GardenWorld with these roles, logged in, removed afterwards."""
    name = unique(prefix)
    user_id = create_user(db, name, role_ids)
    try:
        token = login(client, name)
        yield Account(user_id, name, {"Authorization": "Bearer " + token})
    finally:
        drop_user(db, user_id)


@contextmanager
def other_tenant(
    client: TestClient, db: psycopg.Connection[Row], access: dict[str, bool]
) -> Iterator[Account]:
    """A second tenant with one organisation, one operator role (with ``access``)
    and one user, logged in; all of it removed afterwards."""
    tag = unique("Tenant")
    row = db.execute(
        "INSERT INTO ad_client (value, name) VALUES (%s, %s) RETURNING ad_client_id",
        (tag, tag),
    ).fetchone()
    assert row is not None
    client_id = row["ad_client_id"]
    org = db.execute(
        "INSERT INTO ad_org (ad_client_id, value, name) VALUES (%s, 'HQ', 'HQ')"
        " RETURNING ad_org_id",
        (client_id,),
    ).fetchone()
    assert org is not None
    role_id = create_role(
        db,
        tag + " Admin",
        client_id=client_id,
        org_id=org["ad_org_id"],
        operator=True,
        access=access,
    )
    user_id = create_user(
        db, tag, [role_id], client_id=client_id, org_id=org["ad_org_id"]
    )
    try:
        token = login(client, tag)
        yield Account(user_id, tag, {"Authorization": "Bearer " + token})
    finally:
        drop_user(db, user_id)
        drop_role(db, role_id)
        db.execute("DELETE FROM ad_org WHERE ad_client_id = %s", (client_id,))
        db.execute("DELETE FROM ad_client WHERE ad_client_id = %s", (client_id,))
