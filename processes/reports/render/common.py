"""What the renderers share: the sink, total labels, chunked writing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from processes.reports.format import formatter
from processes.reports.model import Column, ReportHeader, SubtotalRow

GRAND_TOTAL = "Grand total"
# Text renderers hand the sink pieces of about this size, not one per row.
CHUNK_CHARS = 64 * 1024


class Sink(Protocol):
    def write(self, data: bytes, /) -> object: ...


def label_column(columns: tuple[Column, ...]) -> int | None:
    """The column where a total row's label goes: the first without a total."""
    return next((i for i, c in enumerate(columns) if c.total is None), None)


def subtotal_label(header: ReportHeader, row: SubtotalRow) -> str:
    """``Total`` and the group's values as their columns print them."""
    columns = {c.key: c for c in header.columns}
    shown = []
    for key, value in zip(header.group_by, row.group, strict=False):
        column = columns.get(key)
        shown.append(formatter(column)(value) if column else str(value))
    return "Total " + " / ".join(shown)


def run_at_text(header: ReportHeader) -> str:
    return header.run_at.strftime("%Y-%m-%d %H:%M %Z").strip()


def write_text(chunks: Iterable[str], sink: Sink) -> None:
    """Write text pieces to ``sink`` as UTF-8, gathered into pieces of ~64 KiB."""
    pending: list[str] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= CHUNK_CHARS:
            sink.write("".join(pending).encode())
            pending.clear()
            size = 0
    if pending:
        sink.write("".join(pending).encode())
