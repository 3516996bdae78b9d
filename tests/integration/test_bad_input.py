"""Bad input: each is a 4xx with the reference's JSON error body naming what was
wrong, never a 500, and a rejected request stores nothing (decision D1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx2
import jwt
import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.main import create_app
from app.settings import Settings
from tests.integration.conftest import EXPORT
from tests.integration.helpers import (
    Account,
    assert_error,
    json_body,
    other_tenant,
    stored_counts,
    wait_for_job,
)

pytestmark = pytest.mark.usefixtures("workers")

RUN = "/api/v1/processes/"
JOB = "/api/v1/processes/jobs/"
ROUTES = [RUN, JOB]


@pytest.fixture
def unchanged(db: psycopg.Connection[Row]) -> Iterator[None]:
    """Fails the test if it stored an instance or an instance parameter."""
    before = stored_counts(db)
    yield
    assert stored_counts(db) == before


def _post_raw(
    client: TestClient,
    path: str,
    content: bytes,
    headers: dict[str, str],
    content_type: str = "application/json",
) -> httpx2.Response:
    return client.post(
        path, content=content, headers={**headers, "Content-Type": content_type}
    )


# --- the body ---------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("content", [b"", b"null", b" null\n", b"{}"])
def test_an_empty_or_null_body_counts_as_an_empty_object(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    route: str,
    content: bytes,
) -> None:
    answer = _post_raw(client, route + "test-echo", content, admin)

    assert answer.status_code == 200, answer.text
    body = json_body(answer)
    if route == RUN:
        assert body["isError"] is False
        assert body["data"]["params"]["Label"] is None
    else:
        wait_for_job(client, admin, body["id"])


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("content", "naming"),
    [
        (b'{"Label": "x"', "Malformed JSON"),
        (b"{'Label': 'x'}", "Malformed JSON"),
        (b'{"Label": "x"} trailing', "Malformed JSON"),
        (b"not json", "Malformed JSON"),
        (b"[]", "JSON object, not list"),
        (b'[{"Label": "x"}]', "JSON object, not list"),
        (b'"text"', "JSON object, not str"),
        (b"42", "JSON object, not int"),
        (b"true", "JSON object, not bool"),
        (b'{"Label": "\xff\xfe"}', "not UTF-8"),
    ],
    ids=[
        "unclosed",
        "single-quotes",
        "trailing",
        "words",
        "array",
        "array-of-object",
        "string",
        "number",
        "boolean",
        "latin-1",
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_a_body_that_is_not_a_json_object_is_a_400(
    client: TestClient,
    admin: dict[str, str],
    route: str,
    content: bytes,
    naming: str,
) -> None:
    answer = _post_raw(client, route + "test-echo", content, admin)

    assert_error(answer, 400, "Invalid parameter", naming)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/json"]
)
@pytest.mark.usefixtures("unchanged")
def test_a_body_that_is_not_json_by_its_content_type_is_a_415(
    client: TestClient, admin: dict[str, str], route: str, content_type: str
) -> None:
    answer = _post_raw(
        client, route + "test-echo", b'{"Label": "x"}', admin, content_type
    )

    assert_error(answer, 415, "Unsupported media type", content_type)


@pytest.mark.parametrize("route", ROUTES)
def test_a_json_content_type_with_a_charset_is_accepted(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    answer = _post_raw(
        client,
        route + "test-echo",
        b'{"Label": "x"}',
        admin,
        "application/json; charset=utf-8",
    )

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.usefixtures("unchanged")
def test_a_body_over_the_size_limit_is_a_413(
    client: TestClient, admin: dict[str, str], settings: Settings, route: str
) -> None:
    assert settings.max_body_bytes == 25 * 1024 * 1024
    padding = "x" * (26 * 1024 * 1024)
    content = json.dumps({"Label": "big", "Note": padding}).encode()

    answer = _post_raw(client, route + "test-echo", content, admin)

    assert_error(answer, 413, "Payload too large", str(settings.max_body_bytes))


@pytest.fixture(scope="module")
def small_limit(settings: Settings) -> Iterator[TestClient]:
    """The API with a body limit of one KiB."""
    app = create_app(settings.model_copy(update={"max_body_bytes": 1024}))
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.usefixtures("unchanged")
def test_the_size_limit_is_a_setting(
    small_limit: TestClient, admin: dict[str, str]
) -> None:
    content = json.dumps({"Label": "x" * 1024}).encode()

    answer = _post_raw(small_limit, RUN + "test-echo", content, admin)

    assert_error(answer, 413, "Payload too large", "1024")


@pytest.mark.usefixtures("unchanged")
def test_a_chunked_body_over_the_size_limit_is_a_413(
    small_limit: TestClient, admin: dict[str, str]
) -> None:
    pieces = [b'{"Label": "', b"x" * 800, b"x" * 800, b'"}']

    answer = small_limit.post(
        RUN + "test-echo",
        content=iter(pieces),
        headers={**admin, "Content-Type": "application/json"},
    )

    assert "content-length" not in answer.request.headers
    assert_error(answer, 413, "Payload too large", "1024")


def test_a_body_just_under_the_size_limit_is_read(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    frame = b'{"Label": "near the limit", "Padding": ""}'
    padding = b" " * (settings.max_body_bytes - len(frame))
    content = frame[:-1] + padding + frame[-1:]
    assert len(content) == settings.max_body_bytes

    answer = _post_raw(client, RUN + "test-echo", content, admin)

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["params"]["Label"] == "near the limit"


# --- parameter values ---------------------------------------------------------------

# (JSON text of the body, the key the detail must name, the value it must name)
_BAD_VALUES = [
    ('{"Qty": "abc"}', "Qty", '"abc"'),
    ('{"qty": "12abc"}', "qty", '"12abc"'),
    ('{"Qty": true}', "Qty", "true"),
    ('{"Qty": 1.5}', "Qty", "1.5"),
    ('{"Qty": {"value": 1}}', "Qty", '{"value": 1}'),
    ('{"Qty": 99999999999999999999}', "Qty", "99999999999999999999"),
    ('{"Qty": NaN}', "Qty", "NaN"),
    ('{"Amount": NaN}', "Amount", "NaN"),
    ('{"Amount": Infinity}', "Amount", "Infinity"),
    ('{"Amount": -Infinity}', "Amount", "-Infinity"),
    ('{"Amount": "NaN"}', "Amount", '"NaN"'),
    ('{"Amount": "1,5"}', "Amount", '"1,5"'),
    ('{"Amount": [1]}', "Amount", "[1]"),
    ('{"IsActive": 1}', "IsActive", "1"),
    ('{"IsActive": "maybe"}', "IsActive", '"maybe"'),
    ('{"DateOrdered": "2022-13-45"}', "DateOrdered", '"2022-13-45"'),
    ('{"DateOrdered": "2022-02-30"}', "DateOrdered", '"2022-02-30"'),
    ('{"DateOrdered": "01/02/2022"}', "DateOrdered", '"01/02/2022"'),
    ('{"DateOrdered": 20220101}', "DateOrdered", "20220101"),
    (
        '{"DateOrdered": "2022-01-01", "DateOrdered_to": "2022-13-01"}',
        "DateOrdered_to",
        '"2022-13-01"',
    ),
    ('{"Moment": "2024-05-01T10:00:00"}', "Moment", '"2024-05-01T10:00:00"'),
    ('{"Moment": "2024-05-01"}', "Moment", '"2024-05-01"'),
    ('{"Moment": "2024-05-01T25:00:00Z"}', "Moment", '"2024-05-01T25:00:00Z"'),
    ('{"Color": "Purple"}', "Color", '"Purple"'),
    ('{"Color": "Red"}', "Color", '"Red"'),
    ('{"Color": 1}', "Color", "1"),
    ('{"AD_Table_ID": 99999}', "AD_Table_ID", "99999"),
    ('{"AD_Table_ID": "99999"}', "AD_Table_ID", "99999"),
    ('{"AD_Table_ID": -1}', "AD_Table_ID", "-1"),
    ('{"AD_Table_ID": 99999999999999999999}', "AD_Table_ID", "99999999999999999999"),
    ('{"AD_Table_ID": "abc"}', "AD_Table_ID", '"abc"'),
    ('{"AD_Table_ID": {"identifier": "No_Such_Table"}}', "AD_Table_ID", "identifier"),
    ('{"AD_Table_ID": {"name": "AD_Process"}}', "AD_Table_ID", "lookupColumn"),
    ('{"AD_Language": "xx_XX"}', "AD_Language", "xx_XX"),
    ('{"AD_Language": "es_co"}', "AD_Language", "es_co"),
    ('{"Label": {"text": "x"}}', "Label", '{"text": "x"}'),
    ('{"Label": ["a", "b"]}', "Label", '["a", "b"]'),
    ('{"Label": "forbidden"}', "Label", "forbidden"),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bad", _BAD_VALUES, ids=[v[0] for v in _BAD_VALUES])
@pytest.mark.usefixtures("unchanged")
def test_a_parameter_value_of_the_wrong_type_or_unknown_is_a_400(
    client: TestClient,
    admin: dict[str, str],
    route: str,
    bad: tuple[str, str, str],
) -> None:
    content, key, value = bad

    answer = _post_raw(client, route + "test-echo", content.encode(), admin)

    assert_error(answer, 400, "Invalid parameter", key, value)


@pytest.mark.usefixtures("unchanged")
def test_a_reversed_range_is_a_400(client: TestClient, admin: dict[str, str]) -> None:
    body = {"DateOrdered": "2022-12-31", "DateOrdered_to": "2022-01-01"}

    answer = client.post(RUN + "test-echo", json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", "DateOrdered", "2022-01-01")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"First": "", "Second": None},
        {"FIRST": "given", "second": None},
        {"Third": "x"},
    ],
    ids=["nothing", "empty-and-null", "wrong-casing", "only-defaulted"],
)
@pytest.mark.usefixtures("unchanged")
def test_missing_mandatory_parameters_are_a_400_listing_each(
    client: TestClient, admin: dict[str, str], route: str, body: dict[str, Any]
) -> None:
    answer = client.post(route + "test-mandatory", json=body, headers=admin)

    detail = assert_error(answer, 400, "Missing parameters")["detail"]
    assert detail == "Missing mandatory parameters: First, Second"


@pytest.mark.usefixtures("unchanged")
def test_missing_parameters_leave_out_one_with_a_default(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.post(RUN + "test-mandatory", json={"First": "a"}, headers=admin)

    assert_error(answer, 400, "Missing parameters", "Second")
    assert "Third" not in answer.json()["detail"]


# --- special keys -------------------------------------------------------------------

_BAD_OPTIONS = [
    ({"record-id": "abc"}, "record-id", '"abc"'),
    ({"record-id": 1.5}, "record-id", "1.5"),
    ({"record-id": 99999999999}, "record-id", "99999999999"),
    ({"record-id": [1]}, "record-id", "[1]"),
    ({"record-id": 1, "table-id": "x"}, "table-id", '"x"'),
    ({"record-id": 1, "table-id": 99999}, "table-id", "99999"),
    ({"record-id": 1, "model-name": "no_such_table"}, "model-name", "no_such_table"),
    ({"print-format-id": "xyz"}, "print-format-id", '"xyz"'),
]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("bad", _BAD_OPTIONS, ids=[v[1] for v in _BAD_OPTIONS])
@pytest.mark.usefixtures("unchanged")
def test_a_bad_special_key_is_a_400(
    client: TestClient,
    admin: dict[str, str],
    route: str,
    bad: tuple[dict[str, Any], str, str],
) -> None:
    body, key, value = bad

    answer = client.post(route + "test-echo", json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", key, value)


@pytest.mark.parametrize("notification", ["Q", "email", "none", 1, True])
@pytest.mark.usefixtures("unchanged")
def test_an_unknown_notification_type_is_a_400_on_the_job_route(
    client: TestClient, admin: dict[str, str], notification: Any
) -> None:
    body = {"notification-type": notification}

    answer = client.post(JOB + "test-echo", json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", "notification-type")


@pytest.mark.parametrize("notification", ["", " E ", "n\n", "\tX"])
@pytest.mark.usefixtures("unchanged")
def test_an_empty_or_padded_notification_type_is_a_400_naming_the_allowed_values(
    client: TestClient, admin: dict[str, str], notification: str
) -> None:
    # Only an absent or null notification-type means the default, B (D4).
    body = {"notification-type": notification}

    answer = client.post(JOB + "test-echo", json=body, headers=admin)

    assert_error(answer, 400, "Invalid parameter", "notification-type", "E, N, B or X")


@pytest.mark.parametrize("body", [{}, {"notification-type": None}])
def test_an_absent_or_null_notification_type_is_both(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    body: dict[str, Any],
) -> None:
    answer = client.post(JOB + "test-echo", json=body, headers=admin)

    assert answer.status_code == 200, answer.text
    job_id = json_body(answer)["id"]
    stored = db.execute(
        "SELECT notificationtype FROM ad_pinstance WHERE ad_pinstance_id = %s",
        (job_id,),
    ).fetchone()
    assert stored == {"notificationtype": "B"}
    wait_for_job(client, admin, job_id)


@pytest.mark.parametrize("report_type", ["HTML", "bogus", 7])
def test_report_type_on_a_process_that_is_not_a_report_is_ignored(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    report_type: Any,
) -> None:
    body = {"report-type": report_type, "is-summary": "maybe"}

    answer = client.post(RUN + "test-echo", json=body, headers=admin)

    assert answer.status_code == 200, answer.text
    assert "reportFile" not in answer.json()
    stored = db.execute(
        "SELECT reporttype, issummary FROM ad_pinstance WHERE ad_pinstance_id = %s",
        (answer.json()["AD_PInstance_ID"],),
    ).fetchone()
    assert stored == {"reporttype": None, "issummary": False}


def test_record_id_zero_or_negative_means_no_record(
    client: TestClient, admin: dict[str, str]
) -> None:
    for record in (0, -5, "0"):
        answer = client.post(
            RUN + "test-echo", json={"record-id": record}, headers=admin
        )

        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["record_id"] is None


# --- translationimpexp ------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("change", "naming"),
    [
        ({"AD_Language": "xx_XX"}, "xx_XX"),
        ({"AD_Language": "en"}, "en"),
        ({"ImportOrExport": "both"}, "both"),
        ({"IsOnlyCentralizedData": "sometimes"}, "sometimes"),
        ({"AD_Table_ID": 114}, "114"),
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_translation_export_with_a_bad_value_is_a_400(
    client: TestClient,
    admin: dict[str, str],
    route: str,
    change: dict[str, Any],
    naming: str,
) -> None:
    answer = client.post(
        route + "translationimpexp", json={**EXPORT, **change}, headers=admin
    )

    assert_error(answer, 400, "Invalid parameter", next(iter(change)), naming)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.usefixtures("unchanged")
def test_translation_export_without_a_language_is_a_400(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    body = {"ImportOrExport": "export"}

    answer = client.post(route + "translationimpexp", json=body, headers=admin)

    assert_error(answer, 400, "Missing parameters", "AD_Language")


# --- tokens on the run routes ---------------------------------------------------------


def _foreign_token() -> str:
    claims = {
        "sub": "GardenAdmin",
        "AD_User_ID": 101,
        "AD_Client_ID": 11,
        "AD_Role_ID": 102,
        "iss": "procserv",
        "exp": 4102444800,  # 2100-01-01
    }
    return jwt.encode(claims, "forged-" * 10, algorithm="HS512")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer ", "Bearer " + _foreign_token(), "Token abc"],
    ids=["missing", "empty", "forged", "other-scheme"],
)
@pytest.mark.usefixtures("unchanged")
def test_a_run_without_a_valid_token_is_a_401_and_stores_nothing(
    client: TestClient, route: str, authorization: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    answer = client.post(route + "test-echo", json={}, headers=headers)

    assert_error(answer, 401, "Unauthorized")


# --- job ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "job_id",
    ["abc", "99999999999999999999", "0", "-1", "1.5", "99999999", " 1", "1e3"],
)
def test_a_job_id_that_names_no_job_is_job_not_found(
    client: TestClient, admin: dict[str, str], job_id: str
) -> None:
    answer = client.get(JOB + quote(job_id), headers=admin)

    assert_error(answer, 404, "Job not found")
    assert answer.json()["detail"] == f"No job found matching id {job_id}"


def test_a_synchronous_instance_is_not_a_job(
    client: TestClient, admin: dict[str, str]
) -> None:
    run = client.post(RUN + "test-echo", json={}, headers=admin).json()

    answer = client.get(f"{JOB}{run['AD_PInstance_ID']}", headers=admin)

    assert_error(answer, 404, "Job not found", str(run["AD_PInstance_ID"]))


@pytest.fixture
def stranger(client: TestClient, db: psycopg.Connection[Row]) -> Iterator[Account]:
    """The operator of another tenant, who may run test-echo."""
    with other_tenant(client, db, {"test-echo": True}) as account:
        yield account


def test_a_tenant_never_sees_another_tenants_jobs(
    client: TestClient, admin: dict[str, str], stranger: Account
) -> None:
    theirs = client.post(JOB + "test-echo", json={}, headers=stranger.headers).json()
    ours = client.post(JOB + "test-echo", json={}, headers=admin).json()

    assert_error(
        client.get(f"{JOB}{theirs['id']}", headers=admin), 404, "Job not found"
    )
    assert_error(
        client.get(f"{JOB}{ours['id']}", headers=stranger.headers), 404, "Job not found"
    )
    assert_error(
        client.get(f"{JOB}{theirs['id']}/outputs/1", headers=admin),
        404,
        "Job not found",
    )
    assert wait_for_job(client, stranger.headers, theirs["id"])["client"] == (
        stranger.name
    )
    wait_for_job(client, admin, ours["id"])


def test_a_tenant_never_lists_another_tenants_running_jobs(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    with other_tenant(client, db, {"test-sleep": True}) as stranger:
        theirs = client.post(
            JOB + "test-sleep", json={"Seconds": 2}, headers=stranger.headers
        ).json()
        ours = client.post(
            JOB + "test-sleep", json={"Seconds": 2}, headers=admin
        ).json()

        listed_by_us = client.get(JOB.rstrip("/"), headers=admin).json()["jobs"]
        listed_by_them = client.get(JOB.rstrip("/"), headers=stranger.headers).json()

        assert ours["id"] in [job["id"] for job in listed_by_us]
        assert theirs["id"] not in [job["id"] for job in listed_by_us]
        assert [job["id"] for job in listed_by_them["jobs"]] == [theirs["id"]]
        wait_for_job(client, stranger.headers, theirs["id"])
    wait_for_job(client, admin, ours["id"])


def test_a_filter_on_an_id_out_of_range_matches_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.get(
        "/api/v1/processes",
        params={"$filter": "id eq 99999999999999999999"},
        headers=admin,
    )

    assert answer.status_code == 200
    assert json_body(answer) == {"processes": []}


# --- $filter --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "naming"),
    [
        ("Foo eq 1", "Invalid column for filter: Foo"),
        ("Classname eq 'x'", "Classname"),
        ("Created eq '2024-01-01'", "Created"),
        ("Name eq", "'eq'"),
        # The original's message, which names the column.
        ("Name eq Test", "single quotes. ColumnName: Name"),
        ("contains(Name,Test)", "single quotes. ColumnName: Name"),
        ("substringof('x',Name)", "substringof"),
        ("Name xx 'x'", "xx"),
        ("Name eq 'unterminated", "position"),
        ("(Name eq 'x'", "')'"),
        ("Name eq 'x')", "')'"),
        ("not Name eq 'x'", "'eq'"),
        ("Name in 'x'", "in"),
        ("IsReport gt null", "null"),
        ("id eq 'abc'", "abc"),
        ("Name eq 'a' and", "and"),
        ("contains(Name)", "contains"),
    ],
)
def test_a_bad_filter_is_the_original_get_error(
    client: TestClient, admin: dict[str, str], text: str, naming: str
) -> None:
    answer = client.get("/api/v1/processes", params={"$filter": text}, headers=admin)

    body = assert_error(answer, 400, "GET Error", naming)
    assert body["detail"].startswith("Get process with exception: ")
