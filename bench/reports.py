"""The report renderers against the libraries they are built on, in the same run.

- PDF: 2,000 order lines through ``render()`` against WeasyPrint alone laying
  out the same HTML (built once by the HTML renderer); target ratio <= 1.15.
- XLSX: 100,000 rows of 10 columns (numbers, strings, dates, Decimals) through
  ``render()`` against a bare XlsxWriter constant-memory loop writing the same
  cells with the same formats; target ratio <= 1.3 and peak RSS <= 80 MB. Each
  XLSX run is a child process of its own, so peak RSS is that run's alone.
- CSV: about 1,000,000 order lines through the report engine against ``COPY ...
  TO STDOUT`` of the same query (bench/report_csv.py, which makes its database).

Rows are made on the fly from small pools of values, the same way for the
renderer and for the bare library, so neither holds them all.

Usage: .venv/bin/python bench/reports.py [--runs 3] [--only pdf|xlsx|csv]
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import xlsxwriter

from processes.reports.model import (
    Column,
    DetailRow,
    GrandTotalRow,
    Line,
    Report,
    ReportHeader,
    SubtotalRow,
)
from processes.reports.render import render
from processes.reports.render.html import html_chunks

PDF_ROWS = 2_000
XLSX_ROWS = 100_000
PDF_TARGET = 1.15
XLSX_TARGET = 1.3
XLSX_RSS_TARGET_MB = 80

COLUMNS = (
    Column("line", "Line", kind="integer", width=6, align="right"),
    Column("documentno", "Document No", width=11),
    Column("bpartner", "Business Partner", width=24),
    Column("dateordered", "Date Ordered", kind="date", width=11, format="yyyy-mm-dd"),
    Column("product", "Product", width=22),
    Column("uom", "UOM", width=6),
    Column("qty", "Quantity", "number", 9, "right", "#,##0.00", "sum"),
    Column("price", "Price", "amount", 10, "right", "#,##0.0000"),
    Column("linenetamt", "Line Amount", "amount", 12, "right", "#,##0.00", "sum"),
    Column("discount", "Discount", "number", 8, "right", "0.0%"),
)
# Pools the rows are drawn from: building values must not be what is measured.
PARTNERS = [f"Business Partner {i} & Sons, Ltd." for i in range(200)]
PRODUCTS = [f"Product {i:04d} - Oak Tree, 2 m" for i in range(1000)]
UOMS = ["Each", "Kg", "Hour", "Box"]
QUANTITIES = [decimal.Decimal(i) / 4 for i in range(1, 401)]
PRICES = [decimal.Decimal(1999 + 37 * i) / 100 for i in range(997)]
DATES = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(366)]


def values(rows: int) -> Iterator[tuple[Any, ...]]:
    for i in range(rows):
        qty, price = QUANTITIES[i % 400], PRICES[i % 997]
        yield (
            (i % 50 + 1) * 10,
            f"SO-{100000 + i // 5}",
            PARTNERS[i // 500 % 200],
            DATES[i // 300 % 366],
            PRODUCTS[i % 1000],
            UOMS[i % 4],
            qty,
            price,
            (qty * price).quantize(decimal.Decimal("0.01")),
            (i % 20) / 100,
        )


def header(group_by: tuple[str, ...] = ()) -> ReportHeader:
    return ReportHeader(
        title="Order Detail",
        tenant="GardenWorld",
        parameters=(("Date Ordered", "2024-01-01 to 2024-12-31"),),
        run_at=dt.datetime(2024, 6, 1, 10, 30, tzinfo=dt.UTC),
        columns=COLUMNS,
        group_by=group_by,
    )


def order_lines(rows: int) -> Iterator[Line]:
    """Detail rows grouped by partner with subtotals, as the engine sends them."""
    grand_qty = grand_amount = decimal.Decimal(0)
    group: tuple[Any, ...] | None = None
    qty = amount = decimal.Decimal(0)
    count = 0
    for row in values(rows):
        if group is not None and row[2] != group[0]:
            yield subtotal(group, qty, amount, count)
            qty = amount = decimal.Decimal(0)
            count = 0
        group = (row[2],)
        qty += row[6]
        amount += row[8]
        count += 1
        grand_qty += row[6]
        grand_amount += row[8]
        yield DetailRow(row)
    if group is not None:
        yield subtotal(group, qty, amount, count)
    totals = (None,) * 6 + (grand_qty, None, grand_amount, None)
    yield GrandTotalRow(totals, rows)


def subtotal(
    group: tuple[Any, ...], qty: decimal.Decimal, amount: decimal.Decimal, count: int
) -> SubtotalRow:
    totals = (None, None, group[0], None, None, None, qty, None, amount, None)
    return SubtotalRow(0, group, totals, count)


def best(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return min(samples)


# ---- PDF -------------------------------------------------------------------


def bench_pdf(runs: int) -> None:
    # Here only, so the XLSX child processes do not carry WeasyPrint in their RSS.
    import weasyprint  # noqa: PLC0415

    page = "".join(
        html_chunks(header(("bpartner",)), order_lines(PDF_ROWS), for_print=True)
    )
    weasyprint.HTML(string="<p>warm up</p>").write_pdf()  # fonts, caches

    def through_render() -> None:
        report = Report(header(("bpartner",)), order_lines(PDF_ROWS))
        render(report, "PDF", _Discard(), pdf_row_ceiling=10_000)

    def weasyprint_alone() -> None:
        weasyprint.HTML(string=page).write_pdf(_Discard())

    renderer = bare = float("inf")
    for _ in range(runs):  # interleaved, so both see the same machine load
        renderer = min(renderer, best(through_render, 1))
        bare = min(bare, best(weasyprint_alone, 1))
    print(f"PDF, {PDF_ROWS:,} rows, best of {runs}")
    print(f"  WeasyPrint alone on the same HTML   {bare:7.2f} s")
    print(f"  render(report, 'PDF')               {renderer:7.2f} s")
    _ratio(renderer / bare, PDF_TARGET)


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


# ---- XLSX ------------------------------------------------------------------


def bench_xlsx(runs: int) -> None:
    results: dict[str, list[dict[str, float]]] = {"render": [], "bare": []}
    for _ in range(runs):
        for kind, samples in results.items():
            samples.append(_child("xlsx-" + kind))
    renderer = min(r["seconds"] for r in results["render"])
    bare = min(r["seconds"] for r in results["bare"])
    renderer_rss = max(r["peak_rss_mb"] for r in results["render"])
    bare_rss = max(r["peak_rss_mb"] for r in results["bare"])
    size = results["render"][0]["size_mb"]
    print(f"XLSX, {XLSX_ROWS:,} rows x {len(COLUMNS)} columns, best of {runs}")
    print(f"  bare XlsxWriter constant_memory loop {bare:7.2f} s  {bare_rss:5.0f} MB")
    print(
        f"  render(report, 'XLSX')               {renderer:7.2f} s  {renderer_rss:5.0f}"
    )
    print(f"  (workbook {size:.1f} MB; peak RSS of each child process)")
    _ratio(renderer / bare, XLSX_TARGET)
    verdict = "ok" if renderer_rss <= XLSX_RSS_TARGET_MB else "OVER TARGET"
    print(
        f"  peak RSS {renderer_rss:.0f} MB (target <= {XLSX_RSS_TARGET_MB}) {verdict}"
    )


def _child(kind: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter; its own peak RSS comes back."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    return result


def xlsx_through_render(path: str) -> None:
    report = Report(header(("bpartner",)), order_lines(XLSX_ROWS))
    with open(path, "wb") as sink:
        render(report, "XLSX", sink, pdf_row_ceiling=0)


def xlsx_bare(path: str) -> None:
    """What the renderer writes, by hand: header, rows, subtotals, grand total."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("Order Detail")
    heading = book.add_format({"bold": True})
    fmt = [
        book.add_format({"num_format": c.format}) if c.format else None for c in COLUMNS
    ]
    bold = [
        book.add_format({"bold": True, "num_format": c.format or 0}) for c in COLUMNS
    ]
    for col, column in enumerate(COLUMNS):
        sheet.set_column(col, col, column.width)
        sheet.write_string(0, col, column.header, heading)
    sheet.freeze_panes(1, 0)

    row = 0
    for line in order_lines(XLSX_ROWS):
        row += 1
        v = line.values
        if isinstance(line, DetailRow):
            sheet.write_number(row, 0, v[0], fmt[0])
            sheet.write_string(row, 1, v[1], fmt[1])
            sheet.write_string(row, 2, v[2], fmt[2])
            sheet.write_datetime(row, 3, v[3], fmt[3])
            sheet.write_string(row, 4, v[4], fmt[4])
            sheet.write_string(row, 5, v[5], fmt[5])
            sheet.write_number(row, 6, v[6], fmt[6])
            sheet.write_number(row, 7, v[7], fmt[7])
            sheet.write_number(row, 8, v[8], fmt[8])
            sheet.write_number(row, 9, v[9], fmt[9])
        else:
            sheet.write_string(row, 0, "Total", bold[0])
            if v[2] is not None:
                sheet.write_string(row, 2, v[2], bold[2])
            sheet.write_number(row, 6, v[6], bold[6])
            sheet.write_number(row, 8, v[8], bold[8])
    sheet.autofilter(0, 0, row - 1, len(COLUMNS) - 1)
    book.close()


