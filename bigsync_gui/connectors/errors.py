"""Typed errors of the connectors: each tells the engine what to do and the admin what happened.

Connectors import nothing else of ours, so these live here; the engine maps them to tray states.
Messages are sentences for a person and never contain a token, key or password.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar

from .systems import System, label_of


class Transient(Exception):
    """Mixin: a failure that passes by itself (network drop, 5xx, rate limit, a spent allowance):
    the loop waits and tries again, the admin does nothing. ``retry_after``: the seconds the
    service asked for (0: our own backoff decides)."""

    retry_after: float = 0.0


class ConnectorError(Exception):
    """Base: something went wrong talking to ``system`` ("salesforce" or "bigtime"). Each subclass the
    admin can meet names its ``problem_code``: the stable key of its row in core/problems.py, part of
    ``sync --json``'s output, so it is written out, never taken from the class name."""

    problem_code: ClassVar[str]

    def __init__(self, system: str, message: str) -> None:
        super().__init__(message)
        self.system = system
        self.message = message


class ReconnectNeeded(ConnectorError):
    """The stored grant is gone (invalid_grant, revoked key, deactivated user): the admin must
    connect again. Never cured by retrying."""

    problem_code = "ReconnectNeeded"

    def __init__(self, system: str, reason: str) -> None:
        end = "" if reason.endswith((".", "!", "?")) else "."  # one whole sentence, whatever the reason's end
        super().__init__(system, f"{label_of(system)} needs you to sign in again: {reason}{end}")
        self.reason = reason


class NotConnected(ConnectorError):
    """No credentials were ever stored for this system (run `connect`)."""

    problem_code = "NotConnected"


class RateLimited(ConnectorError, Transient):
    """The service asked us to slow down for ``retry_after`` seconds (longer than we wait inline)."""

    problem_code = "RateLimited"

    def __init__(self, system: str, retry_after: float, message: str = "") -> None:
        super().__init__(system, message or f"The service asked to wait {retry_after:.0f} s before the next request.")
        self.retry_after = retry_after


class ApiLimitReached(ConnectorError, Transient):
    """Salesforce's daily API allowance for the org is spent (403 REQUEST_LIMIT_EXCEEDED)."""

    problem_code = "ApiLimitReached"


class Offline(ConnectorError, Transient):
    """The service could not be reached (DNS, refused, timed out, connection dropped) after the
    retries the policy allows. For a create, whether it happened is unknown."""

    problem_code = "Offline"


class ServiceUnavailable(ConnectorError, Transient):
    """The service kept answering 5xx after the retries the policy allows."""

    problem_code = "ServiceUnavailable"

    def __init__(self, system: str, status: int, message: str) -> None:
        super().__init__(system, message)
        self.status = status


class RequestRejected(ConnectorError):
    """The service refused this request (4xx validation, not found...): about this request or
    record only. ``code`` is the service's error code when it gave one."""

    problem_code = "RequestRejected"

    def __init__(self, system: str, status: int, message: str, code: str = "", fields: list[str] | None = None) -> None:
        super().__init__(system, message)
        self.status = status
        self.code = code
        self.fields = fields or []


class PermissionDenied(RequestRejected):
    """The connected user lacks a right (BigTime 405; Salesforce INSUFFICIENT_ACCESS...)."""

    problem_code = "PermissionDenied"


class UnexpectedResponse(ConnectorError):
    """The answer was not what the API documents (not JSON, HTML error page, missing fields)."""

    problem_code = "UnexpectedResponse"


class InsecureUrl(ConnectorError):
    """An http:// URL to a host that is not this machine: refused (tokens would travel in clear)."""

    problem_code = "InsecureUrl"


class AuthorizationFailed(ConnectorError):
    """The sign-in did not complete: denied, state mismatch, bad client id, wrong redirect URI,
    timeout. ``error`` is the OAuth error code when there is one."""

    problem_code = "AuthorizationFailed"

    def __init__(self, system: str, message: str, error: str = "") -> None:
        super().__init__(system, message)
        self.error = error


class WindowExceeded(ConnectorError):
    """Salesforce's ``updated``/``deleted`` asked for a start older than Salesforce keeps (30 / 15
    days), or the server said so (``INVALID_REPLICATION_DATE``). The engine falls back to a full
    reconcile."""

    problem_code = "WindowExceeded"

    def __init__(self, kind: str, days: int, start: datetime | None, message: str = "") -> None:
        since = start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00") if start else ""
        super().__init__(
            System.SALESFORCE,
            message
            or (
                f"Salesforce lists {kind} records for the last {days} days only; the requested start "
                f"{since} is older, so a full comparison is needed."
            ),
        )
        self.kind = kind
        self.days = days
        self.start = start
