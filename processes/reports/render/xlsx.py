"""A report as an XLSX workbook, written by XlsxWriter in constant-memory mode.

Constant-memory mode writes each row to a temporary file as soon as the next one
starts, so memory stays flat however many rows come; the finished workbook is a
temporary file too, copied to the sink in pieces and removed. The first sheet
holds the table (bold frozen header, autofilter, subtotal and grand total rows
in bold); the second, "Parameters", says what was run.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from processes.context import ProcessError
from processes.reports.format import default_format
from processes.reports.model import (
    Column,
    DetailRow,
    GrandTotalRow,
    Report,
    ReportHeader,
    SubtotalRow,
    Value,
)
from processes.reports.render.common import (
    GRAND_TOTAL,
    Sink,
    label_column,
    run_at_text,
    subtotal_label,
)
from processes.reports.render.html import PORTRAIT_MAX_WIDTH

COPY_CHUNK = 1024 * 1024
MAX_ROWS = 1_048_576  # Excel's limit; XlsxWriter would drop further rows silently
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

Write = Callable[[int, int, Any, Format | None], int]


def render_xlsx(report: Report, sink: Sink) -> None:
    with _temporary_path() as path:
        workbook = xlsxwriter.Workbook(
            path, {"constant_memory": True, "remove_timezone": True}
        )
        try:
            _write_workbook(workbook, report)
        finally:
            workbook.close()
        with open(path, "rb") as source:
            shutil.copyfileobj(source, sink, COPY_CHUNK)


@contextmanager
def _temporary_path() -> Iterator[str]:
    handle, path = tempfile.mkstemp(prefix="procserv-report-", suffix=".xlsx")
    os.close(handle)
    try:
        yield path
    finally:
        os.unlink(path)


def _write_workbook(workbook: Workbook, report: Report) -> None:
    header = report.header
    workbook.set_properties({"title": header.title, "company": header.tenant})
    sheet = workbook.add_worksheet(_sheet_name(header.title))
    _write_parameters(workbook, header)
    _set_up_sheet(workbook, sheet, header)

    table = _Table(workbook, sheet, header)
    last_row = table.write(report)
    if header.columns:
        sheet.autofilter(0, 0, last_row, len(header.columns) - 1)


class _Table:
    """Writes the rows of the first sheet with formats chosen once per column."""

    def __init__(self, workbook: Workbook, sheet: Worksheet, header: ReportHeader):
        self.sheet = sheet
        self.header = header
        self.label = label_column(header.columns)
        self.writers = [
            (_writer(sheet, c), _format(workbook, c, bold=False))
            for c in header.columns
        ]
        self.total_writers = [
            (_writer(sheet, c), _format(workbook, c, bold=True)) for c in header.columns
        ]
        self.label_format = workbook.add_format({"bold": True})

    def write(self, report: Report) -> int:
        """Write all lines; return the last row before the grand total."""
        row = 0
        for line in report.lines:
            row += 1
            if row >= MAX_ROWS:
                # The header takes one row, the grand total another.
                raise ProcessError(
                    f"The report has more than {MAX_ROWS - 2:,} rows, the most an "
                    "XLSX sheet holds. Run it with report-type CSV instead."
                )
            if isinstance(line, DetailRow):
                self._write_values(row, line.values, self.writers)
            else:
                self._write_values(row, line.values, self.total_writers)
                self._write_label(row, line)
        return row - 1 if row else 0

    def _write_values(
        self, row: int, values: tuple[Value, ...], writers: list[tuple[Write, Any]]
    ) -> None:
        try:
            for col, value in enumerate(values):
                if value is not None:
                    write, cell_format = writers[col]
                    write(row, col, value, cell_format)
        except (TypeError, ValueError):
            # A value of another type than its column's kind: let XlsxWriter pick.
            for col, value in enumerate(values):
                self.sheet.write(row, col, value, writers[col][1])

    def _write_label(self, row: int, line: SubtotalRow | GrandTotalRow) -> None:
        if self.label is None:
            return
        text = (
            subtotal_label(self.header, line)
            if isinstance(line, SubtotalRow)
            else GRAND_TOTAL
        )
        self.sheet.write_string(row, self.label, text, self.label_format)


def _writer(sheet: Worksheet, column: Column) -> Write:
    writers: dict[str, Write] = {
        "integer": sheet.write_number,
        "number": sheet.write_number,
        "amount": sheet.write_number,
        "date": sheet.write_datetime,
        "datetime": sheet.write_datetime,
        "boolean": sheet.write_boolean,
    }
    text: Write = sheet.write_string
    return writers.get(column.kind, text)


def _format(workbook: Workbook, column: Column, *, bold: bool) -> Format | None:
    properties: dict[str, Any] = {}
    if number_format := default_format(column):
        properties["num_format"] = number_format
    if column.align != "left":
        properties["align"] = column.align
    if bold:
        properties["bold"] = True
    return workbook.add_format(properties) if properties else None


def _set_up_sheet(workbook: Workbook, sheet: Worksheet, header: ReportHeader) -> None:
    heading = workbook.add_format({"bold": True, "bottom": 1, "bg_color": "#E8E8E8"})
    for col, column in enumerate(header.columns):
        sheet.set_column(col, col, column.width)
        sheet.write_string(0, col, column.header, heading)
    sheet.freeze_panes(1, 0)

    # For printing: A4, the header row on every page, title and pages in margins.
    sheet.set_paper(9)
    if sum(c.width for c in header.columns) > PORTRAIT_MAX_WIDTH:
        sheet.set_landscape()
    sheet.repeat_rows(0)
    sheet.set_header(f"&L{_margin_text(header.title)}&R{run_at_text(header)}")
    sheet.set_footer("&RPage &P of &N")


def _write_parameters(workbook: Workbook, header: ReportHeader) -> None:
    sheet = workbook.add_worksheet("Parameters")
    bold = workbook.add_format({"bold": True})
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 60)
    rows = [
        ("Report", header.title),
        ("Tenant", header.tenant),
        *header.parameters,
        ("Run at", run_at_text(header)),
    ]
    for row, (label, value) in enumerate(rows):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, value)


def _sheet_name(title: str) -> str:
    """``title`` as Excel allows a sheet name: 31 characters, none of []:*?/\\."""
    name = _SHEET_NAME_FORBIDDEN.sub(" ", title).strip().strip("'")[:31].strip()
    return name if name and name.lower() != "parameters" else "Report"


def _margin_text(text: str) -> str:
    # "&" starts a code in Excel's page header; Excel rejects headers over 255.
    return text.replace("&", "&&")[:100]
