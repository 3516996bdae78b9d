"""The sample ERP data: deterministic, consistent, with GardenWorld's partners and
open invoices in every aging bucket, replaced (not added to) when made again.

These tests work on a database of their own, so that the sample data the other
tests see stays the demo seed's.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest

from app.db import Row, connect, with_database
from app.demodata import (
    DAYS,
    DEMO_ORDERS,
    DemoDataError,
    generate,
    partner_count,
)
from app.migrate import migrate
from app.settings import Settings
from tests.conftest import ROOT, Servers, service_env

GARDENWORLD = 11
ANCHOR = date(2026, 6, 30)
SAMPLE_TABLES = (
    "c_tax",
    "m_product_category",
    "m_product",
    "m_pricelist",
    "m_productprice",
    "c_bpartner",
    "c_order",
    "c_orderline",
    "c_invoice",
    "c_payment",
)


@pytest.fixture(scope="module")
def sample_settings(servers: Servers, settings: Settings) -> Iterator[Settings]:
    """A migrated and demo-seeded database of this module's own."""
    name = f"procserv_demodata_{uuid.uuid4().hex[:10]}"
    admin_url = with_database(servers.postgres_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    own = settings.model_copy(
        update={"database_url": with_database(servers.postgres_url, name)}
    )
    migrate(own)
    try:
        yield own
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sample(sample_settings: Settings) -> Iterator[psycopg.Connection[Row]]:
    with connect(sample_settings.database_url, autocommit=True) as conn:
        yield conn


def make(
    conn: psycopg.Connection[Row], orders: int, *, seed: int = 1, anchor: date = ANCHOR
) -> None:
    generate(conn, orders=orders, seed=seed, anchor=anchor)


def fingerprint(conn: psycopg.Connection[Row]) -> dict[str, str]:
    """A digest of every sample row of the tenant, table by table."""
    digests = {}
    for table in SAMPLE_TABLES:
        row = conn.execute(
            f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS digest"
            f" FROM {table} t WHERE ad_client_id = %s",
            (GARDENWORLD,),
        ).fetchone()
        assert row is not None
        digests[table] = row["digest"]
    return digests


def value(conn: psycopg.Connection[Row], query: str, *params: object) -> object:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


# --- the demo seed ----------------------------------------------------------------


def test_the_demo_seed_loads_a_small_sample_once(
    sample_settings: Settings, sample: psycopg.Connection[Row]
) -> None:
    orders = "SELECT count(*) FROM c_order WHERE ad_client_id = 11"
    assert value(sample, orders) == DEMO_ORDERS

    make(sample, 7)
    migrate(sample_settings)

    assert value(sample, orders) == 7


# --- determinism -----------------------------------------------------------------


def test_the_same_arguments_give_the_same_rows(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 60, seed=3)
    first = fingerprint(sample)
    make(sample, 60, seed=4)
    other_seed = fingerprint(sample)
    make(sample, 60, seed=3)

    assert fingerprint(sample) == first
    assert other_seed["c_orderline"] != first["c_orderline"]
    # the catalog does not depend on the seed
    assert other_seed["m_product"] == first["m_product"]


# --- what it makes ------------------------------------------------------------------


def test_gardenworld_partners_keep_their_ids_names_and_have_orders(
    sample: psycopg.Connection[Row],
) -> None:
    for orders in (5, 200):
        make(sample, orders)
        rows = sample.execute(
            "SELECT bp.c_bpartner_id, bp.name, count(o.c_order_id) AS orders"
            "  FROM c_bpartner bp"
            "  LEFT JOIN c_order o ON o.c_bpartner_id = bp.c_bpartner_id"
            " WHERE bp.c_bpartner_id < 1000000 AND bp.ad_client_id = 11"
            " GROUP BY bp.c_bpartner_id, bp.name ORDER BY 1"
        ).fetchall()
        assert [(row["c_bpartner_id"], row["name"]) for row in rows] == [
            (114, "Tree Farm Inc."),
            (117, "C&W Construction"),
            (120, "Seed Farm Inc."),
        ]
        assert all(row["orders"] > 0 for row in rows), rows


def test_about_five_lines_an_order_over_two_years_up_to_the_anchor(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 400)

    row = sample.execute(
        "SELECT count(*) AS orders, min(dateordered) AS first,"
        "       max(dateordered) AS last,"
        "       (SELECT count(*) FROM c_orderline) AS lines,"
        "       (SELECT count(*) FROM c_bpartner) AS partners,"
        "       (SELECT count(DISTINCT name) FROM c_bpartner) AS names,"
        "       (SELECT count(DISTINCT docstatus) FROM c_order) AS statuses"
        "  FROM c_order"
    ).fetchone()

    assert row is not None
    assert row["orders"] == 400
    assert 4.5 < row["lines"] / row["orders"] < 5.5
    assert row["last"] == ANCHOR
    assert row["first"] >= ANCHOR - timedelta(days=DAYS - 1)
    assert row["first"] <= ANCHOR - timedelta(days=DAYS - 10)
    assert row["partners"] == row["names"] == partner_count(400)
    assert row["statuses"] == 5


def test_totals_agree_with_lines_and_payments(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 300, seed=7)

    wrong_lines = value(
        sample,
        "SELECT count(*) FROM c_orderline l JOIN c_tax t USING (c_tax_id)"
        " WHERE linenetamt <> round(qtyordered * priceactual, 2)"
        "    OR l.taxamt <> round(linenetamt * t.rate / 100, 2)",
    )
    wrong_orders = value(
        sample,
        "SELECT count(*) FROM c_order o"
        "  JOIN (SELECT c_order_id, sum(linenetamt) AS net, sum(taxamt) AS tax"
        "          FROM c_orderline GROUP BY c_order_id) l USING (c_order_id)"
        " WHERE o.totallines <> l.net OR o.taxamt <> l.tax"
        "    OR o.grandtotal <> o.totallines + o.taxamt",
    )
    wrong_invoices = value(
        sample,
        "SELECT count(*) FROM c_invoice i JOIN c_order o USING (c_order_id)"
        " WHERE (i.totallines, i.taxamt, i.grandtotal)"
        "       <> (o.totallines, o.taxamt, o.grandtotal)"
        "    OR o.docstatus NOT IN ('CO', 'CL')"
        "    OR i.duedate <> i.dateinvoiced + (SELECT netdays FROM c_bpartner bp"
        "                  WHERE bp.c_bpartner_id = i.c_bpartner_id)",
    )
    uninvoiced = value(
        sample,
        "SELECT count(*) FROM c_order o WHERE docstatus IN ('CO', 'CL')"
        " AND NOT EXISTS (SELECT 1 FROM c_invoice i WHERE i.c_order_id = o.c_order_id)",
    )

    assert (wrong_lines, wrong_orders, wrong_invoices, uninvoiced) == (0, 0, 0, 0)


def test_invoices_are_paid_fully_partly_or_not_and_ispaid_says_which(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 300, seed=7)

    rows = sample.execute(
        "SELECT CASE WHEN paid = 0 THEN 'none' WHEN paid < grandtotal THEN 'part'"
        "            WHEN paid = grandtotal THEN 'full' ELSE 'over' END AS state,"
        "       ispaid, count(*) AS invoices"
        "  FROM (SELECT i.grandtotal, i.ispaid,"
        "               COALESCE((SELECT sum(payamt) FROM c_payment p"
        "                          WHERE p.c_invoice_id = i.c_invoice_id), 0) AS paid"
        "          FROM c_invoice i) x"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    late_payments = value(
        sample, "SELECT count(*) FROM c_payment WHERE datetrx > %s", ANCHOR
    )
    early_payments = value(
        sample,
        "SELECT count(*) FROM c_payment p JOIN c_invoice i USING (c_invoice_id)"
        " WHERE p.datetrx < i.dateinvoiced",
    )

    assert {(row["state"], row["ispaid"]) for row in rows} == {
        ("full", True),
        ("none", False),
        ("part", False),
    }
    assert (late_payments, early_payments) == (0, 0)


def test_partner_balances_are_what_validating_them_computes(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 300, seed=7)

    wrong = sample.execute(
        "SELECT bp.c_bpartner_id, bp.so_creditused, owed.amount,"
        "       bp.totalopenbalance, owed.amount - deposits.amount"
        "  FROM c_bpartner bp"
        " CROSS JOIN LATERAL (SELECT COALESCE(sum(i.grandtotal - COALESCE("
        "       (SELECT sum(payamt) FROM c_payment p"
        "         WHERE p.c_invoice_id = i.c_invoice_id), 0)), 0) AS amount"
        "       FROM c_invoice i WHERE i.c_bpartner_id = bp.c_bpartner_id) owed"
        " CROSS JOIN LATERAL (SELECT COALESCE(sum(payamt), 0) AS amount"
        "       FROM c_payment p WHERE p.c_bpartner_id = bp.c_bpartner_id"
        "        AND p.c_invoice_id IS NULL) deposits"
        " WHERE bp.so_creditused <> owed.amount"
        "    OR bp.totalopenbalance <> owed.amount - deposits.amount"
    ).fetchall()
    on_account = value(
        sample, "SELECT count(*) FROM c_payment WHERE c_invoice_id IS NULL"
    )

    assert wrong == []
    assert on_account == 3


AGING = """
SELECT CASE WHEN late <= 0 THEN 'current' WHEN late <= 30 THEN '1-30'
            WHEN late <= 60 THEN '31-60' WHEN late <= 90 THEN '61-90'
            ELSE 'over 90' END AS bucket,
       count(*) AS invoices
  FROM (SELECT %(anchor)s::date - i.duedate AS late,
               i.grandtotal - COALESCE((SELECT sum(payamt) FROM c_payment p
                                         WHERE p.c_invoice_id = i.c_invoice_id), 0)
                 AS open
          FROM c_invoice i WHERE i.issotrx AND i.docstatus IN ('CO', 'CL')) x
 WHERE open > 0
 GROUP BY 1
"""


@pytest.mark.parametrize(("orders", "seed"), [(5, 1), (40, 2), (300, 1)])
def test_every_aging_bucket_has_open_invoices_at_any_scale(
    sample: psycopg.Connection[Row], orders: int, seed: int
) -> None:
    make(sample, orders, seed=seed)

    rows = sample.execute(AGING, {"anchor": ANCHOR}).fetchall()

    buckets = {row["bucket"] for row in rows}
    assert buckets == {"current", "1-30", "31-60", "61-90", "over 90"}


# --- making it again ------------------------------------------------------------------


def test_making_it_again_replaces_the_tenants_sample_data(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 1200)
    tree_farm = value(
        sample, "SELECT c_bpartner_uu FROM c_bpartner WHERE c_bpartner_id = 114"
    )
    make(sample, 30)

    row = sample.execute(
        "SELECT (SELECT count(*) FROM c_order) AS orders,"
        "       (SELECT count(*) FROM c_bpartner) AS partners,"
        "       (SELECT count(*) FROM c_invoice i WHERE NOT EXISTS"
        "          (SELECT 1 FROM c_order o WHERE o.c_order_id = i.c_order_id))"
        "          AS orphans,"
        "       (SELECT c_bpartner_uu FROM c_bpartner WHERE c_bpartner_id = 114)"
        "          AS tree_farm"
    ).fetchone()

    assert row == {
        "orders": 30,
        "partners": partner_count(30),
        "orphans": 0,
        "tree_farm": tree_farm,
    }
    assert partner_count(1200) > partner_count(30)


def test_rows_added_later_get_ids_after_the_generated_ones(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 20)
    generated = sample.execute(
        "SELECT (SELECT max(c_bpartner_id) FROM c_bpartner) AS partner,"
        "       (SELECT max(c_payment_id) FROM c_payment) AS payment"
    ).fetchone()

    partner = sample.execute(
        "INSERT INTO c_bpartner (ad_client_id, ad_org_id, value, name)"
        " VALUES (11, 11, 'Later', 'Later Partner') RETURNING c_bpartner_id"
    ).fetchone()
    payment = sample.execute(
        "INSERT INTO c_payment (ad_client_id, ad_org_id, documentno, c_bpartner_id,"
        "                       datetrx, payamt)"
        " VALUES (11, 11, 'Later', 114, %s, 1) RETURNING c_payment_id",
        (ANCHOR,),
    ).fetchone()

    assert generated is not None
    assert partner is not None
    assert payment is not None
    assert partner["c_bpartner_id"] > generated["partner"]
    assert payment["c_payment_id"] > generated["payment"]
    sample.execute("DELETE FROM c_payment WHERE documentno = 'Later'")
    sample.execute("DELETE FROM c_bpartner WHERE value = 'Later'")


OTHER_TENANTS_ORDER = (
    "INSERT INTO c_bpartner (c_bpartner_id, ad_client_id, ad_org_id, value, name)"
    " VALUES (%(id)s, %(id)s, 0, 'Other', 'Other Customer')",
    "INSERT INTO m_pricelist (m_pricelist_id, ad_client_id, ad_org_id, name)"
    " VALUES (%(id)s, %(id)s, 0, 'Other')",
    "INSERT INTO c_order (c_order_id, ad_client_id, ad_org_id, documentno,"
    "                     c_bpartner_id, dateordered, m_pricelist_id)"
    " VALUES (%(id)s, %(id)s, 0, '1', %(id)s, '2026-01-01', %(id)s)",
)


def test_another_tenants_documents_are_left_alone(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 40)
    tenant = 2_000_000
    sample.execute(
        "INSERT INTO ad_client (ad_client_id, value, name)"
        " VALUES (%s, 'Other', 'Other')",
        (tenant,),
    )
    try:
        for statement in OTHER_TENANTS_ORDER:
            sample.execute(statement, {"id": tenant})

        make(sample, 25)

        counts = sample.execute(
            "SELECT ad_client_id, count(*) FROM c_order GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [tuple(row.values()) for row in counts] == [(11, 25), (tenant, 1)]
    finally:
        for table in ("c_order", "m_pricelist", "c_bpartner", "ad_client"):
            sample.execute(f"DELETE FROM {table} WHERE ad_client_id = %s", (tenant,))


def test_document_ids_another_tenant_took_are_refused_and_nothing_changes(
    sample: psycopg.Connection[Row],
) -> None:
    make(sample, 20)
    before = value(sample, "SELECT sum(grandtotal) FROM c_order")
    taken = value(sample, "SELECT max(c_order_id) + 1 FROM c_order")
    tenant = 2_000_001
    sample.execute(
        "INSERT INTO ad_client (ad_client_id, value, name)"
        " VALUES (%s, 'Other2', 'Other2')",
        (tenant,),
    )
    try:
        for statement in OTHER_TENANTS_ORDER:
            sample.execute(
                statement.replace(
                    "(%(id)s, %(id)s, 0, '1'", "(%(order)s, %(id)s, 0, '1'"
                ),
                {"id": tenant, "order": taken},
            )

        with pytest.raises(DemoDataError, match=f"c_order {taken} belongs"):
            make(sample, 40)

        assert value(sample, "SELECT sum(grandtotal) FROM c_order") == before
    finally:
        for table in ("c_order", "m_pricelist", "c_bpartner", "ad_client"):
            sample.execute(f"DELETE FROM {table} WHERE ad_client_id = %s", (tenant,))


def test_too_few_orders_are_refused(sample: psycopg.Connection[Row]) -> None:
    with pytest.raises(DemoDataError, match="at least 5"):
        make(sample, 4)


# --- the command --------------------------------------------------------------------


def test_the_command_makes_sample_data_and_says_what(
    sample_settings: Settings, settings: Settings, sample: psycopg.Connection[Row]
) -> None:
    env = {**service_env(settings), "DATABASE_URL": sample_settings.database_url}

    done = subprocess.run(
        [_procserv(), "demo-data", "--orders", "12", "--anchor", "2026-03-31"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "2026-03-31" in done.stdout
    assert "12 orders" in done.stdout
    last = value(sample, "SELECT max(dateordered) FROM c_order")
    assert last == date(2026, 3, 31)


def test_the_command_refuses_too_few_orders(
    sample_settings: Settings, settings: Settings
) -> None:
    env = {**service_env(settings), "DATABASE_URL": sample_settings.database_url}

    done = subprocess.run(
        [_procserv(), "demo-data", "--orders", "2"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode != 0
    assert "--orders" in done.stderr


def _procserv() -> str:
    return str(Path(sys.executable).parent / "procserv")
