"""Reading a translation file (``<Table>_Trl_<lang>.xml``) safely, as a stream.

The reader takes the roots iDempiere's import takes (``idempiereTrl``, and the
older ``adempiereTrl`` and ``compiereTrl``) and the layouts real files have: the
prolog's comments on their own lines or on one line with the root, an empty
root, rows keyed by ``id`` or by ``uuid``, self-closing values, and CDATA with or
without ``xml:space``. Text is kept as written (a single space, trailing spaces),
except the line break and indent older exports put around a CDATA section.

A file with a DTD is refused outright: translation files never have one (their
DOCTYPE is inside a comment), so no entity is ever declared, expanded or fetched.
So is a file declaring an encoding expat does not read itself, which would
otherwise be decoded by whatever Python codec has that name.

What one file may cost is bounded (``ReadLimits``): its size and rows, the
length of any single tag, comment or reference, the values of a row and the
length of a text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.parsers import expat

ROOTS = ("idempiereTrl", "adempiereTrl", "compiereTrl")
# The root must start within this many bytes; real prologs take a few hundred.
HEADER_LIMIT = 64 * 1024
# iDempiere's translated columns hold at most 2,000 characters (Help, MsgText),
# procserv's own texts far less; 64 Ki leaves room for anything real while no
# single text can swell every answer given in that language.
MAX_VALUE_CHARS = 64 * 1024
# The widest translation table (AD_Element) has nine columns.
MAX_VALUES_PER_ROW = 64
# The tables procserv imports have a few thousand records at most; a file of more
# rows only costs the check its parsing and the run an UPDATE per row.
MAX_ROWS = 100_000
# A tag holds an ``original`` attribute as long as a text, escaped (``&#10;`` is
# five bytes for one character); nothing real comes near this.
MAX_TOKEN_BYTES = 1024 * 1024
# A file of one of the tables procserv imports takes a few MB at most; the API's
# check reads each whole, so the bound is also what one file can cost it.
MAX_FILE_BYTES = 8 * 1024 * 1024
_PIECE = 64 * 1024
_XML_SPACE = " \t\r\n"
# The encodings expat decodes itself.
_ENCODINGS = frozenset(
    {"utf-8", "utf-16", "utf-16be", "utf-16le", "iso-8859-1", "us-ascii"}
)


class TrlFileError(ValueError):
    """The file is not a translation file procserv can read; the message says why."""


@dataclass(frozen=True)
class ReadLimits:
    """What one translation file may hold."""

    file_bytes: int = MAX_FILE_BYTES
    token_bytes: int = MAX_TOKEN_BYTES
    value_chars: int = MAX_VALUE_CHARS
    values_per_row: int = MAX_VALUES_PER_ROW
    rows: int = MAX_ROWS


@dataclass(frozen=True)
class TrlHeader:
    root: str
    language: str
    table: str  # the base table, e.g. AD_Process


@dataclass(frozen=True)
class FileRow:
    line: int
    uuid: str | None
    id: str | None
    trl: str | None
    values: tuple[tuple[str, str], ...]  # (column, text), in the file's order

    @property
    def key(self) -> str:
        """The row as a message names it."""
        return shown(f"uuid={self.uuid}" if self.uuid is not None else f"id={self.id}")


def read_trl_file(
    stream: BinaryIO, limits: ReadLimits | None = None
) -> tuple[TrlHeader, Iterator[FileRow]]:
    """The file's root, read at once, and its rows, read as they are iterated.

    Raises ``TrlFileError`` for anything that is not a well-formed translation
    file within ``limits``, at once for the root and while iterating for the rows.
    """
    reader = _Reader(stream, limits or ReadLimits())
    return reader.header(), reader.rows()


def read_trl_header(stream: BinaryIO) -> TrlHeader:
    """Only the file's root: parsing stops there, so nothing after it is read."""
    return _Reader(stream, ReadLimits(), stop_at_root=True).header()


class _RootRead(Exception):
    """Stops the parser once the root is read, for ``read_trl_header``."""


