"""``/api/v1/processes``: list, read and run processes (reference §1.4 to §1.6)."""

from __future__ import annotations

from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import dictionary, instances, runs
from app.auth.guard import require_session
from app.auth.tokens import Session
from app.db import Row
from app.errors import InvalidFilter
from app.http import by_method, json_response, public_base_url, read_json_object
from app.odata import compile_filter
from app.routes.jobs import job_body
from app.serialize import (
    output_path,
    parameter_json,
    process_info_json,
    process_json,
)
from app.settings import Settings


async def list_processes(request: Request) -> Response:
    session = await require_session(request)
    query = request.query_params
    text = query.get("$filter", "")
    try:
        condition = (
            compile_filter(text, dictionary.FILTER_COLUMNS) if text.strip() else None
        )
        page = dictionary.parse_page(
            query.get("$orderby"), query.get("$top"), query.get("$skip")
        )
    except InvalidFilter as error:
        raise InvalidFilter("Get process with exception: " + error.detail) from None
    async with request.app.state.pool.connection() as conn:
        language = await _language(conn, request, session)
        rows = await dictionary.list_processes(
            conn, session.role_id, language, condition, page
        )
    return json_response({"processes": [process_json(row) for row in rows]})


async def get_process(request: Request) -> Response:
    session = await require_session(request)
    slug = request.path_params["slug"]
    async with request.app.state.pool.connection() as conn:
        language = await _language(conn, request, session)
        process = await runs.find_process(
            conn, slug, session, to_run=False, language=language
        )
        rows = await dictionary.parameters(conn, process["ad_process_id"], language)
    body = process_json(process)
    body["parameters"] = [parameter_json(row) for row in rows]
    return json_response(body)


async def run_process(request: Request) -> Response:
    """Run now: the answer waits for the worker, up to the configured limit (D14)."""
    settings: Settings = request.app.state.settings
    session, slug, instance_id = await _start(request, is_job=False)
    pool = request.app.state.pool

    async def is_finished() -> bool:
        async with pool.connection() as conn:
            found = await instances.fetch_instance(conn, instance_id, session.client_id)
        return found is not None and found["status"] not in instances.UNFINISHED

    watcher = request.app.state.watcher
    if await watcher.wait_finished(
        instance_id, settings.sync_wait_seconds, is_finished
    ):
        return await _finished_answer(request, instance_id, slug, session.client_id)
    async with pool.connection() as conn:
        if not await instances.continue_as_job(conn, instance_id):
            return await _finished_answer(request, instance_id, slug, session.client_id)
    job = await job_body(request, session, instance_id)
    location = f"/api/v1/processes/jobs/{instance_id}"
    return json_response(job, status=202, headers={"Location": location})


async def run_job(request: Request) -> Response:
    """Run in the background: the answer comes at once, with the queued job."""
    session, _, instance_id = await _start(request, is_job=True)
    return json_response(await job_body(request, session, instance_id))


async def _start(request: Request, *, is_job: bool) -> tuple[Session, str, int]:
    """Check the request, store the instance, and queue it once committed."""
    settings: Settings = request.app.state.settings
    session = await require_session(request)
    slug = request.path_params["slug"]
    async with request.app.state.pool.connection() as conn:
        process = await runs.find_process(conn, slug, session, to_run=True)
        body = await read_json_object(request, settings.max_body_bytes)
        prepared = await runs.prepare(
            conn,
            settings,
            session,
            process,
            body,
            is_job=is_job,
            trace_id=_trace(request),
        )
        row = await runs.store(conn, prepared)
        instance_id = int(row["ad_pinstance_id"])
        await runs.enqueue(
            conn, request.app.state.celery, instance_id, prepared.new.queue
        )
    return session, slug, instance_id


async def _finished_answer(
    request: Request, instance_id: int, slug: str, client_id: int
) -> Response:
    """The ProcessInfo JSON of a finished instance, files inline up to the limit."""
    settings: Settings = request.app.state.settings
    async with request.app.state.pool.connection() as conn:
        row = await instances.fetch_instance(conn, instance_id, client_id)
        assert row is not None
        logs = await instances.fetch_logs(conn, instance_id)
        files: dict[str, Any] = {}
        if row["status"] == "succeeded":
            outputs = await instances.fetch_outputs(conn, instance_id)
            for index, output in enumerate(outputs, start=1):
                if output["kind"] in files:
                    continue
                content = None
                if output["size"] <= settings.inline_output_limit:
                    pieces = instances.read_output(
                        conn, output["ad_pinstance_output_id"]
                    )
                    content = b"".join([piece async for piece in pieces])
                url = f"{public_base_url(request)}/{output_path(instance_id, index)}"
                files[output["kind"]] = (output["name"], output["size"], content, url)
    return json_response(process_info_json(row, slug, logs, files))


async def _language(
    conn: psycopg.AsyncConnection[Row], request: Request, session: Session
) -> str:
    locale = request.query_params.get("locale")
    return await dictionary.answer_language(conn, locale, session.language)


def _trace(request: Request) -> str | None:
    state: dict[str, Any] = request.scope.get("state", {})
    return state.get("correlation_id")


ROUTES = [
    Route("/api/v1/processes", list_processes, methods=["GET"]),
    Route("/api/v1/processes/jobs/{slug}", run_job, methods=["POST"]),
    Route(
        "/api/v1/processes/{slug}",
        by_method(GET=get_process, HEAD=get_process, POST=run_process),
        methods=["GET", "POST"],
    ),
]
