"""GardenWorld-like sample data for the reports: taxes, products and prices,
business partners, sales orders with lines, invoices and payments, for tenant
GardenWorld at any scale.

Everything is generated on the server (``INSERT ... SELECT`` over
``generate_series``); each "random" choice is a hash of the row's ordinal and
the seed, so the same arguments always give the same rows, ids, UUIDs and
timestamps included. Dates run over two years up to an anchor date, today unless
given, so that reports run "as of today" find orders and invoices in every aging
bucket. Generating again replaces the tenant's sample data in one transaction;
partners keep their ids.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from typing import Any

import psycopg
import structlog
from psycopg import sql

from app.db import Row
from app.demodata_lists import (
    CATEGORIES,
    CITIES,
    CREDIT_LIMITS,
    GARDENWORLD_PARTNERS,
    NET_DAYS,
    ORDER_NOTES,
    PLACES,
    PRODUCTS,
    SHOWCASE,
    SUFFIXES,
    TAXES,
    TRADES,
)
from app.seed import DEMO_USERS, GARDENWORLD, HQ

log = structlog.get_logger(__name__)

DAYS = 730
MIN_ORDERS = 5
MAX_PARTNERS = 4000
# lines of an order: 1 to MAX_LINES, 5 on average
MAX_LINES = 9
# the scale the demo seed loads
DEMO_ORDERS = 300
FIRST_ID = 1_000_000
STANDARD_PRICELIST = FIRST_ID
PURCHASE_PRICELIST = FIRST_ID + 1


class DemoDataError(Exception):
    """The sample data cannot be generated as asked."""


@dataclass(frozen=True)
class Made:
    """What one generation stored."""

    anchor: date
    partners: int
    products: int
    orders: int
    lines: int
    invoices: int
    payments: int
    seconds: float


# --- SQL ------------------------------------------------------------------------

# A number in [0, 1) from a row's ordinal k, the same for the same seed, stream
# and k; each property of a row draws from its own stream. hashint8extended
# hashes the value, not its bytes, so it is the same on every platform. Plain SQL
# functions, so the planner inlines them.
_FUNCTIONS = """
CREATE OR REPLACE FUNCTION pg_temp.demo_random(stream integer, k bigint)
RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (hashint8extended(k, {seed}::bigint * 1000 + stream) & 2147483647)::float8
             / 2147483648 $$;
CREATE OR REPLACE FUNCTION pg_temp.demo_pick(choices anyarray, r double precision)
RETURNS anyelement LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT choices[1 + floor(r * cardinality(choices))::integer] $$;
"""

_TEMP_TABLES = (
    "demo_partner",
    "demo_product",
    "demo_order",
    "demo_line",
    "demo_total",
    "demo_invoice",
    "demo_payment",
)

_TENANT_EXISTS = "SELECT EXISTS (SELECT 1 FROM ad_client WHERE ad_client_id = %s)"

_HAS_ORDERS = "SELECT EXISTS (SELECT 1 FROM c_order WHERE ad_client_id = %s)"

_DOCUMENT_TABLES = ("c_payment", "c_invoice", "c_orderline", "c_order")

_OTHER_TENANTS = "EXISTS (SELECT 1 FROM {table} WHERE ad_client_id <> %(tenant)s)"

# Whether another tenant holds an id the drawn documents of this table would take.
_DOCUMENT_IDS_TAKEN = """
SELECT min(d.{key}) AS id FROM {drawn} d
  JOIN {table} t ON t.{key} = d.{key} AND t.ad_client_id <> %(tenant)s
"""
_DRAWN = {
    "c_order": "demo_order",
    "c_orderline": "demo_line",
    "c_invoice": "demo_invoice",
    "c_payment": "demo_payment",
}

_FOREIGN_KEYS = """
SELECT c.relname AS tablename, k.conname, pg_get_constraintdef(k.oid) AS definition
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid
 WHERE k.contype = 'f' AND k.conrelid = ANY(%s::regclass[])
 ORDER BY c.relname, k.conname
"""

# Generated ids must not be another tenant's rows, which an upsert would take.
_TAKEN = """
SELECT EXISTS (SELECT 1 FROM {table} WHERE {key} = ANY(%s) AND ad_client_id <> %s)
"""

_DELETE_STALE = "DELETE FROM {table} WHERE ad_client_id = %s AND {key} <> ALL(%s)"

_UPSERT_TAX = """
INSERT INTO c_tax (c_tax_id, c_tax_uu, ad_client_id, ad_org_id, name, rate,
                   created, updated)
VALUES (%(id)s, md5('c_tax ' || %(id)s)::uuid, %(tenant)s, %(org)s, %(name)s,
        %(rate)s, %(stamp)s, %(stamp)s)
ON CONFLICT (c_tax_id) DO UPDATE
   SET name = EXCLUDED.name, rate = EXCLUDED.rate, isactive = true,
       created = EXCLUDED.created, updated = EXCLUDED.updated
"""

_UPSERT_CATEGORY = """
INSERT INTO m_product_category (m_product_category_id, m_product_category_uu,
                                ad_client_id, ad_org_id, value, name, created, updated)
