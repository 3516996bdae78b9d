"""The pure parts of sessions and tokens: which stored state refuses a token or a
refresh token, and with what; access-token expiry; refresh-token values."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest

from app.auth import tokens
from app.auth.sessions import RefreshRefusal, refresh_refusal, standing_refusal
from app.errors import Unauthorized
from app.settings import Settings

SECRET = "k" * 64
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)

SESSION = tokens.Session(
    user_id=1000001,
    user_name="Someone",
    client_id=11,
    role_id=1000002,
    org_id=11,
    warehouse_id=0,
    language="en_US",
    session_id=1000003,
)


def _standing(**changes: Any) -> dict[str, Any]:
    """The standing row of SESSION when all is well."""
    return {
        "user_name": "Someone",
        "user_active": True,
        "client_active": True,
        "role_client_id": 11,
        "role_active": True,
        "role_assigned": True,
        "org_client_id": 11,
        "org_allowed": True,
        "session_id": 1000003,
        "session_user_id": 1000001,
        "session_client_id": 11,
        "session_role_id": 1000002,
        "endreason": None,
        "session_idle": False,
        **changes,
    }


def _refused(row: dict[str, Any], session: tokens.Session | None = SESSION) -> Any:
    refusal = standing_refusal(row, SESSION.user_id, session)
    assert refusal is not None
    return (refusal.status, refusal.title, refusal.detail)


# --- standing -------------------------------------------------------------------


def test_a_session_in_good_standing_is_not_refused() -> None:
    assert standing_refusal(_standing(), SESSION.user_id, SESSION) is None


@pytest.mark.parametrize(
    ("changes", "title", "detail"),
    [
        ({"endreason": "logout"}, "Unauthorized", "Session ended: session 1000003 was"),
        ({"endreason": "reuse"}, "Unauthorized", "used twice"),
        ({"session_id": None}, "Unauthorized", "No session has AD_Session_ID 1000003"),
        ({"session_user_id": 5}, "Unauthorized", "belongs to another login"),
        ({"session_role_id": 5}, "Unauthorized", "belongs to another login"),
        ({"client_active": None}, "Invalid client claim", "AD_Client_ID 11"),
        ({"client_active": False}, "Client is inactive", "Tenant 11"),
        ({"user_active": None}, "Invalid user claim", "AD_User_ID 1000001"),
        ({"user_active": False}, "User is inactive", "Someone (1000001)"),
        ({"role_active": None}, "Invalid role claim", "AD_Role_ID 1000002"),
        ({"role_client_id": 12}, "Invalid role claim", "tenant 11"),
        ({"role_active": False}, "Role is inactive", "Role 1000002"),
        ({"role_assigned": None}, "Unauthorized", "no longer assigned"),
        ({"role_assigned": False}, "Unauthorized", "no longer assigned"),
        ({"org_allowed": None}, "Unauthorized", "organization 11"),
        ({"org_allowed": False}, "Unauthorized", "organization 11"),
        ({"org_client_id": 12}, "Unauthorized", "organization 11"),
    ],
)
def test_each_lost_standing_is_a_401_naming_it(
    changes: dict[str, Any], title: str, detail: str
) -> None:
    status, got_title, got_detail = _refused(_standing(**changes))

    assert (status, got_title) == (401, title)
    assert detail in got_detail


def test_an_ended_session_is_told_before_anything_else() -> None:
    row = _standing(endreason="logout", user_active=False, role_active=False)

    assert "Session ended" in _refused(row)[2]


def test_the_star_organization_needs_no_access_row() -> None:
    star = replace(SESSION, org_id=0)
    row = _standing(org_allowed=None, org_client_id=None)

    assert standing_refusal(row, star.user_id, star) is None


def test_a_token_without_a_session_claim_is_checked_without_one() -> None:
    sessionless = replace(SESSION, session_id=None)
    row = _standing(session_id=None, session_user_id=None)

    assert standing_refusal(row, SESSION.user_id, sessionless) is None
    assert _refused(_standing(user_active=False), sessionless)[1] == "User is inactive"


def test_a_first_token_is_checked_for_its_user_only() -> None:
    row = _standing(client_active=None, role_active=None, session_id=None)

    assert standing_refusal(row, SESSION.user_id, None) is None
    assert _refused(_standing(user_active=False), None)[1] == "User is inactive"


# --- refresh ------------------------------------------------------------------------


def _presented(**changes: Any) -> dict[str, Any]:
    """The row of a refresh token that may be used."""
    return {
        "token_created": NOW - dt.timedelta(minutes=10),
        "used": None,
        "session_created": NOW - dt.timedelta(days=2),
        "endreason": None,
        "client_id": 11,
        "user_id": 101,
        "now": NOW,
        **changes,
    }


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(jwt_secret=SECRET, var_dir=tmp_path)


def test_a_fresh_refresh_token_of_the_login_is_accepted(settings: Settings) -> None:
    assert refresh_refusal(_presented(), settings, 11, 101) is None
    assert refresh_refusal(_presented(), settings, None, None) is None


@pytest.mark.parametrize(
    ("changes", "client_id", "user_id", "refusal"),
    [
        ({"used": NOW}, 11, 101, RefreshRefusal.REUSED),
        ({"used": NOW, "endreason": "logout"}, 12, 5, RefreshRefusal.REUSED),
        ({"endreason": "logout"}, 11, 101, RefreshRefusal.SESSION_ENDED),
        (
            {"token_created": NOW - dt.timedelta(minutes=1440)},
            11,
            101,
            RefreshRefusal.IDLE,
        ),
        (
            {"session_created": NOW - dt.timedelta(minutes=10080)},
            11,
            101,
            RefreshRefusal.PAST_ABSOLUTE_LIMIT,
        ),
        ({}, 12, 101, RefreshRefusal.OTHER_CLIENT),
        ({}, 11, 102, RefreshRefusal.OTHER_USER),
    ],
)
def test_a_refresh_token_is_refused_for_the_first_reason_that_applies(
    settings: Settings,
    changes: dict[str, Any],
    client_id: int,
    user_id: int,
    refusal: RefreshRefusal,
) -> None:
    assert refresh_refusal(_presented(**changes), settings, client_id, user_id) is (
        refusal
    )


def test_an_unknown_refresh_token_is_refused(settings: Settings) -> None:
    assert refresh_refusal(None, settings, 11, 101) is RefreshRefusal.UNKNOWN


def test_expiry_follows_the_settings(settings: Settings) -> None:
    shorter = settings.model_copy(
        update={"refresh_token_expire_minutes": 5, "token_absolute_expire_minutes": 60}
    )

    assert refresh_refusal(_presented(), shorter, 11, 101) is RefreshRefusal.IDLE
    assert refresh_refusal(
        _presented(token_created=NOW, session_created=NOW - dt.timedelta(hours=1)),
        shorter,
        11,
        101,
    ) is (RefreshRefusal.PAST_ABSOLUTE_LIMIT)


def test_refresh_settings_default_to_the_originals(settings: Settings) -> None:
    assert settings.refresh_token_expire_minutes == 1440
    assert settings.token_absolute_expire_minutes == 10080
    assert settings.mandatory_client_id_on_refresh is True
    assert settings.mandatory_user_id_on_refresh is True


# --- tokens ---------------------------------------------------------------------


def test_a_full_token_names_its_session_as_a_number() -> None:
    token = tokens.issue(SESSION.claims(), SECRET, 60)

    claims = tokens.decode(token, SECRET)

    assert claims["AD_Session_ID"] == 1000003
    assert tokens.session_from(claims) == SESSION


def test_a_session_without_an_id_puts_no_session_claim() -> None:
    assert "AD_Session_ID" not in replace(SESSION, session_id=None).claims()


@pytest.mark.parametrize("value", ["1000003", "3fa2c4", 1.5, True])
def test_a_session_claim_that_is_not_a_number_is_refused(value: object) -> None:
    with pytest.raises(Unauthorized, match="AD_Session_ID"):
        tokens.session_id_from({"AD_Session_ID": value})


def test_an_access_token_never_outlives_its_limit() -> None:
    limit = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)

    capped = jwt.decode(
        tokens.issue(SESSION.claims(), SECRET, 60, not_after=limit),
        SECRET,
        algorithms=["HS512"],
        issuer="procserv",
    )
    uncapped = jwt.decode(
        tokens.issue(SESSION.claims(), SECRET, 60),
        SECRET,
        algorithms=["HS512"],
        issuer="procserv",
    )

    assert capped["exp"] == int(limit.timestamp())
    assert uncapped["exp"] > capped["exp"] + 50 * 60


def test_decode_may_accept_an_expired_token_for_logout() -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    token = tokens.issue(SESSION.claims(), SECRET, 60, not_after=past)

    with pytest.raises(Unauthorized, match="expired"):
        tokens.decode(token, SECRET)
    assert tokens.decode(token, SECRET, verify_exp=False)["AD_Session_ID"] == 1000003


def test_refresh_tokens_are_random_and_stored_as_a_hash() -> None:
    values = {tokens.new_refresh_token() for _ in range(100)}

    assert len(values) == 100
    assert all(len(value) == 43 for value in values)
    value = values.pop()
    assert tokens.refresh_token_hash(value) == tokens.refresh_token_hash(value)
    assert len(tokens.refresh_token_hash(value)) == 32
    assert value.encode() not in tokens.refresh_token_hash(value)
