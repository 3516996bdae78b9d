"""The translation files inside an upload: one ``.xml`` file, or the entries of a
``.zip`` named ``*_<lang>.xml``, as iDempiere's import picks them.

Nothing is ever extracted to disk: entries are read straight from the zip, and
within bounds, because a zip can claim little and inflate to a lot. An entry
whose name is absolute or climbs out with ``..`` is ignored, and said so.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from processes.context import Upload
from processes.translation.trlread import TrlFileError

_UNSAFE_PATH = re.compile(r"^([/\\]|[A-Za-z]:)|(^|[/\\])\.\.([/\\]|$)")
_PIECE = 64 * 1024


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
    except (zipfile.BadZipFile, OSError, ValueError) as error:
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
        name = entry.filename
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
            found.entries.append(TrlEntry(name, _opener(archive, entry, budget)))
    if not found.entries:
        reasons = "".join(f"; {message}" for message in found.ignored[:3])
        raise TrlFileError(f"the zip holds no *{suffix} file{reasons}")
    return found


def _opener(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: _Budget
) -> Callable[[], BinaryIO]:
    def open_entry() -> BinaryIO:
        try:
            raw = _BoundedEntry(archive.open(entry), budget)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as error:
            raise TrlFileError(f"{shown(entry.filename)}: {error}") from None
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
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
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


def shown(text: str, limit: int = 120) -> str:
    """A name from a client's file as a message shows it: escaped and cut short."""
    printable = text.encode("unicode_escape").decode("ascii")
    return printable if len(printable) <= limit else printable[: limit - 3] + "..."
