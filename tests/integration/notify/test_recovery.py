"""Deliveries that go wrong and still end well: a mail no server can take is
failed once with its reason (never tried for ever); an outage longer than the
retries is bridged by the sweeper, up to the give-up age; an operator can send
failed ones again; and a hung SMTP server holds up no job."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from app.db import Row, connect
from app.main import create_app
from app.settings import Settings, SmtpSecurity
from tests.integration.conftest import login
from tests.integration.helpers import json_body
from tests.support.smtp import (
    HOST,
    SmtpServer,
    attempts,
    delivery_worker,
    free_port,
    mail_settings,
    notifications,
    wait_for_deliveries,
)
from workers import notify, runner
from workers.celery_app import create_celery

JOB = "/api/v1/processes/jobs/"

NEW_JOB = """
INSERT INTO ad_pinstance (ad_client_id, ad_org_id, ad_process_id, ad_user_id,
    ad_role_id, isrunasjob, isprocessing, notificationtype, queue, paramsdigest,
    createdby, updatedby, ad_language)
SELECT 11, 11, ad_process_id, 101, 102, true, true, 'E', %(queue)s, '-', 101, 101,
       (SELECT ad_language FROM ad_language WHERE isbaselanguage)
  FROM ad_process WHERE slug = 'test-echo'
RETURNING ad_pinstance_id
"""


def _ended_job(db: psycopg.Connection[Row], settings: Settings) -> tuple[int, Row]:
    """A test-echo job that asks for a mail, run here; its pending mail row
    (no task queued: the test delivers it)."""
    made = db.execute(
        NEW_JOB, {"queue": settings.queue(settings.default_queue)}
    ).fetchone()
    assert made is not None
    job_id = int(made["ad_pinstance_id"])
    runner.run_instance(settings, job_id, "in-test", celery=None)
    (row,) = notifications(db, job_id)
    assert row["status"] == "pending"
    return job_id, row


def _logged(db: psycopg.Connection[Row], job_id: int) -> list[str]:
    rows = db.execute(
        "SELECT p_msg FROM ad_pinstance_log WHERE ad_pinstance_id = %s ORDER BY log_id",
        (job_id,),
    ).fetchall()
    return [row["p_msg"] for row in rows]


def _job_status(db: psycopg.Connection[Row], job_id: int) -> str:
    row = db.execute(
        "SELECT status FROM ad_pinstance WHERE ad_pinstance_id = %s", (job_id,)
    ).fetchone()
    assert row is not None
    return str(row["status"])


def _sweep(settings: Settings, db: psycopg.Connection[Row]) -> int:
    """The sweeper's round over deliveries; how many it queued again."""
    celery = create_celery(settings)
    try:
        return notify.resend_stalled(settings, db, celery)
    finally:
        celery.close()


@pytest.fixture
def down(mail: Settings) -> Settings:
    """The module's settings with an SMTP server that is not there."""
    return mail.model_copy(update={"smtp_port": free_port()})


