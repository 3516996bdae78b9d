"""The sample report the renderer tests share, and the renderers' common parts."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator

import pytest

from processes.reports.model import (
    Column,
    DetailRow,
    GrandTotalRow,
    Line,
    Report,
    ReportHeader,
    SubtotalRow,
    Value,
)
from processes.reports.render import render
from processes.reports.render.common import (
    label_column,
    subtotal_label,
    write_text,
)

D = decimal.Decimal
COLUMNS = (
    Column("bpartner", "Business Partner", width=24),
    Column("documentno", "Document No", width=10),
    Column("dateordered", "Date Ordered", kind="date", width=11, format="yyyy-mm-dd"),
    Column("created", "Created", kind="datetime", width=16, format="yyyy-mm-dd hh:mm"),
    Column("line", "Line", kind="integer", width=5, align="right"),
    Column("qty", "Quantity", "number", 9, "right", "#,##0.00", "sum"),
    Column("linenetamt", "Line Amount", "amount", 12, "right", "#,##0.00", "sum"),
    Column("discount", "Discount", "number", 8, "right", "0.0%"),
    Column("paid", "Paid", kind="boolean", width=5, align="center"),
)
# Awkward on purpose: separators, quotes, a line break, markup, non-ASCII.
PARTNERS = ("Tree Farm, Inc.", 'C&W "Construction"\nSite 2', "Müller <b>äöü</b> € ✓")
RUN_AT = dt.datetime(2024, 6, 1, 10, 30, tzinfo=dt.UTC)


def detail(partner: int, i: int) -> tuple[Value, ...]:
    return (
        PARTNERS[partner],
        f"SO-{partner}{i:03d}",
        dt.date(2024, 1, 1) + dt.timedelta(days=i),
        dt.datetime(2024, 1, 1, 8, 5) + dt.timedelta(hours=i),
        (i + 1) * 10,
        D(i + 1),
        D("1234.50") * (i + 1),
        0.125,
        i % 2 == 0,
    )


def sample_lines(per_partner: int, *, summary: bool = False) -> Iterator[Line]:
    """Three partners of ``per_partner`` rows each, with subtotals, then a total."""
    grand_qty = grand_amount = D(0)
    for partner in range(len(PARTNERS)):
        if not summary:
            yield from (DetailRow(detail(partner, i)) for i in range(per_partner))
        qty = D(per_partner * (per_partner + 1) // 2)
        amount = D("1234.50") * qty
        values = (PARTNERS[partner], None, None, None, None, qty, amount, None, None)
        yield SubtotalRow(0, (PARTNERS[partner],), values, per_partner)
        grand_qty += qty
        grand_amount += amount
    totals = (None,) * 5 + (grand_qty, grand_amount, None, None)
    yield GrandTotalRow(totals, per_partner * len(PARTNERS))


def sample_report(per_partner: int = 4, *, summary: bool = False) -> Report:
    header = ReportHeader(
        title="Order Detail",
        tenant="GardenWorld",
        parameters=(("Date Ordered", "2024-01-01 to 2024-12-31"), ("Status", "CO")),
        run_at=RUN_AT,
        columns=COLUMNS,
        group_by=("bpartner",),
        is_summary=summary,
    )
    return Report(header, sample_lines(per_partner, summary=summary))


class Recorder:
    """A sink that keeps each write, to see how output was handed over."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)

    @property
    def data(self) -> bytes:
        return b"".join(self.writes)


def test_total_labels_go_in_the_first_column_without_a_total() -> None:
    assert label_column(COLUMNS) == 0
    with_totals = (Column("a", "A", total="count"), Column("b", "B"))
    assert label_column(with_totals) == 1
    assert label_column((Column("a", "A", total="sum"),)) is None


def test_subtotal_label_shows_group_values_as_their_columns_print_them() -> None:
    header = sample_report().header
    header = ReportHeader(
        **{**header.__dict__, "group_by": ("bpartner", "dateordered")}
    )
    row = SubtotalRow(1, ("Tree Farm, Inc.", dt.date(2024, 3, 5)), (None,) * 9, 2)

    assert subtotal_label(header, row) == "Total Tree Farm, Inc. / 2024-03-05"


def test_text_is_written_as_utf8_in_pieces_not_per_chunk() -> None:
    sink = Recorder()

    write_text(("ä" * 1000 for _ in range(200)), sink)

    assert 1 < len(sink.writes) < 10
    assert sink.data.decode() == "ä" * 200_000


def test_an_unknown_report_type_is_refused() -> None:
    with pytest.raises(ValueError, match="XLS"):
        render(sample_report(), "XLS", Recorder(), pdf_row_ceiling=10)
