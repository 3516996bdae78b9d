"""``/api/v1/auth``: logging in, choosing tenant, role and organisation, renewing
the tokens of a session and logging out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import psycopg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.auth import sessions, store, tokens
from app.auth.errors import AuthenticateError, SessionNotFound
from app.auth.guard import bearer_token, require_login
from app.auth.passwords import verify_password
from app.db import Row
from app.errors import InvalidParameter, Unauthorized
from app.http import by_method, json_response, read_json_object
from app.params import shown
from app.settings import Settings


async def create_token(request: Request) -> Response:
    """POST /api/v1/auth/tokens: user name and password, optionally the choices."""
    settings: Settings = request.app.state.settings
    body = await read_json_object(request, settings.max_body_bytes)
    name, password = body.get("userName"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str):
        raise InvalidParameter("userName and password are required, as text")
    choices = body.get("parameters")
    if choices is not None and not isinstance(choices, dict):
        raise InvalidParameter("parameters must be an object")
    async with request.app.state.pool.connection() as conn:
        user = await store.user_by_name(conn, name)
        # One hash check whether or not the user exists (see passwords.py).
        stored = user["password"] if user is not None else None
        if not verify_password(stored, password) or user is None:
            raise AuthenticateError("Invalid User ID or Password")
        clients = await store.clients_of(conn, user["ad_user_id"])
        if not clients:
            raise AuthenticateError("This user has no active role in any tenant")
        login = tokens.FirstLogin(
            user["ad_user_id"], user["name"], tuple(c["id"] for c in clients)
        )
        if choices is not None:
            return json_response(await _full_login(conn, settings, login, choices))
        answer = await _shortcut_login(conn, settings, login)
    listed = [{"id": c["id"], "name": c["name"]} for c in clients]
    if answer is not None:
        return json_response({"clients": listed, **answer})
    first = tokens.issue_first(
        login, settings.signing_secret(), settings.first_token_expire_minutes
    )
    return json_response({"clients": listed, "token": first})


async def choose(request: Request) -> Response:
    """PUT /api/v1/auth/tokens: the first token chooses tenant, role, organisation."""
    settings: Settings = request.app.state.settings
    login = await require_login(request)
    body = await read_json_object(request, settings.max_body_bytes)
    async with request.app.state.pool.connection() as conn:
        return json_response(await _full_login(conn, settings, login, body))


async def roles(request: Request) -> Response:
    login = await require_login(request)
    async with request.app.state.pool.connection() as conn:
        client = _allowed_client(login, request.query_params.get("client"))
        found = await store.roles_of(conn, login.user_id, client)
    return json_response({"roles": [{"id": r["id"], "name": r["name"]} for r in found]})


async def organizations(request: Request) -> Response:
    login = await require_login(request)
    async with request.app.state.pool.connection() as conn:
        client = _allowed_client(login, request.query_params.get("client"))
        role = await _user_role(conn, login, client, request.query_params.get("role"))
        found = await store.organizations_of(conn, role, client)
    return json_response(
        {"organizations": [{"id": o["id"], "name": o["name"]} for o in found]}
    )


async def language(request: Request) -> Response:
    login = await require_login(request)
    _allowed_client(login, request.query_params.get("client"))
    async with request.app.state.pool.connection() as conn:
        languages = await store.login_languages(conn)
    return json_response({"AD_Language": languages[0] if languages else "en_US"})


async def warehouses(request: Request) -> Response:
    """GET /api/v1/auth/warehouses: always none, as procserv has no warehouses,
    after the same checks as the other helper routes."""
    login = await require_login(request)
    query = request.query_params
    async with request.app.state.pool.connection() as conn:
        client = _allowed_client(login, query.get("client"))
        role = await _user_role(conn, login, client, query.get("role"))
        found = await store.organizations_of(conn, role, client)
    raw = query.get("organization")
    if raw is None or not _is_number(raw) or int(raw) not in {o["id"] for o in found}:
        raise AuthenticateError("Invalid organization")
    return json_response({"warehouses": []})


async def refresh(request: Request) -> Response:
    """POST /api/v1/auth/refresh: a refresh token for a new pair of tokens."""
    settings: Settings = request.app.state.settings
    body = await read_json_object(request, settings.max_body_bytes)
    presented = body.get("refresh_token")
    if presented is None or presented == "":
        raise AuthenticateError("No refresh_token provided")
    if not isinstance(presented, str):
        raise AuthenticateError("Invalid refresh token")
    client_id = _refresh_id(body, "clientId", settings.mandatory_client_id_on_refresh)
    user_id = _refresh_id(body, "userId", settings.mandatory_user_id_on_refresh)
    async with request.app.state.pool.connection() as conn:
        pair = await sessions.rotate(
            conn, settings, presented, client_id=client_id, user_id=user_id
        )
    return json_response(pair)


def _refresh_id(body: dict[str, Any], key: str, mandatory: bool) -> int | None:
    raw = body.get(key)
    if raw is None:
        if mandatory:
            raise AuthenticateError(f"No {key} provided")
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and _is_number(raw):
        return int(raw)
    raise InvalidParameter(f"{key} must be a number, not {shown(raw)}")


async def logout(request: Request) -> Response:
    """POST /api/v1/auth/logout: end the session of the token in the body (or of
    the bearer token); every token of the session stops working at once."""
    settings: Settings = request.app.state.settings
    body = await read_json_object(request, settings.max_body_bytes)
    token = body.get("token") or bearer_token(request)
    if not isinstance(token, str) or not token.strip():
        raise AuthenticateError(
            'No token provided: send {"token": "<access token>"} or a bearer token'
        )
    try:
        # Like the original, an expired token may still end its session.
        claims = tokens.decode(
            token.strip(), settings.signing_secret(), verify_exp=False
        )
        user_id = tokens.first_login_from(claims).user_id
        session_id = tokens.session_id_from(claims)
    except Unauthorized as error:
        raise AuthenticateError(error.detail) from None
    if session_id is None:
        raise SessionNotFound(
            "The token has no AD_Session_ID: a first token opens no session"
        )
    async with request.app.state.pool.connection() as conn:
        if not await sessions.end_session(conn, session_id, user_id):
            raise SessionNotFound(f"No session of this user has id {session_id}")
    return json_response({"summary": "OK"})


def _is_number(text: str) -> bool:
    return re.fullmatch(r"[0-9]{1,10}", text.strip()) is not None


def _allowed_client(login: tokens.FirstLogin, raw: str | None) -> int:
    if raw is None or not _is_number(raw) or int(raw) not in login.client_ids:
        raise AuthenticateError("Invalid client")
    return int(raw)


async def _user_role(
    conn: psycopg.AsyncConnection[Row],
    login: tokens.FirstLogin,
    client: int,
    raw: str | None,
) -> int:
    found = await store.roles_of(conn, login.user_id, client)
    if raw is None or not _is_number(raw) or int(raw) not in {r["id"] for r in found}:
        raise AuthenticateError("Invalid role")
    return int(raw)


async def _shortcut_login(
    conn: psycopg.AsyncConnection[Row], settings: Settings, login: tokens.FirstLogin
) -> dict[str, Any] | None:
    """The full login at once, when tenant, role and organisation leave no choice."""
    if len(login.client_ids) != 1:
        return None
    found_roles = await store.roles_of(conn, login.user_id, login.client_ids[0])
    if len(found_roles) != 1:
        return None
    orgs = await store.organizations_of(conn, found_roles[0]["id"], login.client_ids[0])
    if len(orgs) > 1:
        return None
    return await _full_login(conn, settings, login, {})


async def _full_login(
    conn: psycopg.AsyncConnection[Row],
    settings: Settings,
    login: tokens.FirstLogin,
    choices: dict[str, Any],
) -> dict[str, Any]:
    clients = [
        c
        for c in await store.clients_of(conn, login.user_id)
        if c["id"] in login.client_ids
    ]
    client = _choose(choices.get("clientId"), clients, "client", by=("name", "value"))
    found_roles = await store.roles_of(conn, login.user_id, client["id"])
    role = _choose(choices.get("roleId"), found_roles, "role", by=("name",))
    orgs = await store.organizations_of(conn, role["id"], client["id"])
    org = _choose_org(choices.get("organizationId"), orgs)
    language = await _choose_language(conn, choices.get("language"))
    # warehouseId is accepted and ignored: procserv has no warehouses.
    session = tokens.Session(
        user_id=login.user_id,
        user_name=login.user_name,
        client_id=client["id"],
        role_id=role["id"],
        org_id=org,
        warehouse_id=0,
        language=language,
        session_id=None,
    )
    pair = await sessions.open_session(conn, settings, session, login.client_ids)
    return {
        "clientId": client["id"],
        "userId": login.user_id,
        "roleId": role["id"],
        "organizationId": org,
        "language": language,
        **pair,
    }


def _choose(
    raw: Any, candidates: Sequence[Row], what: str, *, by: tuple[str, ...]
) -> Row:
    """The candidate a login parameter names: by id (a number or numeric text) or by
    name; with no parameter, the only candidate."""
    if raw is None or raw == "":
        if len(candidates) == 1:
            return candidates[0]
        raise AuthenticateError(f"Missing {what}Id parameter")
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise AuthenticateError(f"Invalid {what}Id")
    text = str(raw).strip()
    if _is_number(text):
        matches = [c for c in candidates if c["id"] == int(text)]
    else:
        matches = [c for c in candidates if any(c.get(key) == text for key in by)]
    if len(matches) == 1:
        return matches[0]
    problem = "not unique" if matches else "not found"
    raise AuthenticateError(f"Invalid {what}Id: {shown(text)} {problem}")


def _choose_org(raw: Any, orgs: Sequence[Row]) -> int:
    if isinstance(raw, bool):
        raise AuthenticateError("Invalid organizationId")
    if raw is None or raw in ("", 0, "0"):
        return orgs[0]["id"] if len(orgs) == 1 and raw is None else 0
    return int(_choose(raw, orgs, "organization", by=("name", "value"))["id"])


async def _choose_language(conn: psycopg.AsyncConnection[Row], raw: Any) -> str:
    languages = await store.login_languages(conn)
    if raw is None or raw == "":
        return languages[0] if languages else "en_US"
    if isinstance(raw, str) and raw in languages:
        return raw
    raise AuthenticateError(f"Invalid language: {shown(raw)} is not an active language")


ROUTES = [
    Route(
        "/api/v1/auth/tokens",
        by_method(POST=create_token, PUT=choose),
        methods=["POST", "PUT"],
    ),
    Route("/api/v1/auth/roles", roles, methods=["GET"]),
    Route("/api/v1/auth/organizations", organizations, methods=["GET"]),
    Route("/api/v1/auth/warehouses", warehouses, methods=["GET"]),
    Route("/api/v1/auth/language", language, methods=["GET"]),
    Route("/api/v1/auth/refresh", refresh, methods=["POST"]),
    Route("/api/v1/auth/logout", logout, methods=["POST"]),
]
