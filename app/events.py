"""Live events through Redis pub/sub: an instance changed state.

Nothing lives only here: an event is a hint to look at PostgreSQL again, so a
lost event costs a little latency (watchers also poll), never a result.
"""

from __future__ import annotations

import json
from typing import Any

import redis


def instance_channel(prefix: str, instance_id: int) -> str:
    return f"{prefix}:instance:{instance_id}"


def publish_instance_event(
    client: redis.Redis, prefix: str, instance_id: int, **fields: Any
) -> None:
    client.publish(
        instance_channel(prefix, instance_id),
        json.dumps({"id": instance_id, **fields}, separators=(",", ":")),
    )
