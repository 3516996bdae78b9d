"""Deliver what a finished job owes its submitter: an e-mail, an in-app notice.

Once per job and channel:

- the rows (``ad_notification``, unique per instance and channel) are made in the
  transaction that finishes the instance, so a stale worker, whose finish is
  refused, makes none, and a job run again makes no second ones;
- a delivery task holds a session advisory lock on its row for as long as it
  works, so a second task for the same row (a Celery retry, the sweeper's resend)
  stops at once; and it locks the row (``FOR UPDATE``) and does nothing when the
  row is already final;
- a notice, its log line and the row's ``sent`` are one transaction;
- a mail is marked ``sending`` (committed) before the SMTP conversation and
  ``sent`` after it. A task that finds ``sending`` knows the task before it died
  in between (the advisory lock was free), so the mail may or may not have gone:
  it sends it again, with the same Message-ID. That is the window SMTP leaves.

Never lost: a temporary failure (connection, timeout, 4xx) is tried again, by the
task's retries with backoff, then by the sweeper, until the delivery is
NOTIFY_GIVE_UP_SECONDS old; a mail that cannot be made (a bug, or data no mail
can carry) fails at once and says why, instead of being tried for ever; an
operator can send failed ones again (``resend``).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import psycopg
import redis
import structlog
from celery import Celery
from kombu.exceptions import OperationalError as BrokerError

from app import instances, notices
from app.db import Row
from app.events import publish_user_event, sync_client
from app.params import typed_value
from app.serialize import output_path
from app.settings import Settings
from workers import mail
from workers.celery_app import DELIVER_NOTIFICATION

log = structlog.get_logger(__name__)

FINAL = frozenset({"sent", "skipped", "failed"})
# At most this many copies of a mail reach the server (see _MAYBE_DELIVERED).
MAYBE_DELIVERED_AT_MOST = 2
# The first key of the advisory locks on notification rows (the second is the
# row's id): "ntfy" in ASCII, apart from the locks other code takes.
_LOCK_SPACE = 0x6E746679

_PREPARE = """
INSERT INTO ad_notification (ad_pinstance_id, channel)
SELECT i.ad_pinstance_id, c.channel
  FROM ad_pinstance i
  JOIN (VALUES ('E'), ('N')) AS c (channel)
    ON i.notificationtype IN (c.channel, 'B')
 WHERE i.ad_pinstance_id = %(id)s AND i.isrunasjob
ON CONFLICT (ad_pinstance_id, channel) DO NOTHING
RETURNING ad_notification_id, channel
"""

_TRY_LOCK = "SELECT pg_try_advisory_lock(%s, (%s %% 2147483648)::int) AS locked"
_UNLOCK = "SELECT pg_advisory_unlock(%s, (%s %% 2147483648)::int)"

# The instance is locked too, before the notice and the log line that refer to
# it: deleting the instance (its rows cascade) then waits for the delivery, or
# the delivery finds nothing, instead of the two deadlocking.
_LOCK_ROW = """
SELECT n.ad_notification_id, n.channel, n.status, n.attempts, n.message_id,
       n.detail, now() - coalesce(n.resent, n.created) AS age, n.resent,
       i.ad_pinstance_id, i.ad_pinstance_uu, i.ad_client_id, i.ad_org_id,
       i.ad_user_id, i.status AS job_status, i.errormsg, i.started, i.finished,
       coalesce(t.name, p.name) AS process_name, u.name AS user_name, u.email,
       c.name AS client_name
  FROM ad_notification n
  JOIN ad_pinstance i ON i.ad_pinstance_id = n.ad_pinstance_id
  JOIN ad_process p ON p.ad_process_id = i.ad_process_id
  LEFT JOIN ad_process_trl t
    ON t.ad_process_id = p.ad_process_id AND t.ad_language = i.ad_language
  JOIN ad_user u ON u.ad_user_id = i.ad_user_id
  JOIN ad_client c ON c.ad_client_id = i.ad_client_id
 WHERE n.ad_notification_id = %(id)s
   FOR UPDATE OF n FOR KEY SHARE OF i
