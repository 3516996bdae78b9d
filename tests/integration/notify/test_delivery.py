"""Delivering a job's notifications: the channels notification-type asks for,
once each whatever is retried or run again, and every mail in the end when the
SMTP server was down while jobs finished."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import psycopg
import pytest
import redis
from starlette.testclient import TestClient

from app.db import Row
from app.events import user_channel
from app.settings import Settings
from tests.integration.helpers import (
    ADMIN_USER,
    instance,
    json_body,
    wait_for_job,
    wait_until_final,
    wait_until_running,
)
from tests.support.smtp import (
    SmtpServer,
    attempts,
    notifications,
    wait_for_deliveries,
)
from workers import notify, runner
from workers.celery_app import DELIVER_NOTIFICATION, RUN_INSTANCE, create_celery

JOB = "/api/v1/processes/jobs/"

# A job of a test process as the API would store it, without its broker message
# (the test runs it, here or through a worker).
NEW_INSTANCE = """
INSERT INTO ad_pinstance (ad_client_id, ad_org_id, ad_process_id, ad_user_id,
    ad_role_id, isrunasjob, isprocessing, notificationtype, queue, paramsdigest,
    createdby, updatedby)
SELECT 11, 11, ad_process_id, 101, 102, %(job)s, true, %(type)s, %(queue)s, '-',
       101, 101
  FROM ad_process WHERE slug = %(slug)s
