"""Sessions: one opens at each full login (an AD_Session row), is checked on every
request, renews its tokens by refresh, and ends at logout or when a refresh
token comes back a second time.

A refresh token is an opaque random value of which only a SHA-256 hash is stored.
Using one marks it used and issues the next, whose parent it is; presenting a used
one means two parties hold the chain, so the session ends and every token of it
stops working.

Known shortcoming: nothing deletes ended sessions, sessions past their absolute
limit or used refresh tokens yet; the rows only grow with logins and refreshes.
A periodic purge (beside the sweeper) should go in before a deployment logs in
often, e.g. one login per request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from enum import StrEnum
from typing import Any

import psycopg
import structlog

from app.auth import store, tokens
from app.auth.errors import AuthenticateError
from app.db import Row
from app.errors import ApiError, Unauthorized
from app.settings import Settings

log = structlog.get_logger(__name__)

_OPEN = """
INSERT INTO ad_session (ad_client_id, ad_org_id, ad_role_id, ad_user_id, ad_language)
VALUES (%s, %s, %s, %s, %s)
RETURNING ad_session_id, created
"""

_STORE_REFRESH = """
INSERT INTO rest_refreshtoken (ad_session_id, parent_id, tokenhash) VALUES (%s, %s, %s)
"""

# One row, whatever the claims name: what does not exist shows as NULLs. Every
# join is a primary-key lookup, so this costs one round trip per request.
_STANDING = """
SELECT u.name AS user_name, u.isactive AS user_active,
       c.isactive AS client_active,
       r.ad_client_id AS role_client_id, r.isactive AS role_active,
       ur.isactive AS role_assigned,
       o.ad_client_id AS org_client_id, o.isactive AND oa.isactive AS org_allowed,
       s.ad_session_id AS session_id, s.ad_user_id AS session_user_id,
       s.ad_client_id AS session_client_id, s.ad_role_id AS session_role_id,
       s.endreason,
       s.lastused < now() - interval '1 minute' AS session_idle
  FROM (VALUES (1)) AS one
  LEFT JOIN ad_user u ON u.ad_user_id = %(user)s
  LEFT JOIN ad_client c ON c.ad_client_id = %(client)s
  LEFT JOIN ad_role r ON r.ad_role_id = %(role)s
  LEFT JOIN ad_user_roles ur ON ur.ad_user_id = %(user)s AND ur.ad_role_id = %(role)s
  LEFT JOIN ad_org o ON o.ad_org_id = %(org)s
  LEFT JOIN ad_role_orgaccess oa ON oa.ad_role_id = %(role)s AND oa.ad_org_id = %(org)s
  LEFT JOIN ad_session s ON s.ad_session_id = %(session)s
"""

_TOUCH = "UPDATE ad_session SET lastused = now() WHERE ad_session_id = %s"

# Locked, so that of two refreshes with the same token one wins and the other
# sees it used.
_PRESENTED = """
SELECT t.rest_refreshtoken_id AS token_id, t.created AS token_created, t.used,
       s.ad_session_id AS session_id, s.ad_client_id AS client_id,
       s.ad_org_id AS org_id, s.ad_role_id AS role_id, s.ad_user_id AS user_id,
       s.ad_language AS language, s.created AS session_created, s.endreason,
       u.name AS user_name, now() AS now
  FROM rest_refreshtoken t
  JOIN ad_session s ON s.ad_session_id = t.ad_session_id
  JOIN ad_user u ON u.ad_user_id = s.ad_user_id
 WHERE t.tokenhash = %s
   FOR UPDATE OF t
"""

_USE = "UPDATE rest_refreshtoken SET used = now() WHERE rest_refreshtoken_id = %s"

# Ending an ended session keeps its first end.
_END = """
UPDATE ad_session
   SET ended = coalesce(ended, now()), endreason = coalesce(endreason, %s)
 WHERE ad_session_id = %s AND ad_user_id = %s
