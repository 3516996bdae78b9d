"""Reports: processes whose run is the report engine.

A report is declared once, with the view its rows come from, its print formats
(the first is the default) and its parameters::

    ORDER_DETAIL = report(
        "RV_OrderDetail",
        "Order Detail",
        view=ReportView(name="RV_OrderDetail", source="rv_orderdetail"),
        formats=(PrintFormat("Order Detail", items=(...)),),
        parameters=(Parameter("DateOrdered", "Date Ordered", Ref.DATE, is_range=True),),
    )

Each parameter narrows the rows of the view's column of its name, lower-cased
(``DateOrdered`` → ``dateordered``): a range by its ends (a date range includes
its last day), a multiple selection by ``= ANY``, a text with ``%`` by ``ILIKE``
(``%`` is the only wildcard), any other value by equality; an unset parameter
narrows nothing. Parameters named in ``view.arguments`` go to the view's source
instead, as ``%(Name)s`` (and ``%(Name_to)s``); a literal ``%`` in the source is
written ``%%``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from processes.context import Context, Result
from processes.declarations import Parameter, Process
from processes.reports.declarations import PrintFormat, ReportDeclaration, ReportView
from processes.reports.engine import run_report
from processes.reports.query import SUPPORTED

__all__ = ["report"]


def report(
    value: str,
    name: str,
    *,
    view: ReportView,
    formats: Iterable[PrintFormat],
    parameters: Iterable[Parameter] = (),
    **options: Any,
) -> Process:
    """A report process over ``view``, printed with ``formats``; ``options`` are
    those of ``Process`` (description, help, queue, id, uuid ...)."""
    declaration = ReportDeclaration(view, tuple(formats))
    declared = tuple(parameters)
    _check(value, declaration, declared)

    def run(ctx: Context) -> Result:
        return run_report(ctx, process)

    # Its classname names the engine; the registry tells reports apart by slug.
    run.__module__ = run_report.__module__
    run.__qualname__ = run_report.__qualname__
    process = Process(
        value=value,
        name=name,
        run=run,
        parameters=declared,
        report=declaration,
        **options,
    )
    return process


def _check(
    value: str, declaration: ReportDeclaration, parameters: tuple[Parameter, ...]
) -> None:
    if not declaration.formats:
        raise ValueError(f"{value}: a report needs at least one print format")
    for print_format in declaration.formats:
        if not print_format.items:
            raise ValueError(f"{value}: print format {print_format.name!r} is empty")
    names = {p.column_name for p in parameters}
    for argument in declaration.view.arguments:
        if argument not in names:
            raise ValueError(f"{value}: the view's argument {argument} is no parameter")
    for parameter in parameters:
        if parameter.reference not in SUPPORTED:
            raise ValueError(
                f"{value}: parameter {parameter.column_name} cannot narrow a report"
            )
