"""The instance watcher on a real Redis: a waiter wakes when its instance's final
status is published, not at its next look at PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio as aioredis

from app import watcher as watcher_module
from app.events import publish_instance_event
from app.settings import Settings
from app.watcher import InstanceWatcher

INSTANCE_ID = 424242


def test_a_published_final_status_wakes_its_waiter(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Polling alone would take a minute: only the event can end the wait in time.
    monkeypatch.setattr(watcher_module, "POLL_SECONDS", 60.0)

    async def scenario() -> bool:
        listening = aioredis.Redis.from_url(settings.redis_url)
        watcher = InstanceWatcher(listening, settings.event_prefix)
        watcher.start()
        finished = False
        asked = asyncio.Event()

        async def is_finished() -> bool:
            asked.set()
            return finished

        try:
            assert await watcher.wait_subscribed(5)
            waiting = asyncio.create_task(
                watcher.wait_finished(INSTANCE_ID, 120, is_finished)
            )
            await asyncio.wait_for(asked.wait(), 5)
            finished = True
            with redis.Redis.from_url(settings.redis_url) as publishing:
                publish_instance_event(
                    publishing, settings.event_prefix, INSTANCE_ID, status="succeeded"
                )
            return await asyncio.wait_for(waiting, 5)
        finally:
            await watcher.stop()
            await listening.aclose()

    assert asyncio.run(scenario())
