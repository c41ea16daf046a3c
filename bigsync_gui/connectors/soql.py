"""Building SOQL safely: every value becomes a literal through :func:`quote`, never pasted text.

SOQL has no bind variables over REST, so a query is a string. The rules (Salesforce's "Quoted
String Escape Sequences" and "Date Formats" pages, docs/reference/salesforce.md, "REST API used by the sync"):

- strings go in single quotes; ``\\`` ``'`` ``"`` and the control characters newline, carriage
  return, tab, backspace and form feed are written as backslash escapes. Nothing else is reserved
  inside quotes, so every other character (accents, emoji, right-to-left text, other control
  characters) is kept as it is — a value can never end the literal early;
- dates are unquoted ``YYYY-MM-DD``; datetimes unquoted ``YYYY-MM-DDThh:mm:ssZ`` in UTC. The
  documented datetime literal has whole seconds, so sub-second precision is dropped (floored): a
  ``>=`` lower bound then selects a superset, which the sync's de-duplication absorbs;
- ``true`` / ``false`` / ``null``; numbers in plain decimal notation (never ``1e-05``).

``%`` and ``_`` are only wildcards after ``LIKE``; :func:`quote_like` escapes them there.
Field and object names cannot be quoted: :func:`identifier` checks one before it is used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

__all__ = ["Identifier", "format_soql", "identifier", "in_list", "quote", "quote_like"]

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}
_ESCAPE_RE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")
_LIKE_WILDCARDS_RE = re.compile(r"[%_]")
_IDENTIFIER_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)*")


class Identifier(str):
    """A field, relationship path or object name that :func:`identifier` has checked; inserted
    into a query as it is (not quoted)."""


def identifier(name: str) -> Identifier:
    """``name`` if it is a plain API name or a dotted relationship path (``Account.Name``,
    ``BigTime_Project_Id__c``, ``ns__Field__c``): letters, digits and underscores, starting with a
    letter. Raises ValueError for anything else (spaces, quotes, operators, commas...), so a name
    from settings or describe can never smuggle SOQL into a query."""
    if not isinstance(name, str) or not _IDENTIFIER_RE.fullmatch(name):
        raise ValueError(f"{name!r} is not a Salesforce field or object name")
    return Identifier(name)


def _escape(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group()], text)


def _number(value: int | float | Decimal) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be written in SOQL")
        value = Decimal(repr(value))
    if not value.is_finite():
        raise ValueError(f"{value!r} cannot be written in SOQL")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone: a SOQL datetime must be an instant (give it tzinfo=UTC)")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def quote(value: Any) -> str:
    """``value`` as a SOQL literal: str, bool, int, float, Decimal, date, datetime (aware), None.

    A list, tuple, set or frozenset becomes an ``IN`` list (:func:`in_list`); an
    :class:`Identifier` is inserted as it is. Anything else is a TypeError — a value is never
    turned into text by ``str()`` and pasted."""
    if isinstance(value, Identifier):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + _escape(value) + "'"
    if isinstance(value, (int, float, Decimal)):
        return _number(value)
    if isinstance(value, datetime):  # before date: a datetime is a date too
        return _datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return in_list(value)
    raise TypeError(f"cannot write a {type(value).__name__} as a SOQL literal")


def in_list(values: Iterable[Any]) -> str:
    """``('a','b')`` for ``IN`` / ``NOT IN``. Sets are sorted so the text is deterministic; an
    empty list is a ValueError (``IN ()`` is not SOQL — the caller must skip the query)."""
    items = list(values)
    if isinstance(values, (set, frozenset)):
        items.sort(key=lambda v: (type(v).__name__, repr(v)))
    if not items:
        raise ValueError("an IN list needs at least one value")
    for item in items:
        if isinstance(item, (list, tuple, set, frozenset)):
            raise TypeError("an IN list cannot contain a list")
    return "(" + ",".join(quote(v) for v in items) + ")"


def quote_like(text: str, match: str = "contains") -> str:
    """A ``LIKE`` pattern matching ``text`` literally: ``%`` and ``_`` in it are escaped.

    ``match``: ``"contains"`` (``'%text%'``), ``"startswith"``, ``"endswith"`` or ``"exact"``."""
    if not isinstance(text, str):
        raise TypeError("a LIKE pattern is built from a str")
    body = _LIKE_WILDCARDS_RE.sub(lambda m: "\\" + m.group(), _escape(text))
    try:
        before, after = {"contains": ("%", "%"), "startswith": ("", "%"), "endswith": ("%", ""), "exact": ("", "")}[
            match
        ]
    except KeyError:
        raise ValueError(f"match must be contains, startswith, endswith or exact, not {match!r}") from None
    return "'" + before + body + after + "'"


def format_soql(template: str, *args: Any) -> str:
    """Fill each ``{}`` in ``template`` with :func:`quote` of the next argument.

    ``{{`` and ``}}`` stand for literal braces. Named or numbered fields (``{0}``, ``{x}``) are
    refused, and the number of arguments must match the placeholders exactly.

    >>> format_soql("SELECT Id FROM Account WHERE Name = {} AND IsDeleted = {}", "O'Brien", False)
    "SELECT Id FROM Account WHERE Name = 'O\\\\'Brien' AND IsDeleted = false"
    """
    out: list[str] = []
    remaining = list(args)
    i, n = 0, len(template)
    used = 0
    while i < n:
        ch = template[i]
        if ch == "{":
            if template.startswith("{{", i):
                out.append("{")
                i += 2
                continue
            if template.startswith("{}", i):
                if not remaining:
                    raise ValueError(f"the template has more placeholders than the {len(args)} value(s) given")
                out.append(quote(remaining.pop(0)))
                used += 1
                i += 2
                continue
            raise ValueError("only {} placeholders are allowed in a SOQL template (use {{ for a brace)")
        if ch == "}":
            if template.startswith("}}", i):
                out.append("}")
                i += 2
                continue
            raise ValueError("single '}' in a SOQL template (use }} for a brace)")
        out.append(ch)
        i += 1
    if remaining:
        raise ValueError(f"{len(args)} value(s) given for {used} placeholder(s)")
    return "".join(out)