RETURNING ad_session_id
"""

_ENDINGS = {
    "logout": "was logged out",
    "reuse": "was revoked because one of its refresh tokens was used twice",
}


class RefreshRefusal(StrEnum):
    """Why a refresh token was refused; logged, never told to the client."""

    UNKNOWN = "unknown"
    REUSED = "reused"
    SESSION_ENDED = "session_ended"
    IDLE = "idle"
    PAST_ABSOLUTE_LIMIT = "past_absolute_limit"
    OTHER_CLIENT = "other_client"
    OTHER_USER = "other_user"


# --- opening --------------------------------------------------------------------


async def open_session(
    conn: psycopg.AsyncConnection[Row],
    settings: Settings,
    session: tokens.Session,
    client_ids: tuple[int, ...],
) -> dict[str, str]:
    """Store a session for a full login; its access token and refresh token."""
    refresh_token = tokens.new_refresh_token()
    async with conn.transaction():
        cursor = await conn.execute(
            _OPEN,
            (
                session.client_id,
                session.org_id,
                session.role_id,
                session.user_id,
                session.language,
            ),
        )
        row = await cursor.fetchone()
        assert row is not None
        await conn.execute(
            _STORE_REFRESH,
            (row["ad_session_id"], None, tokens.refresh_token_hash(refresh_token)),
        )
    opened = replace(session, session_id=row["ad_session_id"])
    log.info(
        "auth.session_opened",
        session_id=opened.session_id,
        user_id=opened.user_id,
        role_id=opened.role_id,
    )
    return {
        "token": _access_token(settings, opened, client_ids, row["created"]),
        "refresh_token": refresh_token,
    }


def _access_token(
    settings: Settings,
    session: tokens.Session,
    client_ids: tuple[int, ...],
    logged_in: dt.datetime,
) -> str:
    # A full token keeps the tenants of the login, so clients that always take
    # the second step (PUT /auth/tokens, the helper routes) can do so with it.
    claims = {**session.claims(), "Clients": tokens.clients_claim(client_ids)}
    limit = logged_in + dt.timedelta(minutes=settings.token_absolute_expire_minutes)
    return tokens.issue(
        claims,
        settings.signing_secret(),
        settings.token_expire_minutes,
        not_after=limit,
    )


# --- standing -----------------------------------------------------------------


async def check_standing(
    conn: psycopg.AsyncConnection[Row], user_id: int, session: tokens.Session | None
) -> None:
    """Refuse a token whose session ended, or whose user, tenant, role or
    organisation can no longer be used; ``session`` is None for a first token."""
    row = await _standing(conn, user_id, session)
    refusal = standing_refusal(row, user_id, session)
    if refusal is not None:
        raise refusal
    if session is not None and session.session_id is not None and row["session_idle"]:
        await conn.execute(_TOUCH, (session.session_id,))


async def _standing(
    conn: psycopg.AsyncConnection[Row], user_id: int, session: tokens.Session | None
) -> Row:
    given: dict[str, Any] = {
        "user": user_id,
        "client": session.client_id if session else None,
        "role": session.role_id if session else None,
        "org": session.org_id if session else None,
        "session": session.session_id if session else None,
    }
    row = await (await conn.execute(_STANDING, given)).fetchone()
    assert row is not None
    return row


def standing_refusal(
    row: Row, user_id: int, session: tokens.Session | None
) -> ApiError | None:
    """The 401 for a token the standing row no longer backs, or None. Titles are
    the original's where it has one ("User is inactive" ...)."""
    if session is None:
        return _user_refusal(row, user_id)
    return (
        _session_refusal(row, user_id, session)
        or _client_refusal(row, session)
        or _user_refusal(row, user_id)
        or _role_refusal(row, user_id, session)
    )


def _session_refusal(
    row: Row, user_id: int, session: tokens.Session
) -> ApiError | None:
    session_id = session.session_id
    if session_id is None:
        return None
    if row["session_id"] is None:
        return Unauthorized(f"No session has AD_Session_ID {session_id}")
    owner = (row["session_user_id"], row["session_client_id"], row["session_role_id"])
    if owner != (user_id, session.client_id, session.role_id):
        return Unauthorized(f"Session {session_id} belongs to another login")
    if row["endreason"] is not None:
        return Unauthorized(
            f"Session ended: session {session_id} {_ENDINGS[row['endreason']]}"
        )
    return None


def _client_refusal(row: Row, session: tokens.Session) -> ApiError | None:
    if row["client_active"] is None:
        return Unauthorized(
            f"No tenant has AD_Client_ID {session.client_id}",
            title="Invalid client claim",
        )
    if not row["client_active"]:
        return Unauthorized(
            f"Tenant {session.client_id} is inactive", title="Client is inactive"
        )
    return None


def _user_refusal(row: Row, user_id: int) -> ApiError | None:
    if row["user_active"] is None:
        return Unauthorized(
            f"No user has AD_User_ID {user_id}", title="Invalid user claim"
        )
    if not row["user_active"]:
        return Unauthorized(
            f"User {row['user_name']} ({user_id}) is inactive",
            title="User is inactive",
        )
    return None