"""

_START = """
UPDATE ad_notification
   SET status = 'sending', attempts = attempts + 1, recipient = %(recipient)s,
       message_id = %(message_id)s, updated = now()
 WHERE ad_notification_id = %(id)s
RETURNING attempts
"""

_END = """
UPDATE ad_notification
   SET status = %(status)s, attempts = attempts + %(counted)s,
       recipient = coalesce(%(recipient)s, recipient),
       ad_note_id = coalesce(%(note_id)s, ad_note_id), detail = %(detail)s,
       delivered = CASE WHEN %(status)s = 'sent' THEN now() END, updated = now()
 WHERE ad_notification_id = %(id)s
"""

_OPEN_ATTEMPT = """
INSERT INTO ad_notification_attempt (ad_notification_id, seqno)
SELECT %(id)s, coalesce(max(seqno), 0) + 1
  FROM ad_notification_attempt WHERE ad_notification_id = %(id)s
RETURNING seqno
"""

_CLOSE_ATTEMPT = """
UPDATE ad_notification_attempt
   SET finished = now(), result = %(result)s, error = %(error)s
 WHERE ad_notification_id = %(id)s AND seqno = %(seqno)s
"""

# The log line about a delivery, under the attempt that finished the instance.
_LOG = """
INSERT INTO ad_pinstance_log (ad_pinstance_id, attempt, p_msg)
SELECT ad_pinstance_id, attempt, %(message)s
  FROM ad_pinstance WHERE ad_pinstance_id = %(id)s
"""

# The notice, or the one already there (the statement's snapshot does not see
# the row its own INSERT made, so at most one of the two parts answers).
_NOTE = """
WITH made AS (
    INSERT INTO ad_note (ad_client_id, ad_org_id, ad_user_id, ad_pinstance_id,
                         textmsg, reference)
    VALUES (%(client_id)s, %(org_id)s, %(user_id)s, %(id)s, %(text)s,
            %(reference)s)
    ON CONFLICT (ad_pinstance_id) DO NOTHING
    RETURNING ad_note_id)
SELECT ad_note_id, true AS made FROM made
UNION ALL
SELECT ad_note_id, false FROM ad_note WHERE ad_pinstance_id = %(id)s
"""

_PARAMETERS = """
SELECT coalesce(tt.name, pp.name, ip.parametername) AS label, pp.ad_reference_id,
       coalesce(pp.isrange, false) AS isrange, ip.p_string, ip.p_string_to,
       ip.p_number, ip.p_number_to, ip.p_date, ip.p_date_to, ip.info, ip.info_to
  FROM ad_pinstance_para ip
  JOIN ad_pinstance i ON i.ad_pinstance_id = ip.ad_pinstance_id
  LEFT JOIN ad_process_para pp
    ON pp.ad_process_id = i.ad_process_id AND pp.columnname = ip.parametername
  LEFT JOIN ad_process_para_trl tt
    ON tt.ad_process_para_id = pp.ad_process_para_id
   AND tt.ad_language = i.ad_language
 WHERE ip.ad_pinstance_id = %(id)s
 ORDER BY ip.seqno
"""

# The run's own lines: not those of earlier attempts, nor those of its
# notifications (written after it finished).
_LOGS = """
SELECT l.p_msg, l.p_number, count(*) OVER () AS total
  FROM ad_pinstance_log l
  JOIN ad_pinstance i ON i.ad_pinstance_id = l.ad_pinstance_id
 WHERE l.ad_pinstance_id = %(id)s AND l.attempt = i.attempt
   AND l.created <= i.finished
 ORDER BY l.log_id
 LIMIT %(limit)s
"""

# As instances.fetch_outputs orders them, so that each index is the one of the
# download route and of the job's JSON.
_OUTPUTS = """
SELECT ad_pinstance_output_id, name, mediatype, size
  FROM ad_pinstance_output
 WHERE ad_pinstance_id = %(id)s AND kind <> 'upload' AND size IS NOT NULL
 ORDER BY created, ad_pinstance_output_id
