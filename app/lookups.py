"""Resolving lookup parameters against the database: a key must name a record that
exists in the caller's tenant; an identifier, a UUID or a column value must name
exactly one, whose key is then stored."""

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
    """Replace every lookup value of ``coerced`` by the key it names; a 400 naming
    the parameter when it names no record, or several."""
    for spec in coerced.specs:
        if spec.lookup is None:
            continue
        for values in (coerced.values, coerced.values_to):
            value = values.get(spec.column_name)
            if value is None:
                continue
            if isinstance(value, tuple):
                values[spec.column_name] = tuple(
                    [await _key(conn, spec, item, client_id) for item in value]
                )
            else:
                values[spec.column_name] = await _key(conn, spec, value, client_id)


async def _key(
    conn: psycopg.AsyncConnection[Row], spec: ParameterSpec, value: Any, client_id: int
) -> Any:
    lookup = spec.lookup
    assert lookup is not None
    columns = await _columns(conn, lookup.table)
    condition = _condition(spec, lookup, value, columns)
    keys = await _find(conn, lookup, columns, condition, client_id)
    if len(keys) == 1:
        return keys[0]
    problem = "matches several records" if keys else "matches no record"
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
) -> list[Any]:
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
    query = sql.SQL(
        "SELECT {key} AS key FROM {table} WHERE {conditions} LIMIT 2"
    ).format(
        key=sql.Identifier(lookup.key),
        table=sql.Identifier(lookup.table),
        conditions=sql.SQL(" AND ").join(conditions),
    )
    try:
        async with conn.transaction():
            rows = await (await conn.execute(query, params)).fetchall()
    except (psycopg.errors.UndefinedColumn, psycopg.errors.DataError):
        return []
    return [row["key"] for row in rows]


async def _columns(conn: psycopg.AsyncConnection[Row], table: str) -> dict[str, str]:
    """The table's columns and their types."""
    rows = await (await conn.execute(_COLUMNS, (table,))).fetchall()
    if not rows:
        raise InvalidParameter(f"Lookups into {table} are not possible: no such table")
    return {row["column_name"]: row["data_type"] for row in rows}