VALUES (%(id)s, md5('m_product_category ' || %(id)s)::uuid, %(tenant)s, %(org)s,
        %(value)s, %(name)s, %(stamp)s, %(stamp)s)
ON CONFLICT (m_product_category_id) DO UPDATE
   SET value = EXCLUDED.value, name = EXCLUDED.name, isactive = true,
       created = EXCLUDED.created, updated = EXCLUDED.updated
"""

_UPSERT_PRICELIST = """
INSERT INTO m_pricelist (m_pricelist_id, m_pricelist_uu, ad_client_id, ad_org_id,
                         name, currency, issopricelist, created, updated)
VALUES (%(id)s, md5('m_pricelist ' || %(id)s)::uuid, %(tenant)s, %(org)s,
        %(name)s, 'USD', %(sales)s, %(stamp)s, %(stamp)s)
ON CONFLICT (m_pricelist_id) DO UPDATE
   SET name = EXCLUDED.name, currency = EXCLUDED.currency,
       issopricelist = EXCLUDED.issopricelist, isactive = true,
       created = EXCLUDED.created, updated = EXCLUDED.updated
"""

_UPSERT_PRODUCT = """
INSERT INTO m_product (m_product_id, m_product_uu, ad_client_id, ad_org_id, value,
                       name, description, m_product_category_id, uom, c_tax_id,
                       producttype, created, updated)
VALUES (%(id)s, md5('m_product ' || %(id)s)::uuid, %(tenant)s, %(org)s, %(value)s,
        %(name)s, %(description)s, %(category)s, %(uom)s, %(tax)s, %(type)s,
        %(stamp)s, %(stamp)s)
ON CONFLICT (m_product_id) DO UPDATE
   SET value = EXCLUDED.value, name = EXCLUDED.name,
       description = EXCLUDED.description,
       m_product_category_id = EXCLUDED.m_product_category_id, uom = EXCLUDED.uom,
       c_tax_id = EXCLUDED.c_tax_id, producttype = EXCLUDED.producttype,
       isactive = true, created = EXCLUDED.created, updated = EXCLUDED.updated
"""

# The purchase list is what GardenWorld pays its growers: a bit over half.
_UPSERT_PRICES = """
INSERT INTO m_productprice (m_pricelist_id, m_product_id, m_productprice_uu,
                            ad_client_id, ad_org_id, pricelist, pricestd, pricelimit,
                            created, updated)
SELECT l.id, %(id)s, md5('m_productprice ' || l.id || ' ' || %(id)s)::uuid,
       %(tenant)s, %(org)s, l.price, l.price, round(l.price * l.limitshare, 2),
       %(stamp)s, %(stamp)s
  FROM (VALUES (%(standard)s, %(price)s::numeric, 0.8),
               (%(purchase)s, round(%(price)s::numeric * 0.55, 2), 1.0))
       AS l (id, price, limitshare)
ON CONFLICT (m_pricelist_id, m_product_id) DO UPDATE
   SET pricelist = EXCLUDED.pricelist, pricestd = EXCLUDED.pricestd,
       pricelimit = EXCLUDED.pricelimit, isactive = true,
       created = EXCLUDED.created, updated = EXCLUDED.updated
"""

_PARTNER_TABLE = """
CREATE TEMP TABLE demo_partner (
    ordinal         integer PRIMARY KEY,
    c_bpartner_id   integer NOT NULL,
    value           text NOT NULL,
    name            text NOT NULL,
    isvendor        boolean NOT NULL,
    netdays         integer NOT NULL,
    so_creditlimit  numeric NOT NULL,
    email           text NOT NULL,
    city            text NOT NULL
)
"""

_GARDENWORLD_PARTNER = """
INSERT INTO demo_partner VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

# Ordinals from 3 on; z walks through every place x trade x suffix combination
# once (step is coprime with their number), starting where the seed says.
_GENERATED_PARTNERS = """
INSERT INTO demo_partner
SELECT o, %(first_id)s + o - 3, 'BP' || (%(first_id)s + o - 3),
       w.place || ' ' || w.trade || w.suffix,
       pg_temp.demo_random(1, o) < 0.2,
       pg_temp.demo_pick(%(netdays)s::integer[], pg_temp.demo_random(2, o)),
       pg_temp.demo_pick(%(limits)s::numeric[], pg_temp.demo_random(3, o)),
       'orders@' || lower(regexp_replace(w.place || w.trade, '[^A-Za-z]', '', 'g'))
         || '.example',
       pg_temp.demo_pick(%(cities)s::text[], pg_temp.demo_random(4, o))
  FROM generate_series(3, %(partners)s - 1) AS o
 CROSS JOIN LATERAL (
       SELECT mod((o - 3) * %(step)s + %(start)s, %(combinations)s) AS z) c
 CROSS JOIN LATERAL (
       SELECT (%(places)s::text[])[1 + mod(c.z, %(nplaces)s)] AS place,
              (%(trades)s::text[])[1 + mod(c.z / %(nplaces)s, %(ntrades)s)] AS trade,
              (%(suffixes)s::text[])[1 + c.z / (%(nplaces)s * %(ntrades)s)] AS suffix
       ) w
"""