"""

# Left alone this long, and its advisory lock free (no task at it: a mail may
# wait on a slow server for SMTP_SEND_TIMEOUT_SECONDS), a delivery is not being
# worked on: its task was never queued, was lost with a worker, or spent its
# retries. Tried and past the give-up age, it fails (with a log line for the
# job); otherwise it is queued again (one never tried may wait in a backlog:
# its task, when it comes, then finds the row busy or done and does nothing).
_STALLED = """
WITH stalled AS (
    SELECT ad_notification_id,
           attempts > 0 AND coalesce(resent, created)
               < now() - make_interval(secs => %(give_up)s) AS given_up
      FROM ad_notification
     WHERE status IN ('pending', 'sending')
       AND updated < now() - make_interval(secs => %(after)s)
       AND NOT EXISTS (
           SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.objsubid = 2
              AND l.classid = %(space)s::oid
              AND l.objid = (ad_notification_id %% 2147483648)::oid)
       FOR UPDATE)
UPDATE ad_notification n
   SET updated = now(),
       status = CASE WHEN s.given_up THEN 'failed' ELSE n.status END,
       detail = CASE WHEN s.given_up
                     THEN %(given_up)s || coalesce(': ' || n.detail, '')
                     ELSE n.detail END
  FROM stalled s
 WHERE n.ad_notification_id = s.ad_notification_id
RETURNING n.ad_notification_id, n.ad_pinstance_id, n.channel, n.status, n.detail
"""

# An operator's resend: failed deliveries (of these jobs) pending again, with a
# new give-up clock; their tries and attempts stay as they were. Dated back, so
# that the sweeper's next round queues them.
_RESEND = """
UPDATE ad_notification
   SET status = 'pending', resent = now(), updated = 'epoch',
       detail = 'Sent again by an operator after: ' || coalesce(detail, 'failed')
 WHERE status = 'failed'
   AND (%(jobs)s::bigint[] IS NULL OR ad_pinstance_id = ANY(%(jobs)s::bigint[]))
RETURNING ad_notification_id, ad_pinstance_id, channel
"""

# A delivery that ended in a fault nobody foresaw (a bug, a library's surprise):
# failed once, with the fault, rather than crashing on every resend.
_CRASHED = """
UPDATE ad_notification
   SET status = 'failed', detail = %(detail)s, updated = now()
 WHERE ad_notification_id = %(id)s AND status <> ALL(%(final)s)
RETURNING ad_notification_id, ad_pinstance_id
"""

# The tries since the row was made or resent that may have delivered the mail:
# the server's answer to its end never came, or the worker stopped mid-try (an
# attempt never finished). Conservative: a worker may have stopped before DATA.
_MAYBE_DELIVERED = """
SELECT count(*) AS tries
  FROM ad_notification_attempt a
  JOIN ad_notification n USING (ad_notification_id)
 WHERE a.ad_notification_id = %(id)s
   AND a.started >= coalesce(n.resent, n.created)
   AND (a.error LIKE 'Unconfirmed: %%' OR a.finished IS NULL)
"""

_CLOSE_OPEN_ATTEMPTS = """
UPDATE ad_notification_attempt
   SET finished = now(), result = 'error', error = %(error)s
 WHERE ad_notification_id = %(id)s AND finished IS NULL
