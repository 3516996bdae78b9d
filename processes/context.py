"""What a running process is given, and what it gives back.

A process function receives a ``Context`` and returns a ``Result``, a summary
string, or nothing. Raising ends the instance with ``isError`` and the message as
its summary; the worker itself carries on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import mimetypes
from collections.abc import Callable, Iterable, Iterator, Mapping
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


@dataclass(frozen=True)
class Upload:
    """A file a client sent for a FileName parameter.

    ``name`` is only a name (the last part of what the client sent), never a path
    on this machine. ``open()`` gives a seekable binary file that fetches the
    bytes piece by piece, so a process never has to hold the file whole;
    ``read()`` gives all of it at once.
    """

    name: str
    size: int
    media_type: str
    sha256: str
    _open: Callable[[], BinaryIO] = field(repr=False, compare=False)

    def open(self) -> BinaryIO:
        return self._open()

    def read(self) -> bytes:
        with self.open() as stream:
            return stream.read()

    @classmethod
    def from_bytes(cls, name: str, content: bytes) -> Upload:
        return cls(
            name,
            len(content),
            media_type_of(name),
            hashlib.sha256(content).hexdigest(),
            lambda: io.BytesIO(content),
        )

    @classmethod
    def from_chunks(
        cls,
        name: str,
        size: int,
        media_type: str,
        sha256: str,
        *,
        chunk_size: int,
        fetch: Callable[[int], bytes],
    ) -> Upload:
        """An upload stored as chunks of ``chunk_size`` bytes (the last may be
        shorter); ``fetch(index)`` returns the chunk at that index, from 0."""

        def open_chunks() -> BinaryIO:
            raw = _ChunkedFile(size, chunk_size, fetch)
            return io.BufferedReader(raw, buffer_size=min(chunk_size, _PIECE))

        return cls(name, size, media_type, sha256, open_chunks)


def media_type_of(name: str) -> str:
    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


class _ChunkedFile(io.RawIOBase):
    """A read-only, seekable file over fixed-size chunks fetched when needed;
    only the chunk being read is held."""

    def __init__(self, size: int, chunk_size: int, fetch: Callable[[int], bytes]):
        super().__init__()
        self._size = size
        self._chunk_size = chunk_size
        self._fetch = fetch
        self._position = 0
        self._index = -1
        self._chunk = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}
        position = start[whence] + offset
        if position < 0:
            raise ValueError(f"negative seek position {position}")
        self._position = position
        return position

    def readinto(self, buffer: Any) -> int:
        if self._position >= self._size:
            return 0
        index, start = divmod(self._position, self._chunk_size)
        if index != self._index:
            self._chunk = self._load(index)
            self._index = index
        piece = self._chunk[start : start + len(buffer)]
        buffer[: len(piece)] = piece
        self._position += len(piece)
        return len(piece)

    def _load(self, index: int) -> bytes:
        chunk = self._fetch(index)
        expected = min(self._chunk_size, self._size - index * self._chunk_size)
        if len(chunk) != expected:
            raise OSError(
                f"stored chunk {index} has {len(chunk)} bytes, not {expected}"
            )
        return chunk


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
    # The print-format-id of the request, as sent (an id or a UUID); None for the
    # report's default format.
    print_format: str | None = None
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
