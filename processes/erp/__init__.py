"""The reports and processes over the sample ERP data (business partners,
products, orders, invoices, payments), and Process Activity over procserv's own
instances."""

from __future__ import annotations

from processes.erp.activity import PROCESS_ACTIVITY
from processes.erp.bpartner_validate import C_BPARTNER_VALIDATE
from processes.erp.bpartneropen import BPARTNER_OPEN
from processes.erp.orderdetail import ORDER_DETAIL
from processes.erp.printorder import PRINT_ORDER
from processes.erp.productlist import PRODUCT_LIST

__all__ = ["PROCESSES"]

PROCESSES = (
    ORDER_DETAIL,
    BPARTNER_OPEN,
    PRODUCT_LIST,
    PROCESS_ACTIVITY,
    C_BPARTNER_VALIDATE,
    PRINT_ORDER,
)
