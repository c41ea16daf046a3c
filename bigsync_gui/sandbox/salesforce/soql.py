"""A SOQL subset for the Salesforce emulator: a parser that validates against the schema, and an
evaluator over plain-dict records that produces the REST API's JSON record shape.

Supported (docs/design.md, "The sandbox"): field lists with parent relationship paths and child subqueries,
``COUNT()``, ``FROM`` one object, ``WHERE`` with ``= != <> < <= > >= IN NOT IN LIKE AND OR NOT``
and parentheses, string/number/boolean/null/date/datetime literals and a few date literals
(``TODAY``, ``YESTERDAY``, ``TOMORROW``, ``LAST_N_DAYS:n``, ``NEXT_N_DAYS:n``, ``N_DAYS_AGO:n``),
``ORDER BY`` with ``ASC/DESC`` and ``NULLS FIRST/LAST``, ``LIMIT``, ``OFFSET``.

Records in storage use canonical field names and JSON-native values; datetimes are fixed-width
UTC strings (``2026-11-26T10:00:00.000+0000``) so they compare correctly as strings.

The WHERE clause, sort keys and output shape are compiled into closures once per execution;
nothing is re-parsed per row.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

from .schema import ChildRelationship, FieldDef, ObjectDef

__all__ = ["SoqlError", "RecordSource", "Query", "Selection", "parse", "execute", "run", "select"]


# --------------------------------------------------------------------------------------------
# Errors and the record source


class SoqlError(Exception):
    """A query Salesforce would refuse; ``error_code`` is Salesforce's (MALFORMED_QUERY, ...)."""

    def __init__(self, error_code: str, message: str):
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


class RecordSource(Protocol):
    def all_records(self, object_name: str) -> Iterable[dict]: ...

    def get_record(self, object_name: str, record_id: str) -> dict | None: ...


MALFORMED = "MALFORMED_QUERY"
OUTSIDE_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
# Salesforce's "SOQL and SOSL Limits for Search Queries": a statement of at most 100,000 characters
# (longer → MALFORMED_QUERY, as the SOQL reference wrote it when the limit was 20,000), at most 4,000
# characters in each string of a WHERE clause (the docs name no error code: MALFORMED_QUERY here too).
# The SOQL reference's OFFSET page: "The maximum offset is 2,000 rows. Requesting an offset greater
# than 2,000 results in a NUMBER_OUTSIDE_VALID_RANGE error."
MAX_STATEMENT_LENGTH = 100_000
MAX_WHERE_STRING_LENGTH = 4_000
MAX_OFFSET = 2_000
INVALID_FIELD = "INVALID_FIELD"
INVALID_TYPE = "INVALID_TYPE"

_NO_COLUMN_TAIL = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)
_NO_REL_TAIL = (
    "If you are attempting to use a custom relationship, be sure to append the '__r' after the "
    "custom relationship name. Please reference your WSDL or the describe call for the "
    "appropriate names."
)
_NO_TYPE_TAIL = (
    "If you are attempting to use a custom object, be sure to append the '__c' after the entity "
    "name. Please reference your WSDL or the describe call for the appropriate names."
)


def _error(code: str, soql: str, pos: int, message: str) -> SoqlError:
    """An error worded like Salesforce's: the offending line, a caret, the row and column."""
    pos = max(0, min(pos, len(soql)))
    line_start = soql.rfind("\n", 0, pos) + 1
    line_end = soql.find("\n", pos)
    line = soql[line_start:] if line_end < 0 else soql[line_start:line_end]
    row = soql.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return SoqlError(code, f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}")


