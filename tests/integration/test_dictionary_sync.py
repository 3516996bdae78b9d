"""The sync step writes declarations into the dictionary, adds the missing
translation rows and leaves the existing ones as they are."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from app.db import Row
from processes.declarations import Process
from processes.registry import RegistryError, registry
from processes.sync import sync_dictionary

TRL_NAME = """
SELECT t.name, t.istranslated
  FROM ad_process_trl t JOIN ad_process p USING (ad_process_id)
 WHERE p.slug = %s AND t.ad_language = 'es_CO'
"""


@pytest.fixture
def tx(db: psycopg.Connection[Row]) -> Iterator[psycopg.Connection[Row]]:
    """A transaction rolled back after the test, so the shared dictionary stays."""
    with db.transaction(force_rollback=True):
        yield db


def _trl(conn: psycopg.Connection[Row], slug: str) -> Row | None:
    return conn.execute(TRL_NAME, (slug,)).fetchone()


def test_sync_never_overwrites_translated_text(tx: psycopg.Connection[Row]) -> None:
    tx.execute(
        "UPDATE ad_process_trl SET name = 'Traducción editada', istranslated = true"
        " WHERE ad_process_id = 200126 AND ad_language = 'es_CO'"
    )

    sync_dictionary(tx, registry())

    assert _trl(tx, "translationimpexp") == {
        "name": "Traducción editada",
        "istranslated": True,
    }


@pytest.mark.parametrize("translated", [True, False])
def test_sync_keeps_existing_translation_rows_translated_or_not(
    tx: psycopg.Connection[Row], translated: bool
) -> None:
    # An import writes untranslated rows too (trl="N"), an empty Description too.
    tx.execute(
        "UPDATE ad_process_trl SET name = 'Importar', description = NULL,"
        " istranslated = %s WHERE ad_process_id = 200126 AND ad_language = 'es_CO'",
        (translated,),
    )

    sync_dictionary(tx, registry())

    row = tx.execute(
        "SELECT name, description, istranslated FROM ad_process_trl"
        " WHERE ad_process_id = 200126 AND ad_language = 'es_CO'"
    ).fetchone()
    assert row == {"name": "Importar", "description": None, "istranslated": translated}


def test_sync_creates_missing_translation_rows(tx: psycopg.Connection[Row]) -> None:
    tx.execute(
        "DELETE FROM ad_process_para_trl t USING ad_process_para p"
        " WHERE p.ad_process_para_id = t.ad_process_para_id"
        " AND p.ad_process_id = 200126"
    )

    sync_dictionary(tx, registry())

    count = tx.execute(
        "SELECT count(*) AS n FROM ad_process_para_trl t JOIN ad_process_para p"
        " USING (ad_process_para_id) WHERE p.ad_process_id = 200126 AND p.isactive"
    ).fetchone()
    active = tx.execute(
        "SELECT count(*) AS n FROM ad_process_para WHERE ad_process_id = 200126"
        " AND isactive"
    ).fetchone()
    assert count is not None
    assert active is not None
    assert count["n"] == active["n"] > 0


def test_sync_fails_when_a_new_process_takes_a_slug_already_in_use(
    tx: psycopg.Connection[Row],
) -> None:
    impostor = Process(value="Test-Echo", name="Impostor", run=lambda ctx: None)
    declared = {**registry()}
    declared["impostor"] = impostor

    with pytest.raises(RegistryError, match="test-echo"):
        sync_dictionary(tx, declared)


def test_sync_deactivates_processes_that_are_no_longer_declared(
    tx: psycopg.Connection[Row],
) -> None:
    declared = {slug: p for slug, p in registry().items() if slug != "test-raise"}

    sync_dictionary(tx, declared)

    row = tx.execute(
        "SELECT isactive FROM ad_process WHERE slug = 'test-raise'"
    ).fetchone()
    assert row == {"isactive": False}
