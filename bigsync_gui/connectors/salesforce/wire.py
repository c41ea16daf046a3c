"""What Salesforce's REST answers look like, as the client relies on: the pinned API version, the
documented limits, object names and record ids, error bodies, datetimes and My Domain hosts."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

SYSTEM = "salesforce"
#: The one place the REST API version is pinned (Summer '26).
API_VERSION = "v67.0"

UPDATED_WINDOW_DAYS = 30  # getUpdated: at most 30 days back
COLLECTION_CHUNK = 200  # sObject Collections: at most 200 records per call
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 200, 2000  # Sforce-Query-Options batchSize
# A page the client can no longer get: its locator expired, or the answer a dropped connection lost used it up
LOCATOR_GONE = (
    "Salesforce no longer serves the next page of this query (its locator expired or was used up); "
    "nothing was lost: the next sync reads it again."
)

PERMISSION_CODES = frozenset(
    {
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        "API_DISABLED_FOR_ORG",
        "API_CURRENTLY_DISABLED",
        "INSUFFICIENT_PRIVILEGES",
    }
)
NOT_FOR_REST = "not valid for use with the rest api"
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
ID_RE = re.compile(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?")
USAGE_RE = re.compile(r"(?:^|[\s,;])api-usage=(\d+)/(\d+)", re.IGNORECASE)


def iso_utc(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS+00:00`` (UTC) — the format getUpdated/getDeleted document."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; give it tzinfo=timezone.utc")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def checked_name(value: str, what: str = "object") -> str:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Salesforce {what} name")
    return value


def checked_record_id(value: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a Salesforce record id")
    return value


def error_items(body: Any) -> list[tuple[str, str, list[str]]]:
    """(message, code, fields) from any of the error shapes Salesforce and proxies produce."""
    items = body if isinstance(body, list) else [body]
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        message = item.get("message") or item.get("error_description") or item.get("Message") or ""
        code = item.get("errorCode") or item.get("statusCode") or item.get("error") or ""
        fields = item.get("fields") or []
        if message or code:
            out.append((str(message), str(code), [str(f) for f in fields] if isinstance(fields, list) else []))
    return out


def looks_html(response: requests.Response) -> bool:
    ctype = response.headers.get("Content-Type", "").lower()
    head = response.text[:200].lstrip().lower()
    return "html" in ctype or head.startswith("<!doctype") or head.startswith("<html")


def my_domain_name(instance_url: str) -> str | None:
    host = urlsplit(instance_url).hostname or ""
    match = re.fullmatch(r"([a-z0-9-]+?)(?:--[a-z0-9]+)?\.(?:sandbox\.)?my\.salesforce\.com", host, re.IGNORECASE)
    return match.group(1) if match else None
