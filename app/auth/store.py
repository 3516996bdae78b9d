"""The SQL of logging in: users, their tenants, roles, organisations, languages."""

from __future__ import annotations

import psycopg

from app.db import Row

_USER = """
SELECT ad_user_id, name, password FROM ad_user WHERE name = %s AND isactive
"""

_CLIENTS = """
SELECT DISTINCT c.ad_client_id AS id, c.name, c.value
  FROM ad_user_roles ur
  JOIN ad_role r ON r.ad_role_id = ur.ad_role_id AND r.isactive
  JOIN ad_client c ON c.ad_client_id = r.ad_client_id AND c.isactive
 WHERE ur.ad_user_id = %s AND ur.isactive
 ORDER BY c.name
"""

_ROLES = """
SELECT r.ad_role_id AS id, r.name
  FROM ad_user_roles ur
  JOIN ad_role r ON r.ad_role_id = ur.ad_role_id AND r.isactive
 WHERE ur.ad_user_id = %s AND ur.isactive AND r.ad_client_id = %s
 ORDER BY r.name
"""

_ORGANIZATIONS = """
SELECT o.ad_org_id AS id, o.name, o.value
  FROM ad_role_orgaccess ra
  JOIN ad_org o ON o.ad_org_id = ra.ad_org_id AND o.isactive
 WHERE ra.ad_role_id = %s AND ra.isactive AND o.ad_client_id IN (0, %s)
 ORDER BY o.name
"""

_LANGUAGES = """
SELECT ad_language, isbaselanguage FROM ad_language
 WHERE isactive AND (issystemlanguage OR isbaselanguage)
 ORDER BY isbaselanguage DESC, ad_language
"""


async def user_by_name(conn: psycopg.AsyncConnection[Row], name: str) -> Row | None:
    return await (await conn.execute(_USER, (name,))).fetchone()


async def clients_of(conn: psycopg.AsyncConnection[Row], user_id: int) -> list[Row]:
    return await (await conn.execute(_CLIENTS, (user_id,))).fetchall()


async def roles_of(
    conn: psycopg.AsyncConnection[Row], user_id: int, client_id: int
) -> list[Row]:
    return await (await conn.execute(_ROLES, (user_id, client_id))).fetchall()


async def organizations_of(
    conn: psycopg.AsyncConnection[Row], role_id: int, client_id: int
) -> list[Row]:
    return await (await conn.execute(_ORGANIZATIONS, (role_id, client_id))).fetchall()


async def login_languages(conn: psycopg.AsyncConnection[Row]) -> list[str]:
    """Active languages a session may use; the base language first."""
    rows = await (await conn.execute(_LANGUAGES)).fetchall()
    return [row["ad_language"] for row in rows]
