"""procserv's table registry (``ad_table``): the tables a process may be called on
(``table-id``, ``model-name``) and the translation tables ``translationimpexp``
works on. Ids are iDempiere's, so clients written for it send the same numbers."""

from __future__ import annotations

from typing import NamedTuple

from processes.declarations import derived_uuid


class Table(NamedTuple):
    id: int
    table_name: str
    name: str


TABLES = (
    Table(100, "AD_Table", "Table"),
    Table(102, "AD_Reference", "Reference"),
    Table(104, "AD_Ref_List", "Reference List"),
    Table(111, "AD_Language", "Language"),
    Table(112, "AD_Client", "Tenant"),
    Table(114, "AD_User", "User/Contact"),
    Table(136, "AD_Ref_List_Trl", "Reference List Trl"),
    Table(155, "AD_Org", "Organization"),
    Table(156, "AD_Role", "Role"),
    # the sample ERP data (app/demodata.py)
    Table(208, "M_Product", "Product"),
    Table(209, "M_Product_Category", "Product Category"),
    Table(251, "M_ProductPrice", "Product Price"),
    Table(255, "M_PriceList", "Price List"),
    Table(259, "C_Order", "Order"),
    Table(260, "C_OrderLine", "Order Line"),
    Table(261, "C_Tax", "Tax"),
    Table(282, "AD_PInstance", "Process Instance"),
    Table(284, "AD_Process", "Process"),
    Table(285, "AD_Process_Para", "Process Parameter"),
    # 286 and 287 come from a third-party copy of iDempiere's dictionary; iDempiere
    # itself publishes no model class for *_Trl tables to confirm them.
    Table(286, "AD_Process_Para_Trl", "Process Parameter Trl"),
    Table(287, "AD_Process_Trl", "Process Trl"),
    Table(291, "C_BPartner", "Business Partner"),
    Table(318, "C_Invoice", "Invoice"),
    Table(335, "C_Payment", "Payment"),
    Table(578, "AD_PInstance_Log", "Process Instance Log"),
)

# The column a record is known by (iDempiere's identifier), for lookups by
# {"identifier": ...}; a table not named here is known by its name.
IDENTIFIERS = {
    "ad_table": "tablename",
    "ad_process": "value",
    "ad_ref_list": "value",
    "ad_org": "value",
    "ad_client": "value",
    "c_order": "documentno",
    "c_invoice": "documentno",
    "c_payment": "documentno",
}


def identifier_column(table: str) -> str:
    return IDENTIFIERS.get(table, "name")


# The UUID is derived from the table's name, so {"uid": ...} names the same table
# on every installation.
UPSERT = """
INSERT INTO ad_table (ad_table_id, ad_table_uu, tablename, name)
VALUES (%(id)s, %(uuid)s, %(table_name)s, %(name)s)
ON CONFLICT (ad_table_id) DO UPDATE
   SET ad_table_uu = EXCLUDED.ad_table_uu, tablename = EXCLUDED.tablename,
       name = EXCLUDED.name, isactive = true
"""


def upsert_values(table: Table) -> dict[str, object]:
    return {**table._asdict(), "uuid": derived_uuid("table", table.table_name)}
