"""One sign-in attempt: the authorization URL (PKCE and ``state``), the redirect checked against
it, the failure a browser's error page means, and the code exchanged for tokens."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
import weakref
from typing import Any
from urllib.parse import parse_qs, urlsplit

from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from .. import bigtime_assumptions as A
from ..errors import AuthorizationFailed, UnexpectedResponse
from ..http import HttpPolicy, require_secure_url
from ..systems import label_of
from ..wording import duration
from .endpoints import OAuthEndpoints
from .messages import authorize_error_sentence, invalid_client_sentence
from .session import PolicySession, TokenSet, oauthlib_allows, token_set

log = logging.getLogger(__name__)

# path) that may still take such a redirect. A newer attempt on the same address replaces it; taking a
# code removes it. Weak values: an abandoned attempt is forgotten with its object.
_stateless_lock = threading.Lock()
_stateless_pending: weakref.WeakValueDictionary[tuple[str, str, int | None, str], AuthorizationAttempt] = (
    weakref.WeakValueDictionary()
)


class AuthorizationAttempt:
    """One sign-in attempt: PKCE verifier + random state; used by the GUI's embedded browser and
    by the CLI's loopback flow."""

    def __init__(self, endpoints: OAuthEndpoints, http: HttpPolicy, *, prompt: str | None = None) -> None:
        require_secure_url(endpoints.system, endpoints.authorize_url)
        require_secure_url(endpoints.system, endpoints.token_url)
        self.endpoints = endpoints
        self.http = http
        self.state = secrets.token_urlsafe(32)
        self._started = time.monotonic()
        if not endpoints.state_required:
            with _stateless_lock:
                _stateless_pending[_parts(endpoints.redirect_uri)] = self
        self._session = PolicySession(
            http,
            endpoints.system,
            endpoints.token_bodies,
            client_id=endpoints.client_id,
            redirect_uri=endpoints.redirect_uri,
            scope=list(endpoints.scope) or None,
            state=self.state,
            pkce="S256" if endpoints.pkce else None,
        )
        extra = {"prompt": prompt} if prompt else {}
        with oauthlib_allows(endpoints.authorize_url):
            self._authorization_url, _ = self._session.authorization_url(
                endpoints.authorize_url, state=self.state, **extra
            )

    @property
    def authorization_url(self) -> str:
        return self._authorization_url

    def __repr__(self) -> str:
        return f"AuthorizationAttempt(system={self.endpoints.system!r}, redirect_uri={self.endpoints.redirect_uri!r})"

    # -- the redirect ------------------------------------------------------------------------------------------
    def is_redirect(self, url: str) -> bool:
        """Exact scheme + host + port + path match with the redirect URI (query ignored)."""
        return _same_endpoint(url, self.endpoints.redirect_uri)

    def code_from_redirect(self, url: str) -> str:
        system = self.endpoints.system
        if not self.is_redirect(url):
            raise AuthorizationFailed(
                system, "The sign-in ended at an address BigSync did not expect; try again.", error="wrong_redirect"
            )
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        states = query.get("state", [])
        error = (query.get("error") or [""])[0]
        mismatch = AuthorizationFailed(
            system,
            "The sign-in answer did not match this attempt (it may come from an "
            "older or another sign-in); please try again.",
            error="state_mismatch",
        )
        if states and (len(set(states)) != 1 or not hmac.compare_digest(states[0], self.state)):
            raise mismatch
        if error:
            # An error without state is reported as the error: nothing is accepted from it.
            description = (query.get("error_description") or [""])[0]
            code = "access_denied" if error in ("access_denied", "access-denied") else error
            raise AuthorizationFailed(system, authorize_error_sentence(system, error, description), error=code)
        if not states and self.endpoints.state_required:
            raise mismatch
        code = (query.get("code") or [""])[0]
        if not code:
            raise AuthorizationFailed(
                system, f"{label_of(system)} sent the sign-in back without a code; try again.", error="missing_code"
            )
        if not states:
            self._claim_without_state()
        return code

    def _claim_without_state(self) -> None:
        """A redirect without state is only taken by the pending attempt on its address, once, and
        within ``STATELESS_REDIRECT_MAX_SECONDS`` of the attempt's start (docs/security.md)."""
        system = self.endpoints.system
        key = _parts(self.endpoints.redirect_uri)
        with _stateless_lock:
            if _stateless_pending.get(key) is not self:
                raise AuthorizationFailed(
                    system,
                    "This sign-in answer may belong to another or an older sign-in "
                    "(a newer one was started, or this one already finished); please "
                    "start again.",
                    error="not_pending",
                )
            del _stateless_pending[key]
        if time.monotonic() - self._started > A.STATELESS_REDIRECT_MAX_SECONDS:
            took = duration(A.STATELESS_REDIRECT_MAX_SECONDS)
            raise AuthorizationFailed(
                system,
                f"The sign-in took longer than {took}, so BigSync no longer accepts its answer; please start again.",
                error="expired",
            )

    def failure_from_page(self, url: str, text: str = "", status: int = 200) -> AuthorizationFailed | None:
        """For a page the browser shows instead of redirecting (an error page): the failure to tell
        the user, or None if it does not look like an OAuth error page."""
        system = self.endpoints.system
        match = re.search(r"[?&]error=([\w-]+)", url) or re.search(r"\berror=([\w-]+)", text)
        if match:
            error = match.group(1)
            if error == "redirect_uri_mismatch":
                return AuthorizationFailed(system, self._redirect_mismatch_sentence(), error=error)
            return AuthorizationFailed(system, authorize_error_sentence(system, error), error=error)
        if status >= 400:
            key = "consumer key" if system == "salesforce" else "client id"
            return AuthorizationFailed(
                system,
                f"{label_of(system)}'s sign-in page refused the request (HTTP {status}). "
                f"Check the {key}, and that exactly {self.endpoints.redirect_uri} is registered as the "
                "callback URL.",
                error="authorize_refused",
            )
        return None

    def preflight(self) -> None:
        """Load the authorization URL once (no redirect followed) and raise the failure a browser
        would show as an error page: lets the CLI say "unknown consumer key" in the terminal."""
        response = self.http.request("GET", self.authorization_url, allow_redirects=False)
        location = response.headers.get("Location", "")
        if response.is_redirect and location:
            if self.is_redirect(location):
                if "error=" in urlsplit(location).query:
                    self.code_from_redirect(location)  # raises the error it carries
                return
            failure = self.failure_from_page(location, "", 200)
        else:
            failure = self.failure_from_page(
                response.url or self.authorization_url, response.text, response.status_code
            )
        if failure is not None:
            raise failure

    def _redirect_mismatch_sentence(self) -> str:
        return (
            f"{label_of(self.endpoints.system)} does not accept the redirect address — register exactly "
            f"{self.endpoints.redirect_uri} as the callback URL of the app."
        )

    # -- the token exchange ------------------------------------------------------------------------------------
    def exchange(self, code: str) -> TokenSet:
        """POST the code (+ verifier, redirect_uri, client_id, client_secret if any) to the token URL."""
        ep = self.endpoints
        started = time.time()
        self._session.last_raw = None
        try:
            with oauthlib_allows(ep.token_url):
                self._session.fetch_token(
                    ep.token_url, code=code, include_client_id=True, client_secret=ep.client_secret
                )
        except OAuth2Error as exc:
            raise self._exchange_failure(exc.error or "", exc.description or "") from None
        except Warning:  # oauthlib: "Scope has changed" — the service granted other scopes; accept them
            pass
        raw: dict[str, Any] = self._session.last_raw or {}
        if not raw.get("access_token"):
            raise UnexpectedResponse(
                ep.system, f"{label_of(ep.system)}'s token endpoint answered without an access token."
            )
        tokens = token_set(raw, started, raw.get("refresh_token"), self._session.token_body)
        log.info(
            "%s: signed in (token response fields: %s; %s body)",
            ep.system,
            ", ".join(sorted(raw)),
            self._session.token_body,
        )
        return tokens

    def _exchange_failure(self, error: str, description: str) -> AuthorizationFailed:
        system = self.endpoints.system
        label = label_of(system)
        detail = f" ({description})" if description else ""
        if error in ("invalid_client_id", "invalid_client", "unauthorized_client"):
            message = invalid_client_sentence(system)
        elif error == "invalid_grant":
            message = (
                f"{label} refused the sign-in code{detail}: it expired, was already used, or does not belong to "
                "this attempt. Start the sign-in again."
            )
        elif error == "redirect_uri_mismatch":
            message = self._redirect_mismatch_sentence()
        elif error == "unsupported_grant_type":
            message = f"{label} does not allow this app to sign in with a code{detail}. Check the app's OAuth settings."
        else:
            message = f"{label} refused to finish the sign-in: {error or 'unknown error'}{detail}. Try again."
        return AuthorizationFailed(system, message, error=error)


def _parts(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return ("", "", None, "")
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme)
    return (scheme, (parts.hostname or "").lower(), port, parts.path)


def _same_endpoint(url: str, redirect_uri: str) -> bool:
    got, want = _parts(url), _parts(redirect_uri)
    return bool(got[0]) and bool(got[1]) and got == want
