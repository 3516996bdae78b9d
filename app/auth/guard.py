"""Who is calling: the request's bearer token, and whether the database still backs
it (its session open; its user, tenant and role active), checked on every request
so that a logout or a deactivation takes effect at once."""

from __future__ import annotations

from starlette.requests import Request

from app.auth import sessions, tokens
from app.errors import Unauthorized
from app.settings import Settings


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_claims(request: Request) -> dict[str, object]:
    settings: Settings = request.app.state.settings
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Missing bearer token in the Authorization header")
    return tokens.decode(token, settings.signing_secret())


async def require_session(request: Request) -> tokens.Session:
    """The session of a full token, for the process and job routes."""
    session = tokens.session_from(bearer_claims(request))
    if session is None:
        raise Unauthorized(
            "This token has no tenant and role yet; "
            "choose them with PUT /api/v1/auth/tokens"
        )
    async with request.app.state.pool.connection() as conn:
        await sessions.check_standing(conn, session.user_id, session)
    return session


async def require_login(request: Request) -> tokens.FirstLogin:
    """The user and tenants of a first or a full token, for the steps that choose
    tenant, role and organisation."""
    claims = bearer_claims(request)
    session = tokens.session_from(claims)
    login = tokens.first_login_from(claims)
    async with request.app.state.pool.connection() as conn:
        await sessions.check_standing(conn, login.user_id, session)
    return login
