"""Files sent for FileName parameters: ``{"fileName", "fileContent"}`` stored with
the instance, read back whole by a worker, and every other form a 400."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.instances import CHUNK_BYTES
from app.settings import Settings
from tests.integration.helpers import (
    assert_error,
    json_body,
    stored_counts,
    unique,
    wait_for_job,
)

pytestmark = pytest.mark.usefixtures("workers")

RUN = "/api/v1/processes/"
JOB = "/api/v1/processes/jobs/"
ROUTES = [RUN, JOB]


def _file(name: str, content: bytes) -> dict[str, str]:
    return {"fileName": name, "fileContent": base64.b64encode(content).decode()}


def _run(client: TestClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    answer = client.post(RUN + "test-upload", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = json_body(answer)
    assert result["isError"] is False, result
    return result


@pytest.fixture
def unchanged(db: psycopg.Connection[Row]) -> Iterator[None]:
    """Fails the test if it stored an instance, a parameter or an upload."""

    def counts() -> tuple[int, int, int]:
        row = db.execute("SELECT count(*) AS n FROM ad_pinstance_output").fetchone()
        assert row is not None
        return (*stored_counts(db), row["n"])

    before = counts()
    yield
    assert counts() == before


def test_a_worker_reads_the_bytes_that_were_uploaded(
    client: TestClient, admin: dict[str, str]
) -> None:
    # More than two chunks, not a multiple of the chunk size.
    content = os.urandom(2 * CHUNK_BYTES + 12_345)

    data = _run(client, admin, {"File": _file("data.bin", content)})["data"]

    digest = hashlib.sha256(content).hexdigest()
    assert data["name"] == "data.bin"
    assert data["size"] == len(content)
    assert data["sha256"] == data["wholeSha256"] == data["storedSha256"] == digest
    assert data["tail"] == content[-10:].hex()


def test_the_upload_is_stored_with_the_instance_and_never_listed_as_an_output(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    content = b"id;name\n1;one\n"
    answer = client.post(
        JOB + "test-upload", json={"File": _file("rows.csv", content)}, headers=admin
    )
    assert answer.status_code == 200, answer.text

    job = wait_for_job(client, admin, json_body(answer)["id"])

    assert job["status"] == "succeeded"
    assert job["outputs"] == []
    output = client.get(f"{JOB}{job['id']}/outputs/1", headers=admin)
    assert output.status_code == 404
    parameter = db.execute(
        "SELECT p_string FROM ad_pinstance_para"
        " WHERE ad_pinstance_id = %s AND parametername = 'File'",
        (job["id"],),
    ).fetchone()
    assert parameter is not None
    assert parameter["p_string"] == "rows.csv"
    stored = db.execute(
        "SELECT o.kind, o.name, o.mediatype, o.size, o.sha256,"
        "       string_agg(c.data, ''::bytea ORDER BY c.seqno) AS data"
        "  FROM ad_pinstance_output o JOIN ad_pinstance_output_chunk c"
        "       USING (ad_pinstance_output_id)"
        " WHERE o.ad_pinstance_id = %s GROUP BY o.ad_pinstance_output_id",
        (job["id"],),
    ).fetchall()
    assert [dict(row) for row in stored] == [
        {
            "kind": "upload",
            "name": "rows.csv",
            "mediatype": "text/csv",
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "data": content,
        }
    ]


def test_only_the_last_part_of_a_file_name_is_kept(
    client: TestClient, admin: dict[str, str]
) -> None:
    for sent in ("../../etc/passwd", "C:\\temp\\..\\report.txt", "/srv/report.txt"):
        data = _run(client, admin, {"File": _file(sent, b"x")})["data"]

        assert data["name"] == sent.replace("\\", "/").rsplit("/", 1)[-1]


def test_a_file_without_a_name_in_wrapped_base64_is_read(
    client: TestClient, admin: dict[str, str]
) -> None:
    content = os.urandom(1000)
    # What `base64 file` prints: lines of 76 characters.
    body = {"File": {"fileContent": base64.encodebytes(content).decode()}}

    data = _run(client, admin, body)["data"]

    assert data["name"] == "RESTUploadedFile.bin"
    assert data["sha256"] == hashlib.sha256(content).hexdigest()


def test_an_empty_file_counts_as_not_sent(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = {"File": {"fileName": "empty.txt", "fileContent": ""}}

    assert _run(client, admin, body)["data"] == {"file": None}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("value", "naming"),
    [
        ("/etc/passwd", "reads no files and fetches no URLs"),
        ("https://example.com/x.zip", "reads no files and fetches no URLs"),
        (["a"], "fileContent"),
        (42, "fileContent"),
        ({"fileName": "x.txt"}, '"fileContent" must be the file in base64'),
        ({"fileName": "x.txt", "fileContent": 5}, "base64"),
        ({"fileName": "x.txt", "fileContent": "not base64!"}, "not valid base64"),
        ({"fileName": "x.txt", "fileContent": "eHl"}, "not valid base64"),
        ({"fileName": 7, "fileContent": "eHl6"}, '"fileName"'),
        ({"fileName": "x.txt", "fileContent": "eHl6\u2028eHl6"}, "not valid base64"),
        ({"fileName": "dir/", "fileContent": "eHl6"}, "is not a file name"),
        ({"fileName": "..", "fileContent": "eHl6"}, "is not a file name"),
        ({"fileName": "a\u0001b", "fileContent": "eHl6"}, "is not a file name"),
        ({"fileName": "x" * 256, "fileContent": "eHl6"}, "longer than 255"),
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_a_bad_file_value_is_a_400_naming_the_parameter(
    client: TestClient, admin: dict[str, str], route: str, value: Any, naming: str
) -> None:
    answer = client.post(route + "test-upload", json={"File": value}, headers=admin)

    assert_error(answer, 400, "Invalid parameter", "parameter File", naming)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.usefixtures("unchanged")
def test_a_file_over_the_upload_limit_is_a_400(
    client: TestClient, admin: dict[str, str], settings: Settings, route: str
) -> None:
    limit = settings.max_upload_bytes
    content = b"\0" * (limit + 1)

    answer = client.post(
        route + "test-upload", json={"File": _file("big.bin", content)}, headers=admin
    )

    assert_error(answer, 400, "Invalid parameter", "File", "big.bin", str(limit))


def test_the_same_file_under_two_names_or_two_files_under_one_are_told_apart(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    label = unique("upload")
    bodies = [
        {"File": _file("a.txt", b"one"), "Label": label},
        {"File": _file("a.txt", b"two"), "Label": label},
        {"File": _file("b.txt", b"one"), "Label": label},
    ]

    ids = [_run(client, admin, body)["AD_PInstance_ID"] for body in bodies]

    digests = db.execute(
        "SELECT DISTINCT paramsdigest FROM ad_pinstance"
        " WHERE ad_pinstance_id = ANY(%s)",
        (ids,),
    ).fetchall()
    assert len(digests) == 3
