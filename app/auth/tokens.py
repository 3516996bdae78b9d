"""JSON Web Tokens: the first token (a user, before choosing a tenant and role)
and the full token (a session: tenant, role, organisation, language); and the
opaque refresh tokens that renew a session's full token."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from app.errors import Unauthorized

ALGORITHM = "HS512"
ISSUER = "procserv"


@dataclass(frozen=True)
class Session:
    """Who is calling, as a full token says."""

    user_id: int
    user_name: str
    client_id: int
    role_id: int
    org_id: int
    warehouse_id: int
    language: str
    # The AD_Session row; None only in a token made outside procserv with the
    # secret, which the original accepts too (it then checks user, role, tenant).
    session_id: int | None

    def claims(self) -> dict[str, Any]:
        claims = {
            "sub": self.user_name,
            "AD_User_ID": self.user_id,
            "AD_Client_ID": self.client_id,
            "AD_Role_ID": self.role_id,
            "AD_Org_ID": self.org_id,
            "M_Warehouse_ID": self.warehouse_id,
            "AD_Language": self.language,
        }
        if self.session_id is not None:
            claims["AD_Session_ID"] = self.session_id
        return claims


@dataclass(frozen=True)
class FirstLogin:
    """Who is calling, as a first token says: a user and the tenants they may use."""

    user_id: int
    user_name: str
    client_ids: tuple[int, ...]


def issue(
    claims: dict[str, Any],
    secret: str,
    minutes: int,
    *,
    not_after: dt.datetime | None = None,
) -> str:
    """A signed token valid for ``minutes``, and never past ``not_after``."""
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(minutes=minutes)
    payload = {
        **claims,
        "iss": ISSUER,
        "iat": now,
        "exp": min(expires, not_after) if not_after is not None else expires,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM, headers={"kid": ISSUER})


def clients_claim(client_ids: tuple[int, ...]) -> str:
    return ",".join(str(c) for c in client_ids)


def issue_first(login: FirstLogin, secret: str, minutes: int) -> str:
    claims = {
        "sub": login.user_name,
        "AD_User_ID": login.user_id,
        "Clients": clients_claim(login.client_ids),
    }
    return issue(claims, secret, minutes)


def decode(token: str, secret: str, *, verify_exp: bool = True) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "require": ["exp", "iss", "sub", "AD_User_ID"],
                "verify_exp": verify_exp,
            },
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired") from None
    except jwt.InvalidTokenError as error:
        raise Unauthorized(f"Invalid token: {error}") from None
    return claims


def session_from(claims: dict[str, Any]) -> Session | None:
    """The session of a full token, or None for a first token."""
    if "AD_Role_ID" not in claims or "AD_Client_ID" not in claims:
        return None
    try:
        return Session(
            user_id=int(claims["AD_User_ID"]),
            user_name=str(claims["sub"]),
            client_id=int(claims["AD_Client_ID"]),
            role_id=int(claims["AD_Role_ID"]),
            org_id=int(claims.get("AD_Org_ID", 0)),
            warehouse_id=int(claims.get("M_Warehouse_ID", 0)),
            language=str(claims.get("AD_Language", "en_US")),
            session_id=session_id_from(claims),
        )
    except (TypeError, ValueError):
        raise Unauthorized("Invalid token: malformed claims") from None


def session_id_from(claims: dict[str, Any]) -> int | None:
    """The AD_Session_ID claim: a number, or None when the token has none."""
    raw = claims.get("AD_Session_ID")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise Unauthorized(f"Invalid token: AD_Session_ID {raw!r} is not a number")
    return raw


def first_login_from(claims: dict[str, Any]) -> FirstLogin:
    try:
        clients = tuple(
            int(c) for c in str(claims.get("Clients", "")).split(",") if c.strip()
        )
        return FirstLogin(int(claims["AD_User_ID"]), str(claims["sub"]), clients)
    except (TypeError, ValueError):
        raise Unauthorized("Invalid token: malformed claims") from None


def new_refresh_token() -> str:
    """An opaque refresh token: 256 random bits, URL-safe text."""
    return secrets.token_urlsafe(32)


def refresh_token_hash(token: str) -> bytes:
    """What is stored of a refresh token. A plain hash suffices: the token is
    random and long, so there is nothing to guess from it."""
    return hashlib.sha256(token.encode()).digest()
