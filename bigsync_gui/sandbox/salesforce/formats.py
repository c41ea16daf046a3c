"""How the emulated org writes and reads datetimes and dates: the REST API's
``2026-11-26T10:00:00.000+0000``, what clients send (``Z``, ``+00:00``, ``+0000``), and change
events' ``...Z``."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any


def format_datetime(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(Z|[+-]\d{2}:?\d{2})?:?$"
)


def parse_datetime(text: str, *, default_utc: bool = True) -> datetime | None:
    """ISO 8601 as clients send it (``Z``, ``+00:00``, ``+0000``, optional fraction); None if unreadable."""
    if not isinstance(text, str):
        return None
    match = _DT_RE.match(text.strip())
    if not match:
        return None
    y, mo, d, h, mi, s, frac, tz = match.groups()
    try:
        micro = int((frac or "0").ljust(6, "0")[:6])
        value = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro)
    except ValueError:
        return None
    if tz in (None, "Z"):
        if tz is None and not default_utc:
            return None
        return value.replace(tzinfo=timezone.utc)
    sign = 1 if tz[0] == "+" else -1
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return value.replace(tzinfo=timezone(sign * offset)).astimezone(timezone.utc)


def cdc_value(value: Any) -> Any:
    """Change events write datetimes in UTC with a Z (``2026-11-26T10:00:00.000Z``)."""
    if isinstance(value, str) and value.endswith("+0000") and "T" in value:
        return value[:-5] + "Z"
    return value


def parse_date(text: object) -> str | None:
    if not isinstance(text, str) or not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None
