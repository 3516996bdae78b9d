"""Business Partner Open (iDempiere's ``RV_BPartnerOpen``): what customers still
owe, by partner, aged by days past due as of a statement date."""

from __future__ import annotations

from processes.declarations import Parameter, Ref
from processes.erp.lookups import BPARTNERS
from processes.reports import report
from processes.reports.declarations import FormatItem, PrintFormat, ReportView

_AMOUNT = "#,##0.00"
_DATE = "yyyy-mm-dd"

VIEW = ReportView(
    name="RV_BPartnerOpen",
    source="rv_bpartneropen(%(StatementDate)s)",
    arguments=("StatementDate",),
)


def _bucket(column: str, header: str) -> FormatItem:
    return FormatItem(
        column, header, "amount", align="right", format=_AMOUNT, total="sum"
    )


BY_PARTNER = PrintFormat(
    name="Business Partner Open",
    items=(
        FormatItem("bpartnername", "Business Partner", width=24, sort=1, group_by=True),
        FormatItem("documentno", "Invoice", sort=3, total="count"),
        FormatItem("dateinvoiced", "Date Invoiced", "date", format=_DATE),
        FormatItem("duedate", "Due Date", "date", format=_DATE, sort=2),
        FormatItem(
            "daysdue", "Days Due", "integer", width=8, align="right", total="max"
        ),
        _bucket("grandtotal", "Grand Total"),
        _bucket("openamt", "Open Amount"),
        _bucket("currentamt", "Not Due"),
        _bucket("due1_30", "1-30"),
        _bucket("due31_60", "31-60"),
        _bucket("due61_90", "61-90"),
        _bucket("dueover90", "Over 90"),
    ),
)

BPARTNER_OPEN = report(
    "RV_BPartnerOpen",
    "Business Partner Open",
    view=VIEW,
    formats=(BY_PARTNER,),
    description="Open sales invoices by business partner, aged by days past due",
    help="Each completed sales invoice that is not fully paid as of the statement "
    "date, with its open amount in one column by days past due: not yet due, "
    "1 to 30, 31 to 60, 61 to 90, or over 90 days. Payments made after the "
    "statement date do not count.",
    parameters=(
        Parameter(
            "StatementDate",
            "Statement date",
            Ref.DATE,
            description="Date of the statement: open amounts and days due are as of "
            "this day",
            mandatory=True,
            default="@#Date@",
            length=7,
        ),
        Parameter(
            "C_BPartner_ID",
            "Business Partner",
            Ref.SEARCH,
            description="Identifies a Business Partner",
            length=10,
            values=BPARTNERS,
        ),
    ),
)
