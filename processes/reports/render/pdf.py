"""A report as a PDF: the HTML page built for print, laid out by WeasyPrint.

WeasyPrint lays a document out whole, so the lines are taken into memory; the
row ceiling bounds that, and is checked while the lines are read, before any
layout starts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from processes.context import ProcessError
from processes.reports.model import GrandTotalRow, Line, Report
from processes.reports.render.common import Sink
from processes.reports.render.html import html_chunks


def render_pdf(report: Report, sink: Sink, *, row_ceiling: int) -> None:
    # Importing WeasyPrint loads Pango and takes about half a second: only PDF
    # runs pay for it.
    import weasyprint  # noqa: PLC0415

    lines = list(within_ceiling(report.lines, row_ceiling))
    page = "".join(html_chunks(report.header, lines, for_print=True))
    weasyprint.HTML(string=page).write_pdf(sink)


def within_ceiling(lines: Iterable[Line], ceiling: int) -> Iterator[Line]:
    """``lines``, failing once more than ``ceiling`` rows (detail and subtotal) came."""
    rows = 0
    for line in lines:
        if not isinstance(line, GrandTotalRow):
            rows += 1
            if rows > ceiling:
                raise ProcessError(
                    f"The report has more than {ceiling:,} rows, the PDF row "
                    "ceiling. Run it with report-type CSV or XLSX instead."
                )
        yield line
