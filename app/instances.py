"""Every SQL statement about instances (AD_PInstance and its parameters, log and
outputs, and the deliveries a job shows), for the API (async) and the workers
(sync) alike.

State changes are guarded: a worker claims a queued instance by raising its
attempt counter, and every later write names that attempt, so a worker that was
presumed dead can never overwrite a newer attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from app.db import Row
from processes.context import Upload

UNFINISHED = ("queued", "running")
CHUNK_BYTES = 1024 * 1024


class StaleAttempt(Exception):
    """The instance no longer belongs to this attempt (another worker took it over,
    or it was finished elsewhere); the writer must stop."""


# --- API side ---------------------------------------------------------------

_LOCK_PROCESS = "SELECT pg_advisory_xact_lock(%s, %s)"

_CONFLICTING = """
SELECT ad_pinstance_id FROM ad_pinstance
 WHERE ad_process_id = %(process_id)s AND ad_client_id = %(client_id)s
   AND status IN ('queued', 'running') AND record_id = %(record_id)s
   AND (NOT %(same_user)s OR ad_user_id = %(user_id)s)
   AND (NOT %(same_params)s OR paramsdigest = %(digest)s)
 LIMIT 1
"""

_INSERT_INSTANCE = """
INSERT INTO ad_pinstance (ad_client_id, ad_org_id, ad_process_id, ad_user_id,
    ad_role_id, ad_language, record_id, ad_table_id, isprocessing, isrunasjob,
    notificationtype, reporttype, issummary, ad_printformat_id, externaltraceid,
    queue, paramsdigest, createdby, updatedby)
VALUES (%(client_id)s, %(org_id)s, %(process_id)s, %(user_id)s, %(role_id)s,
    %(language)s, %(record_id)s, %(table_id)s, %(is_job)s, %(is_job)s,
    %(notification_type)s, %(report_type)s, %(is_summary)s, %(print_format)s,
    %(trace_id)s, %(queue)s, %(digest)s, %(user_id)s, %(user_id)s)
RETURNING ad_pinstance_id, created
"""

_INSERT_PARAMETER = """
INSERT INTO ad_pinstance_para (ad_pinstance_id, seqno, parametername, p_string,
    p_string_to, p_number, p_number_to, p_date, p_date_to, info, info_to)
VALUES (%(instance_id)s, %(seqno)s, %(name)s, %(p_string)s, %(p_string_to)s,
    %(p_number)s, %(p_number_to)s, %(p_date)s, %(p_date_to)s, %(info)s,
    %(info_to)s)
"""

# An upload is stored whole before its instance is queued, so it has its size.
_INSERT_UPLOAD = """
INSERT INTO ad_pinstance_output (ad_pinstance_id, seqno, kind, attempt, name,
                                 mediatype, size, sha256)
VALUES (%(instance_id)s, %(seqno)s, 'upload', 0, %(name)s, %(media_type)s,
        %(size)s, %(sha256)s)
RETURNING ad_pinstance_output_id
"""

_SELECT_INSTANCE = """
SELECT i.*, p.value AS process_value, p.slug AS process_slug, p.name AS process_name,
       c.name AS client_name, u.name AS user_name
  FROM ad_pinstance i
  JOIN ad_process p USING (ad_process_id)
  JOIN ad_client c ON c.ad_client_id = i.ad_client_id
  JOIN ad_user u ON u.ad_user_id = i.createdby
 WHERE i.ad_pinstance_id = %(id)s AND i.ad_client_id = %(client_id)s
"""

_SELECT_RUNNING_JOBS = """
SELECT i.*, p.slug AS process_slug, c.name AS client_name, u.name AS user_name
  FROM ad_pinstance i
  JOIN ad_process p USING (ad_process_id)
  JOIN ad_client c ON c.ad_client_id = i.ad_client_id
  JOIN ad_user u ON u.ad_user_id = i.createdby
 WHERE i.isprocessing AND i.isrunasjob AND i.isactive AND i.ad_client_id = %(client_id)s
 ORDER BY i.ad_pinstance_id
"""

_SELECT_LOGS = """
SELECT log_id, p_id, p_date, p_number, p_msg, ad_table_id, record_id, jsondata
  FROM ad_pinstance_log
 WHERE ad_pinstance_id = %(id)s
 ORDER BY log_id
