"""Export the dictionary's translations for one language, as iDempiere does.

Every translation table becomes one ``<Table>_Trl_<lang>.xml`` file, and all of
them go flat into one zip, the instance's output.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import psycopg

from app.db import Row
from processes.context import Context, Result
from processes.translation.tables import (
    Language,
    TrlTable,
    chosen_tables,
    find_language,
)
from processes.translation.trlfile import TrlRow, TrlValue, write_trl_file

# Past this size the zip being written moves from memory to a temporary file.
_SPOOL_MAX_BYTES = 8 * 1024 * 1024


def export_translations(ctx: Context) -> Result:
    """Write every translation table for the language into one zip output."""
    language = find_language(ctx.db, ctx.params["AD_Language"])
    tables = chosen_tables(ctx.db, ctx.params.get("AD_Table_ID"))
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