_UPSERT_PARTNERS = """
INSERT INTO c_bpartner (c_bpartner_id, c_bpartner_uu, ad_client_id, ad_org_id, value,
                        name, iscustomer, isvendor, netdays, so_creditlimit,
                        so_creditused, totalopenbalance, email, city, created, updated)
SELECT c_bpartner_id, md5('c_bpartner ' || c_bpartner_id)::uuid, %(tenant)s,
       %(org)s, value, name, true, isvendor, netdays, so_creditlimit, 0, 0, email,
       city, %(stamp)s, %(stamp)s
  FROM demo_partner
 ORDER BY c_bpartner_id
ON CONFLICT (c_bpartner_id) DO UPDATE
   SET value = EXCLUDED.value, name = EXCLUDED.name, iscustomer = true,
       isvendor = EXCLUDED.isvendor, netdays = EXCLUDED.netdays,
       so_creditlimit = EXCLUDED.so_creditlimit, so_creditused = 0,
       totalopenbalance = 0, email = EXCLUDED.email, city = EXCLUDED.city,
       isactive = true, created = EXCLUDED.created, updated = EXCLUDED.updated
"""

# Products in order of popularity, which the seed shuffles.
_PRODUCT_TABLE = """
CREATE TEMP TABLE demo_product AS
SELECT (row_number() OVER (ORDER BY pg_temp.demo_random(5, p.m_product_id),
                                    p.m_product_id) - 1)::integer AS ordinal,
       p.m_product_id, p.uom, p.c_tax_id, t.rate, pp.pricestd
  FROM m_product p
  JOIN c_tax t ON t.c_tax_id = p.c_tax_id
  JOIN m_productprice pp
    ON pp.m_product_id = p.m_product_id AND pp.m_pricelist_id = %(pricelist)s
 WHERE p.m_product_id = ANY(%(ids)s)
"""

# One row per order, in date order: dates spread evenly over the days up to the
# anchor (so every stretch of time has orders at any scale), except the showcase
# orders, dated so their invoices fall due as SHOWCASE says. A few partners
# (GardenWorld's own) get 2 % of the orders each; the rest go evenly to all.
# Recent orders are more often still drafts; old completed ones often closed.
_ORDERS = """
CREATE TEMP TABLE demo_order AS
WITH drawn AS (
    SELECT k,
           CASE WHEN k <= %(showcase)s THEN (%(showcase_dates)s::date[])[k]
                ELSE %(anchor)s::date - floor((%(orders)s - k) * %(days)s::float8
                                              / greatest(%(orders)s - %(showcase)s, 1)
                                              )::integer
           END AS dateordered,
           CASE WHEN k <= %(showcase)s THEN (%(showcase_partners)s::integer[])[k]
                WHEN pg_temp.demo_random(10, k) < 0.06
                THEN floor(pg_temp.demo_random(10, k) / 0.02)::integer
                ELSE floor(pg_temp.demo_random(11, k) * %(partners)s)::integer
           END AS partner,
           1 + floor(pg_temp.demo_random(12, k) * %(max_lines)s)::integer AS nlines,
           pg_temp.demo_random(13, k) AS r
      FROM generate_series(1, %(orders)s) AS k
)
SELECT d.k, d.dateordered, d.nlines, p.c_bpartner_id, p.netdays,
       (d.dateordered + time '09:00') AT TIME ZONE 'UTC' AS stamp,
       CASE WHEN d.k <= %(showcase)s THEN 'CO'
            WHEN %(anchor)s::date - d.dateordered <= 7
            THEN CASE WHEN d.r < 0.15 THEN 'DR' WHEN d.r < 0.30 THEN 'IP'
                      WHEN d.r < 0.33 THEN 'VO' ELSE 'CO' END
            WHEN d.r < 0.01 THEN 'DR'
            WHEN d.r < 0.02 THEN 'IP'
            WHEN d.r < 0.06 THEN 'VO'
            WHEN %(anchor)s::date - d.dateordered > 180 AND d.r < 0.6 THEN 'CL'
            ELSE 'CO'
       END AS docstatus,
       (%(first_id)s - 1 + row_number() OVER w)::integer AS c_order_id,
       (sum(d.nlines) OVER w - d.nlines)::integer AS lines_before
  FROM drawn d
  JOIN demo_partner p ON p.ordinal = d.partner
WINDOW w AS (ORDER BY d.dateordered, d.k ROWS UNBOUNDED PRECEDING)
"""