"""


@dataclass(frozen=True)
class Delivery:
    """A delivery to queue: its row and its channel (E or N)."""

    id: int
    channel: str


@dataclass(frozen=True)
class Sending:
    """A mail marked sending, to hand to the SMTP server."""

    message: EmailMessage
    seqno: int  # of its attempt
    tries: int  # this one included
    # Earlier tries (since it was made or resent) that may have delivered it.
    maybe_delivered: int


class TryAgain(Exception):
    """The delivery failed for now; its task should run again in ``seconds``."""

    def __init__(self, seconds: float, error: Exception) -> None:
        super().__init__(f"again in {seconds:.1f} s: {error}")
        self.seconds = seconds
        self.error = error


# --- queueing -----------------------------------------------------------------


def prepare(conn: psycopg.Connection[Row], instance_id: int) -> list[Delivery]:
    """Make the rows of the notifications a finished job owes (none for X, none
    for a synchronous run); call it in the transaction that finishes the
    instance. The rows made now."""
    rows = conn.execute(_PREPARE, {"id": instance_id}).fetchall()
    return [Delivery(row["ad_notification_id"], row["channel"]) for row in rows]


def send_deliveries(
    celery: Celery | None,
    settings: Settings,
    instance_id: int,
    deliveries: Sequence[Delivery],
) -> None:
    """Queue a delivery task per row, after the commit that made the rows; one
    that cannot be queued now is left to the sweeper."""
    for delivery in deliveries:
        if celery is None:
            log.info(
                "notification.left_to_sweeper",
                pinstance_id=instance_id,
                notification_id=delivery.id,
            )
            continue
        try:
            _queue(celery, settings, delivery)
        except BrokerError:
            log.warning(
                "notification.not_queued",
                pinstance_id=instance_id,
                notification_id=delivery.id,
                exc_info=True,
            )


def queue_of(settings: Settings, channel: str) -> str:
    """Mail has a queue of its own: a slow SMTP server then delays neither a job
    nor a notice."""
    return settings.queue(
        settings.mail_queue if channel == "E" else settings.notify_queue
    )


def _queue(celery: Celery, settings: Settings, delivery: Delivery) -> None:
    celery.send_task(
        DELIVER_NOTIFICATION,
        args=[delivery.id],
        queue=queue_of(settings, delivery.channel),
    )


def resend_stalled(
    settings: Settings, conn: psycopg.Connection[Row], celery: Celery
) -> int:
    """Queue again the deliveries that should have ended long ago: their task was
    never queued (broker down), was lost with a worker, or spent its retries on
    a server that is still down. Their own retries are over by then: the wait
    is RESEND_AFTER_SECONDS beyond the longest backoff. Those past the give-up
    age fail instead. How many were queued again."""
    after = settings.resend_after_seconds + settings.notify_retry_max_seconds
    with conn.transaction():
        rows = conn.execute(
            _STALLED,
            {
                "after": after,
                "space": _LOCK_SPACE,
                "give_up": settings.notify_give_up_seconds,
                "given_up": _given_up(settings),
            },
        ).fetchall()
        for row in rows:
            if row["status"] == "failed":
                conn.execute(
                    _LOG,
                    {"id": row["ad_pinstance_id"], "message": _log_line(row["detail"])},
                )
    queued = 0
    for row in rows:
        context = {
            "pinstance_id": row["ad_pinstance_id"],
            "notification_id": row["ad_notification_id"],
        }
        if row["status"] == "failed":
            log.error("notification.given_up", detail=row["detail"], **context)
            continue
        _queue(celery, settings, Delivery(row["ad_notification_id"], row["channel"]))
        queued += 1
        log.warning("notification.resent", **context)
    return queued


def resend(
    conn: psycopg.Connection[Row], job_ids: Sequence[int] | None = None
) -> list[Row]:
    """Make failed deliveries (of these jobs, else all) pending again, for the
    sweeper's next round to send: after a misconfigured SMTP login, say, or an
    outage longer than the give-up age. A mail goes with the Message-ID it had.
    The rows made pending (their ids and jobs)."""
    with conn.transaction():
        rows = conn.execute(
            _RESEND, {"jobs": list(job_ids) if job_ids else None}
        ).fetchall()
    for row in rows:
        log.warning(
            "notification.resent_by_operator",
            pinstance_id=row["ad_pinstance_id"],
            notification_id=row["ad_notification_id"],
        )
    return rows


def _given_up(settings: Settings) -> str:
    return f"Given up after {_span(settings.notify_give_up_seconds)} of tries"


def _span(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:g} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:g} hours"
    return f"{seconds:g} seconds"


def _log_line(detail: str) -> str:
    """The job's log line about a mail that will not be sent."""
    return f"The e-mail could not be sent: {detail}"


