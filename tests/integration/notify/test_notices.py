"""``/api/v1/notices``: a user reads, marks and deletes their own notices, and
nobody else's (another user's or another tenant's notice is a 404)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from tests.integration.helpers import (
    Account,
    assert_error,
    json_body,
    other_tenant,
)
from tests.support.notices import make_job, make_notice

NOTICES = "/api/v1/notices"


def _list(client: TestClient, who: Account, query: str = "") -> dict[str, Any]:
    answer = client.get(NOTICES + query, headers=who.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = json_body(answer)
    return body


def _ids(body: dict[str, Any]) -> list[int]:
    return [notice["id"] for notice in body["notices"]]


def test_a_user_lists_their_own_notices_newest_first(
    client: TestClient, db: psycopg.Connection[Row], alice: Account, bob: Account
) -> None:
    first = make_notice(db, alice.user_id)
    second = make_notice(db, alice.user_id)
    make_notice(db, bob.user_id)

    body = _list(client, alice)

    assert _ids(body) == [second, first]
    assert body["unreadCount"] == 2


def test_a_notice_shows_its_job_and_the_jobs_outputs(
    client: TestClient, db: psycopg.Connection[Row], alice: Account
) -> None:
    outputs = [("report", "a.pdf"), ("upload", "in.zip"), ("export", "b.csv")]
    job_id = make_job(db, alice.user_id, outputs=outputs)
    note_id = make_notice(db, alice.user_id, job_id, text="Translation\nDone")

    answer = client.get(f"{NOTICES}/{note_id}", headers=alice.headers)
    job = client.get(f"/api/v1/processes/jobs/{job_id}", headers=alice.headers)

    notice = json_body(answer)
    row = db.execute(
        "SELECT ad_note_uu, created FROM ad_note WHERE ad_note_id = %s", (note_id,)
    ).fetchone()
    assert row is not None
    assert notice == {
        "id": note_id,
        "uid": str(row["ad_note_uu"]),
        "AD_PInstance_ID": job_id,
        "process": "translationimpexp",
        "message": "BackgroundJob",
        "text": "Translation\nDone",
        "isRead": False,
        "created": row["created"].isoformat(timespec="seconds"),
        "outputs": json_body(job)["outputs"],
        "model-name": "ad_note",
    }
    assert [o["name"] for o in notice["outputs"]] == ["a.pdf", "b.csv"]


def test_unread_true_lists_only_unread_notices(
    client: TestClient, db: psycopg.Connection[Row], alice: Account
) -> None:
    read = make_notice(db, alice.user_id)
    unread = make_notice(db, alice.user_id)
    client.post(f"{NOTICES}/{read}/read", headers=alice.headers)

    assert _ids(_list(client, alice, "?unread=true")) == [unread]
    assert _ids(_list(client, alice, "?unread=FALSE")) == [unread, read]
    assert _list(client, alice)["unreadCount"] == 1


def test_top_and_skip_page_through_the_notices(
    client: TestClient, db: psycopg.Connection[Row], alice: Account
) -> None:
    made = [make_notice(db, alice.user_id) for _ in range(5)]
    newest_first = made[::-1]

    pages = [_ids(_list(client, alice, f"?$top=2&$skip={s}")) for s in (0, 2, 4)]

    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    assert _list(client, alice, "?$top=2&$skip=4")["unreadCount"] == 5


@pytest.mark.parametrize(
    ("query", "naming"),
    [
        ("?unread=yes", ("unread", "'yes'")),
        ("?$top=1001", ("$top", "1001")),
        ("?$top=-1", ("$top", "-1")),
        ("?$skip=x", ("$skip", "'x'")),
    ],
)
def test_a_bad_filter_or_window_is_a_400_naming_it(
    client: TestClient, alice: Account, query: str, naming: tuple[str, ...]
) -> None:
    answer = client.get(NOTICES + query, headers=alice.headers)

    assert_error(answer, 400, "Invalid parameter", *naming)


def test_marking_read_answers_the_notice_and_can_be_repeated(
    client: TestClient, db: psycopg.Connection[Row], alice: Account
) -> None:
    note_id = make_notice(db, alice.user_id)

    first = client.post(f"{NOTICES}/{note_id}/read", headers=alice.headers)
    when = db.execute(
        "SELECT processedat FROM ad_note WHERE ad_note_id = %s", (note_id,)
    ).fetchone()
    second = client.post(f"{NOTICES}/{note_id}/read", headers=alice.headers)

    assert json_body(first)["isRead"] is True
    assert json_body(second) == json_body(first)
    assert when is not None
    assert when["processedat"] is not None
    again = db.execute(
        "SELECT processedat FROM ad_note WHERE ad_note_id = %s", (note_id,)
    ).fetchone()
    assert again == when


def test_a_deleted_notice_is_gone_and_a_second_delete_is_a_404(
    client: TestClient, db: psycopg.Connection[Row], alice: Account
) -> None:
    note_id = make_notice(db, alice.user_id)
    kept = make_notice(db, alice.user_id)

    deleted = client.delete(f"{NOTICES}/{note_id}", headers=alice.headers)
    again = client.delete(f"{NOTICES}/{note_id}", headers=alice.headers)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(again, 404, "Notice not found", str(note_id))
    read = client.get(f"{NOTICES}/{note_id}", headers=alice.headers)
    assert_error(read, 404, "Notice not found", str(note_id))
    assert _ids(_list(client, alice)) == [kept]


def test_another_users_notice_is_not_found_and_stays_as_it_was(
    client: TestClient, db: psycopg.Connection[Row], alice: Account, bob: Account
) -> None:
    note_id = make_notice(db, bob.user_id)
    query = "SELECT * FROM ad_note WHERE ad_note_id = %s"
    before = db.execute(query, (note_id,)).fetchone()

    answers = [
        client.get(f"{NOTICES}/{note_id}", headers=alice.headers),
        client.post(f"{NOTICES}/{note_id}/read", headers=alice.headers),
        client.delete(f"{NOTICES}/{note_id}", headers=alice.headers),
    ]

    for answer in answers:
        body = assert_error(answer, 404, "Notice not found")
        assert body["detail"] == f"No notice found matching id {note_id}"
    assert db.execute(query, (note_id,)).fetchone() == before
    assert _ids(_list(client, bob)) == [note_id]


def test_a_notice_of_the_user_in_another_tenant_is_not_found(
    client: TestClient, db: psycopg.Connection[Row], alice: Account
) -> None:
    with other_tenant(client, db, {}) as stranger:
        tenant = db.execute(
            "SELECT ad_client_id FROM ad_user WHERE ad_user_id = %s",
            (stranger.user_id,),
        ).fetchone()
        assert tenant is not None
        job_id = make_job(db, alice.user_id)
        elsewhere = make_notice(
            db, alice.user_id, job_id, client_id=tenant["ad_client_id"]
        )
        try:
            answer = client.get(f"{NOTICES}/{elsewhere}", headers=alice.headers)
            listed = _list(client, alice)
        finally:
            db.execute("DELETE FROM ad_note WHERE ad_note_id = %s", (elsewhere,))

    assert_error(answer, 404, "Notice not found")
    assert listed == {"notices": [], "unreadCount": 0}


@pytest.mark.parametrize("raw", ["abc", "-1", "1.0", "99999999999999999999", "%20"])
def test_an_id_that_is_no_number_is_a_404_naming_it(
    client: TestClient, alice: Account, raw: str
) -> None:
    answer = client.get(f"{NOTICES}/{raw}", headers=alice.headers)

    assert_error(answer, 404, "Notice not found", "No notice found matching id")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", NOTICES),
        ("GET", NOTICES + "/1"),
        ("POST", NOTICES + "/1/read"),
        ("DELETE", NOTICES + "/1"),
    ],
)
def test_every_notice_route_needs_a_token(
    client: TestClient, method: str, path: str
) -> None:
    answer = client.request(method, path)

    assert_error(answer, 401, "Unauthorized", "bearer token")


def test_a_token_in_the_query_is_only_for_the_event_stream(
    client: TestClient, alice: Account
) -> None:
    token = alice.headers["Authorization"].removeprefix("Bearer ")

    answer = client.get(NOTICES, params={"access_token": token})

    assert_error(answer, 401, "Unauthorized")