class _Reader:
    def __init__(
        self, stream: BinaryIO, limits: ReadLimits, *, stop_at_root: bool = False
    ) -> None:
        self._stream = stream
        self._limits = limits
        self._parser = expat.ParserCreate()
        self._handler = _Handler(self._parser, limits, stop_at_root)
        self._fed = 0
        self._ended = False

    def header(self) -> TrlHeader:
        while self._handler.header is None:
            if self._ended:
                raise TrlFileError("the file has no root element")
            if self._fed >= HEADER_LIMIT:
                raise TrlFileError(
                    f"no root element in the first {HEADER_LIMIT // 1024} KiB"
                )
            self._feed()
        return self._handler.header

    def rows(self) -> Iterator[FileRow]:
        while True:
            yield from self._handler.take_rows()
            if self._ended:
                return
            self._feed()

    def _feed(self) -> None:
        # Expat parses an unfinished token again from its start with every piece
        # it is given (CVE-2023-52425): a long token fed in fixed pieces costs its
        # length squared. Expat 2.6 defers such reparsing; the 2.5 this Python
        # bundles cannot, and has no SetReparseDeferralEnabled. Reading at least
        # as much as is still unparsed doubles the pieces along a long token,
        # which keeps the work linear either way; the token's bound stops it.
        piece = self._stream.read(max(_PIECE, self._unparsed()))
        self._fed += len(piece)
        if self._fed > self._limits.file_bytes:
            raise TrlFileError(
                f"the file has more than {self._limits.file_bytes} bytes, "
                "more than a translation file is read"
            )
        try:
            self._parser.Parse(piece, not piece)
        except _RootRead:
            return
        except TrlFileError:  # from a handler
            raise
        except expat.ExpatError as error:
            raise TrlFileError(
                f"line {error.lineno}, column {error.offset}: "
                f"{expat.ErrorString(error.code)}"
            ) from None
        except (LookupError, ValueError) as error:  # a codec, despite _declaration
            raise TrlFileError(f"its encoding cannot be read ({error})") from None
        self._ended = not piece
        if self._unparsed() > self._limits.token_bytes:
            raise TrlFileError(
                f"line {self._parser.CurrentLineNumber}: a tag, comment or reference "
                f"is longer than {self._limits.token_bytes} bytes"
            )

    def _unparsed(self) -> int:
        """The bytes fed that expat keeps for the token it has not finished."""
        return self._fed - max(0, self._parser.CurrentByteIndex)


