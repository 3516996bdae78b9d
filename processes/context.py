"""What a running process is given, and what it gives back.

A process function receives a ``Context`` and returns a ``Result``, a summary
string, or nothing. Raising ends the instance with ``isError`` and the message as
its summary; the worker itself carries on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

import psycopg

from app.db import Row


@dataclass(frozen=True)
class Result:
    summary: str = ""
    data: dict[str, Any] | None = None


class ProcessError(Exception):
    """Raised by a process to end its instance as failed with this message."""


class OutputWriter(Protocol):
    def write(self, data: bytes) -> None: ...


class InstanceWriter(Protocol):
    """The instance's own record, as the worker that claimed it may write it."""

    def log(
        self,
        message: str | None,
        *,
        number: float | int | None,
        date: dt.datetime | None,
        data: Mapping[str, Any] | None,
        table_id: int | None,
        record_id: int | None,
    ) -> None: ...

    def progress(self, percent: float, message: str) -> None: ...

    def output(
        self, name: str, media_type: str, kind: str
    ) -> Any: ...  # a context manager yielding an OutputWriter


@dataclass
class Context:
    """One run of a process: its parameters, where it was called from, its log."""

    instance_id: int
    process_value: str
    client_id: int
    org_id: int
    user_id: int
    role_id: int
    language: str
    params: Mapping[str, Any]
    params_to: Mapping[str, Any]
    record_id: int | None
    table_id: int | None
    report_type: str | None
    is_summary: bool
    writer: InstanceWriter
    database_url: str
    _db: psycopg.Connection[Row] | None = field(default=None, repr=False)

    def log(
        self,
        message: str | None = None,
        *,
        number: float | int | None = None,
        date: dt.datetime | None = None,
        data: Mapping[str, Any] | None = None,
        table_id: int | None = None,
        record_id: int | None = None,
    ) -> None:
        """Add a line to the instance's log (an AD_PInstance_Log row), at once."""
        self.writer.log(
            message,
            number=number,
            date=date,
            data=data,
            table_id=table_id,
            record_id=record_id,
        )

    def progress(self, percent: float, message: str = "") -> None:
        """Say how far the run is; watchers of the job see it at once."""
        self.writer.progress(max(0.0, min(100.0, float(percent))), message)

    @contextmanager
    def open_output(
        self, name: str, media_type: str, *, kind: str = "export"
    ) -> Iterator[OutputWriter]:
        """Write a file the instance produces, in pieces, into the outputs store."""
        with self.writer.output(name, media_type, kind) as out:
            yield out

    def attach(
        self,
        name: str,
        content: bytes | Iterable[bytes] | BinaryIO,
        media_type: str,
        *,
        kind: str = "export",
    ) -> None:
        """Store a whole file (bytes, an iterable of pieces, or a binary file)."""
        with self.open_output(name, media_type, kind=kind) as out:
            for piece in _pieces(content):
                out.write(piece)

    @property
    def db(self) -> psycopg.Connection[Row]:
        """A connection for the process's own queries, in one transaction that is
        committed when the process returns and rolled back when it raises."""
        if self._db is None:
            from app.db import connect  # noqa: PLC0415 - only processes that query pay

            self._db = connect(self.database_url)
        return self._db

    def close(self, *, commit: bool) -> None:
        if self._db is None:
            return
        try:
            if commit:
                self._db.commit()
            else:
                self._db.rollback()
        finally:
            self._db.close()
            self._db = None


_PIECE = 1024 * 1024


def _pieces(content: bytes | Iterable[bytes] | BinaryIO) -> Iterator[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        view = memoryview(content)
        for start in range(0, len(view), _PIECE):
            yield bytes(view[start : start + _PIECE])
    elif hasattr(content, "read"):
        while piece := content.read(_PIECE):
            yield piece
    else:
        yield from content
