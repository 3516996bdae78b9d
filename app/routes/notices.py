"""``/api/v1/notices``: the caller's in-app notices, and a live stream of them.

Only the caller's own notices in the token's tenant exist here: anyone else's is
a 404, as if there were none.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import structlog
from sse_starlette import EventSourceResponse, JSONServerSentEvent, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app import dictionary, notices
from app.auth import sessions, tokens
from app.auth.guard import bearer_token, require_session
from app.auth.tokens import Session
from app.db import Row, bigint_id
from app.errors import ApiError, InvalidFilter, InvalidParameter, NotFound, Unauthorized
from app.http import by_method, json_response, public_base_url
from app.user_events import Subscription, UserEvent, UserEventHub

log = structlog.get_logger(__name__)

# Comments that keep proxies from closing an idle stream.
KEEP_ALIVE_SECONDS = 15
# How often an idle stream checks that its session still stands; one that has an
# event to send checks first, every time.
RECHECK_SECONDS = 60.0
# A client that takes no data for this long is dropped.
SEND_TIMEOUT_SECONDS = 30.0
# How long a new stream waits for the Redis subscription before it starts.
SUBSCRIBED_SECONDS = 5.0
# What EventSource waits before reconnecting, in milliseconds.
RETRY_MS = 3000
# Notices sent again to a client that reconnects with Last-Event-ID.
REPLAY_LIMIT = 100


class NoticeNotFound(NotFound):
    title = "Notice not found"


def _notice_id(request: Request) -> int:
    raw = request.path_params["id"]
    found = bigint_id(raw)
    if found is None:
        raise NoticeNotFound(f"No notice found matching id {raw}")
    return found


def _unread_only(request: Request) -> bool:
    raw = request.query_params.get("unread", "false")
    if raw.lower() not in ("true", "false"):
        raise InvalidParameter(
            f"Invalid value for unread: {raw[:80]!r} (expected true or false)"
        )
    return raw.lower() == "true"


def _window(request: Request) -> tuple[int, int]:
    """``$top`` (at most 1000, and 1000 when not given) and ``$skip``."""
    query = request.query_params
    try:
        page = dictionary.parse_page(None, query.get("$top"), query.get("$skip"))
    except InvalidFilter as error:
        raise InvalidParameter(error.detail) from None
    top = dictionary.MAX_TOP if page.top is None else page.top
    return top, page.skip


async def list_notices(request: Request) -> Response:
    session = await require_session(request)
    unread_only = _unread_only(request)
    top, skip = _window(request)
    async with request.app.state.pool.connection() as conn:
        rows = await notices.fetch_page(
            conn,
            session.user_id,
            session.client_id,
            unread_only=unread_only,
            top=top,
            skip=skip,
        )
        unread = await notices.count_unread(conn, session.user_id, session.client_id)
    base_url = public_base_url(request)
    return json_response(
        {
            "notices": [notices.notice_json(row, base_url) for row in rows],
            "unreadCount": unread,
        }
    )


async def get_notice(request: Request) -> Response:
    session = await require_session(request)
    note_id = _notice_id(request)
    return json_response(await _notice_body(request, session, note_id))


async def mark_read(request: Request) -> Response:
    session = await require_session(request)
    note_id = _notice_id(request)
    async with request.app.state.pool.connection() as conn:
        if not await notices.mark_read(
            conn, note_id, session.user_id, session.client_id
        ):
            raise NoticeNotFound(f"No notice found matching id {note_id}")
    return json_response(await _notice_body(request, session, note_id))


async def delete_notice(request: Request) -> Response:
    session = await require_session(request)
    note_id = _notice_id(request)
    async with request.app.state.pool.connection() as conn:
        if not await notices.remove(conn, note_id, session.user_id, session.client_id):
            raise NoticeNotFound(f"No notice found matching id {note_id}")
    return Response(status_code=204)


async def _notice_body(
    request: Request, session: Session, note_id: int
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        row = await notices.fetch_notice(
            conn, note_id, session.user_id, session.client_id
        )
    if row is None:
        raise NoticeNotFound(f"No notice found matching id {note_id}")
    return notices.notice_json(row, public_base_url(request))


# --- the live stream -----------------------------------------------------------


async def notice_events(request: Request) -> Response:
    """Server-Sent Events for the caller: ``notice`` and ``job``, as they happen."""
    session, expires = await _stream_session(request)
    stream = _Stream(request, session, expires)
    return EventSourceResponse(
        stream.events(),
        ping=KEEP_ALIVE_SECONDS,
        send_timeout=SEND_TIMEOUT_SECONDS,
    )


async def _stream_session(request: Request) -> tuple[Session, float]:
    """The session of the token in the Authorization header or, for browsers'
    EventSource, which cannot send headers, in ``access_token``; and when the
    token expires (epoch seconds)."""
    token = bearer_token(request) or request.query_params.get("access_token")
    if not token:
        raise Unauthorized(
            "Missing bearer token in the Authorization header "
            "or the access_token parameter"
        )
    claims = tokens.decode(token, request.app.state.settings.signing_secret())
    session = tokens.session_from(claims)
    if session is None:
        raise Unauthorized(
            "This token has no tenant and role yet; "
            "choose them with PUT /api/v1/auth/tokens"
        )
    async with request.app.state.pool.connection() as conn:
        await sessions.check_standing(conn, session.user_id, session)
    return session, float(claims["exp"])


class _Stream:
    """One client's stream: what the hub hands over for its user, checked against
    the session's tenant and read again from PostgreSQL, so that it says what
    the routes above would."""

    def __init__(self, request: Request, session: Session, expires: float) -> None:
        self.pool = request.app.state.pool
        self.hub: UserEventHub = request.app.state.user_events
        self.session = session
        self.expires = expires
        self.base_url = public_base_url(request)
        self.last_id = _last_event_id(request)
        self.sent: set[int] = set()
        self.instances: dict[int, bool] = {}

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        log.info("notices.stream_opened", user_id=self.session.user_id)
        try:
            with self.hub.subscribe(self.session.user_id) as subscription:
                await self.hub.wait_subscribed(SUBSCRIBED_SECONDS)
                yield ServerSentEvent(comment="connected", retry=RETRY_MS)
                async with aclosing(self._outgoing(subscription)) as outgoing:
                    async for event in outgoing:
                        # Before every event, not only when idle: a client whose
                        # token was logged out gets nothing more.
                        if not await self._still_valid():
                            return
                        if event is not None:
                            yield event
        finally:
            # Also when the client went away or the server stops (cancelled).
            log.info("notices.stream_closed", user_id=self.session.user_id)

    async def _outgoing(
        self, subscription: Subscription
    ) -> AsyncGenerator[ServerSentEvent | None]:
        """The notices a reconnecting client missed, then this client's events as
        they come; None whenever RECHECK_SECONDS pass without one, or the token
        expires, so that the session is checked all the same."""
        if self.last_id is not None:
            for row in await self._missed(self.last_id):
                yield self._notice_event(row)
        next_check = time.time() + RECHECK_SECONDS
        while True:
            event = await subscription.next(min(next_check, self.expires) - time.time())
            if subscription.overflowed:
                log.warning("notices.stream_behind", user_id=self.session.user_id)
                return
            if event is None:
                yield None
            else:
                translated = await self._translate(event)
                if translated is None:
                    continue
                yield translated
            next_check = time.time() + RECHECK_SECONDS

    async def _translate(self, event: UserEvent) -> ServerSentEvent | None:
        """The event as this client gets it, or None when it is not for it."""
        try:
            subject = int(event.data["id"])
        except (KeyError, TypeError, ValueError):
            return None
        if event.event == "notice":
            if subject in self.sent:
                return None
            async with self.pool.connection() as conn:
                row = await notices.fetch_notice(
                    conn, subject, self.session.user_id, self.session.client_id
                )
            return None if row is None else self._notice_event(row)
        if event.event == "job" and await self._owns_instance(subject):
            return JSONServerSentEvent(event.data, event="job")
        return None

    def _notice_event(self, row: Row) -> ServerSentEvent:
        self.sent.add(row["ad_note_id"])
        body = notices.notice_json(row, self.base_url)
        return JSONServerSentEvent(body, event="notice", id=str(row["ad_note_id"]))

    async def _owns_instance(self, instance_id: int) -> bool:
        if instance_id not in self.instances:
            async with self.pool.connection() as conn:
                self.instances[instance_id] = await notices.owns_instance(
                    conn, instance_id, self.session.user_id, self.session.client_id
                )
        return self.instances[instance_id]

    async def _missed(self, last_id: int) -> list[Row]:
        async with self.pool.connection() as conn:
            return await notices.fetch_after(
                conn,
                last_id,
                self.session.user_id,
                self.session.client_id,
                REPLAY_LIMIT,
            )

    async def _still_valid(self) -> bool:
        """Whether the token still stands as a request would find it: unexpired,
        its session not ended, its user, tenant and role still active."""
        if time.time() >= self.expires:
            return False
        try:
            async with self.pool.connection() as conn:
                await sessions.check_standing(conn, self.session.user_id, self.session)
        except ApiError:
            return False
        return True


def _last_event_id(request: Request) -> int | None:
    """The last notice a reconnecting EventSource saw (it sends the header)."""
    raw = request.headers.get("last-event-id", "").strip()
    if re.fullmatch(r"[0-9]{1,18}", raw):
        return int(raw)
    return None


ROUTES = [
    Route("/api/v1/notices", list_notices, methods=["GET"]),
    Route("/api/v1/notices/events", notice_events, methods=["GET"]),
    Route(
        "/api/v1/notices/{id}",
        by_method(GET=get_notice, HEAD=get_notice, DELETE=delete_notice),
        methods=["GET", "DELETE"],
    ),
    Route("/api/v1/notices/{id}/read", mark_read, methods=["POST"]),
]
