"""The service as ``make run`` starts it: ``procserv dev`` with the session's
servers (given as URLs, so it starts neither server), driven over real HTTP."""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from app.embedded import free_port
from app.settings import Settings
from tests.conftest import ROOT, service_env

PROCSERV = str(Path(sys.executable).parent / "procserv")
EXPORT = {
    "ImportOrExport": "export",
    "AD_Language": "es_CO",
    "IsOnlyCentralizedData": True,
}


def dev_env(settings: Settings, var_dir: Path, port: int) -> dict[str, str]:
    """The session's database, with queues and channels of its own: the in-process
    tests' workers may still be running and must not take this service's work."""
    return {
        **service_env(settings),
        "PORT": str(port),
        "FLOWER_PORT": str(free_port()),  # not 5555, which a `make run` may hold
        "VAR_DIR": str(var_dir),
        "QUEUE_PREFIX": settings.queue_prefix + "e2e.",
        "EVENT_PREFIX": settings.event_prefix + "-e2e",
    }


@pytest.fixture(scope="module")
def service(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    child, url = _start_dev(settings, tmp_path_factory.mktemp("var-e2e"))
    try:
        yield url
    finally:
        _stop(child)


def _start_dev(
    settings: Settings, var_dir: Path, port: int = 0
) -> tuple[subprocess.Popen[bytes], str]:
    """``procserv dev`` as ``make run`` starts it, once it answers HTTP."""
    port = port or free_port()
    child = subprocess.Popen(
        [PROCSERV, "dev"],
        env=dev_env(settings, var_dir, port),
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, child)
    except BaseException:
        _stop(child)
        raise
    return child, url


def _wait_until_up(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"procserv dev exited with {child.returncode}")
        try:
            if httpx.get(url + "/api/v1/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise RuntimeError("procserv dev did not answer within 90 s")


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            raise


def _token(url: str) -> dict[str, str]:
    answer = httpx.post(
        url + "/api/v1/auth/tokens",
        json={"userName": "GardenAdmin", "password": "GardenAdmin"},
    )
    answer.raise_for_status()
    return {"Authorization": "Bearer " + answer.json()["token"]}


def test_a_newcomer_lists_runs_and_submits_the_export(service: str) -> None:
    headers = _token(service)

    listed = httpx.get(service + "/api/v1/processes", headers=headers).json()
    assert "translationimpexp" in [p["slug"] for p in listed["processes"]]

    now = httpx.post(
        service + "/api/v1/processes/translationimpexp",
        json=EXPORT,
        headers=headers,
        timeout=90,
    ).json()
    assert now["isError"] is False
    assert now["nodeId"].startswith("interactive@")
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(now["exportFile"])))
    assert "AD_Ref_List_Trl_es_CO.xml" in archive.namelist()

    job = httpx.post(
        service + "/api/v1/processes/jobs/translationimpexp",
        json=EXPORT,
        headers=headers,
    ).json()
    assert job["processing"] is True
    finished = _wait_for_job(service, job["id"], headers)
    assert finished["status"] == "succeeded"
    (output,) = finished["outputs"]
    stored = httpx.get(output["url"], headers=headers)
    assert stored.headers["content-type"] == "application/zip"
    assert len(stored.content) == output["size"]


def _wait_for_job(url: str, job_id: int, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, Any] = httpx.get(
            f"{url}/api/v1/processes/jobs/{job_id}", headers=headers
        ).json()
        if job["processing"] is False:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish within 60 s")


def test_sigterm_stops_every_child(settings: Settings, tmp_path: Path) -> None:
    child, _ = _start_dev(settings, tmp_path)
    children = psutil.Process(child.pid).children(recursive=True)
    assert len(children) >= 3

    child.send_signal(signal.SIGTERM)

    assert child.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []


def test_a_taken_port_stops_dev_at_once_with_a_clear_message(
    settings: Settings, tmp_path: Path
) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        started = time.monotonic()

        refused = subprocess.run(
            [PROCSERV, "dev"],
            env=dev_env(settings, tmp_path, port),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert refused.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already taken" in refused.stderr
    assert "PORT=8123 make run" in refused.stderr
    assert "procserv is up" not in refused.stdout
    assert time.monotonic() - started < 30


def test_a_killed_dev_takes_its_processes_along_and_the_next_one_starts(
    settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    child, _ = _start_dev(settings, tmp_path, port)
    children = psutil.Process(child.pid).children(recursive=True)

    child.kill()
    child.wait()

    _, alive = psutil.wait_procs(children, timeout=30)
    assert alive == []
    again, _ = _start_dev(settings, tmp_path, port)
    _stop(again)
    assert again.returncode == 0
