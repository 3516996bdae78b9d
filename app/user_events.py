"""Live events of users (a new notice, a job's new status), from one Redis pattern
subscription to every event stream the web process has open.

Each open stream subscribes for its user and gets its own bounded queue; an
event goes only to the queues of the user whose channel it came on. Events are
hints, as in app/events.py: a stream that misses some (Redis reconnecting, a
client too slow to keep up) loses nothing that is not also in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog

from app.events import user_channel
from app.listener import PatternListener

log = structlog.get_logger(__name__)

# Enough for a burst of job status changes; a stream further behind is ended.
QUEUE_SIZE = 100


@dataclass(frozen=True)
class UserEvent:
    event: str
    data: dict[str, Any]


class Subscription:
    """The events of one user for one stream, in the order they were published."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue[UserEvent] = asyncio.Queue(QUEUE_SIZE)
        # Set when an event had to be dropped: the stream should end rather than
        # go on with a gap its client cannot see.
        self.overflowed = False

    def offer(self, event: UserEvent) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, timeout: float) -> UserEvent | None:
        """The next event, or None when ``timeout`` seconds pass first."""
        try:
            return await asyncio.wait_for(self.queue.get(), max(timeout, 0))
        except TimeoutError:
            return None


class UserEventHub(PatternListener):
    disconnected = "user_events.disconnected"

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.channel_prefix = user_channel(prefix, 0).removesuffix("0")
        super().__init__(client, self.channel_prefix + "*")
        self.subscribers: dict[int, set[Subscription]] = defaultdict(set)

    @contextlib.contextmanager
    def subscribe(self, user_id: int) -> Iterator[Subscription]:
        subscription = Subscription(user_id)
        self.subscribers[user_id].add(subscription)
        try:
            yield subscription
        finally:
            listening = self.subscribers.get(user_id)
            if listening is not None:
                listening.discard(subscription)
                if not listening:
                    del self.subscribers[user_id]

    def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
        user_id = self._user_of(channel)
        if user_id is None or user_id not in self.subscribers:
            return
        event = _parse(data)
        if event is None:
            log.warning("user_events.malformed", user_id=user_id)
            return
        for subscription in self.subscribers[user_id]:
            subscription.offer(event)

    def _user_of(self, channel: bytes | str) -> int | None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        suffix = name.removeprefix(self.channel_prefix)
        if suffix == name or not suffix.isascii() or not suffix.isdigit():
            return None
        return int(suffix)


def _parse(data: bytes | str) -> UserEvent | None:
    try:
        message = json.loads(data)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    event, body = message.get("event"), message.get("data")
    if not isinstance(event, str) or not isinstance(body, dict):
        return None
    return UserEvent(event, body)
