"""The report model: what every renderer (PDF, HTML, CSV, XLSX) is given.

A report is a ``ReportHeader`` (everything known before the first row) and a
stream of ``Line`` objects in print order: detail rows, a subtotal row after each
group, and one grand total row at the end. The stream is an iterator fed by a
server-side cursor, so a renderer that writes as it reads (CSV, XLSX, HTML)
never holds the whole result.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Kind = Literal["text", "integer", "number", "amount", "date", "datetime", "boolean"]
Align = Literal["left", "right", "center"]
Function = Literal["sum", "count", "min", "max", "avg"]
Value = str | int | decimal.Decimal | float | dt.date | dt.datetime | bool | None


@dataclass(frozen=True)
class Column:
    """One printed column of a print format.

    ``format`` is an Excel number or date format (``#,##0.00``, ``yyyy-mm-dd``);
    XLSX uses it as is and the text renderers follow it (see ``format_value``).
    ``width`` is in characters. ``total`` is the function shown in subtotal and
    grand total rows; it is ``None`` for columns without one.
    """

    key: str
    header: str
    kind: Kind = "text"
    width: int = 12
    align: Align = "left"
    format: str | None = None
    total: Function | None = None


@dataclass(frozen=True)
class ReportHeader:
    title: str
    tenant: str
    # (label, value as shown) of each parameter the caller set, in declared order.
    parameters: tuple[tuple[str, str], ...]
    run_at: dt.datetime
    columns: tuple[Column, ...]
    # Keys of the grouping columns, outermost first; rows arrive sorted by them.
    group_by: tuple[str, ...] = ()
    is_summary: bool = False
    language: str = "en_US"


@dataclass(frozen=True)
class DetailRow:
    values: tuple[Value, ...]  # one per column, in column order


@dataclass(frozen=True)
class SubtotalRow:
    """The totals of one group, printed after its last detail row.

    ``level`` is the index into ``group_by`` (0 = outermost); ``group`` holds the
    group's values of ``group_by[: level + 1]``; ``values`` has one entry per
    column: the total where the column has a function, else the group value for
    grouping columns, else ``None``. ``count`` is the number of detail rows.
    """

    level: int
    group: tuple[Value, ...]
    values: tuple[Value, ...]
    count: int


@dataclass(frozen=True)
class GrandTotalRow:
    values: tuple[Value, ...]  # the total where the column has a function, else None
    count: int


Line = DetailRow | SubtotalRow | GrandTotalRow


@dataclass
class Report:
    header: ReportHeader
    lines: Iterator[Line]