# ~5 lines an order; popular products more often (the power skews the draw
# towards low ordinals); 15 % of lines at 5, 10 or 15 % off. Completed orders
# are invoiced in full, and delivered unless less than two weeks old. OFFSET 0
# keeps the inner query whole, so its quantity and price are computed once a
# line rather than once for each use.
_LINES = """
CREATE TEMP TABLE demo_line AS
SELECT c_order_id, c_orderline_id, line, m_product_id, c_tax_id, qty AS qtyordered,
       CASE WHEN invoiced AND NOT waiting THEN qty ELSE 0 END AS qtydelivered,
       CASE WHEN invoiced THEN qty ELSE 0 END AS qtyinvoiced,
       price AS priceactual, round(qty * price, 2) AS linenetamt,
       round(round(qty * price, 2) * rate / 100, 2) AS taxamt, stamp
  FROM (SELECT ol.c_order_id, ol.c_orderline_id, ol.line, ol.stamp, p.m_product_id,
               p.c_tax_id, p.rate, ol.docstatus IN ('CO', 'CL') AS invoiced,
               %(anchor)s::date - ol.dateordered < 14
                 AND pg_temp.demo_random(24, ol.key) < 0.5 AS waiting,
               (CASE p.uom
                    WHEN 'Kg' THEN round((1 + 99 * pg_temp.demo_random(21, ol.key))
                                         ::numeric, 1)
                    WHEN 'Hour' THEN (1 + floor(16 * pg_temp.demo_random(21, ol.key)))
                                     ::numeric / 2
                    ELSE 1 + floor(24 * pg_temp.demo_random(21, ol.key) ^ 2)::numeric
                END)::numeric(12, 2) AS qty,
               CASE WHEN pg_temp.demo_random(22, ol.key) < 0.15
                    THEN round(p.pricestd * (95 - 5 * floor(3 * pg_temp.demo_random(
                               23, ol.key))::numeric) / 100, 2)
                    ELSE p.pricestd
               END AS price
          FROM (SELECT o.c_order_id, o.lines_before + n + %(first_id)s - 1
                         AS c_orderline_id,
                       10 * n AS line, o.k * 16 + n AS key, o.docstatus,
                       o.dateordered, o.stamp
                  FROM demo_order o
                 CROSS JOIN LATERAL generate_series(1, o.nlines) AS n) ol
          JOIN demo_product p
            ON p.ordinal = floor(power(pg_temp.demo_random(20, ol.key), 1.6)
                                 * %(products)s)::integer
        OFFSET 0) l
"""

_TOTALS = """
CREATE TEMP TABLE demo_total AS
SELECT c_order_id, sum(linenetamt) AS totallines, sum(taxamt) AS taxamt
  FROM demo_line
 GROUP BY c_order_id
"""

_INSERT_ORDERS = """
INSERT INTO c_order (c_order_id, c_order_uu, ad_client_id, ad_org_id, documentno,
                     c_bpartner_id, dateordered, datepromised, docstatus, issotrx,
                     m_pricelist_id, salesrep_id, description, totallines, taxamt,
                     grandtotal, created, updated)
SELECT o.c_order_id, md5('c_order ' || o.c_order_id)::uuid, %(tenant)s, %(org)s,
       (o.c_order_id - %(first_id)s + 100000)::text, o.c_bpartner_id, o.dateordered,
       o.dateordered + 3 + floor(12 * pg_temp.demo_random(14, o.k))::integer,
       o.docstatus, true, %(pricelist)s,
       pg_temp.demo_pick(%(salesreps)s::integer[], pg_temp.demo_random(15, o.k)),
       CASE WHEN pg_temp.demo_random(16, o.k) < 0.1
            THEN pg_temp.demo_pick(%(notes)s::text[], pg_temp.demo_random(17, o.k))
       END,
       t.totallines, t.taxamt, t.totallines + t.taxamt, o.stamp, o.stamp
  FROM demo_order o
  JOIN demo_total t ON t.c_order_id = o.c_order_id
 ORDER BY o.c_order_id
"""

_INSERT_LINES = """
INSERT INTO c_orderline (c_orderline_id, c_orderline_uu, ad_client_id, ad_org_id,
                         c_order_id, line, m_product_id, qtyordered, qtydelivered,
                         qtyinvoiced, priceactual, linenetamt, c_tax_id, taxamt,
                         created, updated)
SELECT c_orderline_id, md5('c_orderline ' || c_orderline_id)::uuid, %(tenant)s,
       %(org)s, c_order_id, line, m_product_id, qtyordered, qtydelivered,
       qtyinvoiced, priceactual, linenetamt, c_tax_id, taxamt, stamp, stamp
  FROM demo_line
"""

# One invoice per completed order, dated up to three days after it and due after
# the partner's net days. Whether it is paid depends on how late it is at the
# anchor: most overdue invoices were paid long ago, recent ones often not yet.
# full: one payment; split: two that add up; part: one for 20-79 %; none.
_INVOICES = """
CREATE TEMP TABLE demo_invoice AS
SELECT (%(first_id)s - 1 + row_number() OVER (ORDER BY i.dateinvoiced, i.c_order_id)
        )::integer AS c_invoice_id,
       i.*,
       CASE WHEN i.k <= %(showcase)s THEN (%(showcase_payments)s::text[])[i.k]
            WHEN i.r < i.unpaid THEN 'none'
            WHEN i.r < i.unpaid + i.partly THEN 'part'
            WHEN i.r >= 0.9 THEN 'split'
            ELSE 'full'
       END AS paid
  FROM (SELECT o.k, o.c_order_id, o.c_bpartner_id, o.netdays, t.totallines,
               t.taxamt, t.totallines + t.taxamt AS grandtotal, d.dateinvoiced,
               d.dateinvoiced + o.netdays AS duedate,
               (d.dateinvoiced + time '09:00') AT TIME ZONE 'UTC' AS stamp,
               pg_temp.demo_random(31, o.k) AS r,
               CASE WHEN late.days <= 0 THEN 0.55 WHEN late.days <= 30 THEN 0.35
                    WHEN late.days <= 90 THEN 0.15 ELSE 0.02 END AS unpaid,
               CASE WHEN late.days <= 30 THEN 0.15 WHEN late.days <= 90 THEN 0.10
                    ELSE 0.03 END AS partly
          FROM demo_order o
          JOIN demo_total t ON t.c_order_id = o.c_order_id
         CROSS JOIN LATERAL (
               SELECT CASE WHEN o.k <= %(showcase)s THEN o.dateordered
                           ELSE least(%(anchor)s::date, o.dateordered
                                + floor(4 * pg_temp.demo_random(30, o.k))::integer)
                      END AS dateinvoiced) d
         CROSS JOIN LATERAL (
               SELECT %(anchor)s::date - (d.dateinvoiced + o.netdays) AS days) late
         WHERE o.docstatus IN ('CO', 'CL')) i
"""