"""

_SELECT_OUTPUTS = """
SELECT ad_pinstance_output_id, seqno, kind, name, mediatype, size, sha256
  FROM ad_pinstance_output
 WHERE ad_pinstance_id = %(id)s AND kind <> 'upload' AND size IS NOT NULL
 ORDER BY created, ad_pinstance_output_id
"""

_SELECT_NOTIFICATIONS = """
SELECT ad_notification_id, channel, status, attempts, recipient, detail, delivered
  FROM ad_notification
 WHERE ad_pinstance_id = %(id)s
 ORDER BY channel
"""

_SELECT_DELIVERY_TRIES = """
SELECT a.ad_notification_id, a.seqno, a.started, a.finished, a.result, a.error
  FROM ad_notification_attempt a
  JOIN ad_notification n USING (ad_notification_id)
 WHERE n.ad_pinstance_id = %(id)s
 ORDER BY a.ad_notification_id, a.seqno
"""

_SELECT_CHUNKS = """
SELECT seqno, data FROM ad_pinstance_output_chunk
 WHERE ad_pinstance_output_id = %(id)s AND seqno > %(after)s
 ORDER BY seqno
 LIMIT %(limit)s
"""

_CONTINUE_AS_JOB = """
UPDATE ad_pinstance
   SET isrunasjob = true, notificationtype = COALESCE(notificationtype, 'X'),
       isprocessing = true, updated = now()
 WHERE ad_pinstance_id = %(id)s AND status IN ('queued', 'running')
