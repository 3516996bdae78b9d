from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from app.errors import InvalidParameter, MissingParameters
from app.params import (
    LookupSpec,
    ParameterSpec,
    SessionValues,
    coerce_parameters,
    typed_value,
)
from processes.declarations import Ref

SESSION = SessionValues(
    user_id=101, client_id=11, org_id=11, today=dt.date(2026, 12, 3)
)


def spec(column: str, ref: Ref, **options: Any) -> ParameterSpec:
    return ParameterSpec(
        column_name=column, name=column, seqno=10, reference=ref, **options
    )


def coerce_one(parameter: ParameterSpec, body: dict[str, Any]) -> Any:
    return coerce_parameters([parameter], body, SESSION).values[parameter.column_name]


@pytest.mark.parametrize(
    ("ref", "raw", "value"),
    [
        (Ref.STRING, "text", "text"),
        (Ref.STRING, 5, "5"),
        (Ref.STRING, ["only"], "only"),
        (Ref.INTEGER, 7, 7),
        (Ref.INTEGER, "7", 7),
        (Ref.INTEGER, 7.0, 7),
        (Ref.AMOUNT, "12.50", Decimal("12.50")),
        (Ref.NUMBER, 3, Decimal(3)),
        (Ref.YES_NO, True, True),
        (Ref.YES_NO, "N", False),
        (Ref.YES_NO, "true", True),
        (Ref.DATE, "2022-01-31", dt.date(2022, 1, 31)),
        (Ref.DATE, "2022-01-31T10:00:00Z", dt.date(2022, 1, 31)),
        (Ref.TABLE_DIRECT, "117", 117),
        (Ref.TABLE_DIRECT, {"id": 117}, 117),
    ],
)
def test_coerce_parameters_types_each_value(ref: Ref, raw: Any, value: Any) -> None:
    assert coerce_one(spec("P", ref), {"P": raw}) == value


@pytest.mark.parametrize(
    ("ref", "raw"),
    [
        (Ref.INTEGER, "seven"),
        (Ref.INTEGER, 7.5),
        (Ref.INTEGER, True),
        (Ref.AMOUNT, "NaN"),
        (Ref.AMOUNT, "Infinity"),
        (Ref.AMOUNT, "12,5"),
        (Ref.YES_NO, 1),
        (Ref.YES_NO, "perhaps"),
        (Ref.DATE, "2022-13-45"),
        (Ref.DATE, "31/01/2022"),
        (Ref.DATE_TIME, "2022-01-01T10:00:00"),
        (Ref.DATE_TIME, "2022-01-01"),
        (Ref.STRING, {"a": 1}),
        (Ref.TABLE_DIRECT, "abc"),
        (Ref.TABLE_DIRECT, -1.5),
    ],
)
def test_coerce_parameters_refuses_a_wrong_value_naming_the_parameter(
    ref: Ref, raw: Any
) -> None:
    with pytest.raises(InvalidParameter, match="parameter P"):
        coerce_one(spec("P", ref), {"P": raw})


def test_date_times_with_offsets_give_the_same_instant() -> None:
    parameter = spec("Moment", Ref.DATE_TIME)
    with_offset = coerce_one(parameter, {"Moment": "2024-05-01T10:00:00+02:00"})
    in_utc = coerce_one(parameter, {"Moment": "2024-05-01T08:00:00Z"})
    assert with_offset == in_utc


def test_the_property_name_wins_over_the_column_name() -> None:
    parameter = spec("DateOrdered", Ref.DATE)
    body = {"dateOrdered": "2022-01-01", "DateOrdered": "2023-01-01"}
    assert coerce_one(parameter, body) == dt.date(2022, 1, 1)


def test_column_names_with_an_underscore_are_their_own_property_name() -> None:
    assert spec("C_BPartner_ID", Ref.SEARCH).property_name == "C_BPartner_ID"
    assert spec("IsSOTrx", Ref.YES_NO).property_name == "isSOTrx"


def test_ranges_read_the_to_value_by_property_or_column_name_only_in_lower_case() -> (
    None
):
    parameter = spec("DateOrdered", Ref.DATE, is_range=True)
    for key in ("dateOrdered_to", "DateOrdered_to"):
        coerced = coerce_parameters([parameter], {key: "2022-12-31"}, SESSION)
        assert coerced.values_to["DateOrdered"] == dt.date(2022, 12, 31)
    ignored = coerce_parameters([parameter], {"DateOrdered_To": "2022-12-31"}, SESSION)
    assert ignored.values_to["DateOrdered"] is None


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    parameter = spec("DateOrdered", Ref.DATE, is_range=True)
    body = {"DateOrdered": "2022-12-31", "DateOrdered_to": "2022-01-01"}
    with pytest.raises(InvalidParameter, match="DateOrdered"):
        coerce_parameters([parameter], body, SESSION)


