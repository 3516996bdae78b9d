"""The demo's translations, seeded again at every ``procserv migrate`` (and so at
every ``make run``), go only into translation rows nobody has touched: anything
an import or a person wrote stays."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from app.db import Row
from app.seed import seed_demo

DEMO_TEXTS = Path(__file__).parents[2] / "processes" / "translation" / "es_CO.json"
PROCESS_UU = "9b654152-331f-4ac7-9c61-06b1d1bc3edf"  # TranslationImpExp, 200126
IMPORT_UU = "b4359db4-9448-4a1f-b38a-38dc35335b02"  # its list value "import"

PROCESS_TRL = """
SELECT t.name, t.description, t.help, t.istranslated
  FROM ad_process_trl t
 WHERE t.ad_process_id = 200126 AND t.ad_language = 'es_CO'
"""


@pytest.fixture
def tx(db: psycopg.Connection[Row]) -> Iterator[psycopg.Connection[Row]]:
    """A transaction rolled back after the test, so the shared dictionary stays."""
    with db.transaction(force_rollback=True):
        yield db


def _process_trl(conn: psycopg.Connection[Row]) -> Row:
    row = conn.execute(PROCESS_TRL).fetchone()
    assert row is not None
    return row


def _demo(table: str, uuid: str) -> dict[str, str]:
    texts: dict[str, str] = json.loads(DEMO_TEXTS.read_text(encoding="utf-8"))[table][
        uuid
    ]
    return texts


@pytest.mark.parametrize("translated", [True, False])
def test_seeding_again_keeps_what_an_import_wrote(
    tx: psycopg.Connection[Row], translated: bool
) -> None:
    # trl="Y" and trl="N" alike: both are texts someone chose.
    tx.execute(
        "UPDATE ad_process_trl SET name = 'Importado', description = NULL,"
        " istranslated = %s WHERE ad_process_id = 200126 AND ad_language = 'es_CO'",
        (translated,),
    )
    before = _process_trl(tx)

    seed_demo(tx, {})

    assert _process_trl(tx) == before


def test_seeding_again_keeps_a_row_whose_one_text_was_changed(
    tx: psycopg.Connection[Row],
) -> None:
    # Untranslated, every text the base text but one: still someone's row.
    tx.execute(
        "UPDATE ad_process_trl t SET name = o.name, description = o.description,"
        " help = 'Ayuda a medias', istranslated = false FROM ad_process o"
        " WHERE o.ad_process_id = t.ad_process_id AND t.ad_process_id = 200126"
        " AND t.ad_language = 'es_CO'"
    )
    before = _process_trl(tx)

    seed_demo(tx, {})

    assert _process_trl(tx) == before


def test_seeding_fills_the_rows_nobody_has_touched(tx: psycopg.Connection[Row]) -> None:
    # As the dictionary sync makes them: the base texts, not translated.
    tx.execute(
        "UPDATE ad_process_trl t SET name = o.name, description = o.description,"
        " help = o.help, istranslated = false FROM ad_process o"
        " WHERE o.ad_process_id = t.ad_process_id AND t.ad_process_id = 200126"
        " AND t.ad_language = 'es_CO'"
    )
    tx.execute(
        "UPDATE ad_ref_list_trl t SET name = o.name, description = o.description,"
        " istranslated = false FROM ad_ref_list o"
        " WHERE o.ad_ref_list_id = t.ad_ref_list_id AND o.ad_ref_list_uu = %s"
        " AND t.ad_language = 'es_CO'",
        (IMPORT_UU,),
    )

    seed_demo(tx, {})

    demo = _demo("AD_Process", PROCESS_UU)
    assert _process_trl(tx) == {
        "name": demo["Name"],
        "description": demo["Description"],
        "help": demo["Help"],
        "istranslated": True,
    }
    listed = tx.execute(
        "SELECT t.name, t.istranslated FROM ad_ref_list_trl t JOIN ad_ref_list o"
        " USING (ad_ref_list_id) WHERE o.ad_ref_list_uu = %s"
        " AND t.ad_language = 'es_CO'",
        (IMPORT_UU,),
    ).fetchone()
    assert listed == {
        "name": _demo("AD_Ref_List", IMPORT_UU)["Name"],
        "istranslated": True,
    }
