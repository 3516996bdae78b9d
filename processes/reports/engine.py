"""The report engine: the run of every report process.

It picks the print format, queries the report's view through a server-side
cursor, computes the totals while the rows stream by, and hands the report to
the renderer of the requested type, which writes the output in chunks. Only a
cursor's batch of rows is ever held here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg import sql
from psycopg.rows import tuple_row

from app.db import Row
from app.settings import get_settings
from app.tables import identifier_column
from processes.context import Context, ProcessError, Result
from processes.declarations import (
    ListReference,
    Parameter,
    Process,
    Ref,
    TableReference,
    derived_uuid,
    print_format_uuid,
)
from processes.reports.declarations import PrintFormat, ReportDeclaration
from processes.reports.model import GrandTotalRow, Line, Report, ReportHeader
from processes.reports.query import (
    Query,
    build_query,
    columns,
    group_items,
    lines,
)

log = structlog.get_logger(__name__)

# Rows fetched per round trip of the server-side cursor.
ITERSIZE = 2000
SUMMARY = "Report"  # the original's summary of a report


_TITLE_AND_TENANT = """
SELECT COALESCE(t.name, p.name) AS title, c.name AS tenant
  FROM ad_process p
  JOIN ad_client c ON c.ad_client_id = %(client_id)s
  LEFT JOIN ad_process_trl t
    ON t.ad_process_id = p.ad_process_id AND t.ad_language = %(language)s
 WHERE p.ad_process_uu = %(process)s
"""

_PARAMETER_LABELS = """
SELECT pp.columnname, COALESCE(t.name, pp.name) AS name
  FROM ad_process_para pp
  JOIN ad_process p USING (ad_process_id)
  LEFT JOIN ad_process_para_trl t
    ON t.ad_process_para_id = pp.ad_process_para_id AND t.ad_language = %(language)s
 WHERE p.ad_process_uu = %(process)s AND pp.isactive
"""

_LIST_NAMES = """
SELECT l.value, COALESCE(t.name, l.name) AS name
  FROM ad_ref_list l
  JOIN ad_reference r USING (ad_reference_id)
  LEFT JOIN ad_ref_list_trl t
    ON t.ad_ref_list_id = l.ad_ref_list_id AND t.ad_language = %(language)s
 WHERE r.ad_reference_uu = %(reference)s AND l.value = ANY(%(values)s)
"""

_PRINT_FORMAT_UUID = """
SELECT ad_printformat_uu::text AS uuid FROM ad_printformat
 WHERE ad_printformat_id = %s
"""


def run_report(ctx: Context, process: Process) -> Result:
    """Run ``process``'s report for the caller's tenant and store its output."""
    # The renderers (WeasyPrint above all) are loaded by the workers that run a
    # report, not by the API, which only reads the declarations.
    from processes.reports import render  # noqa: PLC0415

    report = process.report
    if report is None:
        raise ProcessError(f"{process.value} is not a report")
    report_type = ctx.report_type or "PDF"
    print_format = choose_print_format(ctx, report)
    header = _header(ctx, process, print_format)
    query = build_query(
        report.view,
        print_format,
        parameters=process.parameters,
        values=ctx.params,
        values_to=ctx.params_to,
        client_id=ctx.client_id,
    )
    name = output_name(process.name, ctx.instance_id, render.EXTENSIONS[report_type])
    # The answer carries a PDF as reportFile*, anything else as exportFile*.
    kind = "report" if report_type == "PDF" else "export"
    tally = _Tally()
    with _rows(ctx.db, query) as rows:
        stream = tally.watch(
            lines(rows, header.columns, header.group_by, summary=ctx.is_summary)
        )
        with ctx.open_output(name, render.MEDIA_TYPES[report_type], kind=kind) as out:
            render.render(
                Report(header, stream),
                report_type,
                out,
                pdf_row_ceiling=get_settings().pdf_row_ceiling,
            )
    log.info("report.rendered", report_type=report_type, rows=tally.count, output=name)
    return Result(summary=SUMMARY, data={"rows": tally.count})


def output_name(process_name: str, instance_id: int, extension: str) -> str:
    """``<Process_Name>_<AD_PInstance_ID>.<ext>``, the name's spaces (and any
    path separator) as ``_``."""
    stem = re.sub(r"[\s/\\]+", "_", process_name.strip())
    return f"{stem}_{instance_id}.{extension}"


def choose_print_format(ctx: Context, report: ReportDeclaration) -> PrintFormat:
    """The format the run names by id or UUID, else the report's default."""
    wanted = ctx.print_format
    if not wanted:
        return report.formats[0]
    uuid = wanted.lower()
    if wanted.isdigit():
        row = ctx.db.execute(_PRINT_FORMAT_UUID, (int(wanted),)).fetchone()
        uuid = row["uuid"] if row else ""
    for print_format in report.formats:
        if print_format_uuid(report.view, print_format) == uuid:
            return print_format
    raise ProcessError(f"Print format {wanted} is not one of this report's formats")