class _Handler:
    """Collects the root's attributes and whole rows; rows are taken as they come."""

    def __init__(
        self, parser: expat.XMLParserType, limits: ReadLimits, stop_at_root: bool
    ) -> None:
        self._parser = parser
        self._limits = limits
        self._stop_at_root = stop_at_root
        self.header: TrlHeader | None = None
        self._rows: list[FileRow] = []
        self._row_count = 0
        self._depth = 0
        self._row: tuple[int, str | None, str | None, str | None] | None = None
        self._values: list[tuple[str, str]] = []
        self._column = ""
        self._text: list[str] = []
        self._length = 0
        self._cdata: tuple[int, int] | None = None  # first start, last end

        parser.buffer_text = True
        parser.XmlDeclHandler = self._declaration
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._entity
        parser.ExternalEntityRefHandler = self._external_entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._characters
        parser.StartCdataSectionHandler = self._start_cdata
        parser.EndCdataSectionHandler = self._end_cdata

    def take_rows(self) -> list[FileRow]:
        rows, self._rows = self._rows, []
        return rows

    # --- what a translation file never has --------------------------------------

    def _declaration(
        self, version: str | None, encoding: str | None, standalone: int
    ) -> None:
        # Called before expat switches to the encoding, so a name it does not
        # know never reaches Python's codecs (which would take "rot13").
        if encoding is not None and encoding.lower() not in _ENCODINGS:
            raise TrlFileError(
                f"the file declares the encoding {shown(encoding)}; translation "
                "files are read in UTF-8, UTF-16, ISO-8859-1 or US-ASCII"
            )

    def _doctype(self, *_: object) -> None:
        raise TrlFileError(
            "the file declares a DTD (<!DOCTYPE ...>), which translation files "
            "never do; it is refused so that no entity is expanded or fetched"
        )

    def _entity(self, *_: object) -> None:
        raise TrlFileError("the file declares an entity, which is refused")

    def _external_entity(self, *_: object) -> int:
        raise TrlFileError("the file refers to an external entity, which is refused")

    # --- the document ------------------------------------------------------------

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._depth == 1:
            self.header = self._root(name, attrs)
            if self._stop_at_root:
                raise _RootRead
        elif self._depth == 2 and name == "row":
            self._start_row(attrs)
        elif self._depth == 3 and name == "value":
            self._start_value(attrs)
        else:
            inside = {2: "the root", 3: "<row>"}.get(self._depth, "<value>")
            raise self._error(f"unexpected element <{shown(name)}> in {inside}")

    def _start_row(self, attrs: dict[str, str]) -> None:
        self._row_count += 1
        if self._row_count > self._limits.rows:
            raise self._error(
                f"the file has more than {self._limits.rows} rows, more than a "
                "translation file is read"
            )
        uuid, key = attrs.get("uuid") or None, attrs.get("id") or None
        if uuid is None and key is None:
            raise self._error("a <row> has neither a uuid nor an id")
        self._row = (self._line(), uuid, key, attrs.get("trl"))
        self._values = []

    def _start_value(self, attrs: dict[str, str]) -> None:
        self._column = attrs.get("column", "")
        if not self._column:
            raise self._error("a <value> has no column attribute")
        if len(self._values) == self._limits.values_per_row:
            raise self._error(
                f"{self._row_name()} has more than {self._limits.values_per_row} "
                "<value> elements; a translation row has one per column"
            )
        self._text, self._length, self._cdata = [], 0, None

    def _end(self, name: str) -> None:
        if self._depth == 3:
            self._values.append((self._column, self._value_text()))
        elif self._depth == 2 and self._row is not None:
            line, uuid, key, trl = self._row
            self._rows.append(FileRow(line, uuid, key, trl, tuple(self._values)))
            self._row = None
        self._depth -= 1

    def _characters(self, content: str) -> None:
        if self._depth != 3:
            return
        self._text.append(content)
        self._length += len(content)
        if self._length > self._limits.value_chars:
            raise self._error(
                f"{self._row_name()}, column {shown(self._column)}: the text is "
                f"longer than {self._limits.value_chars} characters, the most a "
                "translation may have"
            )

    def _start_cdata(self) -> None:
        if self._depth == 3:
            start = self._length if self._cdata is None else self._cdata[0]
            self._cdata = (start, self._length)

    def _end_cdata(self) -> None:
        if self._depth == 3 and self._cdata is not None:
            self._cdata = (self._cdata[0], self._length)

    def _value_text(self) -> str:
        text = "".join(self._text)
        if self._cdata is None:
            return text
        # Older exports put CDATA on its own indented line; that layout is not
        # part of the text. Text between two sections (a written CR) is.
        start, end = self._cdata
        if not text[end:].strip(_XML_SPACE):
            text = text[:end]
        if not text[:start].strip(_XML_SPACE):
            text = text[start:]
        return text

    def _root(self, name: str, attrs: dict[str, str]) -> TrlHeader:
        if name not in ROOTS:
            raise self._error(
                f"the root element is <{shown(name)}>, not one of " + ", ".join(ROOTS)
            )
        language, table = attrs.get("language", ""), attrs.get("table", "")
        if not language or not table:
            raise self._error(f"<{name}> needs a language and a table attribute")
        return TrlHeader(name, language, table)

    def _row_name(self) -> str:
        table = self.header.table if self.header else "?"
        if self._row is None:
            return f"a {shown(table)} row"
        _, uuid, key, _ = self._row
        return f"the {shown(table)} row " + shown(
            f"uuid={uuid}" if uuid else f"id={key}"
        )

    def _line(self) -> int:
        return self._parser.CurrentLineNumber

    def _error(self, message: str) -> TrlFileError:
        return TrlFileError(f"line {self._line()}: {message}")


def shown(text: str, limit: int = 120) -> str:
    """A name from a client's file as a message shows it: as written, with only
    what cannot be printed (controls, line breaks, bidi overrides) escaped, and
    cut short."""
    cut = text[: limit + 1]
    printable = "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in cut
    )
    return printable if len(printable) <= limit else printable[: limit - 3] + "..."
