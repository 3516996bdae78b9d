"""The delay of the live event stream (GET /api/v1/notices/events), against a bare
Redis publish -> subscribe in the same run.

Makes a scratch database (on DATABASE_URL's server, else an embedded PostgreSQL;
Redis from REDIS_URL, else an embedded Valkey; see bench/report_csv.py), migrates
and seeds it, starts ``procserv web`` and one ``procserv worker default notify
mail``, opens one event stream as GardenAdmin, then measures ``--runs`` times each:

- the baseline: PUBLISH on a channel -> a redis-py subscriber has the message;
- a ``job`` event published on the user's channel -> the SSE client has it
  (the stream passes it on after one ownership check, cached per job);
- a ``notice`` event published -> the SSE client has it (the stream reads the
  notice again from PostgreSQL for every event);
- a job's end -> its ``job`` and ``notice`` events at the client: a no-op
  background job (test-sleep, 0 s, notification-type N), from the
  ``finished`` time the worker stored to the client's clock on receipt (one
  machine, one clock). This includes queueing the delivery task, making the
  notice and reading it again.

Usage: .venv/bin/python bench/notices.py [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import redis
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["EXTRA_PROCESSES"] = "tests.support.processes:PROCESSES"

from report_csv import servers

from app.db import transaction
from app.embedded import free_port
from app.events import publish_user_event
from app.logs import configure_logging
from app.migrate import migrate
from app.settings import Settings
from tests.support.notices import make_notice

PREFIX = "procserv-bench"
NO_OP = {"Seconds": 0, "notification-type": "N"}
WAIT_SECONDS = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    with servers() as (database_url, redis_url), tempfile.TemporaryDirectory() as var:
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            event_prefix=PREFIX,
            var_dir=Path(var),
            jwt_secret=secrets.token_urlsafe(64),
            seed_demo=True,
            log_level="WARNING",
        )
        configure_logging(settings)
        migrate(settings)
        port = free_port()
        children = start(settings, port)
        try:
            asyncio.run(measure(settings, f"http://127.0.0.1:{port}", runs))
        finally:
            for child in children:
                child.send_signal(signal.SIGTERM)
            for child in children:
                child.wait(timeout=60)


def start(settings: Settings, port: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "EVENT_PREFIX": settings.event_prefix,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "VAR_DIR": str(settings.var_dir),
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    procserv = str(Path(sys.executable).parent / "procserv")
    commands = [
        [procserv, "web", "--port", str(port)],
        [procserv, "worker", "default", "notify", "mail", "--concurrency", "1"],
    ]
    children = [
        subprocess.Popen(c, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        for c in commands
    ]
    url = f"http://127.0.0.1:{port}/api/v1/openapi.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
        else:
            return children
    raise SystemExit("procserv web did not start")


class EventStream:
    """The events of one SSE response, each with the time it arrived."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = WAIT_SECONDS) -> tuple[float, str, Any]:
        """(arrival on the epoch clock, event name, data) of the next event."""
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> tuple[float, str, Any]:
        event, data = "", ""
        async for line in self.lines:
            if line.startswith("event:"):
                event = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data = line.removeprefix("data:").strip()
            elif not line and event:
                return time.time(), event, json.loads(data)
        raise EOFError("the event stream ended")


async def measure(settings: Settings, url: str, runs: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=WAIT_SECONDS) as client:
        user_id = await login(client)
        async with client.stream("GET", "/api/v1/notices/events") as response:
            events = EventStream(response)
            job_id, *_ = await job_end(settings, client, events)  # warms up
            print(f"event stream delays, {runs} runs each, one client on this machine")
            publisher = redis.Redis.from_url(settings.redis_url)
            with publisher:
                baseline = await redis_round_trips(settings, publisher, runs)
                report("Redis PUBLISH -> subscriber (baseline)", baseline, baseline)

                def job() -> None:
                    data = {"id": job_id, "status": "succeeded", "process": "x"}
                    publish_user_event(publisher, PREFIX, user_id, "job", data)

                # A stream sends each notice once, so each run has a new one.
                fresh = iter(new_notices(settings, user_id, runs + 1))

                def notice() -> None:
                    data = {"id": next(fresh)}
                    publish_user_event(publisher, PREFIX, user_id, "notice", data)

                samples = await published(events, job, runs)
                report("publish job event -> SSE client", samples, baseline)
                samples = await published(events, notice, runs)
                report("publish notice event -> SSE client", samples, baseline)
            ends = [await job_end(settings, client, events) for _ in range(runs)]
    _report_job_ends([(job, notice) for *_, job, notice in ends], baseline)


