"""Import translations from iDempiere's translation files, as iDempiere does.

The upload is one ``.xml`` file or a zip of them. Each file's own ``language``
and ``table`` say what it translates; the language must be the one the
AD_Language parameter names. Existing translation rows are updated (the missing
ones are made first, as the dictionary sync makes them), all in one transaction:
an error anywhere leaves every translation as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg

from app.db import Row
from app.errors import InvalidParameter, MissingParameters
from app.settings import get_settings
from processes.context import Context, ProcessError, Result, Upload
from processes.sync import sync_translations
from processes.translation.archive import Limits, TrlEntry, shown, translation_files
from processes.translation.tables import (
    MAX_OFFICIAL_ID,
    TRL_TABLES,
    TrlTable,
    find_language,
    table_of,
)
from processes.translation.trlread import (
    FileRow,
    TrlFileError,
    TrlHeader,
    read_trl_file,
    read_trl_header,
)

# The language of the texts declared in code (app.seed makes it the base language);
# the import never writes them.
BASE_LANGUAGE = "en_US"

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
    be read safely, is for another language, or holds nothing procserv has.

    Reads only the root element of each file; the rows are read by the run.
    """
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
    try:
        with translation_files(upload, language, limits()) as files:
            tables = [_header(entry, upload, language).table for entry in files.entries]
    except TrlFileError as error:
        raise InvalidParameter(
            f"Invalid value for parameter FileName: {shown(upload.name)}: {error}"
        ) from None
    if not any(table_of(table) for table in tables):
        raise InvalidParameter(
            f"Invalid value for parameter FileName: {shown(upload.name)}: "
            + _nothing_known(tables)
        )


def _header(entry: TrlEntry, upload: Upload, language: str) -> TrlHeader:
    with entry.open() as stream, _named(entry, upload):
        header = read_trl_header(stream)
        _check_language(header, language)
        return header


# --- the run ------------------------------------------------------------------


@dataclass
class Counts:
    """What became of one file's rows."""

    updated: int = 0
    not_found: int = 0
    # Rows with only an id above iDempiere's official range (part of not_found).
    unshared_ids: int = 0
    ignored_columns: set[str] = field(default_factory=set)


def import_translations(ctx: Context) -> Result:
    upload = ctx.params.get("FileName")
    if not isinstance(upload, Upload):
        raise ProcessError("An import needs a file in FileName")
    language = find_language(ctx.db, ctx.params["AD_Language"])
    if language.is_base:
        raise ProcessError(
            f"{language.code} is the base language, whose texts come from the code"
        )
    sync_translations(ctx.db)
    try:
        imported = _import_files(ctx, upload, language.code)
    except TrlFileError as error:
        raise ProcessError(
            f"{shown(upload.name)}: {error}; no translation was changed"
        ) from None
    if not imported:
        raise ProcessError(
            f"{shown(upload.name)}: nothing in it is for a table procserv has; "
            "no translation was changed"
        )
    ctx.db.execute(_LOGIN_LOCALE, {"language": language.code})
    return Result(summary="OK")


def _import_files(ctx: Context, upload: Upload, language: str) -> set[str]:
    """Import every file of the upload; return the tables imported."""
    imported: set[str] = set()
    with translation_files(upload, language, limits()) as files:
        for message in files.ignored:
            ctx.log(message)
        for done, entry in enumerate(files.entries, start=1):
            with entry.open() as stream, _named(entry, upload):
                header, rows = read_trl_file(stream)
                _check_language(header, language)
                table = table_of(header.table)
                if table is None or table.name in imported:
                    _skip(ctx, header, table, rows)
                else:
                    counts = import_rows(ctx.db, table, language, rows)
                    imported.add(table.name)
                    _log_counts(ctx, table, counts)
            ctx.progress(100 * done / len(files.entries), entry.name)
    return imported


def import_rows(
    conn: psycopg.Connection[Row],
    table: TrlTable,
    language: str,
    rows: Iterable[FileRow],
) -> Counts:
    """Write the rows into the table's existing translations; count what matched."""
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
    key_uuid, key_id = _key(row, counts)
    if key_uuid is None and key_id is None:
        counts.not_found += 1
        return None
    columns = {column.lower(): column for column in table.columns}
    texts: dict[str, str | None] = {}
    for name, text in row.values:
        column = columns.get(name.lower())
        if column is None:
            if len(counts.ignored_columns) < 20:
                counts.ignored_columns.add(shown(name))
            continue
        texts[column] = text or None  # "" is NULL, as iDempiere's DB.TO_STRING
    for column in table.required:
        if column in texts and texts[column] is None:
            raise TrlFileError(
                f"line {row.line}: the row gives an empty {column}, which a "
                f"{table.name} row must have"
            )
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
    if row.uuid is None and row.id is None:
        raise TrlFileError(f"line {row.line}: a <row> has neither a uuid nor an id")
    if row.uuid is not None:
        try:
            return str(uuid.UUID(row.uuid)), None
        except ValueError:
            return None, None
    assert row.id is not None
    if not row.id.isascii() or not row.id.isdigit():
        return None, None
    if int(row.id) > MAX_OFFICIAL_ID:
        counts.unshared_ids += 1
        return None, None
    return None, int(row.id)


def _skip(
    ctx: Context,
    header: TrlHeader,
    table: TrlTable | None,
    rows: Iterable[FileRow],
) -> None:
    """Read an ignored file through (an XML error in it still stops the import)."""
    count = sum(1 for _ in rows)
    name = shown(header.table) + "_Trl"
    reason = (
        f"procserv has no {name}"
        if table is None
        else "another file of the upload was imported into it"
    )
    ctx.log(f"{name} Ignored={count}: {reason}", number=count)


def _log_counts(ctx: Context, table: TrlTable, counts: Counts) -> None:
    ctx.log(f"{table.name} Updated={counts.updated}", number=counts.updated)
    if counts.not_found:
        detail = ""
        if counts.unshared_ids:
            detail = (
                f" ({counts.unshared_ids} have only an id above {MAX_OFFICIAL_ID}, "
                "which only the system that wrote the file knows)"
            )
        ctx.log(
            f"{table.name} Not Found={counts.not_found}{detail}",
            number=counts.not_found,
        )
    if counts.ignored_columns:
        ctx.log(
            f"{table.name} Ignored columns: "
            + ", ".join(sorted(counts.ignored_columns))
        )


def _check_language(header: TrlHeader, language: str) -> None:
    if header.language == BASE_LANGUAGE:
        raise TrlFileError(
            f"it is for {BASE_LANGUAGE}, the base language, whose texts come from "
            "the code"
        )
    if header.language != language:
        raise TrlFileError(
            f"it is for language {shown(header.language)}, not {language} "
            "(the AD_Language parameter)"
        )


@contextmanager
def _named(entry: TrlEntry, upload: Upload) -> Iterator[None]:
    """Name the zip's entry in its errors (a single file is named by the upload)."""
    try:
        yield
    except TrlFileError as error:
        if entry.name == upload.name:
            raise
        raise TrlFileError(f"{shown(entry.name)}: {error}") from None


def _nothing_known(tables: list[str]) -> str:
    known = ", ".join(table.base for table in TRL_TABLES)
    found = sorted({shown(table) for table in tables})
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    return (
        f"nothing in it is for a table procserv has ({known}); it holds "
        + ", ".join(found[:10])
        + more
    )
