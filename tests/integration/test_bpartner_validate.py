"""Validate Business Partner (``c_bpartner-validate``): a partner's open balance
and credit used recomputed from its invoices and payments, each change logged."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app import demodata
from app.db import Row, connect
from app.settings import Settings
from tests.integration.helpers import (
    assert_error,
    json_body,
    other_tenant,
)

pytestmark = pytest.mark.usefixtures("workers", "sample_data")

RUN = "/api/v1/processes/"
SLUG = "c_bpartner-validate"
CW_CONSTRUCTION, SEED_FARM = 117, 120

# The rule, written independently of the process: what completed sales invoices
# still owe after their completed payments, and that less payments on account.
_EXPECTED = """
SELECT COALESCE(sum(i.grandtotal - COALESCE((
           SELECT sum(p.payamt) FROM c_payment p
            WHERE p.c_invoice_id = i.c_invoice_id
              AND p.docstatus IN ('CO', 'CL')), 0)), 0) AS creditused,
       (SELECT COALESCE(sum(p.payamt), 0) FROM c_payment p
         WHERE p.c_bpartner_id = %(partner)s AND p.c_invoice_id IS NULL
           AND p.docstatus IN ('CO', 'CL')) AS onaccount
  FROM c_invoice i
 WHERE i.c_bpartner_id = %(partner)s AND i.issotrx AND i.docstatus IN ('CO', 'CL')
"""


@pytest.fixture(scope="module")
def sample_data(settings: Settings) -> None:
    with connect(settings.database_url, autocommit=True) as conn:
        if not demodata.has_sample_data(conn):
            demodata.generate(conn, orders=demodata.DEMO_ORDERS)


def _expected(db: psycopg.Connection[Row], partner: int) -> tuple[Decimal, Decimal]:
    """(open balance, credit used) as they should be."""
    row = db.execute(_EXPECTED, {"partner": partner}).fetchone()
    assert row is not None
    return row["creditused"] - row["onaccount"], row["creditused"]


def _stored(db: psycopg.Connection[Row], partner: int) -> tuple[Decimal, Decimal]:
    row = db.execute(
        "SELECT totalopenbalance, so_creditused FROM c_bpartner"
        " WHERE c_bpartner_id = %s",
        (partner,),
    ).fetchone()
    assert row is not None
    return row["totalopenbalance"], row["so_creditused"]


def _validate(
    client: TestClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    answer = client.post(RUN + SLUG, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = json_body(answer)
    assert result["isError"] is False, result
    return result


@pytest.fixture
def restored(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> Iterator[None]:
    """Puts the balances of the partners a test changes back as they should be."""
    yield
    for partner in (CW_CONSTRUCTION, SEED_FARM):
        _validate(client, admin, {"C_BPartner_ID": partner})


@pytest.mark.usefixtures("restored")
def test_validate_recomputes_the_balances_and_logs_each_change(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    db.execute(
        "UPDATE c_bpartner SET totalopenbalance = 1, so_creditused = 2"
        " WHERE c_bpartner_id = %s",
        (CW_CONSTRUCTION,),
    )
    balance, credit = _expected(db, CW_CONSTRUCTION)

    result = _validate(client, admin, {"C_BPartner_ID": CW_CONSTRUCTION})

    assert _stored(db, CW_CONSTRUCTION) == (balance, credit)
    assert [(log["msg"], log["number"]) for log in result["logs"]] == [
        (f"Open Balance 1.00 -> {balance:.2f}", float(balance)),
        (f"Credit Used 2.00 -> {credit:.2f}", float(credit)),
    ]
    assert result["summary"] == (
        f"C&W Construction: Open Balance 1.00 -> {balance:.2f}, "
        f"Credit Used 2.00 -> {credit:.2f}"
    )
    logged = db.execute(
        "SELECT ad_table_id, record_id FROM ad_pinstance_log"
        " WHERE ad_pinstance_id = %s",
        (result["AD_PInstance_ID"],),
    ).fetchall()
    assert {(row["ad_table_id"], row["record_id"]) for row in logged} == {
        (291, CW_CONSTRUCTION)
    }


def test_validate_of_a_partner_in_order_changes_nothing(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    _validate(client, admin, {"C_BPartner_ID": SEED_FARM})
    before = db.execute(
        "SELECT updated FROM c_bpartner WHERE c_bpartner_id = %s", (SEED_FARM,)
    ).fetchone()

    result = _validate(
        client, admin, {"C_BPartner_ID": {"identifier": "Seed Farm Inc."}}
    )

    assert result["summary"] == "Seed Farm Inc.: no change"
    assert result["logs"] == []
    assert _stored(db, SEED_FARM) == _expected(db, SEED_FARM)
    after = db.execute(
        "SELECT updated FROM c_bpartner WHERE c_bpartner_id = %s", (SEED_FARM,)
    ).fetchone()
    assert after == before


@pytest.mark.usefixtures("restored")
def test_a_payment_on_account_lowers_only_the_open_balance(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    _validate(client, admin, {"C_BPartner_ID": SEED_FARM})
    balance, credit = _stored(db, SEED_FARM)
    payment = db.execute(
        "INSERT INTO c_payment (ad_client_id, ad_org_id, documentno, c_bpartner_id,"
        "                       datetrx, payamt, docstatus)"
        " VALUES (11, 11, 'TEST-ON-ACCOUNT', %s, %s, 250.00, 'CO')"
        " RETURNING c_payment_id",
        (SEED_FARM, dt.date.today()),
    ).fetchone()
    assert payment is not None
    try:
        result = _validate(client, admin, {"C_BPartner_ID": SEED_FARM})
    finally:
        db.execute(
            "DELETE FROM c_payment WHERE c_payment_id = %s", (payment["c_payment_id"],)
        )

    assert _stored(db, SEED_FARM) == (balance - 250, credit)
    assert [log["msg"] for log in result["logs"]] == [
        f"Open Balance {balance:.2f} -> {balance - 250:.2f}"
    ]


@pytest.mark.usefixtures("nothing_stored")
def test_validate_needs_a_partner(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.post(RUN + SLUG, json={}, headers=admin)

    assert_error(answer, 400, "Missing parameters", "C_BPartner_ID")


@pytest.mark.usefixtures("nothing_stored")
def test_validate_refuses_a_partner_of_another_tenant(
    client: TestClient, db: psycopg.Connection[Row]
) -> None:
    with other_tenant(client, db, {SLUG: True}) as stranger:
        answer = client.post(
            RUN + SLUG,
            json={"C_BPartner_ID": CW_CONSTRUCTION},
            headers=stranger.headers,
        )

        assert_error(answer, 400, "Invalid parameter", "C_BPartner_ID", "117")
