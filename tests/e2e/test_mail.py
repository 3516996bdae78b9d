"""Mail in ``make run``: without SMTP_HOST, a catcher takes the mail the workers
send and keeps it under VAR_DIR/mail/, where a demo job's mail shows up."""

from __future__ import annotations

import email
import smtplib
import subprocess
import time
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx

from app.embedded import free_port
from app.settings import Settings
from tests.conftest import ROOT
from tests.e2e.test_flower import _wait_for_banner
from tests.e2e.test_service import (
    EXPORT,
    PROCSERV,
    _stop,
    _token,
    _wait_for_job,
    _wait_until_up,
    dev_env,
)


def test_make_run_catches_a_demo_jobs_mail_under_var_mail(
    settings: Settings, tmp_path: Path
) -> None:
    port, catcher = free_port(), free_port()
    env = {**dev_env(settings, tmp_path, port), "MAIL_CATCHER_PORT": str(catcher)}
    for name in [name for name in env if name.startswith(("SMTP_", "MAIL_FROM"))]:
        del env[name]
    printed = tmp_path / "stdout"
    with printed.open("wb") as stdout:
        child = subprocess.Popen(
            [PROCSERV, "dev"], env=env, cwd=ROOT, start_new_session=True, stdout=stdout
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, child)
        with smtplib.SMTP("127.0.0.1", catcher, timeout=10) as client:
            assert client.noop()[0] == 250
        headers = _token(url)
        job = httpx.post(
            url + "/api/v1/processes/jobs/translationimpexp",
            json=EXPORT,
            headers=headers,
        ).json()
        assert _wait_for_job(url, job["id"], headers)["status"] == "succeeded"
        mail = _wait_for_mail(tmp_path / "mail")
        banner = _wait_for_banner(printed)
    finally:
        _stop(child)

    assert child.returncode == 0
    (recipient,) = mail["To"].addresses
    assert recipient.addr_spec == "gardenadmin@gardenworld.example"
    assert f"mail:     caught on 127.0.0.1:{catcher}" in banner
    assert f"kept in {tmp_path}/mail/" in banner


def _wait_for_mail(folder: Path) -> EmailMessage:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml"))
        if found:
            kept = email.message_from_bytes(found[0].read_bytes(), policy=default)
            assert isinstance(kept, EmailMessage)
            return kept
        time.sleep(0.3)
    raise AssertionError(f"no mail in {folder} within 60 s")
