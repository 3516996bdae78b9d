"""The e-mail about a finished job, as a real SMTP server receives it: subject,
plain-text and HTML bodies, attachments (the stored bytes) or links, and what
happens when there is no address or the server refuses it."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row, connect
from app.settings import Settings
from tests.integration.helpers import (
    account,
    create_role,
    drop_role,
    instance,
    json_body,
    unique,
    wait_for_job,
)
from tests.support.smtp import (
    REFUSED,
    SmtpServer,
    attempts,
    notifications,
    wait_for_deliveries,
)
from workers import notify
from workers.mail import is_temporary

JOB = "/api/v1/processes/jobs/"


def _submit(
    api: TestClient,
    db: psycopg.Connection[Row],
    headers: dict[str, str],
    slug: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    """Run a job, wait for its end and its deliveries; the job as its owner sees it."""
    answer = api.post(JOB + slug, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["id"]
    wait_for_job(api, headers, job_id)
    wait_for_deliveries(db, job_id)
    job: dict[str, Any] = json_body(api.get(f"{JOB}{job_id}", headers=headers))
    return job


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body(preferencelist=(kind,))
    assert part is not None
    # As SMTP carried it, with CRLF line ends.
    return str(part.get_content()).replace("\r\n", "\n")


def _text(message: EmailMessage) -> str:
    return _body(message, "plain")


def _html(message: EmailMessage) -> str:
    return _body(message, "html")


def _attachments(message: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        assert isinstance(content, bytes)
        found[str(part.get_filename())] = content
    return found


def test_a_finished_job_mails_its_submitter_the_summary_log_parameters_and_outputs(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
) -> None:
    label = unique("mailed")
    job = _submit(
        api,
        db,
        admin,
        "test-echo",
        {
            "notification-type": "E",
            "Label": label,
            "Qty": 7,
            "DateOrdered_to": "2026-01-31",
        },
    )

    message = smtp.inbox.wait_for(job["id"])
    uu = instance(db, job["id"])["ad_pinstance_uu"]
    assert message["Subject"] == f"Test Echo succeeded (job {job['id']})"
    assert message["To"] == "GardenAdmin <gardenadmin@gardenworld.example>"
    assert message["Message-ID"] == f"<pinstance-{uu}-E@procserv>"
    assert message["Auto-Submitted"] == "auto-generated"
    text = _text(message)
    job_url = f"https://procserv.test/api/v1/processes/jobs/{job['id']}"
    for expected in (
        "Summary: echoed",
        f"Label: {label}",
        "Quantity: 7",
        "Date Ordered: up to 2026-01-31",  # a range open below
        "  echo\n",
    ):
        assert expected in text, (expected, text)
    assert job_url in text
    assert f'<a href="{job_url}">' in _html(message)
    (output,) = job["outputs"]
    assert f"{output['url']}" in text
    assert output["url"].startswith("https://procserv.test/")
    attached = _attachments(message)
    assert list(attached) == ["echo.txt"]
    assert hashlib.sha256(attached["echo.txt"]).hexdigest() == output["sha256"]


def test_a_range_given_only_at_its_start_is_mailed_as_from(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
) -> None:
    job = _submit(
        api,
        db,
        admin,
        "test-echo",
        {"notification-type": "E", "DateOrdered": "2026-01-01"},
    )

    assert "Date Ordered: from 2026-01-01" in _text(smtp.inbox.wait_for(job["id"]))


def test_the_job_shows_its_mail_delivery_to_its_owner(
    api: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    job = _submit(api, db, admin, "test-echo", {"notification-type": "E"})

    (delivery,) = job["notifications"]
    assert delivery["delivered"] is not None
    assert {k: v for k, v in delivery.items() if k not in ("delivered", "tries")} == {
        "channel": "E",
        "status": "sent",
        "attempts": 1,
        "recipient": "gardenadmin@gardenworld.example",
        "detail": None,
    }
    assert [(t["seqno"], t["result"]) for t in delivery["tries"]] == [(1, "sent")]
    assert job["status"] == "succeeded"


def test_a_failed_job_mails_its_error_and_first_log_lines(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
) -> None:
    job = _submit(api, db, admin, "test-raise", {"notification-type": "E"})

    message = smtp.inbox.wait_for(job["id"])
    assert message["Subject"] == f"Test Raise failed (job {job['id']})"
    text = _text(message)
    assert "Error: the test process failed on purpose" in text
    assert "  about to fail\n" in text
    assert _attachments(message) == {}


def test_the_html_body_escapes_what_the_job_was_given(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    db: psycopg.Connection[Row],
) -> None:
    label = "<script>alert(1)</script>"
    job = _submit(
        api, db, admin, "test-echo", {"notification-type": "E", "Label": label}
    )

    message = smtp.inbox.wait_for(job["id"])
    html = _html(message)
    assert label not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"Label: {label}" in _text(message)


def test_outputs_beyond_the_attach_limit_are_links_instead(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    mail: Settings,
    db: psycopg.Connection[Row],
) -> None:
    job = _submit(api, db, admin, "test-echo", {"notification-type": "E"})
    (row,) = notifications(db, job["id"])
    # Deliver the same mail again, from here, with a limit below the output's size.
    db.execute(
        "UPDATE ad_notification SET status = 'pending' WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )
    small = mail.model_copy(update={"mail_attach_limit": 5})
    with connect(mail.database_url, autocommit=True) as conn:
        notify.deliver(small, conn, row["ad_notification_id"])

    first, second = smtp.inbox.about(job["id"])
    (output,) = job["outputs"]
    assert list(_attachments(first)) == ["echo.txt"]
    assert _attachments(second) == {}
    assert f"echo.txt ({output['size']} bytes)\n  {output['url']}" in _text(second)
    assert f'<a href="{output["url"]}">echo.txt</a>' in _html(second)


def test_a_mail_caught_between_smtp_and_commit_is_sent_again_as_the_same_message(
    api: TestClient,
    admin: dict[str, str],
    smtp: SmtpServer,
    mail: Settings,
    db: psycopg.Connection[Row],
) -> None:
    job = _submit(api, db, admin, "test-echo", {"notification-type": "E"})
    (row,) = notifications(db, job["id"])
    # What a worker that died after the server accepted the mail, before its
    # commit, leaves behind.
    db.execute(
        "UPDATE ad_notification SET status = 'sending' WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )

    with connect(mail.database_url, autocommit=True) as conn:
        notify.deliver(mail, conn, row["ad_notification_id"])

    first, second = smtp.inbox.about(job["id"])
    assert first["Message-ID"] == second["Message-ID"] == row["message_id"]
    (again,) = notifications(db, job["id"])
    assert (again["status"], again["attempts"]) == ("sent", 2)
    assert [a["result"] for a in attempts(db, row["ad_notification_id"])] == [
        "sent",
        "sent",
    ]


def test_a_user_without_an_address_gets_no_mail_the_log_says_why_and_the_notice_goes(
    api: TestClient, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    role = create_role(db, unique("Mailless"), access={"test-echo": True})
    try:
        with account(api, db, "Mailless", [role]) as owner:
            job = _submit(
                api, db, owner.headers, "test-echo", {"notification-type": "B"}
            )
    finally:
        drop_role(db, role)

    assert smtp.inbox.about(job["id"]) == []
    email, notice = job["notifications"]
    reason = f"the user {owner.name} has no e-mail address"
    assert (email["channel"], email["status"]) == ("E", "skipped")
    assert email["detail"] == reason[0].upper() + reason[1:]
    assert (notice["channel"], notice["status"]) == ("N", "sent")
    messages = [log["msg"] for log in job["logs"]]
    assert f"No e-mail was sent: {reason}" in messages
    assert any(m.startswith("Created Notice ") for m in messages)
    assert job["status"] == "succeeded"


def test_a_refused_address_fails_the_mail_at_once_and_leaves_the_job_alone(
    api: TestClient, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    role = create_role(db, unique("Refused"), access={"test-echo": True})
    try:
        with account(api, db, "Refused", [role]) as owner:
            db.execute(
                "UPDATE ad_user SET email = %s WHERE ad_user_id = %s",
                (f"{REFUSED}{owner.user_id}@gardenworld.example", owner.user_id),
            )
            job = _submit(
                api, db, owner.headers, "test-echo", {"notification-type": "E"}
            )
    finally:
        drop_role(db, role)

    (email,) = job["notifications"]
    assert (email["status"], email["attempts"]) == ("failed", 1)
    assert email["detail"].startswith("SMTP 550 ")
    assert f"The e-mail could not be sent: {email['detail']}" in [
        log["msg"] for log in job["logs"]
    ]
    assert (job["status"], job["summary"], job["isError"]) == (
        "succeeded",
        "echoed",
        False,
    )


@pytest.mark.parametrize(
    ("error", "temporary"),
    [
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError("timed out"), True),
        (smtplib.SMTPServerDisconnected("gone"), True),
        (smtplib.SMTPResponseException(421, b"try later"), True),
        (smtplib.SMTPResponseException(554, b"rejected"), False),
        (smtplib.SMTPRecipientsRefused({"a@b.example": (450, b"busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@b.example": (550, b"unknown")}), False),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), False),
        (smtplib.SMTPNotSupportedError("no STARTTLS"), False),
    ],
)
def test_only_errors_that_may_pass_are_tried_again(
    error: Exception, temporary: bool
) -> None:
    assert is_temporary(error) is temporary


def test_the_wait_between_tries_doubles_up_to_the_max_with_jitter(
    settings: Settings,
) -> None:
    waits = settings.model_copy(
        update={"notify_retry_base_seconds": 10, "notify_retry_max_seconds": 60}
    )
    for tries, ceiling in [(1, 10), (2, 20), (3, 40), (4, 60), (50, 60)]:
        seconds = notify.backoff(waits, tries)
        assert ceiling / 2 <= seconds <= ceiling
