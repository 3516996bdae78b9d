"""Request and response plumbing shared by every route: JSON bodies with limits,
the correlation id (decision D16), and one JSON error body for every failure."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ApiError, InvalidParameter, PayloadTooLarge, UnsupportedMediaType

log = structlog.get_logger(__name__)

_TRACE_ID = re.compile(r"[\x21-\x7e]{1,100}")

_HTTP_TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Payload too large",
    415: "Unsupported media type",
}


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    # Starlette writes compact JSON (no space after ':'), which some clients of the
    # original search for as text.
    return JSONResponse(body, status_code=status, headers=headers)


def public_base_url(request: Request) -> str:
    """The root of the URLs the API hands out: PUBLIC_URL when set, else the URL
    the request came to (whose Host header the client chose)."""
    configured: str = request.app.state.settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(**endpoints: Endpoint) -> Endpoint:
    """One endpoint for a path that several methods share, so that a 405 on that
    path names every allowed method (Starlette names only the first route's)."""

    async def dispatch(request: Request) -> Response:
        return await endpoints[request.method](request)

    return dispatch


def error_response(error: ApiError) -> JSONResponse:
    return json_response(error.body(), error.status, error.headers or None)


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; an empty body or ``null`` counts as ``{}`` (D18)."""
    raw = await _read_limited(request, limit)
    if not raw.strip():
        return {}
    _require_json_type(request)
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidParameter("The request body is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise InvalidParameter(
            f"Malformed JSON body: {error.msg} "
            f"at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidParameter(_TOO_DEEP) from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise InvalidParameter(f"Malformed JSON body: {error}") from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise InvalidParameter(
            f"The request body must be a JSON object, not {type(body).__name__}"
        )
    _refuse_unstorable(body)
    return body


MAX_DEPTH = 32
_TOO_DEEP = f"The request body is nested more than {MAX_DEPTH} levels deep"


def _refuse_unstorable(body: dict[str, Any]) -> None:
    """Refuse text PostgreSQL cannot store (U+0000, lone surrogates) and needless
    depth, here, rather than fail later while storing or walking the body."""
    pending: list[tuple[Any, str, int]] = [(body, "body", 0)]
    while pending:
        value, where, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise InvalidParameter(_TOO_DEEP)
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, float) and not math.isfinite(value):
            # Python's parser takes NaN and Infinity, and 1e400 as infinity.
            raise InvalidParameter(
                f"{where}: {json.dumps(value)} is not a finite number"
            )
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where)
                pending.append((item, f"{where}.{key}"[:200], depth + 1))
        elif isinstance(value, list):
            pending.extend(
                (item, f"{where}[{i}]"[:200], depth + 1) for i, item in enumerate(value)
            )


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise InvalidParameter(f"{where} contains the character U+0000")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameter(
            f"{where} contains a lone UTF-16 surrogate, which is not text"
        ) from None


def _require_json_type(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if (
        media_type
        and media_type != "application/json"
        and not media_type.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"Content-Type {media_type} is not supported; send application/json"
        )


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise _too_large(limit)
    return bytes(body)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes")


async def handle_api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


async def handle_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    title = _HTTP_TITLES.get(error.status_code, "Error")
    detail = error.detail if error.detail else title
    if error.status_code == 404:
        detail = f"No route matches {request.method} {request.url.path}"
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
    return error_response(
        ApiError(
            detail,
            title=title,
            status=error.status_code,
            headers=dict(error.headers or {}),
        )
    )


def _failure(correlation_id: str) -> JSONResponse:
    return error_response(
        ApiError(
            "The server failed to answer; the failure is logged under correlation id "
            + correlation_id,
            title="Internal error",
            status=500,
        )
    )


class CorrelationMiddleware:
    """Takes ``X-Correlation-ID`` (or makes one), binds it to every log line of
    the request, and echoes it in the response. It is also where an unexpected
    failure is logged, once, with that id, and answered with the JSON error body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-correlation-id", b"").decode("latin-1")
        correlation_id = given if _TRACE_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", correlation_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request.failed", method=scope["method"], path=scope["path"])
            if started:
                raise  # half an answer is out: only closing the connection is left
            await _failure(correlation_id)(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("correlation_id")
