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

from app.events import instance_channel
from app.listener import PatternListener

FINAL = frozenset({"succeeded", "failed", "cancelled", "timed_out"})
POLL_SECONDS = 1.0


class InstanceWatcher(PatternListener):
    disconnected = "watcher.disconnected"

    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        super().__init__(client, instance_channel(prefix, 0).removesuffix("0") + "*")
        self.waiters: dict[int, set[asyncio.Future[None]]] = defaultdict(set)

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

    def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
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
