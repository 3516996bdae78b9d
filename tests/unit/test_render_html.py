"""The HTML renderer, read back with html.parser."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

from processes.reports.model import Line
from processes.reports.render import render
from tests.unit.test_render_common import PARTNERS, Recorder, sample_report


class TableReader(HTMLParser):
    """Collects the table's rows as (class, [cell texts]) and the header cells."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[tuple[str, list[str]]] = []
        self.tags: list[str] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr" and "tbody" in self.tags:
            self.rows.append((dict(attrs).get("class") or "", []))
        if tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        self.tags.pop()
        if tag == "th" and self.cell is not None:
            self.headers.append("".join(self.cell))
        if tag == "td" and self.cell is not None:
            self.rows[-1][1].append("".join(self.cell))
        if tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def html_of(per_partner: int = 4, *, summary: bool = False) -> tuple[str, TableReader]:
    sink = Recorder()
    report = sample_report(per_partner, summary=summary)
    render(report, "HTML", sink, pdf_row_ceiling=0)
    text = sink.data.decode()
    reader = TableReader()
    reader.feed(text)
    return text, reader


def test_html_has_the_header_block_and_column_headers() -> None:
    text, table = html_of()

    assert "<title>Order Detail</title>" in text
    assert "GardenWorld" in text
    assert "<b>Date Ordered</b> 2024-01-01 to 2024-12-31" in text
    assert "Run at 2024-06-01 10:30 UTC" in text
    assert table.headers[:3] == ["Business Partner", "Document No", "Date Ordered"]
    assert text.count("<col style=") == 9


def test_html_rows_are_details_subtotals_and_a_grand_total() -> None:
    _, table = html_of(per_partner=4)

    kinds = [kind for kind, _ in table.rows]
    assert kinds == ([""] * 4 + ["subtotal"]) * 3 + ["total"]
    first = table.rows[0][1]
    assert first[:5] == [
        "Tree Farm, Inc.",
        "SO-0000",
        "2024-01-01",
        "2024-01-01 08:05",
        "10",
    ]
    assert first[5:] == ["1.00", "1,234.50", "12.5%", "Yes"]
    subtotal = table.rows[4][1]
    assert subtotal[0] == "Total Tree Farm, Inc."
    assert subtotal[5:7] == ["10.00", "12,345.00"]
    grand = table.rows[-1][1]
    assert grand[0] == "Grand total"
    assert grand[5:7] == ["30.00", "37,035.00"]


def test_html_values_are_escaped() -> None:
    text, table = html_of()

    assert "Müller &lt;b&gt;äöü&lt;/b&gt; € ✓" in text
    assert "<b>äöü</b>" not in text
    assert "C&amp;W &#34;Construction&#34;" in text
    assert table.rows[10][1][0] == PARTNERS[2]  # the parser unescapes it again


def test_html_is_self_contained() -> None:
    text, _ = html_of()

    assert "<style>" in text
    for reference in ("<link", "src=", "href=", "url(", "@import"):
        assert reference not in text


def test_html_summary_has_only_subtotals_and_the_grand_total() -> None:
    _, table = html_of(summary=True)

    assert [kind for kind, _ in table.rows] == ["subtotal"] * 3 + ["total"]
    assert table.rows[1][1][0] == 'Total C&W "Construction"\nSite 2'


def test_html_is_written_while_rows_still_arrive() -> None:
    report = sample_report(per_partner=2000)
    read = 0
    written_after: list[int] = []

    def counted(lines: Iterator[Line]) -> Iterator[Line]:
        nonlocal read
        for line in lines:
            read += 1
            yield line

    class Watcher(Recorder):
        def write(self, data: bytes) -> int:
            written_after.append(read)
            return super().write(data)

    report.lines = counted(report.lines)
    render(report, "HTML", Watcher(), pdf_row_ceiling=0)

    assert len(written_after) > 5
    assert written_after[0] < read / 5
