"""How a process is declared in Python, beside its code.

A declaration says everything the dictionary (``ad_process``, ``ad_process_para``,
``ad_reference``, ``ad_ref_list``) holds about a process; the sync step writes it
there. Shared processes keep iDempiere's ids and UUIDs so that its translation
packs apply; the others get UUIDs derived from their value, stable everywhere.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from app.slug import slugify

if TYPE_CHECKING:
    from processes.context import Context, Result
    from processes.reports.declarations import (
        PrintFormat,
        ReportDeclaration,
        ReportView,
    )

# All derived UUIDs live under this namespace, so they never collide with others.
_NAMESPACE = uuid.UUID("5f0c3c1e-3f57-4a8e-9a53-7c1d2a9b0e11")


def derived_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def report_view_uuid(view: ReportView) -> str:
    return _normal_uuid(view.uuid) or derived_uuid("reportview", view.name)


def print_format_uuid(view: ReportView, print_format: PrintFormat) -> str:
    """A format's UUID: declared, or derived from its view's name and its own."""
    return _normal_uuid(print_format.uuid) or derived_uuid(
        "printformat", view.name, print_format.name
    )


def _normal_uuid(text: str | None) -> str | None:
    # Lower case, as PostgreSQL gives UUIDs back, so that they compare as text.
    return None if text is None else str(uuid.UUID(text))


class Ref(IntEnum):
    """iDempiere's AD_Reference_ID of each parameter type procserv knows."""

    STRING = 10
    INTEGER = 11
    AMOUNT = 12
    ID = 13
    TEXT = 14
    DATE = 15
    DATE_TIME = 16
    LIST = 17
    TABLE = 18
    TABLE_DIRECT = 19
    YES_NO = 20
    NUMBER = 22
    QUANTITY = 29
    SEARCH = 30
    TEXT_LONG = 36
    FILE_PATH = 38
    FILE_NAME = 39
    CHOSEN_MULTIPLE_SELECTION_LIST = 200161
    CHOSEN_MULTIPLE_SELECTION_TABLE = 200162
    CHOSEN_MULTIPLE_SELECTION_SEARCH = 200163


REFERENCE_NAMES: Mapping[Ref, str] = {
    Ref.STRING: "String",
    Ref.INTEGER: "Integer",
    Ref.AMOUNT: "Amount",
    Ref.ID: "ID",
    Ref.TEXT: "Text",
    Ref.DATE: "Date",
    Ref.DATE_TIME: "Date+Time",
    Ref.LIST: "List",
    Ref.TABLE: "Table",
    Ref.TABLE_DIRECT: "Table Direct",
    Ref.YES_NO: "Yes-No",
    Ref.NUMBER: "Number",
    Ref.QUANTITY: "Quantity",
    Ref.SEARCH: "Search",
    Ref.TEXT_LONG: "Text Long",
    Ref.FILE_PATH: "FilePath",
    Ref.FILE_NAME: "FileName",
    Ref.CHOSEN_MULTIPLE_SELECTION_LIST: "Chosen Multiple Selection List",
    Ref.CHOSEN_MULTIPLE_SELECTION_TABLE: "Chosen Multiple Selection Table",
    Ref.CHOSEN_MULTIPLE_SELECTION_SEARCH: "Chosen Multiple Selection Search",
}


@dataclass(frozen=True)
class ListValue:
    value: str
    name: str
    description: str = ""
    id: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class ListReference:
    """A list of values (an AD_Reference of validation type L)."""

    name: str
    values: tuple[ListValue, ...]
    id: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class TableReference:
    """The table a Table or Search parameter looks up.

    ``where`` is trusted SQL written by the process's author, applied to the
    looked-up table (no client text ever goes into it).
    """

    name: str
    table: str
    key: str
    display: str
    where: str = ""
    id: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class Parameter:
    column_name: str
    name: str
    reference: Ref
    description: str = ""
    help: str = ""
    mandatory: bool = False
    default: str | None = None
    default_to: str | None = None
    is_range: bool = False
    length: int = 0
    value_min: str | None = None
    value_max: str | None = None
    display_logic: str | None = None
    values: ListReference | TableReference | None = None
    id: int | None = None
    uuid: str | None = None

    @property
    def lookup_table(self) -> str | None:
        """The table whose ids this parameter takes, for TableDir and Table types."""
        if isinstance(self.values, TableReference):
            return self.values.table
        if self.reference is Ref.TABLE_DIRECT and self.column_name.endswith("_ID"):
            return self.column_name[: -len("_ID")].lower()
        return None


ParameterCheck = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class Process:
    """One process: its dictionary entry and the function that runs it."""

    value: str
    name: str
    run: Callable[[Context], Result | str | None]
    description: str = ""
    help: str = ""
    parameters: tuple[Parameter, ...] = ()
    is_report: bool = False
    allow_multiple_execution: str = "P"
    queue: str = "default"
    check: ParameterCheck | None = None
    entity_type: str = "D"
    id: int | None = None
    uuid: str | None = None
    # A report's view and print formats; its run is the report engine.
    report: ReportDeclaration | None = None
    # The table a button process is called on (``C_Order``): record-id must name
    # a record of it in the caller's tenant.
    table: str | None = None
    # The report-types a report makes (a document may make fewer than the four);
    # the API refuses the others before anything is stored.
    report_types: tuple[str, ...] = ("PDF", "HTML", "CSV", "XLSX")
    # Set by the registry: where the declaration came from, for error messages.
    origin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.allow_multiple_execution not in ("N", "NA", "P", "PA", "Y"):
            raise ValueError(
                f"{self.value}: AllowMultipleExecution must be N, NA, P, PA or Y"
            )
        if not self.slug:
            raise ValueError(f"{self.value!r} gives an empty slug")
        if self.report is not None:
            object.__setattr__(self, "is_report", True)

    @property
    def slug(self) -> str:
        return slugify(self.value)

    @property
    def process_uuid(self) -> str:
        return self.uuid or derived_uuid("process", self.value)

    def parameter_uuid(self, parameter: Parameter) -> str:
        return parameter.uuid or derived_uuid(
            "process", self.value, "para", parameter.column_name
        )

    @property
    def classname(self) -> str:
        name = f"{self.run.__module__}:{self.run.__qualname__}"
        # Every report runs the one engine; the slug tells the worker which.
        return name if self.report is None else f"{name}#{self.slug}"


def process(
    value: str, name: str, **options: Any
) -> Callable[[Callable[[Context], Result | str | None]], Process]:
    """Declare the decorated function as the code of a process."""

    def declare(run: Callable[[Context], Result | str | None]) -> Process:
        return Process(value=value, name=name, run=run, **options)

    return declare
