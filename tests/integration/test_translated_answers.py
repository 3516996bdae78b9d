"""Names, descriptions and help come back in the caller's language (the token's,
or the ``locale`` query parameter's) where a translation exists."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row

TRL = """
SELECT t.name, t.description, t.help
  FROM ad_process_trl t JOIN ad_process p USING (ad_process_id)
 WHERE p.slug = 'translationimpexp' AND t.ad_language = 'es_CO'
"""
PARA_TRL = """
SELECT p.columnname, t.name FROM ad_process_para_trl t
  JOIN ad_process_para p USING (ad_process_para_id)
 WHERE p.ad_process_id = 200126 AND t.ad_language = 'es_CO' AND p.isactive
"""
LIST_TRL = """
SELECT l.value, t.name FROM ad_ref_list_trl t JOIN ad_ref_list l USING (ad_ref_list_id)
 WHERE l.ad_reference_id = 200178 AND t.ad_language = 'es_CO'
"""


def _spanish(db: psycopg.Connection[Row]) -> Row:
    row = db.execute(TRL).fetchone()
    assert row is not None
    return row


def _process(client: TestClient, headers: dict[str, str], query: str = "") -> Any:
    answer = client.get("/api/v1/processes/translationimpexp" + query, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def spanish_token(client: TestClient) -> dict[str, str]:
    answer = client.post(
        "/api/v1/auth/tokens",
        json={
            "userName": "GardenAdmin",
            "password": "GardenAdmin",
            "parameters": {"clientId": 11, "roleId": 102, "language": "es_CO"},
        },
    )
    assert answer.json()["language"] == "es_CO"
    return {"Authorization": "Bearer " + answer.json()["token"]}


def test_a_spanish_token_gets_the_spanish_texts(
    client: TestClient, spanish_token: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    expected = _spanish(db)

    body = _process(client, spanish_token)

    assert (body["Name"], body["Description"], body["Help"]) == (
        expected["name"],
        expected["description"],
        expected["help"],
    )
    assert expected["name"] != "Translation Import/Export"


def test_the_locale_parameter_overrides_the_token_language(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    body = _process(client, admin, "?locale=es_CO")

    assert body["Name"] == _spanish(db)["name"]


def test_an_unknown_locale_is_ignored(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert (
        _process(client, admin, "?locale=xx_XX")["Name"] == "Translation Import/Export"
    )
    assert _process(client, admin)["Name"] == "Translation Import/Export"


def test_parameters_and_list_values_are_translated(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    names = {r["columnname"]: r["name"] for r in db.execute(PARA_TRL).fetchall()}
    values = {r["value"]: r["name"] for r in db.execute(LIST_TRL).fetchall()}

    body = _process(client, admin, "?locale=es_CO")

    assert {p["parameterName"]: p["Name"] for p in body["parameters"]} == names
    (action,) = [
        p for p in body["parameters"] if p["parameterName"] == "ImportOrExport"
    ]
    assert {v["value"]: v["name"] for v in action["listValues"]} == values
    assert values["export"] != "Export"


def test_the_list_shows_translated_names_and_filters_on_the_base_text(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    answer = client.get(
        "/api/v1/processes?locale=es_CO&$filter=Name eq 'Translation Import/Export'",
        headers=admin,
    )

    (found,) = answer.json()["processes"]
    assert found["Name"] == _spanish(db)["name"]


def test_an_edited_translation_shows_at_once(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    before = _spanish(db)
    try:
        db.execute(
            "UPDATE ad_process_trl SET name = 'Traducción (editada)'"
            " WHERE ad_process_id = 200126 AND ad_language = 'es_CO'"
        )
        assert (
            _process(client, admin, "?locale=es_CO")["Name"] == "Traducción (editada)"
        )
    finally:
        db.execute(
            "UPDATE ad_process_trl SET name = %s"
            " WHERE ad_process_id = 200126 AND ad_language = 'es_CO'",
            (before["name"],),
        )
