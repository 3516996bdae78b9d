"""The API in-process (Starlette's TestClient runs its lifespan) against the
session's database and broker, with real workers running the instances."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row, connect
from app.main import create_app
from app.settings import Settings


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def db(settings: Settings) -> Iterator[psycopg.Connection[Row]]:
    with connect(settings.database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def nothing_stored(db: psycopg.Connection[Row]) -> Iterator[None]:
    """The test's requests store no instance and no parameter."""
    # Here, not at the top: the helpers module imports this one.
    from tests.integration.helpers import stored_counts  # noqa: PLC0415

    before = stored_counts(db)
    yield
    assert stored_counts(db) == before


def login(client: TestClient, user: str, password: str | None = None) -> str:
    answer = client.post(
        "/api/v1/auth/tokens", json={"userName": user, "password": password or user}
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


@pytest.fixture(scope="session")
def admin(client: TestClient) -> dict[str, str]:
    """Headers of GardenAdmin: read-write on every process, operator."""
    return {"Authorization": "Bearer " + login(client, "GardenAdmin")}


@pytest.fixture(scope="session")
def user(client: TestClient) -> dict[str, str]:
    """Headers of GardenUser: read-only on translationimpexp, nothing else."""
    return {"Authorization": "Bearer " + login(client, "GardenUser")}


EXPORT: dict[str, Any] = {
    "ImportOrExport": "export",
    "AD_Language": "es_CO",
    "IsOnlyCentralizedData": True,
}
