"""Every try of a job's deliveries, as ``GET /jobs/{id}`` shows them to the job's
owner and operators: in seqno order, with the error of each failed try, exactly
as ``ad_notification_attempt`` holds them; other users of the tenant see none."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import psycopg
from starlette.testclient import TestClient

from app.db import Row
from tests.integration.helpers import (
    USER_ROLE,
    account,
    create_role,
    drop_role,
    json_body,
    unique,
    wait_for_job,
)
from tests.support.smtp import (
    SmtpServer,
    attempts,
    notifications,
    wait_for_deliveries,
)

JOB = "/api/v1/processes/jobs/"


def _submit(api: TestClient, headers: dict[str, str], kind: str) -> int:
    answer = api.post(
        JOB + "test-echo", json={"notification-type": kind}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    job_id: int = answer.json()["id"]
    return job_id


def _job(api: TestClient, headers: dict[str, str], job_id: int) -> dict[str, Any]:
    job: dict[str, Any] = json_body(api.get(f"{JOB}{job_id}", headers=headers))
    return job


def _wait_for_failed_tries(
    db: psycopg.Connection[Row], job_id: int, at_least: int
) -> None:
    deadline = time.monotonic() + 30
    while True:
        rows = notifications(db, job_id)
        if rows and rows[0]["attempts"] >= at_least:
            return
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)


def _moment(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)


def _to_the_second(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(microsecond=0)


def test_a_job_shows_each_try_of_its_mail_the_failed_ones_with_their_errors(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
) -> None:
    smtp.stop()
    try:
        job_id = _submit(api, admin, "E")
        wait_for_job(api, admin, job_id, delivered=False)
        _wait_for_failed_tries(db, job_id, at_least=2)
    finally:
        smtp.start()
    (row,) = wait_for_deliveries(db, job_id)

    (delivery,) = _job(api, admin, job_id)["notifications"]

    assert (delivery["channel"], delivery["status"]) == ("E", "sent")
    tries = delivery["tries"]
    *failed, sent = tries
    assert len(failed) >= 2
    assert {t["result"] for t in failed} == {"error"}
    assert all("ConnectionRefusedError" in t["error"] for t in failed), failed
    assert (sent["result"], sent["error"]) == ("sent", None)
    assert [t["seqno"] for t in tries] == list(range(1, len(tries) + 1))
    assert len(tries) == delivery["attempts"]
    stored = attempts(db, row["ad_notification_id"])
    assert [
        (
            t["seqno"],
            _moment(t["started"]),
            _moment(t["finished"]),
            t["result"],
            t["error"],
        )
        for t in tries
    ] == [
        (
            a["seqno"],
            _to_the_second(a["started"]),
            _to_the_second(a["finished"]),
            a["result"],
            a["error"],
        )
        for a in stored
    ]


def test_a_job_s_tries_show_to_its_owner_and_operators_and_to_no_other_user(
    api: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    role = create_role(db, unique("Tried"), access={"test-echo": True})
    try:
        with (
            account(api, db, "Tried", [role]) as owner,
            account(api, db, "Other", [USER_ROLE]) as other,
        ):
            # The owner has no e-mail address: the mail is skipped, the notice sent.
            job_id = _submit(api, owner.headers, "B")
            as_owner = wait_for_job(api, owner.headers, job_id)
            as_operator = _job(api, admin, job_id)
            as_other = _job(api, other.headers, job_id)
    finally:
        drop_role(db, role)

    email, notice = as_owner["notifications"]
    reason = f"The user {owner.name} has no e-mail address"
    assert [(t["seqno"], t["result"], t["error"]) for t in email["tries"]] == [
        (1, "skipped", reason)
    ]
    assert [(t["seqno"], t["result"], t["error"]) for t in notice["tries"]] == [
        (1, "sent", None)
    ]
    assert as_operator == as_owner
    assert "notifications" not in as_other
    assert as_other["id"] == job_id
