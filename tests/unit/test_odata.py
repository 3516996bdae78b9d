"""The ``$filter`` parser and compiler: syntax, typing, errors, and valid SQL."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidFilter
from app.odata import (
    And,
    Compare,
    FilterColumn,
    Not,
    Or,
    SqlFragment,
    Word,
    compile_filter,
    parse_filter,
)

COLUMNS = {
    "id": FilterColumn("p.id", "integer", "id"),
    "Name": FilterColumn("p.name", "string", "Name"),
    "Value": FilterColumn("p.value", "string", "Value"),
    "IsReport": FilterColumn("p.isreport", "yesno", "IsReport"),
    "Amount": FilterColumn("p.amount", "number", "Amount"),
    "ValidFrom": FilterColumn("p.validfrom", "date", "ValidFrom"),
    "Created": FilterColumn("p.created", "datetime", "Created"),
    "Updated": FilterColumn("p.updated", "datetime", "Updated"),
}


def compiled(text: str) -> SqlFragment:
    return compile_filter(text, COLUMNS)


def error_of(text: str) -> str:
    with pytest.raises(InvalidFilter) as caught:
        compile_filter(text, COLUMNS)
    return caught.value.detail


# Operators and functions


@pytest.mark.parametrize(
    ("operator", "sql"),
    [
        ("eq", "="),
        ("ne", "<>"),
        ("neq", "<>"),
        ("gt", ">"),
        ("ge", ">="),
        ("lt", "<"),
        ("le", "<="),
    ],
)
def test_compile_filter_maps_each_comparison_operator(operator, sql):
    fragment = compiled(f"id {operator} 7")

    assert fragment == SqlFragment(f"p.id {sql} %s", (7,))


def test_compile_filter_turns_in_into_a_list_of_placeholders():
    fragment = compiled("Value in ('A', 'B','C')")

    assert fragment == SqlFragment("p.value IN (%s, %s, %s)", ("A", "B", "C"))


def test_compile_filter_accepts_a_single_value_in_a_list():
    assert compiled("id in (3)") == SqlFragment("p.id IN (%s)", (3,))


def test_compile_filter_joins_with_and_or_and_not():
    fragment = compiled("not (id eq 1) and (Name eq 'a' or Name eq 'b')")

    assert fragment.text == "NOT (p.id = %s) AND (p.name = %s OR p.name = %s)"
    assert fragment.params == (1, "a", "b")


@pytest.mark.parametrize(
    ("function", "pattern"),
    [("contains", "%abc%"), ("startswith", "abc%"), ("endswith", "%abc")],
)
def test_compile_filter_turns_text_functions_into_like(function, pattern):
    fragment = compiled(f"{function}(Name, 'abc')")

    assert fragment == SqlFragment("p.name LIKE %s ESCAPE '\\'", (pattern,))


def test_compile_filter_maps_tolower_and_toupper():
    fragment = compiled("tolower(Name) eq 'a' and toupper(Value) eq 'B'")

    assert fragment.text == "lower(p.name) = %s AND upper(p.value) = %s"


def test_compile_filter_applies_tolower_inside_contains():
    fragment = compiled("contains(tolower(Name),'business partner')")

    assert fragment == SqlFragment(
        "lower(p.name) LIKE %s ESCAPE '\\'", ("%business partner%",)
    )


def test_compile_filter_leaves_the_literal_case_alone_in_contains():
    # As in the original: the client lower-cases the literal itself.
    assert compiled("contains(tolower(Name),'ABC')").params == ("%ABC%",)


def test_compile_filter_negates_a_function_call():
    fragment = compiled("not contains(Name,'x')")

    assert fragment.text == "NOT (p.name LIKE %s ESCAPE '\\')"


def test_compile_filter_applies_tolower_to_a_literal_on_the_right():
    fragment = compiled("tolower(Name) eq tolower('ABC')")

    assert fragment == SqlFragment("lower(p.name) = lower(%s)", ("ABC",))


# Precedence


def test_parse_filter_binds_and_tighter_than_or():
    expr = parse_filter("id eq 1 or id eq 2 and id eq 3")

    assert isinstance(expr, Or)
    assert isinstance(expr.operands[0], Compare)
    assert isinstance(expr.operands[1], And)


def test_parse_filter_binds_not_tighter_than_and():
    expr = parse_filter("not (id eq 1) and id eq 2")

    assert isinstance(expr, And)
    assert isinstance(expr.operands[0], Not)


def test_parse_filter_lets_parentheses_override_precedence():
    expr = parse_filter("(id eq 1 or id eq 2) and id eq 3")

    assert isinstance(expr, And)
    assert isinstance(expr.operands[0], Or)


def test_parse_filter_keeps_a_chain_flat():
    expr = parse_filter("id eq 1 and id eq 2 and id eq 3")

    assert isinstance(expr, And)
    assert len(expr.operands) == 3


def test_compile_filter_parenthesises_or_inside_and():
    fragment = compiled("id eq 1 and (id eq 2 or id eq 3)")

    assert fragment.text == "p.id = %s AND (p.id = %s OR p.id = %s)"


def test_compile_filter_needs_no_parentheses_for_and_inside_or():
    fragment = compiled("id eq 1 or id eq 2 and id eq 3")

    assert fragment.text == "p.id = %s OR p.id = %s AND p.id = %s"


def test_parse_filter_keeps_the_position_of_each_word():
    expr = parse_filter("Name  eq  Value")

    assert isinstance(expr, Compare)
    assert expr.left == Word("Name", 0)
    assert expr.right == Word("Value", 10)


# Case, spacing, quoting


def test_compile_filter_ignores_the_case_of_keywords_functions_and_columns():
    upper = compiled("NOT CONTAINS(TOLOWER(NAME), 'x') AND ISREPORT EQ Y OR ID NE NULL")
    lower = compiled("not contains(tolower(name), 'x') and isreport eq y or id ne null")

    assert upper == lower


def test_compile_filter_tolerates_extra_spaces_outside_quotes():
    fragment = compiled("  Name   eq 'a  b'    and ( id  in ( 1 ,2 ) )  ")

    assert fragment == SqlFragment("p.name = %s AND p.id IN (%s, %s)", ("a  b", 1, 2))


def test_compile_filter_unescapes_doubled_quotes():
    assert compiled("Name eq 'O''Brien'").params == ("O'Brien",)


def test_compile_filter_reads_an_empty_quoted_string():
    assert compiled("Name eq ''").params == ("",)


def test_compile_filter_keeps_keywords_and_punctuation_inside_quotes():
    fragment = compiled("Name eq 'a and (b, c) or not null'")

    assert fragment == SqlFragment("p.name = %s", ("a and (b, c) or not null",))


def test_compile_filter_does_not_mistake_a_word_starting_with_a_keyword():
    columns = {"orders": FilterColumn("p.orders", "integer", "Orders")}

    assert compile_filter("orders eq 1", columns).text == "p.orders = %s"


def test_compile_filter_matches_a_blank_filter_to_every_row():
    assert compiled("   ") == SqlFragment("TRUE", ())


# Literal kinds


@pytest.mark.parametrize(
    ("literal", "value"),
    [("42", 42), ("'42'", 42), ("-3", -3), ("+5", 5)],
)
def test_compile_filter_reads_integers_bare_or_quoted(literal, value):
    assert compiled(f"id eq {literal}").params == (value,)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("1.5", Decimal("1.5")), ("'-2'", Decimal("-2")), ("1e3", Decimal("1e3"))],
)
def test_compile_filter_reads_numbers_as_decimals(literal, value):
    assert compiled(f"Amount ge {literal}").params == (value,)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("true", True),
        ("TRUE", True),
        ("Y", True),
        ("y", True),
        ("'Y'", True),
        ("'true'", True),
        ("false", False),
        ("False", False),
        ("N", False),
        ("'N'", False),
        ("'false'", False),
    ],
)
def test_compile_filter_reads_yes_no_values_as_booleans(literal, value):
    params = compiled(f"IsReport eq {literal}").params

    assert params == (value,)
    assert type(params[0]) is bool


@pytest.mark.parametrize("literal", ["2024-02-29", "'2024-02-29'"])
def test_compile_filter_reads_dates_bare_or_quoted(literal):
    assert compiled(f"ValidFrom ge {literal}").params == (date(2024, 2, 29),)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'2024-05-01T10:30:00Z'", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("'2024-05-01T12:30:00+02:00'", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("2024-05-01T10:30:00.250Z", datetime(2024, 5, 1, 10, 30, 0, 250000, UTC)),
        ("'2024-05-01T10:30:00'", datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        ("'2024-05-01'", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_compile_filter_reads_datetimes_in_utc(literal, value):
    (moment,) = compiled(f"Created gt {literal}").params

    assert moment == value
    assert isinstance(moment, datetime)
    assert moment.utcoffset() == timedelta(0)


def test_compile_filter_repairs_an_offset_whose_plus_became_a_space():
    (moment,) = compiled("Created gt '2024-05-01T12:30:00 02:00'").params

    assert moment == datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))


def test_compile_filter_compares_two_columns():
    assert compiled("Created eq Updated") == SqlFragment("p.created = p.updated", ())


def test_compile_filter_compares_columns_of_the_same_family():
    assert compiled("Amount gt ID").text == "p.amount > p.id"
    assert compiled("Created ge ValidFrom").text == "p.created >= p.validfrom"


def test_compile_filter_lets_a_column_appear_in_a_list():
    fragment = compiled("Name in (Value, 'x')")

    assert fragment == SqlFragment("p.name IN (p.value, %s)", ("x",))


@pytest.mark.parametrize(
    ("function", "sql"),
    [
        ("contains", "strpos(p.name, p.value) > 0"),
        ("startswith", "left(p.name, length(p.value)) = p.value"),
        ("endswith", "right(p.name, length(p.value)) = p.value"),
    ],
)
def test_compile_filter_matches_text_against_another_column(function, sql):
    assert compiled(f"{function}(Name, Value)") == SqlFragment(sql, ())


# Null


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        ("Name eq null", "p.name IS NULL"),
        ("Name ne null", "p.name IS NOT NULL"),
        ("Name neq NULL", "p.name IS NOT NULL"),
        ("tolower(Name) eq Null", "lower(p.name) IS NULL"),
    ],
)
def test_compile_filter_turns_null_into_is_null(text, sql):
    assert compiled(text) == SqlFragment(sql, ())


def test_compile_filter_treats_quoted_null_as_text():
    assert compiled("Name eq 'null'") == SqlFragment("p.name = %s", ("null",))


# Wildcards


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        ("50%", "%50\\%%"),
        ("a_b", "%a\\_b%"),
        ("back\\slash", "%back\\\\slash%"),
        ("%_\\", "%\\%\\_\\\\%"),
    ],
)
def test_compile_filter_escapes_like_wildcards(value, pattern):
    assert compiled(f"contains(Name, '{value}')").params == (pattern,)


def test_compile_filter_never_puts_a_percent_sign_in_the_sql_text():
    fragment = compiled("startswith(Name, '%') or endswith(Value, '%%')")

    assert "%" not in fragment.text.replace("%s", "")


# Errors

UNQUOTED = "String values must be put between single quotes. ColumnName: "
YES_NO = "(expected true, false, Y or N)"
DATE = "(expected a date YYYY-MM-DD)"
MOMENT = "(expected an ISO 8601 date-time)"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("Foo eq 1", "Invalid column for filter: Foo"),
        ("contains(Foo, 'x')", "Invalid column for filter: Foo"),
        ("Name eq Bar", UNQUOTED + "Name"),
        ("contains(Name, abc)", UNQUOTED + "Name"),
        ("tolower(Name) eq abc", UNQUOTED + "tolower(Name)"),
        ("Name EQQ 'x'", "Unsupported operator: EQQ"),
        ("Name <> 'x'", "Unsupported operator: <>"),
        ("Name eq", "Missing operand after 'eq'"),
        ("Name eq 'x' and", "Missing operand after 'and'"),
        ("not", "Missing operand after 'not'"),
        ("contains(", "Missing operand after '('"),
        ("Name", "Missing operator after 'Name'"),
        ("(Name eq 'x'", "Missing ')' at the end of the filter"),
        ("substringof('a', Name)", "Unknown function: substringof"),
        ("Name eq eq 'x'", "Unexpected token ''x'' at position 11"),
        ("and Name eq 'x'", "Unexpected token 'and' at position 0"),
        ("Name eq 'x' xor id eq 1", "Unexpected token 'xor' at position 12"),
        ("Name eq 'x') ", "Unexpected token ')' at position 11"),
        ("id in ()", "Unexpected token ')' at position 7"),
        ("not Name eq 'x'", "Unexpected token 'eq' at position 9"),
        ("Name eq 'x", "Unterminated quoted value starting at position 8"),
        ("id gt null", "Only eq and ne compare with null, not gt at position 3"),
        ("id in (1, null)", "null cannot be in a list at position 10"),
        ("id in 1", "Operator in needs a list in parentheses at position 3"),
        ("id eq (1, 2)", "Only operator in takes a list, not eq at position 3"),
        ("id eq 'abc'", "Invalid value for id: 'abc' (expected an integer)"),
        ("id eq 1.5", "Invalid value for id: '1.5' (expected an integer)"),
        ("Amount eq 1,5", "Unexpected token ',' at position 11"),
        ("Amount eq 'NaN'", "Invalid value for Amount: 'NaN' (expected a number)"),
        ("IsReport eq 'yes'", "Invalid value for IsReport: 'yes' " + YES_NO),
        ("ValidFrom eq 2024-02-30", "Invalid value for ValidFrom: '2024-02-30' "
         + DATE),
        ("ValidFrom eq 20240201", "Invalid value for ValidFrom: '20240201' " + DATE),
        ("Created eq 'yesterday'", "Invalid value for Created: 'yesterday' " + MOMENT),
        ("Created eq '0001-01-01T00:00:00+01:00'", "Invalid value for Created: "
         "'0001-01-01T00:00:00+01:00' " + MOMENT),
        ("Name eq id", "Cannot compare Name with id"),
        ("id eq tolower('5')", "Cannot compare id with tolower('5')"),
        ("contains(id, '1')", "Function contains needs text, not id"),
        ("tolower(Created) eq 'x'", "Function tolower needs text, not Created"),
        ("tolower(Name)", "Function tolower is not a condition at position 0"),
        ("contains(Name, 'a') eq 'b'", "Function contains cannot be used as a value "
         "at position 0"),
        ("tolower(contains(Name, 'a')) eq 'b'", "Function contains cannot be used "
         "as a value at position 8"),
        ("contains(Name)", "Function contains takes 2 argument(s), got 1 "
         "at position 0"),
        ("tolower(Name, Value) eq 'x'", "Function tolower takes 1 argument(s), got 2 "
         "at position 0"),
        ("contains(Name, null)", "Function contains cannot take null at position 15"),
        ("tolower('x') eq Name", "Expected a column name at position 8"),
        ("Name eq 'a\x00'", "Invalid character U+0000 at position 10"),
    ],
)  # fmt: skip
def test_compile_filter_reports_each_error(text, detail):
    assert error_of(text) == detail


def test_parse_filter_refuses_an_empty_filter():
    with pytest.raises(InvalidFilter, match="The filter is empty"):
        parse_filter(" ")


def test_compile_filter_bounds_the_nesting_depth():
    assert compiled("(" * 32 + "id eq 1" + ")" * 32).params == (1,)
    assert error_of("(" * 33 + "id eq 1" + ")" * 33) == (
        "More than 32 nested parentheses at position 32"
    )


def test_compile_filter_answers_a_400():
    with pytest.raises(InvalidFilter) as caught:
        compiled("Foo eq 1")

    assert caught.value.status == 400


def test_filter_column_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        FilterColumn("p.x", "money", "X")


# Properties: any text gives SQL or InvalidFilter, and client text never reaches SQL

_TRUSTED_SQL = re.compile(
    r"p\.[a-z]+|%s|\b(?:AND|OR|NOT|IS|NULL|IN|LIKE|ESCAPE|lower|upper|strpos"
    r"|left|right|length)\b|'\\'|<>|>=|<=|[=<>(),0]|\s"
)
_PIECES = [
    "id", "Name", "IsReport", "Created", "ValidFrom", "Amount", "Foo",
    "eq", "NE", "neq", "gt", "le", "in", "and", "OR", "not", "null",
    "contains", "startswith", "endswith", "tolower", "ToUpper", "substringof",
    "(", ")", ",", "'", "''", "'x'", "'O''Brien'", "'%_\\'", "1", "-2.5", "1e3",
    "true", "'Y'", "N", "2024-01-01", "'2024-01-01T10:00:00+02:00'", " ", "  ",
]  # fmt: skip


def check_outcome(text: str) -> None:
    try:
        fragment = compile_filter(text, COLUMNS)
    except InvalidFilter:
        return
    assert fragment.text.count("%s") == len(fragment.params)
    assert _TRUSTED_SQL.sub("", fragment.text).replace("TRUE", "") == ""


@given(st.text(max_size=200))
@settings(max_examples=500)
def test_compile_filter_raises_only_invalid_filter_for_any_text(text):
    check_outcome(text)


@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join))
@settings(max_examples=2000)
def test_compile_filter_raises_only_invalid_filter_for_filter_like_text(text):
    check_outcome(text)


@given(st.lists(st.sampled_from(_PIECES), max_size=25).map(" ".join))
@settings(max_examples=2000)
def test_compile_filter_raises_only_invalid_filter_for_spaced_pieces(text):
    check_outcome(text)


# Against a real PostgreSQL: the compiled SQL runs and selects the right rows

_PROBE_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
_PROBE_TABLE = """
    CREATE TEMPORARY TABLE p (
        id integer, name text, value text, isreport boolean, amount numeric,
        validfrom date, created timestamptz, updated timestamptz
    )
