"""The XLSX renderer, read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import io
import os
import tempfile

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from processes.context import ProcessError
from processes.reports.model import DetailRow, Report
from processes.reports.render import render, xlsx
from tests.unit.test_render_common import PARTNERS, Recorder, sample_report


def workbook_of(per_partner: int = 4, *, summary: bool = False) -> openpyxl.Workbook:
    sink = Recorder()
    render(sample_report(per_partner, summary=summary), "XLSX", sink, pdf_row_ceiling=0)
    return openpyxl.load_workbook(io.BytesIO(sink.data))


def row_of(sheet: Worksheet, row: int) -> list[object]:
    return [cell.value for cell in sheet[row]]


def test_xlsx_cells_are_typed_with_the_columns_formats() -> None:
    sheet = workbook_of().worksheets[0]

    assert row_of(sheet, 2) == [
        "Tree Farm, Inc.",
        "SO-0000",
        dt.datetime(2024, 1, 1),
        dt.datetime(2024, 1, 1, 8, 5),
        10,
        1,
        1234.5,
        0.125,
        True,
    ]
    formats = [cell.number_format for cell in sheet[2]]
    assert formats[2:8] == [
        "yyyy-mm-dd",
        "yyyy-mm-dd hh:mm",
        "General",
        "#,##0.00",
        "#,##0.00",
        "0.0%",
    ]
    assert sheet["G2"].data_type == "n"  # a Decimal arrives as a number
    assert sheet["C2"].is_date


def test_xlsx_header_is_bold_frozen_and_filtered() -> None:
    sheet = workbook_of(per_partner=4).worksheets[0]

    assert row_of(sheet, 1)[:2] == ["Business Partner", "Document No"]
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    # header, 12 detail rows and 3 subtotals; the grand total stays outside
    assert sheet.auto_filter.ref == "A1:I16"
    assert sheet.column_dimensions["A"].width == pytest.approx(24, abs=1)


def test_xlsx_has_bold_labelled_subtotals_and_a_grand_total() -> None:
    sheet = workbook_of(per_partner=4).worksheets[0]

    subtotal = row_of(sheet, 6)
    assert subtotal[0] == "Total Tree Farm, Inc."
    assert subtotal[5:7] == [10, 12345]
    assert sheet["A6"].font.b
    assert sheet["G6"].font.b
    assert sheet["G6"].number_format == "#,##0.00"
    grand = row_of(sheet, 17)
    assert grand[0] == "Grand total"
    assert grand[5:7] == [30, 37035]
    assert sheet.max_row == 17


def test_xlsx_summary_has_only_subtotals_and_the_grand_total() -> None:
    sheet = workbook_of(summary=True).worksheets[0]

    labels = [row_of(sheet, r)[0] for r in range(2, sheet.max_row + 1)]
    assert labels == [f"Total {p}" for p in PARTNERS] + ["Grand total"]


def test_xlsx_says_what_was_run_on_a_second_sheet() -> None:
    book = workbook_of()

    assert book.sheetnames == ["Order Detail", "Parameters"]
    rows = [tuple(r) for r in book["Parameters"].iter_rows(values_only=True)]
    assert rows == [
        ("Report", "Order Detail"),
        ("Tenant", "GardenWorld"),
        ("Date Ordered", "2024-01-01 to 2024-12-31"),
        ("Status", "CO"),
        ("Run at", "2024-06-01 10:30 UTC"),
    ]


def test_xlsx_leaves_no_temporary_file_behind() -> None:
    before = set(os.listdir(tempfile.gettempdir()))

    workbook_of()

    assert set(os.listdir(tempfile.gettempdir())) == before


def test_xlsx_refuses_more_rows_than_a_sheet_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Excel's real limit is 1,048,576 rows: too many to write in a unit test.
    monkeypatch.setattr(xlsx, "MAX_ROWS", 10)
    header = sample_report().header
    values = (PARTNERS[0],) + (None,) * 8
    lines = (DetailRow(values) for _ in range(10))

    with pytest.raises(ProcessError, match=r"more than 8 rows.*CSV"):
        render(Report(header, lines), "XLSX", Recorder(), pdf_row_ceiling=0)
