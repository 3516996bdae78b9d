"""Print Order (``c_order-print``): one order of the sample data as a document,
called on its record; a missing or foreign order is a 404."""

from __future__ import annotations

import base64
import dataclasses
import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
import pypdf
import pytest
from starlette.testclient import TestClient

from app import demodata
from app.db import Row, connect
from app.settings import Settings
from processes.context import Context, ProcessError
from processes.erp.printorder import print_order
from tests.integration.helpers import (
    GARDENWORLD,
    HQ,
    assert_error,
    json_body,
    other_tenant,
)

pytestmark = pytest.mark.usefixtures("workers", "sample_data")

RUN = "/api/v1/processes/"
SLUG = "c_order-print"
C_ORDER_TABLE = 259


@pytest.fixture(scope="module")
def sample_data(settings: Settings) -> None:
    with connect(settings.database_url, autocommit=True) as conn:
        if not demodata.has_sample_data(conn):
            demodata.generate(conn, orders=demodata.DEMO_ORDERS)


@pytest.fixture
def order(db: psycopg.Connection[Row]) -> Row:
    """A GardenWorld order whose lines have more than one tax rate."""
    row = db.execute(
        "SELECT o.c_order_id, o.documentno, o.grandtotal, o.totallines, o.taxamt,"
        "       bp.name AS partner, bp.city"
        "  FROM c_order o JOIN c_bpartner bp USING (c_bpartner_id)"
        " WHERE o.ad_client_id = 11 AND (SELECT count(DISTINCT l.c_tax_id)"
        "       FROM c_orderline l WHERE l.c_order_id = o.c_order_id) > 1"
        " ORDER BY o.c_order_id LIMIT 1"
    ).fetchone()
    assert row is not None, "the sample data has an order with two tax rates"
    return row


def _lines(db: psycopg.Connection[Row], order_id: int) -> list[Row]:
    return db.execute(
        "SELECT l.line, p.name, l.linenetamt FROM c_orderline l"
        "  JOIN m_product p USING (m_product_id)"
        " WHERE l.c_order_id = %s ORDER BY l.line",
        (order_id,),
    ).fetchall()


def _taxes(db: psycopg.Connection[Row], order_id: int) -> list[Row]:
    return db.execute(
        "SELECT t.name, sum(l.taxamt) AS amount FROM c_orderline l"
        "  JOIN c_tax t USING (c_tax_id) WHERE l.c_order_id = %s GROUP BY t.name",
        (order_id,),
    ).fetchall()


def _amount(value: Decimal) -> str:
    return f"{value:,.2f}"


def _print(
    client: TestClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    answer = client.post(RUN + SLUG, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = json_body(answer)
    assert result["isError"] is False, result
    return result


def _pdf_text(result: dict[str, Any]) -> str:
    content = base64.b64decode(result["reportFile"], validate=True)
    assert content.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_print_order_makes_a_pdf_with_header_lines_taxes_and_totals(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row], order: Row
) -> None:
    result = _print(client, admin, {"record-id": order["c_order_id"]})

    assert result["summary"] == f"Order {order['documentno']}"
    assert result["reportFileName"] == f"Print_Order_{result['AD_PInstance_ID']}.pdf"
    assert "exportFile" not in result
    text = _pdf_text(result)
    for shown in (
        "GardenWorld",
        f"Order {order['documentno']}",
        order["partner"],
        order["city"],
        "Total Lines",
        _amount(order["totallines"]),
        "Grand Total",
        _amount(order["grandtotal"]),
        "Page 1 of 1",
    ):
        assert shown in text, shown
    for line in _lines(db, order["c_order_id"]):
        assert line["name"] in text, line["name"]
        assert _amount(line["linenetamt"]) in text
    taxes = _taxes(db, order["c_order_id"])
    assert len(taxes) > 1
    for tax in taxes:
        assert tax["name"] in text
        assert _amount(tax["amount"]) in text


@pytest.mark.parametrize(
    "table", [{"table-id": C_ORDER_TABLE}, {"model-name": "c_order"}, {}]
)
def test_print_order_takes_the_table_by_id_or_model_name(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    order: Row,
    table: dict[str, Any],
) -> None:
    result = _print(client, admin, {"record-id": order["c_order_id"], **table})

    row = db.execute(
        "SELECT record_id, ad_table_id FROM ad_pinstance WHERE ad_pinstance_id = %s",
        (result["AD_PInstance_ID"],),
    ).fetchone()
    assert row is not None
    assert (row["record_id"], row["ad_table_id"]) == (
        order["c_order_id"],
        C_ORDER_TABLE,
    )


def test_print_order_as_html_gives_the_same_document(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row], order: Row
) -> None:
    result = _print(
        client, admin, {"record-id": order["c_order_id"], "report-type": "HTML"}
    )

    assert result["exportFileName"] == f"Print_Order_{result['AD_PInstance_ID']}.html"
    page = base64.b64decode(result["exportFile"]).decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert order["documentno"] in page
    assert _amount(order["grandtotal"]) in page
    for line in _lines(db, order["c_order_id"]):
        assert line["name"].replace("&", "&amp;") in page


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize("report_type", ["CSV", "xls", "XLSX"])
def test_print_order_as_a_spreadsheet_is_a_400_naming_the_types_it_makes(
    client: TestClient, admin: dict[str, str], order: Row, report_type: str
) -> None:
    answer = client.post(
        RUN + SLUG,
        json={"record-id": order["c_order_id"], "report-type": report_type},
        headers=admin,
    )

    assert_error(answer, 400, "Invalid parameter", "report-type", "PDF or HTML")


