"""Checking that lookup parameters name records that exist, in the caller's tenant."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from app.db import Row
from app.errors import InvalidParameter
from app.params import LookupSpec, ParameterSpec

_HAS_TENANT = """
SELECT EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = %s
                  AND column_name = 'ad_client_id') AS has_tenant,
       EXISTS (SELECT 1 FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = %s
                  AND column_name = 'isactive') AS has_active
"""


async def verify_lookups(
    conn: psycopg.AsyncConnection[Row],
    lookups: Sequence[tuple[ParameterSpec, Any]],
    client_id: int,
) -> None:
    """Raise a 400 naming the first parameter whose record does not exist."""
    for spec, key in lookups:
        assert spec.lookup is not None
        if not await _exists(conn, spec.lookup, key, client_id):
            raise InvalidParameter(
                f"Invalid value for parameter {spec.column_name}: no "
                f"{spec.lookup.table} record with {spec.lookup.key} = {key!r}"
            )


async def _exists(
    conn: psycopg.AsyncConnection[Row], lookup: LookupSpec, key: Any, client_id: int
) -> bool:
    flags = await (
        await conn.execute(_HAS_TENANT, (lookup.table, lookup.table))
    ).fetchone()
    if flags is None:
        return False
    conditions: list[sql.Composable] = [
        sql.SQL("{} = %s").format(sql.Identifier(lookup.key))
    ]
    params: list[Any] = [key]
    if flags["has_tenant"]:
        conditions.append(sql.SQL("ad_client_id IN (0, %s)"))
        params.append(client_id)
    if flags["has_active"]:
        conditions.append(sql.SQL("isactive"))
    if lookup.where:
        # Trusted: written by the process's author and stored by the sync step.
        conditions.append(sql.SQL("(" + lookup.where.replace("%", "%%") + ")"))
    query = sql.SQL("SELECT 1 FROM {} WHERE {} LIMIT 1").format(
        sql.Identifier(lookup.table), sql.SQL(" AND ").join(conditions)
    )
    try:
        async with conn.transaction():
            return await (await conn.execute(query, params)).fetchone() is not None
    except (
        psycopg.errors.UndefinedTable,
        psycopg.errors.UndefinedColumn,
        psycopg.errors.DataError,
    ):
        return False
