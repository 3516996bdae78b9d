"""iDempiere's translation file (``<Table>_Trl_<lang>.xml``), written as a stream.

One file holds the texts of one table in one language; each ``row`` is a record,
found by the ``uuid`` of its base record, with one ``value`` per translated column.
The layout follows what iDempiere's own export writes, so either system imports
the other's files.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from xml.sax.saxutils import escape

_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>'
# iDempiere writes its DOCTYPE only inside a comment, so no reader fetches the DTD.
_DOCTYPE_COMMENT = (
    '<!--<!DOCTYPE idempiereTrl PUBLIC "-//ComPiere, Inc.//DTD iDempiere '
    'Translation 1.0//EN" "http://www.idempiere.com/dtd/idempiereTrl.dtd">-->'
)
_ROOT = "idempiereTrl"

_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_NEEDS_CDATA = re.compile(r"[<>&]")
# Characters XML 1.0 cannot carry at all, not even as references.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class TrlValue:
    column: str
    text: str | None
    original: str | None


@dataclass(frozen=True)
class TrlRow:
    uuid: str
    translated: bool
    values: Sequence[TrlValue]


def write_trl_file(
    out: Sink, *, language: str, table: str, product: str, rows: Iterable[TrlRow]
) -> int:
    """Write one translation file into ``out``; return how many rows it holds.

    ``table`` is the base table (``AD_Process``), ``product`` the text of the
    first comment, naming what wrote the file.
    """
    if "--" in product or product.endswith("-"):
        raise ValueError(f"{product!r} cannot be an XML comment")
    root = f'{_ROOT} language="{_attribute(language)}" table="{_attribute(table)}"'
    _put(out, _DECLARATION, f"<!--{product}-->", _DOCTYPE_COMMENT)

    count = 0
    for row in rows:
        if count == 0:
            _put(out, f"<{root}>")
        _write_row(out, row)
        count += 1

    _put(out, f"</{_ROOT}>" if count else f"<{root}/>")
    return count


def trl_file(
    *, language: str, table: str, product: str, rows: Iterable[TrlRow]
) -> bytes:
    """The whole translation file as bytes (for small files and tests)."""
    buffer = io.BytesIO()
    write_trl_file(buffer, language=language, table=table, product=product, rows=rows)
    return buffer.getvalue()


def _write_row(out: Sink, row: TrlRow) -> None:
    trl = "Y" if row.translated else "N"
    lines = [f' <row trl="{trl}" uuid="{_attribute(row.uuid)}">']
    lines.extend(_value(value) for value in row.values)
    lines.append(" </row>")
    _put(out, *lines)


def _value(value: TrlValue) -> str:
    start = (
        f'  <value column="{_attribute(value.column)}" '
        f'original="{_attribute(value.original or "")}"'
    )
    text = _xml_chars(value.text or "")
    if not text:
        return start + "/>"
    if _NEEDS_CDATA.search(text):
        return f'{start} xml:space="preserve">{_cdata(text)}</value>'
    return f"{start}>{_text(text)}</value>"


def _attribute(text: str) -> str:
    return escape(_xml_chars(text), _ATTRIBUTE_ENTITIES)


def _text(text: str) -> str:
    # A literal CR would be read back as a newline; the reference keeps it.
    return text.replace("\r", "&#13;")


def _cdata(text: str) -> str:
    # "]]>" would end the section early, so it is split across two sections; a
    # CR goes between sections as a reference, for the same reason as in _text.
    inner = text.replace("]]>", "]]]]><![CDATA[>").replace("\r", "]]>&#13;<![CDATA[")
    return f"<![CDATA[{inner}]]>"


def _xml_chars(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _put(out: Sink, *lines: str) -> None:
    out.write("".join(line + "\n" for line in lines).encode("utf-8"))