def run_child(kind: str) -> None:
    actions = {"xlsx-render": xlsx_through_render, "xlsx-bare": xlsx_bare}
    with tempfile.TemporaryDirectory(prefix="procserv-bench-") as folder:
        path = os.path.join(folder, "out.xlsx")
        started = time.perf_counter()
        actions[kind](path)
        seconds = time.perf_counter() - started
        size = os.path.getsize(path)
    result = {"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), "size_mb": size / 1e6}
    print(json.dumps(result))


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---- CSV -------------------------------------------------------------------


def bench_csv(runs: int) -> None:
    """CSV of about 1,000,000 rows against COPY ... TO STDOUT (bench/report_csv.py)."""
    from report_csv import bench_csv as measure  # noqa: PLC0415

    measure(runs)


def _ratio(ratio: float, target: float) -> None:
    verdict = "ok" if ratio <= target else "OVER TARGET"
    print(f"  ratio {ratio:.2f} (target <= {target}) {verdict}")


SECTIONS: dict[str, Callable[[int], None]] = {
    "pdf": bench_pdf,
    "xlsx": bench_xlsx,
    "csv": bench_csv,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SECTIONS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    for name, section in SECTIONS.items():
        if args.only in (None, name):
            section(args.runs)


if __name__ == "__main__":
    main()
