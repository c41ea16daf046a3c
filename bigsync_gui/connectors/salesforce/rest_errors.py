"""A REST answer that is not 2xx as the typed error the caller acts on (docs/reference/salesforce.md,
sections 3 and 7): the day's allowance spent, a busy org, a refusal of access, a 5xx, a rejection."""

from __future__ import annotations

import requests

from ..errors import (
    ApiLimitReached,
    ConnectorError,
    PermissionDenied,
    RequestRejected,
    ServiceUnavailable,
    UnexpectedResponse,
)
from ..redact import redact
from .wire import PERMISSION_CODES, SYSTEM, error_items, looks_html


def rest_error(response: requests.Response, where: str) -> ConnectorError:
    """The error for a non-2xx ``response`` to ``where`` (``"GET /services/data/…"``)."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    items = error_items(body) if body is not None else []
    if items:
        message = redact("; ".join(m or c for m, c, _ in items))
        code = items[0][1]
        fields = [f for _, _, fs in items for f in fs]
    elif looks_html(response):
        message = f"Salesforce answered HTTP {status} with a web page instead of an API error ({where})."
        code, fields = "", []
    else:
        text = redact(response.text.strip()[:300])
        message, code, fields = (text or f"Salesforce answered HTTP {status} ({where})."), "", []
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED" and "concurrent" in message.lower():
        # "API Request Limits and Allocations": 25 calls of 20 s or more at once (5 in a Developer org);
        # new ones are refused until fewer run. Not the day's allowance: a later cycle goes through.
        return ServiceUnavailable(
            SYSTEM,
            status,
            f"Salesforce is running too many long requests for this org at once ({message}); "
            "the sync tries again shortly.",
        )
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return ApiLimitReached(
            SYSTEM,
            f"The org's daily Salesforce API allowance is spent ({message}); the sync waits until it resets.",
        )
    if code in PERMISSION_CODES or status == 403:
        return PermissionDenied(SYSTEM, status, f"Salesforce refused access: {message}", code, fields)
    if status >= 500:
        return ServiceUnavailable(SYSTEM, status, f"Salesforce answered HTTP {status} ({where}): {message}")
    if 400 <= status < 500:
        if not items and body is None and looks_html(response):
            return UnexpectedResponse(SYSTEM, message)
        return RequestRejected(SYSTEM, status, message, code, fields)
    return UnexpectedResponse(SYSTEM, f"Salesforce answered HTTP {status} ({where}), which the API does not document.")
