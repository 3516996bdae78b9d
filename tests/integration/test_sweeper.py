"""An instance whose broker message was lost still runs: the sweeper re-sends it."""

from __future__ import annotations

import time

import psycopg

from app.db import Row
from app.settings import Settings
from workers.celery_app import create_celery
from workers.sweeper import resend_lost

QUEUED_WITHOUT_MESSAGE = """
INSERT INTO ad_pinstance (ad_client_id, ad_org_id, ad_process_id, ad_user_id,
    ad_role_id, isrunasjob, isprocessing, notificationtype, queue, paramsdigest, sent,
    createdby, updatedby)
SELECT 11, 11, ad_process_id, 101, 102, true, true, 'X', %(queue)s, 'lost',
       now() - make_interval(secs => %(age)s), 101, 101
  FROM ad_process WHERE slug = 'test-echo'
RETURNING ad_pinstance_id
"""


def _queued_instance(
    db: psycopg.Connection[Row], settings: Settings, age: float
) -> int:
    row = db.execute(
        QUEUED_WITHOUT_MESSAGE, {"queue": settings.queue("default"), "age": age}
    ).fetchone()
    assert row is not None
    return int(row["ad_pinstance_id"])


def _status(db: psycopg.Connection[Row], instance_id: int) -> str:
    row = db.execute(
        "SELECT status FROM ad_pinstance WHERE ad_pinstance_id = %s", (instance_id,)
    ).fetchone()
    assert row is not None
    return str(row["status"])


def test_resend_lost_runs_an_instance_whose_message_never_reached_a_worker(
    db: psycopg.Connection[Row], settings: Settings, workers: list[str]
) -> None:
    lost = _queued_instance(db, settings, age=settings.resend_after_seconds + 60)

    assert resend_lost(settings, create_celery(settings)) >= 1

    deadline = time.monotonic() + 30
    while _status(db, lost) == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _status(db, lost) == "succeeded"


def test_resend_lost_leaves_recently_sent_instances_alone(
    db: psycopg.Connection[Row], settings: Settings
) -> None:
    recent = _queued_instance(db, settings, age=1)
    try:
        resend_lost(settings, create_celery(settings))
        row = db.execute(
            "SELECT sent > now() - interval '1 minute' AS untouched_since_insert,"
            " sent < now() - interval '0.5 second' AS not_resent"
            " FROM ad_pinstance WHERE ad_pinstance_id = %s",
            (recent,),
        ).fetchone()
        assert row == {"untouched_since_insert": True, "not_resent": True}
    finally:
        db.execute("DELETE FROM ad_pinstance WHERE ad_pinstance_id = %s", (recent,))
