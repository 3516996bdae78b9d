"""The ``$filter`` of ``GET /api/v1/processes``: an OData subset parsed into SQL.

Text goes through two steps. ``parse_filter`` turns it into a small AST with a lark
grammar; it knows nothing about columns. ``compile_filter`` resolves the column
names against a trusted mapping given by the caller, types every literal by the
column it is compared with, and returns SQL with ``%s`` placeholders. Nothing the
client sends reaches the SQL text: column SQL comes from the mapping, every value
is a parameter.

Keywords, operators and function names are case-insensitive (decision D9), and so
are column names. Positions in error messages are 0-based character offsets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, NoReturn, cast

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedToken

from app.errors import InvalidFilter


@dataclass(frozen=True)
class FilterColumn:
    sql: str  # trusted SQL expression, e.g. "p.name"
    kind: str  # string, integer, number, yesno, date or datetime
    label: str  # the name messages show, e.g. "Name"

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"Unknown filter column kind: {self.kind}")
        if "%" in self.sql:
            # psycopg reads every % in the query text as the start of a placeholder.
            raise ValueError(f"Filter column SQL must not contain '%': {self.sql}")


@dataclass(frozen=True)
class SqlFragment:
    """SQL with ``%s`` placeholders, made only of trusted text, and its values."""

    text: str
    params: tuple[object, ...]


# The AST. Values sit on either side of a comparison or inside a call.


@dataclass(frozen=True)
class Word:
    """An unquoted word: a column name, or a bare literal such as 12 or true."""

    text: str
    position: int


@dataclass(frozen=True)
class Quoted:
    value: str
    position: int


@dataclass(frozen=True)
class Null:
    position: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Value, ...]
    position: int


@dataclass(frozen=True)
class Compare:
    left: Value
    operator: str
    right: Value | tuple[Value, ...]
    position: int


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


Value = Word | Quoted | Null | Call
Expr = Compare | Call | Not | And | Or
Columns = Mapping[str, FilterColumn]

# A word ends where whitespace, a parenthesis, a comma or a quote begins; keywords
# take priority over WORD but only as whole words, so "android" stays a WORD.
_GRAMMAR = r"""
?start: disjunction
?disjunction: conjunction (_OR conjunction)*
?conjunction: term (_AND term)*
?term: group | negation | predicate | comparison
negation: _NOT (group | predicate)
predicate: call
?group: _LPAR disjunction _RPAR
comparison: operand WORD right
?operand: word | call
?right: value | value_list
value_list: _LPAR value (_COMMA value)* _RPAR
?value: word | quoted | null | call
call: WORD _LPAR _arguments? _RPAR
_arguments: value (_COMMA value)*
word: WORD
quoted: STRING
null: NULL

