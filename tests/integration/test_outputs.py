"""Stored outputs of many chunks come back whole: inline in the synchronous
answer and through the download route."""

from __future__ import annotations

import base64
import hashlib
import random

import pytest
from starlette.testclient import TestClient

from app.instances import CHUNK_BYTES
from app.settings import Settings

pytestmark = pytest.mark.usefixtures("workers")

RUN = "/api/v1/processes/"


@pytest.mark.parametrize("chunks", [1, 8, 9, 17])
def test_output_of_many_chunks_reads_back_whole(
    client: TestClient, admin: dict[str, str], settings: Settings, chunks: int
) -> None:
    # A few bytes past a whole number of chunks, so the last chunk is short;
    # the download reads eight chunks per query, so 9 and 17 cross batches, and
    # 17 is over the default inline limit of 16 MiB.
    size = (chunks - 1) * CHUNK_BYTES + 12_345
    expected = random.Random(size).randbytes(size)  # noqa: S311 - test data

    answer = client.post(RUN + "test-big-output", json={"Bytes": size}, headers=admin)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["isError"] is False, body
    assert body["exportFileLength"] == size
    if size <= settings.inline_output_limit:
        assert base64.b64decode(body["exportFile"]) == expected
    else:  # too large to inline: a link instead (D8)
        assert "exportFile" not in body
        assert body["exportFileUrl"].endswith(
            f"/api/v1/processes/jobs/{body['AD_PInstance_ID']}/outputs/1"
        )
    download = client.get(
        f"{RUN}jobs/{body['AD_PInstance_ID']}/outputs/1", headers=admin
    )
    assert download.status_code == 200
    assert int(download.headers["content-length"]) == size
    assert (
        hashlib.sha256(download.content).digest() == hashlib.sha256(expected).digest()
    )
