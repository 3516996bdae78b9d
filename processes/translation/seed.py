"""Demo translations of the shipped processes, applied to the dictionary.

A language's texts live in ``<language>.json`` beside this module, shaped
``{base table: {base record's uuid: {column: text}}}``, e.g.
``{"AD_Process": {"9b654152-...": {"Name": "Importar/Exportar Traducción"}}}``.
Later processes add their entries to the same files.

Demo texts go only into rows nobody has touched: rows not marked translated whose
texts are still the base texts, as the dictionary sync made them. Anything an
import or a person wrote stays, however often the demo is seeded again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import psycopg

from app.db import Row

# A column missing from an entry keeps the text the row has; a row that is
# translated, or holds other texts than the base record, is not touched.
_UPDATE_PROCESS = """
UPDATE ad_process_trl t
   SET name = COALESCE(%(Name)s, t.name),
       description = COALESCE(%(Description)s, t.description),
       help = COALESCE(%(Help)s, t.help),
       istranslated = true, updated = now()
  FROM ad_process o
 WHERE o.ad_process_id = t.ad_process_id
   AND o.ad_process_uu = %(uuid)s AND t.ad_language = %(language)s
   AND NOT t.istranslated
   AND (t.name, t.description, t.help)
       IS NOT DISTINCT FROM (o.name, o.description, o.help)
"""

_UPDATE_PROCESS_PARA = """
UPDATE ad_process_para_trl t
   SET name = COALESCE(%(Name)s, t.name),
       description = COALESCE(%(Description)s, t.description),
       help = COALESCE(%(Help)s, t.help),
       placeholder = COALESCE(%(Placeholder)s, t.placeholder),
       placeholder2 = COALESCE(%(Placeholder2)s, t.placeholder2),
       istranslated = true, updated = now()
  FROM ad_process_para o
 WHERE o.ad_process_para_id = t.ad_process_para_id
   AND o.ad_process_para_uu = %(uuid)s AND t.ad_language = %(language)s
   AND NOT t.istranslated
   AND (t.name, t.description, t.help, t.placeholder, t.placeholder2)
       IS NOT DISTINCT FROM (o.name, o.description, o.help, o.placeholder,
                             o.placeholder2)
"""

_UPDATE_REF_LIST = """
UPDATE ad_ref_list_trl t
   SET name = COALESCE(%(Name)s, t.name),
       description = COALESCE(%(Description)s, t.description),
       istranslated = true, updated = now()
  FROM ad_ref_list o
 WHERE o.ad_ref_list_id = t.ad_ref_list_id
   AND o.ad_ref_list_uu = %(uuid)s AND t.ad_language = %(language)s
   AND NOT t.istranslated
   AND (t.name, t.description) IS NOT DISTINCT FROM (o.name, o.description)
"""

# base table: (its UPDATE, the columns an entry may give)
_UPDATES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "AD_Process": (_UPDATE_PROCESS, ("Name", "Description", "Help")),
    "AD_Process_Para": (
        _UPDATE_PROCESS_PARA,
        ("Name", "Description", "Help", "Placeholder", "Placeholder2"),
    ),
    "AD_Ref_List": (_UPDATE_REF_LIST, ("Name", "Description")),
}

Texts = Mapping[str, Mapping[str, Mapping[str, str]]]


def apply_translations(
    conn: psycopg.Connection[Row], language: str, path: Path | None = None
) -> int:
    """Write the language's demo texts into the existing ``*_trl`` rows nobody has
    touched, marked translated; return how many rows changed.

    Without ``path`` the language's file beside this module is read; a language
    with no file has nothing to apply. Rows the dictionary sync has not created
    are not made here.
    """
    if path is None:
        path = Path(__file__).with_name(f"{language}.json")
        if not path.is_file():
            return 0
    texts: Texts = json.loads(path.read_text(encoding="utf-8"))
    return sum(
        _apply_table(conn, language, table, entries) for table, entries in texts.items()
    )


def _apply_table(
    conn: psycopg.Connection[Row],
    language: str,
    table: str,
    entries: Mapping[str, Mapping[str, str]],
) -> int:
    if table not in _UPDATES:
        raise ValueError(f"no translations can be applied to table {table!r}")
    statement, columns = _UPDATES[table]
    updated = 0
    for uuid, entry in entries.items():
        unknown = set(entry) - set(columns)
        if unknown:
            raise ValueError(f"{table} {uuid}: unknown columns {sorted(unknown)}")
        params = {column: entry.get(column) for column in columns}
        cursor = conn.execute(statement, {**params, "uuid": uuid, "language": language})
        updated += cursor.rowcount
    return updated
