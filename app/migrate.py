"""Bring a database up to date: schema migrations (Alembic), required rows, the
process dictionary from the code, and the demo tenant where settings ask for it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.db import transaction
from app.seed import seed_demo, seed_required
from app.settings import Settings
from processes.registry import registry
from processes.sync import sync_dictionary

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def migrate(settings: Settings) -> None:
    command.upgrade(alembic_config(settings.database_url), "head")
    with transaction(settings.database_url) as conn:
        seed_required(conn)
        sync_dictionary(conn, registry())
        if settings.should_seed_demo:
            seed_demo(conn, settings.demo_passwords)
