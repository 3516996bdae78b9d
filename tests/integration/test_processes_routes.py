"""``GET /api/v1/processes`` (with ``$filter``) and ``GET /api/v1/processes/{slug}``,
and the 403/404 every process route shares (reference §1.4, §1.5, §7)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from tests.integration.helpers import (
    ADMIN_ROLE,
    USER_ROLE,
    assert_error,
    json_body,
    stored_counts,
)

PROCESSES = "/api/v1/processes"

# The processes a role may list, as the reference defines them (§1.4), by Value.
_LISTABLE = """
SELECT p.slug FROM ad_process p
  JOIN ad_process_access a ON a.ad_process_id = p.ad_process_id
 WHERE a.ad_role_id = %s AND a.isactive AND p.isactive AND p.ad_form_id IS NULL
   AND ({condition})
 ORDER BY p.value
"""


def _listable(
    db: psycopg.Connection[Row], condition: str = "TRUE", role: int = ADMIN_ROLE
) -> list[str]:
    query = _LISTABLE.format(condition=condition.replace("%", "%%"))
    rows = db.execute(query, (role,)).fetchall()
    return [row["slug"] for row in rows]


def _listed(client: TestClient, headers: dict[str, str], query: str = "") -> list[str]:
    answer = client.get(PROCESSES + query, headers=headers)
    assert answer.status_code == 200, answer.text
    body = json_body(answer)
    assert list(body) == ["processes"]
    return [process["slug"] for process in body["processes"]]


# --- the list -----------------------------------------------------------------


def test_list_shows_every_process_the_role_may_access_ordered_by_value(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    expected = _listable(db)

    assert _listed(client, admin) == expected
    assert {"translationimpexp", "test-echo", "test-sleep-n"} <= set(expected)


def test_list_shows_a_read_only_role_only_its_process(
    client: TestClient, user: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    assert _listed(client, user) == ["translationimpexp"]
    assert _listable(db, role=USER_ROLE) == ["translationimpexp"]


def test_list_items_have_the_process_keys_and_no_parameters(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    row = db.execute(
        "SELECT * FROM ad_process WHERE slug = 'translationimpexp'"
    ).fetchone()
    assert row is not None

    answer = client.get(PROCESSES, headers=admin)

    (item,) = [p for p in answer.json()["processes"] if p["slug"] == row["slug"]]
    assert item == {
        "id": row["ad_process_id"],
        "uid": str(row["ad_process_uu"]),
        "Value": row["value"],
        "Name": row["name"],
        "Description": row["description"],
        "Help": row["help"],
        "EntityType": {
            "propertyLabel": "Entity Type",
            "id": "D",
            "identifier": "Dictionary",
            "model-name": "ad_entitytype",
        },
        "IsReport": False,
        "model-name": "ad_process",
        "slug": "translationimpexp",
    }


# ($filter, the same condition in SQL, whether some process must match, so that
# the case cannot pass by comparing two empty lists); {id} and {uuid} stand for
# test-echo's. The SQL gives the expected answer.
_FILTERS = [
    ("Value eq 'Test Echo'", "p.value = 'Test Echo'", True),
    ("Value ne 'Test Echo'", "p.value <> 'Test Echo'", True),
    ("Value neq 'Test Echo'", "p.value <> 'Test Echo'", True),
    ("Value EQ 'Test Echo'", "p.value = 'Test Echo'", True),
    ("value eq 'Test Echo'", "p.value = 'Test Echo'", True),
    ("contains(tolower(Name),'sleep')", "lower(p.name) LIKE '%sleep%'", True),
    ("contains(tolower(Name), 'sleep')", "lower(p.name) LIKE '%sleep%'", True),
    ("contains(Name,'Sleep')", "p.name LIKE '%Sleep%'", True),
    # The literal is not lower-cased for the client, as in the original.
    ("contains(tolower(Name),'Sleep')", "FALSE", False),
    ("startswith(Value,'Test S')", "p.value LIKE 'Test S%'", True),
    ("endswith(toupper(Value),' PA')", "upper(p.value) LIKE '% PA'", True),
    # 'Y' must not mean 'N' (D9).
    ("IsReport eq 'Y'", "p.isreport", False),
    ("IsReport eq true", "p.isreport", False),
    ("IsReport eq 'N'", "NOT p.isreport", True),
    ("IsReport eq false", "NOT p.isreport", True),
    (
        "Value in ('Test Echo','Test Raise')",
        "p.value IN ('Test Echo', 'Test Raise')",
        True,
    ),
    (
        "contains(tolower(Name),'test') and not contains(tolower(Name),'sleep')",
        "lower(p.name) LIKE '%test%' AND lower(p.name) NOT LIKE '%sleep%'",
        True,
    ),
    (
        "Value eq 'Test Echo' or Value eq 'Test Raise'",
        "p.value IN ('Test Echo', 'Test Raise')",
        True,
    ),
    (
        "not (Value eq 'Test Echo' or startswith(Value,'Test S'))",
        "NOT (p.value = 'Test Echo' OR p.value LIKE 'Test S%')",
        True,
    ),
    # Wildcards are escaped (D9).
    ("contains(Name,'%')", "position('%' in p.name) > 0", False),
    ("contains(Name,'_')", "position('_' in p.name) > 0", False),
    ("Description eq null", "p.description IS NULL", True),
    ("Description neq null", "p.description IS NOT NULL", True),
    ("id eq {id}", "p.ad_process_id = {id}", True),
    ("AD_Process_ID eq '{id}'", "p.ad_process_id = {id}", True),
    ("uid eq '{uuid}'", "p.ad_process_uu = '{uuid}'", True),
    ("slug eq 'test-echo'", "p.slug = 'test-echo'", True),
    ("EntityType eq 'D'", "p.entitytype = 'D'", True),
]


@pytest.mark.parametrize("case", _FILTERS, ids=[case[0] for case in _FILTERS])
def test_filter_selects_what_the_same_condition_in_sql_selects(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    case: tuple[str, str, bool],
) -> None:
    text, condition, must_match = case
    echo = db.execute(
        "SELECT ad_process_id AS id, ad_process_uu AS uuid FROM ad_process"
        " WHERE slug = 'test-echo'"
    ).fetchone()
    assert echo is not None
    expected = _listable(db, condition.format(**echo))

    listed = _listed(client, admin, "?" + urlencode({"$filter": text.format(**echo)}))

    assert listed == expected
    assert expected or not must_match


@pytest.mark.parametrize(
    "query",
    [
        "$filter=slug+eq+'test-echo'",
        "$filter=slug%20eq%20'test-echo'",
        "$filter=Value+eq+'Test+Echo'",
        "%24filter=Value%20eq%20%27Test%20Echo%27",
    ],
)
def test_filter_spaces_may_arrive_as_plus_or_percent_20(
    client: TestClient, admin: dict[str, str], query: str
) -> None:
    assert _listed(client, admin, "?" + query) == ["test-echo"]


def test_filter_without_the_dollar_is_ignored(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    listed = _listed(client, admin, "?filter=Value+eq+'Test+Echo'")

    assert listed == _listable(db)
    assert len(listed) > 1


def test_filter_on_an_unknown_column_is_the_original_400(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.get(PROCESSES + "?$filter=Foo eq 1", headers=admin)

    assert answer.status_code == 400
    assert answer.text == (
        '{"title":"GET Error","status":400,'
        '"detail":"Get process with exception: Invalid column for filter: Foo"}'
    )


# --- one process ----------------------------------------------------------------


def test_get_by_slug_adds_the_parameters_in_seqno_order(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    rows = db.execute(
        "SELECT pp.* FROM ad_process_para pp JOIN ad_process p USING (ad_process_id)"
        " WHERE p.slug = 'test-echo' AND pp.isactive ORDER BY pp.seqno"
    ).fetchall()

    answer = client.get(PROCESSES + "/test-echo", headers=admin)

    assert answer.status_code == 200
    body = json_body(answer)
    assert body["slug"] == "test-echo"
    assert list(body)[-1] == "parameters"
    parameters = body["parameters"]
    assert [p["parameterName"] for p in parameters] == [r["columnname"] for r in rows]
    assert [p["SeqNo"] for p in parameters] == sorted(r["seqno"] for r in rows)
    assert [p["id"] for p in parameters] == [r["ad_process_para_id"] for r in rows]
    for parameter in parameters:
        assert parameter["model-name"] == "ad_process_para"
        assert list(parameter)[-1] == "parameterName"


def test_get_by_slug_shows_each_parameter_as_the_dictionary_holds_it(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    row = db.execute(
        "SELECT pp.*, r.name AS reference FROM ad_process_para pp"
        " JOIN ad_process p USING (ad_process_id)"
        " JOIN ad_reference r ON r.ad_reference_id = pp.ad_reference_id"
        " WHERE p.slug = 'test-mandatory' AND pp.columnname = 'Third'"
    ).fetchone()
    assert row is not None

    body = client.get(PROCESSES + "/test-mandatory", headers=admin).json()

    (third,) = [p for p in body["parameters"] if p["parameterName"] == "Third"]
    assert third["Name"] == row["name"]
    assert third["IsMandatory"] is True
    assert third["IsRange"] is False
    assert third["DefaultValue"] == "given"
    assert third["AD_Reference_ID"] == {
        "propertyLabel": "Reference",
        "id": 10,
        "identifier": row["reference"],
        "model-name": "ad_reference",
    }


def test_get_by_slug_works_with_read_only_access(
    client: TestClient, user: dict[str, str]
) -> None:
    answer = client.get(PROCESSES + "/translationimpexp", headers=user)

    assert answer.status_code == 200
    assert json_body(answer)["slug"] == "translationimpexp"


@pytest.mark.parametrize(
    "slug", ["no-such-process", "TranslationImpExp", "Test-Echo", "test_echo"]
)
@pytest.mark.parametrize(
    "route",
    [("GET", PROCESSES), ("POST", PROCESSES), ("POST", PROCESSES + "/jobs")],
    ids=["get", "run", "job"],
)
def test_unknown_or_wrongly_cased_slug_is_invalid_process_name(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    slug: str,
    route: tuple[str, str],
) -> None:
    method, prefix = route
    before = stored_counts(db)

    answer = client.request(method, f"{prefix}/{slug}", json={}, headers=admin)

    assert_error(answer, 404, "Invalid process name")
    assert answer.json()["detail"] == f"No match found for process name: {slug}"
    assert stored_counts(db) == before


@pytest.mark.parametrize(
    "route",
    [
        ("GET", PROCESSES, "test-echo"),
        ("POST", PROCESSES, "test-echo"),
        ("POST", PROCESSES + "/jobs", "test-echo"),
        ("POST", PROCESSES, "translationimpexp"),
        ("POST", PROCESSES + "/jobs", "translationimpexp"),
    ],
    ids=["get-no-access", "run-no-access", "job-no-access", "run-ro", "job-ro"],
)
def test_a_process_the_role_may_not_use_is_access_denied(
    client: TestClient,
    user: dict[str, str],
    db: psycopg.Connection[Row],
    route: tuple[str, str, str],
) -> None:
    method, prefix, slug = route
    before = stored_counts(db)
    body: dict[str, Any] = {
        "ImportOrExport": "export",
        "AD_Language": "es_CO",
        "IsOnlyCentralizedData": True,
    }

    answer = client.request(method, f"{prefix}/{slug}", json=body, headers=user)

    assert answer.status_code == 403
    assert answer.text == (
        '{"title":"Access denied","status":403,'
        f'"detail":"Access denied for process: {slug}"}}'
    )
    assert stored_counts(db) == before
