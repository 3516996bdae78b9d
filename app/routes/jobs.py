"""``/api/v1/processes/jobs``: watch background jobs and fetch what they produced."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from app import instances
from app.auth.guard import require_session
from app.auth.tokens import Session
from app.db import Row, bigint_id
from app.errors import Forbidden, NotFound
from app.http import json_response, public_base_url
from app.serialize import job_json

_IS_OPERATOR = "SELECT isoperator FROM ad_role WHERE ad_role_id = %s AND isactive"


class JobNotFound(NotFound):
    title = "Job not found"


def _job_id(request: Request) -> int:
    raw = request.path_params["id"]
    found = bigint_id(raw)
    if found is None:
        raise JobNotFound(f"No job found matching id {raw}")
    return found


async def list_jobs(request: Request) -> Response:
    session = await require_session(request)
    async with request.app.state.pool.connection() as conn:
        rows = await instances.fetch_running_jobs(conn, session.client_id)
    return json_response({"jobs": [job_json(row) for row in rows]})


async def get_job(request: Request) -> Response:
    session = await require_session(request)
    return json_response(await job_body(request, session, _job_id(request)))


async def job_body(
    request: Request, session: Session, instance_id: int
) -> dict[str, Any]:
    """The job JSON; its owner and operators also see status, logs, outputs and
    every try of its deliveries (D8)."""
    async with request.app.state.pool.connection() as conn:
        row = await instances.fetch_instance(conn, instance_id, session.client_id)
        if row is None or not row["isrunasjob"]:
            raise JobNotFound(f"No job found matching id {instance_id}")
        if not await _sees_everything(conn, session, row):
            return job_json(row)
        logs: list[Row] = []
        outputs: list[Row] = []
        notifications: list[Row] = []
        tries: dict[int, list[Row]] = {}
        # Only a claimed instance has a log and outputs, and only a finished one
        # notifications; this spares a submit the queries.
        if row["attempt"] > 0:
            logs = await instances.fetch_logs(conn, instance_id)
            outputs = await instances.fetch_outputs(conn, instance_id)
        if row["finished"] is not None:
            # Read after the rows, the tries hold every try a row counts: a final
            # status and the try that ended it are committed together.
            notifications = await instances.fetch_notifications(conn, instance_id)
            tries = await instances.fetch_delivery_tries(conn, instance_id)
    return job_json(
        row,
        full=True,
        logs=logs,
        outputs=outputs,
        notifications=notifications,
        tries=tries,
        base_url=public_base_url(request),
    )


async def _sees_everything(conn: Any, session: Session, row: Row) -> bool:
    if row["ad_user_id"] == session.user_id:
        return True
    found = await (await conn.execute(_IS_OPERATOR, (session.role_id,))).fetchone()
    return bool(found and found["isoperator"])


async def get_output(request: Request) -> Response:
    """Stream one stored output of any instance (synchronous or background) to its
    owner or an operator, with its media type and file name."""
    session = await require_session(request)
    instance_id = _job_id(request)
    index = request.path_params["index"]
    pool = request.app.state.pool
    async with pool.connection() as conn:
        row = await instances.fetch_instance(conn, instance_id, session.client_id)
        if row is None:
            raise JobNotFound(f"No job found matching id {instance_id}")
        if not await _sees_everything(conn, session, row):
            raise Forbidden(
                f"Only the owner of instance {instance_id} or an operator "
                "may read its outputs"
            )
        outputs = await instances.fetch_outputs(conn, instance_id)
    if not (re.fullmatch(r"[0-9]{1,9}", index) and 1 <= int(index) <= len(outputs)):
        raise NotFound(f"Instance {instance_id} has no output {index}")
    output = outputs[int(index) - 1]

    async def content() -> Any:
        async with pool.connection() as conn:
            async for piece in instances.read_output(
                conn, output["ad_pinstance_output_id"]
            ):
                yield piece

    headers = {
        "Content-Length": str(output["size"]),
        "Content-Disposition": "attachment; filename*=UTF-8''" + quote(output["name"]),
    }
    return StreamingResponse(content(), media_type=output["mediatype"], headers=headers)


async def no_process_named(request: Request) -> Response:
    # Without this, "jobs" would be taken for the slug of POST /processes/{slug}.
    raise HTTPException(405, headers={"Allow": "GET"})


ROUTES = [
    Route("/api/v1/processes/jobs", list_jobs, methods=["GET"]),
    Route(
        "/api/v1/processes/jobs",
        no_process_named,
        methods=["POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    ),
    Route("/api/v1/processes/jobs/{id}", get_job, methods=["GET"]),
    Route("/api/v1/processes/jobs/{id}/outputs/{index}", get_output, methods=["GET"]),
]
