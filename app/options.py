"""The special keys of a run's body (reference §4): record and table of a button,
report options, and the notification of a job."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from app.errors import InvalidParameter
from app.params import shown

REPORT_TYPES = {
    "PDF": "PDF",
    "HTML": "HTML",
    "CSV": "CSV",
    "XLS": "XLSX",
    "XLSX": "XLSX",
}
NOTIFICATION_TYPES = ("B", "E", "N", "X")
MAX_ID = 2**31 - 1
_UUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class RunOptions:
    record_id: int = 0
    table_id: int | None = None
    model_name: str | None = None
    report_type: str | None = None
    is_summary: bool = False
    print_format: str | None = None
    notification_type: str | None = None


def run_options(body: dict[str, Any], *, is_report: bool, is_job: bool) -> RunOptions:
    record_id = _record_id(body.get("record-id"))
    table_id = _id_or_none(body.get("table-id"), "table-id") if record_id else None
    model_name = body.get("model-name") if record_id and not table_id else None
    if model_name is not None and not isinstance(model_name, str):
        raise _invalid("model-name", model_name, "expected a table name")
    return RunOptions(
        record_id=record_id,
        table_id=table_id,
        model_name=model_name or None,
        report_type=_report_type(body.get("report-type")) if is_report else None,
        is_summary=_is_summary(body.get("is-summary")) if is_report else False,
        print_format=_print_format(body.get("print-format-id")),
        notification_type=_notification(body.get("notification-type"))
        if is_job
        else None,
    )


def _invalid(key: str, raw: Any, expected: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid value for {key}: {shown(raw)} ({expected})")


def _record_id(raw: Any) -> int:
    # Zero or less means "no record", as in the original.
    value = _id_or_none(raw, "record-id")
    return value if value is not None and value > 0 else 0


def _id_or_none(raw: Any, key: str) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _invalid(key, raw, "expected an integer id")
    text = str(raw).strip()
    if not re.fullmatch(r"-?[0-9]{1,10}", text) or int(text) > MAX_ID:
        raise _invalid(key, raw, "expected an integer id")
    return int(text)


def _report_type(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str) and raw.strip().upper() in REPORT_TYPES:
        return REPORT_TYPES[raw.strip().upper()]
    raise _invalid("report-type", raw, "expected PDF, HTML, CSV, XLS or XLSX")


def _is_summary(raw: Any) -> bool:
    # As the original reads it: JSON true or the text "true" in any case; any
    # other text or number is false (no decision changes this, and clients rely
    # on it). Only what is not a value at all is refused.
    if isinstance(raw, dict | list):
        raise _invalid("is-summary", raw, "expected true or false")
    if isinstance(raw, str):
        return raw.strip().lower() == "true"
    return raw is True


def _print_format(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    text = (
        str(raw).strip()
        if isinstance(raw, int | str) and not isinstance(raw, bool)
        else ""
    )
    if re.fullmatch(r"-?[0-9]{1,10}", text) and int(text) <= MAX_ID:
        # An id of 0 or less asks for no particular format, as in the original.
        return text if int(text) > 0 else None
    if _UUID.fullmatch(text):
        return text
    raise _invalid("print-format-id", raw, "expected a print format id or UUID")


def _notification(raw: Any) -> str:
    # Only absent or null means the default: "" or " E " is a client's mistake
    # (decision D4), unlike the empty text other keys take as "not given".
    if raw is None:
        return "B"
    if isinstance(raw, str) and raw.upper() in NOTIFICATION_TYPES:
        return raw.upper()
    raise _invalid("notification-type", raw, "expected E, N, B or X")
