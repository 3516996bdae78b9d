"""The CSV renderer, read back with the csv module."""

from __future__ import annotations

import csv
import io

from processes.reports.render import render
from tests.unit.test_render_common import PARTNERS, Recorder, sample_report


def csv_of(
    per_partner: int = 4, *, summary: bool = False
) -> tuple[bytes, list[list[str]]]:
    sink = Recorder()
    report = sample_report(per_partner, summary=summary)
    render(report, "CSV", sink, pdf_row_ceiling=0)
    rows = list(csv.reader(io.StringIO(sink.data.decode("utf-8"), newline="")))
    return sink.data, rows


def test_csv_has_a_header_row_and_only_detail_rows() -> None:
    _, rows = csv_of(per_partner=4)

    assert rows[0] == [
        "Business Partner",
        "Document No",
        "Date Ordered",
        "Created",
        "Line",
        "Quantity",
        "Line Amount",
        "Discount",
        "Paid",
    ]
    assert len(rows) == 1 + 3 * 4
    assert not any(row[0].startswith("Total") for row in rows)


def test_csv_values_are_machine_values() -> None:
    _, rows = csv_of()

    assert rows[1] == [
        "Tree Farm, Inc.",
        "SO-0000",
        "2024-01-01",
        "2024-01-01T08:05:00",
        "10",
        "1",
        "1234.50",
        "0.125",
        "true",
    ]
    assert rows[2][-1] == "false"


def test_csv_quotes_separators_quotes_and_line_breaks() -> None:
    data, rows = csv_of(per_partner=1)

    assert b'"Tree Farm, Inc.",' in data
    assert b'"C&W ""Construction""\nSite 2",' in data
    assert [row[0] for row in rows[1:]] == list(PARTNERS)


def test_csv_is_utf8_without_byte_order_mark_and_crlf_lines() -> None:
    data, _ = csv_of(per_partner=1)

    assert not data.startswith(b"\xef\xbb\xbf")
    assert "Müller <b>äöü</b> € ✓".encode() in data
    assert data.endswith(b"\r\n")
    assert data.count(b"\r\n") == 4


def test_csv_summary_has_subtotals_and_a_total_row() -> None:
    _, rows = csv_of(per_partner=4, summary=True)

    assert [row[0] for row in rows[1:]] == [*PARTNERS, "Total"]
    assert rows[1][5:7] == ["10", "12345.00"]
    assert rows[4][5:7] == ["30", "37035.00"]
    assert rows[4][1:5] == ["", "", "", ""]


def test_csv_is_handed_over_in_pieces() -> None:
    sink = Recorder()

    render(sample_report(per_partner=5000), "CSV", sink, pdf_row_ceiling=0)

    assert len(sink.writes) > 5
    assert max(len(piece) for piece in sink.writes) < 256 * 1024