def test_a_process_name_with_line_breaks_is_mailed_with_a_one_line_subject(
    mail: Settings, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    # As a translation file can bring it: a name with a line break in it.
    db.execute(
        """INSERT INTO ad_process_trl (ad_process_id, ad_language, name)
           SELECT ad_process_id, ad_language, 'Test\r\nEcho  translated'
             FROM ad_pinstance WHERE ad_pinstance_id = %(id)s
           ON CONFLICT (ad_process_id, ad_language)
           DO UPDATE SET name = excluded.name""",
        {"id": job_id},
    )
    try:
        notify.deliver(mail, db, row["ad_notification_id"])
    finally:
        db.execute(
            """DELETE FROM ad_process_trl t USING ad_pinstance i
                WHERE i.ad_pinstance_id = %s AND t.ad_process_id = i.ad_process_id
                  AND t.ad_language = i.ad_language""",
            (job_id,),
        )

    message = smtp.inbox.wait_for(job_id)
    assert message["Subject"] == f"Test Echo translated succeeded (job {job_id})"
    (sent,) = notifications(db, job_id)
    assert sent["status"] == "sent"


def test_a_mail_that_cannot_be_made_fails_once_says_why_and_can_be_sent_again(
    mail: Settings, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    # No header can carry a line break: this From makes every mail fail.
    broken = mail.model_copy(update={"mail_from": "procserv\r\n<procserv@test>"})

    notify.deliver(broken, db, row["ad_notification_id"])

    (failed,) = notifications(db, job_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["detail"].startswith("The mail could not be composed: ValueError")
    ((attempt),) = attempts(db, row["ad_notification_id"])
    assert (attempt["result"], attempt["error"]) == ("error", failed["detail"])
    assert f"The e-mail could not be sent: {failed['detail']}" in _logged(db, job_id)
    assert _job_status(db, job_id) == "succeeded"
    # Final: the sweeper leaves it alone, however long ago it failed.
    db.execute(
        "UPDATE ad_notification SET updated = now() - interval '1 day'"
        " WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )
    _sweep(mail, db)
    assert notifications(db, job_id)[0]["status"] == "failed"

    # The operator mends MAIL_FROM and sends it again (the CLI's call); the
    # sweeper's next round queues it for the module's worker.
    (resent,) = notify.resend(db, [job_id])
    assert resent["ad_notification_id"] == row["ad_notification_id"]
    assert _sweep(mail, db) >= 1

    message = smtp.inbox.wait_for(job_id)
    (sent,) = wait_for_deliveries(db, job_id)
    assert message["Message-ID"] == sent["message_id"]
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert sent["resent"] is not None
    assert len(smtp.inbox.about(job_id)) == 1


def test_an_outage_longer_than_the_retries_is_bridged_by_the_sweeper(
    mail: Settings, down: Settings, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    spent = down.model_copy(update={"notify_max_retries": 0})

    # The one try the task has fails; it is not failed, but left pending.
    notify.deliver(spent, db, row["ad_notification_id"])

    (waiting,) = notifications(db, job_id)
    assert (waiting["status"], waiting["attempts"]) == ("pending", 1)
    assert waiting["detail"].startswith("ConnectionRefusedError")
    # Later (the sweeper waits RESEND_AFTER_SECONDS beyond the longest backoff)
    # the server is back: the sweeper's round queues it, the worker sends it.
    db.execute(
        "UPDATE ad_notification SET updated = now() - interval '1 hour'"
        " WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )
    assert _sweep(mail, db) >= 1

    smtp.inbox.wait_for(job_id)
    (sent,) = wait_for_deliveries(db, job_id)
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert [a["result"] for a in attempts(db, row["ad_notification_id"])] == [
        "error",
        "sent",
    ]
    assert len(smtp.inbox.about(job_id)) == 1


def test_a_try_past_the_give_up_age_fails_the_mail_with_a_log_line(
    down: Settings, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, down)
    db.execute(
        "UPDATE ad_notification SET created = now() - interval '6 days'"
        " WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )

    notify.deliver(down, db, row["ad_notification_id"])

    (failed,) = notifications(db, job_id)
    assert failed["status"] == "failed"
    assert failed["detail"].startswith(
        "Given up after 5 days of tries: ConnectionRefusedError"
    )
    assert f"The e-mail could not be sent: {failed['detail']}" in _logged(db, job_id)


def test_the_sweeper_fails_a_stalled_delivery_past_the_give_up_age(
    mail: Settings, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    db.execute(
        "UPDATE ad_notification SET created = now() - interval '6 days',"
        " updated = now() - interval '1 day', detail = 'SMTP 421 busy',"
        " attempts = 1"
        " WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )
    _sweep(mail, db)

    (failed,) = notifications(db, job_id)
    assert failed["status"] == "failed"
    assert failed["detail"] == "Given up after 5 days of tries: SMTP 421 busy"
    assert f"The e-mail could not be sent: {failed['detail']}" in _logged(db, job_id)


@pytest.fixture
def server() -> Iterator[Callable[..., SmtpServer]]:
    """Starts SMTP servers of the test's own, as the test needs them."""
    made: list[SmtpServer] = []

    def start(**options: Any) -> SmtpServer:
        smtp = SmtpServer(**options)
        smtp.start()
        made.append(smtp)
        return smtp

    yield start
    for smtp in made:
        smtp.stop()


@pytest.mark.parametrize(
    "address",
    [
        "gardenadmin@",  # the mail library fails on it with an IndexError
        "a b@example.com",
        "jörg@exämple.com",  # smtplib sends it only with SMTPUTF8
        "x" * 65 + "@example.com",  # RFC 5321: a local part of 64 at most
    ],
)
def test_an_address_no_mail_can_go_to_fails_once_and_can_be_resent_when_mended(
    mail: Settings, smtp: SmtpServer, db: psycopg.Connection[Row], address: str
) -> None:
    job_id, row = _ended_job(db, mail)
    before = db.execute("SELECT email FROM ad_user WHERE ad_user_id = 101").fetchone()
    assert before is not None
    db.execute("UPDATE ad_user SET email = %s WHERE ad_user_id = 101", (address,))
    try:
        notify.deliver(mail, db, row["ad_notification_id"])
    finally:
        db.execute(
            "UPDATE ad_user SET email = %s WHERE ad_user_id = 101", (before["email"],)
        )

    (failed,) = notifications(db, job_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["detail"].endswith("is not valid")
    assert f"The e-mail could not be sent: {failed['detail']}" in _logged(db, job_id)
    # The address mended, a resend delivers it.
    notify.resend(db, [job_id])
    notify.deliver(mail, db, row["ad_notification_id"])
    assert notifications(db, job_id)[0]["status"] == "sent"
    assert len(smtp.inbox.about(job_id)) == 1


def test_an_error_nobody_foresaw_while_sending_fails_the_mail_once_saying_it(
    mail: Settings, server: Callable[..., SmtpServer], db: psycopg.Connection[Row]
) -> None:
    smtp = server(login=True)
    job_id, row = _ended_job(db, mail)
    # smtplib cannot send a password outside ASCII: a UnicodeEncodeError, not
    # one of the SMTP or network errors a delivery expects.
    accented = mail.model_copy(
        update={
            "smtp_port": smtp.port,
            "smtp_user": "procserv",
            "smtp_password": SecretStr("pässwörd"),
        }
    )

    notify.deliver(accented, db, row["ad_notification_id"])

    (failed,) = notifications(db, job_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["detail"].startswith("UnicodeEncodeError")
    (attempt,) = attempts(db, row["ad_notification_id"])
    assert (attempt["result"], attempt["error"]) == ("error", failed["detail"])
    assert f"The e-mail could not be sent: {failed['detail']}" in _logged(db, job_id)
    assert smtp.inbox.about(job_id) == []


def test_a_server_slow_to_answer_the_end_of_a_mail_gets_it_once(
    mail: Settings, server: Callable[..., SmtpServer], db: psycopg.Connection[Row]
) -> None:
    smtp = server(reply_after=3.0)
    job_id, row = _ended_job(db, mail)
    # Quick to give up on a silent server, patient with one checking a mail.
    patient = mail.model_copy(
        update={
            "smtp_port": smtp.port,
            "smtp_timeout_seconds": 1.0,
            "smtp_send_timeout_seconds": 30.0,
        }
    )

    notify.deliver(patient, db, row["ad_notification_id"])

    (sent,) = notifications(db, job_id)
    assert (sent["status"], sent["attempts"]) == ("sent", 1)
    assert len(smtp.inbox.about(job_id)) == 1


def test_a_mail_whose_end_goes_unanswered_twice_is_sent_at_most_twice(
    mail: Settings, server: Callable[..., SmtpServer], db: psycopg.Connection[Row]
) -> None:
    smtp = server(reply_after=3.0)
    job_id, row = _ended_job(db, mail)
    # The server keeps each mail, but answers its end after we stopped waiting.
    hasty = mail.model_copy(
        update={"smtp_port": smtp.port, "smtp_send_timeout_seconds": 1.0}
    )

    with pytest.raises(notify.TryAgain):
        notify.deliver(hasty, db, row["ad_notification_id"])
    (waiting,) = notifications(db, job_id)
    assert waiting["status"] == "pending"
    assert waiting["detail"].startswith(
        "Unconfirmed: the server took the mail but its answer never came"
    )
    # Another error between the two does not start the count again.
    with pytest.raises(notify.TryAgain):
        notify.deliver(
            mail.model_copy(update={"smtp_port": free_port()}),
            db,
            row["ad_notification_id"],
        )
    notify.deliver(hasty, db, row["ad_notification_id"])

    (failed,) = notifications(db, job_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert failed["detail"].endswith(
        "not tried a third time (procserv resend-notifications sends it again)"
    )
    assert f"The e-mail could not be sent: {failed['detail']}" in _logged(db, job_id)
    _wait(lambda: len(smtp.inbox.about(job_id)) == 2, "both copies kept")


def test_a_mail_two_stopped_workers_may_have_sent_is_not_sent_a_third_time(
    mail: Settings, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    # What two workers killed in the middle of sending leave: the row sending,
    # two tries never finished.
    db.execute(
        "UPDATE ad_notification SET status = 'sending', attempts = 2"
        " WHERE ad_notification_id = %(id)s",
        {"id": row["ad_notification_id"]},
    )
    db.execute(
        "INSERT INTO ad_notification_attempt (ad_notification_id, seqno)"
        " VALUES (%(id)s, 1), (%(id)s, 2)",
        {"id": row["ad_notification_id"]},
    )

    notify.deliver(mail, db, row["ad_notification_id"])

    (failed,) = notifications(db, job_id)
    assert failed["status"] == "failed"
    assert failed["detail"].startswith(
        "Not sent a third time: 2 tries may have delivered it"
    )
    assert smtp.inbox.about(job_id) == []


def test_the_sweeper_gives_up_no_delivery_never_tried(
    mail: Settings, smtp: SmtpServer, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    # Old, but only waiting behind others in its queue: no try yet.
    db.execute(
        "UPDATE ad_notification SET created = now() - interval '6 days',"
        " updated = now() - interval '1 day' WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )

    assert _sweep(mail, db) >= 1

    smtp.inbox.wait_for(job_id)
    (sent,) = wait_for_deliveries(db, job_id)
    assert (sent["status"], sent["attempts"]) == ("sent", 1)


def test_a_mail_refused_tls_fails_at_once(
    mail: Settings, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    # TLS from the start, asked of the module's plain SMTP server.
    tls = mail.model_copy(update={"smtp_security": SmtpSecurity.TLS})

    notify.deliver(tls, db, row["ad_notification_id"])

    (failed,) = notifications(db, job_id)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert failed["detail"].startswith("SSLError")


def test_the_sweeper_leaves_alone_a_delivery_a_task_is_still_at(
    mail: Settings, settings: Settings, db: psycopg.Connection[Row]
) -> None:
    job_id, row = _ended_job(db, mail)
    db.execute(
        "UPDATE ad_notification SET status = 'sending', detail = 'SMTP 421 busy',"
        " attempts = 1, created = now() - interval '6 days',"
        " updated = now() - interval '1 day'"
        " WHERE ad_notification_id = %s",
        (row["ad_notification_id"],),
    )
    # A task on a slow server holds the row's lock, as notify.deliver does.
    with connect(settings.database_url, autocommit=True) as task:
        task.execute(notify._TRY_LOCK, (notify._LOCK_SPACE, row["ad_notification_id"]))
        _sweep(mail, db)
        (held,) = notifications(db, job_id)
        assert held["status"] == "sending"

    _sweep(mail, db)
    (failed,) = notifications(db, job_id)
    assert failed["status"] == "failed"


# --- a hung SMTP server -----------------------------------------------------


class HungServer:
    """Accepts connections and never says a word, as a wedged SMTP server."""

    def __init__(self) -> None:
        self._socket = socket.create_server((HOST, 0))
        self.port: int = self._socket.getsockname()[1]
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        self._socket.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def hung(settings: Settings) -> Iterator[Settings]:
    """Settings of their own queues whose mail goes to a hung server, with a
    worker each for jobs, notices and mail, one task at a time each."""
    server = HungServer()
    ours = mail_settings(
        settings, SmtpServer(server.port), smtp_send_timeout_seconds=30.0
    )
    with ExitStack() as stack:
        stack.enter_context(delivery_worker(ours, ("default",), concurrency=1))
        for queue in ("notify", "mail"):
            stack.enter_context(
                delivery_worker(ours, (queue,), pool="threads", concurrency=1)
            )
        # Closed first: the notify worker's stop waits for its delivery.
        stack.callback(server.close)
        yield ours


def test_a_hung_smtp_server_holds_up_no_job_and_no_notice(
    hung: Settings, db: psycopg.Connection[Row]
) -> None:
    with TestClient(create_app(hung)) as api:
        headers = {"Authorization": "Bearer " + login(api, "GardenAdmin")}
        first = _submit(api, headers)
        _wait(lambda: _status(db, first, "E") == "sending", "first mail on its way")

        # Its delivery waits on the server (SMTP_SEND_TIMEOUT_SECONDS, 30 s);
        # a job submitted now runs at once, and both notices go, all the same.
        second = _submit(api, headers)
        _wait(lambda: _job_status(db, second) == "succeeded", "second job run")
        for job in (first, second):
            _wait(lambda job=job: _status(db, job, "N") == "sent", f"notice of {job}")

        assert _status(db, first, "E") == "sending"


def _submit(api: TestClient, headers: dict[str, str]) -> int:
    body: dict[str, Any] = json_body(
        api.post(JOB + "test-echo", json={"notification-type": "B"}, headers=headers)
    )
    return int(body["id"])


def _status(db: psycopg.Connection[Row], job_id: int, channel: str) -> str | None:
    rows = [row for row in notifications(db, job_id) if row["channel"] == channel]
    return str(rows[0]["status"]) if rows else None


def _wait(check: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"waited {timeout} s for: {what}"
        time.sleep(0.05)
