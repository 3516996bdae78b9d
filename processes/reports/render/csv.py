"""A report as CSV: UTF-8, RFC 4180 quoting, a header row, machine values.

Values are what a program reading the file wants, not what a person reads:
numbers plain with ``.`` and no thousands separator, dates and timestamps ISO
8601, booleans ``true``/``false``, ``None`` empty. There is no byte order mark:
the file is for programs (which a BOM trips up), and people who want a
spreadsheet get XLSX. Detail rows only; in summary mode the subtotal rows and
the grand total row, whose first column says ``Total`` when it has no total.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Callable

from processes.reports.model import Column, DetailRow, GrandTotalRow, Report, Value
from processes.reports.render.common import CHUNK_CHARS, Sink

Convert = Callable[[Value], Value]


def render_csv(report: Report, sink: Sink) -> None:
    header = report.header
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.header for c in header.columns])
    conversions = [
        (i, convert)
        for i, column in enumerate(header.columns)
        if (convert := _conversion(column)) is not None
    ]
    first_is_label = bool(header.columns) and header.columns[0].total is None

    for line in report.lines:
        if not header.is_summary and not isinstance(line, DetailRow):
            continue
        values: tuple[Value, ...] | list[Value] = line.values
        if conversions or isinstance(line, GrandTotalRow):
            values = list(values)
            for i, convert in conversions:
                values[i] = convert(values[i])
            if isinstance(line, GrandTotalRow) and first_is_label:
                values[0] = "Total"
        writer.writerow(values)
        if buffer.tell() >= CHUNK_CHARS:
            sink.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    sink.write(buffer.getvalue().encode())


def _conversion(column: Column) -> Convert | None:
    """How a column's values differ from what ``csv`` writes by itself, if they do."""
    if column.kind in ("integer", "number", "amount"):
        return _plain_number
    if column.kind == "boolean":
        return _boolean
    if column.kind == "datetime":
        return _timestamp
    return None


def _plain_number(value: Value) -> Value:
    # str(Decimal) may use exponent notation (0E-8, 1E+2); "f" never does.
    return format(value, "f") if isinstance(value, decimal.Decimal) else value


def _boolean(value: Value) -> Value:
    return ("true" if value else "false") if isinstance(value, bool) else value


def _timestamp(value: Value) -> Value:
    # str() separates date and time with a space; ISO 8601 wants "T".
    return value.isoformat() if isinstance(value, dt.datetime) else value
