"""One reader of timestamps, for Salesforce's (``2026-11-26T10:00:00.000+0000``), ours
(``...+00:00``) and ``...Z``: Python 3.11's ``datetime.fromisoformat`` reads all three. A stamp
without an offset is UTC (Salesforce's and BigTime's clocks are); one with an offset keeps it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def parse_timestamp(text: str) -> datetime:
    """``text`` as an aware datetime; ValueError if it is not an ISO 8601 timestamp."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def timestamp_or_none(value: Any) -> datetime | None:
    """For a field of an answer that may be missing or malformed: the timestamp, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None
