from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings

SECRET = "k" * 64


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET must be set"):
        Settings(environment="production", var_dir=tmp_path)


def test_a_short_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="at least 64 bytes"):
        Settings(jwt_secret="short", var_dir=tmp_path)


def test_development_makes_a_secret_once_and_keeps_it(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path).signing_secret()
    again = Settings(var_dir=tmp_path).signing_secret()

    assert len(first) >= 64
    assert first == again
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0


def test_the_secret_never_shows_in_a_repr(tmp_path: Path) -> None:
    settings = Settings(jwt_secret=SECRET, var_dir=tmp_path)

    assert SECRET not in repr(settings)
    assert SECRET not in str(settings.model_dump())
    assert settings.signing_secret() == SECRET


def test_production_seeds_no_demo_unless_asked(tmp_path: Path) -> None:
    production = Settings(environment="production", jwt_secret=SECRET, var_dir=tmp_path)
    asked = production.model_copy(update={"seed_demo": True})

    assert production.should_seed_demo is False
    assert asked.should_seed_demo is True


@pytest.mark.parametrize(
    "mail_from",
    [
        "procserv\r\n<jobs@example.com>",
        "procserv <jobs",
        "procserv <jobs@example.com",
        "a@example.com, b@example.com",
        "team: jobs@example.com;",
        "a b c@example.com",
        "Jöbs <jobs@exämple.com>",
        "bad",
        "",
    ],
)
def test_a_mail_from_no_mail_could_carry_is_refused(
    tmp_path: Path, mail_from: str
) -> None:
    with pytest.raises(ValidationError, match="MAIL_FROM must be one address"):
        Settings(mail_from=mail_from, var_dir=tmp_path)


@pytest.mark.parametrize(
    "mail_from",
    ["procserv <jobs@example.com>", "jobs@example.com", "Jöbs <jobs@example.com>"],
)
def test_a_mail_from_of_one_address_is_taken(tmp_path: Path, mail_from: str) -> None:
    assert Settings(mail_from=mail_from, var_dir=tmp_path).mail_from == mail_from


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"notify_retry_base_seconds": 100, "notify_retry_max_seconds": 10},
            "must not exceed NOTIFY_RETRY_MAX_SECONDS",
        ),
        ({"notify_queue": "mail"}, "must differ"),
        ({"mail_queue": "default"}, "must differ"),
        ({"smtp_user": "usér", "smtp_password": "secret"}, "must be ASCII"),
        ({"smtp_user": "procserv", "smtp_password": "pässwörd"}, "must be ASCII"),
        ({"smtp_password": "secret"}, "SMTP_USER is not"),
    ],
)
def test_mail_settings_that_contradict_or_cannot_work_are_refused(
    tmp_path: Path, values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings.model_validate({"var_dir": tmp_path, **values})
