"""Order Detail (iDempiere's ``RV_OrderDetail``): order lines by business partner."""

from __future__ import annotations

from processes.declarations import Parameter, Ref
from processes.erp.lookups import BPARTNERS, DOCUMENT_STATUS, PRODUCTS
from processes.reports import report
from processes.reports.declarations import FormatItem, PrintFormat, ReportView

_AMOUNT = "#,##0.00"
_QUANTITY = "#,##0.00"
_PRICE = "#,##0.00##"  # prices have four decimals; most use two
_DATE = "yyyy-mm-dd"

# iDempiere's AD_ReportView_ID of RV_OrderDetail, so its print-format examples
# name the same view.
VIEW = ReportView(name="RV_OrderDetail", source="rv_orderdetail", id=104)


def _quantity(column: str, header: str) -> FormatItem:
    return FormatItem(
        column, header, "number", align="right", format=_QUANTITY, total="sum"
    )


def _line_amount() -> FormatItem:
    return FormatItem(
        "linenetamt",
        "Line Amount",
        "amount",
        width=14,
        align="right",
        format=_AMOUNT,
        total="sum",
    )


BY_PARTNER = PrintFormat(
    name="Order Detail",
    items=(
        FormatItem("bpartnername", "Business Partner", width=24, sort=1, group_by=True),
        FormatItem("documentno", "Document No", sort=3, total="count"),
        FormatItem("dateordered", "Date Ordered", "date", format=_DATE, sort=2),
        FormatItem("docstatus", "Status", width=7),
        FormatItem("line", "Line", "integer", width=6, align="right", sort=4),
        FormatItem("productname", "Product", width=24),
        _quantity("qtyordered", "Ordered"),
        _quantity("qtydelivered", "Delivered"),
        _quantity("qtyinvoiced", "Invoiced"),
        FormatItem("priceactual", "Price", "amount", align="right", format=_PRICE),
        _line_amount(),
    ),
)

BY_PRODUCT = PrintFormat(
    name="Order Detail by Product",
    items=(
        FormatItem("productname", "Product", width=24, sort=1, group_by=True),
        FormatItem("documentno", "Document No", sort=3, total="count"),
        FormatItem("dateordered", "Date Ordered", "date", format=_DATE, sort=2),
        FormatItem("bpartnername", "Business Partner", width=24),
        _quantity("qtyordered", "Ordered"),
        _quantity("qtydelivered", "Delivered"),
        _line_amount(),
    ),
)

ORDER_DETAIL = report(
    "RV_OrderDetail",
    "Order Detail",
    view=VIEW,
    formats=(BY_PARTNER, BY_PRODUCT),
    description="Order lines with their quantities and amounts, by business partner",
    help="Each order line with what was ordered, delivered and invoiced. "
    "Choose business partners, a range of order dates, a document status or a "
    "product to narrow the lines.",
    parameters=(
        Parameter(
            "C_BPartner_ID",
            "Business Partner",
            Ref.CHOSEN_MULTIPLE_SELECTION_SEARCH,
            description="Identifies a Business Partner",
            length=10,
            values=BPARTNERS,
        ),
        Parameter(
            "DateOrdered",
            "Date Ordered",
            Ref.DATE,
            description="Date of Order",
            is_range=True,
            length=7,
        ),
        Parameter(
            "DocStatus",
            "Document Status",
            Ref.LIST,
            description="The current status of the document",
            length=2,
            values=DOCUMENT_STATUS,
        ),
        Parameter(
            "M_Product_ID",
            "Product",
            Ref.SEARCH,
            description="Product, Service, Item",
            length=10,
            values=PRODUCTS,
        ),
    ),
)
