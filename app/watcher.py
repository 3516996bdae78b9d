"""Waiting in the API for instances to finish, through one Redis subscription.

One pattern subscription serves every waiting request; each waiter also looks at
PostgreSQL now and then, so a lost event or a broken Redis connection only slows
an answer down, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
import structlog

from app.events import instance_channel

log = structlog.get_logger(__name__)

FINAL = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
POLL_SECONDS = 1.0


class InstanceWatcher:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self.client = client
        self.pattern = instance_channel(prefix, 0).removesuffix("0") + "*"
        self.waiters: dict[int, set[asyncio.Future[None]]] = defaultdict(set)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._listen_forever())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def wait_finished(
        self,
        instance_id: int,
        timeout: float,
        is_finished: Callable[[], Awaitable[bool]],
    ) -> bool:
        """True once the instance is final, False when ``timeout`` passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event: asyncio.Future[None] = loop.create_future()
            self.waiters[instance_id].add(event)
            try:
                if await is_finished():
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event, min(POLL_SECONDS, remaining))
            finally:
                self._forget(instance_id, event)

    def _forget(self, instance_id: int, event: asyncio.Future[None]) -> None:
        waiting = self.waiters.get(instance_id)
        if waiting is not None:
            waiting.discard(event)
            if not waiting:
                del self.waiters[instance_id]

    async def _listen_forever(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("watcher.disconnected", exc_info=True)
                await asyncio.sleep(POLL_SECONDS)

    async def _listen(self) -> None:
        async with self.client.pubsub() as pubsub:
            await pubsub.psubscribe(self.pattern)
            async for message in pubsub.listen():
                if message.get("type") == "pmessage":
                    self._dispatch(message["data"])

    def _dispatch(self, data: bytes | str) -> None:
        try:
            event = json.loads(data)
            instance_id = int(event["id"])
        except (ValueError, KeyError, TypeError):
            return
        if event.get("status") not in FINAL:
            return
        for waiter in self.waiters.get(instance_id, ()):
            if not waiter.done():
                waiter.set_result(None)
