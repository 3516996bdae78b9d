"""Run one instance: claim it, run its process, record the outcome, tell watchers.

Every write after the claim names the claimed attempt; when the instance has
moved on (``StaleAttempt``), this worker stops quietly and records nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
import redis
import structlog
from psycopg_pool import ConnectionPool

from app import instances
from app.db import Row, open_pool
from app.events import publish_instance_event
from app.params import typed_value
from app.settings import Settings
from processes.context import Context, ProcessError, Result, Upload
from processes.registry import by_classname

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    summary: str | None
    data: Mapping[str, Any] | None


@lru_cache(maxsize=4)
def _pool(url: str) -> ConnectionPool[psycopg.Connection[Row]]:
    # One pool per worker process, made on its first run, after the fork: a new
    # connection per run cost more than the run of a small process.
    return open_pool(url, max_size=2)


def run_instance(settings: Settings, instance_id: int, worker: str) -> None:
    with _pool(settings.database_url).connection() as conn:
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
        _announce(settings, instance_id, status="running")
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
        status = "succeeded" if finished.succeeded else "failed"
        bound.info("instance.finished", status=status, seconds=elapsed)
        _announce(settings, instance_id, status=status)


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
) -> Outcome | None:
    """Record the outcome; data that cannot be stored fails the instance instead
    of leaving it running. None when this attempt no longer holds it."""
    try:
        row = _record(conn, claimed, outcome)
    except (TypeError, ValueError, psycopg.DataError) as error:
        outcome = Outcome(
            False,
            "The process returned data that cannot be stored: " + _describe(error),
            None,
        )
        row = _record(conn, claimed, outcome)
    return None if row is None else outcome


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


@lru_cache(maxsize=4)
def _events(url: str) -> redis.Redis:
    # One client (and its connection pool) per worker process, made after the fork.
    return redis.Redis.from_url(url)


def _announce(settings: Settings, instance_id: int, **fields: Any) -> None:
    try:
        client = _events(settings.redis_url)
        publish_instance_event(client, settings.event_prefix, instance_id, **fields)
    except redis.RedisError:
        # Watchers also poll the database; a missed event only delays them.
        log.warning("instance.event_not_sent", pinstance_id=instance_id, exc_info=True)
