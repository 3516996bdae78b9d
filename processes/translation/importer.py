"""Import translations from iDempiere's translation files, as iDempiere does.

The upload is one ``.xml`` file or a zip of them. Each file's own ``language``
and ``table`` say what it translates; the language must be the one the
AD_Language parameter names. The API's check reads every file to import through
before anything is stored, so a fault of the file is a 400; the run reads them
again (a second line, for what the check cannot see) and updates the existing
translation rows (the missing ones are made first, as the dictionary sync makes
them), all in one transaction: an error anywhere leaves every translation as it
was, and the counts are logged only once nothing can undo them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from app.db import Row
from app.errors import InvalidParameter, MissingParameters
from app.settings import get_settings
from processes.context import Context, ProcessError, Result, Upload
from processes.sync import sync_translations
from processes.translation.archive import Limits, translation_files
from processes.translation.plan import (
    BASE_LANGUAGE,
    TrlFile,
    named,
    plan_import,
    row_texts,
)
from processes.translation.tables import (
    MAX_OFFICIAL_ID,
    TRL_TABLES,
    TrlTable,
    chosen_tables,
    find_language,
    table_by_id,
)
from processes.translation.trlread import FileRow, TrlFileError, read_trl_file, shown

_BATCH = 500

_LOGIN_LOCALE = """
UPDATE ad_language SET isloginlocale = true, updated = now()
 WHERE ad_language = %(language)s AND NOT isloginlocale
"""


def limits() -> Limits:
    settings = get_settings()
    return Limits(settings.max_zip_entries, settings.max_unzipped_bytes)


# --- the API's check ----------------------------------------------------------


def check_import(values: Mapping[str, Any]) -> None:
    """Refuse, before anything is stored, an import whose file is missing, cannot
    be read safely, is for another language, holds nothing procserv has, or holds
    a row the run would refuse."""
    upload = values.get("FileName")
    if not isinstance(upload, Upload):
        raise MissingParameters(
            "Missing mandatory parameters: FileName (an import reads the file sent "
            'in it, as {"fileName": ..., "fileContent": <base64>})'
        )
    language = str(values.get("AD_Language"))
    if language == BASE_LANGUAGE:
        raise InvalidParameter(
            f"Invalid value for parameter AD_Language: {language} is the base "
            "language, whose texts come from the code; it is never imported"
        )
    only = _table_parameter(values.get("AD_Table_ID"))
    try:
        with translation_files(upload, language, limits()) as found:
            for file in plan_import(found, upload, language, only).files:
                _check_rows(file, upload)
    except TrlFileError as error:
        raise InvalidParameter(
            f"Invalid value for parameter FileName: {shown(upload.name)}: {error}"
        ) from None


def _table_parameter(table_id: Any) -> TrlTable | None:
    if not table_id:
        return None
    table = table_by_id(table_id) if isinstance(table_id, int) else None
    if table is None:
        names = ", ".join(known.name for known in TRL_TABLES)
        raise InvalidParameter(
            f"Invalid value for parameter AD_Table_ID: {shown(str(table_id))} is not "
            f"a translation table procserv imports ({names})"
        )
    return table


def _check_rows(file: TrlFile, upload: Upload) -> None:
    ignored: set[str] = set()
    with file.entry.open() as stream, named(file.entry, upload):
        _, rows = read_trl_file(stream)
        for row in rows:
            row_texts(file.table, row, ignored)


# --- the run ------------------------------------------------------------------


@dataclass
class Counts:
    """What became of one file's rows."""

    updated: int = 0
    not_found: int = 0
    # Rows with only an id above iDempiere's official range (part of not_found).
    unshared_ids: int = 0
    ignored_columns: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class LogLine:
    message: str
    number: int | None = None


def import_translations(ctx: Context) -> Result:
    upload = ctx.params.get("FileName")
    if not isinstance(upload, Upload):
        raise ProcessError("An import needs a file in FileName")
    language = find_language(ctx.db, ctx.params["AD_Language"])
    if language.is_base:
        raise ProcessError(
            f"{language.code} is the base language, whose texts come from the code"
        )
    only = _chosen_table(ctx)
    sync_translations(ctx.db)
    try:
        lines = _import_files(ctx, upload, language.code, only)
    except TrlFileError as error:
        raise ProcessError(
            f"{shown(upload.name)}: {error}; no translation was changed"
        ) from None
    ctx.db.execute(_LOGIN_LOCALE, {"language": language.code})
    # Only now: a failure before here rolls every update back, and a log that
    # counted them would say otherwise.
    for line in lines:
        ctx.log(line.message, number=line.number)
    return Result(summary="OK")