def backoff(settings: Settings, tries: int) -> float:
    """Seconds to wait after ``tries`` failed tries: the base doubled each time,
    at most the max, less up to half of it at random, so that mails that failed
    together (the server was down) do not all come back at the same moment."""
    doubled = settings.notify_retry_base_seconds * 2.0 ** min(max(tries - 1, 0), 32)
    ceiling = min(settings.notify_retry_max_seconds, doubled)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not a secret)


# --- delivery -----------------------------------------------------------------


def deliver(
    settings: Settings, conn: psycopg.Connection[Row], notification_id: int
) -> None:
    """Deliver one notification, unless another task is at it or it is final.
    Raises TryAgain after a temporary failure with tries left."""
    locked = conn.execute(_TRY_LOCK, (_LOCK_SPACE, notification_id)).fetchone()
    if not (locked and locked["locked"]):
        log.info("notification.busy", notification_id=notification_id)
        return
    try:
        _deliver_locked(settings, conn, notification_id)
    except (TryAgain, psycopg.OperationalError):
        raise
    except Exception as error:  # recorded, and logged with its trace
        _crashed(conn, notification_id, error)
    finally:
        conn.execute(_UNLOCK, (_LOCK_SPACE, notification_id))


def _crashed(
    conn: psycopg.Connection[Row], notification_id: int, error: Exception
) -> None:
    """Fail the delivery that a fault nobody foresaw stopped, once, saying what
    it was; one already final (the fault came after, e.g. while announcing a
    notice made) stays as it is."""
    detail = f"the delivery stopped on an unexpected error: {mail.describe(error)}"
    log.error("notification.crashed", notification_id=notification_id, exc_info=error)
    with conn.transaction():
        row = conn.execute(
            _CRASHED,
            {"id": notification_id, "detail": detail, "final": sorted(FINAL)},
        )
        failed = row.fetchone()
        if failed is None:
            return
        closed = conn.execute(
            _CLOSE_OPEN_ATTEMPTS, {"id": notification_id, "error": detail}
        )
        if closed.rowcount == 0:
            _open_attempt(conn, failed, result="error", error=detail)
        _instance_log(conn, failed, _log_line(detail))


def _deliver_locked(
    settings: Settings, conn: psycopg.Connection[Row], notification_id: int
) -> None:
    note_id: int | None = None
    sending: Sending | None = None
    with conn.transaction():
        row = _claim(conn, notification_id)
        if row is None:
            return
        if row["channel"] == "N":
            note_id = _make_notice(conn, row)
        else:
            sending = _start_mail(settings, conn, row)
    # After the commit, holding no row lock: the event, the SMTP conversation.
    if note_id is not None:
        _announce_notice(settings, conn, row, note_id)
    if sending is not None:
        _send_mail(settings, conn, row, sending)


def _claim(conn: psycopg.Connection[Row], notification_id: int) -> Row | None:
    """The row, locked; None when it is gone (with its instance) or final."""
    row = conn.execute(_LOCK_ROW, {"id": notification_id}).fetchone()
    if row is not None and row["status"] in FINAL:
        _open_attempt(conn, row, result="duplicate")
        log.info("notification.duplicate", status=row["status"], **_context(row))
        return None
    return row


def _context(row: Row) -> dict[str, Any]:
    return {
        "pinstance_id": row["ad_pinstance_id"],
        "notification_id": row["ad_notification_id"],
        "channel": row["channel"],
    }


def _open_attempt(
    conn: psycopg.Connection[Row],
    row: Row,
    result: str | None,
    error: str | None = None,
) -> int:
    """Record a try: open (its result comes later) or, with ``result``, ended."""
    made = conn.execute(_OPEN_ATTEMPT, {"id": row["ad_notification_id"]}).fetchone()
    assert made is not None
    seqno = int(made["seqno"])
    if result is not None:
        _close_attempt(conn, row, seqno, result, error)
    return seqno


def _close_attempt(
    conn: psycopg.Connection[Row], row: Row, seqno: int, result: str, error: str | None
) -> None:
    conn.execute(
        _CLOSE_ATTEMPT,
        {
            "id": row["ad_notification_id"],
            "seqno": seqno,
            "result": result,
            "error": error,
        },
    )


