"""Product List: products with their prices, by price list and category."""

from __future__ import annotations

from processes.declarations import Parameter, Ref
from processes.erp.lookups import PRICE_LISTS, PRODUCT_CATEGORIES
from processes.reports import report
from processes.reports.declarations import FormatItem, PrintFormat, ReportView

_PRICE = "#,##0.00##"  # prices have four decimals; most use two

VIEW = ReportView(name="RV_Product_List", source="rv_product_list")


def _price(column: str, header: str) -> FormatItem:
    return FormatItem(column, header, "amount", align="right", format=_PRICE)


BY_CATEGORY = PrintFormat(
    name="Product List",
    items=(
        FormatItem("pricelistname", "Price List", width=20, sort=1, group_by=True),
        FormatItem("categoryname", "Product Category", width=20, sort=2, group_by=True),
        FormatItem("productvalue", "Search Key", sort=3, total="count"),
        FormatItem("productname", "Product", width=28),
        FormatItem("uom", "UOM", width=6),
        FormatItem("currency", "Currency", width=8),
        _price("pricelist", "List Price"),
        _price("pricestd", "Standard Price"),
        _price("pricelimit", "Limit Price"),
    ),
)

PRODUCT_LIST = report(
    "RV_Product_List",
    "Product List",
    view=VIEW,
    formats=(BY_CATEGORY,),
    description="Products with their list, standard and limit prices",
    help="Each active product with its prices on each price list, by price list "
    "and product category.",
    parameters=(
        Parameter(
            "M_PriceList_ID",
            "Price List",
            Ref.TABLE,
            description="Unique identifier of a Price List",
            length=10,
            values=PRICE_LISTS,
        ),
        Parameter(
            "M_Product_Category_ID",
            "Product Category",
            Ref.TABLE,
            description="Category of a Product",
            length=10,
            values=PRODUCT_CATEGORIES,
        ),
    ),
)
