"""The hub that fans users' events out to their open streams: an event goes to
its user's subscriptions only, malformed ones go nowhere, and a subscription that
falls behind says so instead of silently losing events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from app.user_events import QUEUE_SIZE, Subscription, UserEvent, UserEventHub

PREFIX = "procserv-unit"


def _hub() -> UserEventHub:
    return UserEventHub(client=None, prefix=PREFIX)  # type: ignore[arg-type]


def _message(event: str = "job", **data: Any) -> bytes:
    return json.dumps({"event": event, "data": data}).encode()


def _drain(subscription: Subscription) -> list[UserEvent]:
    found = []
    while not subscription.queue.empty():
        found.append(subscription.queue.get_nowait())
    return found


def test_an_event_goes_to_every_stream_of_its_user_and_no_other() -> None:
    hub = _hub()
    with (
        hub.subscribe(7) as first,
        hub.subscribe(7) as second,
        hub.subscribe(70) as other,
    ):
        hub._dispatch(f"{PREFIX}:user:7".encode(), _message(id=1, status="running"))

        assert _drain(first) == [UserEvent("job", {"id": 1, "status": "running"})]
        assert _drain(second) == [UserEvent("job", {"id": 1, "status": "running"})]
        assert _drain(other) == []


@pytest.mark.parametrize(
    "channel",
    [
        f"{PREFIX}:user:",
        f"{PREFIX}:user:7:more",
        f"{PREFIX}:user:x7",
        f"{PREFIX}:user:\u0667",  # a digit, but not an ASCII one
        f"{PREFIX}-other:user:7",
        f"{PREFIX}:instance:7",
    ],
)
def test_a_channel_that_names_no_user_is_ignored(channel: str) -> None:
    hub = _hub()
    with hub.subscribe(7) as subscription:
        hub._dispatch(channel.encode(), _message(id=1))

        assert _drain(subscription) == []


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1, 2]",
        b'{"event": "job"}',
        b'{"event": 1, "data": {}}',
        b'{"event": "job", "data": [1]}',
    ],
)
def test_a_malformed_event_is_dropped(data: bytes) -> None:
    hub = _hub()
    with hub.subscribe(7) as subscription:
        hub._dispatch(f"{PREFIX}:user:7", data)

        assert _drain(subscription) == []


def test_a_subscription_that_falls_behind_is_marked_so() -> None:
    subscription = Subscription(7)
    for index in range(QUEUE_SIZE):
        subscription.offer(UserEvent("job", {"id": index}))
    assert not subscription.overflowed

    subscription.offer(UserEvent("job", {"id": QUEUE_SIZE}))

    assert subscription.overflowed
    assert len(_drain(subscription)) == QUEUE_SIZE


def test_a_closed_subscription_is_forgotten() -> None:
    hub = _hub()
    with hub.subscribe(7):
        assert 7 in hub.subscribers

    assert hub.subscribers == {}


def test_waiting_for_the_next_event_ends_at_the_timeout() -> None:
    subscription = Subscription(7)

    assert asyncio.run(subscription.next(0.01)) is None
