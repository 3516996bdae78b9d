"""What the notification tests share: a real SMTP server for the module, a real
worker that delivers to it, and an API with the same settings."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.main import create_app
from app.settings import Settings
from tests.integration.conftest import login
from tests.integration.helpers import USER_ROLE, Account, account
from tests.support.smtp import SmtpServer, delivery_worker, mail_settings


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail(settings: Settings, smtp: SmtpServer) -> Iterator[Settings]:
    """Settings whose worker mails through the module's SMTP server."""
    ours = mail_settings(settings, smtp)
    with delivery_worker(ours):
        yield ours


@pytest.fixture(scope="module")
def api(mail: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(mail)) as client:
        yield client


@pytest.fixture(scope="module")
def admin(api: TestClient) -> dict[str, str]:
    """GardenAdmin's headers on ``api`` (the module's own; the package-wide
    ``admin`` signs in on ``client``)."""
    return {"Authorization": "Bearer " + login(api, "GardenAdmin")}


@pytest.fixture
def alice(client: TestClient, db: psycopg.Connection[Row]) -> Iterator[Account]:
    """A user of GardenWorld's user role, made for the test."""
    with account(client, db, "Alice", [USER_ROLE]) as made:
        yield made


@pytest.fixture
def bob(client: TestClient, db: psycopg.Connection[Row]) -> Iterator[Account]:
    """Another such user, to check Alice's things stay hers."""
    with account(client, db, "Bob", [USER_ROLE]) as made:
        yield made
