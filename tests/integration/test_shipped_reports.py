"""The shipped reports on the sample data: Order Detail, Business Partner Open,
Product List and Process Activity, read back from every output type and checked
against the same sums computed in SQL on the sample tables."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import openpyxl
import psycopg
import pypdf
import pytest
from starlette.testclient import TestClient

from app import demodata
from app.db import Row, connect
from app.settings import Settings
from tests.integration.helpers import (
    ADMIN_ROLE,
    account,
    assert_error,
    json_body,
)

pytestmark = pytest.mark.usefixtures("workers", "sample_data")

RUN = "/api/v1/processes/"
TODAY = dt.date.today()
TREE_FARM, CW_CONSTRUCTION, SEED_FARM = 114, 117, 120
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def sample_data(settings: Settings) -> None:
    """GardenWorld's sample data (the demo seed makes it; made here if missing)."""
    with connect(settings.database_url, autocommit=True) as conn:
        if not demodata.has_sample_data(conn):
            demodata.generate(conn, orders=demodata.DEMO_ORDERS)


# --- running and reading back ---------------------------------------------------


def run(
    client: TestClient, headers: dict[str, str], slug: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = client.post(RUN + slug, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = json_body(answer)
    assert result["isError"] is False, result
    return result


def output(
    client: TestClient, headers: dict[str, str], result: dict[str, Any], kind: str
) -> bytes:
    """The report (PDF) or export file of a synchronous answer."""
    if f"{kind}FileUrl" in result:
        answer = client.get(result[f"{kind}FileUrl"], headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.content
    content = base64.b64decode(result[f"{kind}File"], validate=True)
    assert result[f"{kind}FileLength"] == len(content)
    return content


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


class _Table(HTMLParser):
    """The rows of an HTML report's table: (CSS class, cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append((dict(attrs).get("class") or "", []))
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_rows(content: bytes) -> list[tuple[str, list[str]]]:
    table = _Table()
    table.feed(content.decode("utf-8"))
    return table.rows


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def assert_grouped(values: list[str]) -> None:
    """Each value's rows come together (the order of groups is the database's
    collation, which Python's sort does not follow)."""
    runs = [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]
    assert len(runs) == len(set(runs)), runs


def amount(value: Decimal) -> str:
    """An amount as the #,##0.00 columns print it."""
    return f"{value.quantize(CENT):,.2f}"


def one(db: psycopg.Connection[Row], query: str, params: Any = ()) -> Row:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return row


def print_format(db: psycopg.Connection[Row], view: str, name: str) -> Row:
    return one(
        db,
        "SELECT f.ad_printformat_id AS id, f.ad_printformat_uu::text AS uuid"
        "  FROM ad_printformat f JOIN ad_reportview v USING (ad_reportview_id)"
        " WHERE v.name = %s AND f.name = %s AND f.isactive",
        (view, name),
    )


# --- Order Detail ---------------------------------------------------------------

QUARTER = (TODAY - dt.timedelta(days=180), TODAY - dt.timedelta(days=90))

_LINES_OF_RANGE = """
SELECT o.documentno, l.line, bp.name AS partner, l.linenetamt, l.qtyordered
  FROM c_orderline l
  JOIN c_order o USING (c_order_id)
  JOIN c_bpartner bp ON bp.c_bpartner_id = o.c_bpartner_id
 WHERE o.ad_client_id = 11 AND o.dateordered BETWEEN %s AND %s
"""


def test_order_detail_csv_has_every_line_of_the_date_range(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    start, end = QUARTER
    body = {"DateOrdered": start.isoformat(), "DateOrdered_to": end.isoformat()}

    result = run(client, admin, "rv_orderdetail", {**body, "report-type": "CSV"})

    assert result["summary"] == "Report"
    assert result["exportFileName"] == f"Order_Detail_{result['AD_PInstance_ID']}.csv"
    rows = as_dicts(csv_rows(output(client, admin, result, "export")))
    expected = db.execute(_LINES_OF_RANGE, QUARTER).fetchall()
    assert expected, "the sample data has orders in the range"
    assert sorted((r["Document No"], int(r["Line"])) for r in rows) == sorted(
        (e["documentno"], e["line"]) for e in expected
    )
    assert sum(Decimal(r["Line Amount"]) for r in rows) == sum(
        e["linenetamt"] for e in expected
    )
    assert all(start.isoformat() <= r["Date Ordered"] <= end.isoformat() for r in rows)
    assert_grouped([r["Business Partner"] for r in rows])


def test_order_detail_html_with_a_partner_filter_lists_only_those_partners(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    # The request of iDempiere's REST examples (idempiere-rest issue #51).
    result = run(
        client,
        admin,
        "rv_orderdetail",
        {"C_BPartner_ID": "117,114", "report-type": "HTML"},
    )

    assert result["exportFileName"].endswith(".html")
    rows = html_rows(output(client, admin, result, "export"))
    header = rows[0][1]
    details = [
        dict(zip(header, cells, strict=True)) for kind, cells in rows[1:] if not kind
    ]
    assert {d["Business Partner"] for d in details} == {
        "C&W Construction",
        "Tree Farm Inc.",
    }
    expected = one(
        db,
        "SELECT count(*) AS lines, sum(l.linenetamt) AS total"
        "  FROM c_orderline l JOIN c_order o USING (c_order_id)"
        " WHERE o.c_bpartner_id IN (114, 117)",
    )
    assert len(details) == expected["lines"]
    subtotals = [cells for kind, cells in rows if kind == "subtotal"]
    assert sorted(cells[0] for cells in subtotals) == [
        "Total C&W Construction",
        "Total Tree Farm Inc.",
    ]
    (grand,) = [cells for kind, cells in rows if kind == "total"]
    assert grand[header.index("Line Amount")] == amount(expected["total"])


def test_order_detail_summary_xlsx_has_each_partners_sums(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    result = run(
        client,
        admin,
        "rv_orderdetail",
        {"DocStatus": "CO", "report-type": "XLSX", "is-summary": True},
    )

    assert result["exportFileName"].endswith(".xlsx")
    workbook = openpyxl.load_workbook(
        io.BytesIO(output(client, admin, result, "export"))
    )
    sheet = workbook.worksheets[0]
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert sheet.freeze_panes == "A2"
    expected = db.execute(
        "SELECT bp.name, count(*) AS lines, sum(l.qtyordered) AS qty,"
        "       sum(l.linenetamt) AS total"
        "  FROM c_orderline l JOIN c_order o USING (c_order_id)"
        "  JOIN c_bpartner bp ON bp.c_bpartner_id = o.c_bpartner_id"
        " WHERE o.ad_client_id = 11 AND o.docstatus = 'CO'"
        " GROUP BY bp.name ORDER BY bp.name"
    ).fetchall()
    *subtotals, grand = rows
    ordered, line_amount, count = (
        header.index(name) for name in ("Ordered", "Line Amount", "Document No")
    )
    assert [
        (r[0], r[count], Decimal(str(r[ordered])), Decimal(str(r[line_amount])))
        for r in subtotals
    ] == [(f"Total {e['name']}", e["lines"], e["qty"], e["total"]) for e in expected]
    assert grand[0] == "Grand total"
    assert Decimal(str(grand[line_amount])) == sum(e["total"] for e in expected)


def test_order_detail_by_product_is_chosen_by_print_format_id_or_uuid(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    by_product = print_format(db, "RV_OrderDetail", "Order Detail by Product")
    body = {"C_BPartner_ID": [SEED_FARM], "report-type": "CSV"}

    by_id = run(
        client, admin, "rv_orderdetail", {**body, "print-format-id": by_product["id"]}
    )
    by_uuid = run(
        client, admin, "rv_orderdetail", {**body, "print-format-id": by_product["uuid"]}
    )

    rows = csv_rows(output(client, admin, by_id, "export"))
    assert rows[0] == [
        "Product",
        "Document No",
        "Date Ordered",
        "Business Partner",
        "Ordered",
        "Delivered",
        "Line Amount",
    ]
    assert {row[3] for row in rows[1:]} == {"Seed Farm Inc."}
    assert_grouped([row[0] for row in rows[1:]])
    assert output(client, admin, by_uuid, "export") == output(
        client, admin, by_id, "export"
    )


def test_order_detail_pdf_shows_title_parameters_rows_and_grand_total(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    result = run(client, admin, "rv_orderdetail", {"C_BPartner_ID": CW_CONSTRUCTION})

    assert result["reportFileName"] == f"Order_Detail_{result['AD_PInstance_ID']}.pdf"
    content = output(client, admin, result, "report")
    assert content.startswith(b"%PDF-")
    text = pdf_text(content)
    expected = one(
        db,
        "SELECT sum(l.linenetamt) AS total, min(o.documentno) AS first"
        "  FROM c_orderline l JOIN c_order o USING (c_order_id)"
        " WHERE o.c_bpartner_id = 117",
    )
    for shown in (
        "Order Detail",
        "GardenWorld",
        "Business Partner C&W Construction",
        expected["first"],
        "Total C&W Construction",
        amount(expected["total"]),
        "Page 1 of",
    ):
        assert shown in text, shown


# --- Business Partner Open ------------------------------------------------------

# The open amount of each open sales invoice as of a day, from the tables.
_OPEN_AS_OF = """
SELECT i.c_invoice_id, bp.name AS partner, i.documentno,
       i.grandtotal - COALESCE((
           SELECT sum(p.payamt) FROM c_payment p
            WHERE p.c_invoice_id = i.c_invoice_id AND p.docstatus IN ('CO', 'CL')
              AND p.datetrx <= %(day)s), 0) AS open,
       %(day)s::date - i.duedate AS late
  FROM c_invoice i JOIN c_bpartner bp ON bp.c_bpartner_id = i.c_bpartner_id
 WHERE i.ad_client_id = 11 AND i.issotrx AND i.docstatus IN ('CO', 'CL')
   AND i.dateinvoiced <= %(day)s
"""

BUCKETS = {
    "Not Due": (None, 0),
    "1-30": (1, 30),
    "31-60": (31, 60),
    "61-90": (61, 90),
    "Over 90": (91, None),
}


def _open_invoices(db: psycopg.Connection[Row], day: dt.date) -> list[Row]:
    rows = db.execute(_OPEN_AS_OF, {"day": day}).fetchall()
    return [row for row in rows if row["open"] != 0]


def _in_bucket(late: int, bucket: str) -> bool:
    low, high = BUCKETS[bucket]
    return (low is None or late >= low) and (high is None or late <= high)


@pytest.mark.parametrize("days_back", [None, 100])
def test_bpartner_open_ages_what_each_invoice_still_owes(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    days_back: int | None,
) -> None:
    body: dict[str, Any] = {"report-type": "CSV"}
    day = TODAY
    if days_back is not None:
        day = TODAY - dt.timedelta(days=days_back)
        body["StatementDate"] = day.isoformat()

    result = run(client, admin, "rv_bpartneropen", body)

    rows = as_dicts(csv_rows(output(client, admin, result, "export")))
    expected = _open_invoices(db, day)
    assert sorted(r["Invoice"] for r in rows) == sorted(
        e["documentno"] for e in expected
    )
    for row in rows:
        assert sum(Decimal(row[b]) for b in BUCKETS) == Decimal(row["Open Amount"])
    for bucket in BUCKETS:
        assert sum(Decimal(r[bucket]) for r in rows) == sum(
            e["open"] for e in expected if _in_bucket(e["late"], bucket)
        ), bucket
    assert sum(Decimal(r["Open Amount"]) for r in rows) == sum(
        e["open"] for e in expected
    )


def test_bpartner_open_as_of_today_has_every_bucket_and_per_partner_sums(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    result = run(
        client, admin, "rv_bpartneropen", {"report-type": "XLSX", "is-summary": True}
    )

    workbook = openpyxl.load_workbook(
        io.BytesIO(output(client, admin, result, "export"))
    )
    header, *rows = [
        list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)
    ]
    *subtotals, grand = rows
    expected: dict[str, Decimal] = {}
    for invoice in _open_invoices(db, TODAY):
        expected[invoice["partner"]] = (
            expected.get(invoice["partner"], 0) + invoice["open"]
        )
    open_amount = header.index("Open Amount")
    assert {r[0]: Decimal(str(r[open_amount])) for r in subtotals} == {
        f"Total {name}": total for name, total in expected.items()
    }
    # The sample data has an invoice of GardenWorld's partners in each bucket.
    for bucket in BUCKETS:
        assert grand[header.index(bucket)] != 0, bucket
    parameters = {
        row[0]: row[1] for row in workbook.worksheets[1].iter_rows(values_only=True)
    }
    assert TODAY.isoformat() in str(parameters.get("Statement date")), parameters


def test_bpartner_open_of_one_partner(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    result = run(
        client,
        admin,
        "rv_bpartneropen",
        {"C_BPartner_ID": {"identifier": "Seed Farm Inc."}, "report-type": "HTML"},
    )

    rows = html_rows(output(client, admin, result, "export"))
    details = [cells for kind, cells in rows[1:] if not kind]
    assert details
    assert {cells[0] for cells in details} == {"Seed Farm Inc."}
    expected = [
        e for e in _open_invoices(db, TODAY) if e["partner"] == "Seed Farm Inc."
    ]
    assert len(details) == len(expected)


# --- Product List ---------------------------------------------------------------


def test_product_list_xlsx_has_typed_prices_of_one_price_list(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    price_list = one(
        db,
        "SELECT m_pricelist_id, name FROM m_pricelist"
        " WHERE ad_client_id = 11 AND issopricelist ORDER BY m_pricelist_id LIMIT 1",
    )

    result = run(
        client,
        admin,
        "rv_product_list",
        {"M_PriceList_ID": price_list["m_pricelist_id"], "report-type": "XLS"},
    )

    assert result["exportFileName"].endswith(".xlsx")
    workbook = openpyxl.load_workbook(
        io.BytesIO(output(client, admin, result, "export"))
    )
    header, *rows = [
        list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)
    ]
    key, std = header.index("Search Key"), header.index("Standard Price")
    details = [r for r in rows if r[0] == price_list["name"]]
    expected = db.execute(
        "SELECT p.value, pp.pricestd FROM m_productprice pp"
        "  JOIN m_product p USING (m_product_id)"
        " WHERE pp.m_pricelist_id = %s AND p.isactive AND pp.isactive",
        (price_list["m_pricelist_id"],),
    ).fetchall()
    assert expected
    assert sorted((r[key], Decimal(str(r[std]))) for r in details) == sorted(
        (e["value"], e["pricestd"]) for e in expected
    )
    assert all(isinstance(r[std], int | float) for r in details)
    assert rows[-1][0] == "Grand total"
    assert rows[-1][key] == len(expected)


def test_product_list_of_one_category(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    category = one(
        db,
        "SELECT m_product_category_id, name FROM m_product_category"
        " WHERE ad_client_id = 11 AND value = 'TREE'",
    )

    result = run(
        client,
        admin,
        "rv_product_list",
        {
            "M_Product_Category_ID": category["m_product_category_id"],
            "report-type": "CSV",
        },
    )

    rows = as_dicts(csv_rows(output(client, admin, result, "export")))
    assert rows
    assert {r["Product Category"] for r in rows} == {category["name"]}


# --- Process Activity -----------------------------------------------------------


def test_process_activity_counts_runs_failure_rate_and_duration(
    client: TestClient, db: psycopg.Connection[Row]
) -> None:
    with account(client, db, "Activity", [ADMIN_ROLE]) as someone:
        for _ in range(2):
            run(client, someone.headers, "test-echo", {})
        failed = client.post(RUN + "test-raise", json={}, headers=someone.headers)
        assert json_body(failed)["isError"] is True

        result = run(
            client,
            someone.headers,
            "rv_process_activity",
            {
                "AD_User_ID": someone.user_id,
                # A day either side, whatever the database's time zone.
                "Created": (TODAY - dt.timedelta(days=1)).isoformat(),
                "Created_to": (TODAY + dt.timedelta(days=1)).isoformat(),
                "report-type": "CSV",
                "is-summary": True,
            },
        )

        rows = as_dicts(csv_rows(output(client, someone.headers, result, "export")))
        durations = {
            row["name"]: row["seconds"]
            for row in db.execute(
                "SELECT p.name, avg(extract(epoch FROM i.finished - i.started))"
                "       AS seconds"
                "  FROM ad_pinstance i JOIN ad_process p USING (ad_process_id)"
                " WHERE i.ad_user_id = %s AND p.value IN ('Test Echo', 'Test Raise')"
                " GROUP BY p.name",
                (someone.user_id,),
            ).fetchall()
        }

    by_process = {r["Process"]: r for r in rows}
    assert set(by_process) == {"Test Echo", "Test Raise", "Process Activity", "Total"}
    echo, failing = by_process["Test Echo"], by_process["Test Raise"]
    assert (echo["Instance"], echo["Failed %"]) == ("2", "0")
    assert (failing["Instance"], failing["Failed %"]) == ("1", "100")
    for name, row in (("Test Echo", echo), ("Test Raise", failing)):
        shown = Decimal(row["Duration (s)"])
        assert abs(shown - Decimal(str(durations[name]))) < Decimal("0.01"), name
    # The report's own instance is running: counted, but in neither average.
    activity = by_process["Process Activity"]
    assert (activity["Instance"], activity["Failed %"]) == ("1", "")
    total = by_process["Total"]
    assert total["Instance"] == "4"
    assert Decimal(total["Failed %"]).quantize(CENT) == Decimal("33.33")


# --- bad input ------------------------------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("body", "naming"),
    [
        ({"report-type": "DOCX"}, ["report-type", "DOCX"]),
        (
            {"DateOrdered": "2024-12-31", "DateOrdered_to": "2024-01-01"},
            ["DateOrdered", "2024-01-01", "2024-12-31"],
        ),
        ({"C_BPartner_ID": "117,999999"}, ["C_BPartner_ID", "999999"]),
        ({"DocStatus": "XX"}, ["DocStatus", "XX"]),
    ],
    ids=["report-type", "reversed-range", "unknown-partner", "unknown-status"],
)
def test_bad_order_detail_input_is_a_400_naming_the_parameter(
    client: TestClient,
    admin: dict[str, str],
    body: dict[str, Any],
    naming: list[str],
) -> None:
    answer = client.post(RUN + "rv_orderdetail", json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", *naming)


@pytest.mark.usefixtures("nothing_stored")
def test_a_print_format_of_another_report_is_a_400(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    other = print_format(db, "RV_BPartnerOpen", "Business Partner Open")

    for sent in (other["id"], other["uuid"]):
        answer = client.post(
            RUN + "rv_orderdetail", json={"print-format-id": sent}, headers=admin
        )

        assert_error(answer, 400, "Invalid parameter", "print-format-id", str(sent))


def test_the_reports_show_their_views_and_default_print_formats(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    answer = client.get(RUN + "rv_orderdetail", headers=admin)

    body = json_body(answer)
    assert body["IsReport"] is True
    assert body["AD_ReportView_ID"]["id"] == 104
    assert body["AD_ReportView_ID"]["identifier"] == "RV_OrderDetail"
    assert (
        body["AD_PrintFormat_ID"]["id"]
        == print_format(db, "RV_OrderDetail", "Order Detail")["id"]
    )
    assert [p["parameterName"] for p in body["parameters"]] == [
        "C_BPartner_ID",
        "DateOrdered",
        "DocStatus",
        "M_Product_ID",
    ]