# --------------------------------------------------------------------------------------------
# Tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
   |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)
   |(?P<date>\d{4}-\d{2}-\d{2})
   |(?P<number>[+-]?(?:\d+(?:\.\d+)?|\.\d+))
   |(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
   |(?P<op><=|>=|!=|<>|=|<|>)
   |(?P<punct>[(),:])
    """,
    re.VERBOSE,
)
_WORD_CHAR = re.compile(r"[A-Za-z0-9_.]")
# Salesforce's "Quoted String Escape Sequences" page, exactly: n r t b f in either case, \" \' \\,
# \uXXXX, and \% \_ in a LIKE pattern only. Any other backslash is an error. The page calls \b
# "Bell"; we read it as backspace (U+0008), as its Japanese version and Java do.
_STRING_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "b": "\b",
    "f": "\f",
    "N": "\n",
    "R": "\r",
    "T": "\t",
    "B": "\b",
    "F": "\f",
}
_LIKE_ESCAPES = {"%", "_"}
_UNICODE_ESCAPE = re.compile(r"u[0-9A-Fa-f]{4}")

# Words that can never be a field or object name in our subset.
_RESERVED = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ORDER",
    "BY",
    "LIMIT",
    "OFFSET",
    "NULL",
    "TRUE",
    "FALSE",
    "GROUP",
    "HAVING",
    "WITH",
    "USING",
    "FOR",
    "INCLUDES",
    "EXCLUDES",
}
_DATE_LITERALS = {"TODAY", "YESTERDAY", "TOMORROW"}
_DATE_N_LITERALS = {"LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # ident string number date datetime op punct eof
    text: str  # source text (for strings: the raw content between the quotes)
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""

    def describe(self) -> str:
        return "<EOF>" if self.kind == "eof" else f"'{self.text}'"


def _tokenize(soql: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos, n = 0, len(soql)
    while pos < n:
        if soql[pos] == "'":
            start = pos
            pos += 1
            while True:
                if pos >= n:
                    raise _error(
                        MALFORMED, soql, start, f"unterminated string literal starting at {soql[start : start + 20]}"
                    )
                ch = soql[pos]
                if ch == "\\":
                    if pos + 1 >= n:
                        raise _error(MALFORMED, soql, start, "unterminated string literal")
                    esc = soql[pos + 1]
                    if esc in _STRING_ESCAPES or esc in _LIKE_ESCAPES:
                        pos += 2
                        continue
                    if _UNICODE_ESCAPE.match(soql, pos + 1):
                        pos += 6
                        continue
                    raise _illegal_escape(soql, start, pos)
                if ch == "'":
                    break
                pos += 1
            if len(_decode_string(soql[start + 1 : pos])) > MAX_WHERE_STRING_LENGTH:
                too_long = f"String literals cannot be longer than {MAX_WHERE_STRING_LENGTH} characters"
                raise _error(MALFORMED, soql, start, too_long)
            tokens.append(_Tok("string", soql[start + 1 : pos], start))
            pos += 1
            continue
        m = _TOKEN_RE.match(soql, pos)
        if not m:
            raise _error(MALFORMED, soql, pos, f"unexpected token: '{soql[pos]}'")
        kind = m.lastgroup or ""
        if kind in ("number", "date", "datetime") and m.end() < n and _WORD_CHAR.match(soql, m.end()):
            end = m.end()
            while end < n and _WORD_CHAR.match(soql, end):
                end += 1
            raise _error(MALFORMED, soql, pos, f"unexpected token: '{soql[pos:end]}'")
        if kind != "ws":
            tokens.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Tok("eof", "", n))
    return tokens


def _illegal_escape(soql: str, start: int, pos: int) -> SoqlError:
    """The error for the backslash at ``pos`` in the string literal opening at ``start``."""
    return _error(
        MALFORMED,
        soql,
        pos,
        f"Invalid string literal '{soql[start + 1 : pos + 2]}'. Illegal character "
        f"sequence '\\{soql[pos + 1]}' in string literal.",
    )


def _chars(raw: str) -> Iterator[tuple[str, bool, int]]:
    """A tokenized string literal's characters: (character, was it escaped, offset in ``raw``)."""
    i = 0
    while i < len(raw):
        if raw[i] != "\\":
            yield raw[i], False, i
            i += 1
        elif raw[i + 1] == "u":
            yield chr(int(raw[i + 2 : i + 6], 16)), True, i
            i += 6
        else:
            yield _STRING_ESCAPES.get(raw[i + 1], raw[i + 1]), True, i
            i += 2


def _like_only_escape(raw: str) -> int | None:
    """The offset of the first ``\\%`` or ``\\_`` in ``raw`` (allowed in a LIKE pattern only)."""
    return next((i for ch, escaped, i in _chars(raw) if escaped and raw[i + 1] in _LIKE_ESCAPES), None)


def _decode_string(raw: str) -> str:
    """A string literal's value (its escapes already checked by the tokenizer and the parser)."""
    return raw if "\\" not in raw else "".join(ch for ch, _, _ in _chars(raw))


def _like_regex(raw: str) -> re.Pattern[str]:
    """A LIKE pattern as an anchored, case-insensitive regex (``%`` any run, ``_`` one char; escaped ones
    are literal)."""
    parts = [
        re.escape(ch) if escaped else ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        for ch, escaped, _ in _chars(raw)
    ]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------------------------
# Raw syntax tree (before schema resolution)


@dataclass
class _Lit:
    kind: str  # string number boolean null date datetime dateliteral
    value: Any  # decoded value; for dateliteral: (NAME, n)
    raw: str  # source text, for messages and LIKE
    pos: int


@dataclass
class _RawPath:
    text: str
    pos: int


@dataclass
class _Cmp:
    path: _RawPath
    op: str  # = != < <= > >= like in notin
    values: list[_Lit]
    fp: FieldPath | None = None


@dataclass
class _Bool:
    op: str  # and or not
    args: list[Any]


@dataclass
class _RawOrder:
    path: _RawPath
    descending: bool
    nulls_last: bool


@dataclass
class _RawQuery:
    items: list[tuple[str, Any, int]]  # ("field", _RawPath, pos) | ("count", None, pos) | ("sub", _RawQuery, pos)
    from_name: str
    from_pos: int
    where: Any
    order: list[_RawOrder]
    limit: int | None
    offset: int


class _Parser:
    def __init__(self, soql: str):
        self.soql = soql
        self.tokens = _tokenize(soql)
        self.i = 0

    # token helpers
    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def advance(self) -> _Tok:
        t = self.tokens[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def unexpected(self, t: _Tok | None = None) -> SoqlError:
        t = t or self.tok
        return _error(MALFORMED, self.soql, t.pos, f"unexpected token: {t.describe()}")

    def is_kw(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.upper == word

    def accept_kw(self, word: str) -> bool:
        if self.is_kw(word):
            self.advance()
            return True
        return False

    def expect_kw(self, word: str) -> _Tok:
        if not self.is_kw(word):
            raise self.unexpected()
        return self.advance()

    def is_punct(self, ch: str) -> bool:
        return self.tok.kind == "punct" and self.tok.text == ch

    def expect_punct(self, ch: str) -> _Tok:
        if not self.is_punct(ch):
            raise self.unexpected()
        return self.advance()

    def name(self, allow_dots: bool) -> _RawPath:
        t = self.tok
        if t.kind != "ident" or t.upper in _RESERVED or (not allow_dots and "." in t.text):
            raise self.unexpected()
        self.advance()
        return _RawPath(t.text, t.pos)

    # grammar
    def parse(self) -> _RawQuery:
        q = self.query()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return q

    def query(self, nested: bool = False) -> _RawQuery:
        self.expect_kw("SELECT")
        items: list[tuple[str, Any, int]] = []
        while True:
            t = self.tok
            if self.is_punct("("):
                if nested:
                    raise _error(MALFORMED, self.soql, t.pos, "Nesting of semi join sub-selects is not supported")
                self.advance()
                sub = self.query(nested=True)
                self.expect_punct(")")
                items.append(("sub", sub, t.pos))
            elif t.kind == "ident" and self.tokens[self.i + 1].kind == "punct" and self.tokens[self.i + 1].text == "(":
                if t.upper != "COUNT":
                    raise _error(MALFORMED, self.soql, t.pos, f"unexpected token: '{t.text}' (function not supported)")
                self.advance()
                self.advance()
                if not self.is_punct(")"):
                    raise _error(
                        MALFORMED,
                        self.soql,
                        self.tok.pos,
                        "unexpected token: only COUNT() is supported, not COUNT(field)",
                    )
                self.advance()
                items.append(("count", None, t.pos))
            else:
                path = self.name(allow_dots=True)
                items.append(("field", path, path.pos))
            if self.is_punct(","):
                self.advance()
                continue
            break
        self.expect_kw("FROM")
        obj = self.name(allow_dots=False)
        where = None
        if self.accept_kw("WHERE"):
            where = self.condition()
        order: list[_RawOrder] = []
        if self.accept_kw("ORDER"):
            self.expect_kw("BY")
            while True:
                path = self.name(allow_dots=True)
                descending = False
                if self.accept_kw("DESC"):
                    descending = True
                else:
                    self.accept_kw("ASC")
                nulls_last = descending
                if self.accept_kw("NULLS"):
                    if self.accept_kw("LAST"):
                        nulls_last = True
                    else:
                        self.expect_kw("FIRST")
                        nulls_last = False
                order.append(_RawOrder(path, descending, nulls_last))
                if self.is_punct(","):
                    self.advance()
                    continue
                break
        limit = None
        if self.accept_kw("LIMIT"):
            limit = self.integer()
        offset = 0
        if self.accept_kw("OFFSET"):
            at = self.tok.pos
            offset = self.integer()
            if offset > MAX_OFFSET:
                raise _error(OUTSIDE_RANGE, self.soql, at, f"Maximum SOQL offset allowed is {MAX_OFFSET}")
        return _RawQuery(items, obj.text, obj.pos, where, order, limit, offset)

    def integer(self) -> int:
        t = self.tok
        if t.kind != "number" or not t.text.isdigit():
            raise self.unexpected()
        self.advance()
        return int(t.text)

    def condition(self) -> Any:
        args = [self.conjunction()]
        while self.accept_kw("OR"):
            args.append(self.conjunction())
        return args[0] if len(args) == 1 else _Bool("or", args)

    def conjunction(self) -> Any:
        args = [self.negation()]
        while self.accept_kw("AND"):
            args.append(self.negation())
        return args[0] if len(args) == 1 else _Bool("and", args)

    def negation(self) -> Any:
        if self.accept_kw("NOT"):
            return _Bool("not", [self.negation()])
        if self.is_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> _Cmp:
        path = self.name(allow_dots=True)
        t = self.tok
        if t.kind == "op":
            self.advance()
            op = "!=" if t.text == "<>" else t.text
            return _Cmp(path, op, [self.literal()])
        if self.accept_kw("LIKE"):
            lit = self.literal(like=True)
            if lit.kind != "string":
                raise _error(MALFORMED, self.soql, lit.pos, f"unexpected token: '{lit.raw}' (LIKE needs a string)")
            return _Cmp(path, "like", [lit])
        negate = self.accept_kw("NOT")
        if not self.is_kw("IN"):
            raise self.unexpected()
        self.advance()
        self.expect_punct("(")
        if self.is_kw("SELECT"):
            raise _error(MALFORMED, self.soql, self.tok.pos, "semi-join sub-selects are not supported")
        values = [self.literal()]
        while self.is_punct(","):
            self.advance()
            values.append(self.literal())
        self.expect_punct(")")
        return _Cmp(path, "notin" if negate else "in", values)

    def literal(self, like: bool = False) -> _Lit:
        t = self.tok
        if t.kind == "string":
            bad = None if like else _like_only_escape(t.text)
            if bad is not None:
                raise _illegal_escape(self.soql, t.pos, t.pos + 1 + bad)
            self.advance()
            return _Lit("string", _decode_string(t.text), t.text, t.pos)
        if t.kind == "number":
            self.advance()
            text = t.text
            value: Any = float(text) if "." in text else int(text)
            return _Lit("number", value, text, t.pos)
        if t.kind == "date":
            self.advance()
            try:
                d = date.fromisoformat(t.text)
            except ValueError:
                raise _error(MALFORMED, self.soql, t.pos, f"invalid date: {t.text}") from None
            return _Lit("date", d.isoformat(), t.text, t.pos)
        if t.kind == "datetime":
            self.advance()
            return _Lit("datetime", _parse_datetime(self.soql, t), t.text, t.pos)
        if t.kind == "ident":
            word = t.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return _Lit("boolean", word == "TRUE", t.text, t.pos)
            if word == "NULL":
                self.advance()
                return _Lit("null", None, t.text, t.pos)
            if word in _DATE_LITERALS:
                self.advance()
                return _Lit("dateliteral", (word, 0), t.text, t.pos)
            if word in _DATE_N_LITERALS:
                self.advance()
                self.expect_punct(":")
                number = self.tok
                n = self.integer()
                return _Lit("dateliteral", (word, n), self.soql[t.pos : number.pos + len(number.text)], t.pos)
        raise self.unexpected()


_DT_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):?(\d{2}))?$")


def _parse_datetime(soql: str, t: _Tok) -> str:
    """A datetime literal as the storage format, converted to UTC."""
    m = _DT_RE.match(t.text)
    if not m or not m.group(8):
        raise _error(
            MALFORMED,
            soql,
            t.pos,
            f"line 1:{t.pos} no viable alternative at character '{t.text}' "
            "(a datetime literal needs a time zone: Z or +hh:mm)",
        )
    year, month, day, hour, minute, second = (int(m.group(k)) for k in range(1, 7))
    millis = int((m.group(7) or "0")[:3].ljust(3, "0"))
    try:
        dt = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=timezone.utc)
    except ValueError:
        raise _error(MALFORMED, soql, t.pos, f"invalid datetime: {t.text}") from None
    if m.group(8) != "Z":
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        dt = dt - offset if m.group(9) == "+" else dt + offset
    return _format_datetime(dt)