def _chosen_table(ctx: Context) -> TrlTable | None:
    table_id = ctx.params.get("AD_Table_ID")
    return chosen_tables(ctx.db, table_id)[0] if table_id else None


def _import_files(
    ctx: Context, upload: Upload, language: str, only: TrlTable | None
) -> list[LogLine]:
    """Import the files the plan picks; what to log once the run has succeeded."""
    with translation_files(upload, language, limits()) as found:
        plan = plan_import(found, upload, language, only)
        lines = [LogLine(message) for message in plan.ignored]
        for done, file in enumerate(plan.files, start=1):
            with file.entry.open() as stream, named(file.entry, upload):
                _, rows = read_trl_file(stream)
                counts = import_rows(ctx.db, file.table, language, rows)
            lines.extend(_count_lines(file.table, counts))
            ctx.progress(100 * done / len(plan.files), file.entry.name)
    return lines


def import_rows(
    conn: psycopg.Connection[Row],
    table: TrlTable,
    language: str,
    rows: Iterable[FileRow],
) -> Counts:
    """Write the rows into the table's existing translations, a batch at a time
    as they are read; count what matched."""
    counts = Counts()
    batch: list[dict[str, Any]] = []
    for row in rows:
        values = _update_values(table, language, row, counts)
        if values is not None:
            batch.append(values)
        if len(batch) == _BATCH:
            _update(conn, table, batch, counts)
            batch = []
    if batch:
        _update(conn, table, batch, counts)
    return counts


def _update(
    conn: psycopg.Connection[Row],
    table: TrlTable,
    batch: list[dict[str, Any]],
    counts: Counts,
) -> None:
    with conn.cursor() as cursor:
        cursor.executemany(table.update, batch)
        updated = cursor.rowcount  # the sum over the batch; each row updates 0 or 1
    counts.updated += updated
    counts.not_found += len(batch) - updated


def _update_values(
    table: TrlTable, language: str, row: FileRow, counts: Counts
) -> dict[str, Any] | None:
    """The UPDATE's values for one row; None (counted) when it names no record."""
    texts = row_texts(table, row, counts.ignored_columns)
    key_uuid, key_id = _key(row, counts)
    if key_uuid is None and key_id is None:
        counts.not_found += 1
        return None
    values: dict[str, Any] = {
        "language": language,
        "uuid": key_uuid,
        "id": key_id,
        "translated": row.trl != "N",  # Y, or anything but N, is translated
    }
    for column in table.columns:
        values["set_" + column.lower()] = column in texts
        values[column.lower()] = texts.get(column)
    return values


def _key(row: FileRow, counts: Counts) -> tuple[str | None, int | None]:
    """The row's record: by uuid, else by an id of iDempiere's official range."""
    if row.uuid is not None:
        try:
            return str(uuid.UUID(row.uuid)), None
        except ValueError:
            return None, None
    if row.id is None or not row.id.isascii() or not row.id.isdigit():
        return None, None
    # Compared as text first: int() refuses more than 4,300 digits.
    digits = row.id.lstrip("0") or "0"
    if len(digits) > len(str(MAX_OFFICIAL_ID)) or int(digits) > MAX_OFFICIAL_ID:
        counts.unshared_ids += 1
        return None, None
    return None, int(digits)


def _count_lines(table: TrlTable, counts: Counts) -> list[LogLine]:
    lines = [LogLine(f"{table.name} Updated={counts.updated}", counts.updated)]
    if counts.not_found:
        detail = ""
        if counts.unshared_ids:
            detail = (
                f" ({counts.unshared_ids} have only an id above {MAX_OFFICIAL_ID}, "
                "which only the system that wrote the file knows)"
            )
        lines.append(
            LogLine(
                f"{table.name} Not Found={counts.not_found}{detail}", counts.not_found
            )
        )
    if counts.ignored_columns:
        lines.append(
            LogLine(
                f"{table.name} Ignored columns: "
                + ", ".join(sorted(counts.ignored_columns))
            )
        )
    return lines
