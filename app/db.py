"""Connections to PostgreSQL for both sides: an async pool for the API, plain
connections and a small pool for workers and commands.

psycopg errors that mean "bad input" are translated into ``ApiError`` where the
query is made; anything else is a server fault and stays an exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

Row = dict[str, Any]

# The largest id a bigint column (every *_id here) holds.
MAX_BIGINT = 2**63 - 1


def bigint_id(raw: str) -> int | None:
    """The id a path segment names, or None when no row can have it: not digits,
    or beyond a bigint."""
    if not re.fullmatch(r"[0-9]{1,19}", raw) or int(raw) > MAX_BIGINT:
        return None
    return int(raw)


def sqlalchemy_url(url: str) -> str:
    """The same database as a SQLAlchemy URL, for Alembic (psycopg 3 driver)."""
    scheme, _, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + rest
    return url


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Row]:
    return psycopg.connect(url, autocommit=autocommit, row_factory=dict_row)


def open_async_pool(url: str, *, max_size: int = 10) -> AsyncConnectionPool:
    """The API's pool. Connections are in autocommit mode: a statement outside
    ``conn.transaction()`` commits on its own, and a transaction is always explicit."""
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
    )


def open_pool(
    url: str, *, max_size: int = 4
) -> ConnectionPool[psycopg.Connection[Row]]:
    """A small pool of autocommit connections, for a worker process."""
    pool = ConnectionPool(
        url,
        connection_class=psycopg.Connection[Row],
        min_size=1,
        max_size=max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
    )
    pool.open(wait=True, timeout=30)
    return pool


@contextmanager
def transaction(url: str) -> Iterator[psycopg.Connection[Row]]:
    """One connection, one transaction: committed on success, rolled back on error."""
    with connect(url) as conn, conn.transaction():
        yield conn


def with_database(url: str, name: str) -> str:
    """The same server URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))
