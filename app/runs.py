"""Starting runs: from a request to a committed, queued instance, and waiting for
a synchronous run to finish.

The API never runs process code; it checks, stores, and hands the instance id to
a worker through Celery, only after the transaction that stored it commits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import psycopg
import structlog
from celery import Celery
from kombu.exceptions import OperationalError
from psycopg import sql

from app import dictionary, instances
from app.auth.tokens import Session
from app.db import Row
from app.errors import (
    ApiError,
    Conflict,
    Forbidden,
    InvalidParameter,
    MissingParameters,
    NotFound,
    ServiceUnavailable,
)
from app.lookups import resolve_lookups
from app.options import RunOptions, run_options
from app.params import SessionValues, coerce_parameters, shown
from app.settings import Settings
from app.uploads import uploads_to_store
from processes.declarations import Process
from processes.registry import registry
from workers.celery_app import RUN_INSTANCE

log = structlog.get_logger(__name__)

ALREADY_RUNNING = (
    "Another instance of this process is already running, please wait until it "
    "finishes to run it again."
)

# What slugify() can produce; anything else cannot name a process.
_SLUG = re.compile(r"[a-z0-9_]+(-[a-z0-9_]+)*")

_TABLE_BY_ID = "SELECT ad_table_id FROM ad_table WHERE ad_table_id = %s AND isactive"
_TABLE_BY_NAME = (
    "SELECT ad_table_id FROM ad_table WHERE lower(tablename) = lower(%s) AND isactive"
)
_PRINT_FORMAT_OF_PROCESS = """
SELECT f.ad_printformat_id FROM ad_printformat f
  JOIN ad_process p ON p.ad_reportview_id = f.ad_reportview_id
 WHERE p.ad_process_id = %(process_id)s AND f.isactive
   AND (f.ad_printformat_id = %(id)s OR f.ad_printformat_uu = %(uuid)s)
"""
_CLIENT_COLUMN = """
SELECT 1 FROM information_schema.columns
 WHERE table_schema = current_schema() AND table_name = %s
   AND column_name = 'ad_client_id'
"""
_MARK_UNQUEUED = """
UPDATE ad_pinstance
   SET status = 'failed', isprocessing = false, result = 0, finished = now(),
       errormsg = 'The instance could not be queued: the broker did not answer'
 WHERE ad_pinstance_id = %s AND status = 'queued'