_AND.2: /and(?![^\s(),'])/i
_OR.2: /or(?![^\s(),'])/i
_NOT.2: /not(?![^\s(),'])/i
NULL.2: /null(?![^\s(),'])/i
STRING: /'(?:[^']|'')*'/
WORD: /[^\s(),']+/
_LPAR: "("
_RPAR: ")"
_COMMA: ","
%ignore /\s+/
"""

COMPARISONS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
PREDICATES = frozenset({"contains", "startswith", "endswith"})
TRANSFORMS = {"tolower": "lower", "toupper": "upper"}
MAX_DEPTH = 32


class _AstBuilder(Transformer[Token, Any]):
    """Builds AST nodes while lark reduces, and rejects what the grammar lets by."""

    def disjunction(self, children: list[Expr]) -> Or:
        return Or(tuple(children))

    def conjunction(self, children: list[Expr]) -> And:
        return And(tuple(children))

    def negation(self, children: list[Expr]) -> Not:
        return Not(children[0])

    def predicate(self, children: list[Call]) -> Call:
        call = children[0]
        if call.name not in PREDICATES:
            _refuse(f"Function {call.name} is not a condition", call.position)
        return call

    def comparison(self, children: list[Any]) -> Compare:
        left, token, right = children
        operator = _operator(token)
        _require_value(left)
        _check_right_side(operator, right, _position(token))
        return Compare(left, operator, right, _position(token))

    def value_list(self, children: list[Value]) -> tuple[Value, ...]:
        for value in children:
            _require_value(value)
            if isinstance(value, Null):
                _refuse("null cannot be in a list", value.position)
        return tuple(children)

    def call(self, children: list[Any]) -> Call:
        token, *args = children
        call = Call(token.value.lower(), tuple(args), _position(token))
        _check_call(call, token.value)
        return call

    def word(self, children: list[Token]) -> Word:
        return Word(children[0].value, _position(children[0]))

    def quoted(self, children: list[Token]) -> Quoted:
        token = children[0]
        return Quoted(token.value[1:-1].replace("''", "'"), _position(token))

    def null(self, children: list[Token]) -> Null:
        return Null(_position(children[0]))


def _refuse(message: str, position: int) -> NoReturn:
    raise InvalidFilter(f"{message} at position {position}")


def _position(token: Token) -> int:
    # lark types start_pos as optional; the basic lexer always sets it.
    return token.start_pos or 0


def _operator(token: Token) -> str:
    operator = token.value.lower()
    operator = "ne" if operator == "neq" else operator  # the original's spelling
    if operator != "in" and operator not in COMPARISONS:
        raise InvalidFilter(f"Unsupported operator: {token.value}")
    return operator


def _require_value(value: Value) -> None:
    if isinstance(value, Call) and value.name not in TRANSFORMS:
        _refuse(f"Function {value.name} cannot be used as a value", value.position)


def _check_right_side(operator: str, right: Any, position: int) -> None:
    if isinstance(right, tuple):
        if operator != "in":
            _refuse(f"Only operator in takes a list, not {operator}", position)
        return
    _require_value(right)
    if operator == "in":
        _refuse("Operator in needs a list in parentheses", position)
    if isinstance(right, Null) and operator not in ("eq", "ne"):
        _refuse(f"Only eq and ne compare with null, not {operator}", position)


def _check_call(call: Call, spelled: str) -> None:
    if call.name not in PREDICATES and call.name not in TRANSFORMS:
        raise InvalidFilter(f"Unknown function: {spelled}")
    arity = 2 if call.name in PREDICATES else 1
    if len(call.args) != arity:
        got = f"takes {arity} argument(s), got {len(call.args)}"
        _refuse(f"Function {call.name} {got}", call.position)
    for arg in call.args:
        _require_value(arg)
        if isinstance(arg, Null):
            _refuse(f"Function {call.name} cannot take null", arg.position)


_PARSER = Lark(_GRAMMAR, parser="lalr", lexer="basic", transformer=_AstBuilder())


def parse_filter(text: str) -> Expr:
    """Parse a ``$filter`` into its AST, or raise ``InvalidFilter`` saying where."""
    _check_characters(text)
    if not text.strip():
        raise InvalidFilter("The filter is empty")
    try:
        _check_depth(_PARSER.lex(text))
        expr = cast(Expr, _PARSER.parse(text))
    except UnexpectedCharacters as error:
        position = error.pos_in_stream or 0
        raise InvalidFilter(_describe_character(text, position)) from error
    except UnexpectedToken as error:
        raise InvalidFilter(_describe_token(text, error)) from error
    except LarkError as error:
        raise InvalidFilter("The filter cannot be parsed") from error
    return expr


def _check_characters(text: str) -> None:
    # PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded:
    # either would fail inside the driver instead of here.
    for position, char in enumerate(text):
        if char == "\x00" or "\ud800" <= char <= "\udfff":
            _refuse(f"Invalid character U+{ord(char):04X}", position)


def _check_depth(tokens: Iterator[Token]) -> None:
    # The compiler recurses once per level; a bound keeps it far from Python's limit.
    depth = 0
    for token in tokens:
        depth += {"_LPAR": 1, "_RPAR": -1}.get(token.type, 0)
        if depth > MAX_DEPTH:
            _refuse(f"More than {MAX_DEPTH} nested parentheses", _position(token))


def _describe_character(text: str, position: int) -> str:
    # Every other character starts some token, so only a lone quote gets here.
    if text[position] == "'":
        return f"Unterminated quoted value starting at position {position}"
    return f"Unexpected character '{text[position]}' at position {position}"


def _describe_token(text: str, error: UnexpectedToken) -> str:
    token = error.token
    if token.type != "$END":
        return f"Unexpected token '{token.value}' at position {_position(token)}"
    last = list(_PARSER.lex(text))[-1]
    if "_RPAR" in error.expected and "STRING" not in error.expected:
        return "Missing ')' at the end of the filter"
    if error.expected & {"STRING", "_NOT"} or last.type == "_NOT":
        return f"Missing operand after '{last.value}'"
    return f"Missing operator after '{last.value}'"


# Compiling. An operand is a piece of SQL together with what it compares as.


@dataclass(frozen=True)
class _Operand(SqlFragment):
    kind: str
    label: str


def compile_filter(text: str, columns: Mapping[str, FilterColumn]) -> SqlFragment:
    """Compile ``text`` against ``columns``; a blank filter matches every row."""
    if not text.strip():
        return SqlFragment("TRUE", ())
    expr = parse_filter(text)
    by_name = {name.lower(): column for name, column in columns.items()}
    return _compile(expr, by_name)


def _compile(expr: Expr, columns: Columns) -> SqlFragment:
    match expr:
        case Or(operands):
            return _join(" OR ", [_compile(e, columns) for e in operands])
        case And(operands):
            return _join(" AND ", [_compile_term(e, columns) for e in operands])
        case Not(operand):
            inner = _compile(operand, columns)
            return SqlFragment(f"NOT ({inner.text})", inner.params)
        case Compare():
            return _compile_comparison(expr, columns)
        case Call():
            return _compile_predicate(expr, columns)


def _compile_term(expr: Expr, columns: Columns) -> SqlFragment:
    fragment = _compile(expr, columns)
    if isinstance(expr, Or):
        return SqlFragment(f"({fragment.text})", fragment.params)
    return fragment


def _join(separator: str, fragments: Sequence[SqlFragment]) -> SqlFragment:
    text = separator.join(fragment.text for fragment in fragments)
    return SqlFragment(text, tuple(p for f in fragments for p in f.params))


def _compile_comparison(comparison: Compare, columns: Columns) -> SqlFragment:
    left = _subject(comparison.left, columns)
    right = comparison.right
    if isinstance(right, Null):
        check = "IS NULL" if comparison.operator == "eq" else "IS NOT NULL"
        return SqlFragment(f"{left.text} {check}", left.params)

    if isinstance(right, tuple):
        items = [_object(item, columns, left) for item in right]
        listed = _join(", ", items)
        return SqlFragment(
            f"{left.text} IN ({listed.text})", left.params + listed.params
        )

    other = _object(right, columns, left)
    sql_operator = COMPARISONS[comparison.operator]
    return SqlFragment(
        f"{left.text} {sql_operator} {other.text}", left.params + other.params
    )


def _compile_predicate(call: Call, columns: Columns) -> SqlFragment:
    subject = _text_only(call.name, _subject(call.args[0], columns))
    pattern = call.args[1]
    if isinstance(pattern, Quoted):
        like = _LIKE_PATTERNS[call.name].format(_escape_like(pattern.value))
        return SqlFragment(
            f"{subject.text} LIKE %s ESCAPE '\\'", (*subject.params, like)
        )

    # A column (or tolower of one) cannot be escaped into a pattern, so it is
    # compared as plain text instead, which is what the escaped LIKE means too.
    other = _object(pattern, columns, subject)
    if call.name == "contains":
        return SqlFragment(
            f"strpos({subject.text}, {other.text}) > 0", subject.params + other.params
        )
    side = "left" if call.name == "startswith" else "right"
    return SqlFragment(
        f"{side}({subject.text}, length({other.text})) = {other.text}",
        subject.params + other.params + other.params,
    )


_LIKE_PATTERNS = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _subject(value: Value, columns: Columns) -> _Operand:
    """The left side: a column, or tolower/toupper of one."""
    if isinstance(value, Word):
        return _column(value, columns)
    if isinstance(value, Call):
        return _transform(value, _subject(value.args[0], columns))
    _refuse("Expected a column name", value.position)


def _object(value: Value, columns: Columns, left: _Operand) -> _Operand:
    """The right side: a column, tolower/toupper, or a literal typed like ``left``."""
    if isinstance(value, Word) and value.text.lower() in columns:
        other = _column(value, columns)
    elif isinstance(value, Call):
        as_text = replace(left, kind="string")
        other = _transform(value, _object(value.args[0], columns, as_text))
    elif isinstance(value, Null):
        _refuse("null is not allowed here", value.position)
    else:
        other = _literal(value, left)
    if _KINDS[other.kind].family != _KINDS[left.kind].family:
        raise InvalidFilter(f"Cannot compare {left.label} with {other.label}")
    return other


def _column(word: Word, columns: Columns) -> _Operand:
    column = columns.get(word.text.lower())
    if column is None:
        raise InvalidFilter(f"Invalid column for filter: {word.text}")
    return _Operand(column.sql, (), column.kind, column.label)


def _transform(call: Call, inner: _Operand) -> _Operand:
    _text_only(call.name, inner)
    label = f"{call.name}({inner.label})"
    return _Operand(
        f"{TRANSFORMS[call.name]}({inner.text})", inner.params, "string", label
    )


def _text_only(function: str, operand: _Operand) -> _Operand:
    if operand.kind != "string":
        raise InvalidFilter(f"Function {function} needs text, not {operand.label}")
    return operand


# Literals, typed by the column on the left.


def _literal(value: Word | Quoted, left: _Operand) -> _Operand:
    if isinstance(value, Word) and left.kind == "string":
        raise InvalidFilter(
            f"String values must be put between single quotes. ColumnName: {left.label}"
        )
    raw = value.text if isinstance(value, Word) else value.value
    kind = _KINDS[left.kind]
    try:
        converted = kind.read(raw)
    except (ValueError, OverflowError) as error:
        message = f"Invalid value for {left.label}: '{raw}' (expected {kind.shape})"
        raise InvalidFilter(message) from error
    return _Operand("%s", (converted,), left.kind, f"'{raw}'")


_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_YES_NO = re.compile(r"true|false|y|n", re.IGNORECASE)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A '+' left unencoded in a query string arrives as a space: "...T10:00 02:00".
_SPACED_OFFSET = re.compile(r"(T[0-9:.,]+) ([0-9]{2}(?::?[0-9]{2})?)$")


def _is_yes(raw: str) -> bool:
    return raw.lower() in ("true", "y")


def _to_datetime(raw: str) -> datetime:
    moment = datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", raw))
    if moment.tzinfo is None:
        # A value without an offset is read as UTC, procserv's time zone (D7);
        # PostgreSQL would otherwise use the session's TimeZone, which varies.
        moment = moment.replace(tzinfo=UTC)
    # PostgreSQL refuses offsets beyond 15:59 that Python accepts; UTC it always takes.
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class _Kind:
    family: str  # kinds of one family can be compared with each other
    pattern: re.Pattern[str] | None  # a literal must match it before it is parsed
    parse: Callable[[str], object]
    shape: str  # what a literal must look like, for messages

    def read(self, raw: str) -> object:
        if self.pattern and not self.pattern.fullmatch(raw):
            raise ValueError(raw)
        return self.parse(raw)


_KINDS = {
    "string": _Kind("text", None, str, "text"),
    "integer": _Kind("number", _INTEGER, int, "an integer"),
    "number": _Kind("number", _NUMBER, Decimal, "a number"),
    "yesno": _Kind("boolean", _YES_NO, _is_yes, "true, false, Y or N"),
    "date": _Kind("time", _DATE, date.fromisoformat, "a date YYYY-MM-DD"),
    "datetime": _Kind("time", None, _to_datetime, "an ISO 8601 date-time"),
}