# Payments of invoices, never after the anchor, and a few payments on account
# (allocated to no invoice, e.g. deposits) from random partners.
_PAYMENTS = """
CREATE TEMP TABLE demo_payment AS
SELECT (%(first_id)s - 1 + row_number() OVER (ORDER BY p.datetrx, p.c_invoice_id, p.n)
        )::integer AS c_payment_id,
       p.*, (p.datetrx + time '16:00') AT TIME ZONE 'UTC' AS stamp
  FROM (SELECT i.c_invoice_id, i.c_bpartner_id, n,
               CASE i.paid
                   WHEN 'part' THEN round(i.grandtotal * (20 + floor(60
                                          * pg_temp.demo_random(32, i.k))::numeric)
                                          / 100, 2)
                   WHEN 'split' THEN CASE n WHEN 1 THEN round(i.grandtotal / 2, 2)
                                     ELSE i.grandtotal - round(i.grandtotal / 2, 2) END
                   ELSE i.grandtotal
               END AS payamt,
               least(%(anchor)s::date, i.dateinvoiced + CASE
                   WHEN i.paid = 'split' AND n = 1
                   THEN floor(i.netdays / 2 * pg_temp.demo_random(33, i.k))::integer
                   WHEN i.paid = 'split'
                   THEN i.netdays / 2 + floor((i.netdays / 2 + 20)
                                              * pg_temp.demo_random(34, i.k))::integer
                   ELSE floor((i.netdays + 20) * pg_temp.demo_random(35, i.k))::integer
               END) AS datetrx
          FROM demo_invoice i
         CROSS JOIN LATERAL generate_series(
               1, CASE i.paid WHEN 'none' THEN 0 WHEN 'split' THEN 2 ELSE 1 END) AS n
        UNION ALL
        SELECT NULL, p.c_bpartner_id, j,
               50 * (1 + floor(40 * pg_temp.demo_random(37, j)))::numeric,
               %(anchor)s::date - floor(%(days)s * pg_temp.demo_random(38, j))::integer
          FROM generate_series(1, %(on_account)s) AS j
          JOIN demo_partner p
            ON p.ordinal = floor(%(partners)s * pg_temp.demo_random(36, j))::integer
       ) p
"""

_INSERT_INVOICES = """
INSERT INTO c_invoice (c_invoice_id, c_invoice_uu, ad_client_id, ad_org_id,
                       documentno, c_bpartner_id, c_order_id, dateinvoiced, duedate,
                       docstatus, issotrx, totallines, taxamt, grandtotal, ispaid,
                       created, updated)
SELECT c_invoice_id, md5('c_invoice ' || c_invoice_id)::uuid, %(tenant)s, %(org)s,
       (c_invoice_id - %(first_id)s + 500000)::text, c_bpartner_id, c_order_id,
       dateinvoiced, duedate, 'CO', true, totallines, taxamt, grandtotal,
       paid IN ('full', 'split'), stamp, stamp
  FROM demo_invoice
 ORDER BY c_invoice_id
"""

_INSERT_PAYMENTS = """
INSERT INTO c_payment (c_payment_id, c_payment_uu, ad_client_id, ad_org_id,
                       documentno, c_bpartner_id, c_invoice_id, datetrx, payamt,
                       docstatus, created, updated)
SELECT c_payment_id, md5('c_payment ' || c_payment_id)::uuid, %(tenant)s, %(org)s,
       (c_payment_id - %(first_id)s + 900000)::text, c_bpartner_id, c_invoice_id,
       datetrx, payamt, 'CO', stamp, stamp
  FROM demo_payment
 ORDER BY c_payment_id
"""