def _end(
    conn: psycopg.Connection[Row],
    row: Row,
    status: str,
    *,
    counted: int = 0,
    detail: str | None = None,
    recipient: str | None = None,
    note_id: int | None = None,
) -> None:
    conn.execute(
        _END,
        {
            "id": row["ad_notification_id"],
            "status": status,
            "counted": counted,
            "detail": detail,
            "recipient": recipient,
            "note_id": note_id,
        },
    )


def _instance_log(conn: psycopg.Connection[Row], row: Row, message: str) -> None:
    conn.execute(_LOG, {"id": row["ad_pinstance_id"], "message": message})


# --- the notice ---------------------------------------------------------------


def _make_notice(conn: psycopg.Connection[Row], row: Row) -> int | None:
    """Make the notice, log it, mark the row sent; the new notice's id, or None
    when there was one already."""
    outcome = f"{row['process_name']} {mail.outcome(row['job_status'])}"
    note = conn.execute(
        _NOTE,
        {
            "client_id": row["ad_client_id"],
            "org_id": row["ad_org_id"],
            "user_id": row["ad_user_id"],
            "id": row["ad_pinstance_id"],
            "text": f"{outcome}\n{row['errormsg']}" if row["errormsg"] else outcome,
            "reference": row["process_name"],
        },
    ).fetchone()
    assert note is not None
    note_id = int(note["ad_note_id"])
    made = bool(note["made"])
    if made:
        _instance_log(conn, row, f"Created Notice {note_id}")
    _end(
        conn,
        row,
        "sent",
        counted=int(made),
        recipient=row["user_name"],
        note_id=note_id,
        detail=None if made else "The notice existed already",
    )
    _open_attempt(conn, row, result="sent" if made else "duplicate")
    log.info("notification.sent", note_id=note_id, made=made, **_context(row))
    return note_id if made else None


def _announce_notice(
    settings: Settings, conn: psycopg.Connection[Row], row: Row, note_id: int
) -> None:
    """Tell the user's open event streams; a lost event only means their client
    finds the notice when it next lists them."""
    notice = notices.load_notice(conn, note_id)
    if notice is None:
        return
    try:
        publish_user_event(
            sync_client(settings.redis_url),
            settings.event_prefix,
            row["ad_user_id"],
            "notice",
            notices.notice_json(notice, public_base(settings)),
        )
    except redis.RedisError:
        log.warning("notification.event_not_sent", **_context(row), exc_info=True)


# --- the mail -----------------------------------------------------------------


def _start_mail(
    settings: Settings, conn: psycopg.Connection[Row], row: Row
) -> Sending | None:
    """Compose the mail and mark the row sending; None when no mail goes (the row
    is then skipped, and says why)."""
    if not settings.smtp_host:
        # Then no job can mail: their logs need no line about it.
        _skip_mail(conn, row, "no SMTP server is configured (SMTP_HOST)", in_log=False)
        return None
    email = (row["email"] or "").strip()
    if not email:
        reason = f"the user {row['user_name']} has no e-mail address"
        _skip_mail(conn, row, reason, in_log=True)
        return None
    recipient = _recipient(row["user_name"], email)
    if recipient is None:
        # Failed, not skipped: once the address is mended, a resend sends it.
        reason = f"the e-mail address of the user {row['user_name']} is not valid"
        _fail_at_once(conn, row, reason, "notification.bad_address")
        return None
    maybe_delivered = _maybe_delivered(conn, row)
    if maybe_delivered >= MAYBE_DELIVERED_AT_MOST:
        reason = (
            f"not sent a third time: {maybe_delivered} tries may have delivered it "
            "(the server's answer to its end never came, or the worker stopped "
            "while sending); procserv resend-notifications sends it again"
        )
        _fail_at_once(conn, row, reason, "notification.maybe_delivered")
        return None
    again = row["status"] == "sending"
    message_id = row["message_id"] or mail.message_id(str(row["ad_pinstance_uu"]))
    try:
        message = mail.compose(
            settings,
            _job_mail(settings, conn, row),
            recipient,
            message_id,
            lambda output_id: _chunks(conn, output_id),
        )
    except psycopg.Error:
        raise  # the transaction is lost: nothing can be recorded in it
    except Exception as error:  # any fault in making it is final
        detail = f"the mail could not be composed: {mail.describe(error)}"
        _fail_at_once(conn, row, detail, "notification.not_composed")
        return None
    started = conn.execute(
        _START,
        {
            "id": row["ad_notification_id"],
            "recipient": recipient.addr_spec,
            "message_id": message_id,
        },
    ).fetchone()
    assert started is not None
    seqno = _open_attempt(conn, row, result=None)
    if again:
        log.warning(
            "notification.sending_again", message_id=message_id, **_context(row)
        )
    return Sending(message, seqno, int(started["attempts"]), maybe_delivered)


