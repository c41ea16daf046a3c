"""Conditional updates through the Composite resource (``POST composite``: docs/reference/salesforce.md
§6): up to 25 subrequests in one request, counted as one API call; each PATCH carries its own
If-Unmodified-Since in its ``httpHeaders`` (any header the resource supports but Accept,
Authorization and Content-Type, which subrequests inherit). With ``allOrNone: false`` a 412 is that
subrequest's ``httpStatusCode`` and the others stand. A request may also carry plain updates of up
to 200 records as one sObject Collections subrequest (a "rider": what would otherwise cost a
request of its own); the shapes of sObject Collections bodies and answers are here too."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from collections.abc import Sequence

from ..errors import ConnectorError, PermissionDenied, RequestRejected, ServiceUnavailable, UnexpectedResponse
from ..redact import redact
from .models import SaveResult, save_errors
from .wire import API_VERSION, COLLECTION_CHUNK, PERMISSION_CODES, SYSTEM, checked_name, checked_record_id, error_items

COMPOSITE_CHUNK = 25  # Composite: at most 25 subrequests per call
RIDER = "rider"  # the reference id of the sObject Collections subrequest
Rode = list[SaveResult] | ConnectorError | None  # the rider's results, the error it answered, or not sent


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


def update_bodies(sobject: str, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """sObject Collections update items for records (``Id`` and the fields to set; a record may
    name another type with ``"attributes": {"type": ...}``)."""
    checked_name(sobject)
    bodies = []
    for rec in records:
        rid = rec.get("Id") if isinstance(rec, dict) else None
        if not isinstance(rid, str) or not rid:
            raise ValueError("every record to update needs an Id")
        kind = checked_name((rec.get("attributes") or {}).get("type") or sobject)
        bodies.append(
            {"attributes": {"type": kind}, "id": rid, **{k: v for k, v in rec.items() if k not in ("Id", "attributes")}}
        )
    return bodies


def collection_results(answer: Any, sent: list[dict[str, Any]], what: str) -> list[SaveResult]:
    """One SaveResult per item sent, from an sObject Collections answer (``allOrNone: false``)."""
    if not isinstance(answer, list) or len(answer) != len(sent):
        raise UnexpectedResponse(
            SYSTEM, f"Salesforce's answer to a collection {what} does not have one result per record."
        )
    results = []
    for body, item in zip(sent, answer):
        if not isinstance(item, dict):
            raise UnexpectedResponse(SYSTEM, f"A collection {what} result is not an object.")
        success = bool(item.get("success"))
        new_id = item.get("id") or body.get("id")
        results.append(
            SaveResult(
                id=str(new_id) if new_id else None,
                success=success,
                errors=[] if success else save_errors(item.get("errors")),
            )
        )
    return results


def request_body(
    updates: list[ConditionalUpdate], first: int, rider: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The composite request for ``updates`` (reference ids ``u<first>``, ``u<first + 1>``…) and,
    last, the ``rider`` (sObject Collections update items, at most 200) when given."""
    subrequests: list[dict[str, Any]] = [
        {
            "method": "PATCH",
            "referenceId": f"u{first + i}",
            "body": u.values,
            "url": f"/services/data/{API_VERSION}/sobjects/{checked_name(u.sobject)}/{checked_record_id(u.record_id)}",
            "httpHeaders": {"If-Unmodified-Since": http_date(u.since)},
        }
        for i, u in enumerate(updates)
    ]
    if rider:
        if len(rider) > COLLECTION_CHUNK or len(subrequests) >= COMPOSITE_CHUNK:
            raise ValueError("a rider is at most 200 records, in a request with room for it")
        subrequests.append(
            {
                "method": "PATCH",
                "referenceId": RIDER,
                "url": f"/services/data/{API_VERSION}/composite/sobjects",
                "body": {"allOrNone": False, "records": rider},
            }
        )
    return {"allOrNone": False, "compositeRequest": subrequests}


def outcomes(answer: Any, body: dict[str, Any]) -> list[bool | ConnectorError]:
    """Per conditional subrequest of ``body``, in order: True (2xx), False (412), else its error,
    typed as a direct request's would be. An answer without one result per subrequest is
    UnexpectedResponse."""
    out: list[bool | ConnectorError] = []
    for sub, item in _paired(answer, body):
        if sub["referenceId"] != RIDER:
            out.append(_outcome(item, sub["url"]))
    return out


def rider_results(answer: Any, body: dict[str, Any]) -> list[SaveResult] | ConnectorError:
    """The rider's per-record results, or the error its subrequest answered as a whole."""
    for sub, item in _paired(answer, body):
        if sub["referenceId"] == RIDER:
            status = item.get("httpStatusCode")
            if status == 200:
                return collection_results(item.get("body"), sub["body"]["records"], "update")
            failed = _outcome(item, sub["url"])
            return (
                failed
                if isinstance(failed, ConnectorError)
                else UnexpectedResponse(SYSTEM, f"A collection update in a composite request answered HTTP {status}.")
            )
    raise ValueError("the request carried no rider")


def _paired(answer: Any, body: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    items = answer.get("compositeResponse") if isinstance(answer, dict) else None
    subrequests = body["compositeRequest"]
    if not isinstance(items, list) or len(items) != len(subrequests):
        raise UnexpectedResponse(
            SYSTEM, "Salesforce's answer to a composite request does not have one result per subrequest."
        )
    by_ref = {item.get("referenceId"): item for item in items if isinstance(item, dict)}
    pairs = []
    for sub in subrequests:
        item = by_ref.get(sub["referenceId"])
        if item is None:
            raise UnexpectedResponse(SYSTEM, "A composite result names no subrequest of ours.")
        pairs.append((sub, item))
    return pairs


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
