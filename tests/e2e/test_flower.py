"""Flower as ``make run`` starts it: on FLOWER_PORT, watching the run's workers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from app.embedded import free_port
from app.settings import Settings
from tests.conftest import ROOT
from tests.e2e.test_service import PROCSERV, _stop, _wait_until_up, dev_env


def test_make_run_starts_flower_on_its_port_and_names_it(
    settings: Settings, tmp_path: Path
) -> None:
    port, flower = free_port(), free_port()
    env = {**dev_env(settings, tmp_path, port), "FLOWER_PORT": str(flower)}
    printed = tmp_path / "stdout"
    with printed.open("wb") as stdout:
        child = subprocess.Popen(
            [PROCSERV, "dev"], env=env, cwd=ROOT, start_new_session=True, stdout=stdout
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", child)
        healthy = _flower_answers(f"http://127.0.0.1:{flower}/healthcheck")
        banner = _wait_for_banner(printed)
    finally:
        _stop(child)

    assert healthy == "OK"
    assert f"http://127.0.0.1:{flower}  (Flower)" in banner


def _flower_answers(url: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=2).text
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"Flower did not answer at {url} within 60 s")


def _wait_for_banner(printed: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = printed.read_text(errors="replace")
        if "Stop everything with Ctrl-C." in text:
            return text
        time.sleep(0.3)
    raise AssertionError("make run printed no banner within 30 s")
