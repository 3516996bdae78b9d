"""translationimpexp's import: procserv's own exports and iDempiere-style files go
back into the translation tables in one transaction, and hostile files are
refused without harm."""

from __future__ import annotations

import base64
import io
import re
import tracemalloc
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.settings import Settings
from processes.context import Context, ProcessError, Upload
from processes.translation.importer import import_translations
from tests.integration.conftest import EXPORT
from tests.integration.helpers import (
    ALREADY_RUNNING,
    assert_error,
    json_body,
    stored_counts,
    wait_for_job,
    wait_until_running,
)

pytestmark = pytest.mark.usefixtures("workers", "translations_restored")

RUN = "/api/v1/processes/"
JOB = "/api/v1/processes/jobs/"
ROUTES = [RUN, JOB]
FIXTURES = Path(__file__).parents[1] / "fixtures" / "translation"

PROCESS_UU = "9b654152-331f-4ac7-9c61-06b1d1bc3edf"  # TranslationImpExp, 200126
TRL_TABLES = {
    "ad_process_trl": "ad_process_id",
    "ad_process_para_trl": "ad_process_para_id",
    "ad_ref_list_trl": "ad_ref_list_id",
}

Snapshot = dict[str, list[dict[str, Any]]]


# --- keeping the test database's translations ----------------------------------


def _snapshot(db: psycopg.Connection[Row]) -> Snapshot:
    """Every translation row and every language, as stored."""
    tables = {**TRL_TABLES, "ad_language": "ad_language"}
    return {
        table: [
            dict(row)
            for row in db.execute(
                f"SELECT * FROM {table} ORDER BY {key}, ad_language"
            ).fetchall()
        ]
        for table, key in tables.items()
    }


def _restore(db: psycopg.Connection[Row], snapshot: Snapshot) -> None:
    languages = [row["ad_language"] for row in snapshot["ad_language"]]
    db.execute("DELETE FROM ad_language WHERE NOT ad_language = ANY(%s)", (languages,))
    for table, key in {**TRL_TABLES, "ad_language": "ad_language"}.items():
        for row in snapshot[table]:
            columns = [c for c in row if c not in (key, "ad_language")]
            assignments = ", ".join(f"{c} = %({c})s" for c in columns)
            where = f"{key} = %({key})s" + (
                " AND ad_language = %(ad_language)s" if key != "ad_language" else ""
            )
            db.execute(f"UPDATE {table} SET {assignments} WHERE {where}", row)


@pytest.fixture
def translations_restored(db: psycopg.Connection[Row]) -> Iterator[None]:
    """Each test leaves the translations and languages as it found them."""
    snapshot = _snapshot(db)
    yield
    _restore(db, snapshot)
    assert _snapshot(db) == snapshot


@pytest.fixture
def unchanged(db: psycopg.Connection[Row]) -> Iterator[None]:
    """Fails the test if it stored an instance, a parameter or an upload, or
    changed a translation."""

    def state() -> tuple[Any, ...]:
        row = db.execute("SELECT count(*) AS n FROM ad_pinstance_output").fetchone()
        assert row is not None
        return stored_counts(db), row["n"], _snapshot(db)

    before = state()
    yield
    assert state() == before


@pytest.fixture
def portuguese(db: psycopg.Connection[Row]) -> str:
    """pt_BR as an active system language (removed with the test's restore)."""
    db.execute(
        "INSERT INTO ad_language (ad_language, ad_language_id, name, languageiso,"
        " countrycode, issystemlanguage) VALUES ('pt_BR', 1000002,"
        " 'Português (Brasil)', 'pt', 'BR', true)"
    )
    return "pt_BR"


# --- files ------------------------------------------------------------------------


def _fixture(path: str) -> bytes:
    return (FIXTURES / path).read_bytes()


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _body(name: str, content: bytes, language: str = "es_CO") -> dict[str, Any]:
    return {
        "ImportOrExport": "import",
        "AD_Language": language,
        "FileName": {
            "fileName": name,
            "fileContent": base64.b64encode(content).decode(),
        },
    }


def _post(
    client: TestClient, headers: dict[str, str], route: str, body: Any
) -> httpx2.Response:
    return client.post(route + "translationimpexp", json=body, headers=headers)