# --- a missing or foreign order -------------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
def test_a_missing_order_is_a_404(client: TestClient, admin: dict[str, str]) -> None:
    answer = client.post(RUN + SLUG, json={"record-id": 2_000_000_000}, headers=admin)

    assert_error(answer, 404, "Record not found", "2000000000", "C_Order")


@pytest.mark.usefixtures("nothing_stored")
def test_an_order_of_another_tenant_is_a_404(
    client: TestClient, db: psycopg.Connection[Row], order: Row
) -> None:
    with other_tenant(client, db, {SLUG: True}) as stranger:
        answer = client.post(
            RUN + SLUG,
            json={"record-id": order["c_order_id"]},
            headers=stranger.headers,
        )

        assert_error(answer, 404, "Record not found", str(order["c_order_id"]))


@pytest.mark.usefixtures("nothing_stored")
def test_print_order_without_a_record_or_on_another_table_is_a_400(
    client: TestClient, admin: dict[str, str], order: Row
) -> None:
    missing = client.post(RUN + SLUG, json={}, headers=admin)
    other_table = client.post(
        RUN + SLUG,
        json={"record-id": order["c_order_id"], "model-name": "c_bpartner"},
        headers=admin,
    )

    assert_error(missing, 400, "Missing parameters", "record-id")
    assert_error(other_table, 400, "Invalid parameter", "model-name", "C_Order")


# --- the process itself ---------------------------------------------------------


class _NoWrites:
    def log(self, message: str | None, **details: Any) -> None:
        raise AssertionError("nothing to log")

    def progress(self, percent: float, message: str) -> None:
        raise AssertionError("no progress")

    @contextmanager
    def output(self, name: str, media_type: str, kind: str) -> Iterator[Any]:
        raise AssertionError("no output")
        yield


def test_an_order_deleted_after_the_request_fails_the_run_clearly(
    settings: Settings,
) -> None:
    ctx = Context(
        instance_id=0,
        process_value="C_Order Print",
        client_id=GARDENWORLD,
        org_id=HQ,
        user_id=101,
        role_id=102,
        language="en_US",
        params={},
        params_to={},
        record_id=2_000_000_000,
        table_id=C_ORDER_TABLE,
        report_type=None,
        is_summary=False,
        writer=_NoWrites(),
        database_url=settings.database_url,
    )
    try:
        with pytest.raises(ProcessError, match="No order 2000000000"):
            print_order(ctx)
        with pytest.raises(ProcessError, match="record-id"):
            print_order(dataclasses.replace(ctx, record_id=None))
    finally:
        ctx.close(commit=False)
