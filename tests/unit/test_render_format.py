"""Values as HTML and PDF print them, following the columns' Excel formats."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from processes.reports.format import default_format, format_value
from processes.reports.model import Column, Kind, Value

D = decimal.Decimal
STAMP = dt.datetime(2024, 3, 5, 14, 7, 9)


def column(fmt: str | None, kind: Kind = "number") -> Column:
    return Column("c", "C", kind=kind, format=fmt)


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (D("1234.5"), "#,##0", "1,235"),
        (D("-1234.5"), "#,##0", "-1,235"),
        (D("2.345"), "0.00", "2.35"),  # half up, as Excel rounds
        (0.1234, "0.0%", "12.3%"),
        (-5, "#,##0.00;(#,##0.00)", "(5.00)"),
        (0, '#,##0;-#,##0;"none"', "none"),
        (D("12.5"), '"$"#,##0.00', "$12.50"),
        (D("12.5"), "[$€-407] #,##0.00", "€ 12.50"),
        (D("12.3456"), "#,##0.0#", "12.35"),
        (D("12.3"), "#,##0.0#", "12.3"),
        (7, "000", "007"),
        (D("-0.001"), "0.00", "0.00"),
        (3.5, "General", "3.5"),
        (D("1E+2"), None, "100"),
        # More digits than decimal's default context holds.
        (
            D("98765432109876543210987654321.55"),
            "0.0",
            "98765432109876543210987654321.6",
        ),
    ],
)
def test_numbers_follow_excel_number_formats(
    value: Value, fmt: str, shown: str
) -> None:
    assert format_value(value, column(fmt)) == shown


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [
        ("yyyy-mm-dd", "2024-03-05"),
        ("yyyy-mm-dd hh:mm", "2024-03-05 14:07"),
        ("dd.mm.yyyy", "05.03.2024"),
        ("d mmm yyyy", "5 Mar 2024"),
        ("mmmm d, yyyy h:mm AM/PM", "March 5, 2024 2:07 PM"),
        ("hh:mm:ss", "14:07:09"),
        ('yyyy "at" hh\\h', "2024 at 14h"),
    ],
)
def test_dates_follow_excel_date_formats(fmt: str, shown: str) -> None:
    assert format_value(STAMP, column(fmt, "datetime")) == shown


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (None, "amount", ""),
        ("a < b", "text", "a < b"),  # escaping is the HTML template's job
        (True, "boolean", "Yes"),
        (False, "boolean", "No"),
        (D("5"), "amount", "5.00"),
        (D("8.000"), "number", "8.000"),
        (1000000, "integer", "1000000"),
        (dt.date(2024, 3, 5), "date", "2024-03-05"),
        (STAMP, "datetime", "2024-03-05 14:07"),
    ],
)
def test_columns_without_a_format_print_by_kind(
    value: Value, kind: Kind, shown: str
) -> None:
    assert format_value(value, column(None, kind)) == shown


def test_kinds_without_a_format_get_the_same_default_in_xlsx() -> None:
    assert default_format(column(None, "amount")) == "#,##0.00"
    assert default_format(column(None, "date")) == "yyyy-mm-dd"
    assert default_format(column("0.0", "amount")) == "0.0"
    assert default_format(column(None, "text")) is None
