"""Live events through Redis pub/sub: an instance changed state, and what a
user's event stream shows (their jobs' status, their new notices).

Nothing lives only here: an event is a hint to look at PostgreSQL again, so a
lost event costs a little latency (watchers also poll), never a result.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import redis


@lru_cache(maxsize=4)
def sync_client(url: str) -> redis.Redis:
    """A worker process's client (and its connection pool), made on first use,
    after the fork."""
    return redis.Redis.from_url(url)


def instance_channel(prefix: str, instance_id: int) -> str:
    return f"{prefix}:instance:{instance_id}"


def publish_instance_event(
    client: redis.Redis, prefix: str, instance_id: int, **fields: Any
) -> None:
    client.publish(
        instance_channel(prefix, instance_id),
        json.dumps({"id": instance_id, **fields}, separators=(",", ":")),
    )


def user_channel(prefix: str, user_id: int) -> str:
    return f"{prefix}:user:{user_id}"


def publish_user_event(
    client: redis.Redis, prefix: str, user_id: int, event: str, data: dict[str, Any]
) -> None:
    """Tell a user's open event streams: ``job`` (one of their jobs changed
    status) or ``notice`` (a notice was made for them)."""
    client.publish(
        user_channel(prefix, user_id),
        json.dumps({"event": event, "data": data}, separators=(",", ":")),
    )
