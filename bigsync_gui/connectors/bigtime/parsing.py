"""Defensive parsing of BigTime's answers, and its error bodies as one short sentence.

BigTime's field names are matched case-insensitively, a missing field is ``None`` (never a
``KeyError``), numbers and booleans may arrive as strings, and dates in any of the shapes BigTime
writes. An error answer (JSON, plain text or a whole HTML page) becomes a short plain sentence
without a secret in it.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

import requests

from ..errors import UnexpectedResponse
from ..redact import redact
from ..timestamps import parse_timestamp

SYSTEM = "bigtime"
_MESSAGE_LIMIT = 240


# =============================================================================================
# Defensive parsing
# =============================================================================================
def lower_keys(record: Any) -> dict[str, Any]:
    """The record's keys lower-cased (a non-dict gives an empty dict)."""
    if not isinstance(record, Mapping):
        return {}
    return {str(k).lower(): v for k, v in record.items()}


def pick(record: Any, *names: str) -> Any:
    """The first of ``names`` present with a non-null value, matched case-insensitively; else None."""
    low = record if isinstance(record, _Lowered) else lower_keys(record)
    for name in names:
        value = low.get(name.lower())
        if value is not None:
            return value
    return None


class _Lowered(dict):
    """A dict already lower-cased (so :func:`pick` does not do it again for every field)."""


def low(record: Any) -> _Lowered:
    return _Lowered(lower_keys(record))


_NUMBER_JUNK = re.compile(r"[,\s$€£]")


def to_number(value: Any) -> float | None:
    """A float from a number or a numeric string ("1,234.50", " 12 ", "(5.00)"); else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = _NUMBER_JUNK.sub("", str(value))
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN / inf are not figures
        return None
    return -number if negative else number


def to_int(value: Any) -> int | None:
    number = to_number(value)
    if number is None or number != int(number):
        return None
    return int(number)


def to_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "y", "t"):
        return True
    if text in ("false", "0", "no", "n", "f", ""):
        return False
    return None


def to_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def to_datetime(value: Any) -> datetime | None:
    """A timestamp; BigTime writes UTC without an offset, so a naive one is taken as UTC."""
    if value is None or value == "":
        return None
    dt: datetime
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            dt = parse_timestamp(text)
        except ValueError:
            for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y"):
                try:
                    dt = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
            else:
                return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def to_date(value: Any) -> date | None:
    """A calendar date from ``2026-11-26``, ``2026-11-26T00:00:00`` or ``11/26/2026``."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    dt = to_datetime(text)
    return dt.date() if dt else None


def date_param(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    parsed = to_date(value)
    if parsed is None:
        raise ValueError(f"not a date: {value!r}")
    return parsed.isoformat()


def records(data: Any) -> list[Any]:
    """A list answer; a single object is a one-element list; null is empty."""
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, Mapping):
        return [data]
    raise UnexpectedResponse(SYSTEM, "BigTime answered a list request with something that is not a list.")


# =============================================================================================
# Error bodies → one short sentence
# =============================================================================================
_TAG = re.compile(r"<[^>]+>")
_SCRIPT = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.I | re.S)


def _strip_html(fragment: str) -> str:
    text = html_lib.unescape(_TAG.sub(" ", fragment))
    return re.sub(r"\s+", " ", text).strip()


def html_to_sentence(page: str) -> str:
    """A short sentence from an HTML error page: its main heading or title (+ first paragraph)."""
    parts: list[str] = []
    for pattern in (r"<h1\b[^>]*>(.*?)</h1\s*>", r"<title\b[^>]*>(.*?)</title\s*>", r"<h2\b[^>]*>(.*?)</h2\s*>"):
        match = re.search(pattern, page, re.I | re.S)
        if match and _strip_html(match.group(1)):
            parts.append(_strip_html(match.group(1)))
            break
    body = _SCRIPT.sub(" ", page)
    match = re.search(r"<p\b[^>]*>(.*?)</p\s*>", body, re.I | re.S)
    if match and _strip_html(match.group(1)):
        parts.append(_strip_html(match.group(1)))
    if not parts:
        parts.append(_strip_html(body))
    sentence = " — ".join(dict.fromkeys(p for p in parts if p))
    return sentence.replace("<", "").replace(">", "")


def _shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def error_message(response: requests.Response, secrets: Iterable[str] = ()) -> str:
    """BigTime's message from an error answer: ``{"Message": ...}``, a JSON string, plain text or a
    whole HTML page, always as a short plain sentence."""
    text = response.text or ""
    message = ""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        found = pick(data, "Message", "ExceptionMessage", "error_description", "ErrorMessage", "error", "title")
        message = to_text(found) or ""
        state = pick(data, "ModelState", "errors")
        if isinstance(state, Mapping):
            details = [str(v[0] if isinstance(v, list) and v else v) for v in state.values()]
            message = " ".join(p for p in [message, *details] if p)
    elif isinstance(data, str):
        message = data
    elif isinstance(data, list) and data:
        first = data[0]
        message = (to_text(pick(first, "Message", "message")) or "") if isinstance(first, Mapping) else str(first)
    elif data is None and text.strip():
        stripped = text.lstrip()
        looks_html = (
            stripped[:1] == "<"
            or "<html" in text[:500].lower()
            or "html" in response.headers.get("Content-Type", "").lower()
        )
        message = html_to_sentence(text) if looks_html else stripped.splitlines()[0]
    if "<" in message and ">" in message:
        message = html_to_sentence(message)
    message = _shorten(redact(message, extra=secrets))
    return message or f"HTTP {response.status_code} without an explanation"