def _report_job_ends(
    ends: list[tuple[float | None, float]], baseline: list[float]
) -> None:
    seen = [job for job, _ in ends if job is not None]
    if seen:
        report("job end -> job event at the client", seen, baseline)
    else:
        print("job end -> job event: none arrived (the runner publishes none)")
    report("job end -> notice event at the client", [n for _, n in ends], baseline)


async def login(client: httpx.AsyncClient) -> int:
    """Log in as GardenAdmin for the client's requests; the user's id."""
    answer = await client.post(
        "/api/v1/auth/tokens",
        json={"userName": "GardenAdmin", "password": "GardenAdmin"},
    )
    answer.raise_for_status()
    client.headers["Authorization"] = "Bearer " + answer.json()["token"]
    return int(answer.json()["userId"])


async def redis_round_trips(
    settings: Settings, publisher: redis.Redis, runs: int
) -> list[float]:
    channel = f"{PREFIX}:baseline"
    subscriber = aioredis.Redis.from_url(settings.redis_url)
    async with subscriber, subscriber.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        await _message(pubsub)  # the confirmation of the subscription
        samples = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            publisher.publish(channel, b"x")
            await _message(pubsub)
            samples.append((time.perf_counter() - started) * 1000)
    return samples[1:]  # the first warms up


async def _message(pubsub: aioredis.client.PubSub) -> None:
    if await pubsub.get_message(timeout=WAIT_SECONDS) is None:
        raise TimeoutError("no message from Redis")


async def published(
    events: EventStream, publish: Callable[[], None], runs: int
) -> list[float]:
    samples = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        publish()
        await events.next()
        samples.append((time.perf_counter() - started) * 1000)
    return samples[1:]


async def job_end(
    settings: Settings, client: httpx.AsyncClient, events: EventStream
) -> tuple[int, int, float | None, float]:
    """One no-op job: its id, its notice's id, and in ms from its end to its
    final ``job`` event (None when none came) and to its ``notice`` event."""
    answer = await client.post("/api/v1/processes/jobs/test-sleep", json=NO_OP)
    answer.raise_for_status()
    job_id = answer.json()["id"]
    job_at = None
    while True:
        arrived, event, data = await events.next()
        if event == "job" and data["id"] == job_id and data["status"] == "succeeded":
            job_at = arrived
        if event == "notice" and data["AD_PInstance_ID"] == job_id:
            break
    finished = _finished(settings, job_id)
    job_delay = None if job_at is None else (job_at - finished) * 1000
    return job_id, data["id"], job_delay, (arrived - finished) * 1000


def new_notices(settings: Settings, user_id: int, count: int) -> list[int]:
    with transaction(settings.database_url) as conn:
        return [make_notice(conn, user_id) for _ in range(count)]


def _finished(settings: Settings, job_id: int) -> float:
    with transaction(settings.database_url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM finished) AS at FROM ad_pinstance"
            " WHERE ad_pinstance_id = %s",
            (job_id,),
        ).fetchone()
    assert row is not None
    return float(row["at"])


def report(name: str, samples: list[float], baseline: list[float]) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[max(int(len(ordered) * 0.95) - 1, 0)]
    ratio = p50 / statistics.median(baseline)
    print(f"{name:<42} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms  {ratio:7.1f}x baseline")


if __name__ == "__main__":
    main()
