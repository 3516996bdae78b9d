"""The mail catcher in ``make run``: started when no SMTP_HOST is set, on 1025
when it is free, and what the web and workers are told to send mail with."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from honcho.environ import parse_procfile

from app import supervisor
from app.embedded import free_port
from app.settings import Settings
from app.supervisor import (
    PROCFILE,
    CannotStart,
    background_env,
    banner,
    commands,
    mail_catcher_port,
    mail_env,
)

URL = "http://127.0.0.1:8000"


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        yield other_program.getsockname()[1]


def _settings(**values: Any) -> Settings:
    return Settings(database_url="db", redis_url="broker", seed_demo=False, **values)


def test_without_an_smtp_host_the_catcher_gets_its_usual_port_when_free(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    usual = free_port()
    monkeypatch.setattr(supervisor, "DEFAULT_MAIL_CATCHER_PORT", usual)

    assert mail_catcher_port(_settings(), {}, {8000, 5555}) == usual


def test_the_usual_port_taken_gives_the_catcher_another(
    monkeypatch: pytest.MonkeyPatch, taken: int
) -> None:
    monkeypatch.setattr(supervisor, "DEFAULT_MAIL_CATCHER_PORT", taken)

    port = mail_catcher_port(_settings(), {}, {8000, None})

    assert port not in (None, taken, 8000)


def test_the_usual_port_is_not_taken_from_the_web(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    web = free_port()
    monkeypatch.setattr(supervisor, "DEFAULT_MAIL_CATCHER_PORT", web)

    assert mail_catcher_port(_settings(), {}, {web, None}) != web


def test_an_smtp_host_starts_no_catcher() -> None:
    settings = _settings(smtp_host="smtp.example.com")

    assert mail_catcher_port(settings, {"MAIL_CATCHER_PORT": "2525"}, set()) is None


def test_a_chosen_catcher_port_is_used_and_must_be_free(taken: int) -> None:
    port = free_port()

    assert mail_catcher_port(_settings(), {"MAIL_CATCHER_PORT": str(port)}, set()) == (
        port
    )
    with pytest.raises(CannotStart) as refused:
        mail_catcher_port(_settings(), {"MAIL_CATCHER_PORT": str(taken)}, set())
    message = str(refused.value)
    assert f"MAIL_CATCHER_PORT {taken} on 127.0.0.1 is taken" in message
    assert f"MAIL_CATCHER_PORT={taken + 1} make run" in message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["smtp", "0", "70000"])
def test_a_catcher_port_that_is_no_port_stops_the_run(value: str) -> None:
    with pytest.raises(CannotStart, match="MAIL_CATCHER_PORT must be a TCP port"):
        mail_catcher_port(_settings(), {"MAIL_CATCHER_PORT": value}, set())


def test_the_catcher_runs_beside_the_procfiles_processes(tmp_path: Path) -> None:
    procfile = parse_procfile(PROCFILE.read_text()).processes

    with_catcher = commands({"FLOWER_PORT": "5555"}, 2525, tmp_path / "mail")
    without = commands({"FLOWER_PORT": "5555"}, None, tmp_path / "mail")

    assert without == procfile
    assert with_catcher == {
        **procfile,
        "mailcatcher": f"procserv mail-catcher --port 2525 --host 127.0.0.1 "
        f"--folder {tmp_path / 'mail'}",
    }


def test_the_web_and_workers_send_to_the_catcher_whatever_env_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ``.env`` written for a real server (TLS, a login) must not reach the
    catcher, which speaks neither."""
    for name, value in {
        "SMTP_HOST": "smtp.example.com",
        "SMTP_SECURITY": "tls",
        "SMTP_USER": "someone",
        "SMTP_PASSWORD": "secret",
    }.items():
        monkeypatch.setenv(name, value)
    for name, value in mail_env(2525).items():
        monkeypatch.setenv(name, value)

    children = Settings()

    assert children.smtp_host == "127.0.0.1"
    assert children.smtp_port == 2525
    assert children.smtp_security == "none"
    assert not children.smtp_user
    assert not children.smtp_password.get_secret_value()


def test_the_banner_says_where_mail_goes() -> None:
    caught = banner(URL, _settings(var_dir=Path("var")), mail_port=1025)
    elsewhere = banner(URL, _settings(var_dir=Path("/srv/v"), smtp_host="smtp.ex"))

    assert "mail:     caught on 127.0.0.1:1025" in caught
    assert "kept in ./var/mail/ as an .eml file" in caught
    assert "mail:     sent through smtp.ex:25\n" in elsewhere
    assert "var/mail" not in elsewhere


def test_the_links_in_mail_point_at_the_run_unless_public_url_says_otherwise() -> None:
    env = {"HOST": "127.0.0.1", "PORT": "8123"}
    url = "http://127.0.0.1:8123"

    assert background_env(_settings(), env, url) == {**env, "PUBLIC_URL": url}
    assert background_env(_settings(public_url="https://p.example"), env, url) == env
    assert env == {"HOST": "127.0.0.1", "PORT": "8123"}
