"""Print Order: one sales order as a document (header, lines, taxes, totals).

A button process on ``C_Order``: the client names the order with ``record-id``.
The document is an HTML page from a Jinja2 template, which WeasyPrint turns into
the PDF; ``report-type`` HTML gives the page itself.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jinja2

from app.db import Row
from processes.context import Context, OutputWriter, ProcessError, Result
from processes.declarations import Process
from processes.erp.lookups import document_status_name
from processes.reports.engine import output_name

_TEMPLATES = Path(__file__).parent / "templates"

_ORDER = """
SELECT o.c_order_id, o.documentno, o.dateordered, o.datepromised, o.docstatus,
       o.description, o.totallines, o.taxamt, o.grandtotal,
       c.name AS tenant, bp.name AS bpartnername, bp.city, u.name AS salesrep,
       pl.name AS pricelist, pl.currency
  FROM c_order o
  JOIN ad_client c ON c.ad_client_id = o.ad_client_id
  JOIN c_bpartner bp ON bp.c_bpartner_id = o.c_bpartner_id
  LEFT JOIN ad_user u ON u.ad_user_id = o.salesrep_id
  LEFT JOIN m_pricelist pl ON pl.m_pricelist_id = o.m_pricelist_id
 WHERE o.c_order_id = %s AND o.ad_client_id IN (0, %s)
"""

_LINES = """
SELECT l.line, p.value AS productvalue, p.name AS productname, l.qtyordered, p.uom,
       l.priceactual, l.linenetamt
  FROM c_orderline l
  JOIN m_product p ON p.m_product_id = l.m_product_id
 WHERE l.c_order_id = %s
 ORDER BY l.line, l.c_orderline_id
"""

_TAXES = """
SELECT t.name, t.rate, sum(l.linenetamt) AS base, sum(l.taxamt) AS amount
  FROM c_orderline l
  JOIN c_tax t ON t.c_tax_id = l.c_tax_id
 WHERE l.c_order_id = %s
 GROUP BY t.c_tax_id, t.name, t.rate
 ORDER BY t.rate, t.name
"""

_MEDIA_TYPES = {"PDF": "application/pdf", "HTML": "text/html; charset=utf-8"}


def print_order(ctx: Context) -> Result:
    report_type = ctx.report_type or "PDF"  # the API allows only PDF and HTML
    if not ctx.record_id:
        raise ProcessError("Print Order needs the order's id as record-id")
    order = ctx.db.execute(_ORDER, (ctx.record_id, ctx.client_id)).fetchone()
    if order is None:
        # The API checked the record; it can have been deleted since.
        raise ProcessError(f"No order {ctx.record_id}")
    page = _document(ctx, order)
    name = output_name(PRINT_ORDER.name, ctx.instance_id, report_type.lower())
    kind = "report" if report_type == "PDF" else "export"
    with ctx.open_output(name, _MEDIA_TYPES[report_type], kind=kind) as out:
        if report_type == "PDF":
            _write_pdf(page, out)
        else:
            out.write(page.encode())
    return Result(summary=f"Order {order['documentno']}")


def _document(ctx: Context, order: Row) -> str:
    lines = ctx.db.execute(_LINES, (order["c_order_id"],)).fetchall()
    taxes = ctx.db.execute(_TAXES, (order["c_order_id"],)).fetchall()
    template = _environment().get_template("order.html")
    return template.render(
        title="Order",
        language=ctx.language.replace("_", "-"),
        status=document_status_name(order["docstatus"]),
        order=order,
        lines=lines,
        taxes=taxes,
    )


def _write_pdf(page: str, out: OutputWriter) -> None:
    # WeasyPrint is large: imported when a document is printed, so the API, which
    # loads every declaration but renders nothing, never pays for it.
    import weasyprint  # noqa: PLC0415

    weasyprint.HTML(string=page, base_url=str(_TEMPLATES)).write_pdf(target=out)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["amount"] = _amount
    environment.filters["price"] = _price
    environment.filters["quantity"] = _quantity
    return environment


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _price(value: Decimal | None) -> str:
    """Two decimals, or up to four where the price has them."""
    if value is None:
        return ""
    rounded = value.quantize(Decimal("0.0001"), rounding=decimal.ROUND_HALF_UP)
    if rounded == rounded.quantize(Decimal("0.01")):
        return f"{rounded:,.2f}"
    return f"{rounded.normalize():,f}"


def _quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


PRINT_ORDER = Process(
    value="C_Order Print",
    name="Print Order",
    run=print_order,
    description="Print a sales order as a document",
    help="Called with the order's id as record-id (optionally with table-id 259 or "
    "model-name c_order). Prints the order's header, lines, taxes by rate and "
    "totals to PDF; report-type HTML gives the same document as a web page.",
    is_report=True,
    table="C_Order",
    report_types=("PDF", "HTML"),
)
