"""A report as one self-contained HTML file (inline CSS, no external references).

The page comes from the Jinja2 template ``report.html.j2``, rendered with
``generate()`` so each row is written as it arrives. The PDF renderer uses the
same page built for print (``for_print``): A4, page header and footer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import jinja2

from processes.reports.format import formatter
from processes.reports.model import (
    DetailRow,
    GrandTotalRow,
    Line,
    Report,
    ReportHeader,
    SubtotalRow,
)
from processes.reports.render.common import (
    GRAND_TOTAL,
    Sink,
    label_column,
    run_at_text,
    subtotal_label,
    write_text,
)

# Wider than this (in characters, the sum of column widths) prints landscape.
PORTRAIT_MAX_WIDTH = 120

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("processes.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "html.j2"]),
    trim_blocks=True,
)


class HtmlRow(NamedTuple):
    kind: str  # the row's CSS class: "" for detail, "subtotal" or "total"
    cells: list[tuple[str, str]]  # (alignment class, text) per column


def render_html(report: Report, sink: Sink) -> None:
    write_text(html_chunks(report.header, report.lines), sink)


def html_chunks(
    header: ReportHeader, lines: Iterable[Line], *, for_print: bool = False
) -> Iterator[str]:
    """The page's text in pieces, reading ``lines`` only as far as written."""
    template = _ENVIRONMENT.get_template("report.html.j2")
    total_width = sum(c.width for c in header.columns) or 1
    return template.generate(
        header=header,
        language=header.language.replace("_", "-"),
        run_at=run_at_text(header),
        widths=[round(100 * c.width / total_width, 2) for c in header.columns],
        rows=html_rows(header, lines),
        for_print=for_print,
        footer_parameters=footer_parameters(header),
        orientation="landscape" if total_width > PORTRAIT_MAX_WIDTH else "portrait",
    )


# The parameters repeat in every page's footer, cut to this many characters so
# that a long selection cannot push the page numbers off the page; page 1 shows
# them whole.
FOOTER_PARAMETERS_MAX = 160


def footer_parameters(header: ReportHeader) -> str:
    text = " · ".join(f"{label} {value}" for label, value in header.parameters)
    if len(text) <= FOOTER_PARAMETERS_MAX:
        return text
    return text[: FOOTER_PARAMETERS_MAX - 1].rstrip() + "…"


def html_rows(header: ReportHeader, lines: Iterable[Line]) -> Iterator[HtmlRow]:
    aligns = [c.align for c in header.columns]
    formats = [formatter(c) for c in header.columns]
    label = label_column(header.columns)
    for line in lines:
        texts = [f(v) for f, v in zip(formats, line.values, strict=True)]
        if isinstance(line, DetailRow):
            yield HtmlRow("", list(zip(aligns, texts, strict=True)))
            continue
        if label is not None:
            texts[label] = (
                subtotal_label(header, line)
                if isinstance(line, SubtotalRow)
                else GRAND_TOTAL
            )
        kind = "total" if isinstance(line, GrandTotalRow) else "subtotal"
        yield HtmlRow(kind, list(zip(aligns, texts, strict=True)))
