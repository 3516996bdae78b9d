"""The report views of the shipped reports, over the sample data and procserv's
own instances.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Every view carries ad_client_id: the report engine limits each report to the
# caller's tenant by it. Column names match the parameter names of the reports
# (C_BPartner_ID narrows c_bpartner_id, DateOrdered narrows dateordered ...).
UPGRADE = """
CREATE VIEW rv_orderdetail AS
SELECT o.ad_client_id, o.ad_org_id, o.c_order_id, l.c_orderline_id,
       o.documentno, o.dateordered, o.datepromised, o.docstatus, o.issotrx,
       o.c_bpartner_id, bp.value AS bpartnervalue, bp.name AS bpartnername,
       o.salesrep_id, l.line, l.m_product_id, p.value AS productvalue,
       p.name AS productname, p.uom, l.qtyordered, l.qtydelivered, l.qtyinvoiced,
       l.qtyordered - l.qtydelivered AS qtytodeliver,
       l.qtyordered - l.qtyinvoiced AS qtytoinvoice,
       l.priceactual, l.linenetamt, l.taxamt
  FROM c_orderline l
  JOIN c_order o ON o.c_order_id = l.c_order_id
  JOIN c_bpartner bp ON bp.c_bpartner_id = o.c_bpartner_id
  JOIN m_product p ON p.m_product_id = l.m_product_id;

-- Open sales invoices as of a date: what was invoiced by then less what was paid
-- by then, whatever was paid later, with the open amount in one aging bucket by
-- days past due. A plain SQL function declared STABLE, so the planner inlines it
-- and the tenant and partner conditions of a report reach the tables' indexes.
CREATE FUNCTION rv_bpartneropen(p_asof date)
RETURNS TABLE (
    ad_client_id   integer,
    ad_org_id      integer,
    c_invoice_id   integer,
    documentno     text,
    dateinvoiced   date,
    duedate        date,
    c_bpartner_id  integer,
    bpartnervalue  text,
    bpartnername   text,
    grandtotal     numeric,
    paidamt        numeric,
    openamt        numeric,
    daysdue        integer,
    currentamt     numeric,
    due1_30        numeric,
    due31_60       numeric,
    due61_90       numeric,
    dueover90      numeric
)
LANGUAGE sql STABLE
AS $$
SELECT i.ad_client_id, i.ad_org_id, i.c_invoice_id, i.documentno::text,
       i.dateinvoiced, i.duedate, i.c_bpartner_id, bp.value::text,
       bp.name::text, i.grandtotal, paid.amount, i.grandtotal - paid.amount,
       p_asof - i.duedate,
       CASE WHEN p_asof - i.duedate <= 0 THEN i.grandtotal - paid.amount ELSE 0 END,
       CASE WHEN p_asof - i.duedate BETWEEN 1 AND 30
            THEN i.grandtotal - paid.amount ELSE 0 END,
       CASE WHEN p_asof - i.duedate BETWEEN 31 AND 60
            THEN i.grandtotal - paid.amount ELSE 0 END,
       CASE WHEN p_asof - i.duedate BETWEEN 61 AND 90
            THEN i.grandtotal - paid.amount ELSE 0 END,
       CASE WHEN p_asof - i.duedate > 90 THEN i.grandtotal - paid.amount ELSE 0 END
  FROM c_invoice i
  JOIN c_bpartner bp ON bp.c_bpartner_id = i.c_bpartner_id
 CROSS JOIN LATERAL (
       SELECT COALESCE(sum(pay.payamt), 0) AS amount
         FROM c_payment pay
        WHERE pay.c_invoice_id = i.c_invoice_id
          AND pay.docstatus IN ('CO', 'CL')
          AND pay.datetrx <= p_asof) paid
 WHERE i.issotrx
   AND i.docstatus IN ('CO', 'CL')
   AND i.dateinvoiced <= p_asof
   AND i.grandtotal - paid.amount <> 0
$$;

CREATE VIEW rv_product_list AS
SELECT p.ad_client_id, p.ad_org_id, p.m_product_id, p.value AS productvalue,
       p.name AS productname, p.description, p.producttype, p.uom,
       p.m_product_category_id, c.name AS categoryname,
       pl.m_pricelist_id, pl.name AS pricelistname, pl.currency,
       pp.pricelist, pp.pricestd, pp.pricelimit
  FROM m_product p
  JOIN m_product_category c ON c.m_product_category_id = p.m_product_category_id
  JOIN m_productprice pp ON pp.m_product_id = p.m_product_id
  JOIN m_pricelist pl ON pl.m_pricelist_id = pp.m_pricelist_id
 WHERE p.isactive AND pp.isactive AND pl.isactive;

-- failed is 100 for a failed or timed-out instance and 0 for another finished
-- one, so the average of a group is its failure rate in percent; it is NULL
-- while an instance is queued or running, which averages leave out.
CREATE VIEW rv_process_activity AS
SELECT i.ad_client_id, i.ad_org_id, i.ad_pinstance_id, i.ad_process_id,
       p.value AS processvalue, p.name AS processname, i.ad_user_id,
       u.name AS username, i.status, i.isrunasjob, i.created,
       i.started, i.finished,
       round(extract(epoch FROM i.finished - i.started), 3) AS durationseconds,
       CASE WHEN i.status IN ('queued', 'running') THEN NULL
            WHEN i.status IN ('failed', 'timed_out') THEN 100
            ELSE 0 END AS failed
  FROM ad_pinstance i
  JOIN ad_process p ON p.ad_process_id = i.ad_process_id
  JOIN ad_user u ON u.ad_user_id = i.ad_user_id;
"""

DOWNGRADE = """
DROP VIEW rv_process_activity, rv_product_list, rv_orderdetail;
DROP FUNCTION rv_bpartneropen(date);
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