RETURNING ad_pinstance_id
"""


def _submit(api: TestClient, headers: dict[str, str], kind: str) -> int:
    answer = api.post(
        JOB + "test-echo", json={"notification-type": kind}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    job_id: int = answer.json()["id"]
    return job_id


def _finished(
    api: TestClient, headers: dict[str, str], db: psycopg.Connection[Row], kind: str
) -> int:
    """A test-echo job with this notification-type, ended and delivered."""
    job_id = _submit(api, headers, kind)
    wait_for_job(api, headers, job_id)
    wait_for_deliveries(db, job_id)
    return job_id


def _notes(db: psycopg.Connection[Row], instance_id: int) -> list[Row]:
    return db.execute(
        "SELECT * FROM ad_note WHERE ad_pinstance_id = %s", (instance_id,)
    ).fetchall()


def _logged(db: psycopg.Connection[Row], instance_id: int) -> list[str]:
    rows = db.execute(
        "SELECT p_msg FROM ad_pinstance_log WHERE ad_pinstance_id = %s ORDER BY log_id",
        (instance_id,),
    ).fetchall()
    return [row["p_msg"] for row in rows]


def _new_instance(
    db: psycopg.Connection[Row],
    settings: Settings,
    *,
    kind: str | None,
    job: bool = True,
    slug: str = "test-echo",
) -> int:
    row = db.execute(
        NEW_INSTANCE,
        {
            "job": job,
            "type": kind,
            "queue": settings.queue(settings.default_queue),
            "slug": slug,
        },
    ).fetchone()
    assert row is not None
    return int(row["ad_pinstance_id"])


# What each notification-type delivers (decision D4).
CHANNELS = {"E": ["E"], "N": ["N"], "B": ["E", "N"], "X": []}


@pytest.mark.parametrize("kind", list(CHANNELS))
def test_a_job_is_delivered_on_the_channels_its_notification_type_names(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
    kind: str,
) -> None:
    channels = CHANNELS[kind]
    job_id = _finished(api, admin, db, kind)

    rows = notifications(db, job_id)
    assert [(row["channel"], row["status"]) for row in rows] == [
        (channel, "sent") for channel in channels
    ]
    assert len(smtp.inbox.about(job_id)) == ("E" in channels)
    notes = _notes(db, job_id)
    assert len(notes) == ("N" in channels)
    created = [line for line in _logged(db, job_id) if line.startswith("Created")]
    assert created == [f"Created Notice {note['ad_note_id']}" for note in notes]


def test_a_notice_is_the_original_background_job_note(
    api: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    job_id = _finished(api, admin, db, "N")

    (note,) = _notes(db, job_id)
    assert (note["ad_user_id"], note["ad_client_id"]) == (ADMIN_USER, 11)
    assert note["ad_message"] == "BackgroundJob"
    assert note["textmsg"] == "Test Echo succeeded\nechoed"
    assert note["reference"] == "Test Echo"
    assert note["processed"] is False
    (row,) = notifications(db, job_id)
    assert (row["ad_note_id"], row["recipient"]) == (note["ad_note_id"], "GardenAdmin")


def test_a_synchronous_run_notifies_nobody(
    mail: Settings, db: psycopg.Connection[Row]
) -> None:
    run_id = _new_instance(db, mail, kind=None, job=False)

    runner.run_instance(mail, run_id, "in-test", celery=create_celery(mail))

    assert instance(db, run_id)["status"] == "succeeded"
    assert notifications(db, run_id) == []


def test_smtp_down_while_jobs_end_the_jobs_succeed_and_every_mail_comes_once_back(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
) -> None:
    smtp.stop()
    try:
        jobs = [_submit(api, admin, "E") for _ in range(3)]
        finished = [
            wait_for_job(api, admin, job_id, delivered=False) for job_id in jobs
        ]
        _wait_for_tries(db, jobs, at_least=2)
    finally:
        smtp.start()

    assert {(job["status"], job["summary"]) for job in finished} == {
        ("succeeded", "echoed")
    }
    for job_id in jobs:
        (row,) = wait_for_deliveries(db, job_id)
        assert (row["status"], row["detail"]) == ("sent", None)
        tried = [a["result"] for a in attempts(db, row["ad_notification_id"])]
        assert tried[-1] == "sent"
        assert set(tried[:-1]) == {"error"}
        assert len(tried) == row["attempts"] >= 3
        assert instance(db, job_id)["status"] == "succeeded"
    # Longer than the longest backoff: a second copy would be here by now.
    time.sleep(1.5)
    assert [len(smtp.inbox.about(job_id)) for job_id in jobs] == [1, 1, 1]


def _wait_for_tries(
    db: psycopg.Connection[Row], jobs: list[int], at_least: int
) -> None:
    deadline = time.monotonic() + 30
    while True:
        rows = [row for job_id in jobs for row in notifications(db, job_id)]
        if len(rows) == len(jobs) and all(r["attempts"] >= at_least for r in rows):
            assert {r["status"] for r in rows} <= {"pending", "sending"}
            assert all("ConnectionRefusedError" in r["detail"] for r in rows), rows
            return
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)


def test_a_delivery_task_run_again_sends_nothing(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    mail: Settings,
    db: psycopg.Connection[Row],
) -> None:
    job_id = _finished(api, admin, db, "B")
    rows = notifications(db, job_id)

    celery = create_celery(mail)
    for row in rows:
        celery.send_task(
            DELIVER_NOTIFICATION,
            args=[row["ad_notification_id"]],
            queue=mail.queue(mail.default_queue),
        )
    celery.close()

    for row in rows:
        results = _wait_for_results(db, row["ad_notification_id"], count=2)
        assert results == ["sent", "duplicate"]
    assert notifications(db, job_id) == rows
    assert len(smtp.inbox.about(job_id)) == 1
    assert len(_notes(db, job_id)) == 1


def _wait_for_results(
    db: psycopg.Connection[Row], notification_id: int, count: int
) -> list[str]:
    deadline = time.monotonic() + 30
    while True:
        rows = attempts(db, notification_id)
        if len(rows) >= count and all(row["result"] for row in rows):
            return [row["result"] for row in rows]
        assert time.monotonic() < deadline, rows
        time.sleep(0.1)


def test_a_job_run_again_is_not_notified_again(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    mail: Settings,
    db: psycopg.Connection[Row],
) -> None:
    job_id = _finished(api, admin, db, "B")
    before = notifications(db, job_id)

    # As a retry of the job after its worker was lost would: queued, sent again.
    db.execute(
        "UPDATE ad_pinstance SET status = 'queued', isprocessing = true"
        " WHERE ad_pinstance_id = %s",
        (job_id,),
    )
    celery = create_celery(mail)
    celery.send_task(RUN_INSTANCE, args=[job_id], queue=mail.queue(mail.default_queue))
    celery.close()
    wait_until_final(db, [job_id])

    assert instance(db, job_id)["attempt"] == 2
    assert notifications(db, job_id) == before
    time.sleep(1)
    assert len(smtp.inbox.about(job_id)) == 1
    assert len(_notes(db, job_id)) == 1
    created = [line for line in _logged(db, job_id) if line.startswith("Created")]
    assert len(created) == 1


def test_a_stale_worker_finishing_late_queues_no_delivery(
    mail: Settings, db: psycopg.Connection[Row]
) -> None:
    stale = _new_instance(db, mail, kind="B", slug="test-sleep")
    db.execute(
        "INSERT INTO ad_pinstance_para (ad_pinstance_id, seqno, parametername,"
        " p_number) VALUES (%s, 10, 'Seconds', 1)",
        (stale,),
    )
    run = threading.Thread(
        target=runner.run_instance,
        args=(mail, stale, "stale"),
        kwargs={"celery": create_celery(mail)},
    )
    run.start()
    try:
        wait_until_running(db, stale)
        # Another worker took the instance over.
        db.execute(
            "UPDATE ad_pinstance SET attempt = attempt + 1 WHERE ad_pinstance_id = %s",
            (stale,),
        )
    finally:
        run.join(timeout=30)

    try:
        assert instance(db, stale)["status"] == "running"
        assert notifications(db, stale) == []
    finally:
        db.execute(
            "UPDATE ad_pinstance SET status = 'failed', isprocessing = false"
            " WHERE ad_pinstance_id = %s",
            (stale,),
        )


def test_the_sweeper_queues_a_delivery_whose_task_was_never_sent(
    smtp: SmtpServer, mail: Settings, db: psycopg.Connection[Row]
) -> None:
    lost = _new_instance(db, mail, kind="E")
    runner.run_instance(mail, lost, "in-test", celery=None)
    (row,) = notifications(db, lost)
    assert row["status"] == "pending"
    db.execute(
        "UPDATE ad_notification SET updated = now() - interval '1 day'"
        " WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )

    celery = create_celery(mail)
    assert notify.resend_stalled(mail, db, celery) >= 1
    celery.close()

    message = smtp.inbox.wait_for(lost)
    assert message["Subject"] == f"Test Echo succeeded (job {lost})"
    (sent,) = wait_for_deliveries(db, lost)
    assert (sent["status"], sent["attempts"]) == ("sent", 1)


def test_the_owner_s_event_stream_hears_the_job_change_and_its_notice(
    api: TestClient,
    admin: dict[str, str],
    mail: Settings,
    db: psycopg.Connection[Row],
) -> None:
    client = redis.Redis.from_url(mail.redis_url)
    listener = client.pubsub()
    listener.subscribe(user_channel(mail.event_prefix, ADMIN_USER))
    try:
        listener.get_message(timeout=5)  # the subscription's confirmation
        job_id = _submit(api, admin, "N")
        heard = _hear(listener, job_id, until="notice")
    finally:
        listener.close()
        client.close()

    statuses = [e["data"]["status"] for e in heard if e["event"] == "job"]
    assert statuses == ["running", "succeeded"]
    job_event = next(e for e in heard if e["event"] == "job")
    assert job_event["data"] == {
        "id": job_id,
        "status": "running",
        "process": "test-echo",
    }
    (notice,) = [e["data"] for e in heard if e["event"] == "notice"]
    (note,) = _notes(db, job_id)
    assert notice["id"] == note["ad_note_id"]
    assert notice["AD_PInstance_ID"] == job_id
    assert notice["outputs"][0]["url"] == (
        f"https://procserv.test/api/v1/processes/jobs/{job_id}/outputs/1"
    )
    job = json_body(api.get(f"{JOB}{job_id}", headers=admin))
    assert job["status"] == "succeeded"


def _hear(listener: Any, job_id: int, until: str) -> list[dict[str, Any]]:
    """The events about the job, up to the first of kind ``until``."""
    heard: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=1)
        if message is None or message["type"] != "message":
            continue
        event = json.loads(message["data"])
        data = event["data"]
        if job_id not in (data.get("id"), data.get("AD_PInstance_ID")):
            continue
        heard.append(event)
        if event["event"] == until:
            return heard
    raise AssertionError(f"no {until} event about job {job_id}: {heard}")
