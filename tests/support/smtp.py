"""What the notification tests share: a real SMTP server (aiosmtpd on a thread)
that keeps every message it accepts, parsed; a real worker that delivers to it;
and reading what was delivered."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from app.db import Row
from app.settings import Settings
from tests.conftest import ROOT, service_env
from workers.celery_app import create_celery

HOST = "127.0.0.1"
# The server refuses recipients whose address starts so.
REFUSED = "refused-"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class Inbox:
    """The aiosmtpd handler: each accepted message, in the order they came;
    with ``reply_after``, the server keeps each message that long before it
    answers its end, as one checking a large mail does."""

    def __init__(self, reply_after: float = 0.0) -> None:
        self._arrived = threading.Condition()
        self.messages: list[EmailMessage] = []
        self.reply_after = reply_after

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        # A permanent refusal, for the tests of mail that cannot be delivered.
        if address.startswith(REFUSED):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = BytesParser(policy=policy.default).parsebytes(
            envelope.original_content or envelope.content
        )
        assert isinstance(parsed, EmailMessage)
        with self._arrived:
            self.messages.append(parsed)
            self._arrived.notify_all()
        await asyncio.sleep(self.reply_after)
        return "250 OK"

    def about(self, instance_id: int) -> list[EmailMessage]:
        """The messages whose subject names the job."""
        with self._arrived:
            return [m for m in self.messages if f"(job {instance_id})" in m["Subject"]]

    def wait_for(self, instance_id: int, timeout: float = 30) -> EmailMessage:
        """The first message about the job, once it came."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not self.about(instance_id):
                left = deadline - time.monotonic()
                assert left > 0, f"no mail about job {instance_id}"
                self._arrived.wait(left)
            return self.about(instance_id)[0]


class SmtpServer:
    """An SMTP server on a fixed port, which a test can stop and start again
    (the workers' settings name the port once)."""

    def __init__(
        self, port: int | None = None, *, reply_after: float = 0.0, login: bool = False
    ) -> None:
        self.port = port or free_port()
        self.inbox = Inbox(reply_after)
        self.login = login  # offers AUTH (without TLS) and takes any login
        self._controller: Controller | None = None

    def start(self) -> None:
        more: dict[str, Any] = {}
        if self.login:
            more = {"auth_require_tls": False, "authenticator": _anyone}
        self._controller = Controller(
            self.inbox,
            hostname=HOST,
            port=self.port,
            server_hostname="test-smtp",
            **more,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def _anyone(*_: Any) -> AuthResult:
    return AuthResult(success=True)


# --- workers that deliver to it ---------------------------------------------


def mail_settings(settings: Settings, server: SmtpServer, **more: Any) -> Settings:
    """The session's settings with queues of their own (so that the session's
    workers, which have no SMTP server, never take these deliveries), this SMTP
    server, and retries quick enough for a test."""
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "queue_prefix": f"{settings.queue_prefix}mail-{tag}.",
        "smtp_host": HOST,
        "smtp_port": server.port,
        "public_url": "https://procserv.test",
        "notify_max_retries": 60,
        "notify_retry_base_seconds": 0.2,
        "notify_retry_max_seconds": 1.0,
        **more,
    }
    return settings.model_copy(update=values)


@contextmanager
def delivery_worker(
    settings: Settings,
    queues: tuple[str, ...] = ("default", "notify", "mail"),
    *,
    pool: str = "prefork",
    concurrency: int = 2,
) -> Iterator[str]:
    """A real worker of these queues (jobs, notices and mail by default), with
    these settings."""
    tag = settings.queue_prefix.rstrip(".").rsplit("-", 1)[-1]
    name = f"mail-{queues[0]}-{tag}"
    env = {
        **service_env(settings),
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": str(settings.smtp_port),
        "SMTP_TIMEOUT_SECONDS": str(settings.smtp_timeout_seconds),
        "SMTP_SEND_TIMEOUT_SECONDS": str(settings.smtp_send_timeout_seconds),
        "PUBLIC_URL": settings.public_url,
        "MAIL_ATTACH_LIMIT": str(settings.mail_attach_limit),
        "NOTIFY_MAX_RETRIES": str(settings.notify_max_retries),
        "NOTIFY_RETRY_BASE_SECONDS": str(settings.notify_retry_base_seconds),
        "NOTIFY_RETRY_MAX_SECONDS": str(settings.notify_retry_max_seconds),
    }
    procserv = str(Path(sys.executable).parent / "procserv")
    command = [procserv, "worker", *queues, "--pool", pool, "--name", name]
    child = subprocess.Popen(
        [*command, "--concurrency", str(concurrency)], env=env, cwd=ROOT
    )
    try:
        _wait_for_worker(settings, name)
        yield name
    finally:
        child.terminate()
        child.wait(timeout=30)


def _wait_for_worker(settings: Settings, name: str) -> None:
    celery = create_celery(settings)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = celery.control.ping(timeout=0.5)
        if any(host.split("@")[0] == name for reply in replies for host in reply):
            celery.close()
            return
    celery.close()
    raise RuntimeError(f"worker {name} did not start within 60 s")


# --- what was delivered -----------------------------------------------------


def notifications(db: psycopg.Connection[Row], instance_id: int) -> list[Row]:
    return db.execute(
        "SELECT * FROM ad_notification WHERE ad_pinstance_id = %s ORDER BY channel",
        (instance_id,),
    ).fetchall()


def attempts(db: psycopg.Connection[Row], notification_id: int) -> list[Row]:
    return db.execute(
        "SELECT * FROM ad_notification_attempt WHERE ad_notification_id = %s"
        " ORDER BY seqno",
        (notification_id,),
    ).fetchall()


def wait_for_deliveries(
    db: psycopg.Connection[Row], instance_id: int, timeout: float = 30
) -> list[Row]:
    """The instance's notification rows, once none is pending or sending."""
    deadline = time.monotonic() + timeout
    while True:
        rows = notifications(db, instance_id)
        if all(row["status"] not in ("pending", "sending") for row in rows):
            return rows
        assert time.monotonic() < deadline, f"deliveries still going on: {rows}"
        time.sleep(0.1)
