"""The translation files inside an upload: one ``.xml`` file, or the entries of a
``.zip`` named ``*_<lang>.xml``, as iDempiere's import picks them.

Nothing is ever extracted to disk: entries are read straight from the zip, and
within bounds, because a zip can claim little and inflate to a lot. An entry
whose name is absolute or climbs out with ``..`` is ignored, and said so.
"""

from __future__ import annotations

import io
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from processes.context import Upload
from processes.translation.trlread import TrlFileError, shown

_UNSAFE_PATH = re.compile(r"^([/\\]|[A-Za-z]:)|(^|[/\\])\.\.([/\\]|$)")
_PIECE = 64 * 1024
# What reading a damaged or unusual zip raises, from zipfile and its decompressors.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)
_ENCRYPTED = 0x1
_UTF8_NAME = 0x800
_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


@dataclass(frozen=True)
class Limits:
    """How much an uploaded zip may hold: entries, and bytes once decompressed."""

    entries: int
    unzipped_bytes: int


@dataclass(frozen=True)
class TrlEntry:
    """One translation file of the upload, opened as often as needed."""

    name: str
    open: Callable[[], BinaryIO]


@dataclass
class TrlFiles:
    """The translation files found, and why the other entries were left out."""

    entries: list[TrlEntry] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@contextmanager
def translation_files(
    upload: Upload, language: str, limits: Limits
) -> Iterator[TrlFiles]:
    """The translation files of the upload for ``language``, readable until the
    block ends. Raises ``TrlFileError`` for a file that cannot hold any."""
    lowered = upload.name.lower()
    if lowered.endswith(".xml"):
        yield TrlFiles([TrlEntry(upload.name, upload.open)])
    elif lowered.endswith(".zip"):
        with upload.open() as stream, _open_zip(stream) as archive:
            yield _select(archive, language, limits)
    else:
        raise TrlFileError("the file must be a .zip or an .xml file")


@contextmanager
def _open_zip(stream: BinaryIO) -> Iterator[zipfile.ZipFile]:
    try:
        archive = zipfile.ZipFile(stream)
    except _ZIP_ERRORS as error:
        raise TrlFileError(f"the file is not a readable zip ({error})") from None
    with archive:
        yield archive


def _select(archive: zipfile.ZipFile, language: str, limits: Limits) -> TrlFiles:
    entries = archive.infolist()
    if len(entries) > limits.entries:
        raise TrlFileError(
            f"the zip has {len(entries)} entries; at most {limits.entries} are read"
        )
    # The sizes the zip claims; reading counts the real bytes against the same bound.
    claimed = sum(entry.file_size for entry in entries)
    if claimed > limits.unzipped_bytes:
        raise TrlFileError(_too_large(limits))
    budget = _Budget(limits.unzipped_bytes)
    found = TrlFiles()
    suffix = f"_{language}.xml"
    for entry in entries:
        if entry.is_dir():
            continue
        name = _entry_name(entry)
        label = shown(name)
        if _UNSAFE_PATH.search(name):
            found.ignored.append(f"Ignored file {label}: its path leaves the folder")
        elif "/" in name.removeprefix(f"{language}/") or "\\" in name:
            found.ignored.append(f"Ignored file {label}: it is in a folder")
        elif not name.endswith(suffix):
            found.ignored.append(
                f"Ignored file {label}: its name does not end {suffix}"
            )
        else:
            found.entries.append(TrlEntry(name, _opener(archive, entry, name, budget)))
    if not found.entries:
        reasons = "".join(f"; {message}" for message in found.ignored[:3])
        raise TrlFileError(f"the zip holds no *{suffix} file{reasons}")
    return found


def _entry_name(entry: zipfile.ZipInfo) -> str:
    """The entry's name as its writer meant it: zip tools that do not flag their
    names as UTF-8 still mostly write UTF-8, which zipfile reads as cp437."""
    name = entry.filename
    if entry.flag_bits & _UTF8_NAME or name.isascii():
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except UnicodeError:
        return name


def _opener(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, name: str, budget: _Budget
) -> Callable[[], BinaryIO]:
    def open_entry() -> BinaryIO:
        if entry.flag_bits & _ENCRYPTED:
            raise TrlFileError(
                f"{shown(name)}: it is encrypted; only unencrypted zips are read"
            )
        if entry.compress_type not in _METHODS:
            raise TrlFileError(
                f"{shown(name)}: it is compressed with method {entry.compress_type}; "
                "the methods read are " + ", ".join(_METHODS.values())
            )
        try:
            raw = _BoundedEntry(archive.open(entry), budget)
        except _ZIP_ERRORS as error:
            raise TrlFileError(f"{shown(name)}: the zip is damaged ({error})") from None
        return io.BufferedReader(raw, _PIECE)

    return open_entry


class _Budget:
    """The decompressed bytes all entries of one zip may still give."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise TrlFileError(_too_large(Limits(0, self.limit)))


class _BoundedEntry(io.RawIOBase):
    """An entry read in pieces, each counted against the zip's budget, with the
    zip's own errors turned into ``TrlFileError``."""

    def __init__(self, raw: IO[bytes], budget: _Budget) -> None:
        super().__init__()
        self._raw = raw
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except _ZIP_ERRORS as error:
            raise TrlFileError(f"the zip is damaged ({error})") from None
        self._budget.spend(len(data))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _too_large(limits: Limits) -> str:
    return (
        f"the zip holds more than {limits.unzipped_bytes} bytes once "
        "decompressed, more than is read"
    )
