"""The e-mail about a finished job: composed from templates, sent over SMTP.

Nothing here reads the database: ``workers.notify`` gathers what a mail says
(``JobMail``) and passes a reader for the bytes of the outputs it attaches.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.settings import Settings, SmtpSecurity

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# The links of a mail (and of a notice's live event) need the service's address,
# which a worker cannot learn from a request: PUBLIC_URL, else where ``procserv
# web`` listens by default.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
LOG_LINES = 10

_OUTCOMES = {
    "succeeded": "succeeded",
    "failed": "failed",
    "cancelled": "was cancelled",
    "timed_out": "timed out",
}

# What a delivery may be retried after: the connection failed or timed out, or
# the server answered 4xx ("try again later"). Anything else is a bug.
SEND_ERRORS = (smtplib.SMTPException, OSError)


class Unconfirmed(smtplib.SMTPException):
    """The connection failed while the mail was handed over or its answer was
    awaited: the server may have the mail, and a retry may deliver a copy."""

    def __init__(self, error: Exception) -> None:
        super().__init__(
            "the server took the mail but its answer never came, so it may have "
            f"been delivered ({describe(error)})"
        )
        self.error = error


class _Smtp(smtplib.SMTP):
    """Turns a connection lost in DATA, the part of a mail's conversation after
    which the server may hold it, into Unconfirmed."""

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        try:
            return super().data(msg)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            raise Unconfirmed(error) from error


class _SmtpTls(smtplib.SMTP_SSL, _Smtp):
    pass


_templates = Environment(
    loader=PackageLoader("workers", "templates/mail"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class MailOutput:
    index: int  # from 1, as the job's outputs and their download route count
    output_id: int
    name: str
    media_type: str
    size: int
    url: str


@dataclass(frozen=True)
class JobMail:
    """What the mail about one finished job says."""

    instance_id: int
    instance_uu: str
    process: str
    status: str
    summary: str
    user: str
    client: str
    started: dt.datetime | None
    finished: dt.datetime | None
    job_url: str
    parameters: Sequence[tuple[str, str]]
    logs: Sequence[str]  # the first LOG_LINES lines
    log_count: int  # all lines of the run
    outputs: Sequence[MailOutput]

    @property
    def outcome(self) -> str:
        return outcome(self.status)


def outcome(status: str) -> str:
    """How a subject or a notice says the job ended: "succeeded", "failed" ..."""
    return _OUTCOMES.get(status, status.replace("_", " "))


def message_id(instance_uu: str) -> str:
    """The one Message-ID of a job's mail: each try sends it again, so a mail
    sent twice (see ``notify``) is recognisable as the same message."""
    return f"<pinstance-{instance_uu}-E@procserv>"


def subject(job: JobMail) -> str:
    return one_line(f"{job.process} {job.outcome} (job {job.instance_id})")


def one_line(text: str) -> str:
    """Text fit for a header: a name may hold line breaks (a translation file
    can bring them), which a header must not; runs of white space become one
    space."""
    return " ".join(text.split())


def compose(
    settings: Settings,
    job: JobMail,
    recipient: Address,
    message_id: str,
    read: Callable[[int], Iterable[bytes]],
) -> EmailMessage:
    """The mail: plain text and HTML, with the outputs that fit in
    MAIL_ATTACH_LIMIT attached (``read`` gives an output's bytes in chunks)."""
    attached = _attached(job.outputs, settings.mail_attach_limit)
    context = {
        "job": job,
        "outcome": job.outcome,
        "duration": _duration(job.started, job.finished),
        "attached": {output.index for output in attached},
        "size": _size,
        "moment": _moment,
    }
    message = EmailMessage()
    message["Subject"] = subject(job)
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = message_id
    # RFC 3834: no auto-replies ("out of office") to a machine's mail.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_templates.get_template("job.txt").render(context))
    message.add_alternative(
        _templates.get_template("job.html").render(context), subtype="html"
    )
    for output in attached:
        maintype, _, subtype = output.media_type.partition("/")
        message.add_attachment(
            b"".join(read(output.output_id)),
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=one_line(output.name) or "output",
        )
    return message


def _attached(outputs: Sequence[MailOutput], limit: int) -> list[MailOutput]:
    """The first outputs whose sizes add up to at most ``limit``; from the first
    that does not fit on, the mail only links to them."""
    chosen: list[MailOutput] = []
    total = 0
    for output in outputs:
        total += output.size
        if total > limit:
            break
        chosen.append(output)
    return chosen


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the mail to the SMTP server; raises one of SEND_ERRORS when it was
    not accepted."""
    smtp = _connect(settings)
    try:
        if settings.smtp_security is SmtpSecurity.STARTTLS:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        _patience(smtp, settings.smtp_send_timeout_seconds)
        smtp.send_message(message)
    finally:
        # Once the server has accepted the mail, a failed goodbye must not turn
        # the delivery into an error (its retry would send the mail again), nor
        # take longer than a greeting may.
        _patience(smtp, settings.smtp_timeout_seconds)
        with suppress(*SEND_ERRORS):
            smtp.quit()
        smtp.close()


def _patience(smtp: smtplib.SMTP, seconds: float) -> None:
    if smtp.sock is not None:
        smtp.sock.settimeout(seconds)


def _connect(settings: Settings) -> smtplib.SMTP:
    host, port = settings.smtp_host, settings.smtp_port_or_default
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security is SmtpSecurity.TLS:
        context = ssl.create_default_context()
        return _SmtpTls(host, port, timeout=timeout, context=context)
    return _Smtp(host, port, timeout=timeout)


def is_temporary(error: Exception) -> bool:
    """Whether trying again later may succeed: RFC 5321 makes 5xx answers
    permanent; a lost connection, a timeout or a 4xx answer is not."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code < 500
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return False  # e.g. STARTTLS asked of a server that has none
    if isinstance(error, ssl.SSLError) and not isinstance(
        error, ssl.SSLEOFError | ssl.SSLZeroReturnError
    ):
        return False  # TLS refused: a certificate or a setting to mend
    return isinstance(error, SEND_ERRORS)


def describe(error: Exception) -> str:
    """The error as the job's notification shows it: the server's answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"SMTP {code} {_decoded(answer)} ({address})"
            for address, (code, answer) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code} {_decoded(error.smtp_error)}"
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _decoded(answer: bytes | str) -> str:
    if isinstance(answer, bytes):
        return answer.decode("utf-8", "replace")
    return answer


def _duration(started: dt.datetime | None, finished: dt.datetime | None) -> str:
    if started is None or finished is None:
        return ""
    seconds = (finished - started).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {rest} s"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _moment(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
