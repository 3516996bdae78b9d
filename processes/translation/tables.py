"""The translation tables of procserv's dictionary, how the export reads them and
how the import writes them, and the language both work on.

A row of a translation file finds its record by the ``uuid`` of the base record,
or, without one, by an ``id`` of iDempiere's official range (up to 999999): procserv
gives such ids only to the records it mirrors from iDempiere, with iDempiere's
own ids, so they name the same record in both systems. Larger ids belong to the
system that wrote the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from app.db import Row
from app.tables import TABLES
from processes.context import ProcessError

# iDempiere's MTable.MAX_OFFICIAL_ID.
MAX_OFFICIAL_ID = 999_999

_TABLE_NAME = "SELECT tablename FROM ad_table WHERE ad_table_id = %(table_id)s"

_LANGUAGE = """
SELECT ad_language, isbaselanguage, issystemlanguage, isactive
  FROM ad_language
 WHERE ad_language = %(language)s
"""

# Each query gives the row's uuid and istranslated, then per translated column
# its text (the column's name in lower case) and the base text ("original_...").
# With only_centralized, rows of other packages' entity types and inactive
# records are left out.
_PROCESS_TRL = """
SELECT o.ad_process_uu::text AS uuid, t.istranslated,
       t.name, o.name AS original_name,
       t.description, o.description AS original_description,
       t.help, o.help AS original_help
  FROM ad_process_trl t
  JOIN ad_process o ON o.ad_process_id = t.ad_process_id
 WHERE t.ad_language = %(language)s
   AND (NOT %(only_centralized)s OR (o.entitytype = 'D' AND o.isactive))
 ORDER BY o.ad_process_id
"""

_PROCESS_BASE = """
SELECT o.ad_process_uu::text AS uuid, true AS istranslated,
       o.name, o.name AS original_name,
       o.description, o.description AS original_description,
       o.help, o.help AS original_help
  FROM ad_process o
 WHERE NOT %(only_centralized)s OR (o.entitytype = 'D' AND o.isactive)
 ORDER BY o.ad_process_id
"""

_PROCESS_PARA_TRL = """
SELECT o.ad_process_para_uu::text AS uuid, t.istranslated,
       t.name, o.name AS original_name,
       t.description, o.description AS original_description,
       t.help, o.help AS original_help,
       t.placeholder, o.placeholder AS original_placeholder,
       t.placeholder2, o.placeholder2 AS original_placeholder2
  FROM ad_process_para_trl t
  JOIN ad_process_para o ON o.ad_process_para_id = t.ad_process_para_id
 WHERE t.ad_language = %(language)s
   AND (NOT %(only_centralized)s OR (o.entitytype = 'D' AND o.isactive))
 ORDER BY o.ad_process_para_id
"""

_PROCESS_PARA_BASE = """
SELECT o.ad_process_para_uu::text AS uuid, true AS istranslated,
       o.name, o.name AS original_name,
       o.description, o.description AS original_description,
       o.help, o.help AS original_help,
       o.placeholder, o.placeholder AS original_placeholder,
       o.placeholder2, o.placeholder2 AS original_placeholder2
  FROM ad_process_para o
 WHERE NOT %(only_centralized)s OR (o.entitytype = 'D' AND o.isactive)
 ORDER BY o.ad_process_para_id
"""

_REF_LIST_TRL = """
SELECT o.ad_ref_list_uu::text AS uuid, t.istranslated,
       t.name, o.name AS original_name,
       t.description, o.description AS original_description
  FROM ad_ref_list_trl t
  JOIN ad_ref_list o ON o.ad_ref_list_id = t.ad_ref_list_id
 WHERE t.ad_language = %(language)s
   AND (NOT %(only_centralized)s OR (o.entitytype = 'D' AND o.isactive))
 ORDER BY o.ad_ref_list_id
"""

_REF_LIST_BASE = """
SELECT o.ad_ref_list_uu::text AS uuid, true AS istranslated,
       o.name, o.name AS original_name,
       o.description, o.description AS original_description
  FROM ad_ref_list o
 WHERE NOT %(only_centralized)s OR (o.entitytype = 'D' AND o.isactive)
 ORDER BY o.ad_ref_list_id
"""

# Each UPDATE writes one file row into the existing translation row: a column
# the row gives ("set_<column>") takes its text, NULL for ""; the others keep
# theirs. The record is the one with the row's uuid, or its official id.
_UPDATE_PROCESS = """
UPDATE ad_process_trl t
   SET name = CASE WHEN %(set_name)s THEN %(name)s ELSE t.name END,
       description = CASE WHEN %(set_description)s THEN %(description)s
                          ELSE t.description END,
       help = CASE WHEN %(set_help)s THEN %(help)s ELSE t.help END,
       istranslated = %(translated)s, updated = now()
  FROM ad_process o
 WHERE o.ad_process_id = t.ad_process_id AND t.ad_language = %(language)s
   AND (o.ad_process_uu = %(uuid)s::uuid OR o.ad_process_id = %(id)s::integer)
