"""What the ``procserv`` command says when it cannot do what it is asked: one
line that names the problem, never a traceback, and never another run's data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PROCSERV = str(Path(sys.executable).parent / "procserv")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROCSERV, *args],
        env={
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "PYTHONPATH": str(ROOT),
            "COLUMNS": "500",  # Typer's boxed errors then keep each on one line
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_var_dir_without_a_make_run_database_is_named_not_another_runs_used(
    tmp_path: Path,
) -> None:
    done = _run("resend-notifications", VAR_DIR=str(tmp_path / "nothing"))

    assert done.returncode == 2
    assert f"no database of `make run` in {tmp_path / 'nothing' / 'postgres'}" in (
        done.stderr
    )
    assert "Traceback" not in done.stderr


def test_a_job_id_beyond_bigint_is_a_usage_error(tmp_path: Path) -> None:
    done = _run("resend-notifications", str(2**63), VAR_DIR=str(tmp_path))

    assert done.returncode == 2
    assert "less than or equal to 9223372036854775807" in done.stderr
    assert "Traceback" not in done.stderr


def test_settings_that_cannot_be_are_one_line_each(tmp_path: Path) -> None:
    done = _run(
        "resend-notifications",
        VAR_DIR=str(tmp_path),
        MAIL_FROM="procserv <jobs",
        NOTIFY_RETRY_MAX_SECONDS="inf",
    )

    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("procserv: MAIL_FROM: ")
    assert lines[1].startswith("procserv: NOTIFY_RETRY_MAX_SECONDS: ")


def test_a_catcher_on_a_taken_port_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = _run(
            "mail-catcher", "--port", str(port), "--folder", str(tmp_path / "mail")
        )

    assert done.returncode == 1
    assert "address already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_catcher_folder_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "mail").write_text("not a folder")

    done = _run("mail-catcher", "--port", "0", "--folder", str(tmp_path / "mail"))

    assert done.returncode == 2
    assert "is a file, not a folder" in done.stderr
