"""Data procserv needs to start, and the GardenWorld demo tenant for development.

The demo keeps the ids of iDempiere's GardenWorld (tenant 11, organisation 11,
users 101 and 102, roles 102 and 103), so clients and examples written for it
work unchanged. Everything here is an idempotent upsert: running it again keeps
what is stored and puts back what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
import structlog

from app.auth.passwords import hash_password, verify_password
from app.db import Row
from app.tables import TABLES, upsert_values
from app.tables import UPSERT as UPSERT_TABLE
from processes.sync import sync_translations

log = structlog.get_logger(__name__)

_CLIENT = """
INSERT INTO ad_client (ad_client_id, value, name) VALUES (%s, %s, %s)
ON CONFLICT (ad_client_id) DO NOTHING
"""
_ORG = """
INSERT INTO ad_org (ad_org_id, ad_client_id, value, name) VALUES (%s, %s, %s, %s)
ON CONFLICT (ad_org_id) DO NOTHING
"""
_LANGUAGE = """
INSERT INTO ad_language (ad_language, ad_language_id, name, languageiso, countrycode,
                         isbaselanguage, issystemlanguage, datepattern, timepattern)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (ad_language) DO NOTHING
"""
_ROLE = """
INSERT INTO ad_role (ad_role_id, ad_client_id, name, isoperator) VALUES (%s, %s, %s, %s)
ON CONFLICT (ad_role_id) DO NOTHING
"""
_USER = """
INSERT INTO ad_user (ad_user_id, ad_client_id, ad_org_id, name, email, password)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (ad_user_id) DO NOTHING
"""
_STORED_HASH = "SELECT password FROM ad_user WHERE ad_user_id = %s"
_STORE_HASH = "UPDATE ad_user SET password = %s, updated = now() WHERE ad_user_id = %s"
_USER_ROLE = """
INSERT INTO ad_user_roles (ad_user_id, ad_role_id) VALUES (%s, %s)
ON CONFLICT DO NOTHING
"""
_ORG_ACCESS = """
INSERT INTO ad_role_orgaccess (ad_role_id, ad_org_id) VALUES (%s, %s)
ON CONFLICT DO NOTHING
"""
_ACCESS_TO_EVERY_PROCESS = """
INSERT INTO ad_process_access (ad_role_id, ad_process_id, isreadwrite)
SELECT %s, ad_process_id, true FROM ad_process WHERE isactive
ON CONFLICT DO NOTHING
"""
_READ_ONLY_ACCESS = """
INSERT INTO ad_process_access (ad_role_id, ad_process_id, isreadwrite)
SELECT %s, ad_process_id, false FROM ad_process WHERE slug = %s
ON CONFLICT DO NOTHING
"""

GARDENWORLD = 11
HQ = 11
ADMIN_ROLE = 102
USER_ROLE = 103
DEMO_USERS = (
    # id, name, e-mail on a reserved example domain, role
    (101, "GardenAdmin", "gardenadmin@gardenworld.example", ADMIN_ROLE),
    (102, "GardenUser", "gardenuser@gardenworld.example", USER_ROLE),
)


def seed_required(conn: psycopg.Connection[Row]) -> None:
    """What every installation needs: the system tenant, the table registry and
    the base language."""
    conn.execute(_CLIENT, (0, "SYSTEM", "System"))
    conn.execute(_ORG, (0, 0, "0", "*"))
    for table in TABLES:
        conn.execute(UPSERT_TABLE, upsert_values(table))
    conn.execute(
        _LANGUAGE,
        (
            "en_US",
            192,
            "English (USA)",
            "en",
            "US",
            True,
            True,
            "MM/dd/yyyy",
            "hh:mm:ss a",
        ),
    )


def seed_demo(conn: psycopg.Connection[Row], passwords: Mapping[str, str]) -> None:
    """GardenWorld, its users and roles, the es_CO language with its texts, and
    sample ERP data when the tenant has none."""
    conn.execute(
        _LANGUAGE,
        (
            "es_CO",
            1000001,
            "Español (Colombia)",
            "es",
            "CO",
            False,
            True,
            "dd/MM/yyyy",
            "HH:mm:ss",
        ),
    )
    sync_translations(conn)
    conn.execute(_CLIENT, (GARDENWORLD, "GardenWorld", "GardenWorld"))
    conn.execute(_ORG, (HQ, GARDENWORLD, "HQ", "HQ"))
    conn.execute(_ROLE, (ADMIN_ROLE, GARDENWORLD, "GardenWorld Admin", True))
    conn.execute(_ROLE, (USER_ROLE, GARDENWORLD, "GardenWorld User", False))
    for role in (ADMIN_ROLE, USER_ROLE):
        conn.execute(_ORG_ACCESS, (role, HQ))
    for user_id, name, email, role in DEMO_USERS:
        password = passwords.get(name, name)
        conn.execute(
            _USER, (user_id, GARDENWORLD, HQ, name, email, hash_password(password))
        )
        _keep_password(conn, user_id, password)
        conn.execute(_USER_ROLE, (user_id, role))
    conn.execute(_ACCESS_TO_EVERY_PROCESS, (ADMIN_ROLE,))
    conn.execute(_READ_ONLY_ACCESS, (USER_ROLE, "translationimpexp"))
    from processes.translation.seed import apply_translations  # noqa: PLC0415

    apply_translations(conn, "es_CO")
    _seed_sample_data(conn)
    log.info("demo.seeded", tenant=GARDENWORLD)


def _seed_sample_data(conn: psycopg.Connection[Row]) -> None:
    """A small sample data set the first time, kept as it is afterwards (it may be
    a larger one made with ``procserv demo-data``)."""
    from app.demodata import DEMO_ORDERS, generate, has_sample_data  # noqa: PLC0415

    if not has_sample_data(conn):
        generate(conn, orders=DEMO_ORDERS)


def _keep_password(conn: psycopg.Connection[Row], user_id: int, password: str) -> None:
    """Make the stored hash match the configured password, without rehashing an
    unchanged one on every start."""
    row = conn.execute(_STORED_HASH, (user_id,)).fetchone()
    if row is not None and not verify_password(row["password"], password):
        conn.execute(_STORE_HASH, (hash_password(password), user_id))