# What c_bpartner-validate computes: credit used is what completed sales invoices
# still owe; the open balance is that less payments on account.
_BALANCES = """
WITH owed AS (
    SELECT i.c_bpartner_id, sum(i.grandtotal - COALESCE(paid.amount, 0)) AS amount
      FROM c_invoice i
      LEFT JOIN (SELECT c_invoice_id, sum(payamt) AS amount
                   FROM c_payment
                  WHERE ad_client_id = %(tenant)s AND docstatus IN ('CO', 'CL')
                    AND c_invoice_id IS NOT NULL
                  GROUP BY c_invoice_id) paid ON paid.c_invoice_id = i.c_invoice_id
     WHERE i.ad_client_id = %(tenant)s AND i.issotrx
       AND i.docstatus IN ('CO', 'CL')
     GROUP BY i.c_bpartner_id
), on_account AS (
    SELECT c_bpartner_id, sum(payamt) AS amount
      FROM c_payment
     WHERE ad_client_id = %(tenant)s AND docstatus IN ('CO', 'CL')
       AND c_invoice_id IS NULL
     GROUP BY c_bpartner_id
)
UPDATE c_bpartner bp
   SET so_creditused = COALESCE(owed.amount, 0),
       totalopenbalance = COALESCE(owed.amount, 0) - COALESCE(on_account.amount, 0)
  FROM demo_partner d
  LEFT JOIN owed ON owed.c_bpartner_id = d.c_bpartner_id
  LEFT JOIN on_account ON on_account.c_bpartner_id = d.c_bpartner_id
 WHERE bp.c_bpartner_id = d.c_bpartner_id
"""

_ANALYZE = "ANALYZE c_bpartner, c_order, c_orderline, c_invoice, c_payment"

# Rows added later without an id must not take a generated one.
_ADVANCE_SEQUENCE = """
SELECT setval(s.seq, m.top)
  FROM (SELECT pg_get_serial_sequence(%(table)s, %(key)s)::regclass AS seq) s,
       (SELECT max({key}) AS top FROM {table}) m
 WHERE m.top > COALESCE(pg_sequence_last_value(s.seq), 0)
"""
_SEQUENCED = (
    "c_tax",
    "m_product_category",
    "m_product",
    "m_pricelist",
    "c_bpartner",
    "c_order",
    "c_orderline",
    "c_invoice",
    "c_payment",
)


# --- generating ---------------------------------------------------------------------


def has_sample_data(conn: psycopg.Connection[Row]) -> bool:
    row = conn.execute(_HAS_ORDERS, (GARDENWORLD,)).fetchone()
    return bool(row and row["exists"])