def _run(
    client: TestClient,
    headers: dict[str, str],
    name: str,
    content: bytes,
    *,
    route: str = RUN,
    language: str = "es_CO",
) -> dict[str, Any]:
    """Import through either route; the finished run as summary, isError, logs.
    A job notifies nobody, so its log holds only what the import wrote."""
    sent = _body(name, content, language)
    if route == JOB:
        sent["notification-type"] = "X"
    answer = _post(client, headers, route, sent)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = json_body(answer)
    if route == JOB:
        body = wait_for_job(client, headers, body["id"])
    return body


def _messages(body: Mapping[str, Any]) -> list[str]:
    return [log["msg"] for log in body["logs"]]


def _process_trl(db: psycopg.Connection[Row], language: str = "es_CO") -> Row:
    row = db.execute(
        "SELECT * FROM ad_process_trl WHERE ad_process_id = 200126"
        " AND ad_language = %s",
        (language,),
    ).fetchone()
    assert row is not None
    return row


def _trl(db: psycopg.Connection[Row], table: str, key: int) -> Row:
    row = db.execute(
        f"SELECT * FROM {table} WHERE {TRL_TABLES[table]} = %s"
        " AND ad_language = 'es_CO'",
        (key,),
    ).fetchone()
    assert row is not None
    return row


# --- a file procserv exported ----------------------------------------------------


def _export(client: TestClient, headers: dict[str, str]) -> dict[str, bytes]:
    answer = _post(client, headers, RUN, EXPORT)
    assert answer.status_code == 200, answer.text
    archive = zipfile.ZipFile(
        io.BytesIO(base64.b64decode(json_body(answer)["exportFile"]))
    )
    return {name: archive.read(name) for name in archive.namelist()}


def _rename_process(document: bytes, name: str) -> bytes:
    """The file with TranslationImpExp's translated Name changed."""
    row = re.compile(
        rf'(<row trl="[YN]" uuid="{PROCESS_UU}">\n  <value column="Name"'
        r' original="[^"]*")(/>|>[^<]*</value>)'.encode()
    )
    edited, count = row.subn(
        lambda match: match.group(1) + b">" + name.encode() + b"</value>", document
    )
    assert count == 1
    return edited


@pytest.mark.parametrize("route", ROUTES)
def test_an_edited_export_imports_back_and_shows_in_that_language(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row], route: str
) -> None:
    files = _export(client, admin)
    edited = f"Traducción editada por {route.strip('/').rsplit('/', 1)[-1]}"
    files["AD_Process_Trl_es_CO.xml"] = _rename_process(
        files["AD_Process_Trl_es_CO.xml"], edited
    )
    rows = files["AD_Process_Trl_es_CO.xml"].count(b"<row ")
    db.execute(
        "UPDATE ad_language SET isloginlocale = false WHERE ad_language = 'es_CO'"
    )

    body = _run(client, admin, "es_CO_trlExport.zip", _zip(files), route=route)

    assert body["summary"] == "OK"
    assert body["isError"] is False
    assert f"AD_Process_Trl Updated={rows}" in _messages(body)
    assert not [m for m in _messages(body) if "Not Found" in m]
    assert _process_trl(db)["name"] == edited
    assert _process_trl(db)["istranslated"] is True
    language = db.execute(
        "SELECT isloginlocale FROM ad_language WHERE ad_language = 'es_CO'"
    ).fetchone()
    assert language is not None
    assert language["isloginlocale"] is True
    answer = client.get(RUN + "translationimpexp?locale=es_CO", headers=admin)
    assert answer.json()["Name"] == edited