def _role_refusal(row: Row, user_id: int, session: tokens.Session) -> ApiError | None:
    role, org = session.role_id, session.org_id
    if row["role_active"] is None or row["role_client_id"] != session.client_id:
        return Unauthorized(
            f"No role of tenant {session.client_id} has AD_Role_ID {role}",
            title="Invalid role claim",
        )
    if not row["role_active"]:
        return Unauthorized(f"Role {role} is inactive", title="Role is inactive")
    if not row["role_assigned"]:
        return Unauthorized(f"Role {role} is no longer assigned to user {user_id}")
    allowed = row["org_allowed"] and row["org_client_id"] in (0, session.client_id)
    if org != 0 and not allowed:
        return Unauthorized(f"Role {role} no longer has access to organization {org}")
    return None


# --- refreshing -----------------------------------------------------------------


async def rotate(
    conn: psycopg.AsyncConnection[Row],
    settings: Settings,
    presented: str,
    *,
    client_id: int | None,
    user_id: int | None,
) -> dict[str, str]:
    """Use a refresh token up: the session's new access token and refresh token."""
    async with conn.transaction():
        row = await (
            await conn.execute(_PRESENTED, (tokens.refresh_token_hash(presented),))
        ).fetchone()
        refusal = refresh_refusal(row, settings, client_id, user_id)
        if refusal is None:
            assert row is not None
            return await _renew(conn, settings, row)
        if refusal is RefreshRefusal.REUSED:
            assert row is not None
            await conn.execute(_END, ("reuse", row["session_id"], row["user_id"]))
    _log_refusal(refusal, row)
    raise AuthenticateError("Invalid refresh token")


def refresh_refusal(
    row: Row | None, settings: Settings, client_id: int | None, user_id: int | None
) -> RefreshRefusal | None:
    """Why the presented refresh token (its row, or None) cannot be used, or None.
    Reuse is checked first: it ends the session whatever else is wrong."""
    if row is None:
        return RefreshRefusal.UNKNOWN
    if row["used"] is not None:
        return RefreshRefusal.REUSED
    if row["endreason"] is not None:
        return RefreshRefusal.SESSION_ENDED
    idle = dt.timedelta(minutes=settings.refresh_token_expire_minutes)
    if row["now"] >= row["token_created"] + idle:
        return RefreshRefusal.IDLE
    absolute = dt.timedelta(minutes=settings.token_absolute_expire_minutes)
    if row["now"] >= row["session_created"] + absolute:
        return RefreshRefusal.PAST_ABSOLUTE_LIMIT
    if client_id is not None and client_id != row["client_id"]:
        return RefreshRefusal.OTHER_CLIENT
    if user_id is not None and user_id != row["user_id"]:
        return RefreshRefusal.OTHER_USER
    return None


def _session_of(row: Row) -> tokens.Session:
    return tokens.Session(
        user_id=row["user_id"],
        user_name=row["user_name"],
        client_id=row["client_id"],
        role_id=row["role_id"],
        org_id=row["org_id"],
        warehouse_id=0,
        language=row["language"],
        session_id=row["session_id"],
    )


async def _renew(
    conn: psycopg.AsyncConnection[Row], settings: Settings, row: Row
) -> dict[str, str]:
    session = _session_of(row)
    # A refusal raised here rolls the refresh back: the token stays unused.
    await check_standing(conn, session.user_id, session)
    refresh_token = tokens.new_refresh_token()
    await conn.execute(_USE, (row["token_id"],))
    await conn.execute(
        _STORE_REFRESH,
        (row["session_id"], row["token_id"], tokens.refresh_token_hash(refresh_token)),
    )
    await conn.execute(_TOUCH, (row["session_id"],))
    client_ids = await _client_ids(conn, session.user_id)
    log.info("auth.refreshed", session_id=session.session_id)
    return {
        "token": _access_token(settings, session, client_ids, row["session_created"]),
        "refresh_token": refresh_token,
    }


async def _client_ids(
    conn: psycopg.AsyncConnection[Row], user_id: int
) -> tuple[int, ...]:
    return tuple(client["id"] for client in await store.clients_of(conn, user_id))


def _log_refusal(refusal: RefreshRefusal, row: Row | None) -> None:
    session_id = row["session_id"] if row is not None else None
    if refusal is RefreshRefusal.REUSED:
        log.warning("auth.refresh_token_reused", session_id=session_id)
    else:
        log.info("auth.refresh_refused", reason=refusal.value, session_id=session_id)


# --- ending ---------------------------------------------------------------------


async def end_session(
    conn: psycopg.AsyncConnection[Row], session_id: int, user_id: int
) -> bool:
    """Log the session out; False when the user has no session of that id."""
    cursor = await conn.execute(_END, ("logout", session_id, user_id))
    if await cursor.fetchone() is None:
        return False
    log.info("auth.logout", session_id=session_id)
    return True