RETURNING ad_pinstance_id
"""


# A parameter's display texts follow its value (in the caller's language), so two
# requests with the same values are the same request whatever they show.
_DISPLAY_KEYS = ("info", "info_to")


@dataclass(frozen=True)
class NewInstance:
    client_id: int
    org_id: int
    process_id: int
    user_id: int
    role_id: int
    language: str
    record_id: int
    table_id: int | None
    is_job: bool
    notification_type: str | None
    report_type: str | None
    is_summary: bool
    print_format: str | None
    trace_id: str | None
    queue: str
    parameters: Sequence[Mapping[str, Any]]
    # Files sent for FileName parameters, by the parameter's seqno.
    uploads: Sequence[tuple[int, Upload]] = ()

    @property
    def digest(self) -> str:
        """The parameters as one comparable text, for AllowMultipleExecution P/PA;
        an uploaded file counts by its content, not only its name."""
        canonical = repr(
            [
                sorted((k, str(v)) for k, v in p.items() if k not in _DISPLAY_KEYS)
                for p in self.parameters
            ]
            + [(seqno, upload.sha256) for seqno, upload in self.uploads]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


async def find_conflict(
    conn: psycopg.AsyncConnection[Row], new: NewInstance, allow_multiple: str
) -> int | None:
    """Lock the process for this tenant and return a conflicting unfinished
    instance, if AllowMultipleExecution forbids running beside it.

    The lock lasts until the caller's transaction ends, so a check and the insert
    that follows it cannot interleave with another request's.
    """
    if allow_multiple == "Y":
        return None
    await conn.execute(_LOCK_PROCESS, (new.process_id, new.client_id))
    row = await (
        await conn.execute(
            _CONFLICTING,
            {
                "process_id": new.process_id,
                "client_id": new.client_id,
                "record_id": new.record_id,
                "same_user": allow_multiple in ("N", "P"),
                "user_id": new.user_id,
                "same_params": allow_multiple in ("P", "PA"),
                "digest": new.digest,
            },
        )
    ).fetchone()
    return None if row is None else int(row["ad_pinstance_id"])


async def insert_instance(conn: psycopg.AsyncConnection[Row], new: NewInstance) -> Row:
    values = {
        "client_id": new.client_id,
        "org_id": new.org_id,
        "process_id": new.process_id,
        "user_id": new.user_id,
        "role_id": new.role_id,
        "language": new.language,
        "record_id": new.record_id,
        "table_id": new.table_id,
        "is_job": new.is_job,
        "notification_type": new.notification_type,
        "report_type": new.report_type,
        "is_summary": new.is_summary,
        "print_format": new.print_format,
        "trace_id": new.trace_id,
        "queue": new.queue,
        "digest": new.digest,
    }
    row = await (await conn.execute(_INSERT_INSTANCE, values)).fetchone()
    assert row is not None
    async with conn.cursor() as cur:
        await cur.executemany(
            _INSERT_PARAMETER,
            [{"instance_id": row["ad_pinstance_id"], **p} for p in new.parameters],
        )
    for seqno, upload in new.uploads:
        await _insert_upload(conn, row["ad_pinstance_id"], seqno, upload)
    return row


async def _insert_upload(
    conn: psycopg.AsyncConnection[Row], instance_id: int, seqno: int, upload: Upload
) -> None:
    """Store an uploaded file as chunks of ``CHUNK_BYTES`` (the worker finds a
    byte by its chunk's index, so every chunk but the last is full)."""
    values = {
        "instance_id": instance_id,
        "seqno": seqno,
        "name": upload.name,
        "media_type": upload.media_type,
        "size": upload.size,
        "sha256": upload.sha256,
    }
    output = await (await conn.execute(_INSERT_UPLOAD, values)).fetchone()
    assert output is not None
    with upload.open() as stream:
        pieces = iter(lambda: stream.read(CHUNK_BYTES), b"")
        for index, data in enumerate(pieces, start=1):
            await conn.execute(
                _INSERT_CHUNK,
                {
                    "output_id": output["ad_pinstance_output_id"],
                    "seqno": index,
                    "data": data,
                },
            )


async def fetch_instance(
    conn: psycopg.AsyncConnection[Row], instance_id: int, client_id: int
) -> Row | None:
    cursor = await conn.execute(
        _SELECT_INSTANCE, {"id": instance_id, "client_id": client_id}
    )
    return await cursor.fetchone()


async def fetch_running_jobs(
    conn: psycopg.AsyncConnection[Row], client_id: int
) -> list[Row]:
    cursor = await conn.execute(_SELECT_RUNNING_JOBS, {"client_id": client_id})
    return await cursor.fetchall()


async def fetch_logs(conn: psycopg.AsyncConnection[Row], instance_id: int) -> list[Row]:
    return await (await conn.execute(_SELECT_LOGS, {"id": instance_id})).fetchall()


async def fetch_outputs(
    conn: psycopg.AsyncConnection[Row], instance_id: int
) -> list[Row]:
    return await (await conn.execute(_SELECT_OUTPUTS, {"id": instance_id})).fetchall()


async def fetch_notifications(
    conn: psycopg.AsyncConnection[Row], instance_id: int
) -> list[Row]:
    """The job's deliveries, one per channel."""
    cursor = await conn.execute(_SELECT_NOTIFICATIONS, {"id": instance_id})
    return await cursor.fetchall()


async def fetch_delivery_tries(
    conn: psycopg.AsyncConnection[Row], instance_id: int
) -> dict[int, list[Row]]:
    """Every try of every delivery of the job, in one query: by notification id,
    each list in seqno order."""
    cursor = await conn.execute(_SELECT_DELIVERY_TRIES, {"id": instance_id})
    tries: dict[int, list[Row]] = {}
    for row in await cursor.fetchall():
        tries.setdefault(row["ad_notification_id"], []).append(row)
    return tries


async def read_output(
    conn: psycopg.AsyncConnection[Row], output_id: int, *, batch: int = 8
) -> AsyncIterator[bytes]:
    """The stored bytes of one output, a few chunks per query, each query going
    on after the last chunk the previous one read."""
    after = 0  # chunks are numbered from 1
    while True:
        rows = await (
            await conn.execute(
                _SELECT_CHUNKS, {"id": output_id, "after": after, "limit": batch}
            )
        ).fetchall()
        for row in rows:
            yield bytes(row["data"])
        if len(rows) < batch:
            return
        after = rows[-1]["seqno"]


async def continue_as_job(conn: psycopg.AsyncConnection[Row], instance_id: int) -> bool:
    """Turn a synchronous run that outlasted the wait into a background job (D14)."""
    row = await (await conn.execute(_CONTINUE_AS_JOB, {"id": instance_id})).fetchone()
    return row is not None


# --- worker side ------------------------------------------------------------

_CLAIM = """
UPDATE ad_pinstance
   SET status = 'running', attempt = attempt + 1, isprocessing = true,
       worker = %(worker)s, started = now(), updated = now()
 WHERE ad_pinstance_id = %(id)s AND status = 'queued'
RETURNING ad_pinstance_id, attempt, ad_client_id, ad_org_id, ad_user_id,
          ad_role_id, ad_language, record_id, ad_table_id, reporttype, issummary,
          ad_printformat_id, externaltraceid, isrunasjob,
          (SELECT classname FROM ad_process p
            WHERE p.ad_process_id = ad_pinstance.ad_process_id) AS classname,
          (SELECT value FROM ad_process p
            WHERE p.ad_process_id = ad_pinstance.ad_process_id) AS process_value
"""

# With each parameter, the file uploaded for it, if any.
_SELECT_PARAMETERS = """
SELECT ip.parametername, ip.p_string, ip.p_string_to, ip.p_number, ip.p_number_to,
       ip.p_date, ip.p_date_to, pp.ad_reference_id,
       o.ad_pinstance_output_id AS upload_id, o.name AS upload_name,
       o.mediatype AS upload_media_type, o.size AS upload_size,
       o.sha256 AS upload_sha256
  FROM ad_pinstance_para ip
  JOIN ad_pinstance i USING (ad_pinstance_id)
  LEFT JOIN ad_process_para pp
    ON pp.ad_process_id = i.ad_process_id AND pp.columnname = ip.parametername
  LEFT JOIN ad_pinstance_output o
    ON o.ad_pinstance_id = ip.ad_pinstance_id AND o.kind = 'upload'
   AND o.seqno = ip.seqno
 WHERE ip.ad_pinstance_id = %(id)s
 ORDER BY ip.seqno
"""

_SELECT_CHUNK = """
SELECT data FROM ad_pinstance_output_chunk
 WHERE ad_pinstance_output_id = %(id)s AND seqno = %(seqno)s
"""

_FINISH = """
UPDATE ad_pinstance
   SET status = %(status)s, isprocessing = false, result = %(result)s,
       errormsg = %(summary)s, jsondata = %(data)s, finished = now(),
       progress_percent = CASE WHEN %(status)s = 'succeeded' THEN 100
                               ELSE progress_percent END,
       updated = now()
 WHERE ad_pinstance_id = %(id)s AND attempt = %(attempt)s AND status = 'running'
RETURNING ad_pinstance_id, isrunasjob
"""

_PROGRESS = """
UPDATE ad_pinstance
   SET progress_percent = %(percent)s, progress_message = %(message)s, updated = now()
 WHERE ad_pinstance_id = %(id)s AND attempt = %(attempt)s AND status = 'running'
RETURNING ad_pinstance_id
"""

_INSERT_LOG = """
INSERT INTO ad_pinstance_log (ad_pinstance_id, attempt, p_date, p_number, p_msg,
                              ad_table_id, record_id, jsondata)
SELECT ad_pinstance_id, attempt, %(date)s, %(number)s, %(message)s, %(table_id)s,
       %(record_id)s, %(data)s
  FROM ad_pinstance
 WHERE ad_pinstance_id = %(id)s AND attempt = %(attempt)s AND status = 'running'
RETURNING log_id
"""

_INSERT_OUTPUT = """
INSERT INTO ad_pinstance_output (ad_pinstance_id, seqno, kind, attempt, name, mediatype)
SELECT ad_pinstance_id,
       (SELECT COALESCE(max(seqno), 0) + 1 FROM ad_pinstance_output o
         WHERE o.ad_pinstance_id = %(id)s AND o.kind = %(kind)s),
       %(kind)s, attempt, %(name)s, %(media_type)s
  FROM ad_pinstance
 WHERE ad_pinstance_id = %(id)s AND attempt = %(attempt)s AND status = 'running'
RETURNING ad_pinstance_output_id
"""

_INSERT_CHUNK = """
INSERT INTO ad_pinstance_output_chunk (ad_pinstance_output_id, seqno, data)
VALUES (%(output_id)s, %(seqno)s, %(data)s)
"""

_CLOSE_OUTPUT = """
UPDATE ad_pinstance_output SET size = %(size)s, sha256 = %(sha256)s
 WHERE ad_pinstance_output_id = %(output_id)s
"""


_RESEND = """
UPDATE ad_pinstance SET sent = now()
 WHERE status = 'queued' AND sent < now() - make_interval(secs => %(after)s)
RETURNING ad_pinstance_id, queue
"""


def due_for_resend(conn: psycopg.Connection[Row], after_seconds: float) -> list[Row]:
    """Queued instances handed to the broker more than ``after_seconds`` ago,
    marked as sent again now."""
    return conn.execute(_RESEND, {"after": after_seconds}).fetchall()


def claim(conn: psycopg.Connection[Row], instance_id: int, worker: str) -> Row | None:
    """Take a queued instance for this worker; None when it is not queued."""
    return conn.execute(_CLAIM, {"id": instance_id, "worker": worker}).fetchone()


def load_parameters(conn: psycopg.Connection[Row], instance_id: int) -> list[Row]:
    return conn.execute(_SELECT_PARAMETERS, {"id": instance_id}).fetchall()


def read_chunk(conn: psycopg.Connection[Row], output_id: int, index: int) -> bytes:
    """The chunk at ``index`` (from 0) of a stored file; b"" past its end."""
    row = conn.execute(_SELECT_CHUNK, {"id": output_id, "seqno": index + 1}).fetchone()
    return b"" if row is None else bytes(row["data"])


def finish(
    conn: psycopg.Connection[Row],
    instance_id: int,
    attempt: int,
    *,
    succeeded: bool,
    summary: str | None,
    data: Mapping[str, Any] | None,
) -> Row | None:
    """Record the outcome, if this attempt still holds the instance."""
    return conn.execute(
        _FINISH,
        {
            "id": instance_id,
            "attempt": attempt,
            "status": "succeeded" if succeeded else "failed",
            "result": 1 if succeeded else 0,
            "summary": summary,
            "data": None if data is None else Jsonb(data),
        },
    ).fetchone()


class InstanceRecord:
    """The writes a claimed attempt may make; each commits at once (autocommit
    connection), so the log and progress are visible while the process runs."""

    def __init__(self, conn: psycopg.Connection[Row], instance_id: int, attempt: int):
        self.conn = conn
        self.instance_id = instance_id
        self.attempt = attempt

    def _guarded(self, statement: str, values: Mapping[str, Any]) -> Row:
        row = self.conn.execute(
            statement, {"id": self.instance_id, "attempt": self.attempt, **values}
        ).fetchone()
        if row is None:
            raise StaleAttempt(f"instance {self.instance_id} attempt {self.attempt}")
        return row

    def log(
        self,
        message: str | None,
        *,
        number: float | int | None,
        date: Any,
        data: Mapping[str, Any] | None,
        table_id: int | None,
        record_id: int | None,
    ) -> None:
        self._guarded(
            _INSERT_LOG,
            {
                "message": message,
                "number": number,
                "date": date,
                "data": None if data is None else Jsonb(dict(data)),
                "table_id": table_id,
                "record_id": record_id,
            },
        )

    def progress(self, percent: float, message: str) -> None:
        self._guarded(_PROGRESS, {"percent": round(percent, 2), "message": message})

    @contextmanager
    def output(self, name: str, media_type: str, kind: str) -> Iterator[OutputStream]:
        with self.conn.transaction():
            row = self._guarded(
                _INSERT_OUTPUT, {"name": name, "media_type": media_type, "kind": kind}
            )
            stream = OutputStream(self.conn, int(row["ad_pinstance_output_id"]))
            yield stream
            stream.close()


class OutputStream:
    """Writes one output in fixed-size chunks, hashing as it goes."""

    def __init__(self, conn: psycopg.Connection[Row], output_id: int) -> None:
        self.conn = conn
        self.output_id = output_id
        self.buffer = bytearray()
        self.seqno = 0
        self.size = 0
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= CHUNK_BYTES:
            self._flush(bytes(self.buffer[:CHUNK_BYTES]))
            del self.buffer[:CHUNK_BYTES]

    def close(self) -> None:
        if self.buffer or self.seqno == 0:
            self._flush(bytes(self.buffer))
            self.buffer.clear()
        self.conn.execute(
            _CLOSE_OUTPUT,
            {
                "output_id": self.output_id,
                "size": self.size,
                "sha256": self.hash.hexdigest(),
            },
        )

    def _flush(self, piece: bytes) -> None:
        self.seqno += 1
        self.size += len(piece)
        self.hash.update(piece)
        self.conn.execute(
            _INSERT_CHUNK,
            {"output_id": self.output_id, "seqno": self.seqno, "data": piece},
        )
