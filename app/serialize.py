"""The JSON shapes of the original API: process, parameter, job, and ProcessInfo."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from app.db import Row

_ENTITY_TYPES = {"D": "Dictionary", "U": "User maintained"}


def _drop_none(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in items if v is not None}


def iso(moment: dt.datetime | None) -> str | None:
    """ISO 8601 with its offset (decision D7)."""
    return None if moment is None else moment.isoformat(timespec="seconds")


def _number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _lookup(label: str, key: Any, identifier: str | None, model: str) -> dict[str, Any]:
    return _drop_none(
        [
            ("propertyLabel", label),
            ("id", key),
            ("identifier", identifier or None),
            ("model-name", model),
        ]
    )


def _entity_type(value: str) -> dict[str, Any]:
    return _lookup(
        "Entity Type", value, _ENTITY_TYPES.get(value, value), "ad_entitytype"
    )


def process_json(row: Row) -> dict[str, Any]:
    """A process as the list and the single GET show it (reference §2.3)."""
    return _drop_none(
        [
            ("id", row["ad_process_id"]),
            ("uid", str(row["ad_process_uu"])),
            ("Value", row["value"]),
            ("Name", row["name"]),
            ("Description", row["description"]),
            ("Help", row["help"]),
            ("EntityType", _entity_type(row["entitytype"])),
            ("IsReport", row["isreport"]),
            (
                "AD_ReportView_ID",
                _optional_lookup(
                    "Report View",
                    row["ad_reportview_id"],
                    "ad_reportview",
                    row.get("reportview_name"),
                ),
            ),
            (
                "AD_PrintFormat_ID",
                _optional_lookup(
                    "Print Format",
                    row["ad_printformat_id"],
                    "ad_printformat",
                    row.get("printformat_name"),
                ),
            ),
            (
                "AD_Workflow_ID",
                _optional_lookup("Workflow", row["ad_workflow_id"], "ad_workflow"),
            ),
            ("JasperReport", row["jasperreport"]),
            ("model-name", "ad_process"),
            ("slug", row["slug"]),
        ]
    )


def _optional_lookup(
    label: str, key: int | None, model: str, identifier: str | None = None
) -> dict[str, Any] | None:
    return None if key is None else _lookup(label, key, identifier, model)


def parameter_json(row: Row) -> dict[str, Any]:
    """A parameter as the single GET shows it (reference §2.4)."""
    reference_value = row["ad_reference_value_id"]
    return _drop_none(
        [
            ("id", row["ad_process_para_id"]),
            ("uid", str(row["ad_process_para_uu"])),
            ("Name", row["name"]),
            ("Description", row["description"]),
            ("Help", row["help"]),
            (
                "AD_Reference_ID",
                _lookup(
                    "Reference",
                    row["ad_reference_id"],
                    row["reference_name"],
                    "ad_reference",
                ),
            ),
            (
                "AD_Reference_Value_ID",
                None
                if reference_value is None
                else _lookup(
                    "Reference Key",
                    reference_value,
                    row["reference_value_name"],
                    "ad_reference",
                ),
            ),
            ("SeqNo", row["seqno"]),
            ("IsMandatory", row["ismandatory"]),
            ("IsRange", row["isrange"]),
            ("DefaultValue", row["defaultvalue"]),
            ("DefaultValue2", row["defaultvalue2"]),
            ("ValueMin", row["valuemin"]),
            ("ValueMax", row["valuemax"]),
            ("DisplayLogic", row["displaylogic"]),
            ("Placeholder", row["placeholder"]),
            ("Placeholder2", row["placeholder2"]),
            ("EntityType", _entity_type(row["entitytype"])),
            # procserv's addition: the values of a list, in the caller's language
            ("listValues", _list_values(row.get("list_entries"))),
            ("model-name", "ad_process_para"),
            ("parameterName", row["columnname"]),
        ]
    )


def _list_values(entries: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if not entries:
        return None
    return [_drop_none(entry.items()) for entry in entries]


def log_json(row: Row) -> dict[str, Any]:
    data = row["jsondata"]
    return _drop_none(
        [
            ("date", iso(row["p_date"])),
            ("number", _number(row["p_number"])),
            ("data", data if isinstance(data, dict) else None),
            ("msg", row["p_msg"]),
        ]
    )


def job_json(
    row: Row,
    *,
    full: bool = False,
    logs: Iterable[Row] = (),
    outputs: Iterable[Row] = (),
    notifications: Iterable[Row] = (),
    tries: Mapping[int, Iterable[Row]] | None = None,
    base_url: str = "",
) -> dict[str, Any]:
    """A job as the job routes show it (§5.3); ``full`` adds decision D8's keys,
    and the job's e-mail and notice deliveries, for its owner and operators.
    ``tries`` holds each delivery's tries, by notification id."""
    body: dict[str, Any] = {
        "id": row["ad_pinstance_id"],
        "client": row["client_name"],
        "user": row["user_name"],
        "process": row["process_slug"],
        "since": iso(row["created"]),
        "processing": row["isprocessing"],
    }
    if not full:
        return body
    finished = row["status"] not in ("queued", "running")
    tried = tries or {}
    body.update(
        {
            "status": row["status"],
            "progress": {
                "percent": _number(row["progress_percent"]) or 0,
                "message": row["progress_message"] or "",
            },
            "summary": row["errormsg"] if finished else None,
            "isError": (row["status"] != "succeeded") if finished else None,
            "logs": [log_json(r) for r in logs],
            "startedAt": iso(row["started"]),
            "finishedAt": iso(row["finished"]),
            "outputs": [
                output_json(row["ad_pinstance_id"], index, output, base_url)
                for index, output in enumerate(outputs, start=1)
            ],
            "notifications": [
                notification_json(n, tried.get(n["ad_notification_id"], ()))
                for n in notifications
            ],
        }
    )
    return body


