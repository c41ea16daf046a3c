"""The token request itself: requests-oauthlib's session with its HTTP routed through our
:class:`~bigsync_gui.connectors.http.HttpPolicy`, the token set it yields, and the two guards around
oauthlib (its DEBUG records dropped; ``OAUTHLIB_INSECURE_TRANSPORT`` set only for a loopback URL and
only during the call)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests_oauthlib import OAuth2Session

from .. import bigtime_assumptions as A
from ..errors import UnexpectedResponse
from ..http import HttpPolicy, is_loopback
from ..systems import label_of

log = logging.getLogger(__name__)

_INSECURE_ENV = "OAUTHLIB_INSECURE_TRANSPORT"


# ---- logging: requests-oauthlib's DEBUG records carry tokens, bodies and verifiers ------------------------
class _DropDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_oauthlib_logger = logging.getLogger("requests_oauthlib.oauth2_session")
if not any(isinstance(f, _DropDebug) for f in _oauthlib_logger.filters):
    _oauthlib_logger.addFilter(_DropDebug())


# ---- OAUTHLIB_INSECURE_TRANSPORT, for loopback URLs only and only during the call ------------------------
_insecure_lock = threading.Lock()
_insecure_users = 0
_insecure_previous: str | None = None


@contextmanager
def oauthlib_allows(url: str) -> Iterator[None]:
    """Let oauthlib accept ``url`` if (and only if) it is http:// on this computer."""
    global _insecure_users, _insecure_previous
    parts = urlsplit(url)
    if parts.scheme != "http" or not is_loopback(parts.hostname or ""):
        yield
        return
    with _insecure_lock:
        if _insecure_users == 0:
            _insecure_previous = os.environ.get(_INSECURE_ENV)
            os.environ[_INSECURE_ENV] = "1"
        _insecure_users += 1
    try:
        yield
    finally:
        with _insecure_lock:
            _insecure_users -= 1
            if _insecure_users == 0:
                # Emptied, never deleted: requests reads the proxies from os.environ on every request, on
                # other threads, and a key deleted while it iterates raised KeyError there. oauthlib reads
                # an empty value as unset.
                os.environ[_INSECURE_ENV] = _insecure_previous or ""


# ---- tokens --------------------------------------------------------------------------------------------------
@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float | None  # time.time()-based; None when the service gives no expires_in
    raw: dict  # the whole token response (instance_url, id, ...)
    token_body: str | None = None  # the request shape that got it ("json" | "form")

    def __repr__(self) -> str:
        expires = "None" if self.expires_at is None else f"{self.expires_at:.0f}"
        return (
            f"TokenSet(access_token=<hidden>, refresh_token={'<hidden>' if self.refresh_token else None}, "
            f"expires_at={expires}, raw_keys={sorted(self.raw)})"
        )

    __str__ = __repr__


def token_set(raw: dict, started: float, refresh_token: str | None, token_body: str | None = None) -> TokenSet:
    expires_in = raw.get("expires_in")
    expires_at = None
    if expires_in not in (None, ""):
        try:
            expires_at = started + float(expires_in)
        except (TypeError, ValueError):
            expires_at = None
    return TokenSet(
        access_token=str(raw["access_token"]),
        refresh_token=refresh_token,
        expires_at=expires_at,
        raw=dict(raw),
        token_body=token_body,
    )


class PolicySession(OAuth2Session):
    """requests-oauthlib's session whose HTTP goes through the HttpPolicy (one attempt: token
    requests are not idempotent), which sends the token request in each of ``token_bodies`` in
    turn (the next only after HTTP 400/415), and keeps the raw JSON of the last token response."""

    def __init__(
        self, http: HttpPolicy, system: str, token_bodies: tuple[str, ...] = (A.TOKEN_BODY_FORM,), **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._http = http
        self._system = system
        self.token_bodies = token_bodies
        self.token_body: str | None = None  # the shape of the last request that got HTTP 200
        self.last_raw: dict | None = None
        self.on_raw: Callable[[dict, int], None] | None = None
        self.register_compliance_hook("access_token_response", self._check_response)
        self.register_compliance_hook("refresh_token_response", self._check_response)

    def request(
        self,
        method,
        url,
        data=None,
        headers=None,
        withhold_token=False,
        client_id=None,
        client_secret=None,
        files=None,
        **kwargs,
    ):
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        shapes = self.token_bodies if isinstance(data, dict) else (A.TOKEN_BODY_FORM,)
        first = self._send(shapes[0], method, url, data, headers, kwargs)
        if len(shapes) == 1 or first.status_code not in A.TOKEN_BODY_FALLBACK_STATUSES:
            return first
        log.info(
            "%s: the token endpoint answered HTTP %s to a %s body; sending it once as %s",
            self._system,
            first.status_code,
            shapes[0],
            shapes[1],
        )
        second = self._send(shapes[1], method, url, data, headers, kwargs)
        # Both refused: the documented shape's answer explains more, unless the fallback was
        # understood and refused for a reason of its own (400, not 415).
        return first if second.status_code == 415 else second

    def _send(
        self, shape: str, method: str, url: str, data: Any, headers: dict | None, kwargs: dict[str, Any]
    ) -> requests.Response:
        if shape == A.TOKEN_BODY_JSON:
            body = {"json": data, "headers": {**(headers or {}), "Content-Type": "application/json"}}
        else:
            body = {"data": data, **({"headers": headers} if headers else {})}
        response = self._http.request(method, url, idempotent=False, **body, **kwargs)
        if response.status_code == 200:
            self.token_body = shape
        return response

    def _check_response(self, response: requests.Response) -> requests.Response:
        label = label_of(self._system)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise UnexpectedResponse(
                self._system,
                f"{label}'s token endpoint answered HTTP {response.status_code} "
                f"with something that is not a JSON object ({kind}). "
                "Check the login/base URL; if it is right, try again later.",
            )
        self.last_raw = body
        if self.on_raw is not None:
            self.on_raw(body, response.status_code)
        return response