def _format_datetime(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


# --------------------------------------------------------------------------------------------
# The resolved query

_TEXT_TYPES = {
    "id",
    "reference",
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
}
_NUMBER_TYPES = {"currency", "double", "percent", "int", "long"}


@dataclass(frozen=True)
class FieldPath:
    """A resolved field reference: the lookups to follow, then the field on the last object."""

    text: str  # canonical, e.g. "Account.Name"
    steps: tuple[tuple[str, str, str], ...]  # (lookup field, relationship name, target object)
    field: FieldDef


@dataclass
class _Shape:
    """The output shape of one record: entries in selection order."""

    object_name: str
    entries: list[tuple[str, str, Any]] = field(default_factory=list)  # (key, "leaf"|"rel"|"sub", payload)
    rels: dict[str, _Shape] = field(default_factory=dict)


@dataclass
class _Order:
    path: FieldPath
    descending: bool
    nulls_last: bool


@dataclass
class Query:
    soql: str
    object_name: str
    is_count: bool
    fields: list[FieldPath]
    subqueries: list[Query]
    where: Any  # resolved condition tree (None: no WHERE)
    order_by: list[_Order]
    limit: int | None
    offset: int
    relationship: ChildRelationship | None = None  # set on a child subquery
    shape: _Shape | None = None


def parse(soql: str, schema: dict[str, ObjectDef]) -> Query:
    """Parse ``soql`` and validate it against ``schema``; raises :class:`SoqlError`."""
    if not isinstance(soql, str) or not soql.strip():
        raise SoqlError(MALFORMED, "unexpected token: <EOF>")
    if len(soql) > MAX_STATEMENT_LENGTH:
        raise SoqlError(MALFORMED, f"SOQL statements cannot be longer than {MAX_STATEMENT_LENGTH} characters")
    raw = _Parser(soql).parse()
    obj = schema.get(raw.from_name.lower())
    if obj is None:
        raise _error(
            INVALID_TYPE, soql, raw.from_pos, f"sObject type '{raw.from_name}' is not supported. {_NO_TYPE_TAIL}"
        )
    return _Resolver(soql, schema).query(raw, obj, None)


class _Resolver:
    def __init__(self, soql: str, schema: dict[str, ObjectDef]):
        self.soql = soql
        self.schema = schema

    def query(self, raw: _RawQuery, obj: ObjectDef, relationship: ChildRelationship | None) -> Query:
        soql = self.soql
        counts = [pos for kind, _, pos in raw.items if kind == "count"]
        if counts and len(raw.items) > 1:
            raise _error(MALFORMED, soql, counts[0], "COUNT() must be the only element in the SELECT list")
        if counts and relationship is not None:
            raise _error(MALFORMED, soql, counts[0], "COUNT() is not supported in a subquery")
        shape = _Shape(obj.name)
        fields: list[FieldPath] = []
        subs: list[Query] = []
        seen: set[str] = set()
        for kind, payload, pos in raw.items:
            if kind == "field":
                fp = self.path(obj, payload)
                if fp.text.lower() in seen:
                    raise _error(MALFORMED, soql, pos, f"duplicate field selected: {fp.text}")
                seen.add(fp.text.lower())
                fields.append(fp)
                self.add_to_shape(shape, fp)
            elif kind == "sub":
                rel = obj.child_relationship(payload.from_name)
                if rel is None or rel.child_object.lower() not in self.schema:
                    raise _error(
                        INVALID_FIELD,
                        soql,
                        payload.from_pos,
                        f"Didn't understand relationship '{payload.from_name}' in FROM part of query "
                        f"call. {_NO_REL_TAIL}",
                    )
                if rel.name.lower() in seen:
                    raise _error(MALFORMED, soql, pos, f"duplicate field selected: {rel.name}")
                seen.add(rel.name.lower())
                sub = self.query(payload, self.schema[rel.child_object.lower()], rel)
                subs.append(sub)
                shape.entries.append((rel.name, "sub", sub))
        where = self.condition(obj, raw.where) if raw.where is not None else None
        order = [_Order(self.path(obj, o.path), o.descending, o.nulls_last) for o in raw.order]
        return Query(
            soql, obj.name, bool(counts), fields, subs, where, order, raw.limit, raw.offset, relationship, shape
        )

    def path(self, obj: ObjectDef, raw: _RawPath) -> FieldPath:
        parts = raw.text.split(".")
        # SOQL allows the FROM object's own name as a prefix ("Opportunity.Name FROM Opportunity").
        if len(parts) > 1 and parts[0].lower() == obj.name.lower() and obj.parent_relationship(parts[0]) is None:
            parts = parts[1:]
        steps: list[tuple[str, str, str]] = []
        names: list[str] = []
        current = obj
        for part in parts[:-1]:
            ref = current.parent_relationship(part)
            target = self.schema.get((ref.reference_to or "").lower()) if ref else None
            if ref is None or target is None:
                raise _error(
                    INVALID_FIELD,
                    self.soql,
                    raw.pos,
                    f"Didn't understand relationship '{part}' in field path. {_NO_REL_TAIL}",
                )
            steps.append((ref.name, ref.relationship_name or part, target.name))
            names.append(ref.relationship_name or part)
            current = target
        fd = current.field(parts[-1])
        if fd is None:
            raise _error(
                INVALID_FIELD,
                self.soql,
                raw.pos,
                f"No such column '{parts[-1]}' on entity '{current.name}'. {_NO_COLUMN_TAIL}",
            )
        names.append(fd.name)
        return FieldPath(".".join(names), tuple(steps), fd)

    @staticmethod
    def add_to_shape(shape: _Shape, fp: FieldPath) -> None:
        node = shape
        for ref_name, rel_name, target in fp.steps:
            child = node.rels.get(rel_name)
            if child is None:
                child = _Shape(target)
                node.rels[rel_name] = child
                node.entries.append((rel_name, "rel", (ref_name, child)))
            node = child
        node.entries.append((fp.field.name, "leaf", fp.field))

    def condition(self, obj: ObjectDef, node: Any) -> Any:
        if isinstance(node, _Bool):
            return _Bool(node.op, [self.condition(obj, a) for a in node.args])
        fp = self.path(obj, node.path)
        if node.op == "like" and (fp.field.type not in _TEXT_TYPES or fp.field.type in ("id", "reference")):
            raise _error(
                INVALID_FIELD,
                self.soql,
                node.path.pos,
                f"invalid operator on field '{fp.text}': LIKE needs a text field",
            )
        values = [self.value(fp, node.op, lit) for lit in node.values]
        return _Cmp(node.path, node.op, values, fp)

    def value(self, fp: FieldPath, op: str, lit: _Lit) -> _Lit:
        ftype = fp.field.type
        if op == "like":
            return lit
        if lit.kind == "null":
            return lit
        if ftype in _TEXT_TYPES:
            ok = lit.kind == "string"
        elif ftype in _NUMBER_TYPES:
            ok = lit.kind == "number"
        elif ftype == "boolean":
            ok = lit.kind == "boolean"
        elif ftype == "date":
            ok = lit.kind in ("date", "dateliteral")
        elif ftype == "datetime":
            ok = lit.kind in ("datetime", "dateliteral")
        else:
            ok = True
        if not ok:
            shown = f"'{lit.raw}'" if lit.kind == "string" else lit.raw
            raise _error(INVALID_FIELD, self.soql, lit.pos, f"value of incorrect type: {shown}")
        if lit.kind == "dateliteral" and op in ("in", "notin"):
            raise _error(MALFORMED, self.soql, lit.pos, f"date literal {lit.raw} is not supported in IN lists")
        if lit.kind == "string":
            text = lit.value
            if ftype in ("id", "reference") and len(text) == 15 and text.isalnum():
                text = _to18(text)
            return _Lit("string", text.lower(), lit.raw, lit.pos)
        return lit


def _to18(id15: str) -> str:
    suffix = ""
    for block in range(3):
        flags = 0
        for j, ch in enumerate(id15[block * 5 : block * 5 + 5]):
            if "A" <= ch <= "Z":
                flags |= 1 << j
        suffix += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[flags]
    return id15 + suffix


# --------------------------------------------------------------------------------------------
# Evaluation


class _ParentCache(dict):
    """Records of one object by id, loaded from the source on first use (``cache[None]`` is None)."""

    def __init__(self, source: RecordSource, object_name: str):
        super().__init__()
        self.source = source
        self.object_name = object_name

    def __missing__(self, record_id: Any) -> dict | None:
        rec = self.source.get_record(self.object_name, record_id) if record_id else None
        self[record_id] = rec
        return rec


class _Context:
    """One execution: the source, caches of parent lookups, and the URL prefix."""

    def __init__(self, source: RecordSource, include_deleted: bool, api_version: str, today: date | None = None):
        self.source = source
        self.include_deleted = include_deleted
        version = api_version if api_version.startswith("v") else "v" + api_version
        self.url_prefix = f"/services/data/{version}/sobjects/"
        self.caches: dict[str, _ParentCache] = {}
        self.today = today or datetime.now(timezone.utc).date()

    def cache(self, object_name: str) -> _ParentCache:
        cache = self.caches.get(object_name)
        if cache is None:
            cache = self.caches[object_name] = _ParentCache(self.source, object_name)
        return cache


def _raw_getter(fp: FieldPath, ctx: _Context) -> Callable[[dict], Any]:
    name = fp.field.name
    if fp.field.type == "boolean":
        if not fp.steps:
            return lambda r: bool(r.get(name))
        base = _walker(fp.steps, ctx)
        return lambda r: None if (p := base(r)) is None else bool(p.get(name))
    if not fp.steps:
        return lambda r: r.get(name)
    base = _walker(fp.steps, ctx)
    return lambda r: None if (p := base(r)) is None else p.get(name)


def _walker(steps: tuple[tuple[str, str, str], ...], ctx: _Context) -> Callable[[dict], dict | None]:
    """A function from a record to the record at the end of a chain of lookups (or None)."""
    hops = [(ref, ctx.cache(target)) for ref, _, target in steps]
    if len(hops) == 1:
        ref, cache = hops[0]
        return lambda r: cache[r.get(ref)]

    def walk(r: dict | None) -> dict | None:
        for ref, cache in hops:
            r = cache[r.get(ref)]  # type: ignore[union-attr]
            if r is None:
                return None
        return r

    return walk


def _key_getter(fp: FieldPath, ctx: _Context, *, for_sort: bool = False) -> Callable[[dict], Any]:
    """The value used for comparisons and sorting: text lower-cased, empty text as null.

    Ids sort as stored (18-char ids are unique regardless of case), which is cheaper."""
    get = _raw_getter(fp, ctx)
    if fp.field.type in _TEXT_TYPES:
        if for_sort and fp.field.type in ("id", "reference"):
            return lambda r: get(r) or None
        return lambda r: v.lower() if (v := get(r)) else None
    return get


def _date_range(lit: _Lit, ftype: str, today: date) -> tuple[str, str]:
    word, n = lit.value
    start, end = {
        "TODAY": (0, 1),
        "YESTERDAY": (-1, 0),
        "TOMORROW": (1, 2),
        "LAST_N_DAYS": (-n, 1),
        "NEXT_N_DAYS": (1, n + 1),
        "N_DAYS_AGO": (-n, -n + 1),
    }[word]
    d0, d1 = today + timedelta(days=start), today + timedelta(days=end)
    if ftype == "datetime":
        return d0.isoformat() + "T00:00:00.000+0000", d1.isoformat() + "T00:00:00.000+0000"
    return d0.isoformat(), d1.isoformat()


def _compile_cond(node: Any, ctx: _Context) -> Callable[[dict], bool]:
    if isinstance(node, _Bool):
        parts = [_compile_cond(a, ctx) for a in node.args]
        if node.op == "not":
            inner = parts[0]
            return lambda r: not inner(r)
        if node.op == "and":
            if len(parts) == 2:
                a, b = parts
                return lambda r: a(r) and b(r)
            return lambda r: all(p(r) for p in parts)
        if len(parts) == 2:
            a, b = parts
            return lambda r: a(r) or b(r)
        return lambda r: any(p(r) for p in parts)
    return _compile_cmp(node, ctx)


def _compile_cmp(node: _Cmp, ctx: _Context) -> Callable[[dict], bool]:
    fp = node.fp
    assert fp is not None
    op = node.op
    if op == "like":
        rx = _like_regex(node.values[0].raw)
        match = rx.fullmatch
        get = _raw_getter(fp, ctx)
        return lambda r: (v := get(r)) is not None and match(v) is not None
    get = _key_getter(fp, ctx)
    if op in ("in", "notin"):
        allowed = frozenset(lit.value for lit in node.values)
        if op == "in":
            return lambda r: get(r) in allowed
        return lambda r: get(r) not in allowed
    lit = node.values[0]
    if lit.kind == "dateliteral":
        lo, hi = _date_range(lit, fp.field.type, ctx.today)
        return {
            "=": lambda r: (v := get(r)) is not None and lo <= v < hi,
            "!=": lambda r: (v := get(r)) is None or not (lo <= v < hi),
            "<": lambda r: (v := get(r)) is not None and v < lo,
            "<=": lambda r: (v := get(r)) is not None and v < hi,
            ">": lambda r: (v := get(r)) is not None and v >= hi,
            ">=": lambda r: (v := get(r)) is not None and v >= lo,
        }[op]
    x = lit.value
    if x is None:
        if op == "=":
            return lambda r: get(r) is None
        if op == "!=":
            return lambda r: get(r) is not None
        return lambda r: False
    return {
        "=": lambda r: get(r) == x,
        "!=": lambda r: get(r) != x,
        "<": lambda r: (v := get(r)) is not None and v < x,
        "<=": lambda r: (v := get(r)) is not None and v <= x,
        ">": lambda r: (v := get(r)) is not None and v > x,
        ">=": lambda r: (v := get(r)) is not None and v >= x,
    }[op]


_NULL_LOW = (0,)
_NULL_HIGH = (2,)


def _sort(rows: list[dict], order: list[_Order], ctx: _Context) -> list[dict]:
    """Stable sort passes from the last key to the first, each over precomputed key values
    (plain values keep CPython's fast homogeneous-type comparisons)."""
    for o in reversed(order):
        get = _key_getter(o.path, ctx, for_sort=True)
        values = [get(r) for r in rows]
        if None in values:
            # Null placement, expressed in the direction of the pass (reverse=True for DESC).
            null = _NULL_HIGH if (o.nulls_last != o.descending) else _NULL_LOW
            values = [null if v is None else (1, v) for v in values]
        positions = sorted(range(len(rows)), key=values.__getitem__, reverse=o.descending)
        rows = [rows[i] for i in positions]
    return rows


def _slice(rows: list[dict], offset: int, limit: int | None) -> list[dict]:
    if offset:
        rows = rows[offset:]
    if limit is not None:
        rows = rows[:limit]
    return rows


def _select(query: Query, rows: Iterable[dict], ctx: _Context) -> list[dict]:
    """Filter (deleted rows, WHERE), sort and slice."""
    pred = _compile_cond(query.where, ctx) if query.where is not None else None
    if ctx.include_deleted:
        selected = [r for r in rows if pred(r)] if pred else list(rows)
    elif pred:
        selected = [r for r in rows if not r.get("IsDeleted") and pred(r)]
    else:
        selected = [r for r in rows if not r.get("IsDeleted")]
    if query.order_by:
        selected = _sort(selected, query.order_by, ctx)
    return _slice(selected, query.offset, query.limit)


def _compile_shape(shape: _Shape, ctx: _Context) -> Callable[[dict], dict]:
    """A function from a stored record to its output dict, generated as one nested dict literal
    (parent objects inline, looked up in the context's caches)."""
    env: dict[str, Any] = {"_subquery": _subquery_result}
    counter = [0]

    def name(prefix: str, value: Any) -> str:
        counter[0] += 1
        ident = f"_{prefix}{counter[0]}"
        env[ident] = value
        return ident

    def literal(node: _Shape, var: str) -> str:
        url = name("url", ctx.url_prefix + node.object_name + "/")
        items = [f'"attributes": {{"type": {node.object_name!r}, "url": {url} + str({var}.get("Id"))}}']
        for key, kind, payload in node.entries:
            if kind == "leaf":
                value = f"{var}.get({key!r})"
                items.append(f"{key!r}: bool({value})" if payload.type == "boolean" else f"{key!r}: {value}")
            elif kind == "rel":
                ref_name, child = payload
                cache = name("cache", ctx.cache(child.object_name))
                pvar = name("p", None)
                items.append(
                    f"{key!r}: (None if ({pvar} := {cache}[{var}.get({ref_name!r})]) is None "
                    f"else {literal(child, pvar)})"
                )
            else:
                fetch = name("fetch", _children_fetcher(payload, ctx))
                shaper = name("shape", _compile_shape(payload.shape, ctx))
                items.append(f"{key!r}: _subquery({fetch}({var}.get('Id')), {shaper})")
        return "{" + ", ".join(items) + "}"

    code = "def shape(r):\n    return " + literal(shape, "r") + "\n"
    exec(code, env)  # noqa: S102 - names come from the schema and are embedded via repr()
    return env["shape"]


def _subquery_result(children: list[dict], shaper: Callable[[dict], dict]) -> dict | None:
    if not children:
        return None
    return {"totalSize": len(children), "done": True, "records": [shaper(c) for c in children]}


def _children_fetcher(sub: Query, ctx: _Context) -> Callable[[Any], list[dict]]:
    """Children of a parent id for a subquery: indexed once, on first use."""
    rel = sub.relationship
    assert rel is not None
    index: dict[Any, list[dict]] | None = None

    def fetch(parent_id: Any) -> list[dict]:
        nonlocal index
        if index is None:
            groups: dict[Any, list[dict]] = {}
            fk = rel.field
            for r in ctx.source.all_records(rel.child_object):
                pid = r.get(fk)
                if pid:
                    groups.setdefault(pid, []).append(r)
            index = {pid: rows for pid, rows in ((p, _select(sub, g, ctx)) for p, g in groups.items()) if rows}
        return index.get(parent_id, []) if parent_id else []

    return fetch


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Evaluation allocates many small dicts; cyclic GC passes over a large store would dominate."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Selection:
    """The rows a query selects (filtered, sorted, sliced), shaped into REST records on demand,
    so a caller paging through a large result only pays for the pages it serves."""

    def __init__(self, query: Query, rows: list[dict], ctx: _Context, total_size: int):
        self.query = query
        self.rows = rows
        self.total_size = total_size
        self._ctx = ctx
        self._shaper: Callable[[dict], dict] | None = None

    def records(self, start: int = 0, stop: int | None = None) -> list[dict]:
        if not self.rows:
            return []
        if self._shaper is None:
            assert self.query.shape is not None
            self._shaper = _compile_shape(self.query.shape, self._ctx)
        shaper = self._shaper
        with _gc_paused():
            return [shaper(r) for r in self.rows[start:stop]]


def select(
    query: Query, source: RecordSource, *, include_deleted: bool, api_version: str, today: date | None = None
) -> Selection:
    """Filter, sort and slice now; shape later, page by page (``Selection.records(start, stop)``).
    For ``SELECT COUNT()`` the selection has no rows and ``total_size`` is the count.
    ``today`` anchors TODAY / LAST_N_DAYS (the sandbox passes its own, movable clock)."""
    ctx = _Context(source, include_deleted, api_version, today)
    with _gc_paused():
        if query.is_count:
            count_query = Query(query.soql, query.object_name, True, [], [], query.where, [], query.limit, query.offset)
            return Selection(query, [], ctx, len(_select(count_query, source.all_records(query.object_name), ctx)))
        rows = _select(query, source.all_records(query.object_name), ctx)
    return Selection(query, rows, ctx, len(rows))


def execute(query: Query, source: RecordSource, *, include_deleted: bool, api_version: str) -> list[dict]:
    """The records ``query`` selects, in the REST API's JSON shape ([] for ``SELECT COUNT()``)."""
    return select(query, source, include_deleted=include_deleted, api_version=api_version).records()


def run(
    soql: str,
    schema: dict[str, ObjectDef],
    source: RecordSource,
    *,
    include_deleted: bool,
    api_version: str,
    today: date | None = None,
) -> tuple[list[dict], int]:
    """Parse and execute: (records, totalSize); for ``SELECT COUNT()`` the records are [] and
    totalSize is the count. ``today`` anchors TODAY / LAST_N_DAYS (default: the machine's)."""
    selection = select(
        parse(soql, schema), source, include_deleted=include_deleted, api_version=api_version, today=today
    )
    return selection.records(), selection.total_size
