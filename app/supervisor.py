"""``make run``: the whole service on one machine.

Starts embedded PostgreSQL and Valkey when no URLs are given (data under
``./var/``), migrates and seeds, then runs the ``Procfile``'s processes with
honcho until Ctrl-C (SIGINT) or SIGTERM, and stops the servers last.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from honcho.environ import parse_procfile
from honcho.manager import Manager

from app.embedded import EmbeddedPostgres, EmbeddedValkey
from app.logs import configure_logging
from app.migrate import migrate
from app.seed import DEMO_USERS
from app.settings import Settings

PROCFILE = Path(__file__).parent.parent / "Procfile"
DEFAULT_PORT = 8000
EMBEDDED_PG_PORT = 55432


def run_dev(settings: Settings) -> int:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    lock = _lock(settings.var_dir)
    if lock is None:
        print(
            f"Another 'make run' is using {settings.var_dir}/; stop it first.",
            file=sys.stderr,
        )
        return 1
    configure_logging(settings)
    with lock, ExitStack() as servers:
        env = dict(os.environ)
        if not settings.database_url:
            postgres = EmbeddedPostgres(settings.var_dir / "postgres")
            postgres.start(preferred_port=EMBEDDED_PG_PORT)
            servers.callback(postgres.stop)
            env["DATABASE_URL"] = postgres.url()
        if not settings.redis_url:
            valkey = EmbeddedValkey(settings.var_dir / "valkey", persist=True)
            valkey.start()
            servers.callback(valkey.stop)
            env["REDIS_URL"] = valkey.url()
        settings = settings.model_copy(
            update={"database_url": env["DATABASE_URL"], "redis_url": env["REDIS_URL"]}
        )
        migrate(settings)
        settings.signing_secret()
        return _run_processes(settings, env)


def _lock(var_dir: Path) -> IO[str] | None:
    handle = (var_dir / "run.lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _run_processes(settings: Settings, env: dict[str, str]) -> int:
    port = int(env.get("PORT", DEFAULT_PORT))
    env["PORT"] = str(port)
    env.setdefault("PYTHONUNBUFFERED", "1")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    manager = Manager()
    for name, command in parse_procfile(PROCFILE.read_text()).processes.items():
        manager.add_process(name, command, env=env)
    url = f"http://127.0.0.1:{port}"
    threading.Thread(
        target=_announce_when_up, args=(url, settings), daemon=True
    ).start()
    manager.loop()
    # Stopped by Ctrl-C or SIGTERM (honcho's 130 and 143) is a clean stop.
    return 0 if manager.returncode in (None, 130, 143) else manager.returncode


def _announce_when_up(url: str, settings: Settings) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/api/v1/openapi.json", timeout=2):  # noqa: S310
                break
        except OSError:
            time.sleep(0.3)
    else:
        return
    print(_banner(url, settings), flush=True)


def _banner(url: str, settings: Settings) -> str:
    lines = [
        "",
        f"procserv is up at {url}  (OpenAPI: {url}/api/v1/openapi.json)",
        f"  database: {settings.database_url}",
        f"  broker:   {settings.redis_url}",
    ]
    if settings.should_seed_demo:
        logins = ", ".join(
            f"{name} / {settings.demo_passwords.get(name, name)}"
            for _, name, _, _ in DEMO_USERS
        )
        lines += [
            f"  demo logins (tenant GardenWorld): {logins}",
            "Submit a background job:",
            f"  TOKEN=$(curl -s -X POST {url}/api/v1/auth/tokens "
            "-H 'Content-Type: application/json' "
            '-d \'{"userName":"GardenAdmin","password":"GardenAdmin"}\' '
            "| python3 -c 'import sys,json; print(json.load(sys.stdin)[\"token\"])')",
            f"  curl -s -X POST {url}/api/v1/processes/jobs/translationimpexp "
            "-H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
            '-d \'{"ImportOrExport":"export","AD_Language":"es_CO"}\'',
            f"  curl -s {url}/api/v1/processes/jobs/<id> "
            '-H "Authorization: Bearer $TOKEN"',
        ]
    lines += ["Stop everything with Ctrl-C.", ""]
    return "\n".join(lines)