def _recipient(name: str, email: str) -> Address | None:
    """The submitter's address, or None when it is not one a mail can go to:
    malformed, more than RFC 5321's lengths, or outside ASCII (smtplib sends
    those only to servers with SMTPUTF8)."""
    try:
        address = Address(display_name=mail.one_line(name), addr_spec=email)
    except Exception:  # the mail library raises more than it says
        return None
    if (
        not address.username
        or not address.domain
        or len(address.username) > 64
        or len(address.addr_spec) > 254
        or not address.addr_spec.isascii()
    ):
        return None
    return address


def _maybe_delivered(conn: psycopg.Connection[Row], row: Row) -> int:
    found = conn.execute(_MAYBE_DELIVERED, {"id": row["ad_notification_id"]})
    counted = found.fetchone()
    return int(counted["tries"]) if counted else 0


def _fail_at_once(
    conn: psycopg.Connection[Row], row: Row, reason: str, event: str
) -> None:
    """Fail a mail that trying again cannot help (it would be made from the same
    data, to the same address): the row, its try, the job's log."""
    detail = _sentence(reason)
    _end(conn, row, "failed", counted=1, detail=detail)
    _open_attempt(conn, row, result="error", error=detail)
    _instance_log(conn, row, _log_line(detail))
    log.error(event, error=detail, **_context(row))


def _sentence(reason: str) -> str:
    """A reason as a row's detail shows it: capitalised."""
    return reason[:1].upper() + reason[1:]


def _skip_mail(
    conn: psycopg.Connection[Row], row: Row, reason: str, *, in_log: bool
) -> None:
    detail = _sentence(reason)
    _end(conn, row, "skipped", counted=1, detail=detail)
    _open_attempt(conn, row, result="skipped", error=detail)
    if in_log:
        _instance_log(conn, row, f"No e-mail was sent: {reason}")
    log.info("notification.skipped", reason=reason, **_context(row))


def _send_mail(
    settings: Settings,
    conn: psycopg.Connection[Row],
    row: Row,
    sending: Sending,
) -> None:
    try:
        mail.send(settings, sending.message)
    except Exception as error:  # is_temporary tells which to try again
        _mail_failed(settings, conn, row, sending, error)
        return
    with conn.transaction():
        _close_attempt(conn, row, sending.seqno, "sent", None)
        _end(conn, row, "sent")
        if row["resent"] is not None:
            # Its log said it could not be sent; now it says it went after all.
            _instance_log(
                conn, row, f"The e-mail was sent after all, on try {sending.tries}"
            )
    log.info("notification.sent", tries=sending.tries, **_context(row))


