"""The PDF renderer, read back with pypdf."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pypdf
import pytest

from processes.context import ProcessError
from processes.reports.model import Line
from processes.reports.render import render
from tests.unit.test_render_common import Recorder, sample_report


def pdf_of(per_partner: int, *, summary: bool = False) -> pypdf.PdfReader:
    sink = Recorder()
    report = sample_report(per_partner, summary=summary)
    render(report, "PDF", sink, pdf_row_ceiling=1000)
    return pypdf.PdfReader(io.BytesIO(sink.data))


@pytest.fixture(scope="module")
def long_pdf() -> pypdf.PdfReader:
    return pdf_of(per_partner=40)


def test_pdf_pages_are_numbered_n_of_total(long_pdf: pypdf.PdfReader) -> None:
    pages = len(long_pdf.pages)

    assert pages >= 2
    assert f"Page 1 of {pages}" in long_pdf.pages[0].extract_text()
    assert f"Page {pages} of {pages}" in long_pdf.pages[-1].extract_text()


def test_pdf_repeats_the_table_header_and_report_header(
    long_pdf: pypdf.PdfReader,
) -> None:
    second = long_pdf.pages[1].extract_text()

    assert "Business Partner" in second
    assert "Line Amount" in second
    assert "Order Detail" in second
    assert "GardenWorld" in second
    assert "2024-06-01 10:30 UTC" in second
    assert "Date Ordered 2024-01-01 to 2024-12-31" in second


def test_pdf_has_the_totals(long_pdf: pypdf.PdfReader) -> None:
    text = "".join(page.extract_text() for page in long_pdf.pages)

    assert "Total Tree Farm, Inc." in text
    assert "Grand total" in text
    assert "1,012,290.00" in text  # a subtotal: 1,234.50 x (1 + ... + 40)
    assert "3,036,870.00" in text  # the grand total
    assert "Müller <b>äöü</b> € ✓" in text


def test_pdf_embeds_its_fonts(long_pdf: pypdf.PdfReader) -> None:
    resources: Any = long_pdf.pages[0]["/Resources"]  # pypdf's types stop here
    fonts = resources["/Font"]
    for font in fonts.values():
        descriptor = font.get_object()["/DescendantFonts"][0]["/FontDescriptor"]
        assert "DejaVu" in descriptor["/FontName"]
        assert "/FontFile2" in descriptor


def test_pdf_summary_has_subtotals_without_details() -> None:
    text = pdf_of(per_partner=4, summary=True).pages[0].extract_text()

    assert "Total Tree Farm, Inc." in text
    assert "Grand total" in text
    assert "SO-0000" not in text


def test_pdf_stops_at_the_row_ceiling_before_laying_out() -> None:
    report = sample_report(per_partner=100)
    read = 0

    def counted(lines: Iterator[Line]) -> Iterator[Line]:
        nonlocal read
        for line in lines:
            read += 1
            yield line

    report.lines = counted(report.lines)
    sink = Recorder()

    with pytest.raises(ProcessError, match=r"more than 50 rows.*CSV or XLSX"):
        render(report, "PDF", sink, pdf_row_ceiling=50)
    assert read == 51
    assert sink.writes == []
