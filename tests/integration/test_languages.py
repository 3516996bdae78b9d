"""``procserv add-language``: a language to import translations into."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from app.db import Row
from app.languages import LanguageError, add_language
from app.settings import Settings
from tests.conftest import ROOT, service_env


def test_add_language_makes_an_active_language_with_translation_rows(
    db: psycopg.Connection[Row],
) -> None:
    with db.transaction(force_rollback=True):
        add_language(db, "pt_BR", "Português (Brasil)")

        language = db.execute(
            "SELECT name, isactive, issystemlanguage FROM ad_language"
            " WHERE ad_language = 'pt_BR'"
        ).fetchone()
        rows = db.execute(
            "SELECT count(*) AS n FROM ad_process_trl WHERE ad_language = 'pt_BR'"
        ).fetchone()

    assert language == {
        "name": "Português (Brasil)",
        "isactive": True,
        "issystemlanguage": True,
    }
    assert rows is not None
    assert rows["n"] > 0


@pytest.mark.parametrize("code", ["en_US", "pt-BR", "portuguese", "'; drop"])
def test_add_language_refuses_the_base_language_and_what_is_no_code(
    db: psycopg.Connection[Row], code: str
) -> None:
    with db.transaction(force_rollback=True), pytest.raises(LanguageError):
        add_language(db, code, "x")


def test_the_command_adds_a_language(
    settings: Settings, db: psycopg.Connection[Row]
) -> None:
    procserv = str(Path(sys.executable).parent / "procserv")
    try:
        done = subprocess.run(
            [procserv, "add-language", "es_PY", "--name", "Español (Paraguay)"],
            env=service_env(settings),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        found = db.execute(
            "SELECT isactive FROM ad_language WHERE ad_language = 'es_PY'"
        ).fetchone()
        assert found == {"isactive": True}
    finally:
        db.execute("DELETE FROM ad_language WHERE ad_language = 'es_PY'")
