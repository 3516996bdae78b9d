"""Processes that exist only for the tests (loaded through EXTRA_PROCESSES).

Their entity type is ``TEST``, so they are not "centralized" procserv data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from app.errors import InvalidParameter
from processes.context import Context, Result
from processes.declarations import (
    ListReference,
    ListValue,
    Parameter,
    Process,
    Ref,
    TableReference,
)
from processes.reports import report
from processes.reports.declarations import FormatItem, PrintFormat, ReportView

ENTITY = "TEST"


def _sleep(ctx: Context) -> Result:
    seconds = float(ctx.params.get("Seconds") or 0)
    steps = 10
    for step in range(steps):
        ctx.progress(100 * step / steps, f"step {step + 1} of {steps}")
        time.sleep(seconds / steps)
    return Result(summary=f"slept {seconds}s")


def _sleep_process(value: str, rule: str) -> Process:
    return Process(
        value=value,
        name=value,
        run=_sleep,
        parameters=(
            Parameter("Seconds", "Seconds", Ref.NUMBER, default="0"),
            Parameter("Label", "Label", Ref.STRING),
        ),
        allow_multiple_execution=rule,
        entity_type=ENTITY,
        queue="default",
    )


def _raise(ctx: Context) -> Result:
    ctx.log("about to fail")
    raise RuntimeError("the test process failed on purpose")


def _describe(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    return value


def _echo(ctx: Context) -> Result:
    """Returns the typed parameters it received, so tests see the coercion."""
    ctx.log(
        "echo",
        number=42,
        date=dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC),
        data={"a": 1},
    )
    values = {k: _describe(v) for k, v in ctx.params.items()}
    values_to = {k: _describe(v) for k, v in ctx.params_to.items() if v is not None}
    ctx.attach("echo.txt", b"echo output\n", "text/plain")
    return Result(
        summary="echoed",
        data={
            "params": values,
            "params_to": values_to,
            "record_id": ctx.record_id,
            "table_id": ctx.table_id,
            "types": {k: type(v).__name__ for k, v in ctx.params.items()},
        },
    )


def _check_echo(values: Mapping[str, Any]) -> None:
    if values.get("Label") == "forbidden":
        raise InvalidParameter("Label may not be 'forbidden'")


_COLORS = ListReference(
    name="Test Colors",
    values=(ListValue("R", "Red"), ListValue("G", "Green"), ListValue("B", "Blue")),
)

_LANGUAGES = TableReference(
    name="Test Languages",
    table="ad_language",
    key="ad_language",
    display="name",
    where="isactive",
)

ECHO = Process(
    value="Test Echo",
    name="Test Echo",
    run=_echo,
    parameters=(
        Parameter("Label", "Label", Ref.STRING),
        Parameter("Note", "Note", Ref.TEXT),
        Parameter("Qty", "Quantity", Ref.INTEGER),
        Parameter("Amount", "Amount", Ref.AMOUNT),
        Parameter("IsActive", "Active", Ref.YES_NO),
        Parameter("DateOrdered", "Date Ordered", Ref.DATE, is_range=True),
        Parameter("Moment", "Moment", Ref.DATE_TIME),
        Parameter("Color", "Color", Ref.LIST, values=_COLORS),
        Parameter("AD_Table_ID", "Table", Ref.TABLE_DIRECT),
        Parameter("AD_Language", "Language", Ref.TABLE, values=_LANGUAGES),
        Parameter("Stamp", "Stamp", Ref.DATE, default="@#Date@"),
        Parameter("Who", "Who", Ref.INTEGER, default="@#AD_User_ID@"),
    ),
    check=_check_echo,
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)

MANDATORY = Process(
    value="Test Mandatory",
    name="Test Mandatory",
    run=_echo,
    parameters=(
        Parameter("First", "First", Ref.STRING, mandatory=True),
        Parameter("Second", "Second", Ref.INTEGER, mandatory=True),
        Parameter("Third", "Third", Ref.STRING, mandatory=True, default="given"),
    ),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)


def _echo_lookups(ctx: Context) -> Result:
    return Result(summary="looked up", data={"params": dict(ctx.params)})


LOOKUPS = Process(
    value="Test Lookups",
    name="Test Lookups",
    run=_echo_lookups,
    parameters=(
        Parameter("AD_Table_ID", "Table", Ref.TABLE_DIRECT),
        Parameter("AD_Role_ID", "Role", Ref.SEARCH),
        Parameter("AD_Language", "Language", Ref.TABLE, values=_LANGUAGES),
    ),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)

SELECTIONS = Process(
    value="Test Selections",
    name="Test Selections",
    run=_echo_lookups,
    parameters=(
        Parameter("AD_Table_ID", "Tables", Ref.CHOSEN_MULTIPLE_SELECTION_TABLE),
        Parameter("AD_Role_ID", "Roles", Ref.CHOSEN_MULTIPLE_SELECTION_SEARCH),
        Parameter(
            "Color", "Colors", Ref.CHOSEN_MULTIPLE_SELECTION_LIST, values=_COLORS
        ),
    ),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)


def _read_upload(ctx: Context) -> Result:
    """Reads its File in pieces, whole, and from its end, so tests see the bytes
    a worker gets."""
    upload = ctx.params.get("File")
    if upload is None:
        return Result(summary="no file", data={"file": None})
    pieces = hashlib.sha256()
    with upload.open() as stream:
        while piece := stream.read(100_000):
            pieces.update(piece)
        stream.seek(-min(10, upload.size), io.SEEK_END)
        tail = stream.read().hex()
    return Result(
        summary="read",
        data={
            "name": upload.name,
            "size": upload.size,
            "mediaType": upload.media_type,
            "sha256": pieces.hexdigest(),
            "wholeSha256": hashlib.sha256(upload.read()).hexdigest(),
            "storedSha256": upload.sha256,
            "tail": tail,
        },
    )


UPLOAD = Process(
    value="Test Upload",
    name="Test Upload",
    run=_read_upload,
    parameters=(
        Parameter("File", "File", Ref.FILE_NAME),
        Parameter("Label", "Label", Ref.STRING),
    ),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)


def _unstorable(ctx: Context) -> Result:
    return Result(summary="done", data={"when": object()})


# 60 rows, 50 of GardenWorld's and 10 of another tenant, as a derived table so
# that the report needs no schema object of its own. Row n: ordered on
# 2024-01-01 + n days, by user 101 when n is even (else 102), in draft when n
# is a multiple of 5.
REPORT_ROWS = """(
SELECT CASE WHEN n <= 50 THEN 11 ELSE 999 END AS ad_client_id,
       'T' || lpad(n::text, 3, '0') AS documentno,
       (ARRAY['North', 'South', 'West'])[1 + mod(n, 3)] AS region,
       CASE WHEN mod(n, 2) = 0 THEN 'A' ELSE 'B' END AS category,
       CASE WHEN mod(n, 5) = 0 THEN 'DR' ELSE 'CO' END AS docstatus,
       101 + mod(n, 2) AS ad_user_id,
       DATE '2024-01-01' + n AS dateordered,
       (n * 1.5)::numeric(10, 2) AS amount,
       n AS qty
  FROM generate_series(1, 60) AS n)"""

_STATUS = ListReference(
    name="Test Document Status",
    values=(ListValue("CO", "Completed"), ListValue("DR", "Drafted")),
)

BY_REGION = PrintFormat(
    name="Test Rows by Region",
    items=(
        FormatItem("region", "Region", group_by=True, sort=1),
        FormatItem("category", "Category", group_by=True, sort=2),
        FormatItem("documentno", "Document No", sort=3, total="count"),
        FormatItem("dateordered", "Date Ordered", "date", format="yyyy-mm-dd"),
        FormatItem("docstatus", "Status"),
        FormatItem("amount", "Amount", "amount", align="right", total="sum"),
        FormatItem("qty", "Quantity", "integer", align="right", total="avg"),
    ),
)

FLAT = PrintFormat(
    name="Test Rows Flat",
    items=(
        FormatItem("documentno", "Document No", sort=1),
        FormatItem("amount", "Amount", "amount", total="sum"),
    ),
)

REPORT = report(
    "Test Report",
    "Test Report",
    view=ReportView(name="Test Rows", source=REPORT_ROWS),
    formats=(BY_REGION, FLAT),
    parameters=(
        Parameter("AD_User_ID", "Users", Ref.CHOSEN_MULTIPLE_SELECTION_TABLE),
        Parameter("DateOrdered", "Date Ordered", Ref.DATE, is_range=True),
        Parameter("DocStatus", "Document Status", Ref.LIST, values=_STATUS),
        Parameter("Region", "Region", Ref.STRING),
    ),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)

# A report of another view, and one whose source takes a parameter.
OTHER_REPORT = report(
    "Test Other Report",
    "Test Other Report",
    view=ReportView(
        name="Test Other Rows",
        source="(SELECT 11 AS ad_client_id, %(AsOf)s::date AS asof)",
        arguments=("AsOf",),
    ),
    formats=(PrintFormat("Test Other", (FormatItem("asof", "As Of", "date"),)),),
    parameters=(Parameter("AsOf", "As Of", Ref.DATE, default="@#Date@"),),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)

# A button process: called on one user's record.
ON_USER = Process(
    value="Test On User",
    name="Test On User",
    run=_echo,
    table="AD_User",
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)


def _big_output(ctx: Context) -> Result:
    """Attaches ``Bytes`` pseudo-random bytes (the same for the same size), in
    pieces, so a test can store a file of many chunks and read it back."""
    size = int(ctx.params["Bytes"])
    content = random.Random(size).randbytes(size)  # noqa: S311 - test data
    ctx.attach(
        "big.bin",
        (content[i : i + 300_000] for i in range(0, size, 300_000)),
        "application/octet-stream",
    )
    return Result(summary=f"{size} bytes")


BIG_OUTPUT = Process(
    value="Test Big Output",
    name="Test Big Output",
    run=_big_output,
    parameters=(Parameter("Bytes", "Bytes", Ref.INTEGER, mandatory=True),),
    allow_multiple_execution="Y",
    entity_type=ENTITY,
)

PROCESSES = (
    ECHO,
    BIG_OUTPUT,
    REPORT,
    OTHER_REPORT,
    ON_USER,
    MANDATORY,
    LOOKUPS,
    SELECTIONS,
    Process(
        value="Test Raise",
        name="Test Raise",
        run=_raise,
        allow_multiple_execution="Y",
        entity_type=ENTITY,
    ),
    _sleep_process("Test Sleep", "Y"),
    _sleep_process("Test Sleep N", "N"),
    _sleep_process("Test Sleep NA", "NA"),
    _sleep_process("Test Sleep P", "P"),
    _sleep_process("Test Sleep PA", "PA"),
    UPLOAD,
    Process(
        value="Test Unstorable",
        name="Test Unstorable",
        run=_unstorable,
        allow_multiple_execution="Y",
        entity_type=ENTITY,
    ),
)
