"""translationimpexp's declaration: iDempiere's ids and UUIDs, with texts that say
what procserv takes."""

from __future__ import annotations

import json
from pathlib import Path

from processes.translation import TRANSLATION_IMP_EXP

DEMO_TEXTS = Path(__file__).parents[2] / "processes" / "translation" / "es_CO.json"
FILE_NAME_UU = "25f51c86-2286-45dd-9d14-1e34bbd5e148"


def test_the_file_name_parameter_keeps_idempieres_ids_and_says_what_is_sent() -> None:
    (parameter,) = [
        p for p in TRANSLATION_IMP_EXP.parameters if p.column_name == "FileName"
    ]

    assert (parameter.id, parameter.uuid) == (200333, FILE_NAME_UU)
    texts = f"{parameter.description} {parameter.help}"
    for said in ('"fileName"', '"fileContent"', "base64", "zip", "*_<language>.xml"):
        assert said in texts
    for offered in ("file://", "http://", "ftp://", "local directory"):
        assert offered not in texts


def test_the_demo_translation_of_the_file_name_parameter_says_the_same() -> None:
    entry = json.loads(DEMO_TEXTS.read_text(encoding="utf-8"))["AD_Process_Para"][
        FILE_NAME_UU
    ]

    texts = f"{entry['Description']} {entry['Help']}"
    assert '"fileContent"' in texts
    assert "base64" in texts
    assert "file://" not in texts
