"""Input a careless or hostile client sends: each is a 4xx JSON error naming what
was wrong, never a 500, and stores nothing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.main import create_app
from app.settings import Settings
from tests.integration.conftest import login
from tests.integration.helpers import assert_error, stored_counts, wait_for_job

LONG_DIGITS = "1" * 5000


def _raw_post(client: TestClient, path: str, text: str, headers: dict[str, str]) -> Any:
    return client.post(
        path, content=text, headers={**headers, "Content-Type": "application/json"}
    )


@pytest.mark.parametrize(
    ("body", "naming"),
    [
        ('{"Label": ' + LONG_DIGITS + "}", "JSON"),
        ("[" * 100_000, "nested"),
        ('{"a": ' + "[" * 40 + "]" * 40 + "}", "nested"),
        ('{"Label": "\\ud800"}', "surrogate"),
        ('{"record-id": 5, "model-name": "\\ud800"}', "surrogate"),
        ('{"AD_Language": "\\udfff"}', "surrogate"),
        ('{"Amount": 1e400}', "body.Amount"),
    ],
)
def test_bodies_python_cannot_take_as_text_are_refused(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    body: str,
    naming: str,
) -> None:
    before = stored_counts(db)

    answer = _raw_post(client, "/api/v1/processes/test-echo", body, admin)

    assert_error(answer, 400, "Invalid parameter", naming)
    assert stored_counts(db) == before


@pytest.mark.parametrize(
    ("parameters", "naming"),
    [
        ({"Qty": LONG_DIGITS[:4000]}, "Qty"),
        ({"AD_Table_ID": LONG_DIGITS[:4000]}, "AD_Table_ID"),
        ({"Amount": "1e999999"}, "Amount"),
        ({"Amount": "1e-999999"}, "Amount"),
        ({"Amount": "1_000"}, "Amount"),
        ({"Amount": "١٢"}, "Amount"),
        ({"Moment": "9999-12-31T23:59:59-23:59"}, "Moment"),
        ({"Moment": "0001-01-01T00:00:00+23:59"}, "Moment"),
        ({"DateOrdered": "2022-01-01garbage"}, "DateOrdered"),
        ({"print-format-id": "9" * 26}, "print-format-id"),
    ],
)
def test_values_out_of_range_or_not_numbers_name_their_parameter(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    parameters: dict[str, Any],
    naming: str,
) -> None:
    before = stored_counts(db)

    answer = client.post("/api/v1/processes/test-echo", json=parameters, headers=admin)

    assert_error(answer, 400, "Invalid parameter", naming)
    assert stored_counts(db) == before


def test_an_error_detail_quotes_a_long_value_shortened(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/processes/test-echo", json={"Qty": "x" * 100_000}, headers=admin
    )

    assert_error(answer, 400, "Invalid parameter", "Qty")
    assert len(answer.json()["detail"]) < 300


@pytest.mark.parametrize(
    "credentials",
    [
        '{"userName": "\\ud800", "password": "x"}',
        '{"userName": "GardenAdmin", "password": "\\ud800"}',
    ],
)
def test_login_with_text_that_is_not_text_is_refused(
    client: TestClient, credentials: str
) -> None:
    answer = _raw_post(client, "/api/v1/auth/tokens", credentials, {})

    assert_error(answer, 400, "Invalid parameter", "surrogate")


@pytest.mark.parametrize(
    "choices",
    [
        {"clientId": LONG_DIGITS[:4000]},
        {"clientId": 11, "roleId": 102, "organizationId": False},
    ],
)
def test_login_choices_that_cannot_be_ids_are_refused(
    client: TestClient, choices: dict[str, Any]
) -> None:
    answer = client.post(
        "/api/v1/auth/tokens",
        json={
            "userName": "GardenAdmin",
            "password": "GardenAdmin",
            "parameters": choices,
        },
    )

    assert answer.status_code == 401, answer.text
    assert answer.json()["title"] == "Authenticate error"


@pytest.mark.parametrize("route", ["roles", "language", "organizations"])
def test_helper_routes_refuse_a_client_of_thousands_of_digits(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    answer = client.get(
        f"/api/v1/auth/{route}?client={LONG_DIGITS}&role={LONG_DIGITS}", headers=admin
    )

    assert answer.status_code == 401, answer.text
    assert answer.json()["detail"] == "Invalid client"


def test_a_full_token_can_take_the_second_login_step(
    client: TestClient, admin: dict[str, str]
) -> None:
    # Clients of the original always PUT their choices after POST /auth/tokens.
    roles = client.get("/api/v1/auth/roles?client=11", headers=admin)
    chosen = client.put(
        "/api/v1/auth/tokens",
        json={"clientId": 11, "roleId": 102, "organizationId": 11, "warehouseId": 103},
        headers=admin,
    )

    assert roles.json() == {"roles": [{"id": 102, "name": "GardenWorld Admin"}]}
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["roleId"] == 102


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/processes/"),
        ("POST", "/api/v1/processes/jobs/test-echo/"),
        ("GET", "/api/v1/processes/..%2F"),
    ],
)
def test_paths_with_a_trailing_slash_are_not_redirected(
    client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    answer = client.request(
        method, path, headers=admin, json={}, follow_redirects=False
    )

    assert answer.status_code in (404, 405), answer.text
    assert "location" not in answer.headers
    assert answer.headers["content-type"] == "application/json"


def test_method_not_allowed_says_which_methods_are(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.delete("/api/v1/processes", headers=admin)

    assert_error(answer, 405, "Method not allowed", "DELETE", "GET")


def test_output_urls_use_the_public_url_not_the_host_header(
    settings: Settings, workers: list[str]
) -> None:
    public = settings.model_copy(update={"public_url": "https://procserv.example.com/"})
    with TestClient(create_app(public)) as client:
        headers = {
            "Authorization": "Bearer " + login(client, "GardenAdmin"),
            "Host": "evil.example.com",
        }
        submitted = client.post(
            "/api/v1/processes/jobs/test-echo",
            json={"Label": "public"},
            headers=headers,
        ).json()
        job = wait_for_job(client, headers, submitted["id"])

    assert job["outputs"][0]["url"].startswith("https://procserv.example.com/api/v1/")


def test_data_that_cannot_be_stored_fails_the_instance_instead_of_leaving_it_running(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
) -> None:
    answer = client.post("/api/v1/processes/test-unstorable", json={}, headers=admin)

    body = answer.json()
    assert answer.status_code == 200, answer.text
    assert body["isError"] is True
    assert body["summary"].startswith("The process returned data that cannot be stored")


@pytest.mark.parametrize(
    "locale", ["%00", "es_CO%00", "x" * 500, "'; drop table x; --"]
)
def test_a_locale_that_cannot_be_a_language_is_ignored(
    client: TestClient, admin: dict[str, str], locale: str
) -> None:
    answer = client.get(
        f"/api/v1/processes/translationimpexp?locale={locale}", headers=admin
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["Name"] == "Translation Import/Export"


@pytest.mark.parametrize("locale", ["es-CO", "es_co", "ES-co"])
def test_a_locale_is_matched_as_browsers_write_it(
    client: TestClient, admin: dict[str, str], locale: str
) -> None:
    answer = client.get(
        f"/api/v1/processes/translationimpexp?locale={locale}", headers=admin
    )

    assert answer.json()["Name"] != "Translation Import/Export"


def test_an_unexpected_failure_is_one_json_500_logged_under_its_correlation_id(
    client: TestClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(*_: object) -> str:
        raise RuntimeError("a fault inside the service")

    monkeypatch.setattr("app.dictionary.answer_language", broken)

    answer = client.get(
        "/api/v1/processes", headers={**admin, "X-Correlation-ID": "trace-500-check"}
    )

    assert_error(answer, 500, "Internal error", "trace-500-check")
    assert answer.headers["x-correlation-id"] == "trace-500-check"
    failures = [r for r in caplog.records if "request.failed" in r.getMessage()]
    assert len(failures) == 1
    assert "trace-500-check" in failures[0].getMessage()
    assert "a fault inside the service" not in answer.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/processes/translationimpexp", {"GET", "HEAD", "POST"}),
        ("PATCH", "/api/v1/auth/tokens", {"POST", "PUT"}),
    ],
)
def test_a_405_names_every_method_of_the_path(
    client: TestClient, admin: dict[str, str], method: str, path: str, allowed: set[str]
) -> None:
    answer = client.request(method, path, headers=admin)

    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["allow"].split(",")} == allowed


def test_a_boolean_lookup_column_takes_y_and_n(
    client: TestClient, admin: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/processes/test-lookups",
        json={"AD_Table_ID": {"lookupColumn": "IsActive", "lookupValue": "Y"}},
        headers=admin,
    )

    # Every registered table is active: the comparison matched, so several records.
    assert_error(answer, 400, "Invalid parameter", "several records")


def test_table_uuids_are_the_same_on_every_installation(
    db: psycopg.Connection[Row],
) -> None:
    from processes.declarations import derived_uuid  # noqa: PLC0415

    row = db.execute(
        "SELECT ad_table_uu FROM ad_table WHERE ad_table_id = 284"
    ).fetchone()

    assert row is not None
    assert str(row["ad_table_uu"]) == derived_uuid("table", "AD_Process")
