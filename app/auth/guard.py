"""Who is calling: the session of the request's bearer token."""

from __future__ import annotations

from starlette.requests import Request

from app.auth import tokens
from app.errors import Unauthorized
from app.settings import Settings


def bearer_claims(request: Request) -> dict[str, object]:
    settings: Settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token in the Authorization header")
    return tokens.decode(token.strip(), settings.signing_secret())


def require_session(request: Request) -> tokens.Session:
    session = tokens.session_from(bearer_claims(request))
    if session is None:
        raise Unauthorized(
            "This token has no tenant and role yet; "
            "choose them with PUT /api/v1/auth/tokens"
        )
    return session
