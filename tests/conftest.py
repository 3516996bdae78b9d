"""Real servers for the tests: the URLs in DATABASE_URL / REDIS_URL when given,
else embedded PostgreSQL and Valkey started once for the session.

A test session never touches what it did not create: it makes its own database
(dropped at the end), and its queues, Celery keys and event channels carry a
prefix of their own (only those keys are deleted at the end), so a ``make run``
on the same servers is left alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis

from app.db import with_database
from app.embedded import EmbeddedPostgres, EmbeddedValkey
from app.settings import Settings

ROOT = Path(__file__).parent.parent

# Test-only processes, for this process (and its registry) and every child started.
os.environ["EXTRA_PROCESSES"] = "tests.support.processes:PROCESSES"


@dataclass(frozen=True)
class Servers:
    postgres_url: str  # any database of the server; tests make their own
    redis_url: str


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if f"{os.sep}integration{os.sep}" in path:
            item.add_marker(pytest.mark.integration)
        if f"{os.sep}e2e{os.sep}" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    with ExitStack() as stack:
        postgres_url = os.environ.get("DATABASE_URL", "")
        if not postgres_url:
            postgres = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
            postgres.start()
            stack.callback(postgres.stop)
            postgres_url = postgres.admin_url
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            valkey = EmbeddedValkey(tmp_path_factory.mktemp("valkey"), persist=False)
            valkey.start()
            stack.callback(valkey.stop)
            redis_url = valkey.url()
        yield Servers(postgres_url, redis_url)


@pytest.fixture(scope="session")
def settings(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    from app.migrate import migrate  # noqa: PLC0415

    tag = uuid.uuid4().hex[:10]
    name = f"procserv_test_{tag}"
    admin_url = with_database(servers.postgres_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    test_settings = Settings(
        database_url=with_database(servers.postgres_url, name),
        redis_url=servers.redis_url,
        queue_prefix=f"test-{tag}.",
        event_prefix=f"procserv-test-{tag}",
        var_dir=tmp_path_factory.mktemp("var"),
        jwt_secret="test-secret-" + tag * 6,
        seed_demo=True,
        sync_wait_seconds=30,
    )
    migrate(test_settings)
    try:
        yield test_settings
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _delete_keys(test_settings)


def _delete_keys(settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url)
    with client:
        for prefix in (settings.queue_prefix, settings.event_prefix):
            keys = list(client.scan_iter(match=prefix + "*", count=500))
            if keys:
                client.delete(*keys)


def service_env(settings: Settings) -> dict[str, str]:
    """The environment a web or worker process of this test session runs with."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "QUEUE_PREFIX": settings.queue_prefix,
        "EVENT_PREFIX": settings.event_prefix,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
        "VAR_DIR": str(settings.var_dir),
        "SEED_DEMO": "true",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="session")
def workers(settings: Settings) -> Iterator[list[str]]:
    """Real Celery workers, as ``make run`` starts them, except that the
    default queue's also takes notify and mail (two processes fewer)."""
    tag = settings.queue_prefix.strip(".")
    names = [f"interactive-{tag}", f"default-{tag}"]
    procserv = str(Path(sys.executable).parent / "procserv")
    children = [
        subprocess.Popen(
            [procserv, "worker", *queues, "--concurrency", "2", "--name", name],
            env=service_env(settings),
            cwd=ROOT,
        )
        for queues, name in zip(
            (["interactive"], ["default", "notify", "mail"]), names, strict=True
        )
    ]
    try:
        _wait_for_workers(settings, names)
        yield names
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=30)


def _wait_for_workers(settings: Settings, names: list[str]) -> None:
    from workers.celery_app import create_celery  # noqa: PLC0415

    app = create_celery(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5)
        answered = {host.split("@")[0] for reply in replies for host in reply}
        if set(names) <= answered:
            return
    raise RuntimeError(f"workers {names} did not start within 60 s")
