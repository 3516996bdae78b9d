"""The lookups the sample ERP processes share: which records a parameter may name.

A reference's UUID is derived from its name, so each is declared once here and
every process that looks up partners or products uses the same dictionary row.
"""

from __future__ import annotations

from processes.declarations import ListReference, ListValue, TableReference

BPARTNERS = TableReference(
    name="C_BPartner", table="c_bpartner", key="c_bpartner_id", display="name"
)

PRODUCTS = TableReference(
    name="M_Product", table="m_product", key="m_product_id", display="name"
)

PRODUCT_CATEGORIES = TableReference(
    name="M_Product_Category",
    table="m_product_category",
    key="m_product_category_id",
    display="name",
)

PRICE_LISTS = TableReference(
    name="M_PriceList", table="m_pricelist", key="m_pricelist_id", display="name"
)

PROCESSES = TableReference(
    name="AD_Process", table="ad_process", key="ad_process_id", display="name"
)

USERS = TableReference(
    name="AD_User", table="ad_user", key="ad_user_id", display="name"
)

# iDempiere's _Document Status list (AD_Reference 131), the values the sample
# orders take.
DOCUMENT_STATUS = ListReference(
    name="_Document Status",
    values=(
        ListValue("DR", "Drafted"),
        ListValue("IP", "In Progress"),
        ListValue("CO", "Completed"),
        ListValue("CL", "Closed"),
        ListValue("VO", "Voided"),
    ),
    id=131,
)

INSTANCE_STATUS = ListReference(
    name="AD_PInstance Status",
    values=(
        ListValue("queued", "Queued"),
        ListValue("running", "Running"),
        ListValue("succeeded", "Succeeded"),
        ListValue("failed", "Failed"),
        ListValue("cancelled", "Cancelled"),
        ListValue("timed_out", "Timed out"),
    ),
)


def document_status_name(value: str) -> str:
    return next((v.name for v in DOCUMENT_STATUS.values if v.value == value), value)
