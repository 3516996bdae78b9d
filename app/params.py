"""Process parameters: from a request body to typed values and stored rows, and
back from stored rows to the typed values a running process reads.

The API coerces (and rejects with a 400 naming the parameter and the value); the
worker reads the stored rows back with ``typed_value``. Both sides share the one
rule of which column of ``ad_pinstance_para`` holds which type.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.errors import InvalidParameter, MissingParameters
from app.uploads import read_upload
from processes.context import Upload
from processes.declarations import Ref

TEXT_TYPES = frozenset({Ref.STRING, Ref.TEXT, Ref.TEXT_LONG, Ref.FILE_PATH})
INTEGER_TYPES = frozenset({Ref.INTEGER, Ref.ID})
NUMBER_TYPES = frozenset({Ref.AMOUNT, Ref.NUMBER, Ref.QUANTITY})
LOOKUP_TYPES = frozenset({Ref.TABLE, Ref.TABLE_DIRECT, Ref.SEARCH})
MULTIPLE_TYPES = frozenset(
    {
        Ref.CHOSEN_MULTIPLE_SELECTION_LIST,
        Ref.CHOSEN_MULTIPLE_SELECTION_TABLE,
        Ref.CHOSEN_MULTIPLE_SELECTION_SEARCH,
    }
)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOCAL_OR_OFFSET_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)
# Plain decimal notation, as JSON writes numbers (no "1_000", no other digits).
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,6})?")
# PostgreSQL's numeric holds far more, but no business amount is near 10^1000.
MAX_MAGNITUDE = 1000
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})"
)


@dataclass(frozen=True)
class ParameterSpec:
    """A parameter as the dictionary holds it (one ``ad_process_para`` row)."""

    column_name: str
    name: str
    seqno: int
    reference: int
    mandatory: bool = False
    is_range: bool = False
    default: str | None = None
    default_to: str | None = None
    list_values: Mapping[str, str] = field(default_factory=dict)  # value -> name
    lookup: LookupSpec | None = None

    @property
    def property_name(self) -> str:
        """iDempiere's JSON property: the first letter lower-cased, unless the name
        holds an underscore (``DateOrdered`` → ``dateOrdered``, ``C_BPartner_ID``
        unchanged)."""
        name = self.column_name
        return name if "_" in name else name[:1].lower() + name[1:]


@dataclass(frozen=True)
class LookupSpec:
    """The table a lookup parameter takes keys of. All names come from the
    dictionary (written from code), never from a request."""

    table: str
    key: str
    display: str
    where: str = ""
    string_key: bool = False


@dataclass(frozen=True)
class LookupRef:
    """A record a client names otherwise than by its key: by its identifier, its
    UUID, or the value of one of its columns. The API resolves it to the key."""

    by: str  # "identifier", "uid" or "column"
    value: str
    column: str | None = None


@dataclass(frozen=True)
class SessionValues:
    """What default values may name: ``@#Date@``, ``@#AD_User_ID@`` and so on."""

    user_id: int
    client_id: int
    org_id: int
    today: dt.date


@dataclass
class Coerced:
    """A request's parameters, typed. Lookup values are keys or ``LookupRef``s
    (a multiple selection: a tuple of them) until the caller has resolved them
    against the database, and ``info``/``info_to`` hold the display texts of the
    records they name once the caller has read them; ``rows`` are what is stored."""

    specs: Sequence[ParameterSpec]
    values: dict[str, Any] = field(default_factory=dict)
    values_to: dict[str, Any] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)
    info_to: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [self._row(spec) for spec in self.specs]

    def _row(self, spec: ParameterSpec) -> dict[str, Any]:
        name = spec.column_name
        row = _storage_row(spec, self.values.get(name), self.values_to.get(name))
        row["info"] = self.info.get(name, row["info"])
        row["info_to"] = self.info_to.get(name, row["info_to"])
        return row


def coerce_parameters(
    specs: Sequence[ParameterSpec], body: Mapping[str, Any], session: SessionValues
) -> Coerced:
    """Type every parameter of the body, apply defaults and check mandatory ones
    (decision D2). Unknown keys are ignored, as the original does (D12)."""
    coerced = Coerced(sorted(specs, key=lambda s: s.seqno))
    missing: list[str] = []
    for spec in coerced.specs:
        value = _read(spec, body, "", spec.default, session)
        value_to = (
            _read(spec, body, "_to", spec.default_to, session)
            if spec.is_range
            else None
        )
        if value is None and spec.mandatory:
            missing.append(spec.column_name)
        coerced.values[spec.column_name] = value
        if spec.is_range:
            coerced.values_to[spec.column_name] = value_to
    if missing:
        raise MissingParameters("Missing mandatory parameters: " + ", ".join(missing))
    _check_ranges(specs, coerced)
    return coerced


