"""How a report is declared: the view its rows come from and its print formats.

The sync step writes these into the dictionary (``ad_reportview``,
``ad_printformat``, ``ad_printformatitem``); the engine reads its print format
from the declaration the process was built from.
"""

from __future__ import annotations

from dataclasses import dataclass

from processes.reports.model import Align, Function, Kind


@dataclass(frozen=True)
class ReportView:
    """Where a report's rows come from.

    ``source`` is trusted SQL written by the report's author: a view name, or a
    set-returning function call whose arguments are named placeholders for
    parameters (``rv_bpartneropen(%(DateAcct)s)``). Every row is limited to the
    caller's tenant by ``client_column``.
    """

    name: str
    source: str
    client_column: str = "ad_client_id"
    # Parameters passed to ``source`` as arguments rather than used as WHERE
    # conditions; every other parameter narrows rows of the column of its name.
    arguments: tuple[str, ...] = ()
    id: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class FormatItem:
    """One column of a print format."""

    column: str  # the view's column (lower case)
    header: str
    kind: Kind = "text"
    width: int = 12
    align: Align = "left"
    format: str | None = None
    sort: int | None = None  # position in the ORDER BY, from 1
    descending: bool = False
    group_by: bool = False
    total: Function | None = None


@dataclass(frozen=True)
class PrintFormat:
    name: str
    items: tuple[FormatItem, ...]
    id: int | None = None
    uuid: str | None = None


@dataclass(frozen=True)
class ReportDeclaration:
    """A report process's view and print formats; the first format is the default."""

    view: ReportView
    formats: tuple[PrintFormat, ...]
