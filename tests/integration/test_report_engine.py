"""The report engine through the API: test-report's rows, totals, parameters and
print formats, its output, and the checks made before an instance is stored."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from processes.registry import registry
from processes.sync import sync_dictionary
from tests.integration.helpers import (
    assert_error,
    json_body,
    other_tenant,
)
from tests.support.processes import REPORT_ROWS

pytestmark = pytest.mark.usefixtures("workers")

RUN = "/api/v1/processes/"
REPORT_SLUG = "test-report"
# The rows of GardenWorld in test-report's source, by n.
ROWS = range(1, 51)


def _run(client: TestClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    answer = client.post(RUN + REPORT_SLUG, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = json_body(answer)
    assert result["isError"] is False, result
    return result


def _csv(result: dict[str, Any]) -> list[list[str]]:
    content = base64.b64decode(result["exportFile"], validate=True)
    return list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))


def _documents(ns: Any) -> list[str]:
    return [f"T{n:03d}" for n in ns]


def _format(db: psycopg.Connection[Row], name: str) -> Row:
    row = db.execute(
        "SELECT ad_printformat_id, ad_printformat_uu::text AS uuid, ad_reportview_id"
        " FROM ad_printformat WHERE name = %s",
        (name,),
    ).fetchone()
    assert row is not None
    return row


# --- rows and totals ----------------------------------------------------------


def test_a_csv_report_has_the_header_and_the_tenants_rows_in_group_order(
    client: TestClient, admin: dict[str, str]
) -> None:
    result = _run(client, admin, {"report-type": "CSV"})

    assert result["summary"] == "Report"
    assert result["data"] == {"rows": 50}
    assert result["exportFileName"] == f"Test_Report_{result['AD_PInstance_ID']}.csv"
    header, *rows = _csv(result)
    assert header == [
        "Region",
        "Category",
        "Document No",
        "Date Ordered",
        "Status",
        "Amount",
        "Quantity",
    ]
    assert len(rows) == 50
    # Sorted by region, category, then document number; no other tenant's rows.
    keys = [(r[0], r[1], r[2]) for r in rows]
    assert keys == sorted(keys)
    assert sorted(r[2] for r in rows) == _documents(ROWS)
    first = next(r for r in rows if r[2] == "T004")
    assert first == ["South", "A", "T004", "2024-01-05", "CO", "6.00", "4"]


def test_a_summary_has_only_subtotals_and_totals_equal_to_sql_sums(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    result = _run(client, admin, {"report-type": "CSV", "is-summary": True})

    _, *rows = _csv(result)
    expected = db.execute(
        "SELECT region, category, count(*) AS n, sum(amount) AS amount,"
        "       avg(qty) AS qty"
        f"  FROM {REPORT_ROWS} AS r WHERE ad_client_id = 11"
        " GROUP BY ROLLUP (region, category)"
        " ORDER BY region NULLS LAST, category NULLS LAST"
    ).fetchall()
    # Each region's categories, then the region; the grand total last.
    assert len(rows) == len(expected)
    for shown, sql in zip(rows, expected, strict=True):
        assert int(shown[2]) == sql["n"]
        assert Decimal(shown[5]) == sql["amount"]
        assert Decimal(shown[6]).quantize(Decimal("0.0001")) == sql["qty"].quantize(
            Decimal("0.0001")
        )
        if sql["region"] is not None:
            assert shown[0] == sql["region"]
    assert rows[-1][0] == "Total"
    assert Decimal(rows[-1][5]) == sum(Decimal(n) * Decimal("1.5") for n in ROWS)


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"DateOrdered": "2024-01-05", "DateOrdered_to": "2024-01-10"},
            range(4, 10),
        ),
        ({"DateOrdered_to": "2024-01-03"}, range(1, 3)),
        # the last day there is: no day after it in Python
        ({"DateOrdered_to": "9999-12-31"}, ROWS),
        ({"AD_User_ID": [101]}, range(2, 51, 2)),
        ({"AD_User_ID": "101,102", "DocStatus": "DR"}, range(5, 51, 5)),
        ({"Region": "%or%"}, [n for n in ROWS if n % 3 == 0]),
        (
            {"Region": "West", "DocStatus": "CO"},
            [n for n in ROWS if n % 15 in (2, 8, 11, 14)],
        ),
    ],
)
def test_parameters_narrow_the_rows(
    client: TestClient, admin: dict[str, str], parameters: dict[str, Any], expected: Any
) -> None:
    result = _run(client, admin, {"report-type": "CSV", **parameters})

    _, *rows = _csv(result)
    assert sorted(r[2] for r in rows) == _documents(expected)


def test_a_parameter_passed_to_the_source_reaches_it(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.post(
        RUN + "test-other-report",
        json={"AsOf": "2024-02-29", "report-type": "CSV"},
        headers=admin,
    )
    result = json_body(answer)

    assert result["isError"] is False, result
    assert _csv(result) == [["As Of"], ["2024-02-29"]]


# --- print formats --------------------------------------------------------------


@pytest.mark.parametrize("by", ["id", "number text", "uuid", "upper-case uuid"])
def test_print_format_id_chooses_a_format_by_id_or_uuid(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row], by: str
) -> None:
    flat = _format(db, "Test Rows Flat")
    chosen = {
        "id": flat["ad_printformat_id"],
        "number text": str(flat["ad_printformat_id"]),
        "uuid": flat["uuid"],
        "upper-case uuid": flat["uuid"].upper(),
    }[by]

    result = _run(client, admin, {"report-type": "CSV", "print-format-id": chosen})

    header, *rows = _csv(result)
    assert header == ["Document No", "Amount"]
    assert [r[0] for r in rows] == _documents(ROWS)


def test_the_process_shows_its_report_view_and_default_print_format(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    default = _format(db, "Test Rows by Region")

    body = json_body(client.get(RUN + REPORT_SLUG, headers=admin))

    assert body["IsReport"] is True
    assert body["AD_ReportView_ID"] == {
        "propertyLabel": "Report View",
        "id": default["ad_reportview_id"],
        "identifier": "Test Rows",
        "model-name": "ad_reportview",
    }
    assert body["AD_PrintFormat_ID"] == {
        "propertyLabel": "Print Format",
        "id": default["ad_printformat_id"],
        "identifier": "Test Rows by Region",
        "model-name": "ad_printformat",
    }


@pytest.fixture
def tx(db: psycopg.Connection[Row]) -> Iterator[psycopg.Connection[Row]]:
    """A transaction rolled back after the test, so the shared dictionary stays."""
    with db.transaction(force_rollback=True):
        yield db


def test_print_formats_keep_their_ids_from_sync_to_sync(
    tx: psycopg.Connection[Row],
) -> None:
    before = _format(tx, "Test Rows Flat")
    without_flat = {slug: p for slug, p in registry().items() if slug != REPORT_SLUG}

    sync_dictionary(tx, without_flat)
    assert tx.execute(
        "SELECT isactive FROM ad_printformat WHERE ad_printformat_id = %s",
        (before["ad_printformat_id"],),
    ).fetchone() == {"isactive": False}
    sync_dictionary(tx, registry())

    assert _format(tx, "Test Rows Flat") == before
    items = tx.execute(
        "SELECT columnname, totalfunction FROM ad_printformatitem"
        " WHERE ad_printformat_id = %s ORDER BY seqno",
        (before["ad_printformat_id"],),
    ).fetchall()
    assert items == [
        {"columnname": "documentno", "totalfunction": None},
        {"columnname": "amount", "totalfunction": "sum"},
    ]


# --- the output -----------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("report_type", "expected"),
    [
        (None, ("report", "pdf", "application/pdf", b"%PDF-")),
        ("PDF", ("report", "pdf", "application/pdf", b"%PDF-")),
        ("html", ("export", "html", "text/html; charset=utf-8", b"<!DOCTYPE html>")),
        ("CSV", ("export", "csv", "text/csv; charset=utf-8", b"Region,")),
        ("XLS", ("export", "xlsx", XLSX, b"PK")),
    ],
)
def test_each_report_type_gives_its_file_named_after_the_process_and_instance(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    report_type: str | None,
    expected: tuple[str, str, str, bytes],
) -> None:
    kind, extension, media_type, magic = expected
    body = {"DateOrdered_to": "2024-01-10"}
    if report_type:
        body["report-type"] = report_type

    result = _run(client, admin, body)

    instance_id = result["AD_PInstance_ID"]
    content = base64.b64decode(result[f"{kind}File"], validate=True)
    assert content.startswith(magic)
    assert result[f"{kind}FileName"] == f"Test_Report_{instance_id}.{extension}"
    assert result[f"{kind}FileLength"] == len(content)
    stored = db.execute(
        "SELECT mediatype, size, sha256 FROM ad_pinstance_output"
        " WHERE ad_pinstance_id = %s",
        (instance_id,),
    ).fetchall()
    assert stored == [
        {
            "mediatype": media_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    ]
    download = client.get(f"{RUN}jobs/{instance_id}/outputs/1", headers=admin)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == media_type
    assert (
        f"Test_Report_{instance_id}.{extension}"
        in download.headers["content-disposition"]
    )


# --- refused before anything is stored -------------------------------------------


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("slug", "body", "naming"),
    [
        (REPORT_SLUG, {"report-type": "DOCX"}, ["report-type", '"DOCX"']),
        (REPORT_SLUG, {"print-format-id": 999999}, ["print-format-id", "999999"]),
        (
            REPORT_SLUG,
            {"print-format-id": "5f0c3c1e-3f57-4a8e-9a53-7c1d2a9b0e11"},
            ["print-format-id", "5f0c3c1e-3f57-4a8e-9a53-7c1d2a9b0e11"],
        ),
        ("test-echo", {"print-format-id": 1}, ["print-format-id"]),
        (
            REPORT_SLUG,
            {"DateOrdered": "2024-02-01", "DateOrdered_to": "2024-01-01"},
            ["DateOrdered", "2024-01-01"],
        ),
        (REPORT_SLUG, {"AD_User_ID": [101, 999999]}, ["AD_User_ID", "999999"]),
        (REPORT_SLUG, {"DocStatus": "XX"}, ["DocStatus", '"XX"']),
    ],
)
def test_bad_report_input_is_a_400_naming_the_parameter(
    client: TestClient,
    admin: dict[str, str],
    slug: str,
    body: dict[str, Any],
    naming: list[str],
) -> None:
    answer = client.post(RUN + slug, json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", *naming)


@pytest.mark.usefixtures("nothing_stored")
def test_a_print_format_of_another_view_is_a_400(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    other = _format(db, "Test Other")

    for sent in (other["ad_printformat_id"], other["uuid"]):
        answer = client.post(
            RUN + REPORT_SLUG, json={"print-format-id": sent}, headers=admin
        )
        assert_error(answer, 400, "Invalid parameter", "print-format-id", str(sent))


# --- a process called on a record ----------------------------------------------


def test_a_process_on_a_table_gets_its_record_and_table(
    client: TestClient, admin: dict[str, str]
) -> None:
    for extra in ({}, {"table-id": 114}, {"model-name": "ad_user"}):
        answer = client.post(
            RUN + "test-on-user", json={"record-id": 101, **extra}, headers=admin
        )
        result = json_body(answer)
        assert result["isError"] is False, result
        assert (result["data"]["record_id"], result["data"]["table_id"]) == (101, 114)


@pytest.mark.usefixtures("nothing_stored")
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"record-id": 999999}, (404, "Record not found", "record-id", "999999")),
        (
            {"record-id": 101, "table-id": 100},
            (400, "Invalid parameter", "table-id", "100", "AD_User"),
        ),
        (
            {"record-id": 101, "model-name": "ad_table"},
            (400, "Invalid parameter", "model-name", "ad_table"),
        ),
        ({}, (400, "Missing parameters", "record-id")),
    ],
)
def test_a_wrong_record_or_table_is_refused(
    client: TestClient,
    admin: dict[str, str],
    body: dict[str, Any],
    error: tuple[Any, ...],
) -> None:
    answer = client.post(RUN + "test-on-user", json=body, headers=admin)

    assert_error(answer, *error)


def test_a_record_of_another_tenant_is_not_found(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    with other_tenant(client, db, {"test-on-user": True}) as stranger:
        answer = client.post(
            RUN + "test-on-user", json={"record-id": 101}, headers=stranger.headers
        )
        assert_error(answer, 404, "Record not found", "record-id", "101")

        answer = client.post(
            RUN + "test-on-user",
            json={"record-id": stranger.user_id},
            headers=admin,
        )
        assert_error(
            answer, 404, "Record not found", "record-id", str(stranger.user_id)
        )


def test_the_report_header_names_the_parameters_used(
    client: TestClient, admin: dict[str, str]
) -> None:
    result = _run(
        client,
        admin,
        {
            "report-type": "HTML",
            "AD_User_ID": [101],
            "DocStatus": "DR",
            "DateOrdered": "2024-01-05",
        },
    )

    page = base64.b64decode(result["exportFile"]).decode()
    for shown in ("Test Report", "GardenWorld", "GardenAdmin", "Drafted"):
        assert shown in page, shown
    assert "≥ 2024-01-05" in page
