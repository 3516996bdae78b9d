"""The one exception root of procserv and the JSON error body every failure shares.

Every error a client can see is an ``ApiError``: it carries the HTTP status, the
title and the detail of iDempiere's error body ``{"title", "status", "detail"}``.
Code below the routes raises these (or a subclass) and the application turns them
into responses in one place (``app.responses``).
"""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the client with ``status`` and the iDempiere body."""

    status: int = 500
    title: str = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        title: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if title is not None:
            self.title = title
        if status is not None:
            self.status = status
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"title": self.title, "status": self.status, "detail": self.detail}


class InvalidParameter(ApiError):
    status = 400
    title = "Invalid parameter"


class MissingParameters(ApiError):
    status = 400
    title = "Missing parameters"


class InvalidFilter(ApiError):
    """A ``$filter`` that cannot be parsed or names an unknown column.

    The routes re-title it ("GET Error") and prefix the detail the way the original
    does; the parser only says what was wrong and where.
    """

    status = 400
    title = "GET Error"


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"


class Forbidden(ApiError):
    status = 403
    title = "Forbidden"


class NotFound(ApiError):
    status = 404
    title = "Not found"


class Conflict(ApiError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(ApiError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(ApiError):
    status = 415
    title = "Unsupported media type"


class ServiceUnavailable(ApiError):
    status = 503
    title = "Service unavailable"
