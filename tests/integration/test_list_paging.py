"""``$orderby``, ``$top`` and ``$skip`` on the list of processes (decision D13)."""

from __future__ import annotations

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from tests.integration.helpers import assert_error

VISIBLE = """
SELECT p.slug FROM ad_process p
  JOIN ad_process_access a ON a.ad_process_id = p.ad_process_id AND a.ad_role_id = 102
 WHERE p.isactive AND a.isactive AND p.ad_form_id IS NULL
"""


def _slugs(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    answer = client.get("/api/v1/processes?" + query, headers=headers)
    assert answer.status_code == 200, answer.text
    return [p["slug"] for p in answer.json()["processes"]]


def _expected(db: psycopg.Connection[Row], order: str) -> list[str]:
    return [r["slug"] for r in db.execute(VISIBLE + " ORDER BY " + order).fetchall()]


def test_the_list_is_ordered_by_value_by_default(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    assert _slugs(client, admin, "") == _expected(db, "p.value, p.ad_process_id")


@pytest.mark.parametrize(
    ("orderby", "order"),
    [
        ("Name desc", "p.name DESC, p.ad_process_id"),
        ("name ASC", "p.name, p.ad_process_id"),
        ("IsReport desc, id", "p.isreport DESC, p.ad_process_id"),
        ("slug", "p.slug, p.ad_process_id"),
    ],
)
def test_orderby_sorts_by_the_named_columns(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    orderby: str,
    order: str,
) -> None:
    assert _slugs(client, admin, "$orderby=" + orderby) == _expected(db, order)


def test_top_and_skip_page_through_the_list_without_overlap(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    everything = _expected(db, "p.value, p.ad_process_id")
    assert len(everything) > 4

    pages = [
        _slugs(client, admin, f"$top=3&$skip={skip}")
        for skip in range(0, len(everything), 3)
    ]

    assert [slug for page in pages for slug in page] == everything
    assert all(len(page) <= 3 for page in pages)


def test_top_zero_gives_an_empty_list(
    client: TestClient, admin: dict[str, str]
) -> None:
    assert _slugs(client, admin, "$top=0") == []


@pytest.mark.parametrize(
    ("query", "naming"),
    [
        ("$top=1001", "$top"),
        ("$top=-1", "$top"),
        ("$top=abc", "$top"),
        ("$skip=x", "$skip"),
        ("$skip=" + "9" * 30, "$skip"),
        ("$orderby=Foo", "Foo"),
        ("$orderby=Name sideways", "sideways"),
        ("$orderby=Name asc desc", "$orderby"),
        ("$orderby=Name,", "$orderby"),
    ],
)
def test_bad_paging_values_are_a_get_error_naming_them(
    client: TestClient, admin: dict[str, str], query: str, naming: str
) -> None:
    answer = client.get("/api/v1/processes?" + query, headers=admin)

    body = assert_error(answer, 400, "GET Error", naming)
    assert body["detail"].startswith("Get process with exception: ")
