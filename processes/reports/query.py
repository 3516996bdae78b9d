"""A report's SQL, and its totals computed while the rows stream by.

Every name in the SQL (columns, the view's source) comes from a declaration
written by the report's author; every value a client sent is a bound parameter.
Rows arrive sorted by the grouping columns, so a group ends when its key
changes and its subtotal is known at once: nothing but one running total per
open group is ever held.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from processes.declarations import Parameter, Ref
from processes.reports.declarations import FormatItem, PrintFormat, ReportView
from processes.reports.model import (
    Column,
    DetailRow,
    Function,
    GrandTotalRow,
    Line,
    SubtotalRow,
    Value,
)

MULTIPLE_SELECTIONS = frozenset(
    {
        Ref.CHOSEN_MULTIPLE_SELECTION_LIST,
        Ref.CHOSEN_MULTIPLE_SELECTION_TABLE,
        Ref.CHOSEN_MULTIPLE_SELECTION_SEARCH,
    }
)
TEXTS = frozenset({Ref.STRING, Ref.TEXT, Ref.TEXT_LONG})
# Types a report parameter may have; files and paths narrow no rows.
SUPPORTED = frozenset(Ref) - {Ref.FILE_NAME, Ref.FILE_PATH}


@dataclass(frozen=True)
class Query:
    text: sql.Composed
    params: dict[str, Any]


@dataclass
class _Binder:
    """Named placeholders for values; the names start with ``_`` so they never
    meet a parameter's name, which the view's source may use."""

    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any) -> sql.Placeholder:
        name = f"_{len(self.params)}"
        self.params[name] = value
        return sql.Placeholder(name)


def build_query(
    view: ReportView,
    print_format: PrintFormat,
    *,
    parameters: Sequence[Parameter],
    values: Mapping[str, Any],
    values_to: Mapping[str, Any],
    client_id: int,
) -> Query:
    """``SELECT <format's columns> FROM <source> WHERE <tenant> AND <conditions>
    ORDER BY <groups>, <sort columns>``."""
    bind = _Binder()
    where: list[sql.Composable] = [
        sql.SQL("{} = {}").format(sql.Identifier(view.client_column), bind(client_id))
    ]
    for parameter in parameters:
        if parameter.column_name not in view.arguments:
            where.extend(
                condition(
                    parameter,
                    values.get(parameter.column_name),
                    values_to.get(parameter.column_name),
                    bind,
                )
            )
    text = sql.SQL("SELECT {columns} FROM {source} AS rows WHERE {where}").format(
        columns=sql.SQL(", ").join(
            sql.Identifier(item.column) for item in print_format.items
        ),
        source=sql.SQL(view.source),
        where=sql.SQL(" AND ").join(where),
    )
    order = order_by(print_format)
    if order:
        text += sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
            _ordered(item) for item in order
        )
    return Query(text, {**bind.params, **arguments(view, values, values_to)})


def arguments(
    view: ReportView, values: Mapping[str, Any], values_to: Mapping[str, Any]
) -> dict[str, Any]:
    """The values of the parameters the view's source takes by name (and their
    range ends, as ``<name>_to``); an unset one is NULL."""
    bound: dict[str, Any] = {}
    for name in view.arguments:
        bound[name] = _argument(values.get(name))
        bound[name + "_to"] = _argument(values_to.get(name))
    return bound


def _argument(value: Any) -> Any:
    return list(value) if isinstance(value, list | tuple) else value


def condition(
    parameter: Parameter, value: Any, value_to: Any, bind: _Binder
) -> list[sql.Composable]:
    """The conditions one parameter puts on the column of its name; none when
    it is unset."""
    column = sql.Identifier(parameter.column_name.lower())
    reference = parameter.reference
    if parameter.is_range:
        return _range(column, reference, value, value_to, bind)
    if value is None:
        return []
    if reference in MULTIPLE_SELECTIONS:
        return [sql.SQL("{} = ANY({})").format(column, bind(list(value)))]
    if reference is Ref.DATE:
        return _range(column, reference, value, value, bind)
    if reference in TEXTS and "%" in str(value):
        # The caller's % is a wildcard, as in iDempiere's reports; _ and \ are not.
        pattern = str(value).replace("\\", "\\\\").replace("_", "\\_")
        return [sql.SQL("{} ILIKE {}").format(column, bind(pattern))]
    return [sql.SQL("{} = {}").format(column, bind(value))]


def _range(
    column: sql.Identifier, reference: Ref, low: Any, high: Any, bind: _Binder
) -> list[sql.Composable]:
    conditions: list[sql.Composable] = []
    if low is not None:
        conditions.append(sql.SQL("{} >= {}").format(column, bind(low)))
    if high is not None and reference is Ref.DATE:
        # The whole last day, whether the column holds dates or timestamps; the
        # day after is PostgreSQL's sum, as 9999-12-31 has none in Python.
        conditions.append(sql.SQL("{} < {}::date + 1").format(column, bind(high)))
    elif high is not None:
        conditions.append(sql.SQL("{} <= {}").format(column, bind(high)))
    return conditions


def _ordered(item: FormatItem) -> sql.Composable:
    direction = sql.SQL(" DESC" if item.descending else "")
    return sql.Identifier(item.column) + direction


def group_items(print_format: PrintFormat) -> list[FormatItem]:
    """The grouping columns, outermost first: by their sort number, then those
    without one in the order of the format."""
    grouped = [item for item in print_format.items if item.group_by]
    return sorted(grouped, key=_sort_key(print_format))


def order_by(print_format: PrintFormat) -> list[FormatItem]:
    """The grouping columns, then the other sorted columns by sort number."""
    sorted_items = [
        item
        for item in print_format.items
        if item.sort is not None and not item.group_by
    ]
    return group_items(print_format) + sorted(sorted_items, key=_sort_key(print_format))


def _sort_key(print_format: PrintFormat) -> Any:
    position = {id(item): index for index, item in enumerate(print_format.items)}

    def key(item: FormatItem) -> tuple[bool, int, int]:
        return (item.sort is None, item.sort or 0, position[id(item)])

    return key


def columns(print_format: PrintFormat) -> tuple[Column, ...]:
    return tuple(
        Column(
            key=item.column,
            header=item.header,
            kind=item.kind,
            width=item.width,
            align=item.align,
            format=item.format,
            total=item.total,
        )
        for item in print_format.items
    )


# --- totals -----------------------------------------------------------------


class _Totals:
    """The running totals of one group (or of the whole report)."""

    def __init__(self, measured: Sequence[tuple[int, Function]]) -> None:
        self.measured = measured
        self.count = 0
        self.sums: dict[int, Any] = {i: 0 for i, _ in measured}
        self.counts: dict[int, int] = {i: 0 for i, _ in measured}
        self.lows: dict[int, Any] = {}
        self.highs: dict[int, Any] = {}

    def add(self, row: Sequence[Value]) -> None:
        self.count += 1
        for i, function in self.measured:
            value = row[i]
            if value is None:
                continue
            self.counts[i] += 1
            if function in ("sum", "avg"):
                self.sums[i] += value
            elif function == "min" and (i not in self.lows or value < self.lows[i]):
                self.lows[i] = value
            elif function == "max" and (i not in self.highs or value > self.highs[i]):
                self.highs[i] = value

    def merge_into(self, outer: _Totals) -> None:
        outer.count += self.count
        for i, _ in self.measured:
            outer.sums[i] += self.sums[i]
            outer.counts[i] += self.counts[i]
            if i in self.lows and (i not in outer.lows or self.lows[i] < outer.lows[i]):
                outer.lows[i] = self.lows[i]
            if i in self.highs and (
                i not in outer.highs or self.highs[i] > outer.highs[i]
            ):
                outer.highs[i] = self.highs[i]

    def value(self, i: int, function: Function) -> Value:
        if function == "sum":
            return self.sums[i]  # type: ignore[no-any-return]
        if function == "count":
            return self.counts[i]
        if function == "min":
            return self.lows.get(i)
        if function == "max":
            return self.highs.get(i)
        return _average(self.sums[i], self.counts[i])


# Averages of exact numbers keep this many decimals: enough for any format, and
# not the 28 digits of a Decimal division, which a CSV would print.
AVERAGE_PLACES = decimal.Decimal("0.000001")


def _average(total: Any, count: int) -> Value:
    if count == 0:
        return None
    if isinstance(total, float):
        return total / count
    average = decimal.Decimal(total) / count
    return average.quantize(AVERAGE_PLACES, rounding=decimal.ROUND_HALF_UP).normalize()


def lines(
    rows: Iterable[Sequence[Value]],
    report_columns: Sequence[Column],
    group_by: Sequence[str],
    *,
    summary: bool,
) -> Iterator[Line]:
    """Detail rows (unless ``summary``), a subtotal after each group (innermost
    first when several end together), and the grand total last, always.

    ``rows`` must be sorted by ``group_by``. Only the innermost open group's
    totals change per row; an ending group adds its totals to the next outer one.
    """
    keys = [column.key for column in report_columns]
    positions = [keys.index(key) for key in group_by]
    measured = [(i, c.total) for i, c in enumerate(report_columns) if c.total]
    # totals[0] is the whole report's, totals[level + 1] the open group's.
    totals = [_Totals(measured) for _ in range(len(positions) + 1)]
    current: tuple[Value, ...] | None = None
    for row in rows:
        key = tuple(row[p] for p in positions)
        if current is not None and key != current:
            changed = next(
                i for i, (a, b) in enumerate(zip(key, current, strict=True)) if a != b
            )
            yield from _close(totals, positions, current, changed, len(keys))
        current = key
        totals[-1].add(row)
        if not summary:
            yield DetailRow(tuple(row))
    if current is not None:
        yield from _close(totals, positions, current, 0, len(keys))
    grand = totals[0]
    yield GrandTotalRow(_values(grand, len(keys)), grand.count)


def _close(
    totals: list[_Totals],
    positions: Sequence[int],
    key: tuple[Value, ...],
    outermost: int,
    width: int,
) -> Iterator[SubtotalRow]:
    """End the open groups from the innermost to level ``outermost``."""
    for level in range(len(positions) - 1, outermost - 1, -1):
        group = totals[level + 1]
        values = list(_values(group, width))
        for p, value in zip(positions[: level + 1], key, strict=False):
            if values[p] is None and not _measured(group, p):
                values[p] = value
        yield SubtotalRow(level, key[: level + 1], tuple(values), group.count)
        group.merge_into(totals[level])
        totals[level + 1] = _Totals(group.measured)


def _measured(totals: _Totals, index: int) -> bool:
    return any(i == index for i, _ in totals.measured)


def _values(totals: _Totals, width: int) -> tuple[Value, ...]:
    values: list[Value] = [None] * width
    for i, function in totals.measured:
        values[i] = totals.value(i, function)
    return tuple(values)