"""


class InvalidProcessName(NotFound):
    title = "Invalid process name"


class AccessDenied(Forbidden):
    title = "Access denied"


class RecordNotFound(NotFound):
    title = "Record not found"


@dataclass(frozen=True)
class Prepared:
    process: Row
    new: instances.NewInstance


async def find_process(
    conn: psycopg.AsyncConnection[Row],
    slug: str,
    session: Session,
    *,
    to_run: bool,
    language: str | None = None,
) -> Row:
    """The process of a URL slug, if the session's role may see (or run) it, with
    its texts in ``language`` (the session's by default)."""
    process = None
    if _SLUG.fullmatch(slug):
        process = await dictionary.process_by_slug(
            conn, slug, session.role_id, language or session.language
        )
    if process is None:
        raise InvalidProcessName(f"No match found for process name: {slug}")
    access = process["isreadwrite"]
    if access is None or (to_run and not access):
        raise AccessDenied(f"Access denied for process: {slug}")
    return process


async def prepare(
    conn: psycopg.AsyncConnection[Row],
    settings: Settings,
    session: Session,
    process: Row,
    body: Mapping[str, Any],
    *,
    is_job: bool,
    trace_id: str | None,
) -> Prepared:
    """Check everything about a run request before anything is stored."""
    specs = [
        dictionary.parameter_spec(r)
        for r in await dictionary.parameters(
            conn, process["ad_process_id"], session.language
        )
    ]
    options = run_options(dict(body), is_report=process["isreport"], is_job=is_job)
    values = SessionValues(
        session.user_id, session.client_id, session.org_id, dt.date.today()
    )
    coerced = coerce_parameters(specs, body, values)
    uploads = uploads_to_store(coerced.rows, coerced.values, settings.max_upload_bytes)
    await resolve_lookups(conn, coerced, session.client_id)
    table_id = await _table_of(conn, options)
    await _check_print_format(conn, process, options.print_format)
    declaration = registry().get(process["slug"])
    if declaration is not None:
        _check_report_type(declaration, options.report_type)
    if declaration is not None and declaration.table:
        table_id = await _check_record(
            conn, declaration.table, options, table_id, session.client_id
        )
    # A check may read an upload whole (a translation import parses its files):
    # off the event loop, so other requests go on meanwhile.
    await anyio.to_thread.run_sync(
        _run_check,
        process["slug"],
        {**coerced.values, **{k + "_to": v for k, v in coerced.values_to.items()}},
    )
    queue = settings.interactive_queue if not is_job else process["queue"]
    new = instances.NewInstance(
        client_id=session.client_id,
        org_id=session.org_id,
        process_id=process["ad_process_id"],
        user_id=session.user_id,
        role_id=session.role_id,
        language=session.language,
        record_id=options.record_id,
        table_id=table_id,
        is_job=is_job,
        notification_type=options.notification_type,
        report_type=options.report_type,
        is_summary=options.is_summary,
        print_format=options.print_format,
        trace_id=trace_id,
        queue=settings.queue(queue),
        parameters=coerced.rows,
        uploads=uploads,
    )
    return Prepared(process, new)


def _check_report_type(declaration: Process, report_type: str | None) -> None:
    if report_type is not None and report_type not in declaration.report_types:
        raise InvalidParameter(
            f"Invalid value for report-type: {shown(report_type)} "
            f"({declaration.name} makes {' or '.join(declaration.report_types)})"
        )


def _run_check(slug: str, values: Mapping[str, Any]) -> None:
    declaration = registry().get(slug)
    if declaration is None or declaration.check is None:
        return
    try:
        declaration.check(values)
    except ApiError:
        raise
    except ValueError as error:
        raise InvalidParameter(str(error)) from None


async def _table_of(
    conn: psycopg.AsyncConnection[Row], options: RunOptions
) -> int | None:
    if options.table_id:
        row = await (await conn.execute(_TABLE_BY_ID, (options.table_id,))).fetchone()
        if row is None:
            raise InvalidParameter(
                f"Invalid value for table-id: no table {options.table_id}"
            )
        return int(row["ad_table_id"])
    if options.model_name:
        row = await (
            await conn.execute(_TABLE_BY_NAME, (options.model_name,))
        ).fetchone()
        if row is None:
            raise InvalidParameter(
                f"Invalid value for model-name: no table {options.model_name!r}"
            )
        return int(row["ad_table_id"])
    return None


async def _check_print_format(
    conn: psycopg.AsyncConnection[Row], process: Row, print_format: str | None
) -> None:
    """A print-format-id must name a format of the process's own report view."""
    if print_format is None:
        return
    by_id = print_format.isdigit()
    found = await (
        await conn.execute(
            _PRINT_FORMAT_OF_PROCESS,
            {
                "process_id": process["ad_process_id"],
                "id": int(print_format) if by_id else None,
                "uuid": None if by_id else print_format,
            },
        )
    ).fetchone()
    if found is None:
        raise InvalidParameter(
            f"Invalid value for print-format-id: {shown(print_format)} (not a print "
            f"format of the report view of {process['slug']})"
        )


async def _check_record(
    conn: psycopg.AsyncConnection[Row],
    table: str,
    options: RunOptions,
    table_id: int | None,
    client_id: int,
) -> int | None:
    """A process called on a table's record: table-id or model-name, when given,
    must name that table, and record-id a record of it in the caller's tenant
    (or of the system tenant). The table's registry id, for the instance."""
    expected = await (await conn.execute(_TABLE_BY_NAME, (table,))).fetchone()
    expected_id = None if expected is None else int(expected["ad_table_id"])
    if table_id is not None and table_id != expected_id:
        key = "table-id" if options.table_id else "model-name"
        sent = options.table_id or options.model_name
        raise InvalidParameter(
            f"Invalid value for {key}: {shown(sent)} (this process runs on {table})"
        )
    if not options.record_id:
        raise MissingParameters(
            f"Missing parameters: record-id (this process runs on a {table} record)"
        )
    if not await _record_exists(conn, table.lower(), options.record_id, client_id):
        raise RecordNotFound(
            f"No record found matching record-id {options.record_id} in {table}"
        )
    return expected_id


async def _record_exists(
    conn: psycopg.AsyncConnection[Row], table: str, record_id: int, client_id: int
) -> bool:
    # The table is the declaration's (trusted); every table with tenants'
    # records has ad_client_id.
    conditions: list[sql.Composable] = [
        sql.SQL("{} = %s").format(sql.Identifier(table + "_id"))
    ]
    params: list[Any] = [record_id]
    if await (await conn.execute(_CLIENT_COLUMN, (table,))).fetchone():
        conditions.append(sql.SQL("ad_client_id IN (0, %s)"))
        params.append(client_id)
    query = sql.SQL("SELECT 1 FROM {} WHERE {}").format(
        sql.Identifier(table), sql.SQL(" AND ").join(conditions)
    )
    return await (await conn.execute(query, params)).fetchone() is not None


async def store(conn: psycopg.AsyncConnection[Row], prepared: Prepared) -> Row:
    """Insert the instance, unless AllowMultipleExecution forbids it now (409)."""
    async with conn.transaction():
        rule = prepared.process["allowmultipleexecution"]
        if await instances.find_conflict(conn, prepared.new, rule) is not None:
            raise Conflict(prepared.process["slug"], title=ALREADY_RUNNING)
        return await instances.insert_instance(conn, prepared.new)


async def enqueue(
    conn: psycopg.AsyncConnection[Row], celery: Celery, instance_id: int, queue: str
) -> None:
    """Hand the committed instance to the workers; if the broker cannot take it,
    the instance is failed rather than left queued forever, and the client gets 503."""
    try:
        celery.send_task(
            RUN_INSTANCE,
            args=[instance_id],
            queue=queue,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except (OperationalError, OSError) as error:
        log.error("instance.not_queued", pinstance_id=instance_id, error=str(error))
        # The API pool is in autocommit mode, so this sticks although we raise.
        await conn.execute(_MARK_UNQUEUED, (instance_id,))
        raise ServiceUnavailable(
            f"The job queue is not reachable; instance {instance_id} was not started"
        ) from None
    log.info("instance.queued", pinstance_id=instance_id, queue=queue)
