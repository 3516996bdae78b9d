"""A local SMTP server for development: accepts any mail and keeps it as files.

``make run`` starts it when no ``SMTP_HOST`` is set, so the mail the workers
send lands in ``<VAR_DIR>/mail/`` instead of going anywhere: one ``.eml`` file
per message, named so that ``ls`` lists them in the order they came, which any
mail program opens. Production sends through a real SMTP server.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import os
import signal
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import suppress
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session

CATCHER_HOST = "127.0.0.1"
# The greeting's name; the default asks DNS for the host's FQDN, which can hang.
SERVER_NAME = "procserv-mail-catcher"
# Above any sensible MAIL_ATTACH_LIMIT plus base64's third; the whole message is
# held in memory while it arrives.
MAX_MESSAGE_BYTES = 100 * 1024 * 1024
# Names tried for one message before it is refused (451): a folder where that
# many are taken in one second is not being written by catchers alone.
NAME_TRIES = 1000

log = structlog.get_logger(__name__)


class MailFolder:
    """The aiosmtpd handler: keeps each message as ``<folder>/<name>.eml``.

    The name is ``YYYYmmdd-HHMMSS-<seq>-<id>.eml`` (UTC, then the message's
    number since the catcher started); ``<id>`` is derived from the message's
    ``Message-ID``, so a message sent twice shows as two files ending alike. A
    name some file already has (another catcher writes into the folder too, or
    one ran before in the same second) is passed over for the next number.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._numbers = itertools.count(1)

    async def handle_DATA(  # aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        try:
            path = self.keep(
                envelope.mail_from or "",
                envelope.rcpt_tos,
                envelope.original_content or b"",
            )
        except OSError:
            log.exception("mail.not_kept", folder=str(self.folder))
            # 4xx: the sender keeps the message and tries again later.
            return "451 Requested action aborted: cannot store the message"
        return f"250 Kept as {path.name}"

    def keep(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> Path:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(content)
        names = self._file_names(str(headers.get("Message-ID", "")))
        # The envelope says who it was really for (Bcc recipients included).
        envelope = f"Return-Path: <{mail_from}>\r\n"
        envelope += f"X-Envelope-To: {', '.join(rcpt_tos)}\r\n"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = write_new(self.folder, names, envelope.encode() + content)
        log.info(
            "mail.caught",
            mail_from=mail_from,
            to=rcpt_tos,
            subject=str(headers.get("Subject", "")),
            file=str(path),
        )
        return path

    def _file_names(self, message_id: str) -> Iterator[str]:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        if message_id.strip():
            short = hashlib.sha256(message_id.strip().encode()).hexdigest()[:8]
        else:
            short = uuid.uuid4().hex[:8]
        for number in itertools.islice(self._numbers, NAME_TRIES):
            yield f"{stamp}-{number:06d}-{short}.eml"


def write_new(folder: Path, names: Iterable[str], data: bytes) -> Path:
    """Write ``data`` whole as the first of ``names`` that no file has yet.

    The bytes go to a hidden temporary file (not ``*.eml``, so globbing skips
    it), which then gets its name by a hard link: a reader never sees half a
    message, and unlike a rename a link fails rather than replace a file that
    another writer gave that name in the meantime.
    """
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        for name in names:
            with suppress(FileExistsError):
                os.link(temporary, folder / name)
                return folder / name
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    raise FileExistsError(f"no free file name in {folder}")


async def open_catcher(
    folder: Path, port: int = 0, host: str = CATCHER_HOST
) -> asyncio.Server:
    """Listen on ``host:port`` (0: any free port) and keep mail in ``folder``."""
    loop = asyncio.get_running_loop()
    handler = MailFolder(folder)
    return await loop.create_server(
        lambda: SMTP(
            handler,
            hostname=SERVER_NAME,
            data_size_limit=MAX_MESSAGE_BYTES,
            enable_SMTPUTF8=True,
            loop=loop,
        ),
        host,
        port,
    )


def bound_port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def catch_mail(folder: Path, port: int = 0, host: str = CATCHER_HOST) -> None:
    """Serve until SIGINT or SIGTERM: ``procserv mail-catcher``."""
    # aiosmtpd logs every SMTP command at INFO; mail.caught says what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    async with await open_catcher(folder, port, host) as server:
        log.info(
            "mail.catcher_started",
            host=host,
            port=bound_port(server),
            folder=str(folder),
        )
        await stopping.wait()
    log.info("mail.catcher_stopped")