def _read(
    spec: ParameterSpec,
    body: Mapping[str, Any],
    suffix: str,
    default: str | None,
    session: SessionValues,
) -> Any:
    for key in (spec.property_name + suffix, spec.column_name + suffix):
        if key in body and not _is_unset(body[key]):
            return coerce_value(spec, body[key], shown_as=key)
    if default is None or default == "":
        return None
    return coerce_value(
        spec, _expand_default(default, session), shown_as=spec.column_name
    )


def _is_unset(raw: Any) -> bool:
    # Empty strings from web services mean "not set" (iDempiere core, IDEMPIERE-3294).
    return raw is None or raw == ""


def _expand_default(default: str, session: SessionValues) -> Any:
    variables: dict[str, Any] = {
        "@#Date@": session.today.isoformat(),
        "@#AD_User_ID@": session.user_id,
        "@#AD_Client_ID@": session.client_id,
        "@#AD_Org_ID@": session.org_id,
    }
    return variables.get(default.strip(), default)


def _check_ranges(specs: Sequence[ParameterSpec], coerced: Coerced) -> None:
    for spec in specs:
        low = coerced.values.get(spec.column_name)
        high = coerced.values_to.get(spec.column_name)
        if low is None or high is None:
            continue
        try:
            reversed_range = high < low
        except TypeError:
            continue
        if reversed_range:
            raise InvalidParameter(
                f"Parameter {spec.column_name}: the end of the range ({high}) is "
                f"before its start ({low})"
            )


# --- one value --------------------------------------------------------------


def coerce_value(spec: ParameterSpec, raw: Any, *, shown_as: str) -> Any:
    convert = _CONVERTERS.get(Ref(spec.reference)) if spec.reference in _KNOWN else None
    if convert is None:
        raise InvalidParameter(
            f"Parameter {shown_as}: type {spec.reference} is not supported yet"
        )
    return convert(spec, raw, shown_as)


def _invalid(shown_as: str, raw: Any, expected: str) -> InvalidParameter:
    return InvalidParameter(
        f"Invalid value for parameter {shown_as}: {shown(raw)} ({expected})"
    )


def shown(raw: Any, limit: int = 80) -> str:
    """A client's value as an error message quotes it: JSON, cut to ``limit``."""
    try:
        text = json.dumps(raw, ensure_ascii=False)
    except ValueError:
        return "(a value too long to show)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _to_text(spec: ParameterSpec, raw: Any, shown_as: str) -> str:
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, bool):
        return "Y" if raw else "N"
    if isinstance(raw, str | int | float):
        return str(raw)
    raise _invalid(shown_as, raw, "expected a text")


