"""Lookup parameters by key, identifier, UUID or column value, and multiple
selections, resolved to keys in the caller's tenant."""

from __future__ import annotations

from collections.abc import Iterator
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
    stored_counts,
    wait_for_job,
)

AD_PROCESS = 284  # ad_table_id of AD_Process
AD_REF_LIST = 104
CW_CONSTRUCTION, SEED_FARM = 117, 120


def _run(
    client: TestClient, headers: dict[str, str], slug: str, body: dict[str, Any]
) -> Any:
    answer = client.post(f"/api/v1/processes/{slug}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["isError"] is False, result
    return result["data"]["params"]


def _table_uuid(db: psycopg.Connection[Row], table_id: int) -> str:
    row = db.execute(
        "SELECT ad_table_uu FROM ad_table WHERE ad_table_id = %s", (table_id,)
    ).fetchone()
    assert row is not None
    return str(row["ad_table_uu"])


@pytest.mark.parametrize(
    "given",
    [
        AD_PROCESS,
        str(AD_PROCESS),
        {"id": AD_PROCESS},
        {"identifier": "AD_Process"},
        {"lookupColumn": "TableName", "lookupValue": "AD_Process"},
        {"lookupColumn": "name", "lookupValue": "Process"},
    ],
)
def test_a_record_is_found_by_key_identifier_or_column_value(
    client: TestClient, admin: dict[str, str], workers: list[str], given: Any
) -> None:
    assert (
        _run(client, admin, "test-lookups", {"AD_Table_ID": given})["AD_Table_ID"]
        == AD_PROCESS
    )


def test_a_record_is_found_by_its_uuid(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
) -> None:
    body = {"AD_Table_ID": {"uid": _table_uuid(db, AD_PROCESS)}}

    assert _run(client, admin, "test-lookups", body)["AD_Table_ID"] == AD_PROCESS


def test_text_keyed_records_are_found_by_identifier(
    client: TestClient, admin: dict[str, str], workers: list[str]
) -> None:
    body = {"AD_Language": {"identifier": "Español (Colombia)"}}

    assert _run(client, admin, "test-lookups", body)["AD_Language"] == "es_CO"


@pytest.fixture
def twin_roles(db: psycopg.Connection[Row]) -> Iterator[str]:
    """Two visible roles with one name: one of the system tenant, one of GardenWorld."""
    name = "Twin Role"
    ids = [
        db.execute(
            "INSERT INTO ad_role (ad_client_id, name) VALUES (%s, %s)"
            " RETURNING ad_role_id",
            (client, name),
        ).fetchone()["ad_role_id"]  # type: ignore[index]
        for client in (0, 11)
    ]
    try:
        yield name
    finally:
        db.execute("DELETE FROM ad_role WHERE ad_role_id = ANY(%s)", (ids,))


@pytest.mark.parametrize(
    ("given", "naming"),
    [
        ({"identifier": "No Such Role"}, "matches no record"),
        ({"uid": "00000000-0000-0000-0000-000000000000"}, "matches no record"),
        (
            {"lookupColumn": "nosuchcolumn", "lookupValue": "x"},
            "no column nosuchcolumn",
        ),
        (
            {"lookupColumn": "name; drop table ad_role", "lookupValue": "x"},
            "lookupColumn",
        ),
        ({"identifier": ""}, "identifier"),
        ({"name": "GardenWorld Admin"}, "lookupColumn"),
        (999999, "matches no record"),
    ],
)
def test_a_lookup_naming_no_record_is_a_400_naming_the_parameter(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    given: Any,
    naming: str,
) -> None:
    before = stored_counts(db)

    answer = client.post(
        "/api/v1/processes/test-lookups", json={"AD_Role_ID": given}, headers=admin
    )

    assert_error(answer, 400, "Invalid parameter", "AD_Role_ID", naming)
    assert stored_counts(db) == before


def test_an_identifier_matching_several_records_is_a_400(
    client: TestClient, admin: dict[str, str], twin_roles: str
) -> None:
    answer = client.post(
        "/api/v1/processes/test-lookups",
        json={"AD_Role_ID": {"identifier": twin_roles}},
        headers=admin,
    )

    assert_error(answer, 400, "Invalid parameter", "AD_Role_ID", "several records")


def test_records_of_another_tenant_are_not_found(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    db.execute(
        "INSERT INTO ad_client (ad_client_id, value, name)"
        " VALUES (77, 'Other77', 'Other 77') ON CONFLICT DO NOTHING"
    )
    role = db.execute(
        "INSERT INTO ad_role (ad_client_id, name) VALUES (77, 'Foreign Role')"
        " RETURNING ad_role_id"
    ).fetchone()
    assert role is not None
    try:
        for given in (role["ad_role_id"], {"identifier": "Foreign Role"}):
            answer = client.post(
                "/api/v1/processes/test-lookups",
                json={"AD_Role_ID": given},
                headers=admin,
            )
            assert_error(answer, 400, "Invalid parameter", "AD_Role_ID", "no record")
    finally:
        db.execute("DELETE FROM ad_role WHERE ad_role_id = %s", (role["ad_role_id"],))
        db.execute("DELETE FROM ad_client WHERE ad_client_id = 77")


@pytest.mark.parametrize(
    "given",
    [
        f"{AD_PROCESS},{AD_REF_LIST}",
        f" {AD_PROCESS} , {AD_REF_LIST} ",
        [AD_PROCESS, str(AD_REF_LIST)],
        [AD_PROCESS, {"identifier": "AD_Ref_List"}],
        {
            "selections": [
                {"id": AD_PROCESS},
                {"lookupColumn": "tablename", "lookupValue": "AD_Ref_List"},
            ]
        },
        [AD_PROCESS, AD_REF_LIST, AD_PROCESS],
    ],
)
def test_a_multiple_selection_takes_every_form_of_the_original(
    client: TestClient, admin: dict[str, str], workers: list[str], given: Any
) -> None:
    params = _run(client, admin, "test-selections", {"AD_Table_ID": given})

    assert params["AD_Table_ID"] == [AD_PROCESS, AD_REF_LIST]


def test_a_multiple_selection_is_stored_as_the_original_stores_it(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
) -> None:
    answer = client.post(
        "/api/v1/processes/test-selections",
        json={"AD_Table_ID": [AD_PROCESS, AD_REF_LIST], "Color": "r,B"},
        headers=admin,
    ).json()

    rows = db.execute(
        "SELECT parametername, p_string, info FROM ad_pinstance_para"
        " WHERE ad_pinstance_id = %s",
        (answer["AD_PInstance_ID"],),
    ).fetchall()
    stored = {r["parametername"]: (r["p_string"], r["info"]) for r in rows}
    assert stored["AD_Table_ID"] == (
        f"{AD_PROCESS},{AD_REF_LIST}",
        "AD_Process, AD_Ref_List",
    )
    assert stored["Color"] == ("R,B", "Red, Blue")


def test_a_multiple_list_selection_gives_the_values(
    client: TestClient, admin: dict[str, str], workers: list[str]
) -> None:
    assert _run(client, admin, "test-selections", {"Color": ["G", "r"]})["Color"] == [
        "G",
        "R",
    ]


@pytest.mark.parametrize(
    ("body", "naming"),
    [
        ({"AD_Table_ID": f"{AD_PROCESS},999999"}, "999999"),
        ({"AD_Table_ID": [AD_PROCESS, {"identifier": "Nope"}]}, "Nope"),
        ({"AD_Table_ID": ","}, "selections"),
        ({"AD_Table_ID": []}, "selections"),
        ({"AD_Table_ID": [[1]]}, "record id"),
        ({"AD_Table_ID": True}, "comma-separated"),
        ({"Color": "R,Purple"}, "Purple"),
        ({"AD_Role_ID": list(range(1001))}, "1000"),
    ],
)
def test_a_multiple_selection_with_an_unknown_element_is_a_400(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    body: dict[str, Any],
    naming: str,
) -> None:
    before = stored_counts(db)

    answer = client.post("/api/v1/processes/test-selections", json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", next(iter(body)), naming)
    assert stored_counts(db) == before


# --- what a stored instance shows -------------------------------------------------


@pytest.fixture(scope="module")
def sample_data(settings: Settings) -> None:
    """GardenWorld's partners and products (the demo seed makes them)."""
    with connect(settings.database_url, autocommit=True) as conn:
        if not demodata.has_sample_data(conn):
            demodata.generate(conn, orders=demodata.DEMO_ORDERS)


def _stored_parameters(db: psycopg.Connection[Row], instance_id: int) -> dict[str, Row]:
    rows = db.execute(
        "SELECT parametername, p_string, p_number, info, info_to"
        "  FROM ad_pinstance_para WHERE ad_pinstance_id = %s",
        (instance_id,),
    ).fetchall()
    return {row["parametername"]: row for row in rows}


@pytest.mark.usefixtures("sample_data")
@pytest.mark.parametrize(
    "partner", [CW_CONSTRUCTION, {"identifier": "C&W Construction"}]
)
def test_a_job_stores_the_name_of_the_partner_it_names_as_the_parameters_info(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
    partner: Any,
) -> None:
    body = {"C_BPartner_ID": partner, "notification-type": "X"}

    answer = client.post(
        "/api/v1/processes/jobs/rv_bpartneropen", json=body, headers=admin
    )

    assert answer.status_code == 200, answer.text
    job_id = json_body(answer)["id"]
    stored = _stored_parameters(db, job_id)["C_BPartner_ID"]
    assert (stored["p_number"], stored["info"]) == (CW_CONSTRUCTION, "C&W Construction")
    assert stored["info_to"] is None
    wait_for_job(client, admin, job_id)


@pytest.mark.usefixtures("sample_data")
def test_a_job_stores_the_names_of_chosen_partners_products_and_list_values(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
) -> None:
    product = db.execute(
        "SELECT m_product_id FROM m_product WHERE name = 'Hose Reel'"
    ).fetchone()
    assert product is not None
    body = {
        "C_BPartner_ID": [SEED_FARM, CW_CONSTRUCTION],
        "M_Product_ID": product["m_product_id"],
        "DocStatus": "CO",
        "notification-type": "X",
    }

    answer = client.post(
        "/api/v1/processes/jobs/rv_orderdetail", json=body, headers=admin
    )

    assert answer.status_code == 200, answer.text
    job_id = json_body(answer)["id"]
    stored = _stored_parameters(db, job_id)
    assert stored["C_BPartner_ID"]["p_string"] == f"{SEED_FARM},{CW_CONSTRUCTION}"
    assert stored["C_BPartner_ID"]["info"] == "Seed Farm Inc., C&W Construction"
    assert stored["M_Product_ID"]["info"] == "Hose Reel"
    assert stored["DocStatus"]["info"] == "Completed"
    wait_for_job(client, admin, job_id)
