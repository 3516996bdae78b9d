"""The mail catcher of ``make run``: every message it accepts is one ``.eml``
file that a mail program (here the ``email`` package) reads back whole."""

from __future__ import annotations

import asyncio
import email
import json
import os
import signal
import smtplib
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from app import mailcatcher
from app.mailcatcher import MailFolder, bound_port, open_catcher
from tests.conftest import ROOT

PROCSERV = str(Path(sys.executable).parent / "procserv")
ZIP_BYTES = bytes(range(256)) * 40


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
def catcher(folder: Path) -> Iterator[int]:
    """The catcher on a free port, its loop in a thread of its own."""
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(open_catcher(folder))
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        yield bound_port(server)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


def _message(subject: str, message_id: str = "") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "procserv@procserv.example"
    message["To"] = "gardenadmin@gardenworld.example"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content("The job ended.\n.\nA line that is only a dot, above.\n")
    message.add_alternative("<p>The job <b>ended</b>.</p>", subtype="html")
    return message


def _send(port: int, message: EmailMessage, *also: str) -> None:
    recipients = [str(message["To"]), *also]
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message, to_addrs=recipients)


def _kept(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def test_a_mail_with_an_attachment_is_kept_as_an_eml_file_that_parses_back(
    catcher: int, folder: Path
) -> None:
    sent = _message("Translation Import/Export: succeeded ✓", "<pinstance-1@t>")
    sent.add_attachment(
        ZIP_BYTES, maintype="application", subtype="zip", filename="export.zip"
    )

    _send(catcher, sent, "hidden@gardenworld.example")

    (path,) = _kept(folder)
    assert list(folder.iterdir()) == [path]  # no temporary file left behind
    kept = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(kept, EmailMessage)
    assert kept["Subject"] == "Translation Import/Export: succeeded ✓"
    assert kept["To"] == "gardenadmin@gardenworld.example"
    assert kept["Message-ID"] == "<pinstance-1@t>"
    assert kept["Return-Path"] == "<procserv@procserv.example>"
    assert kept["X-Envelope-To"] == (
        "gardenadmin@gardenworld.example, hidden@gardenworld.example"
    )
    text = kept.get_body(preferencelist=("plain",))
    html = kept.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    # as it came over SMTP, with CRLF line ends
    assert text.get_content().splitlines() == [
        "The job ended.",
        ".",
        "A line that is only a dot, above.",
    ]
    assert "<b>ended</b>" in html.get_content()
    (attachment,) = kept.iter_attachments()
    assert attachment.get_filename() == "export.zip"
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_content() == ZIP_BYTES


def test_files_sort_in_arrival_order_and_a_message_sent_again_ends_alike(
    catcher: int, folder: Path
) -> None:
    for subject, message_id in [
        ("first", "<pinstance-7@t>"),
        ("second", "<pinstance-8@t>"),
        ("first again", "<pinstance-7@t>"),
        ("no id", ""),
    ]:
        _send(catcher, _message(subject, message_id))

    paths = _kept(folder)
    subjects = [
        email.message_from_bytes(p.read_bytes(), policy=default)["Subject"]
        for p in paths
    ]
    assert subjects == ["first", "second", "first again", "no id"]
    ends = [p.stem.rsplit("-", 1)[1] for p in paths]
    assert ends[0] == ends[2]
    assert len({ends[0], ends[1], ends[3]}) == 3


class _OneSecond(datetime):
    """A clock that stays in one second, as two quick messages may."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _OneSecond:
        return cls(2024, 5, 1, 8, 30, 0, tzinfo=tz or UTC)


def test_two_catchers_on_one_folder_never_overwrite_each_others_mail(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailcatcher, "datetime", _OneSecond)
    first, second = MailFolder(folder), MailFolder(folder)
    sent = _message("Order Detail: succeeded", "<pinstance-9@t>").as_bytes()

    kept = [
        catcher.keep("procserv@procserv.example", [to], sent)
        for catcher, to in [
            (first, "a@gardenworld.example"),
            (second, "b@gardenworld.example"),
            (first, "c@gardenworld.example"),
        ]
    ]

    assert _kept(folder) == kept  # three files, in the order they came
    assert [p.name[:16] for p in kept] == ["20240501-083000-"] * 3
    recipients = [
        email.message_from_bytes(p.read_bytes(), policy=default)["X-Envelope-To"]
        for p in kept
    ]
    assert recipients == [
        "a@gardenworld.example",
        "b@gardenworld.example",
        "c@gardenworld.example",
    ]
    assert list(folder.glob(".*")) == []


def test_a_folder_it_cannot_write_to_answers_a_temporary_failure(
    catcher: int, folder: Path
) -> None:
    folder.write_text("a file where the folder should be")

    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(catcher, _message("lost?"))

    # 4xx: a sender keeps the message and tries again.
    assert refused.value.smtp_code == 451


def test_the_command_serves_until_sigterm_and_logs_each_message(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "caught"
    env = {**os.environ, "LOG_JSON": "true", "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [PROCSERV, "mail-catcher", "--port", "0", "--folder", str(folder)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stderr is not None
        try:
            started = json.loads(child.stderr.readline())
            assert started["event"] == "mail.catcher_started"
            _send(started["port"], _message("Order Detail: succeeded"))
        finally:
            child.send_signal(signal.SIGTERM)
        rest = child.stderr.read()
        assert child.wait(timeout=10) == 0

    events = [json.loads(line) for line in rest.splitlines()]
    caught, stopped = events
    (path,) = _kept(folder)
    assert caught["event"] == "mail.caught"
    assert caught["subject"] == "Order Detail: succeeded"
    assert caught["mail_from"] == "procserv@procserv.example"
    assert caught["to"] == ["gardenadmin@gardenworld.example"]
    assert caught["file"] == str(path)
    assert stopped["event"] == "mail.catcher_stopped"
