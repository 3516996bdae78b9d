"""Running processes: the synchronous route, the job route, what the worker stores,
and the ProcessInfo and job JSON the client reads (reference §1.6 to §1.9, §5)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import socket
import threading
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from starlette.testclient import TestClient

from app.db import Row
from app.settings import Settings
from tests.integration.conftest import EXPORT
from tests.integration.helpers import (
    ADMIN_ROLE,
    ADMIN_USER,
    GARDENWORLD,
    account,
    create_role,
    drop_role,
    instance,
    instance_labelled,
    json_body,
    unique,
    wait_for_job,
    wait_until_final,
    wait_until_running,
)
from workers.celery_app import RUN_INSTANCE, create_celery

pytestmark = pytest.mark.usefixtures("workers")

RUN = "/api/v1/processes/"
JOB = "/api/v1/processes/jobs/"
JOB_KEYS = ["id", "client", "user", "process", "since", "processing"]
FULL_JOB_KEYS = [
    *JOB_KEYS,
    "status",
    "progress",
    "summary",
    "isError",
    "logs",
    "startedAt",
    "finishedAt",
    "outputs",
    "notifications",
]


def _node(worker: str) -> str:
    """A worker's node name, as Celery makes it from ``--hostname name@%h``."""
    return f"{worker}@{socket.gethostname()}"