def _to_integer(spec: ParameterSpec, raw: Any, shown_as: str) -> int:
    if isinstance(raw, bool):
        raise _invalid(shown_as, raw, "expected an integer")
    if isinstance(raw, int):
        return _int32(raw, raw, shown_as)
    if isinstance(raw, float) and raw.is_integer():
        return _int32(int(raw), raw, shown_as)
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?[0-9]{1,19}\s*", raw):
        return _int32(int(raw), raw, shown_as)
    if isinstance(raw, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", raw):
        return _int32(INT_MAX + 1, raw, shown_as)
    raise _invalid(shown_as, raw, "expected an integer")


def _int32(value: int, raw: Any, shown_as: str) -> int:
    # iDempiere's Integer parameters are Java ints: a larger number is refused
    # rather than stored for a process to overflow on.
    if not INT_MIN <= value <= INT_MAX:
        raise _invalid(
            shown_as, raw, f"expected an integer from {INT_MIN} to {INT_MAX}"
        )
    return value


def _to_number(spec: ParameterSpec, raw: Any, shown_as: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _invalid(shown_as, raw, "expected a number")
    text = repr(raw) if isinstance(raw, float) else str(raw).strip()
    if not _NUMBER.fullmatch(text):
        raise _invalid(shown_as, raw, "expected a number")
    number = Decimal(text)
    if number and abs(number.adjusted()) > MAX_MAGNITUDE:
        raise _invalid(shown_as, raw, "a number out of range")
    return number


def _to_yes_no(spec: ParameterSpec, raw: Any, shown_as: str) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in ("y", "yes", "true"):
            return True
        if word in ("n", "no", "false"):
            return False
    raise _invalid(shown_as, raw, "expected true, false, 'Y' or 'N'")


def _to_date(spec: ParameterSpec, raw: Any, shown_as: str) -> dt.date:
    # A date-time is accepted and cut to its date, as the original does.
    text = raw.strip() if isinstance(raw, str) else ""
    if _DATE.fullmatch(text) or _LOCAL_OR_OFFSET_DATE_TIME.fullmatch(text):
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            pass
    raise _invalid(shown_as, raw, "expected a date as YYYY-MM-DD")


def _to_date_time(spec: ParameterSpec, raw: Any, shown_as: str) -> dt.datetime:
    text = raw.strip() if isinstance(raw, str) else ""
    if _DATE_TIME.fullmatch(text):
        try:
            moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
            moment.astimezone(dt.UTC)  # in range once in UTC, as it is stored
        except (ValueError, OverflowError):
            pass
        else:
            return moment
    raise _invalid(
        shown_as,
        raw,
        "expected an ISO 8601 date-time with an offset, e.g. "
        "2024-05-01T10:00:00+02:00 or 2024-05-01T08:00:00Z",
    )


def _to_list_value(spec: ParameterSpec, raw: Any, shown_as: str) -> str:
    if isinstance(raw, dict) and "id" in raw:
        raw = raw["id"]
    elif isinstance(raw, dict) and "identifier" in raw:
        # A list value's identifier is its name (in the caller's language).
        return _list_value_named(spec, raw["identifier"], shown_as)
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _invalid(shown_as, raw, "expected one of " + _choices(spec))
    text = str(raw)
    if text in spec.list_values:
        return text
    folded = [v for v in spec.list_values if v.lower() == text.lower()]
    if len(folded) == 1:
        return folded[0]
    raise _invalid(shown_as, raw, "expected one of " + _choices(spec))


def _list_value_named(spec: ParameterSpec, name: Any, shown_as: str) -> str:
    named = [
        value
        for value, value_name in spec.list_values.items()
        if isinstance(name, str) and value_name.lower() == name.strip().lower()
    ]
    if len(named) != 1:
        names = ", ".join(repr(n) for n in spec.list_values.values())
        raise _invalid(shown_as, {"identifier": name}, "expected one of " + names)
    return named[0]


def _choices(spec: ParameterSpec) -> str:
    return ", ".join(repr(v) for v in spec.list_values)


def _to_lookup_key(
    spec: ParameterSpec, raw: Any, shown_as: str
) -> int | str | LookupRef:
    """A record by its key (a number, a numeric text, ``{"id"}``), or by
    ``{"identifier"}``, ``{"uid"}`` or ``{"lookupColumn", "lookupValue"}``."""
    if isinstance(raw, dict):
        return _lookup_object(spec, raw, shown_as)
    string_key = spec.lookup is not None and spec.lookup.string_key
    if string_key:
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
        raise _invalid(shown_as, raw, "expected the key of a record")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _invalid(shown_as, raw, "expected a record id")
    if isinstance(raw, str) and not re.fullmatch(r"\s*[0-9]{1,10}\s*", raw):
        raise _invalid(shown_as, raw, "expected a record id")
    if not 0 <= int(raw) <= INT_MAX:
        raise _invalid(shown_as, raw, "expected a record id")
    return int(raw)


_LOOKUP_FORMS = (
    'expected {"id"}, {"identifier"}, {"uid"} or {"lookupColumn", "lookupValue"}'
)


def _lookup_object(
    spec: ParameterSpec, raw: dict[str, Any], shown_as: str
) -> int | str | LookupRef:
    keys = set(raw)
    if keys == {"id"}:
        return _to_lookup_key(spec, raw["id"], shown_as)
    if keys == {"identifier"} and _is_text(raw["identifier"]):
        return LookupRef("identifier", str(raw["identifier"]))
    if keys == {"uid"} and isinstance(raw["uid"], str) and raw["uid"].strip():
        return LookupRef("uid", raw["uid"].strip())
    if keys == {"lookupColumn", "lookupValue"} and _is_text(raw["lookupValue"]):
        column = raw["lookupColumn"]
        if isinstance(column, str) and re.fullmatch(
            r"[A-Za-z_][A-Za-z0-9_]{0,62}", column
        ):
            return LookupRef("column", str(raw["lookupValue"]), column.lower())
        raise _invalid(shown_as, raw, "lookupColumn must be the name of a column")
    raise _invalid(shown_as, raw, _LOOKUP_FORMS)


def _is_text(value: Any) -> bool:
    return (
        isinstance(value, str | int)
        and not isinstance(value, bool)
        and str(value) != ""
    )


MAX_SELECTIONS = 1000


def _to_selections(spec: ParameterSpec, raw: Any, shown_as: str) -> tuple[Any, ...]:
    """Chosen Multiple Selection: ``"117,114"``, ``[117, "114", {"identifier": …}]``
    or ``{"selections": [...]}``; each element as the single type would take it."""
    if isinstance(raw, dict) and set(raw) == {"selections"}:
        raw = raw["selections"]
    if isinstance(raw, str):
        items: list[Any] = [part.strip() for part in raw.split(",") if part.strip()]
    elif isinstance(raw, int) and not isinstance(raw, bool):
        items = [raw]
    elif isinstance(raw, list):
        items = raw
    else:
        raise _invalid(shown_as, raw, "expected a comma-separated list or an array")
    if not items or len(items) > MAX_SELECTIONS:
        raise _invalid(shown_as, raw, f"expected 1 to {MAX_SELECTIONS} selections")
    single = (
        _to_list_value
        if spec.reference == Ref.CHOSEN_MULTIPLE_SELECTION_LIST
        else _to_lookup_key
    )
    chosen = tuple(single(spec, item, shown_as) for item in items)
    return tuple(dict.fromkeys(chosen))  # each once, in the order given


def _to_upload(spec: ParameterSpec, raw: Any, shown_as: str) -> Upload | None:
    return read_upload(raw, shown_as)


_CONVERTERS: dict[Ref, Callable[[ParameterSpec, Any, str], Any]] = {
    **dict.fromkeys(TEXT_TYPES, _to_text),
    **dict.fromkeys(INTEGER_TYPES, _to_integer),
    **dict.fromkeys(NUMBER_TYPES, _to_number),
    **dict.fromkeys(LOOKUP_TYPES, _to_lookup_key),
    Ref.YES_NO: _to_yes_no,
    Ref.DATE: _to_date,
    Ref.DATE_TIME: _to_date_time,
    Ref.LIST: _to_list_value,
    Ref.FILE_NAME: _to_upload,
    **dict.fromkeys(MULTIPLE_TYPES, _to_selections),
}
_KNOWN = frozenset(int(r) for r in Ref)


# --- storage ----------------------------------------------------------------


def _storage_row(spec: ParameterSpec, value: Any, value_to: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seqno": spec.seqno,
        "name": spec.column_name,
        "p_string": None,
        "p_string_to": None,
        "p_number": None,
        "p_number_to": None,
        "p_date": None,
        "p_date_to": None,
        "info": _list_names(spec, value),
        "info_to": _list_names(spec, value_to),
    }
    for suffix, each in (("", value), ("_to", value_to)):
        if each is not None:
            column, stored = _stored(each)
            row[column + suffix] = stored
    return row


def _list_names(spec: ParameterSpec, value: Any) -> str | None:
    """The names of chosen list values, as iDempiere's Info column shows them."""
    chosen = value if isinstance(value, tuple) else (value,)
    names = [
        spec.list_values[v]
        for v in chosen
        if isinstance(v, str) and v in spec.list_values
    ]
    return ", ".join(names) if names else None


def _stored(value: Any) -> tuple[str, Any]:
    if isinstance(value, Upload):  # its bytes are stored beside, as an upload
        return "p_string", value.name
    if isinstance(value, tuple):  # a multiple selection, as the original stores it
        return "p_string", ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "p_string", "Y" if value else "N"
    if isinstance(value, int | Decimal):
        return "p_number", value
    if isinstance(value, dt.datetime):
        return "p_date", value
    if isinstance(value, dt.date):
        return "p_date", dt.datetime.combine(value, dt.time(), tzinfo=dt.UTC)
    return "p_string", str(value)


def typed_value(reference: int | None, string: Any, number: Any, date: Any) -> Any:
    """A stored parameter value as the type its reference says (worker side)."""
    if string is None and number is None and date is None:
        return None
    ref = Ref(reference) if reference in _KNOWN else None
    if ref is Ref.CHOSEN_MULTIPLE_SELECTION_LIST:
        return [item for item in str(string).split(",") if item]
    if ref in MULTIPLE_TYPES:
        items = [item for item in str(string).split(",") if item]
        return [int(i) if i.isascii() and i.isdigit() else i for i in items]
    if ref is Ref.YES_NO:
        return string == "Y"
    if ref is Ref.DATE and date is not None:
        return date.astimezone(dt.UTC).date()
    if ref in INTEGER_TYPES or (ref in LOOKUP_TYPES and number is not None):
        return int(number)
    if number is not None:
        return number
    if date is not None:
        return date
    return string
