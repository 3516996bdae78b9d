"""AllowMultipleExecution (reference §5.6, decision D5): while an instance of a
process is queued or running, a second request for it gets a 409 or runs,
by the process's rule, on both routes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row, connect
from app.settings import Settings
from tests.integration.helpers import (
    ADMIN_ROLE,
    ALREADY_RUNNING,
    Account,
    account,
    assert_error,
    instance_labelled,
    json_body,
    stored_counts,
    unique,
    wait_for_job,
    wait_until_final,
    wait_until_idle,
)

pytestmark = pytest.mark.usefixtures("workers")

ROUTES = {"run": "/api/v1/processes/", "job": "/api/v1/processes/jobs/"}

# Long enough to still be queued or running when the second request arrives.
BUSY_SECONDS = 1.0

# Whether a second request conflicts, by rule and by who sends it with what:
# (same user, same parameters), (same user, other parameters),
# (other user, same parameters), (other user, other parameters).
SCENARIOS = (
    "same-user-same-params",
    "same-user-other-params",
    "other-user-same-params",
    "other-user-other-params",
)
CONFLICTS = {
    "test-sleep": (False, False, False, False),  # Y
    "test-sleep-n": (True, True, False, False),  # N: not from the same user
    "test-sleep-na": (True, True, True, True),  # NA: not at all
    "test-sleep-p": (True, False, False, False),  # P: not same user and parameters
    "test-sleep-pa": (True, False, True, False),  # PA: not with the same parameters
}


@pytest.fixture(scope="module")
def second(client: TestClient, settings: Settings) -> Iterator[Account]:
    """Another GardenWorld user with the admin role."""
    with (
        connect(settings.database_url, autocommit=True) as conn,
        account(client, conn, "Second", [ADMIN_ROLE]) as other,
    ):
        yield other


def _post(
    client: TestClient, route: str, slug: str, body: Any, headers: dict[str, str]
) -> httpx2.Response:
    return client.post(ROUTES[route] + slug, json=body, headers=headers)


def _start_busy(
    client: TestClient, slug: str, headers: dict[str, str], label: str
) -> int:
    """A job of the process that stays unfinished for a while."""
    body = {"Seconds": BUSY_SECONDS, "Label": label}
    answer = _post(client, "job", slug, body, headers)
    assert answer.status_code == 200, answer.text
    job_id: int = answer.json()["id"]
    return job_id


def _assert_conflict(answer: httpx2.Response, slug: str) -> None:
    assert_error(answer, 409, ALREADY_RUNNING)
    assert answer.json()["detail"] == slug


def _assert_accepted(answer: httpx2.Response, route: str) -> int:
    assert answer.status_code == 200, answer.text
    body = json_body(answer)
    if route == "run":
        assert body["isError"] is False
        return int(body["AD_PInstance_ID"])
    return int(body["id"])


CASES = [
    (slug, scenario, route)
    for slug in CONFLICTS
    for scenario in range(len(SCENARIOS))
    for route in ROUTES
]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{s}-{SCENARIOS[n]}-{r}" for s, n, r in CASES]
)
def test_second_request_conflicts_by_the_process_rule(
    client: TestClient,
    db: psycopg.Connection[Row],
    admin: dict[str, str],
    second: Account,
    case: tuple[str, int, str],
) -> None:
    slug, scenario, route = case
    other_user, other_params = scenario >= 2, scenario % 2 == 1
    wait_until_idle(db, slug)
    label = unique("busy")
    first = _start_busy(client, slug, admin, label)
    body = {"Seconds": 0 if other_params else BUSY_SECONDS, "Label": label}
    if other_params:
        body["Label"] = unique("other")
    before = stored_counts(db)

    answer = _post(client, route, slug, body, second.headers if other_user else admin)

    if CONFLICTS[slug][scenario]:
        _assert_conflict(answer, slug)
        assert stored_counts(db) == before
        wait_until_final(db, [first])
    else:
        wait_until_final(db, [first, _assert_accepted(answer, route)])


@pytest.mark.parametrize("slug", list(CONFLICTS))
def test_a_job_never_conflicts_with_its_own_new_instance(
    client: TestClient, db: psycopg.Connection[Row], admin: dict[str, str], slug: str
) -> None:
    wait_until_idle(db, slug)

    answer = _post(client, "job", slug, {"Label": unique("alone")}, admin)

    assert answer.status_code == 200, answer.text
    assert wait_for_job(client, admin, answer.json()["id"])["status"] == "succeeded"


@pytest.mark.parametrize("route", ["run", "job"])
@pytest.mark.parametrize("slug", ["test-sleep-n", "test-sleep-na", "test-sleep-pa"])
def test_a_new_run_is_accepted_once_the_first_has_finished(
    client: TestClient,
    db: psycopg.Connection[Row],
    admin: dict[str, str],
    slug: str,
    route: str,
) -> None:
    wait_until_idle(db, slug)
    body = {"Seconds": 0.2, "Label": unique("again")}
    first = _post(client, "job", slug, body, admin)
    wait_for_job(client, admin, first.json()["id"])

    answer = _post(client, route, slug, body, admin)

    wait_until_final(db, [_assert_accepted(answer, route)])


def test_a_running_synchronous_run_blocks_a_job(
    client: TestClient, db: psycopg.Connection[Row], admin: dict[str, str]
) -> None:
    wait_until_idle(db, "test-sleep-n")
    label = unique("sync")
    answers: list[httpx2.Response] = []
    body = {"Seconds": BUSY_SECONDS, "Label": label}
    request = threading.Thread(
        target=lambda: answers.append(_post(client, "run", "test-sleep-n", body, admin))
    )
    request.start()
    try:
        first = instance_labelled(db, label)
        before = stored_counts(db)

        answer = _post(client, "job", "test-sleep-n", {"Label": unique("j")}, admin)

        _assert_conflict(answer, "test-sleep-n")
        assert stored_counts(db) == before
    finally:
        request.join()
    _assert_accepted(answers[0], "run")
    wait_until_final(db, [first])


@pytest.mark.parametrize("route", ["run", "job"])
def test_concurrent_requests_for_a_not_multiple_process_start_one_instance(
    client: TestClient, db: psycopg.Connection[Row], admin: dict[str, str], route: str
) -> None:
    wait_until_idle(db, "test-sleep-n")
    before, _ = stored_counts(db)
    start = threading.Barrier(8)
    answers: list[httpx2.Response] = []

    def send() -> None:
        body = {"Seconds": BUSY_SECONDS, "Label": unique("race")}
        start.wait()
        answers.append(_post(client, route, "test-sleep-n", body, admin))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 7
    for answer in answers:
        if answer.status_code == 409:
            _assert_conflict(answer, "test-sleep-n")
    (accepted,) = [a for a in answers if a.status_code == 200]
    assert stored_counts(db)[0] == before + 1
    wait_until_final(db, [_assert_accepted(accepted, route)])
