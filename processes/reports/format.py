"""Values as the text renderers (HTML, PDF) print them.

A column's ``format`` is an Excel format, because XLSX uses it as is; this module
follows the parts of that language print formats use: digit placeholders
(``0``, ``#``), the thousands separator, decimals, percent, literal text and
``;`` sections for numbers; ``yyyy``, ``mm``, ``dd``, ``hh``, ``mm``, ``ss`` and
month names for dates. Colours, conditions, fill and padding are ignored. The
separators are always ``,`` and ``.`` (en_US), as Excel shows them without a
locale.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from processes.reports.model import Column, Kind, Value

Formatter = Callable[[Value], str]

# What a column without a format looks like, in XLSX as in text.
_DEFAULT_FORMATS: dict[Kind, str] = {
    "amount": "#,##0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# One piece of a format: a quoted literal, an escaped character, a bracketed
# colour/condition/locale, a padding or fill pair, or a single character.
_TOKEN = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|[_*].|.', re.DOTALL)
_DATE_FIELDS = [
    "yyyy",
    "yy",
    "mmmmm",
    "mmmm",
    "mmm",
    "mm",
    "m",
    "dddd",
    "ddd",
    "dd",
    "d",
    "hh",
    "h",
    "ss",
    "s",
    "am/pm",
    "a/p",
]
# A date format's tokens: literals as in _TOKEN, else the longest field name.
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|\[[^\]]*\]|[_*].|' + "|".join(_DATE_FIELDS) + "|.",
    re.IGNORECASE | re.DOTALL,
)
_PLACEHOLDERS = set("0#?.,%")
# Room for any numeric(p, s) PostgreSQL sends, which the default 28 digits lack.
_CONTEXT = decimal.Context(prec=1000)


def default_format(column: Column) -> str | None:
    """The column's format, or the one its kind gets when it has none."""
    return column.format or _DEFAULT_FORMATS.get(column.kind)


def format_value(value: Value, column: Column) -> str:
    """``value`` as the column prints it in HTML and PDF; ``None`` is empty."""
    return formatter(column)(value)


@functools.lru_cache(maxsize=1024)
def formatter(column: Column) -> Formatter:
    """A function printing values of the column (renderers call it per cell)."""
    fmt = default_format(column)
    number = _number_formatter(fmt) if fmt else _plain_number
    date = _date_formatter(fmt if fmt and _is_date_format(fmt) else "yyyy-mm-dd")
    stamp = _date_formatter(
        fmt if fmt and _is_date_format(fmt) else _DEFAULT_FORMATS["datetime"]
    )

    def format_one(value: Value) -> str:
        # bool before int and datetime before date: each is a subclass of the next.
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "Yes" if value else "No"
        if isinstance(value, int | float | decimal.Decimal):
            return number(value)
        if isinstance(value, dt.datetime):
            return stamp(value)
        return date(value)

    return format_one


def _plain_number(value: int | float | decimal.Decimal) -> str:
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # never exponent notation such as 1E+2
    return str(value)


def _is_date_format(fmt: str) -> bool:
    text = "".join(t for t in _TOKEN.findall(fmt) if len(t) == 1).lower()
    return any(c in text for c in "ymdhs")


# ---- numbers ---------------------------------------------------------------


@dataclass(frozen=True)
class _NumberSection:
    prefix: str
    suffix: str
    thousands: bool
    min_integers: int
    min_decimals: int
    max_decimals: int
    percent: int

    def apply(self, value: decimal.Decimal, sign: str) -> str:
        value = value.scaleb(2 * self.percent, _CONTEXT)
        exponent = decimal.Decimal(1).scaleb(-self.max_decimals)
        value = value.quantize(exponent, decimal.ROUND_HALF_UP, _CONTEXT)
        digits = format(value, ",f" if self.thousands else "f")
        whole, _, fraction = digits.partition(".")
        fraction = _trim_fraction(fraction, self.min_decimals)
        if whole == "0" and self.min_integers == 0:
            whole = ""
        elif not self.thousands:
            whole = whole.zfill(self.min_integers)
        number = f"{whole}.{fraction}" if fraction else whole
        return f"{sign}{self.prefix}{number}{self.suffix}"


def _trim_fraction(fraction: str, keep: int) -> str:
    while len(fraction) > keep and fraction.endswith("0"):
        fraction = fraction[:-1]
    return fraction


def _number_formatter(fmt: str) -> Callable[[int | float | decimal.Decimal], str]:
    if fmt.lower() == "general" or _is_date_format(fmt):
        return _plain_number
    sections = [_parse_number_section(part) for part in _split_sections(fmt)]

    def format_number(value: int | float | decimal.Decimal) -> str:
        # Decimal(repr) keeps what the float shows (0.1, not 0.1000000000000000055).
        exact = decimal.Decimal(repr(value) if isinstance(value, float) else value)
        if not exact.is_finite():
            return str(value)
        if exact < 0 and len(sections) > 1:
            return sections[1].apply(exact.copy_abs(), "")
        if exact == 0 and len(sections) > 2:
            return sections[2].apply(exact, "")
        text = sections[0].apply(exact.copy_abs(), "")
        # A negative that rounds to zero prints without its sign, as in Excel.
        return "-" + text if exact < 0 and any(c in "123456789" for c in text) else text

    return format_number


