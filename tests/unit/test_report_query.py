"""The report engine's SQL and its streaming totals, on plain data."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processes.declarations import ListReference, ListValue, Parameter, Process, Ref
from processes.reports import report
from processes.reports.declarations import FormatItem, PrintFormat, ReportView
from processes.reports.engine import output_name
from processes.reports.model import (
    Column,
    DetailRow,
    GrandTotalRow,
    Line,
    SubtotalRow,
)
from processes.reports.query import build_query, lines, order_by

VIEW = ReportView(name="Test View", source="rv_test")
STATUS = ListReference("Test Status", (ListValue("CO", "Completed"),))
FORMAT = PrintFormat(
    "By Region",
    items=(
        FormatItem("documentno", "Document", sort=3),
        FormatItem("region", "Region", group_by=True, sort=1),
        FormatItem("amount", "Amount", "amount", total="sum"),
        FormatItem("dateordered", "Date", "date", sort=2, descending=True),
        FormatItem("category", "Category", group_by=True),
    ),
)
PARAMETERS = (
    Parameter("DateOrdered", "Date Ordered", Ref.DATE, is_range=True),
    Parameter("AD_User_ID", "Users", Ref.CHOSEN_MULTIPLE_SELECTION_TABLE),
    Parameter("DocStatus", "Status", Ref.LIST, values=STATUS),
    Parameter("IsSOTrx", "Sales", Ref.YES_NO),
    Parameter("Region", "Region", Ref.STRING),
    Parameter("Qty", "Quantity", Ref.INTEGER, is_range=True),
)


def sql_of(
    values: dict[str, Any],
    values_to: dict[str, Any] | None = None,
    view: ReportView = VIEW,
) -> tuple[str, dict[str, Any]]:
    query = build_query(
        view,
        FORMAT,
        parameters=PARAMETERS,
        values=values,
        values_to=values_to or {},
        client_id=11,
    )
    return query.text.as_string(None), query.params


def test_query_selects_the_formats_columns_of_the_tenant_in_group_then_sort_order():
    text, params = sql_of({})

    assert text == (
        'SELECT "documentno", "region", "amount", "dateordered", "category"'
        ' FROM rv_test AS rows WHERE "ad_client_id" = %(_0)s'
        ' ORDER BY "region", "category", "dateordered" DESC, "documentno"'
    )
    assert params == {"_0": 11}


def test_grouping_columns_come_first_outermost_by_sort_number():
    assert [item.column for item in order_by(FORMAT)] == [
        "region",
        "category",
        "dateordered",
        "documentno",
    ]


def test_a_date_range_includes_its_last_day_and_each_end_is_optional():
    text, params = sql_of(
        {"DateOrdered": dt.date(2024, 1, 1)}, {"DateOrdered": dt.date(2024, 1, 31)}
    )
    assert '"dateordered" >= %(_1)s AND "dateordered" < %(_2)s::date + 1' in text
    assert params["_1"] == dt.date(2024, 1, 1)
    assert params["_2"] == dt.date(2024, 1, 31)

    text, params = sql_of({}, {"DateOrdered": dt.date(2024, 1, 31)})
    assert '"dateordered" < %(_1)s::date + 1 ORDER' in text
    assert ">=" not in text


def test_a_date_range_may_end_on_the_last_day_there_is():
    # Python has no day after 9999-12-31; PostgreSQL adds the day.
    text, params = sql_of({}, {"DateOrdered": dt.date.max})
    assert '"dateordered" < %(_1)s::date + 1' in text
    assert params["_1"] == dt.date.max


def test_a_number_range_is_inclusive_at_both_ends():
    text, params = sql_of({"Qty": 2}, {"Qty": 5})

    assert '"qty" >= %(_1)s AND "qty" <= %(_2)s' in text
    assert (params["_1"], params["_2"]) == (2, 5)


def test_a_multiple_selection_is_one_bound_array():
    text, params = sql_of({"AD_User_ID": [101, 102]})

    assert '"ad_user_id" = ANY(%(_1)s)' in text
    assert params["_1"] == [101, 102]


def test_lists_yes_no_and_texts_are_equalities():
    text, params = sql_of({"DocStatus": "CO", "IsSOTrx": False, "Region": "North"})

    assert '"docstatus" = %(_1)s' in text
    assert '"issotrx" = %(_2)s' in text
    assert '"region" = %(_3)s' in text
    assert [params[k] for k in ("_1", "_2", "_3")] == ["CO", False, "North"]


def test_a_text_with_percent_is_an_ilike_where_only_percent_is_a_wildcard():
    text, params = sql_of({"Region": "No_th%\\"})

    assert '"region" ILIKE %(_1)s' in text
    assert params["_1"] == "No\\_th%\\\\"


def test_unset_parameters_add_no_condition():
    assert sql_of({"DocStatus": None, "AD_User_ID": None}) == sql_of({})


def test_client_text_is_never_part_of_the_sql():
    hostile = "x'; DROP TABLE ad_user; --"
    text, params = sql_of({"Region": hostile, "DocStatus": hostile})

    assert hostile not in text
    assert params["_1"] == hostile


def test_arguments_go_to_the_source_as_named_placeholders():
    view = ReportView(
        name="Test Function",
        source="rv_test_asof(%(DateOrdered)s, %(DateOrdered_to)s)",
        arguments=("DateOrdered",),
    )
    text, params = sql_of({"DateOrdered": dt.date(2024, 3, 1)}, view=view)

    assert "FROM rv_test_asof(%(DateOrdered)s, %(DateOrdered_to)s) AS rows" in text
    assert text.split("WHERE")[1].startswith(' "ad_client_id" = %(_0)s ORDER BY')
    assert params["DateOrdered"] == dt.date(2024, 3, 1)
    assert params["DateOrdered_to"] is None


def test_a_report_process_runs_the_engine_and_is_told_apart_by_its_slug():
    first = report("Test One", "Test One", view=VIEW, formats=(FORMAT,))
    second = report("Test Two", "Test Two", view=VIEW, formats=(FORMAT,))

    assert first.is_report
    assert first.classname == "processes.reports.engine:run_report#test-one"
    assert first.classname != second.classname
    assert isinstance(first, Process)


@pytest.mark.parametrize(
    ("view", "formats", "parameters"),
    [
        (VIEW, (), ()),
        (VIEW, (PrintFormat("Empty", ()),), ()),
        (
            ReportView("V", "f(%(Missing)s)", arguments=("Missing",)),
            (FORMAT,),
            (),
        ),
        (VIEW, (FORMAT,), (Parameter("File", "File", Ref.FILE_NAME),)),
    ],
)
def test_a_report_that_cannot_run_is_refused_when_declared(
    view: ReportView, formats: Any, parameters: Any
):
    with pytest.raises(ValueError, match="Test Bad"):
        report(
            "Test Bad", "Test Bad", view=view, formats=formats, parameters=parameters
        )


def test_output_names_use_the_process_name_with_underscores():
    assert output_name("Order Detail", 1000042, "pdf") == "Order_Detail_1000042.pdf"
    assert output_name(" A  b/c ", 7, "csv") == "A_b_c_7.csv"


# --- totals -----------------------------------------------------------------

COLUMNS = (
    Column("region", "Region"),
    Column("category", "Category"),
    Column("amount", "Amount", "amount", total="sum"),
    Column("qty", "Qty", "integer", total="avg"),
    Column("documentno", "Document", total="count"),
    Column("dateordered", "Date", "date", total="max"),
)


def row(
    region: str, category: str, amount: str | None, qty: int, day: int
) -> tuple[Any, ...]:
    return (
        region,
        category,
        None if amount is None else Decimal(amount),
        qty,
        f"D{day}",
        dt.date(2024, 1, day),
    )


ROWS = [
    row("North", "A", "1.50", 1, 1),
    row("North", "A", "2.50", 2, 2),
    row("North", "B", None, 3, 3),
    row("South", "A", "4.00", 4, 4),
]


def kinds(stream: Sequence[Line]) -> list[str]:
    return [type(line).__name__[0] for line in stream]


def test_subtotals_follow_each_group_innermost_first_and_the_grand_total_is_last():
    stream = list(lines(ROWS, COLUMNS, ("region", "category"), summary=False))

    assert kinds(stream) == list("DDSDSSDSSG")
    subtotals = [line for line in stream if isinstance(line, SubtotalRow)]
    assert [(s.level, s.group, s.count) for s in subtotals] == [
        (1, ("North", "A"), 2),
        (1, ("North", "B"), 1),
        (0, ("North",), 3),
        (1, ("South", "A"), 1),
        (0, ("South",), 1),
    ]
    north = subtotals[2]
    assert north.values == (
        "North",
        None,
        Decimal("4.00"),
        Decimal(2),
        3,
        dt.date(2024, 1, 3),
    )
    assert subtotals[0].values[:2] == ("North", "A")
    grand = stream[-1]
    assert isinstance(grand, GrandTotalRow)
    assert grand.count == 4
    assert grand.values == (
        None,
        None,
        Decimal("8.00"),
        Decimal("2.5"),
        4,
        dt.date(2024, 1, 4),
    )


def test_a_count_or_average_skips_nulls_and_a_sum_of_decimals_stays_decimal():
    stream = list(lines(ROWS[:3], COLUMNS, (), summary=False))
    grand = stream[-1]

    assert isinstance(grand, GrandTotalRow)
    assert grand.values[2] == Decimal("4.00")
    assert isinstance(grand.values[2], Decimal)
    assert grand.values[3] == Decimal(2)
    assert isinstance(grand.values[3], Decimal)


def test_an_average_of_decimals_is_decimal():
    columns = (Column("amount", "Amount", "amount", total="avg"),)
    stream = list(
        lines([(Decimal("1.00"),), (Decimal("2.00"),)], columns, (), summary=True)
    )

    assert stream == [GrandTotalRow((Decimal("1.50"),), 2)]


def test_an_average_keeps_six_decimals_not_twenty_eight():
    columns = (Column("amount", "Amount", "amount", total="avg"),)
    rows = [(Decimal("1.00"),), (Decimal("1.00"),), (Decimal("2.00"),)]

    grand = list(lines(rows, columns, (), summary=True))[-1]

    assert grand.values[0] == Decimal("1.333333")


def test_summary_mode_sends_no_detail_rows():
    stream = list(lines(ROWS, COLUMNS, ("region",), summary=True))

    assert kinds(stream) == list("SSG")
    assert not any(isinstance(line, DetailRow) for line in stream)


def test_no_rows_give_one_grand_total_of_count_zero():
    stream = list(lines([], COLUMNS, ("region",), summary=False))

    assert stream == [GrandTotalRow((None, None, 0, None, 0, None), 0)]


def test_rows_are_read_as_the_lines_are_consumed():
    consumed = []

    def rows() -> Any:
        for each in ROWS:
            consumed.append(each)
            yield each

    stream = lines(rows(), COLUMNS, ("region",), summary=False)
    next(stream)
    assert len(consumed) == 1


@given(
    st.lists(
        st.tuples(
            st.sampled_from("ab"),
            st.sampled_from("xyz"),
            st.one_of(st.none(), st.decimals(-1000, 1000, places=2)),
        ),
        max_size=40,
    )
)
def test_subtotals_equal_the_sums_of_their_groups(data: list[tuple[Any, ...]]):
    rows = sorted(data, key=lambda r: (r[0], r[1]))
    columns = (
        Column("g1", "G1"),
        Column("g2", "G2"),
        Column("amount", "Amount", "amount", total="sum"),
    )
    stream = list(lines(rows, columns, ("g1", "g2"), summary=True))

    expected: list[tuple[tuple[Any, ...], Any, int]] = []
    for outer, outer_rows in itertools.groupby(rows, key=lambda r: r[0]):
        members = list(outer_rows)
        for inner, inner_rows in itertools.groupby(members, key=lambda r: r[1]):
            chosen = list(inner_rows)
            expected.append(((outer, inner), _sum(chosen), len(chosen)))
        expected.append(((outer,), _sum(members), len(members)))
    subtotals = [line for line in stream if isinstance(line, SubtotalRow)]
    assert [(s.group, s.values[2], s.count) for s in subtotals] == expected
    assert stream[-1] == GrandTotalRow((None, None, _sum(rows)), len(rows))


def _sum(rows: list[tuple[Any, ...]]) -> Any:
    return sum((r[2] for r in rows if r[2] is not None), 0)
