"""After sign-in: the access token kept in memory and refreshed one at a time (a rotated refresh
token stored first), the failures that mean "connect again", and revocation."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from ..errors import RateLimited, ReconnectNeeded, UnexpectedResponse
from ..http import HttpPolicy, require_secure_url
from ..systems import label_of
from .endpoints import OAuthEndpoints
from .session import PolicySession, TokenSet, oauthlib_allows, token_set

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 60.0  # access_token() refreshes when the token expires within this

# Token-endpoint errors that mean the stored grant (or the app registration) is gone for good.
_RECONNECT_ERRORS = frozenset(
    {"invalid_grant", "inactive_user", "inactive_org", "invalid_client", "invalid_client_id", "unauthorized_client"}
)


class TokenRefresher:
    """Holds the access token in memory and refreshes it one at a time across threads."""

    def __init__(
        self,
        endpoints: OAuthEndpoints,
        http: HttpPolicy,
        refresh_token: str,
        on_rotated: Callable[[str], None],
        tokens: TokenSet | None = None,
        on_token_body: Callable[[str], None] | None = None,
        stored: Callable[[], str | None] | None = None,
        shared_lock: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        require_secure_url(endpoints.system, endpoints.token_url)
        self.endpoints = endpoints
        self.http = http
        self._refresh_token = refresh_token
        self._on_rotated = on_rotated
        self._tokens = tokens
        self._lock = threading.Lock()
        self._dead: ReconnectNeeded | None = None
        self._on_token_body = on_token_body  # told the request shape once one works, if it was not known
        # The refresh token as stored now: another holder of the same grant (the tray's sync process,
        # a Settings window) may have rotated it since this one was read, which kills this copy.
        self._stored = stored
        # Held around each refresh by every holder of the grant, across processes: read the stored
        # token, refresh, store the rotated one — so two holders never spend the same refresh token.
        self._shared_lock = shared_lock
        # No scope on refresh: the grant keeps the scopes it was given.
        bodies = (tokens.token_body,) if tokens is not None and tokens.token_body else endpoints.token_bodies
        self._session = PolicySession(http, endpoints.system, bodies, client_id=endpoints.client_id)
        self._session.on_raw = self._rotate_from

    def __repr__(self) -> str:
        return f"TokenRefresher(system={self.endpoints.system!r}, tokens={self._tokens!r})"

    def current(self) -> TokenSet | None:
        return self._tokens

    def _fresh(self, tokens: TokenSet | None) -> bool:
        if tokens is None:
            return False
        return tokens.expires_at is None or tokens.expires_at - time.time() > REFRESH_MARGIN_SECONDS

    def access_token(self) -> str:
        """The access token, refreshed first if there is none yet or it expires within 60 s."""
        tokens = self._tokens
        if self._fresh(tokens):
            return tokens.access_token  # type: ignore[union-attr]
        with self._lock:
            tokens = self._tokens
            if self._fresh(tokens):
                return tokens.access_token  # type: ignore[union-attr]
            return self._refresh_locked().access_token

    def refresh(self, stale_access_token: str | None = None) -> TokenSet:
        """Refresh now. With ``stale_access_token`` (the token a 401 came back for): if another
        thread already replaced it, the current tokens are returned without a request."""
        with self._lock:
            current = self._tokens
            if stale_access_token is not None and current is not None and current.access_token != stale_access_token:
                return current
            return self._refresh_locked()

    def _rotate_from(self, raw: dict, status: int) -> None:
        """Runs as soon as a token response is parsed: a new refresh token is stored first."""
        new = raw.get("refresh_token")
        if status == 200 and isinstance(new, str) and new and new != self._refresh_token:
            self._refresh_token = new
            log.info("%s: the refresh token was rotated; storing the new one", self.endpoints.system)
            self._on_rotated(new)

    def _refresh_locked(self) -> TokenSet:
        if self._dead is not None:
            raise self._dead
        with self._shared_lock() if self._shared_lock is not None else nullcontext():
            stored = self._stored() if self._stored is not None else None
            if stored and stored != self._refresh_token:
                log.info("%s: the refresh token was rotated elsewhere; using the stored one", self.endpoints.system)
                self._refresh_token = stored
            return self._refresh_with_held_token()

    def _refresh_with_held_token(self) -> TokenSet:
        ep = self.endpoints
        started = time.time()
        self._session.last_raw = None
        extra: dict[str, Any] = {"client_id": ep.client_id}
        if ep.client_secret is not None:
            extra["client_secret"] = ep.client_secret
        try:
            self._request_refresh(extra)
        except OAuth2Error as exc:
            stored = self._stored() if self._stored is not None else None
            if exc.error != "invalid_grant" or not stored or stored == self._refresh_token:
                raise self._refresh_failure(exc.error or "", exc.description or "") from None
            # Rotated by another holder of the grant and stored: use that one (once; its failure is final).
            log.info("%s: the refresh token was rotated elsewhere; using the stored one", ep.system)
            self._refresh_token = stored
            self._session.last_raw = None
            try:
                self._request_refresh(extra)
            except OAuth2Error as again:
                raise self._refresh_failure(again.error or "", again.description or "") from None
        raw: dict[str, Any] = self._session.last_raw or {}
        if not raw.get("access_token"):
            raise UnexpectedResponse(
                ep.system, f"{label_of(ep.system)}'s token endpoint answered without an access token."
            )
        shape = self._session.token_body
        self._tokens = token_set(raw, started, self._refresh_token, shape)
        if shape and len(self._session.token_bodies) > 1:
            self._session.token_bodies = (shape,)
            if self._on_token_body is not None:
                self._on_token_body(shape)
        log.info("%s: access token refreshed", ep.system)
        return self._tokens

    def _request_refresh(self, extra: dict[str, Any]) -> None:
        try:
            with oauthlib_allows(self.endpoints.token_url):
                self._session.refresh_token(self.endpoints.token_url, refresh_token=self._refresh_token, **extra)
        except Warning:  # a changed scope is not a failure
            pass

    def _refresh_failure(self, error: str, description: str) -> Exception:
        system = self.endpoints.system
        if error == "rate_limit_exceeded":
            return RateLimited(
                system,
                300.0,
                f"{label_of(system)} refused to renew the sign-in for now: too many "
                "sign-ins. The sync will try again later.",
            )
        if error in _RECONNECT_ERRORS:
            if error == "invalid_grant":
                if "authentication failure" in description.lower():
                    reason = "the connected user's password changed or the user was deactivated."
                else:
                    reason = (
                        "the saved sign-in was revoked, expired or replaced (for example an administrator "
                        "revoked the app's access)."
                    )
            elif error == "inactive_user":
                reason = "the connected user is deactivated."
            elif error == "inactive_org":
                reason = "the organisation is inactive."
            else:
                key = "consumer key" if system == "salesforce" else "client id or secret"
                reason = (
                    f"the app's {key} is no longer accepted (the app registration may have been changed or deleted)."
                )
            self._dead = ReconnectNeeded(system, reason)
            return self._dead
        detail = f" ({description})" if description else ""
        return UnexpectedResponse(
            system, f"{label_of(system)} refused to renew the sign-in: {error or 'unknown error'}{detail}."
        )


def revoke(endpoints: OAuthEndpoints, http: HttpPolicy, token: str) -> bool:
    """Revoke a refresh (or access) token. True on 200; False when there is no revocation endpoint
    or the service says the token is not valid (already gone); network errors propagate."""
    if not endpoints.revoke_url:
        return False
    response = http.request("POST", endpoints.revoke_url, idempotent=False, data={"token": token})
    if response.status_code == 200:
        return True
    try:
        error = response.json().get("error", "")
    except (ValueError, AttributeError):
        error = ""
    if response.status_code in (400, 401) and error in ("invalid_token", "unsupported_token_type", "invalid_request"):
        return False
    raise UnexpectedResponse(
        endpoints.system,
        f"{label_of(endpoints.system)} answered HTTP "
        f"{response.status_code} to the revocation request" + (f" ({error})." if error else "."),
    )
