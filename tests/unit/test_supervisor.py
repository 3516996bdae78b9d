"""What ``make run`` checks and cleans up before it starts anything."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.embedded import free_port
from app.settings import Settings
from app.supervisor import (
    EMBEDDED_PG_PORT,
    RUN_MARKER,
    CannotStart,
    banner,
    check_port_free,
    lock_var_dir,
    remember_port,
    remembered_port,
    served_by_run,
    stop_leftovers,
    try_it,
    use_runtime_dir,
)
from tests.conftest import ROOT

needs_proc = pytest.mark.skipif(
    not Path("/proc/self/environ").exists(), reason="reads other processes in /proc"
)


@contextmanager
def _python(
    code: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A Python child, and the line it prints once it is ready; killed at the end."""
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        try:
            yield child, child.stdout.readline().strip()
        finally:
            child.kill()


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_a_port_another_program_listens_on_is_refused_in_one_clear_line(
    listener: int,
) -> None:
    with pytest.raises(CannotStart) as refused:
        check_port_free("127.0.0.1", listener)

    message = str(refused.value)
    assert f"Port {listener} on 127.0.0.1 is already taken" in message
    assert "PORT=8123 make run" in message
    assert "\n" not in message


def test_a_port_whose_last_connections_linger_counts_as_free() -> None:
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server closes first: its side lingers in TIME_WAIT
        client.close()

    check_port_free("127.0.0.1", port)
    assert free_port(port) == port


def test_an_embedded_server_gets_its_remembered_port_back(tmp_path: Path) -> None:
    assert remembered_port(tmp_path, "postgres") == EMBEDDED_PG_PORT

    remember_port(tmp_path, "postgres", 55999)

    assert remembered_port(tmp_path, "postgres") == 55999
    (tmp_path / "postgres.port").write_text("not a port")
    assert remembered_port(tmp_path, "postgres") == EMBEDDED_PG_PORT


def test_a_missing_runtime_dir_becomes_a_private_folder_under_var(
    tmp_path: Path,
) -> None:
    environ: dict[str, str] = {}

    use_runtime_dir(tmp_path, environ)

    folder = Path(environ["XDG_RUNTIME_DIR"])
    assert folder.is_absolute()
    assert folder.parent == tmp_path.resolve()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_runtime_dir_already_set_is_kept(tmp_path: Path) -> None:
    environ = {"XDG_RUNTIME_DIR": "/run/user/1000"}

    use_runtime_dir(tmp_path, environ)

    assert environ == {"XDG_RUNTIME_DIR": "/run/user/1000"}


def test_a_live_run_keeps_the_folder_and_the_refusal_says_what_to_do(
    tmp_path: Path,
) -> None:
    holding = f"""
        import pathlib, time
        from app.supervisor import lock_var_dir
        lock = lock_var_dir(pathlib.Path({str(tmp_path)!r}))
        print("locked", flush=True)
        time.sleep(60)
        """
    with _python(holding) as (holder, _), pytest.raises(CannotStart) as refused:
        lock_var_dir(tmp_path)

    message = str(refused.value)
    assert f"(pid {holder.pid})" in message
    assert f"kill {holder.pid}" in message
    assert "VAR_DIR=" in message


def test_the_lock_goes_with_a_killed_run_though_a_fork_of_it_lives(
    tmp_path: Path,
) -> None:
    """honcho's relays are forks of the supervisor: they must not keep its lock."""
    forking = f"""
        import os, pathlib, time
        from app.supervisor import lock_var_dir
        lock = lock_var_dir(pathlib.Path({str(tmp_path)!r}))
        relay = os.fork()
        if relay == 0:
            time.sleep(60)
            os._exit(0)
        print(relay, flush=True)
        time.sleep(60)
        """
    with _python(forking) as (holder, relay):
        holder.kill()
        holder.wait()
        try:
            lock_var_dir(tmp_path).close()
        finally:
            os.kill(int(relay), signal.SIGKILL)


@needs_proc
def test_processes_a_killed_run_left_are_stopped_and_others_are_not(
    tmp_path: Path,
) -> None:
    ours = tmp_path / "var"
    other = tmp_path / "other-var"
    sleep = "import time; print('up', flush=True); time.sleep(60)"
    with (
        _python(sleep, {RUN_MARKER: str(ours.resolve())}) as (leftover, _),
        _python(sleep, {RUN_MARKER: str(other.resolve())}) as (neighbour, _),
    ):
        stopped = stop_leftovers(ours)

        assert stopped == [leftover.pid]
        assert leftover.wait(timeout=5) == -signal.SIGTERM
        assert neighbour.poll() is None


@needs_proc
def test_the_banner_waits_for_our_own_listener_not_another_programs(
    tmp_path: Path, listener: int
) -> None:
    marker = str(tmp_path.resolve())
    serving = """
        import socket, time
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        print(server.getsockname()[1], flush=True)
        time.sleep(60)
        """
    with _python(serving, {RUN_MARKER: marker}) as (_, port):
        assert served_by_run(int(port), marker)
        assert not served_by_run(listener, marker)


def test_the_readme_shows_the_commands_the_banner_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    url = "http://127.0.0.1:8000"

    shown = banner(url, Settings(database_url="db", redis_url="broker", seed_demo=True))

    assert try_it(url, "GardenAdmin") in readme
    assert try_it(url, "GardenAdmin") in shown
