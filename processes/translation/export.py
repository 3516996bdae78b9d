"""Export the dictionary's translations for one language, as iDempiere does.

Every translation table becomes one ``<Table>_Trl_<lang>.xml`` file, and all of
them go flat into one zip, the instance's output.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import psycopg

from app.db import Row
from processes.context import Context, ProcessError, Result
from processes.translation.trlfile import TrlRow, TrlValue, write_trl_file

# Past this size the zip being written moves from memory to a temporary file.
_SPOOL_MAX_BYTES = 8 * 1024 * 1024

_LANGUAGE = """
SELECT ad_language, isbaselanguage, issystemlanguage, isactive
  FROM ad_language
 WHERE ad_language = %(language)s
"""

_TABLE_NAME = "SELECT tablename FROM ad_table WHERE ad_table_id = %(table_id)s"

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


@dataclass(frozen=True)
class TrlTable:
    """A translation table of procserv's dictionary and how to read it."""

    name: str
    columns: tuple[str, ...]
    select_translated: str
    select_base: str

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
            ),
            TrlTable(
                "AD_Process_Para_Trl",
                ("Name", "Description", "Help", "Placeholder", "Placeholder2"),
                _PROCESS_PARA_TRL,
                _PROCESS_PARA_BASE,
            ),
            TrlTable(
                "AD_Ref_List_Trl",
                ("Name", "Description"),
                _REF_LIST_TRL,
                _REF_LIST_BASE,
            ),
        ),
        key=lambda table: table.name,
    )
)


@dataclass(frozen=True)
class Language:
    code: str
    is_base: bool


def export_translations(ctx: Context) -> Result:
    """Write every translation table for the language into one zip output."""
    if ctx.params.get("ImportOrExport") == "import":
        raise ProcessError("Translation import is not available yet")
    language = find_language(ctx.db, ctx.params["AD_Language"])
    tables = tables_to_export(ctx.db, ctx.params.get("AD_Table_ID"))
    only_centralized = _is_yes(ctx.params.get("IsOnlyCentralizedData", True))

    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_MAX_BYTES) as spool:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _export_tables(ctx, archive, tables, language, only_centralized)
        spool.seek(0)
        ctx.attach(
            f"{language.code}_trlExport_{ctx.instance_id}.zip",
            spool,
            "application/zip",
            kind="export",
        )
    return Result(summary="OK")


def _export_tables(
    ctx: Context,
    archive: zipfile.ZipFile,
    tables: tuple[TrlTable, ...],
    language: Language,
    only_centralized: bool,
) -> None:
    for done, table in enumerate(tables, start=1):
        count = export_table(ctx.db, archive, table, language, only_centralized)
        ctx.log(f"{table.name} Records={count}", number=count)
        ctx.progress(100 * done / len(tables), table.name)


def find_language(conn: psycopg.Connection[Row], code: str) -> Language:
    row = conn.execute(_LANGUAGE, {"language": code}).fetchone()
    if row is None:
        raise ProcessError(f"Language does not exist: {code}")
    if not row["isactive"] or not (row["issystemlanguage"] or row["isbaselanguage"]):
        raise ProcessError(f"Language not active or not system language: {code}")
    return Language(row["ad_language"], row["isbaselanguage"])


def tables_to_export(
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


def export_table(
    conn: psycopg.Connection[Row],
    archive: zipfile.ZipFile,
    table: TrlTable,
    language: Language,
    only_centralized: bool,
) -> int:
    """Write the table's file for the language into the zip; return its row count."""
    query = table.select_base if language.is_base else table.select_translated
    params = {"language": language.code, "only_centralized": only_centralized}
    with (
        conn.cursor(name="trl_export") as cursor,
        archive.open(f"{table.name}_{language.code}.xml", "w") as entry,
    ):
        cursor.execute(query, params)
        return write_trl_file(
            entry,
            language=language.code,
            table=table.base,
            product=_product(),
            rows=_trl_rows(cursor, table.columns),
        )


def _trl_rows(
    records: Iterable[Mapping[str, Any]], columns: tuple[str, ...]
) -> Iterator[TrlRow]:
    for record in records:
        values = [
            TrlValue(
                column,
                record[column.lower()],
                record[f"original_{column.lower()}"],
            )
            for column in columns
        ]
        yield TrlRow(record["uuid"], record["istranslated"], values)


def _product() -> str:
    try:
        return f"procserv {version('procserv')} translation export"
    except PackageNotFoundError:
        return "procserv translation export"


def _is_yes(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().upper() in ("Y", "TRUE")
    return value is None or bool(value)