def partner_count(orders: int) -> int:
    """About 50 orders a partner, at least 20 partners, at most MAX_PARTNERS."""
    return min(MAX_PARTNERS, max(20, orders // 50))


def generate(
    conn: psycopg.Connection[Row],
    *,
    orders: int,
    seed: int = 1,
    anchor: date | None = None,
) -> Made:
    """Replace GardenWorld's sample data by a generated set of ``orders`` sales
    orders (with ~5 lines each) dated up to ``anchor`` (today by default).

    The same arguments give the same rows. Runs in a transaction of its own, or
    in a savepoint of the caller's.
    """
    if orders < MIN_ORDERS:
        raise DemoDataError(f"orders must be at least {MIN_ORDERS}, not {orders}")
    if not 0 <= seed < 2**40:
        raise DemoDataError(f"seed must be between 0 and 2^40, not {seed}")
    anchor = anchor or date.today()
    started = time.perf_counter()
    with conn.transaction():
        made = _generate(conn, orders, seed, anchor)
    made = replace(made, seconds=round(time.perf_counter() - started, 3))
    log.info("demodata.generated", **asdict(made))
    return made


def _generate(
    conn: psycopg.Connection[Row], orders: int, seed: int, anchor: date
) -> Made:
    _require_tenant(conn)
    params = _parameters(orders, seed, anchor)
    _start(conn, seed)
    truncated = _clear_documents(conn)
    params["ids"] = _store_catalog(conn, params)
    partners = _store_partners(conn, params)
    _draw_documents(conn, params)
    _refuse_taken_document_ids(conn)
    lines, invoices, payments = _store_documents(conn, params, truncated)
    conn.execute(_BALANCES, params)
    _advance_sequences(conn)
    _drop_temp_tables(conn)
    # Statistics now, so reports run right after get good plans.
    conn.execute(_ANALYZE)
    products = len(params["ids"])
    return Made(anchor, partners, products, orders, lines, invoices, payments, 0.0)


def _require_tenant(conn: psycopg.Connection[Row]) -> None:
    row = conn.execute(_TENANT_EXISTS, (GARDENWORLD,)).fetchone()
    if not (row and row["exists"]):
        raise DemoDataError(
            f"tenant GardenWorld ({GARDENWORLD}) does not exist: seed the demo "
            "first (SEED_DEMO=true procserv migrate)"
        )


def _draw_documents(conn: psycopg.Connection[Row], params: dict[str, Any]) -> None:
    """Orders, lines, invoices and payments into temp tables."""
    conn.execute(_PRODUCT_TABLE, params)
    conn.execute(_ORDERS, params)
    # Estimates from the temp tables' real sizes, for a plan that keeps the lines
    # in order.
    conn.execute("ANALYZE demo_product, demo_order")
    conn.execute(_LINES, params)
    conn.execute(_TOTALS)
    conn.execute(_INVOICES, params)
    conn.execute(_PAYMENTS, params)


def _store_documents(
    conn: psycopg.Connection[Row], params: dict[str, Any], truncated: bool
) -> tuple[int, int, int]:
    """Copy the drawn documents into the tables; the number of lines, invoices
    and payments."""
    keys = (
        _foreign_keys_checked_once(conn, _DOCUMENT_TABLES)
        if truncated
        else nullcontext()
    )
    with keys:
        conn.execute(_INSERT_ORDERS, params)
        lines = conn.execute(_INSERT_LINES, params).rowcount
        invoices = conn.execute(_INSERT_INVOICES, params).rowcount
        payments = conn.execute(_INSERT_PAYMENTS, params).rowcount
    return lines, invoices, payments


def _parameters(orders: int, seed: int, anchor: date) -> dict[str, Any]:
    combinations = len(PLACES) * len(TRADES) * len(SUFFIXES)
    showcase_dates = [
        anchor + timedelta(days=-late - GARDENWORLD_PARTNERS[partner][4])
        for partner, late, _ in SHOWCASE
    ]
    return {
        "tenant": GARDENWORLD,
        "org": HQ,
        "seed": seed,
        "anchor": anchor,
        "days": DAYS,
        "orders": orders,
        "partners": partner_count(orders),
        "products": len(PRODUCTS),
        "max_lines": MAX_LINES,
        "first_id": FIRST_ID,
        "stamp": _stamp(anchor - timedelta(days=DAYS)),
        "pricelist": STANDARD_PRICELIST,
        "salesreps": [user_id for user_id, *_ in DEMO_USERS],
        "notes": list(ORDER_NOTES),
        "netdays": list(NET_DAYS),
        "limits": list(CREDIT_LIMITS),
        "cities": list(CITIES),
        "places": list(PLACES),
        "trades": list(TRADES),
        "suffixes": list(SUFFIXES),
        "nplaces": len(PLACES),
        "ntrades": len(TRADES),
        "combinations": combinations,
        "step": _coprime_step(combinations),
        "start": seed * 7919 % combinations,
        "showcase": len(SHOWCASE),
        "showcase_dates": showcase_dates,
        "showcase_partners": [partner for partner, _, _ in SHOWCASE],
        "showcase_payments": [paid for _, _, paid in SHOWCASE],
        "on_account": max(1, orders // 100),
    }


def _stamp(day: date) -> str:
    return f"{day.isoformat()} 09:00:00+00"


def _coprime_step(n: int) -> int:
    """A step that visits every residue modulo n once, about n * 0.618 so that
    neighbours land far apart."""
    return next(a for a in range(int(n * 0.618), n) if math.gcd(a, n) == 1)


def _start(conn: psycopg.Connection[Row], seed: int) -> None:
    # Compiling these one-off statements costs more than it saves.
    conn.execute("SET LOCAL jit = off")
    conn.execute(sql.SQL(_FUNCTIONS).format(seed=sql.Literal(seed)))
    _drop_temp_tables(conn)


def _drop_temp_tables(conn: psycopg.Connection[Row]) -> None:
    conn.execute(
        sql.SQL("DROP TABLE IF EXISTS {}").format(
            sql.SQL(", ").join(sql.Identifier(name) for name in _TEMP_TABLES)
        )
    )


def _clear_documents(conn: psycopg.Connection[Row]) -> bool:
    """Remove the tenant's orders, invoices and payments: TRUNCATE when they are
    the only tenant's (fast at any size; true), else DELETE."""
    tables = [sql.Identifier(table) for table in _DOCUMENT_TABLES]
    shared = sql.SQL("SELECT {} AS shared").format(
        sql.SQL(" OR ").join(
            sql.SQL(_OTHER_TENANTS).format(table=table) for table in tables
        )
    )
    row = conn.execute(shared, {"tenant": GARDENWORLD}).fetchone()
    if row and not row["shared"]:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(tables)))
        return True
    for table in tables:
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE ad_client_id = %s").format(table),
            (GARDENWORLD,),
        )
    return False


@contextmanager
def _foreign_keys_checked_once(
    conn: psycopg.Connection[Row], tables: tuple[str, ...]
) -> Iterator[None]:
    """Drop the tables' foreign keys, and add them back after the block: each is
    then checked by one join instead of a trigger call per row, which would be
    most of the time at a million lines. Other sessions never see the tables
    without them: the transaction holds the tables (truncated in it) until it
    ends, and an error rolls the drop back."""
    keys = conn.execute(_FOREIGN_KEYS, (list(tables),)).fetchall()
    for key in keys:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(key["tablename"]), sql.Identifier(key["conname"])
            )
        )
    yield
    for key in keys:
        # The definition is PostgreSQL's own text of the constraint.
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(key["tablename"]),
                sql.Identifier(key["conname"]),
                sql.SQL(key["definition"]),
            )
        )