"""

_UPDATE_PROCESS_PARA = """
UPDATE ad_process_para_trl t
   SET name = CASE WHEN %(set_name)s THEN %(name)s ELSE t.name END,
       description = CASE WHEN %(set_description)s THEN %(description)s
                          ELSE t.description END,
       help = CASE WHEN %(set_help)s THEN %(help)s ELSE t.help END,
       placeholder = CASE WHEN %(set_placeholder)s THEN %(placeholder)s
                          ELSE t.placeholder END,
       placeholder2 = CASE WHEN %(set_placeholder2)s THEN %(placeholder2)s
                           ELSE t.placeholder2 END,
       istranslated = %(translated)s, updated = now()
  FROM ad_process_para o
 WHERE o.ad_process_para_id = t.ad_process_para_id
   AND t.ad_language = %(language)s
   AND (o.ad_process_para_uu = %(uuid)s::uuid
        OR o.ad_process_para_id = %(id)s::integer)
"""

_UPDATE_REF_LIST = """
UPDATE ad_ref_list_trl t
   SET name = CASE WHEN %(set_name)s THEN %(name)s ELSE t.name END,
       description = CASE WHEN %(set_description)s THEN %(description)s
                          ELSE t.description END,
       istranslated = %(translated)s, updated = now()
  FROM ad_ref_list o
 WHERE o.ad_ref_list_id = t.ad_ref_list_id AND t.ad_language = %(language)s
   AND (o.ad_ref_list_uu = %(uuid)s::uuid OR o.ad_ref_list_id = %(id)s::integer)
"""


@dataclass(frozen=True)
class TrlTable:
    """A translation table of procserv's dictionary and how to read and write it."""

    name: str
    columns: tuple[str, ...]
    select_translated: str
    select_base: str
    update: str
    # Columns a translation must have (NOT NULL in the table).
    required: tuple[str, ...] = ("Name",)

    @property
    def base(self) -> str:
        return self.name.removesuffix("_Trl")


TRL_TABLES: tuple[TrlTable, ...] = tuple(
    sorted(
        (
            TrlTable(
                "AD_Process_Trl",
                ("Name", "Description", "Help"),
                _PROCESS_TRL,
                _PROCESS_BASE,
                _UPDATE_PROCESS,
            ),
            TrlTable(
                "AD_Process_Para_Trl",
                ("Name", "Description", "Help", "Placeholder", "Placeholder2"),
                _PROCESS_PARA_TRL,
                _PROCESS_PARA_BASE,
                _UPDATE_PROCESS_PARA,
            ),
            TrlTable(
                "AD_Ref_List_Trl",
                ("Name", "Description"),
                _REF_LIST_TRL,
                _REF_LIST_BASE,
                _UPDATE_REF_LIST,
            ),
        ),
        key=lambda table: table.name,
    )
)


def table_of(base: str) -> TrlTable | None:
    """The translation table of a base table's name (``AD_Process``), in any case."""
    for table in TRL_TABLES:
        if table.base.lower() == base.lower():
            return table
    return None


def table_by_id(table_id: int) -> TrlTable | None:
    """The translation table with this AD_Table_ID in procserv's table registry
    (which the database's ad_table is seeded from)."""
    names = [table.table_name.lower() for table in TABLES if table.id == table_id]
    for table in TRL_TABLES:
        if table.name.lower() in names:
            return table
    return None


def chosen_tables(
    conn: psycopg.Connection[Row], table_id: int | None
) -> tuple[TrlTable, ...]:
    """All translation tables, or only the one the AD_Table_ID parameter names."""
    if not table_id:
        return TRL_TABLES
    row = conn.execute(_TABLE_NAME, {"table_id": table_id}).fetchone()
    if row is None:
        raise ProcessError(f"No table has AD_Table_ID={table_id}")
    for table in TRL_TABLES:
        if table.name.lower() == row["tablename"].lower():
            return (table,)
    raise ProcessError(f"{row['tablename']} is not a translation table of procserv")


@dataclass(frozen=True)
class Language:
    code: str
    is_base: bool


def find_language(conn: psycopg.Connection[Row], code: str) -> Language:
    row = conn.execute(_LANGUAGE, {"language": code}).fetchone()
    if row is None:
        raise ProcessError(f"Language does not exist: {code}")
    if not row["isactive"] or not (row["issystemlanguage"] or row["isbaselanguage"]):
        raise ProcessError(f"Language not active or not system language: {code}")
    return Language(row["ad_language"], row["isbaselanguage"])
