"""Flower in ``make run``: on FLOWER_PORT when it is free, left out with one line
of explanation when it is not, since it only watches the workers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app.embedded import free_port
from app.settings import Settings
from app.supervisor import CannotStart, banner, flower_port


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        yield other_program.getsockname()[1]


def test_a_free_flower_port_is_used() -> None:
    port = free_port()

    assert flower_port("127.0.0.1", 8000, {"FLOWER_PORT": str(port)}) == port


def test_a_taken_flower_port_leaves_flower_out_and_says_how_to_have_it(
    taken: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert flower_port("127.0.0.1", 8000, {"FLOWER_PORT": str(taken)}) is None

    notice = capsys.readouterr().err
    assert notice.count("\n") == 1
    assert f"port {taken} on 127.0.0.1 is taken" in notice
    assert f"FLOWER_PORT={taken + 1} make run" in notice


def test_the_webs_port_is_not_flowers_too(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()

    assert flower_port("127.0.0.1", port, {"FLOWER_PORT": str(port)}) is None
    assert "Flower not started" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["flower", "0", "70000"])
def test_a_flower_port_that_is_no_port_stops_the_run(value: str) -> None:
    with pytest.raises(CannotStart, match="FLOWER_PORT must be a TCP port number"):
        flower_port("127.0.0.1", 8000, {"FLOWER_PORT": value})


def test_the_banner_names_flower_when_it_runs() -> None:
    settings = Settings(database_url="db", redis_url="broker", seed_demo=False)
    url = "http://127.0.0.1:8000"

    with_flower = banner(url, settings, "http://127.0.0.1:5555")

    assert "http://127.0.0.1:5555  (Flower)" in with_flower
    assert "Flower" not in banner(url, settings)
    assert f"{url}/api/v1/docs" in with_flower
