"""The errors of logging in, refreshing and logging out, titled as the original's."""

from __future__ import annotations

from app.errors import ApiError, NotFound


class AuthenticateError(ApiError):
    status = 401
    title = "Authenticate error"


class SessionNotFound(NotFound):
    """Logout with a token that names no session (a first token names none)."""

    title = "AD_Session_ID not found"