def _run(
    client: TestClient, headers: dict[str, str], slug: str, body: Any
) -> dict[str, Any]:
    answer = client.post(RUN + slug, json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = json_body(answer)
    return result


def _echo(client: TestClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    """What test-echo received, typed: its ``data``."""
    result = _run(client, headers, "test-echo", body)
    assert result["isError"] is False, result
    data: dict[str, Any] = result["data"]
    return data


def _parameter(db: psycopg.Connection[Row], instance_id: int, name: str) -> Row:
    row = db.execute(
        "SELECT * FROM ad_pinstance_para WHERE ad_pinstance_id = %s"
        " AND parametername = %s",
        (instance_id, name),
    ).fetchone()
    assert row is not None
    return row


# --- translationimpexp's export -------------------------------------------------

# The translation tables of the export: base table → translated columns.
_TRANSLATIONS = {
    "AD_Process": ("Name", "Description", "Help"),
    "AD_Process_Para": ("Name", "Description", "Help", "Placeholder", "Placeholder2"),
    "AD_Ref_List": ("Name", "Description"),
}


def _expected_texts(
    db: psycopg.Connection[Row], table: str
) -> dict[str, dict[str, str]]:
    """uuid → {column: text, "column@original": base text, "trl": Y/N}, read from
    the translation table of the records that ship with procserv (entity type D)."""
    base = table.lower()
    columns = _TRANSLATIONS[table]
    selected = ", ".join(
        f"t.{c.lower()}, o.{c.lower()} AS o_{c.lower()}" for c in columns
    )
    query = (
        f"SELECT o.{base}_uu::text AS uuid, t.istranslated, {selected}"
        f" FROM {base}_trl t JOIN {base} o USING ({base}_id)"
        " WHERE t.ad_language = 'es_CO' AND o.entitytype = 'D' AND o.isactive"
        f" ORDER BY o.{base}_id"
    )
    expected = {}
    for row in db.execute(query).fetchall():
        entry = {"trl": "Y" if row["istranslated"] else "N"}
        for column in columns:
            entry[column] = row[column.lower()] or ""
            entry[column + "@original"] = row["o_" + column.lower()] or ""
        expected[row["uuid"]] = entry
    return expected


def _read_trl_file(document: bytes) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The root's attributes, and uuid → {column: text, "column@original": its
    original attribute, "trl": Y/N}."""
    root = ET.fromstring(document)  # noqa: S314 - procserv's own output
    assert root.tag == "idempiereTrl"
    rows = {}
    for row in root.findall("row"):
        assert "id" not in row.attrib
        entry = {"trl": row.attrib["trl"]}
        for value in row:
            column = value.attrib["column"]
            entry[column] = value.text or ""
            entry[column + "@original"] = value.attrib["original"]
        rows[row.attrib["uuid"]] = entry
    return dict(root.attrib), rows


def _check_export(archive: bytes, db: psycopg.Connection[Row]) -> None:
    """The zip holds one file per translation table with the es_CO texts stored."""
    files = zipfile.ZipFile(io.BytesIO(archive))
    assert sorted(files.namelist()) == sorted(
        f"{table}_Trl_es_CO.xml" for table in _TRANSLATIONS
    )
    for table in _TRANSLATIONS:
        attributes, rows = _read_trl_file(files.read(f"{table}_Trl_es_CO.xml"))
        assert attributes == {"language": "es_CO", "table": table}
        # The same rows, in the order of their keys.
        assert list(rows.items()) == list(_expected_texts(db, table).items())


def test_export_runs_synchronously_with_the_es_co_texts(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
) -> None:
    body = _run(client, admin, "translationimpexp", EXPORT)

    assert list(body) == [
        "AD_PInstance_ID",
        "process",
        "summary",
        "isError",
        "exportFile",
        "exportFileName",
        "exportFileLength",
        "nodeId",
        "logs",
    ]
    assert body["process"] == "translationimpexp"
    assert body["isError"] is False
    archive = base64.b64decode(body["exportFile"], validate=True)
    assert body["exportFileLength"] == len(archive)
    assert body["exportFileName"] == f"es_CO_trlExport_{body['AD_PInstance_ID']}.zip"
    assert body["nodeId"] == _node(workers[0])
    _check_export(archive, db)


def test_export_holds_the_demo_translation_of_the_process_itself(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = _run(client, admin, "translationimpexp", EXPORT)

    files = zipfile.ZipFile(io.BytesIO(base64.b64decode(body["exportFile"])))
    _, rows = _read_trl_file(files.read("AD_Process_Trl_es_CO.xml"))
    process = rows["9b654152-331f-4ac7-9c61-06b1d1bc3edf"]
    assert process["Name"] == "Importar/Exportar Traducción"
    assert process["trl"] == "Y"


def test_export_logs_the_row_count_of_each_table(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    body = _run(client, admin, "translationimpexp", EXPORT)

    counts = {f"{t}_Trl": len(_expected_texts(db, t)) for t in _TRANSLATIONS}
    logged = [(log["msg"], log["number"]) for log in body["logs"]]
    assert sorted(logged) == sorted((f"{t} Records={n}", n) for t, n in counts.items())


def test_export_as_a_job_gives_its_zip_through_the_outputs(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    answer = client.post(JOB + "translationimpexp", json=EXPORT, headers=admin)

    assert answer.status_code == 200, answer.text
    submitted = json_body(answer)
    # The owner's answer is the job as GET /jobs/{id} shows it to the owner.
    assert list(submitted) == FULL_JOB_KEYS
    assert submitted["processing"] is True
    assert submitted["status"] in ("queued", "running")
    assert (submitted["client"], submitted["user"]) == ("GardenWorld", "GardenAdmin")
    assert submitted["process"] == "translationimpexp"

    job = wait_for_job(client, admin, submitted["id"])

    assert list(job) == FULL_JOB_KEYS
    assert job["status"] == "succeeded"
    assert job["isError"] is False
    assert job["summary"] == instance(db, job["id"])["errormsg"]
    assert job["progress"]["percent"] == 100
    (output,) = job["outputs"]
    assert list(output) == ["index", "name", "mediaType", "size", "sha256", "url"]
    assert output["index"] == 1
    assert output["mediaType"] == "application/zip"
    assert output["name"] == f"es_CO_trlExport_{job['id']}.zip"
    download = client.get(output["url"], headers=admin)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert hashlib.sha256(download.content).hexdigest() == output["sha256"]
    assert len(download.content) == output["size"]
    _check_export(download.content, db)


def test_job_times_are_iso_8601_with_an_offset_and_match_the_instance(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    submitted = client.post(JOB + "test-echo", json={}, headers=admin).json()
    job = wait_for_job(client, admin, submitted["id"])
    row = instance(db, job["id"])

    for key, column in (
        ("since", "created"),
        ("startedAt", "started"),
        ("finishedAt", "finished"),
    ):
        moment = dt.datetime.fromisoformat(job[key])
        assert moment.tzinfo is not None, key
        assert moment == row[column].replace(microsecond=0), key
    assert job["since"] == submitted["since"]


# --- test-echo: what a process receives -------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"Qty": 5}, {"Qty": "5"}, {"qty": 5}, {"Qty": 5.0}, {"Qty": " 5 "}],
)
def test_integer_parameters_take_numbers_and_numeric_strings(
    client: TestClient, admin: dict[str, str], body: Any
) -> None:
    data = _echo(client, admin, body)

    assert data["params"]["Qty"] == 5
    assert data["types"]["Qty"] == "int"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Amount": 12.5}, "12.5"),
        ({"Amount": "12.50"}, "12.50"),
        ({"amount": -3}, "-3"),
        ({"Amount": "1e3"}, "1E+3"),
    ],
)
def test_amount_parameters_take_numbers_and_numeric_strings_exactly(
    client: TestClient,
    admin: dict[str, str],
    body: Any,
    expected: str,
) -> None:
    data = _echo(client, admin, body)

    assert Decimal(data["params"]["Amount"]["decimal"]) == Decimal(expected)
    assert data["types"]["Amount"] == "Decimal"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), ("Y", True), ("true", True), (False, False), ("N", False)],
)
def test_yes_no_parameters_take_booleans_and_y_or_n(
    client: TestClient, admin: dict[str, str], raw: Any, expected: bool
) -> None:
    data = _echo(client, admin, {"IsActive": raw})

    assert data["params"]["IsActive"] is expected


def test_text_parameters_keep_their_text(
    client: TestClient, admin: dict[str, str]
) -> None:
    note = "first line\nsecond line, with ünïcode & <marks>"

    data = _echo(client, admin, {"Label": 42, "Note": note})

    assert data["params"]["Label"] == "42"
    assert data["params"]["Note"] == note


def test_property_name_wins_over_column_name_and_other_casings_are_ignored(
    client: TestClient, admin: dict[str, str]
) -> None:
    data = _echo(
        client,
        admin,
        {"label": "by property", "Label": "by column", "NOTE": "x", "qTY": 3},
    )

    assert data["params"]["Label"] == "by property"
    assert data["params"]["Note"] is None
    assert data["params"]["Qty"] is None


@pytest.mark.parametrize("to_key", ["DateOrdered_to", "dateOrdered_to"])
def test_ranges_take_the_end_from_either_to_key(
    client: TestClient, admin: dict[str, str], to_key: str
) -> None:
    data = _echo(client, admin, {"dateOrdered": "2022-01-01", to_key: "2022-12-31"})

    assert data["params"]["DateOrdered"] == {"date": "2022-01-01"}
    assert data["params_to"]["DateOrdered"] == {"date": "2022-12-31"}


def test_ranges_ignore_a_capitalised_to_key(
    client: TestClient, admin: dict[str, str]
) -> None:
    data = _echo(
        client, admin, {"DateOrdered": "2022-01-01", "DateOrdered_To": "2022-12-31"}
    )

    assert data["params"]["DateOrdered"] == {"date": "2022-01-01"}
    assert "DateOrdered" not in data["params_to"]


def test_dates_with_a_time_are_cut_to_the_date(
    client: TestClient, admin: dict[str, str]
) -> None:
    data = _echo(client, admin, {"DateOrdered": "2022-03-04T23:30:00Z"})

    assert data["params"]["DateOrdered"] == {"date": "2022-03-04"}


def test_date_times_with_different_offsets_store_the_same_instant(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    with_offset = _run(
        client, admin, "test-echo", {"Moment": "2024-05-01T10:00:00+02:00"}
    )
    in_utc = _run(client, admin, "test-echo", {"Moment": "2024-05-01T08:00:00Z"})

    received = [
        dt.datetime.fromisoformat(body["data"]["params"]["Moment"]["datetime"])
        for body in (with_offset, in_utc)
    ]
    instant = dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)
    assert received == [instant, instant]
    stored = [
        _parameter(db, body["AD_PInstance_ID"], "Moment")["p_date"]
        for body in (with_offset, in_utc)
    ]
    assert stored == [instant, instant]


@pytest.mark.parametrize("raw", ["r", "R", {"id": "r"}])
def test_list_values_match_case_insensitively(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    raw: Any,
) -> None:
    body = _run(client, admin, "test-echo", {"Color": raw})

    assert body["data"]["params"]["Color"] == "R"
    stored = _parameter(db, body["AD_PInstance_ID"], "Color")
    assert (stored["p_string"], stored["info"]) == ("R", "Red")


@pytest.mark.parametrize("raw", [284, "284", {"id": 284}, {"id": "284"}])
def test_table_ids_take_numbers_and_numeric_strings(
    client: TestClient, admin: dict[str, str], raw: Any
) -> None:
    data = _echo(client, admin, {"AD_Table_ID": raw, "AD_Language": "es_CO"})

    assert data["params"]["AD_Table_ID"] == 284
    assert data["types"]["AD_Table_ID"] == "int"
    assert data["params"]["AD_Language"] == "es_CO"


def test_defaults_give_today_and_the_calling_user(
    client: TestClient, admin: dict[str, str]
) -> None:
    before = dt.date.today()

    data = _echo(client, admin, {"Who": ""})

    assert data["params"]["Who"] == ADMIN_USER
    stamp = dt.date.fromisoformat(data["params"]["Stamp"]["date"])
    assert before <= stamp <= dt.date.today()


def test_defaults_give_way_to_given_values(
    client: TestClient, admin: dict[str, str]
) -> None:
    data = _echo(client, admin, {"Who": 7, "Stamp": "2020-02-29"})

    assert data["params"]["Who"] == 7
    assert data["params"]["Stamp"] == {"date": "2020-02-29"}


def test_every_parameter_is_stored_in_its_column(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    body = _run(
        client,
        admin,
        "test-echo",
        {"Label": "stored", "Qty": 3, "Amount": "2.50", "IsActive": True},
    )

    rows = db.execute(
        "SELECT parametername, p_string, p_number FROM ad_pinstance_para"
        " WHERE ad_pinstance_id = %s ORDER BY seqno",
        (body["AD_PInstance_ID"],),
    ).fetchall()
    stored = {r["parametername"]: (r["p_string"], r["p_number"]) for r in rows}
    assert len(rows) == 12
    assert stored["Label"] == ("stored", None)
    assert stored["Qty"] == (None, 3)
    assert stored["Amount"] == (None, Decimal("2.50"))
    assert stored["IsActive"] == ("Y", None)
    assert stored["Note"] == (None, None)
    assert stored["Who"] == (None, ADMIN_USER)


# --- the ProcessInfo JSON ---------------------------------------------------------


def test_run_answer_has_data_logs_and_the_export_file(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = _run(client, admin, "test-echo", {"Label": "keys"})

    assert list(body) == [
        "AD_PInstance_ID",
        "process",
        "summary",
        "data",
        "isError",
        "exportFile",
        "exportFileName",
        "exportFileLength",
        "nodeId",
        "logs",
    ]
    assert isinstance(body["AD_PInstance_ID"], int)
    assert body["summary"] == "echoed"
    assert base64.b64decode(body["exportFile"]) == b"echo output\n"
    assert (body["exportFileName"], body["exportFileLength"]) == ("echo.txt", 12)
    (log,) = body["logs"]
    assert set(log) == {"date", "number", "data", "msg"}
    assert dt.datetime.fromisoformat(log["date"]) == dt.datetime(
        2024, 5, 1, 10, tzinfo=dt.UTC
    )
    assert dt.datetime.fromisoformat(log["date"]).tzinfo is not None
    assert (log["number"], log["data"], log["msg"]) == (42, {"a": 1}, "echo")


def test_run_answer_has_logs_even_when_the_process_logged_nothing(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = _run(client, admin, "test-sleep", {"Label": unique("quiet")})

    assert body["logs"] == []
    assert body["isError"] is False
    assert "data" not in body


def test_a_failing_process_is_http_200_with_is_error_and_its_message(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    body = _run(client, admin, "test-raise", {})

    assert body["isError"] is True
    assert body["summary"] == "the test process failed on purpose"
    assert [log["msg"] for log in body["logs"]] == ["about to fail"]
    assert "exportFile" not in body
    row = instance(db, body["AD_PInstance_ID"])
    assert (row["status"], row["result"], row["isprocessing"]) == ("failed", 0, False)


def test_the_worker_serves_the_next_run_after_a_failure(
    client: TestClient, admin: dict[str, str], workers: list[str]
) -> None:
    failed = _run(client, admin, "test-raise", {})

    after = _run(client, admin, "test-echo", {"Label": "after a failure"})

    assert after["isError"] is False
    assert after["nodeId"] == failed["nodeId"] == _node(workers[0])


def test_a_synchronous_instance_is_stored_finished_with_its_attempt(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    body = _run(client, admin, "test-echo", {})

    row = instance(db, body["AD_PInstance_ID"])
    assert row["isrunasjob"] is False
    assert row["notificationtype"] is None
    assert (row["status"], row["attempt"], row["result"]) == ("succeeded", 1, 1)
    assert row["isprocessing"] is False
    assert row["errormsg"] == "echoed"
    assert row["worker"] == body["nodeId"]
    assert (row["ad_client_id"], row["ad_user_id"], row["ad_role_id"]) == (
        GARDENWORLD,
        ADMIN_USER,
        ADMIN_ROLE,
    )


def test_a_second_delivery_of_a_finished_instance_runs_nothing(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    settings: Settings,
) -> None:
    body = _run(client, admin, "test-echo", {"Label": unique("once")})
    instance_id = body["AD_PInstance_ID"]
    celery = create_celery(settings)

    celery.send_task(
        RUN_INSTANCE,
        args=[instance_id],
        queue=settings.queue(settings.interactive_queue),
    )
    # A run sent after the duplicate, on the same queue, ends after it was taken.
    _run(client, admin, "test-echo", {})
    celery.close()

    row = instance(db, instance_id)
    assert (row["status"], row["attempt"]) == ("succeeded", 1)
    logs = db.execute(
        "SELECT count(*) AS n FROM ad_pinstance_log WHERE ad_pinstance_id = %s",
        (instance_id,),
    ).fetchone()
    assert logs == {"n": 1}


# --- jobs: what is stored --------------------------------------------------------


def test_a_job_is_stored_processing_at_once_and_finished_after_its_run(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    workers: list[str],
) -> None:
    answer = client.post(
        JOB + "test-sleep", json={"Seconds": 2, "Label": unique("job")}, headers=admin
    )
    job_id = answer.json()["id"]

    submitted = instance(db, job_id)
    assert submitted["isrunasjob"] is True
    assert submitted["isprocessing"] is True
    assert submitted["notificationtype"] == "B"
    assert submitted["status"] in ("queued", "running")

    wait_for_job(client, admin, job_id)

    finished = instance(db, job_id)
    assert (finished["status"], finished["attempt"], finished["result"]) == (
        "succeeded",
        1,
        1,
    )
    assert finished["isprocessing"] is False
    assert finished["errormsg"] == "slept 2.0s"
    assert finished["worker"] == _node(workers[1])
    assert finished["started"] < finished["finished"]


@pytest.mark.parametrize("notification", ["E", "N", "B", "X"])
def test_notification_types_are_stored(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
    notification: str,
) -> None:
    answer = client.post(
        JOB + "test-echo", json={"notification-type": notification}, headers=admin
    )

    assert answer.status_code == 200, answer.text
    assert instance(db, answer.json()["id"])["notificationtype"] == notification


def test_correlation_id_is_echoed_and_stored_on_both_routes(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    trace = unique("trace")
    headers = {**admin, "X-Correlation-ID": trace}

    run = client.post(RUN + "test-echo", json={}, headers=headers)
    job = client.post(JOB + "test-echo", json={}, headers=headers)

    assert run.headers["x-correlation-id"] == trace
    assert job.headers["x-correlation-id"] == trace
    assert instance(db, run.json()["AD_PInstance_ID"])["externaltraceid"] == trace
    assert instance(db, job.json()["id"])["externaltraceid"] == trace


def test_a_generated_correlation_id_is_the_one_stored(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    answer = client.post(RUN + "test-echo", json={}, headers=admin)

    generated = answer.headers["x-correlation-id"]
    assert len(generated) >= 16
    stored = instance(db, answer.json()["AD_PInstance_ID"])["externaltraceid"]
    assert stored == generated


# --- GET /jobs and GET /jobs/{id} ----------------------------------------------


def _listed_jobs(client: TestClient, headers: dict[str, str]) -> dict[int, Any]:
    answer = client.get("/api/v1/processes/jobs", headers=headers)
    assert answer.status_code == 200
    body = json_body(answer)
    assert list(body) == ["jobs"]
    return {job["id"]: job for job in body["jobs"]}


def test_jobs_lists_the_running_jobs_of_the_tenant_until_they_finish(
    client: TestClient,
    admin: dict[str, str],
    user: dict[str, str],
) -> None:
    submitted = client.post(
        JOB + "test-sleep", json={"Seconds": 2, "Label": unique("list")}, headers=admin
    ).json()

    # GardenUser sees GardenAdmin's job: the list is the tenant's, not the user's.
    running = _listed_jobs(client, user)

    assert running[submitted["id"]] == {key: submitted[key] for key in JOB_KEYS}
    wait_for_job(client, admin, submitted["id"])
    assert submitted["id"] not in _listed_jobs(client, user)


def test_jobs_does_not_list_a_running_synchronous_run(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    label = unique("sync")
    answers: list[Any] = []
    request = threading.Thread(
        target=lambda: answers.append(
            client.post(
                RUN + "test-sleep", json={"Seconds": 2, "Label": label}, headers=admin
            )
        )
    )
    request.start()
    try:
        instance_id = instance_labelled(db, label)
        wait_until_running(db, instance_id)

        assert instance_id not in _listed_jobs(client, admin)
    finally:
        request.join()
    assert answers[0].status_code == 200


def test_a_job_shows_its_result_only_to_its_owner_and_operators(
    client: TestClient,
    admin: dict[str, str],
    user: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    role = create_role(db, unique("Runner"), access={"test-echo": True})
    try:
        with account(client, db, "Runner", [role]) as owner:
            submitted = client.post(JOB + "test-echo", json={}, headers=owner.headers)
            job_id = submitted.json()["id"]

            as_owner = wait_for_job(client, owner.headers, job_id)
            as_operator = json_body(client.get(f"{JOB}{job_id}", headers=admin))
            as_other = json_body(client.get(f"{JOB}{job_id}", headers=user))
    finally:
        drop_role(db, role)

    assert list(as_owner) == FULL_JOB_KEYS
    assert as_operator == as_owner
    assert as_other == {key: as_owner[key] for key in JOB_KEYS}


def test_a_finished_job_shows_status_summary_and_logs(
    client: TestClient,
    admin: dict[str, str],
    db: psycopg.Connection[Row],
) -> None:
    submitted = client.post(
        JOB + "test-raise", json={"notification-type": "X"}, headers=admin
    ).json()

    job = wait_for_job(client, admin, submitted["id"])

    assert job["status"] == "failed"
    assert job["isError"] is True
    assert job["summary"] == "the test process failed on purpose"
    assert [log["msg"] for log in job["logs"]] == ["about to fail"]
    assert job["outputs"] == []
    wait_until_final(db, [job["id"]])
