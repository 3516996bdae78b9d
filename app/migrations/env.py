"""Alembic environment: migrations are plain SQL run through one SQLAlchemy connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from app.db import sqlalchemy_url


def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
