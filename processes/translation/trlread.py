"""Reading a translation file (``<Table>_Trl_<lang>.xml``) safely, as a stream.

The reader takes the roots iDempiere's import takes (``idempiereTrl``, and the
older ``adempiereTrl`` and ``compiereTrl``) and the layouts real files have: the
prolog's comments on their own lines or on one line with the root, an empty
root, rows keyed by ``id`` or by ``uuid``, self-closing values, and CDATA with or
without ``xml:space``. Text is kept as written (a single space, trailing spaces),
except the line break and indent older exports put around a CDATA section.

A file with a DTD is refused outright: translation files never have one (their
DOCTYPE is inside a comment), so no entity is ever declared, expanded or fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from xml.sax import SAXParseException
from xml.sax.expatreader import ExpatLocator
from xml.sax.handler import ContentHandler, LexicalHandler, property_lexical_handler
from xml.sax.xmlreader import AttributesImpl, IncrementalParser, Locator

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.expatreader import create_parser

ROOTS = ("idempiereTrl", "adempiereTrl", "compiereTrl")
# The root must start within this many bytes; real prologs take a few hundred.
HEADER_LIMIT = 64 * 1024
_PIECE = 64 * 1024
_XML_SPACE = " \t\r\n"


class TrlFileError(ValueError):
    """The file is not a translation file procserv can read; the message says why."""


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


def read_trl_file(stream: BinaryIO) -> tuple[TrlHeader, Iterator[FileRow]]:
    """The file's root, read at once, and its rows, read as they are iterated.

    Raises ``TrlFileError`` for anything that is not a well-formed translation
    file, at once for the root and while iterating for the rows.
    """
    reader = _Reader(stream)
    return reader.header(), reader.rows()


def read_trl_header(stream: BinaryIO) -> TrlHeader:
    """Only the file's root: parsing stops there, so nothing after it is read."""
    return _Reader(stream, stop_at_root=True).header()


class _RootRead(Exception):
    """Stops the parser once the root is read, for ``read_trl_header``."""


class _Reader:
    def __init__(self, stream: BinaryIO, *, stop_at_root: bool = False) -> None:
        self._stream = stream
        self._handler = _Handler(stop_at_root)
        self._parser: IncrementalParser = create_parser(
            forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        self._parser.setContentHandler(self._handler)
        self._parser.setProperty(property_lexical_handler, self._handler)
        # parse() would set it; feeding piece by piece does not.
        self._handler.setDocumentLocator(ExpatLocator(self._parser))
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
        piece = self._stream.read(_PIECE)
        self._fed += len(piece)
        try:
            if piece:
                self._parser.feed(piece)
            else:
                self._ended = True
                self._parser.close()
        except _RootRead:
            pass
        except SAXParseException as error:
            raise TrlFileError(
                f"line {error.getLineNumber()}, column {error.getColumnNumber()}: "
                f"{error.getMessage()}"
            ) from None
        except DTDForbidden:
            raise TrlFileError(
                "the file declares a DTD (<!DOCTYPE ...>), which translation "
                "files never do; it is refused so that no entity is expanded or "
                "fetched"
            ) from None
        except DefusedXmlException as error:
            raise TrlFileError(f"the file is refused: {error}") from None


class _Handler(ContentHandler, LexicalHandler):
    """Collects the root's attributes and whole rows; rows are taken as they come."""

    def __init__(self, stop_at_root: bool) -> None:
        super().__init__()
        self._stop_at_root = stop_at_root
        self.header: TrlHeader | None = None
        self._rows: list[FileRow] = []
        self._locator: Locator | None = None
        self._depth = 0
        self._row: tuple[int, str | None, str | None, str | None] | None = None
        self._values: list[tuple[str, str]] = []
        self._column = ""
        self._text: list[str] = []
        self._length = 0
        self._cdata: tuple[int, int] | None = None  # first start, last end

    def take_rows(self) -> list[FileRow]:
        rows, self._rows = self._rows, []
        return rows

    def setDocumentLocator(self, locator: Locator) -> None:
        self._locator = locator

    def startElement(self, name: str, attrs: AttributesImpl) -> None:
        self._depth += 1
        if self._depth == 1:
            self.header = self._root(name, attrs)
            if self._stop_at_root:
                raise _RootRead
        elif self._depth == 2 and name == "row":
            self._row = (
                self._line(),
                attrs.get("uuid") or None,
                attrs.get("id") or None,
                attrs.get("trl"),
            )
            self._values = []
        elif self._depth == 3 and name == "value":
            self._column = attrs.get("column", "")
            if not self._column:
                raise self._error("a <value> has no column attribute")
            self._text, self._length, self._cdata = [], 0, None
        else:
            inside = {2: "the root", 3: "<row>"}.get(self._depth, "<value>")
            raise self._error(f"unexpected element <{name}> in {inside}")

    def endElement(self, name: str) -> None:
        if self._depth == 3:
            self._values.append((self._column, self._value_text()))
        elif self._depth == 2 and self._row is not None:
            line, uuid, key, trl = self._row
            self._rows.append(FileRow(line, uuid, key, trl, tuple(self._values)))
            self._row = None
        self._depth -= 1

    def characters(self, content: str) -> None:
        if self._depth == 3:
            self._text.append(content)
            self._length += len(content)

    def startCDATA(self) -> None:
        if self._depth == 3:
            start = self._length if self._cdata is None else self._cdata[0]
            self._cdata = (start, self._length)

    def endCDATA(self) -> None:
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

    def _root(self, name: str, attrs: AttributesImpl) -> TrlHeader:
        if name not in ROOTS:
            raise self._error(
                f"the root element is <{name}>, not one of " + ", ".join(ROOTS)
            )
        language, table = attrs.get("language", ""), attrs.get("table", "")
        if not language or not table:
            raise self._error(f"<{name}> needs a language and a table attribute")
        return TrlHeader(name, language, table)

    def _line(self) -> int:
        line = self._locator.getLineNumber() if self._locator else None
        return line or 0

    def _error(self, message: str) -> TrlFileError:
        return TrlFileError(f"line {self._line()}: {message}")