def test_defaults_apply_literals_and_session_variables() -> None:
    parameters = [
        spec("Flag", Ref.YES_NO, default="Y"),
        spec("Stamp", Ref.DATE, default="@#Date@"),
        spec("Who", Ref.INTEGER, default="@#AD_User_ID@"),
    ]
    values = coerce_parameters(parameters, {}, SESSION).values
    assert values == {"Flag": True, "Stamp": SESSION.today, "Who": 101}


def test_missing_mandatory_parameters_are_listed_together() -> None:
    parameters = [
        spec("First", Ref.STRING, mandatory=True),
        spec("Second", Ref.STRING, mandatory=True),
        spec("Third", Ref.STRING, mandatory=True, default="given"),
    ]
    with pytest.raises(MissingParameters) as raised:
        coerce_parameters(parameters, {"Second": ""}, SESSION)
    assert raised.value.detail == "Missing mandatory parameters: First, Second"


def test_list_values_match_exactly_then_without_regard_to_case() -> None:
    parameter = spec(
        "Action", Ref.LIST, list_values={"import": "Import", "export": "Export"}
    )
    assert coerce_one(parameter, {"Action": "EXPORT"}) == "export"
    with pytest.raises(InvalidParameter, match="'import', 'export'"):
        coerce_one(parameter, {"Action": "delete"})


def test_a_list_value_may_be_named_by_its_identifier() -> None:
    parameter = spec(
        "DocStatus", Ref.LIST, list_values={"CO": "Completed", "DR": "Drafted"}
    )
    assert coerce_one(parameter, {"DocStatus": {"identifier": "Completed"}}) == "CO"
    assert coerce_one(parameter, {"DocStatus": {"identifier": "drafted"}}) == "DR"
    with pytest.raises(InvalidParameter, match=r"DocStatus.*'Completed', 'Drafted'"):
        coerce_one(parameter, {"DocStatus": {"identifier": "Voided"}})


def test_string_keyed_lookups_keep_their_text() -> None:
    lookup = LookupSpec("ad_language", "ad_language", "name", string_key=True)
    parameter = spec("AD_Language", Ref.TABLE, lookup=lookup)
    coerced = coerce_parameters([parameter], {"AD_Language": "es_CO"}, SESSION)
    assert coerced.values["AD_Language"] == "es_CO"
    assert coerced.rows[0]["p_string"] == "es_CO"


def test_stored_rows_put_each_type_in_its_column() -> None:
    parameters = [
        spec("Flag", Ref.YES_NO),
        spec("Qty", Ref.INTEGER),
        spec("Day", Ref.DATE),
    ]
    body = {"Flag": True, "Qty": 3, "Day": "2022-01-31"}
    rows = {r["name"]: r for r in coerce_parameters(parameters, body, SESSION).rows}
    assert rows["Flag"]["p_string"] == "Y"
    assert rows["Qty"]["p_number"] == 3
    assert rows["Day"]["p_date"] == dt.datetime(2022, 1, 31, tzinfo=dt.UTC)


def test_stored_rows_name_the_list_values_of_both_ends_of_a_range() -> None:
    parameter = spec(
        "DocStatus",
        Ref.LIST,
        is_range=True,
        list_values={"CO": "Completed", "DR": "Drafted"},
    )
    body = {"DocStatus": "co", "DocStatus_to": "DR"}

    (row,) = coerce_parameters([parameter], body, SESSION).rows

    assert (row["info"], row["info_to"]) == ("Completed", "Drafted")


def test_stored_rows_carry_the_display_texts_read_for_lookups() -> None:
    lookup = LookupSpec("c_bpartner", "c_bpartner_id", "name")
    parameter = spec("C_BPartner_ID", Ref.SEARCH, is_range=True, lookup=lookup)
    body = {"C_BPartner_ID": 117, "C_BPartner_ID_to": 120}
    coerced = coerce_parameters([parameter], body, SESSION)

    coerced.info["C_BPartner_ID"] = "C&W Construction"
    coerced.info_to["C_BPartner_ID"] = "Seed Farm Inc."

    (row,) = coerced.rows
    assert (row["p_number"], row["p_number_to"]) == (117, 120)
    assert (row["info"], row["info_to"]) == ("C&W Construction", "Seed Farm Inc.")


@pytest.mark.parametrize(
    ("ref", "stored", "value"),
    [
        (Ref.YES_NO, ("Y", None, None), True),
        (Ref.INTEGER, (None, Decimal(3), None), 3),
        (Ref.TABLE_DIRECT, (None, Decimal(117), None), 117),
        (Ref.TABLE, ("es_CO", None, None), "es_CO"),
        (Ref.AMOUNT, (None, Decimal("1.5"), None), Decimal("1.5")),
        (
            Ref.DATE,
            (None, None, dt.datetime(2022, 1, 31, tzinfo=dt.UTC)),
            dt.date(2022, 1, 31),
        ),
        (Ref.STRING, (None, None, None), None),
    ],
)
def test_typed_value_reads_a_stored_row_back(
    ref: Ref, stored: tuple[Any, Any, Any], value: Any
) -> None:
    assert typed_value(int(ref), *stored) == value
