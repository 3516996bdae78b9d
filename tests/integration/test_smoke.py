from __future__ import annotations

import base64
import io
import zipfile

from starlette.testclient import TestClient

from tests.integration.conftest import EXPORT


def test_export_runs_synchronously_and_answers_the_zip(
    client: TestClient, admin: dict[str, str], workers: list[str]
) -> None:
    answer = client.post(
        "/api/v1/processes/translationimpexp", json=EXPORT, headers=admin
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["isError"] is False
    names = zipfile.ZipFile(io.BytesIO(base64.b64decode(body["exportFile"]))).namelist()
    assert "AD_Process_Trl_es_CO.xml" in names
