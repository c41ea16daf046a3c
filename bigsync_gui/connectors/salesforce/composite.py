"""Conditional updates through the Composite resource (``POST composite``: docs/reference/salesforce.md
§6): up to 25 subrequests in one request, counted as one API call; each PATCH carries its own
If-Unmodified-Since in its ``httpHeaders`` (any header the resource supports but Accept,
Authorization and Content-Type, which subrequests inherit). With ``allOrNone: false`` a 412 is that
subrequest's ``httpStatusCode`` and the others stand."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import ConnectorError, PermissionDenied, RequestRejected, ServiceUnavailable, UnexpectedResponse
from ..redact import redact
from .wire import API_VERSION, PERMISSION_CODES, SYSTEM, checked_name, checked_record_id, error_items

COMPOSITE_CHUNK = 25  # Composite: at most 25 subrequests per call


@dataclass(frozen=True)
class ConditionalUpdate:
    """One PATCH that is written only if the record was not modified after ``since`` (whole seconds)."""

    sobject: str
    record_id: str
    values: dict[str, Any]
    since: datetime


def http_date(moment: datetime) -> str:
    """An HTTP-date (whole seconds, GMT), as If-Unmodified-Since takes it."""
    return email.utils.format_datetime(moment.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def request_body(updates: list[ConditionalUpdate], first: int) -> dict[str, Any]:
    """The composite request for ``updates`` (reference ids ``u<first>``, ``u<first + 1>``…)."""
    return {"allOrNone": False, "compositeRequest": [{
        "method": "PATCH", "referenceId": f"u{first + i}", "body": u.values,
        "url": f"/services/data/{API_VERSION}/sobjects/{checked_name(u.sobject)}/{checked_record_id(u.record_id)}",
        "httpHeaders": {"If-Unmodified-Since": http_date(u.since)}} for i, u in enumerate(updates)]}


def outcomes(answer: Any, body: dict[str, Any]) -> list[bool | ConnectorError]:
    """Per subrequest of ``body``, in order: True (2xx), False (412), else its error, typed as a
    direct request's would be. An answer without one result per subrequest is UnexpectedResponse."""
    items = answer.get("compositeResponse") if isinstance(answer, dict) else None
    subrequests = body["compositeRequest"]
    if not isinstance(items, list) or len(items) != len(subrequests):
        raise UnexpectedResponse(SYSTEM, "Salesforce's answer to a composite request does not have one result "
                                         "per subrequest.")
    by_ref = {item.get("referenceId"): item for item in items if isinstance(item, dict)}
    out: list[bool | ConnectorError] = []
    for sub in subrequests:
        item = by_ref.get(sub["referenceId"])
        if item is None:
            raise UnexpectedResponse(SYSTEM, "A composite result names no subrequest of ours.")
        out.append(_outcome(item, sub["url"]))
    return out


def _outcome(item: dict[str, Any], url: str) -> bool | ConnectorError:
    status = item.get("httpStatusCode")
    if not isinstance(status, int):
        return UnexpectedResponse(SYSTEM, "A composite result has no HTTP status.")
    if 200 <= status < 300:
        return True
    if status == 412:
        return False
    items = error_items(item.get("body"))
    message = redact("; ".join(m or c for m, c, _ in items)) or f"Salesforce answered HTTP {status} (PATCH {url})."
    code = items[0][1] if items else ""
    fields = [f for _, _, fs in items for f in fs]
    if status >= 500:
        return ServiceUnavailable(SYSTEM, status, f"Salesforce answered HTTP {status} (PATCH {url}): {message}")
    if code in PERMISSION_CODES or status == 403:
        return PermissionDenied(SYSTEM, status, f"Salesforce refused access: {message}", code, fields)
    return RequestRejected(SYSTEM, status, message, code, fields)