def notification_json(row: Row, tries: Iterable[Row] = ()) -> dict[str, Any]:
    """One channel's delivery (E e-mail, N notice): ``attempts`` counts the tries
    that did something; ``detail`` says why it was skipped or the last error;
    ``tries`` lists every try, those that found nothing to do included."""
    return {
        "channel": row["channel"],
        "status": row["status"],
        "attempts": row["attempts"],
        "recipient": row["recipient"],
        "detail": row["detail"],
        "delivered": iso(row["delivered"]),
        "tries": [delivery_try_json(t) for t in tries],
    }


def delivery_try_json(row: Row) -> dict[str, Any]:
    """One try of a delivery; ``finished`` and ``result`` stay null while it is
    under way, and for good when its worker stopped in the middle of it."""
    return {
        "seqno": row["seqno"],
        "started": iso(row["started"]),
        "finished": iso(row["finished"]),
        "result": row["result"],
        "error": row["error"],
    }


def output_path(instance_id: int, index: int) -> str:
    """Where an output is downloaded, relative to the service's root URL."""
    return f"api/v1/processes/jobs/{instance_id}/outputs/{index}"


def output_json(
    instance_id: int, index: int, output: Row, base_url: str
) -> dict[str, Any]:
    return {
        "index": index,
        "name": output["name"],
        "mediaType": output["mediatype"],
        "size": output["size"],
        "sha256": output["sha256"],
        "url": f"{base_url}/{output_path(instance_id, index)}",
    }


def _file_value(name: str, content: bytes) -> Any:
    """Base64, except a JSON export, which the original embeds as JSON."""
    if name.lower().endswith(".json"):
        try:
            return json.loads(content)
        except ValueError:
            pass
    return base64.b64encode(content).decode("ascii")


def process_info_json(
    row: Row,
    slug_as_sent: str,
    logs: Iterable[Row],
    files: Mapping[str, tuple[str, int, bytes | None, str]],
) -> dict[str, Any]:
    """The answer of a synchronous run (§1.6). ``files`` maps ``report`` or
    ``export`` to (name, length, bytes or None when too large, download url)."""
    data = row["jsondata"]
    body: dict[str, Any] = {
        "AD_PInstance_ID": row["ad_pinstance_id"],
        "process": slug_as_sent,
        "summary": row["errormsg"],
    }
    if isinstance(data, dict):
        body["data"] = data
    body["isError"] = row["status"] != "succeeded"
    for kind in ("report", "export"):
        if kind in files:
            name, length, content, url = files[kind]
            if content is None:
                body[f"{kind}FileUrl"] = url
            else:
                body[f"{kind}File"] = _file_value(name, content)
            body[f"{kind}FileName"] = name
            body[f"{kind}FileLength"] = length
    body["nodeId"] = row["worker"]
    body["logs"] = [log_json(r) for r in logs]
    return body
