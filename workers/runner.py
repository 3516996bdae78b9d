"""Run one instance: claim it, run its process, record the outcome, tell watchers,
queue the notifications of a job.

Every write after the claim names the claimed attempt; when the instance has
moved on (``StaleAttempt``), this worker stops quietly and records nothing, so
it queues no notification either.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
import redis
import structlog
from celery import Celery
from psycopg import pq
from psycopg_pool import ConnectionPool

from app import instances
from app.db import Row, open_pool
from app.events import publish_instance_event, publish_user_event, sync_client
from app.params import typed_value
from app.settings import Settings
from processes.context import Context, ProcessError, Result, Upload
from processes.registry import by_classname
from workers import notify

log = structlog.get_logger(__name__)


_PROCESS_SLUG = """
SELECT p.slug FROM ad_pinstance i JOIN ad_process p USING (ad_process_id)
 WHERE i.ad_pinstance_id = %s
"""


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    summary: str | None
    data: Mapping[str, Any] | None


@dataclass(frozen=True)
class Finished:
    outcome: Outcome
    is_job: bool
    notifications: list[notify.Delivery]  # the deliveries the finish made


@lru_cache(maxsize=4)
def _pool(url: str, size: int) -> ConnectionPool[psycopg.Connection[Row]]:
    # One pool per worker process, made on its first run, after the fork: a new
    # connection per run cost more than the run of a small process.
    return open_pool(url, max_size=size)


def connection(
    settings: Settings, threads: int = 1
) -> AbstractContextManager[psycopg.Connection[Row]]:
    """A connection (autocommit) from this worker process's pool; ``threads``:
    how many of the process's threads may hold one at once (a delivery holds
    its connection through the SMTP conversation)."""
    return _pool(settings.database_url, max(2, threads)).connection()


def run_instance(
    settings: Settings, instance_id: int, worker: str, celery: Celery | None = None
) -> None:
    """Run the instance if it is queued. ``celery`` sends the deliveries of a
    finished job; without it they are left to the sweeper."""
    with connection(settings) as conn:
        claimed = instances.claim(conn, instance_id, worker)
        if claimed is None:
            log.info("instance.not_claimed", pinstance_id=instance_id)
            return
        bound = log.bind(
            pinstance_id=instance_id,
            process=claimed["process_value"],
            user=claimed["ad_user_id"],
            attempt=claimed["attempt"],
            correlation_id=claimed["externaltraceid"],
        )
        slug = _slug(conn, instance_id) if claimed["isrunasjob"] else None
        _announce(settings, claimed, "running", slug)
        bound.info("instance.started", worker=worker)
        started = time.monotonic()
        try:
            outcome = _run(settings, conn, claimed)
            finished = _finish(conn, claimed, outcome)
        except instances.StaleAttempt:
            finished = None
        elapsed = round(time.monotonic() - started, 3)
        if finished is None:
            bound.warning("instance.lost", seconds=elapsed)
            return
        status = "succeeded" if finished.outcome.succeeded else "failed"
        bound.info("instance.finished", status=status, seconds=elapsed)
        if finished.is_job and slug is None:  # a synchronous run that went on as a job
            slug = _slug(conn, instance_id)
        _announce(settings, claimed, status, slug if finished.is_job else None)
    notify.send_deliveries(celery, settings, instance_id, finished.notifications)


def _slug(conn: psycopg.Connection[Row], instance_id: int) -> str | None:
    row = conn.execute(_PROCESS_SLUG, (instance_id,)).fetchone()
    return None if row is None else str(row["slug"])


def _run(settings: Settings, conn: psycopg.Connection[Row], claimed: Row) -> Outcome:
    """The outcome of the run; whatever goes wrong, the instance gets one."""
    declaration = by_classname(claimed["classname"])
    if declaration is None:
        return Outcome(False, f"No code installed for {claimed['classname']}", None)
    try:
        context = _context(settings, conn, claimed)
    except Exception as error:
        log.exception("instance.not_started", pinstance_id=claimed["ad_pinstance_id"])
        return Outcome(
            False, "The instance could not be started: " + _describe(error), None
        )
    try:
        returned = declaration.run(context)
        context.close(commit=True)
    except instances.StaleAttempt:
        context.close(commit=False)
        raise
    except ProcessError as error:
        context.close(commit=False)
        return Outcome(False, str(error), None)
    except Exception as error:
        context.close(commit=False)
        log.exception(
            "instance.process_raised", pinstance_id=claimed["ad_pinstance_id"]
        )
        return Outcome(False, _describe(error), None)
    if isinstance(returned, Result):
        return Outcome(True, returned.summary, returned.data)
    return Outcome(True, "" if returned is None else str(returned), None)


def _finish(
    conn: psycopg.Connection[Row], claimed: Row, outcome: Outcome
) -> Finished | None:
    """Record the outcome, and for a job the notifications it owes, in one
    transaction; data that cannot be stored fails the instance instead of leaving
    it running. None when this attempt no longer holds the instance."""
    if not claimed["isrunasjob"]:
        # A synchronous run owes no notification (one that goes on as a job gets
        # notification-type X), and is spared the transaction's round trips.
        row, outcome = _record_or_fail(conn, claimed, outcome)
        return None if row is None else Finished(outcome, bool(row["isrunasjob"]), [])
    with conn.transaction():
        row, outcome = _record_or_fail(conn, claimed, outcome)
        if row is None:
            return None
        made = notify.prepare(conn, claimed["ad_pinstance_id"])
    return Finished(outcome, True, made)


def _record_or_fail(
    conn: psycopg.Connection[Row], claimed: Row, outcome: Outcome
) -> tuple[Row | None, Outcome]:
    # In a transaction, a savepoint: the failure is then recorded in it.
    in_transaction = conn.info.transaction_status != pq.TransactionStatus.IDLE
    try:
        with conn.transaction() if in_transaction else nullcontext():
            return _record(conn, claimed, outcome), outcome
    except (TypeError, ValueError, psycopg.DataError) as error:
        outcome = Outcome(
            False,
            "The process returned data that cannot be stored: " + _describe(error),
            None,
        )
        return _record(conn, claimed, outcome), outcome


def _record(
    conn: psycopg.Connection[Row], claimed: Row, outcome: Outcome
) -> Row | None:
    return instances.finish(
        conn,
        claimed["ad_pinstance_id"],
        claimed["attempt"],
        succeeded=outcome.succeeded,
        summary=outcome.summary,
        data=outcome.data,
    )


def _describe(error: Exception) -> str:
    # The message alone, as iDempiere's summary of a failed process; the type
    # only when there is no message (Java's toString() fallback).
    message = str(error).strip()
    return message or type(error).__name__


def _context(
    settings: Settings, conn: psycopg.Connection[Row], claimed: Row
) -> Context:
    values: dict[str, Any] = {}
    values_to: dict[str, Any] = {}
    for row in instances.load_parameters(conn, claimed["ad_pinstance_id"]):
        reference = row["ad_reference_id"]
        name = row["parametername"]
        values[name] = typed_value(
            reference, row["p_string"], row["p_number"], row["p_date"]
        )
        if row["upload_id"] is not None:
            values[name] = _upload(conn, row)
        values_to[name] = typed_value(
            reference, row["p_string_to"], row["p_number_to"], row["p_date_to"]
        )
    return Context(
        instance_id=claimed["ad_pinstance_id"],
        process_value=claimed["process_value"],
        client_id=claimed["ad_client_id"],
        org_id=claimed["ad_org_id"],
        user_id=claimed["ad_user_id"],
        role_id=claimed["ad_role_id"],
        language=claimed["ad_language"] or "en_US",
        params=values,
        params_to=values_to,
        record_id=claimed["record_id"] or None,
        table_id=claimed["ad_table_id"],
        report_type=claimed["reporttype"],
        is_summary=claimed["issummary"],
        writer=instances.InstanceRecord(
            conn, claimed["ad_pinstance_id"], claimed["attempt"]
        ),
        database_url=settings.database_url,
        print_format=claimed["ad_printformat_id"],
    )


def _upload(conn: psycopg.Connection[Row], row: Row) -> Upload:
    """The file uploaded for a parameter, read from the database when the
    process reads it, through the instance's connection."""
    output_id = row["upload_id"]
    return Upload.from_chunks(
        row["upload_name"],
        row["upload_size"],
        row["upload_media_type"],
        row["upload_sha256"],
        chunk_size=instances.CHUNK_BYTES,
        fetch=lambda index: instances.read_chunk(conn, output_id, index),
    )


def _announce(
    settings: Settings, claimed: Row, status: str, job_slug: str | None
) -> None:
    """Tell the instance's watchers, and for a job (``job_slug``) its owner's
    event streams."""
    instance_id = claimed["ad_pinstance_id"]
    try:
        client = sync_client(settings.redis_url)
        publish_instance_event(
            client, settings.event_prefix, instance_id, status=status
        )
        if job_slug is not None:
            publish_user_event(
                client,
                settings.event_prefix,
                claimed["ad_user_id"],
                "job",
                {"id": instance_id, "status": status, "process": job_slug},
            )
    except redis.RedisError:
        # Watchers also poll the database; a missed event only delays them.
        log.warning("instance.event_not_sent", pinstance_id=instance_id, exc_info=True)
