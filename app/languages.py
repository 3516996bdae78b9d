"""Adding a language that translations can be imported into and answers given in."""

from __future__ import annotations

import re

import psycopg

from app.db import Row
from processes.sync import sync_translations

_CODE = re.compile(r"[a-z]{2,3}_[A-Z0-9]{2,3}")

_ADD = """
INSERT INTO ad_language (ad_language, ad_language_id, name, languageiso, countrycode,
                         issystemlanguage, isactive)
VALUES (%(code)s,
        (SELECT COALESCE(max(ad_language_id), 1000000) + 1 FROM ad_language),
        %(name)s, %(iso)s, %(country)s, true, true)
ON CONFLICT (ad_language) DO UPDATE
   SET name = EXCLUDED.name, issystemlanguage = true, isactive = true, updated = now()
 WHERE NOT ad_language.isbaselanguage
RETURNING ad_language
"""


class LanguageError(ValueError):
    pass


def add_language(conn: psycopg.Connection[Row], code: str, name: str) -> None:
    """Create (or reactivate) a system language such as ``pt_BR`` and make its
    empty translation rows, ready for an import."""
    if not _CODE.fullmatch(code):
        raise LanguageError(f"{code!r} is not a language code like pt_BR or es_CO")
    iso, _, country = code.partition("_")
    row = conn.execute(
        _ADD, {"code": code, "name": name or code, "iso": iso, "country": country}
    ).fetchone()
    if row is None:
        raise LanguageError(
            f"{code} is the base language; its texts come from the code"
        )
    sync_translations(conn)