@contextmanager
def _rows(
    conn: psycopg.Connection[Row], query: Query
) -> Iterator[Iterator[tuple[Any, ...]]]:
    """The report's rows, a batch per round trip, from a server-side cursor."""
    with conn.cursor(name="report_rows", row_factory=tuple_row) as cursor:
        cursor.itersize = ITERSIZE
        cursor.execute(query.text, query.params)
        yield iter(cursor)


@dataclass
class _Tally:
    count: int = 0

    def watch(self, stream: Iterable[Line]) -> Iterator[Line]:
        for line in stream:
            if isinstance(line, GrandTotalRow):
                self.count = line.count
            yield line


# --- the header -------------------------------------------------------------


def _header(ctx: Context, process: Process, print_format: PrintFormat) -> ReportHeader:
    names = {
        "client_id": ctx.client_id,
        "language": ctx.language,
        "process": process.process_uuid,
    }
    found = ctx.db.execute(_TITLE_AND_TENANT, names).fetchone()
    labels = {
        row["columnname"]: row["name"]
        for row in ctx.db.execute(_PARAMETER_LABELS, names).fetchall()
    }
    return ReportHeader(
        title=found["title"] if found else process.name,
        tenant=found["tenant"] if found else "",
        parameters=tuple(_parameters_used(ctx, process.parameters, labels)),
        run_at=dt.datetime.now(dt.UTC),
        columns=columns(print_format),
        group_by=tuple(item.column for item in group_items(print_format)),
        is_summary=ctx.is_summary,
        language=ctx.language,
    )


def _parameters_used(
    ctx: Context, parameters: Sequence[Parameter], labels: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    """(label, value as shown) of each parameter set, records by their names."""
    for parameter in parameters:
        value = ctx.params.get(parameter.column_name)
        value_to = ctx.params_to.get(parameter.column_name)
        if value is None and value_to is None:
            continue
        label = labels.get(parameter.column_name, parameter.name)
        names = _names(ctx, parameter, [v for v in _items(value, value_to) if v])
        low, high = (_shown(v, names) for v in (value, value_to))
        if not parameter.is_range:
            yield label, low
        elif value is not None and value_to is not None:
            yield label, f"{low} \N{EN DASH} {high}"
        else:
            yield label, f"≥ {low}" if value is not None else f"≤ {high}"


def _items(value: Any, value_to: Any) -> list[Any]:
    chosen = value if isinstance(value, list | tuple) else [value]
    return [*chosen, value_to]


def _shown(value: Any, names: Mapping[Any, str]) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_shown(item, names) for item in value)
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    return names.get(value, str(value))


def _names(ctx: Context, parameter: Parameter, values: list[Any]) -> dict[Any, str]:
    """What the records or list values a parameter names are called."""
    if not values:
        return {}
    if isinstance(parameter.values, ListReference):
        reference = parameter.values.uuid or derived_uuid(
            "reference", parameter.values.name
        )
        query = {"language": ctx.language, "reference": reference, "values": values}
        rows = ctx.db.execute(_LIST_NAMES, query).fetchall()
        return {row["value"]: row["name"] for row in rows}
    lookup = _lookup(parameter)
    if lookup is None:
        return {}
    table, key, display = lookup
    statement = sql.SQL(
        "SELECT {key} AS key, {display}::text AS name FROM {table}"
        " WHERE {key} = ANY(%s)"
    ).format(
        key=sql.Identifier(key),
        display=sql.Identifier(display),
        table=sql.Identifier(table),
    )
    rows = ctx.db.execute(statement, (values,)).fetchall()
    return {row["key"]: row["name"] for row in rows}


# Types whose table, with no table reference, is named by the column, as in
# app.dictionary (C_BPartner_ID looks up c_bpartner).
_COLUMN_LOOKUPS = frozenset(
    {
        Ref.TABLE_DIRECT,
        Ref.SEARCH,
        Ref.CHOSEN_MULTIPLE_SELECTION_TABLE,
        Ref.CHOSEN_MULTIPLE_SELECTION_SEARCH,
    }
)


def _lookup(parameter: Parameter) -> tuple[str, str, str] | None:
    """The table, key and name column of a lookup parameter's records."""
    if isinstance(parameter.values, TableReference):
        values = parameter.values
        return values.table, values.key, values.display
    column = parameter.column_name
    if parameter.reference in _COLUMN_LOOKUPS and column.endswith("_ID"):
        table = column[: -len("_ID")].lower()
        return table, column.lower(), identifier_column(table)
    return None
