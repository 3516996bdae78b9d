"""Which files of an upload an import reads, and what a row of them may hold.

The API's check and the run decide alike, from each file's root element: a file
of another language, or of the base language, refuses the whole upload; a file is
imported when procserv has its table, that table is the one AD_Table_ID names (if
it names one), and no earlier file of the upload was for it. Every other file is
left unread past its root, as iDempiere never opens files of tables it does not
have, and said so.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from processes.context import Upload
from processes.translation.archive import TrlEntry, TrlFiles
from processes.translation.tables import TRL_TABLES, TrlTable, table_of
from processes.translation.trlread import (
    FileRow,
    TrlFileError,
    TrlHeader,
    read_trl_header,
    shown,
)

# The language of the texts declared in code (app.seed makes it the base language);
# the import never writes them.
BASE_LANGUAGE = "en_US"

# At most this many unknown column names are kept for the log.
_IGNORED_COLUMNS_SHOWN = 20


@dataclass(frozen=True)
class TrlFile:
    """A file of the upload to import, and the table it goes into."""

    entry: TrlEntry
    table: TrlTable


@dataclass
class Plan:
    files: list[TrlFile] = field(default_factory=list)
    # Why each other file is left out, in the upload's order.
    ignored: list[str] = field(default_factory=list)


def plan_import(
    found: TrlFiles, upload: Upload, language: str, only: TrlTable | None
) -> Plan:
    """The files to import, at most one per table; raises ``TrlFileError`` when
    a file is for another language, or when none is left to import."""
    plan = Plan(ignored=list(found.ignored))
    tables: list[str] = []
    for entry in found.entries:
        header = _header(entry, upload, language)
        tables.append(header.table)
        target = _target(header, only, plan)
        if isinstance(target, TrlTable):
            plan.files.append(TrlFile(entry, target))
        else:
            plan.ignored.append(f"Ignored file {shown(entry.name)}: {target}")
    if not plan.files:
        raise TrlFileError(_nothing_to_import(tables, only))
    return plan


def _header(entry: TrlEntry, upload: Upload, language: str) -> TrlHeader:
    with entry.open() as stream, named(entry, upload):
        header = read_trl_header(stream)
        check_language(header, language)
        return header


def _target(header: TrlHeader, only: TrlTable | None, plan: Plan) -> TrlTable | str:
    """The table the file goes into, or why it is left out."""
    table = table_of(header.table)
    if table is None:
        return f"procserv has no {shown(header.table)}_Trl"
    if only is not None and table != only:
        return f"only {only.name} is imported (the AD_Table_ID parameter)"
    for earlier in plan.files:
        if earlier.table == table:
            return f"{table.name} is imported from {shown(earlier.entry.name)}"
    return table


def check_language(header: TrlHeader, language: str) -> None:
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


def row_texts(
    table: TrlTable, row: FileRow, ignored_columns: set[str]
) -> dict[str, str | None]:
    """The row's texts by the table's column names ("" is NULL, as iDempiere's
    DB.TO_STRING); columns the table lacks go into ``ignored_columns``.

    Raises ``TrlFileError`` for an empty text in a column that must have one.
    """
    columns = {column.lower(): column for column in table.columns}
    texts: dict[str, str | None] = {}
    for name, text in row.values:
        column = columns.get(name.lower())
        if column is None:
            if len(ignored_columns) < _IGNORED_COLUMNS_SHOWN:
                ignored_columns.add(shown(name))
            continue
        texts[column] = text or None
    for column in table.required:
        if column in texts and texts[column] is None:
            raise TrlFileError(
                f"line {row.line}: the {table.base} row {row.key} gives an empty "
                f"{column}, which a {table.name} row must have"
            )
    return texts


@contextmanager
def named(entry: TrlEntry, upload: Upload) -> Iterator[None]:
    """Name the zip's entry in its errors (a single file is named by the upload)."""
    try:
        yield
    except TrlFileError as error:
        if entry.name == upload.name:
            raise
        raise TrlFileError(f"{shown(entry.name)}: {error}") from None


def _nothing_to_import(tables: list[str], only: TrlTable | None) -> str:
    found = sorted({shown(table) for table in tables})
    more = f" and {len(found) - 10} more" if len(found) > 10 else ""
    holds = ", ".join(found[:10]) + more
    if only is not None:
        return (
            f"nothing in it is for {only.name}, the table the AD_Table_ID parameter "
            f"names; it holds {holds}"
        )
    known = ", ".join(table.base for table in TRL_TABLES)
    return f"nothing in it is for a table procserv has ({known}); it holds {holds}"
