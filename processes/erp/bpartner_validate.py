"""Validate Business Partner (iDempiere's ``C_BPartner Validate``): recompute a
partner's open balance and credit used from its invoices and payments.

procserv's sample data has sales documents and customer receipts only, so the
rule is simpler than iDempiere's, which also nets purchase invoices:

- credit used is what the partner's completed sales invoices still owe, each
  invoice's grand total less the completed payments allocated to it;
- the open balance is the credit used less the partner's completed payments not
  allocated to any invoice (money received in advance).
"""

from __future__ import annotations

from decimal import Decimal

from processes.context import Context, ProcessError, Result
from processes.declarations import Parameter, Process, Ref
from processes.erp.lookups import BPARTNERS

C_BPARTNER_TABLE = 291

_PARTNER = """
SELECT c_bpartner_id, name, totalopenbalance, so_creditused
  FROM c_bpartner
 WHERE c_bpartner_id = %s AND ad_client_id = %s
   FOR UPDATE
"""

_BALANCES = """
SELECT COALESCE(sum(i.grandtotal - COALESCE(paid.amount, 0)), 0) AS creditused,
       COALESCE(sum(i.grandtotal - COALESCE(paid.amount, 0)), 0)
         - (SELECT COALESCE(sum(p.payamt), 0)
              FROM c_payment p
             WHERE p.c_bpartner_id = %(partner)s AND p.c_invoice_id IS NULL
               AND p.docstatus IN ('CO', 'CL')) AS openbalance
  FROM c_invoice i
  LEFT JOIN LATERAL (
       SELECT sum(p.payamt) AS amount
         FROM c_payment p
        WHERE p.c_invoice_id = i.c_invoice_id AND p.docstatus IN ('CO', 'CL')) paid
    ON true
 WHERE i.c_bpartner_id = %(partner)s AND i.issotrx AND i.docstatus IN ('CO', 'CL')
"""

_UPDATE = """
UPDATE c_bpartner
   SET totalopenbalance = %(totalopenbalance)s, so_creditused = %(so_creditused)s,
       updated = now()
 WHERE c_bpartner_id = %(partner)s
"""

# (column, label) of each value the process keeps.
_KEPT = (("totalopenbalance", "Open Balance"), ("so_creditused", "Credit Used"))


def validate_partner(ctx: Context) -> Result:
    partner_id = int(ctx.params["C_BPartner_ID"])
    partner = ctx.db.execute(_PARTNER, (partner_id, ctx.client_id)).fetchone()
    if partner is None:
        raise ProcessError(f"No business partner {partner_id}")
    balances = ctx.db.execute(_BALANCES, {"partner": partner_id}).fetchone()
    assert balances is not None
    new = {
        "totalopenbalance": balances["openbalance"],
        "so_creditused": balances["creditused"],
    }
    changes = [
        _log_change(ctx, partner_id, label, partner[column], new[column])
        for column, label in _KEPT
        if partner[column] != new[column]
    ]
    if not changes:
        return Result(summary=f"{partner['name']}: no change")
    ctx.db.execute(_UPDATE, {**new, "partner": partner_id})
    return Result(
        summary=f"{partner['name']}: " + ", ".join(changes),
        data={"C_BPartner_ID": partner_id, **{k: str(v) for k, v in new.items()}},
    )


def _log_change(
    ctx: Context, partner_id: int, label: str, old: Decimal, new: Decimal
) -> str:
    change = f"{label} {old:.2f} -> {new:.2f}"
    ctx.log(change, number=float(new), table_id=C_BPARTNER_TABLE, record_id=partner_id)
    return change


C_BPARTNER_VALIDATE = Process(
    value="C_BPartner Validate",
    name="Validate Business Partner",
    run=validate_partner,
    description="Check the open balance and credit used of a business partner",
    help="Recomputes the partner's credit used (what its completed sales invoices "
    "still owe after their payments) and open balance (the credit used less "
    "payments not allocated to an invoice), stores them, and logs each value "
    "that changed.",
    parameters=(
        Parameter(
            "C_BPartner_ID",
            "Business Partner",
            Ref.SEARCH,
            description="Identifies a Business Partner",
            mandatory=True,
            length=10,
            values=BPARTNERS,
        ),
    ),
)
