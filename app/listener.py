"""One Redis pattern subscription for the life of the web process, shared by all
that wait on it there: the instance watcher and the user event hub.

When Redis drops the subscription it is made again after RECONNECT_SECONDS;
what was published meanwhile is lost, which is why events are only hints (see
app/events.py).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib

import redis.asyncio as aioredis
import structlog

log = structlog.get_logger(__name__)

RECONNECT_SECONDS = 1.0


class PatternListener(abc.ABC):
    # The log event of a lost subscription, e.g. "watcher.disconnected".
    disconnected: str

    def __init__(self, client: aioredis.Redis, pattern: str) -> None:
        self.client = client
        self.pattern = pattern
        self.subscribed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def wait_subscribed(self, timeout: float) -> bool:
        """Whether Redis delivers messages here (waiting up to ``timeout``)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout)
        return self.subscribed.is_set()

    @abc.abstractmethod
    def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
        """Hand one message on; it must not block the listener."""

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(self.disconnected, exc_info=True)
            self.subscribed.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _listen(self) -> None:
        async with self.client.pubsub() as pubsub:
            await pubsub.psubscribe(self.pattern)
            async for message in pubsub.listen():
                if message.get("type") == "psubscribe":
                    self.subscribed.set()
                elif message.get("type") == "pmessage":
                    self._dispatch(message["channel"], message["data"])