def test_an_unedited_export_imports_without_changing_a_text(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    files = _export(client, admin)
    texts = {
        table: [{k: v for k, v in row.items() if k != "updated"} for row in rows]
        for table, rows in _snapshot(db).items()
        if table != "ad_language"
    }

    body = _run(client, admin, "back.zip", _zip(files))

    assert body["summary"] == "OK"
    after = {
        table: [{k: v for k, v in row.items() if k != "updated"} for row in rows]
        for table, rows in _snapshot(db).items()
        if table != "ad_language"
    }
    assert after == texts


# --- iDempiere-style files ---------------------------------------------------------


def _es_co_pack(prefix: str = "es_CO/") -> dict[str, bytes]:
    return {
        prefix + path.name: path.read_bytes()
        for path in sorted((FIXTURES / "es_CO").iterdir())
    }


def test_a_zip_mixing_known_and_unknown_tables_imports_what_procserv_has(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    files = {**_es_co_pack(), "readme.txt": b"not a translation"}

    body = _run(client, admin, "es_CO.zip", _zip(files), route=JOB)

    assert body["status"] == "succeeded", body
    assert _messages(body) == [
        "Ignored file readme.txt: its name does not end _es_CO.xml",
        "Ignored file es_CO/AD_Element_Trl_es_CO.xml: procserv has no AD_Element_Trl",
        "Ignored file es_CO/AD_Message_Trl_es_CO.xml: procserv has no AD_Message_Trl",
        "Ignored file es_CO/AD_Table_Trl_es_CO.xml: procserv has no AD_Table_Trl",
        "AD_Process_Para_Trl Updated=1",
        "AD_Process_Para_Trl Not Found=1",
        "AD_Process_Trl Updated=1",
        "AD_Process_Trl Not Found=4 (1 have only an id above 999999, which only"
        " the system that wrote the file knows)",
        "AD_Ref_List_Trl Updated=2",
        "AD_Ref_List_Trl Not Found=1",
    ]
    numbers = {log["msg"].split("=")[0]: log.get("number") for log in body["logs"]}
    assert numbers["AD_Process_Trl Updated"] == 1
    assert numbers["AD_Process_Trl Not Found"] == 4
    process = _process_trl(db)
    assert process["name"] == "Importar/Exportar Traducción (paquete)"
    # CDATA on its own indented line: the layout around it is not text.
    assert process["help"] == (
        "Exporta/importa la traducción a/desde XML para <herramientas> externas "
        "& editores."
    )
    parameter = _trl(db, "ad_process_para_trl", 200329)
    assert (parameter["name"], parameter["description"]) == (
        "Importar/Exportar (paquete)",
        None,
    )
    assert (parameter["placeholder"], parameter["placeholder2"]) == (None, None)
    exported = _trl(db, "ad_ref_list_trl", 200496)
    assert exported["name"] == "Export"
    assert exported["description"] == "Exporta a <archivo> & zip"
    assert exported["istranslated"] is False
    assert _trl(db, "ad_ref_list_trl", 200495)["name"] == "Importar (paquete)"


def test_a_single_legacy_adempiere_file_imports(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    content = _fixture("legacy/AD_Process_Trl_es_CO.xml")

    body = _run(client, admin, "AD_Process_Trl_es_CO.xml", content)

    assert body["summary"] == "OK", body
    assert _messages(body) == ["AD_Process_Trl Updated=1", "AD_Process_Trl Not Found=1"]
    process = _process_trl(db)
    assert process["name"] == "Importar/Exportar Traducción (ADempiere)"
    assert process["description"] == "Importa o exporta <traducciones>"
    assert process["help"] is None


def test_adempiere_and_compiere_roots_import_from_one_zip(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    files = {path.name: path.read_bytes() for path in (FIXTURES / "legacy").iterdir()}

    body = _run(client, admin, "legacy.zip", _zip(files))

    assert body["summary"] == "OK", body
    assert "AD_Ref_List_Trl Updated=1" in _messages(body)
    assert _trl(db, "ad_ref_list_trl", 200496)["name"] == "Exportar (Compiere)"


def test_a_file_of_another_language_imports_into_that_language(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    portuguese: str,
) -> None:
    content = _fixture("pt_BR/AD_Process_Trl_pt_BR.xml")

    body = _run(
        client,
        admin,
        "pt_BR.zip",
        _zip({"pt_BR/x_pt_BR.xml": content}),
        language=portuguese,
    )

    assert body["summary"] == "OK", body
    assert _messages(body) == ["AD_Process_Trl Updated=1"]
    translated = _process_trl(db, portuguese)
    assert translated["name"] == "Importar/Exportar Tradução"
    assert translated["help"] is None
    assert _process_trl(db)["name"] != translated["name"]


def test_rows_with_only_an_id_above_the_official_range_are_not_found(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    before = _snapshot(db)
    content = (
        b'<idempiereTrl language="es_CO" table="AD_Process">'
        b'<row id="1200126" trl="Y"><value column="Name" original="">A</value></row>'
        b'<row id="abc" trl="Y"><value column="Name" original="">B</value></row>'
        b'<row trl="Y" uuid="not-a-uuid">'
        b'<value column="Name" original="">C</value></row>'
        b'<row trl="Y" uuid="00000000-0000-4000-8000-000000000000">'
        b'<value column="Name" original="">D</value></row>'
        b"</idempiereTrl>"
    )

    body = _run(client, admin, "ids.xml", content)

    assert body["summary"] == "OK", body
    assert _messages(body) == [
        "AD_Process_Trl Updated=0",
        "AD_Process_Trl Not Found=4 (1 have only an id above 999999, which only the"
        " system that wrote the file knows)",
    ]
    after = _snapshot(db)
    assert after["ad_process_trl"] == before["ad_process_trl"]


def test_columns_procserv_lacks_are_ignored_and_said_so(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    content = (
        b'<idempiereTrl language="es_CO" table="AD_Process">'
        b'<row id="200126" trl="Y"><value column="name" original="">Nombre</value>'
        b'<value column="PO_Name" original="">Compras</value></row>'
        b"</idempiereTrl>"
    )

    body = _run(client, admin, "AD_Process_Trl_es_CO.xml", content)

    assert _messages(body) == [
        "AD_Process_Trl Updated=1",
        "AD_Process_Trl Ignored columns: PO_Name",
    ]
    assert _process_trl(db)["name"] == "Nombre"


def test_a_second_file_for_a_table_is_ignored(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    first = _fixture("legacy/AD_Process_Trl_es_CO.xml")
    second = _fixture("es_CO/AD_Process_Trl_es_CO.xml")
    files = {
        "AD_Process_Trl_es_CO.xml": first,
        "es_CO/AD_Process_Trl_es_CO.xml": second,
    }

    body = _run(client, admin, "twice.zip", _zip(files))

    assert _messages(body) == [
        "Ignored file es_CO/AD_Process_Trl_es_CO.xml: AD_Process_Trl is imported"
        " from AD_Process_Trl_es_CO.xml",
        "AD_Process_Trl Updated=1",
        "AD_Process_Trl Not Found=1",
    ]
    assert _process_trl(db)["name"] == "Importar/Exportar Traducción (ADempiere)"


def test_with_ad_table_id_only_that_table_is_imported(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    files = {
        "AD_Ref_List_Trl_es_CO.xml": _fixture("es_CO/AD_Ref_List_Trl_es_CO.xml"),
        "AD_Process_Trl_es_CO.xml": _fixture("es_CO/AD_Process_Trl_es_CO.xml"),
    }
    lists = _snapshot(db)["ad_ref_list_trl"]
    body = _body("es_CO.zip", _zip(files)) | {"AD_Table_ID": 287}  # AD_Process_Trl

    answer = _post(client, admin, RUN, body)

    assert answer.status_code == 200, answer.text
    assert json_body(answer)["summary"] == "OK"
    assert _messages(json_body(answer)) == [
        "Ignored file AD_Ref_List_Trl_es_CO.xml: only AD_Process_Trl is imported"
        " (the AD_Table_ID parameter)",
        "AD_Process_Trl Updated=1",
        "AD_Process_Trl Not Found=4 (1 have only an id above 999999, which only"
        " the system that wrote the file knows)",
    ]
    assert _process_trl(db)["name"] == "Importar/Exportar Traducción (paquete)"
    assert _snapshot(db)["ad_ref_list_trl"] == lists


def test_two_files_of_one_name_are_two_imports_one_file_twice_is_one(
    client: TestClient, admin: dict[str, str], db: psycopg.Connection[Row]
) -> None:
    # TranslationImpExp runs once at a time per user and parameters (P); with both
    # job workers asleep, the first import waits in the queue.
    sleeps = [
        json_body(client.post(JOB + "test-sleep", json={"Seconds": 2}, headers=admin))[
            "id"
        ]
        for _ in range(2)
    ]
    for sleep in sleeps:
        wait_until_running(db, sleep)
    name = "AD_Process_Trl_es_CO.xml"
    first = _body(name, _fixture("legacy/AD_Process_Trl_es_CO.xml"))
    other = _body(name, _fixture("es_CO/AD_Process_Trl_es_CO.xml"))

    queued = _post(client, admin, JOB, first)
    different = _post(client, admin, JOB, other)
    same = _post(client, admin, JOB, first)

    assert queued.status_code == 200, queued.text
    assert different.status_code == 200, different.text
    assert_error(same, 409, ALREADY_RUNNING)
    for answer in (queued, different):
        job = wait_for_job(client, admin, json_body(answer)["id"])
        assert job["status"] == "succeeded"


# --- refused before anything is stored ---------------------------------------------


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.usefixtures("unchanged")
def test_an_import_without_a_file_is_a_400(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    body = {"ImportOrExport": "import", "AD_Language": "es_CO"}

    answer = _post(client, admin, route, body)

    assert_error(answer, 400, "Missing parameters", "FileName")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.usefixtures("unchanged")
def test_a_base_language_file_is_a_400(
    client: TestClient, admin: dict[str, str], route: str
) -> None:
    content = _fixture("es_CO/AD_Process_Trl_es_CO.xml").replace(
        b'language="es_CO"', b'language="en_US"'
    )

    in_file = _post(client, admin, route, _body("AD_Process_Trl_en_US.xml", content))
    as_parameter = _post(client, admin, route, _body("x.xml", content, "en_US"))

    assert_error(in_file, 400, "Invalid parameter", "FileName", "en_US", "base")
    assert_error(as_parameter, 400, "Invalid parameter", "AD_Language", "base")


@pytest.mark.parametrize(
    ("name", "content", "naming"),
    [
        ("x.txt", b"<idempiereTrl/>", "must be a .zip or an .xml file"),
        ("x.zip", b"PK not really", "not a readable zip"),
        ("x.xml", b"<translations/>", "the root element is <translations>"),
        ("x.xml", b'<idempiereTrl table="AD_Process"/>', "language and a table"),
        ("x.xml", b" \n", "no element found"),
        ("x.xml", b"<idempiereTrl\xff", "not well-formed"),
        (
            "x.xml",
            b'<idempiereTrl language="pt_BR" table="AD_Process"/>',
            "for language pt_BR, not es_CO",
        ),
        (
            "x.xml",
            b'<idempiereTrl language="es_CO" table="AD_Message"/>',
            "nothing in it is for a table procserv has",
        ),
        (
            "x.zip",
            _zip({"AD_Process_Trl_pt_BR.xml": b"<x/>", "notes.txt": b""}),
            "holds no *_es_CO.xml file",
        ),
        (
            "x.zip",
            _zip(
                {
                    "es_CO/AD_Message_Trl_es_CO.xml": _fixture(
                        "es_CO/AD_Message_Trl_es_CO.xml"
                    )
                }
            ),
            "it holds AD_Message",
        ),
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_a_file_the_import_cannot_use_is_a_400_naming_it(
    client: TestClient, admin: dict[str, str], name: str, content: bytes, naming: str
) -> None:
    answer = _post(client, admin, RUN, _body(name, content))

    assert_error(answer, 400, "Invalid parameter", "FileName", name, naming)


# --- every fault of the file itself is a 400 before anything is stored ------------

_VALID = _fixture("es_CO/AD_Process_Trl_es_CO.xml")
_FAULTS = {
    "truncated": _VALID[: _VALID.index(b' <row id="1000123"')],
    "invalid UTF-8": _VALID.replace(b"Per\xc3\xadodos", b"Per\xc3\x28odos"),
    "NUL reference": _VALID.replace(b"(vac\xc3\xado)", b"&#0;"),
    "nested element": _VALID.replace(
        b' <row id="1000123"', b' <row id="1000123"><oops>'
    ),
    "row without a key": _VALID.replace(b'<row id="101" trl="Y">', b'<row trl="Y">'),
    "empty Name": _VALID.replace(b">Proceso del Inquilino</value>", b"/>"),
    "unknown encoding": _VALID.replace(b'encoding="UTF-8"', b'encoding="EBCDIC-FOO"'),
    "long Name": _VALID.replace(b"Proceso del Inquilino", b"x" * 70_000),
}
_NAMING = {
    "truncated": "no element found",
    "invalid UTF-8": "line 6, column ",
    "NUL reference": "reference to invalid character number",
    "nested element": "unexpected element <oops> in <row>",
    "row without a key": "line 10: a <row> has neither a uuid nor an id",
    "empty Name": "line 24: the AD_Process row id=1000123 gives an empty Name",
    "unknown encoding": "declares the encoding EBCDIC-FOO",
    "long Name": "line 25: the AD_Process row id=1000123, column Name: the text is"
    " longer than 65536 characters",
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("fault", list(_FAULTS))
@pytest.mark.usefixtures("unchanged")
def test_a_fault_of_the_file_is_a_400_naming_it_before_anything_is_stored(
    client: TestClient, admin: dict[str, str], route: str, fault: str
) -> None:
    files = {
        "AD_Ref_List_Trl_es_CO.xml": _fixture("es_CO/AD_Ref_List_Trl_es_CO.xml"),
        "AD_Process_Trl_es_CO.xml": _FAULTS[fault],
    }

    answer = _post(client, admin, route, _body("broken.zip", _zip(files)))

    assert_error(
        answer,
        400,
        "Invalid parameter",
        "Invalid value for parameter FileName: broken.zip: AD_Process_Trl_es_CO.xml: ",
        _NAMING[fault],
    )


@pytest.mark.usefixtures("unchanged")
def test_an_encrypted_entry_is_a_400_naming_it_plainly(
    client: TestClient, admin: dict[str, str]
) -> None:
    document = bytearray(_zip({"AD_Process_Trl_es_CO.xml": _VALID}))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = document.index(signature) + flags_at
        document[at] |= 0x1  # the flag an encrypting zip tool sets

    answer = _post(client, admin, RUN, _body("secreto.zip", bytes(document)))

    body = assert_error(
        answer,
        400,
        "Invalid parameter",
        "secreto.zip: AD_Process_Trl_es_CO.xml: it is encrypted",
    )
    assert "ZipInfo" not in body["detail"]


# --- failures of the run change nothing and claim nothing -------------------------


class _Record:
    """The instance's record, as a run writes it: its log lines, kept here."""

    def __init__(self) -> None:
        self.logs: list[str | None] = []

    def log(self, message: str | None, **_: Any) -> None:
        self.logs.append(message)

    def progress(self, percent: float, message: str) -> None:
        pass

    def output(self, name: str, media_type: str, kind: str) -> Any:
        raise AssertionError("an import writes no output")


def _context(settings: Settings, record: _Record, upload_content: bytes) -> Context:
    return Context(
        instance_id=0,
        process_value="TranslationImpExp",
        client_id=0,
        org_id=0,
        user_id=100,
        role_id=0,
        language="en_US",
        params={
            "ImportOrExport": "import",
            "AD_Language": "es_CO",
            "FileName": Upload.from_bytes("broken.zip", upload_content),
        },
        params_to={},
        record_id=None,
        table_id=None,
        report_type=None,
        is_summary=False,
        writer=record,
        database_url=settings.database_url,
    )


def test_a_run_that_fails_after_a_file_was_imported_logs_no_counts(
    db: psycopg.Connection[Row], settings: Settings
) -> None:
    # What the API's check would refuse, run as a worker would run it anyway:
    # the first file updates rows, the second fails mid-file.
    broken = _VALID.replace(b' <row id="1000123"', b' <row id="1000123"><oops>', 1)
    files = {
        "AD_Ref_List_Trl_es_CO.xml": _fixture("es_CO/AD_Ref_List_Trl_es_CO.xml"),
        "AD_Process_Trl_es_CO.xml": broken,
    }
    record = _Record()
    context = _context(settings, record, _zip(files))
    before = _snapshot(db)

    with pytest.raises(ProcessError) as raised:
        import_translations(context)
    context.close(commit=False)

    assert str(raised.value).startswith("broken.zip: AD_Process_Trl_es_CO.xml: line ")
    assert str(raised.value).endswith("; no translation was changed")
    assert record.logs == []
    assert _snapshot(db) == before


def test_a_language_made_inactive_before_the_run_fails_it_and_changes_nothing(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    portuguese: str,
) -> None:
    # Both workers of the job queue sleep, so the import waits in the queue while
    # its language is deactivated.
    sleeps = [
        json_body(client.post(JOB + "test-sleep", json={"Seconds": 3}, headers=admin))[
            "id"
        ]
        for _ in range(2)
    ]
    for sleep in sleeps:
        wait_until_running(db, sleep)
    content = _fixture("pt_BR/AD_Process_Trl_pt_BR.xml")
    answer = _post(client, admin, JOB, _body("x.xml", content, portuguese))
    assert answer.status_code == 200, answer.text
    db.execute("UPDATE ad_language SET isactive = false WHERE ad_language = 'pt_BR'")
    before = _snapshot(db)

    job = wait_for_job(client, admin, json_body(answer)["id"])

    assert job["status"] == "failed"
    assert job["summary"] == "Language not active or not system language: pt_BR"
    assert _snapshot(db) == before


# --- hostile files ----------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE idempiereTrl [\n <!ENTITY a "lol">\n'
    + b"".join(
        f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n'.encode()
        for i in range(9)
    )
    + b']>\n<idempiereTrl language="es_CO" table="AD_Process">\n'
    b' <row id="200126" trl="Y"><value column="Name" original="">&j;</value></row>\n'
    b"</idempiereTrl>"
)

EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n'
    b'<!DOCTYPE idempiereTrl [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    b'<idempiereTrl language="es_CO" table="AD_Process">\n'
    b' <row id="200126" trl="Y"><value column="Name" original="">&secret;</value>'
    b"</row>\n</idempiereTrl>"
)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("AD_Process_Trl_es_CO.xml", BILLION_LAUGHS),
        ("AD_Process_Trl_es_CO.xml", EXTERNAL_ENTITY),
        ("es_CO.zip", _zip({"AD_Process_Trl_es_CO.xml": BILLION_LAUGHS})),
        ("es_CO.zip", _zip({"AD_Process_Trl_es_CO.xml": EXTERNAL_ENTITY})),
    ],
)
@pytest.mark.usefixtures("unchanged")
def test_entities_are_refused_unexpanded(
    client: TestClient, admin: dict[str, str], name: str, content: bytes
) -> None:
    answer = _post(client, admin, RUN, _body(name, content))

    body = assert_error(answer, 400, "Invalid parameter", "FileName", "DTD")
    assert "lol" not in body["detail"]
    assert "root:" not in body["detail"]


def _bomb(size: int) -> bytes:
    """A zip whose one entry is a valid start, then ``size`` bytes of spaces."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open("AD_Process_Trl_es_CO.xml", "w", force_zip64=True) as entry,
    ):
        entry.write(b'<idempiereTrl language="es_CO" table="AD_Process">')
        block = b" " * (1024 * 1024)
        for _ in range(size // len(block)):
            entry.write(block)
        entry.write(b"</idempiereTrl>")
    return buffer.getvalue()


@pytest.mark.usefixtures("unchanged")
def test_a_zip_bomb_is_refused_without_inflating_it(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    bomb = _bomb(settings.max_unzipped_bytes + 16 * 1024 * 1024)
    assert len(bomb) < 2 * 1024 * 1024
    body = _body("es_CO.zip", bomb)

    tracemalloc.start()
    try:
        answer = _post(client, admin, RUN, body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert_error(answer, 400, "Invalid parameter", str(settings.max_unzipped_bytes))
    assert peak < 64 * 1024 * 1024


@pytest.mark.usefixtures("unchanged")
def test_a_zip_of_too_many_entries_is_refused(
    client: TestClient, admin: dict[str, str], settings: Settings
) -> None:
    entries = settings.max_zip_entries + 1
    files = {f"{n}_es_CO.xml": b"" for n in range(entries)}

    answer = _post(client, admin, RUN, _body("many.zip", _zip(files)))

    assert_error(answer, 400, "Invalid parameter", f"{entries} entries")


ESCAPING = "../../AD_Process_Trl_es_CO.xml"


@pytest.mark.usefixtures("unchanged")
def test_a_zip_with_only_a_path_escaping_entry_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    content = _fixture("es_CO/AD_Process_Trl_es_CO.xml")

    answer = _post(client, admin, RUN, _body("x.zip", _zip({ESCAPING: content})))

    assert_error(
        answer, 400, "Invalid parameter", "Ignored file", ESCAPING, "leaves the folder"
    )


def test_a_path_escaping_entry_is_ignored_and_the_rest_imported(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    tmp_path: Path,
) -> None:
    escaping = _fixture("es_CO/AD_Process_Trl_es_CO.xml").replace(
        b"(paquete)", b"(escapado)"
    )
    files = {
        ESCAPING: escaping,
        "/AD_Process_Trl_es_CO.xml": escaping,
        "AD_Ref_List_Trl_es_CO.xml": _fixture("es_CO/AD_Ref_List_Trl_es_CO.xml"),
    }

    body = _run(client, admin, "x.zip", _zip(files))

    assert body["summary"] == "OK", body
    assert _messages(body)[:2] == [
        f"Ignored file {ESCAPING}: its path leaves the folder",
        "Ignored file /AD_Process_Trl_es_CO.xml: its path leaves the folder",
    ]
    assert "(escapado)" not in _process_trl(db)["name"]
    # Nothing is extracted anywhere, so nothing lands beside the work folder.
    for folder in (Path.cwd(), Path.cwd().parent, Path.cwd().parent.parent):
        assert not (folder / "AD_Process_Trl_es_CO.xml").exists()