"""
_PROBE_ROWS = """
    INSERT INTO p VALUES
    (1, '50% off_now', '50', true, 1.5, '2024-01-01',
     '2024-01-01T10:00Z', '2024-01-01T10:00Z'),
    (2, 'O''Brien', 'brien', false, -3, '2024-02-01',
     '2024-02-01T10:00Z', '2024-03-01T10:00Z'),
    (3, NULL, 'x', NULL, NULL, NULL, NULL, NULL)
"""


Probe = psycopg.Connection[tuple[object, ...]]


@pytest.fixture(scope="module")
def probe() -> Iterator[Probe]:
    # A stand-in until the project's PostgreSQL fixtures exist.
    try:
        connection = psycopg.connect(_PROBE_DSN, autocommit=True)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 does not answer: {error}")
    with connection:
        connection.execute(_PROBE_TABLE)
        connection.execute(_PROBE_ROWS)
        yield connection


def select_ids(connection: Probe, text: str) -> list[object]:
    fragment = compile_filter(text, COLUMNS)
    query = f"SELECT id FROM p WHERE id > 0 AND ({fragment.text}) ORDER BY id"
    return [row[0] for row in connection.execute(query, fragment.params)]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("contains(Name, '%')", [1]),
        ("contains(Name, '_')", [1]),
        ("contains(tolower(Name), 'brien')", [2]),
        ("endswith(tolower(Name), Value)", [2]),
        ("startswith(Name, Value)", [1]),
        ("Name eq 'O''Brien' or IsReport eq 'Y'", [1, 2]),
        ("Created gt '2024-01-15' and ValidFrom lt 2024-03-01", [2]),
        ("Amount in (1.5, '-3')", [1, 2]),
        ("Name eq null", [3]),
        ("not (id eq 1) and Name ne null", [2]),
        ("Updated gt Created", [2]),
        ("Created ge ValidFrom", [1, 2]),
        ("Amount gt id", [1]),
        ("id gt 99999999999999999999999", []),
        ("toupper(Name) eq toupper('o''brien')", [2]),
    ],
)
def test_compile_filter_runs_on_postgresql(probe, text, ids):
    assert select_ids(probe, text) == ids


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# PostgreSQL text holds neither NUL nor lone surrogates; compile_filter refuses both.
_SAFE_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
)
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_MOMENTS = st.datetimes(datetime(1900, 1, 1), datetime(2100, 1, 1), timezones=_OFFSETS)
_LITERALS = {
    "id": st.integers(-(2**40), 2**40).map(str),
    "Name": _SAFE_TEXT.map(quoted),
    "IsReport": st.sampled_from(["true", "False", "Y", "'n'"]),
    "Amount": st.decimals(-(10**9), 10**9, places=3).map(str),
    "ValidFrom": st.dates().map(lambda day: quoted(day.isoformat())),
    "Created": _MOMENTS.map(lambda moment: quoted(moment.isoformat())),
}


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    column = draw(st.sampled_from(sorted(_LITERALS)))
    operator = draw(st.sampled_from(["eq", "ne", "neq", "gt", "ge", "lt", "le"]))
    literal = draw(_LITERALS[column])
    name = draw(_LITERALS["Name"])
    return draw(
        st.sampled_from(
            [
                f"{column} {operator} {literal}",
                f"{column} eq null",
                f"{column} in ({literal}, {literal})",
                f"{column} {operator} {column}",
                f"tolower(Name) {operator} toupper({name})",
                f"contains(tolower(Name), {name})",
                f"startswith(Name, {name})",
                "endswith(Name, Value)",
                "Created ge ValidFrom",
            ]
        )
    )


_FILTERS = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from([" and ", " or "]), inner).map("".join),
        inner.map(lambda text: f"not ({text})"),
    ),
    max_leaves=6,
)


@pytest.mark.integration
@given(_FILTERS)
@settings(max_examples=300)
def test_compile_filter_gives_sql_postgresql_accepts_for_any_valid_filter(probe, text):
    select_ids(probe, text)


@st.composite
def damaged_filters(draw: st.DrawFn) -> str:
    text = draw(_FILTERS)
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 6)))
        text = text[:start] + draw(st.sampled_from([*_PIECES, ""])) + text[end:]
    return text


@pytest.mark.integration
@given(damaged_filters())
@settings(max_examples=300)
def test_compile_filter_refuses_a_damaged_filter_or_gives_valid_sql(probe, text):
    with contextlib.suppress(InvalidFilter):
        select_ids(probe, text)
