"""The four renderers of the report model: PDF, HTML, CSV and XLSX.

``render`` writes one report to a binary sink (anything with ``write(bytes)``).
HTML, CSV and XLSX write as the lines arrive; PDF takes them into memory, at
most ``pdf_row_ceiling`` rows, because WeasyPrint lays a document out whole.
"""

from __future__ import annotations

from processes.reports.model import Report
from processes.reports.render.common import Sink
from processes.reports.render.csv import render_csv
from processes.reports.render.html import render_html
from processes.reports.render.pdf import render_pdf
from processes.reports.render.xlsx import render_xlsx

REPORT_TYPES = ("PDF", "HTML", "CSV", "XLSX")
EXTENSIONS = {"PDF": "pdf", "HTML": "html", "CSV": "csv", "XLSX": "xlsx"}
MEDIA_TYPES = {
    "PDF": "application/pdf",
    "HTML": "text/html; charset=utf-8",
    "CSV": "text/csv; charset=utf-8",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

__all__ = ["EXTENSIONS", "MEDIA_TYPES", "REPORT_TYPES", "Sink", "render"]


def render(
    report: Report, report_type: str, sink: Sink, *, pdf_row_ceiling: int
) -> None:
    """Write ``report`` to ``sink`` as ``report_type`` (PDF, HTML, CSV or XLSX)."""
    if report_type == "PDF":
        render_pdf(report, sink, row_ceiling=pdf_row_ceiling)
    elif report_type == "HTML":
        render_html(report, sink)
    elif report_type == "CSV":
        render_csv(report, sink)
    elif report_type == "XLSX":
        render_xlsx(report, sink)
    else:
        raise ValueError(f"unknown report type {report_type!r}")