def _store_catalog(conn: psycopg.Connection[Row], params: dict[str, Any]) -> list[int]:
    """Taxes, categories, price lists, products and their prices, by upsert (their
    ids stay); returns the products' ids."""
    base = {key: params[key] for key in ("tenant", "org", "stamp")}
    taxes = {name: FIRST_ID + i for i, (name, _) in enumerate(TAXES)}
    categories = {value: FIRST_ID + i for i, (value, *_) in enumerate(CATEGORIES)}
    pricelists = {STANDARD_PRICELIST: ("Standard", True)}
    pricelists[PURCHASE_PRICELIST] = ("Purchase", False)
    products = [FIRST_ID + i for i in range(len(PRODUCTS))]
    kept = {
        "m_product": products,
        "m_product_category": list(categories.values()),
        "c_tax": list(taxes.values()),
        "m_pricelist": list(pricelists),
    }
    for table, ids in kept.items():
        _claim(conn, table, ids)
    with conn.cursor() as cur:
        cur.executemany(
            _UPSERT_TAX,
            [
                {**base, "id": taxes[name], "name": name, "rate": rate}
                for name, rate in TAXES
            ],
        )
        cur.executemany(
            _UPSERT_CATEGORY,
            [
                {**base, "id": categories[value], "value": value, "name": name}
                for value, name, _ in CATEGORIES
            ],
        )
        cur.executemany(
            _UPSERT_PRICELIST,
            [
                {**base, "id": pricelist_id, "name": name, "sales": sales}
                for pricelist_id, (name, sales) in pricelists.items()
            ],
        )
        rows = _product_rows(base, taxes, categories)
        cur.executemany(_UPSERT_PRODUCT, rows)
        cur.executemany(
            _UPSERT_PRICES,
            [
                {**row, "standard": STANDARD_PRICELIST, "purchase": PURCHASE_PRICELIST}
                for row in rows
            ],
        )
    for table, ids in kept.items():
        conn.execute(_delete_stale(table), (GARDENWORLD, ids))
    return products


def _product_rows(
    base: dict[str, Any], taxes: dict[str, int], categories: dict[str, int]
) -> list[dict[str, Any]]:
    descriptions = {value: text for value, _, text in CATEGORIES}
    numbers: dict[str, int] = {}
    rows = []
    for i, (category, name, uom, price, tax) in enumerate(PRODUCTS):
        numbers[category] = numbers.get(category, 0) + 1
        rows.append(
            {
                **base,
                "id": FIRST_ID + i,
                "value": f"{category}-{numbers[category]:02d}",
                "name": name,
                "description": descriptions[category],
                "category": categories[category],
                "uom": uom,
                "tax": taxes[tax],
                "type": "S" if category == "SERVICE" else "I",
                "price": price,
            }
        )
    return rows


def _store_partners(conn: psycopg.Connection[Row], params: dict[str, Any]) -> int:
    """GardenWorld's partners and the generated ones, by upsert; partners of the
    tenant the new set does not have are removed (their documents already are)."""
    conn.execute(_PARTNER_TABLE)
    with conn.cursor() as cur:
        cur.executemany(
            _GARDENWORLD_PARTNER,
            [
                (ordinal, *partner)
                for ordinal, partner in enumerate(GARDENWORLD_PARTNERS)
            ],
        )
    conn.execute(_GENERATED_PARTNERS, params)
    ids = [
        row["c_bpartner_id"]
        for row in conn.execute("SELECT c_bpartner_id FROM demo_partner").fetchall()
    ]
    _claim(conn, "c_bpartner", ids)
    conn.execute(_delete_stale("c_bpartner"), (GARDENWORLD, ids))
    conn.execute(_UPSERT_PARTNERS, params)
    conn.execute("ANALYZE demo_partner")
    return len(ids)


def _claim(conn: psycopg.Connection[Row], table: str, ids: list[int]) -> None:
    query = sql.SQL(_TAKEN).format(
        table=sql.Identifier(table), key=sql.Identifier(table + "_id")
    )
    row = conn.execute(query, (ids, GARDENWORLD)).fetchone()
    if row and row["exists"]:
        raise DemoDataError(
            f"{table} has rows of another tenant with ids the sample data uses "
            f"({min(ids)} to {max(ids)})"
        )


def _refuse_taken_document_ids(conn: psycopg.Connection[Row]) -> None:
    """Documents are numbered from FIRST_ID, so that the same arguments give the
    same rows; rows another tenant added since, without ids of their own, can
    hold some of those numbers."""
    for table, drawn in _DRAWN.items():
        query = sql.SQL(_DOCUMENT_IDS_TAKEN).format(
            table=sql.Identifier(table),
            drawn=sql.Identifier(drawn),
            key=sql.Identifier(table + "_id"),
        )
        row = conn.execute(query, {"tenant": GARDENWORLD}).fetchone()
        if row and row["id"] is not None:
            raise DemoDataError(
                f"{table} {row['id']} belongs to another tenant, and this sample "
                f"data set numbers its {table} rows from {FIRST_ID}: generate "
                "fewer orders, or on a database without other tenants' documents"
            )


def _delete_stale(table: str) -> sql.Composed:
    return sql.SQL(_DELETE_STALE).format(
        table=sql.Identifier(table), key=sql.Identifier(table + "_id")
    )


def _advance_sequences(conn: psycopg.Connection[Row]) -> None:
    for table in _SEQUENCED:
        key = table + "_id"
        query = sql.SQL(_ADVANCE_SEQUENCE).format(
            table=sql.Identifier(table), key=sql.Identifier(key)
        )
        conn.execute(query, {"table": table, "key": key})
