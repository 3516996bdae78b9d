"""Resolving lookup parameters against the database: a key must name a record that
exists in the caller's tenant; an identifier, a UUID or a column value must name
exactly one, whose key is then stored, with the record's display text as the
parameter's Info (as iDempiere keeps it: a job's mail names the partner, not its
id)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from app.db import Row
from app.errors import InvalidParameter
from app.params import Coerced, LookupRef, LookupSpec, ParameterSpec, shown

_COLUMNS = """
SELECT column_name, data_type FROM information_schema.columns
 WHERE table_schema = current_schema() AND table_name = %s
"""


async def resolve_lookups(
    conn: psycopg.AsyncConnection[Row], coerced: Coerced, client_id: int
) -> None:
    """Replace every lookup value of ``coerced`` by the key it names, and give it
    its record's display text (a multiple selection: their texts joined); a 400
    naming the parameter when it names no record, or several."""
    for spec in coerced.specs:
        if spec.lookup is None:
            continue
        for values, info in (
            (coerced.values, coerced.info),
            (coerced.values_to, coerced.info_to),
        ):
            value = values.get(spec.column_name)
            if value is None:
                continue
            items = value if isinstance(value, tuple) else (value,)
            found = [await _record(conn, spec, item, client_id) for item in items]
            keys = tuple(key for key, _ in found)
            values[spec.column_name] = keys if isinstance(value, tuple) else keys[0]
            names = [name for _, name in found if name is not None]
            if names:
                info[spec.column_name] = ", ".join(names)


async def _record(
    conn: psycopg.AsyncConnection[Row], spec: ParameterSpec, value: Any, client_id: int
) -> tuple[Any, str | None]:
    """The key of the one record ``value`` names, and its display text."""
    lookup = spec.lookup
    assert lookup is not None
    columns = await _columns(conn, lookup.table)
    condition = _condition(spec, lookup, value, columns)
    records = await _find(conn, lookup, columns, condition, client_id)
    if len(records) == 1:
        return records[0]
    problem = "matches several records" if records else "matches no record"
    raise InvalidParameter(
        f"Invalid value for parameter {spec.column_name}: {_described(value)} "
        f"{problem} of {lookup.table}"
    )


def _described(value: Any) -> str:
    if isinstance(value, LookupRef):
        field = value.column if value.by == "column" else value.by
        return f"{field} {shown(value.value)}"
    return shown(value)


def _condition(
    spec: ParameterSpec, lookup: LookupSpec, value: Any, columns: Mapping[str, str]
) -> tuple[sql.Composable, Any]:
    if not isinstance(value, LookupRef):
        return sql.SQL("{} = %s").format(sql.Identifier(lookup.key)), value
    column = {
        "identifier": lookup.display,
        "uid": lookup.table + "_uu",
        "column": value.column or "",
    }[value.by]
    if column not in columns:
        raise InvalidParameter(
            f"Invalid value for parameter {spec.column_name}: {lookup.table} has no "
            f"column {column}"
        )
    if columns[column] == "boolean":
        # Y/N, true/false and yes/no, as PostgreSQL reads booleans.
        return sql.SQL("{} = %s::boolean").format(sql.Identifier(column)), value.value
    # Compared as text, so one form serves numbers, UUIDs and names alike.
    return sql.SQL("{}::text = %s").format(sql.Identifier(column)), value.value


async def _find(
    conn: psycopg.AsyncConnection[Row],
    lookup: LookupSpec,
    columns: Mapping[str, str],
    condition: tuple[sql.Composable, Any],
    client_id: int,
) -> list[tuple[Any, str | None]]:
    conditions: list[sql.Composable] = [condition[0]]
    params: list[Any] = [condition[1]]
    if "ad_client_id" in columns:
        conditions.append(sql.SQL("ad_client_id IN (0, %s)"))
        params.append(client_id)
    if "isactive" in columns:
        conditions.append(sql.SQL("isactive"))
    if lookup.where:
        # Trusted: written by the process's author and stored by the sync step.
        conditions.append(sql.SQL("(" + lookup.where.replace("%", "%%") + ")"))
    # A display column the table lacks: the key alone is shown.
    display = (
        sql.SQL("{}::text").format(sql.Identifier(lookup.display))
        if lookup.display in columns
        else sql.NULL
    )
    query = sql.SQL(
        "SELECT {key} AS key, {display} AS name FROM {table} WHERE {conditions} LIMIT 2"
    ).format(
        key=sql.Identifier(lookup.key),
        display=display,
        table=sql.Identifier(lookup.table),
        conditions=sql.SQL(" AND ").join(conditions),
    )
    try:
        async with conn.transaction():
            rows = await (await conn.execute(query, params)).fetchall()
    except (psycopg.errors.UndefinedColumn, psycopg.errors.DataError):
        return []
    return [(row["key"], row["name"]) for row in rows]


async def _columns(conn: psycopg.AsyncConnection[Row], table: str) -> dict[str, str]:
    """The table's columns and their types."""
    rows = await (await conn.execute(_COLUMNS, (table,))).fetchall()
    if not rows:
        raise InvalidParameter(f"Lookups into {table} are not possible: no such table")
    return {row["column_name"]: row["data_type"] for row in rows}
