"""``GET /api/v1/notices/events``: Server-Sent Events over a real HTTP server. An
event published for a user reaches that user's streams, never anyone else's;
the token may come in the query; a stream ends on logout, on disconnect and when
the server stops, leaving nothing behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app.db import Row
from app.embedded import free_port
from app.events import publish_user_event
from app.main import create_app
from app.routes import notices as notice_routes
from app.settings import Settings
from tests.conftest import ROOT, service_env
from tests.integration.helpers import (
    Account,
    account,
    create_role,
    drop_role,
    unique,
)
from tests.support.notices import make_job, make_notice

EVENTS = "/api/v1/notices/events"
TIMEOUT = 10.0


class Served:
    def __init__(self, app: Starlette, url: str) -> None:
        self.app = app
        self.url = url


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[Served]:
    """The app on a real port: streaming needs a real server."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            # In a thread uvicorn takes no signals, so the SSE library cannot see
            # the server stop; a stream a test left open must not hold it.
            timeout_graceful_shutdown=5,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the app did not start within 30 s"
        time.sleep(0.05)
    try:
        yield Served(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class Publisher:
    """Publishes on users' channels as the workers do."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def job(self, user_id: int, job_id: int) -> None:
        data = {"id": job_id, "status": "succeeded", "process": "translationimpexp"}
        publish_user_event(self.client, self.prefix, user_id, "job", data)

    def notice(self, user_id: int, note_id: int) -> None:
        # The worker's event carries the whole notice; the stream reads it again,
        # so the id is all this needs.
        publish_user_event(self.client, self.prefix, user_id, "notice", {"id": note_id})


@pytest.fixture
def publish(settings: Settings) -> Iterator[Publisher]:
    client = redis.Redis.from_url(settings.redis_url)
    with client:
        yield Publisher(client, settings.event_prefix)


def _token(who: Account) -> str:
    return who.headers["Authorization"].removeprefix("Bearer ")


class Stream:
    """An SSE client: each ``next_block`` is one block of field lines."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def next_block(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return await asyncio.wait_for(self._block(), timeout)

    async def _block(self) -> dict[str, Any]:
        block: dict[str, Any] = {"comments": []}
        async for line in self.lines:
            if not line:
                if block != {"comments": []}:
                    return block
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field:
                block[field] = value
            else:
                block["comments"].append(value)
        raise EOFError("the stream ended")

    async def next_event(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next block that is an event, comments skipped."""
        while True:
            block = await self.next_block(timeout)
            if "event" in block:
                return block

    async def ended(self, timeout: float = TIMEOUT) -> bool:
        try:
            while True:
                await self.next_block(timeout)
        except EOFError:
            return True


@asynccontextmanager
async def stream(
    url: str,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> AsyncIterator[Stream]:
    """An open event stream, once the server says it is live."""
    async with (
        httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client,
        client.stream("GET", EVENTS, headers=headers, params=params) as response,
    ):
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        opened = Stream(response)
        first = await opened.next_block()
        assert first["comments"] == ["connected"]
        assert first["retry"].isdigit()
        yield opened


def test_an_event_reaches_its_users_stream_and_no_one_elses(
    served: Served,
    db: psycopg.Connection[Row],
    publish: Publisher,
    alice: Account,
    bob: Account,
) -> None:
    note_id = make_notice(
        db, alice.user_id, make_job(db, alice.user_id, outputs=[("report", "a.pdf")])
    )
    job_id = make_job(db, alice.user_id)
    bobs_job = make_job(db, bob.user_id)
    shown = httpx.get(f"{served.url}/api/v1/notices/{note_id}", headers=alice.headers)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with (
            stream(served.url, alice.headers) as alices,
            stream(served.url, bob.headers) as bobs,
        ):
            publish.notice(alice.user_id, note_id)
            publish.job(alice.user_id, job_id)
            # Bob's first event is his own: nothing of Alice's came before it.
            publish.job(bob.user_id, bobs_job)
            return (
                await alices.next_event(),
                await alices.next_event(),
                await bobs.next_event(),
            )

    notice, job, bobs_first = asyncio.run(scenario())

    assert notice["event"] == "notice"
    assert notice["id"] == str(note_id)
    assert _json(notice["data"]) == shown.json()
    assert job["event"] == "job"
    assert _json(job["data"]) == {
        "id": job_id,
        "status": "succeeded",
        "process": "translationimpexp",
    }
    assert _json(bobs_first["data"])["id"] == bobs_job


@pytest.mark.usefixtures("workers")
def test_a_job_that_asks_for_a_notice_tells_its_user_when_it_ends(
    served: Served, client: TestClient, db: psycopg.Connection[Row]
) -> None:
    role_id = create_role(db, unique("Notified"), access={"test-sleep": True})
    try:
        with account(client, db, "Carol", [role_id]) as carol:
            job_id, events = asyncio.run(_run_job_and_follow(served.url, carol))
            shown = httpx.get(
                f"{served.url}/api/v1/notices/{events[-1]['id']}",
                headers=carol.headers,
            )
    finally:
        drop_role(db, role_id)

    notice = _json(events[-1]["data"])
    assert notice["AD_PInstance_ID"] == job_id
    assert notice == shown.json()
    statuses = [_json(e["data"])["status"] for e in events if e["event"] == "job"]
    assert statuses[-1:] == ["succeeded"]


async def _run_job_and_follow(
    url: str, who: Account
) -> tuple[int, list[dict[str, Any]]]:
    """Submit a no-op job with notification-type N; its events up to its notice."""
    async with stream(url, who.headers) as events:
        async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as api:
            body = {"Seconds": 0, "notification-type": "N"}
            answer = await api.post(
                "/api/v1/processes/jobs/test-sleep", json=body, headers=who.headers
            )
        assert answer.status_code == 200, answer.text
        job_id = answer.json()["id"]
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["event"] != "notice":
            seen.append(await events.next_event(timeout=30))
    return job_id, seen


def test_an_event_about_someone_elses_notice_or_job_is_not_passed_on(
    served: Served,
    db: psycopg.Connection[Row],
    publish: Publisher,
    alice: Account,
    bob: Account,
) -> None:
    """Even on Alice's own channel, Bob's notice and job are not shown to her."""
    bobs_notice = make_notice(db, bob.user_id)
    bobs_job = make_job(db, bob.user_id)
    alices_job = make_job(db, alice.user_id)

    async def scenario() -> dict[str, Any]:
        async with stream(served.url, alice.headers) as alices:
            publish.notice(alice.user_id, bobs_notice)
            publish.job(alice.user_id, bobs_job)
            publish.job(alice.user_id, alices_job)
            return await alices.next_event()

    first = asyncio.run(scenario())

    assert _json(first["data"])["id"] == alices_job


def test_the_token_may_come_as_the_access_token_parameter(
    served: Served,
    db: psycopg.Connection[Row],
    publish: Publisher,
    alice: Account,
) -> None:
    job_id = make_job(db, alice.user_id)

    async def scenario() -> dict[str, Any]:
        params = {"access_token": _token(alice)}
        async with stream(served.url, params=params) as alices:
            publish.job(alice.user_id, job_id)
            return await alices.next_event()

    assert _json(asyncio.run(scenario())["data"])["id"] == job_id


@pytest.mark.parametrize(
    ("headers", "params", "naming"),
    [
        ({}, {}, "Missing bearer token"),
        ({"Authorization": "Bearer nonsense"}, {}, "Invalid token"),
        ({}, {"access_token": "nonsense"}, "Invalid token"),
    ],
)
def test_a_stream_without_a_valid_token_is_a_json_401(
    served: Served, headers: dict[str, str], params: dict[str, str], naming: str
) -> None:
    answer = httpx.get(served.url + EVENTS, headers=headers, params=params)

    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["title"] == "Unauthorized"
    assert naming in answer.json()["detail"]


def test_a_logged_out_token_opens_no_stream_and_ends_an_open_one(
    served: Served,
    client: TestClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(notice_routes, "RECHECK_SECONDS", 0.2)

    async def scenario() -> bool:
        async with stream(served.url, alice.headers) as alices:
            client.post("/api/v1/auth/logout", json={"token": _token(alice)})
            return await alices.ended()

    assert asyncio.run(scenario())
    answer = httpx.get(served.url + EVENTS, headers=alice.headers)
    assert answer.status_code == 401
    assert "Session ended" in answer.json()["detail"]


@pytest.mark.parametrize("kind", ["notice", "job"])
def test_a_logged_out_stream_sends_no_further_event_and_ends(
    served: Served,
    db: psycopg.Connection[Row],
    publish: Publisher,
    alice: Account,
    kind: str,
) -> None:
    """The event published right after the logout, long before the periodic
    check (RECHECK_SECONDS), is not sent: the stream ends instead."""
    job_id = make_job(db, alice.user_id)
    subject = {"notice": make_notice(db, alice.user_id, job_id), "job": job_id}[kind]

    async def scenario() -> dict[str, Any] | None:
        async with stream(served.url, alice.headers) as alices:
            logout = httpx.post(
                served.url + "/api/v1/auth/logout", json={"token": _token(alice)}
            )
            assert logout.status_code == 200, logout.text
            getattr(publish, kind)(alice.user_id, subject)
            try:
                return await alices.next_event()
            except EOFError:
                return None

    assert asyncio.run(scenario()) is None


def test_an_idle_stream_gets_keep_alive_comments(
    served: Served, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notice_routes, "KEEP_ALIVE_SECONDS", 0.2)

    async def scenario() -> dict[str, Any]:
        async with stream(served.url, alice.headers) as alices:
            return await alices.next_block(timeout=5)

    block = asyncio.run(scenario())

    assert block["comments"][0].startswith("ping")


def test_a_reconnecting_client_first_gets_the_notices_it_missed(
    served: Served,
    db: psycopg.Connection[Row],
    publish: Publisher,
    alice: Account,
) -> None:
    seen = make_notice(db, alice.user_id)
    missed = [make_notice(db, alice.user_id) for _ in range(2)]

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        headers = {**alice.headers, "Last-Event-ID": str(seen)}
        async with stream(served.url, headers) as alices:
            # Published again while the stream replays: still sent only once.
            publish.notice(alice.user_id, missed[1])
            later = make_notice(db, alice.user_id)
            publish.notice(alice.user_id, later)
            return [await alices.next_event() for _ in range(3)], later

    events, later = asyncio.run(scenario())

    assert [e["event"] for e in events] == ["notice"] * 3
    assert [int(e["id"]) for e in events] == [*missed, later]


def test_a_closed_stream_leaves_no_subscription_behind(
    served: Served, alice: Account
) -> None:
    hub = served.app.state.user_events

    async def scenario() -> bool:
        async with stream(served.url, alice.headers):
            return alice.user_id in hub.subscribers

    assert asyncio.run(scenario())
    deadline = time.monotonic() + TIMEOUT
    while alice.user_id in hub.subscribers:
        assert time.monotonic() < deadline, "the subscription outlived its stream"
        time.sleep(0.05)


def test_stopping_the_server_ends_open_streams_at_once(
    settings: Settings, tmp_path: Path, alice: Account
) -> None:
    """``procserv web`` as the Procfile starts it: SIGTERM does not wait for
    streams, which would otherwise never end by themselves."""
    port = free_port()
    web = subprocess.Popen(
        [str(Path(sys.executable).parent / "procserv"), "web", "--port", str(port)],
        env={**service_env(settings), "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, web)

        async def scenario() -> tuple[bool, float]:
            async with stream(url, alice.headers) as alices:
                os.kill(web.pid, signal.SIGTERM)
                started = time.monotonic()
                ended = await alices.ended()
                return ended, time.monotonic() - started

        ended, seconds = asyncio.run(scenario())
        code = web.wait(timeout=TIMEOUT)
    finally:
        if web.poll() is None:
            web.kill()
            web.wait()

    assert ended
    assert seconds < 5
    # uvicorn ends by raising the signal again, once it has shut down cleanly.
    assert code in (0, -signal.SIGTERM)


def _wait_until_up(url: str, web: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert web.poll() is None, "procserv web exited"
        try:
            httpx.get(url + "/api/v1/openapi.json", timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
        else:
            return
    raise AssertionError("procserv web did not start within 60 s")


def _json(text: str) -> Any:
    return json.loads(text)