def _split_sections(fmt: str) -> list[str]:
    sections, current = [], ""
    for piece in _TOKEN.findall(fmt):
        if piece == ";":
            sections.append(current)
            current = ""
        else:
            current += piece
    return [*sections, current][:3]


def _parse_number_section(section: str) -> _NumberSection:
    prefix, suffix, pattern = "", "", ""
    for piece in _TOKEN.findall(section):
        if piece in _PLACEHOLDERS and piece != "%":
            pattern += piece
            continue
        text = _literal(piece)
        if piece == "%":
            pattern += "%"
        if pattern.strip("%"):
            suffix += text
        else:
            prefix += text
    whole, _, fraction = pattern.replace("%", "").partition(".")
    return _NumberSection(
        prefix=prefix,
        suffix=suffix,
        thousands="," in whole.rstrip(","),
        min_integers=whole.count("0"),
        min_decimals=fraction.count("0"),
        max_decimals=sum(fraction.count(c) for c in "0#?"),
        percent=pattern.count("%"),
    )


def _literal(piece: str) -> str:
    """What a non-placeholder piece of a format prints."""
    if piece.startswith('"'):
        return piece[1:-1]
    if piece.startswith("\\"):
        return piece[1]
    if piece.startswith("[$"):  # a currency: [$€-407] prints €
        return piece[2:-1].split("-", maxsplit=1)[0]
    if piece.startswith(("[", "_", "*")):
        return ""
    return piece


# ---- dates -----------------------------------------------------------------


def _date_formatter(fmt: str) -> Callable[[dt.date], str]:
    parts = _date_parts(fmt)

    def format_date(value: dt.date) -> str:
        return "".join(part if isinstance(part, str) else part(value) for part in parts)

    return format_date


DatePart = str | Callable[[dt.date], str]


def _date_parts(fmt: str) -> list[DatePart]:
    tokens = _DATE_TOKEN.findall(fmt)
    fields = [i for i, piece in enumerate(tokens) if piece.lower() in _DATE_FIELDS]
    parts: list[DatePart] = []
    for i, piece in enumerate(tokens):
        name = piece.lower()
        if name not in _DATE_FIELDS:
            parts.append(_literal(piece))
            continue
        if name in ("m", "mm") and _is_minute(tokens, fields, i):
            name = name.replace("m", "n")
        parts.append(_date_field(name, fmt))
    return parts


def _is_minute(tokens: list[str], fields: list[int], i: int) -> bool:
    """Whether "m"/"mm" at ``i`` means minutes: right after hours or before seconds."""
    position = fields.index(i)
    before = tokens[fields[position - 1]].lower() if position > 0 else ""
    after = tokens[fields[position + 1]].lower() if position + 1 < len(fields) else ""
    return before in ("h", "hh") or after in ("s", "ss")


def _date_field(piece: str, fmt: str) -> Callable[[dt.date], str]:
    twelve_hour = re.search("am/pm|a/p", fmt, re.IGNORECASE) is not None
    fields: dict[str, Callable[[dt.date], str]] = {
        "yyyy": lambda d: f"{d.year:04d}",
        "yy": lambda d: f"{d.year % 100:02d}",
        "mmmmm": lambda d: _MONTHS[d.month - 1][0],
        "mmmm": lambda d: _MONTHS[d.month - 1],
        "mmm": lambda d: _MONTHS[d.month - 1][:3],
        "mm": lambda d: f"{d.month:02d}",
        "m": lambda d: str(d.month),
        "dddd": lambda d: _DAYS[d.weekday()],
        "ddd": lambda d: _DAYS[d.weekday()][:3],
        "dd": lambda d: f"{d.day:02d}",
        "d": lambda d: str(d.day),
        "hh": lambda d: f"{_hour(d, twelve_hour):02d}",
        "h": lambda d: str(_hour(d, twelve_hour)),
        "nn": lambda d: f"{_time(d).minute:02d}",
        "n": lambda d: str(_time(d).minute),
        "ss": lambda d: f"{_time(d).second:02d}",
        "s": lambda d: str(_time(d).second),
        "am/pm": lambda d: "AM" if _time(d).hour < 12 else "PM",
        "a/p": lambda d: "A" if _time(d).hour < 12 else "P",
    }
    return fields[piece]


def _time(value: dt.date) -> dt.time:
    return value.time() if isinstance(value, dt.datetime) else dt.time()


def _hour(value: dt.date, twelve_hour: bool) -> int:
    hour = _time(value).hour
    return (hour % 12 or 12) if twelve_hour else hour
