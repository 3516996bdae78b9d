"""A synchronous run that outlasts the wait limit goes on as a job (decision D14)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.main import create_app
from app.settings import Settings
from tests.integration.helpers import instance, json_body, unique, wait_for_job

pytestmark = pytest.mark.usefixtures("workers")

WAIT_SECONDS = 1


@pytest.fixture(scope="module")
def impatient(settings: Settings) -> Iterator[TestClient]:
    """The API with a one-second limit for synchronous runs."""
    app = create_app(settings.model_copy(update={"sync_wait_seconds": WAIT_SECONDS}))
    with TestClient(app) as test_client:
        yield test_client


def test_a_run_past_the_limit_answers_202_with_the_job_and_its_location(
    impatient: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    body = {"Seconds": 3, "Label": unique("slow")}

    answer = impatient.post("/api/v1/processes/test-sleep", json=body, headers=admin)

    assert answer.status_code == 202, answer.text
    job = json_body(answer)
    assert job["processing"] is True
    assert job["process"] == "test-sleep"
    assert answer.headers["location"] == f"/api/v1/processes/jobs/{job['id']}"
    row = instance(db, job["id"])
    assert row["isrunasjob"] is True
    assert row["notificationtype"] == "X"
    assert row["status"] in ("queued", "running")


def test_a_run_past_the_limit_finishes_as_a_job(
    impatient: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    body = {"Seconds": 3, "Label": unique("slow")}
    answer = impatient.post("/api/v1/processes/test-sleep", json=body, headers=admin)
    location = answer.headers["location"]

    listed = impatient.get("/api/v1/processes/jobs", headers=admin).json()["jobs"]
    finished = wait_for_job(impatient, admin, answer.json()["id"])

    assert answer.json()["id"] in [job["id"] for job in listed]
    assert finished["processing"] is False
    assert finished["status"] == "succeeded"
    assert finished["summary"] == "slept 3.0s"
    assert impatient.get(location, headers=admin).json() == finished
    assert instance(db, finished["id"])["attempt"] == 1


def test_a_run_within_the_limit_still_answers_its_result(
    impatient: TestClient, admin: dict[str, str]
) -> None:
    answer = impatient.post(
        "/api/v1/processes/test-echo", json={"Label": "quick"}, headers=admin
    )

    assert answer.status_code == 200
    assert json_body(answer)["summary"] == "echoed"