def _mail_failed(
    settings: Settings,
    conn: psycopg.Connection[Row],
    row: Row,
    sending: Sending,
    error: Exception,
) -> None:
    """Record the failed try. A permanent error, or a temporary one past the
    give-up age, ends the delivery; a temporary one raises TryAgain while the
    task has retries left, and is then left to the sweeper. A mail whose end
    went unanswered twice in a row ends too: each such try may have delivered
    a copy, so the server gets at most two."""
    tries = sending.tries
    detail = mail.describe(error)
    temporary = mail.is_temporary(error)
    given_up = (
        temporary and row["age"].total_seconds() > settings.notify_give_up_seconds
    )
    unanswered_again = (
        isinstance(error, mail.Unconfirmed)
        and sending.maybe_delivered + 1 >= MAYBE_DELIVERED_AT_MOST
    )
    final = not temporary or given_up or unanswered_again
    if given_up:
        detail = f"{_given_up(settings)}: {detail}"
    elif unanswered_again:
        detail = (
            f"{detail}; not tried a third time (procserv resend-notifications "
            "sends it again)"
        )
    with conn.transaction():
        _close_attempt(conn, row, sending.seqno, "error", detail)
        _end(conn, row, "failed" if final else "pending", detail=detail)
        if final:
            _instance_log(conn, row, _log_line(detail))
    if final:
        log.error("notification.failed", tries=tries, error=detail, **_context(row))
        return
    if tries > settings.notify_max_retries:
        # Its retries are spent; the sweeper sends it again (resend_stalled).
        log.warning(
            "notification.left_to_sweeper", tries=tries, error=detail, **_context(row)
        )
        return
    seconds = backoff(settings, tries)
    log.warning(
        "notification.retry",
        tries=tries,
        error=detail,
        seconds=round(seconds, 1),
        **_context(row),
    )
    raise TryAgain(seconds, error)


def _job_mail(
    settings: Settings, conn: psycopg.Connection[Row], row: Row
) -> mail.JobMail:
    instance_id = row["ad_pinstance_id"]
    base = public_base(settings)
    logs = conn.execute(_LOGS, {"id": instance_id, "limit": mail.LOG_LINES}).fetchall()
    outputs = conn.execute(_OUTPUTS, {"id": instance_id}).fetchall()
    return mail.JobMail(
        instance_id=instance_id,
        instance_uu=str(row["ad_pinstance_uu"]),
        process=row["process_name"],
        status=row["job_status"],
        summary=row["errormsg"] or "",
        user=row["user_name"],
        client=row["client_name"],
        started=row["started"],
        finished=row["finished"],
        job_url=f"{base}/api/v1/processes/jobs/{instance_id}",
        parameters=_parameters(conn, instance_id),
        logs=[_log_text(line) for line in logs],
        log_count=int(logs[0]["total"]) if logs else 0,
        outputs=[
            mail.MailOutput(
                index=index,
                output_id=output["ad_pinstance_output_id"],
                name=output["name"],
                media_type=output["mediatype"],
                size=int(output["size"]),
                url=f"{base}/{output_path(instance_id, index)}",
            )
            for index, output in enumerate(outputs, start=1)
        ],
    )


def _parameters(
    conn: psycopg.Connection[Row], instance_id: int
) -> list[tuple[str, str]]:
    """The parameters given, each as its name and its value as text."""
    shown = []
    for row in conn.execute(_PARAMETERS, {"id": instance_id}).fetchall():
        value = row["info"] or _text(
            typed_value(
                row["ad_reference_id"], row["p_string"], row["p_number"], row["p_date"]
            )
        )
        value_to = row["info_to"] or _text(
            typed_value(
                row["ad_reference_id"],
                row["p_string_to"],
                row["p_number_to"],
                row["p_date_to"],
            )
        )
        if value and value_to:
            shown.append((row["label"], f"{value} to {value_to}"))
        elif value_to:  # a range open below
            shown.append((row["label"], f"up to {value_to}"))
        elif value and row["isrange"]:  # a range open above
            shown.append((row["label"], f"from {value}"))
        elif value:
            shown.append((row["label"], value))
    return shown


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _log_text(row: Row) -> str:
    if row["p_msg"]:
        return str(row["p_msg"])
    return _text(row["p_number"])


def _chunks(conn: psycopg.Connection[Row], output_id: int) -> Iterator[bytes]:
    index = 0
    while piece := instances.read_chunk(conn, output_id, index):
        yield piece
        index += 1


def public_base(settings: Settings) -> str:
    """The root of the links a worker hands out (mails, notice events)."""
    return (settings.public_url or mail.DEFAULT_PUBLIC_URL).rstrip("/")
