"""OAuth 2.0 for both services: the authorization-code flow with PKCE and ``state``, the token
exchange, one-at-a-time refresh with rotation, revocation, and the RFC 8252 loopback listener.

- The mechanics (PKCE verifier/challenge, authorization URL, token request bodies, token
  response parsing) are requests-oauthlib's ``OAuth2Session``. Its HTTP calls are routed through
  our :class:`~bigsync_gui.connectors.http.HttpPolicy` (timeouts, counting, https-only outside
  this computer, typed transient errors): a token request is never retried blindly, because an
  authorization code is single use and a rotated refresh token dies on first use.
- ``OAUTHLIB_INSECURE_TRANSPORT``: oauthlib refuses ``http://`` URLs unless that environment
  variable is set. The sandbox is plain http on 127.0.0.1, so the variable is set **only for the
  duration of an oauthlib call whose URL is http:// on a loopback host**, then restored (a
  reference count keeps concurrent calls correct). Every URL also goes through
  :func:`require_secure_url` first, which refuses http:// for any other host, so even while the
  variable is set no token can travel in clear to another machine.
- Tokens never appear in exception messages, reprs or logs: requests-oauthlib logs request
  bodies and tokens at DEBUG level, so its DEBUG records are dropped by a filter on its logger.
- ``state``: Salesforce echoes it and it is required. BigTime documents a redirect without it, so
  there a missing ``state`` is accepted for the one pending attempt on its exact redirect address,
  once and within minutes; a *mismatched* one is always refused (docs/security.md says why).
- The token request body: a form for Salesforce; for BigTime the shapes in
  ``bigtime_assumptions.TOKEN_BODY_ORDER``, the next one tried once on HTTP 400/415, and the one
  that worked kept (``TokenSet.token_body``) so a profile uses it alone from then on.
- No Qt and nothing of ours outside ``connectors`` is imported here.
"""

from __future__ import annotations

import hmac
import html
import logging
import os
import re
import secrets
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from oauthlib.oauth2.rfc6749.errors import OAuth2Error
from requests_oauthlib import OAuth2Session

from . import bigtime_assumptions as A
from .errors import AuthorizationFailed, RateLimited, ReconnectNeeded, UnexpectedResponse
from .http import HttpPolicy, is_loopback, require_secure_url
from .redirects import BIGTIME_DEFAULT_REDIRECT_URI, SALESFORCE_DEFAULT_REDIRECT_URI  # noqa: F401 - re-exported

log = logging.getLogger(__name__)

SALESFORCE_LOGIN_URLS = {"production": "https://login.salesforce.com", "sandbox": "https://test.salesforce.com"}
SALESFORCE_SCOPE = ("api", "refresh_token")
REFRESH_MARGIN_SECONDS = 60.0  # access_token() refreshes when the token expires within this

# Token-endpoint errors that mean the stored grant (or the app registration) is gone for good.
_RECONNECT_ERRORS = frozenset({"invalid_grant", "inactive_user", "inactive_org", "invalid_client",
                               "invalid_client_id", "unauthorized_client"})
_INSECURE_ENV = "OAUTHLIB_INSECURE_TRANSPORT"


def _label(system: str) -> str:
    return "Salesforce" if system == "salesforce" else "BigTime"


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
def _oauthlib_allows(url: str) -> Iterator[None]:
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
                if _insecure_previous is None:
                    os.environ.pop(_INSECURE_ENV, None)
                else:
                    os.environ[_INSECURE_ENV] = _insecure_previous


# ---- endpoints ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OAuthEndpoints:
    system: str                       # "salesforce" | "bigtime"
    authorize_url: str
    token_url: str
    client_id: str
    redirect_uri: str
    client_secret: str | None = field(default=None, repr=False)  # BigTime: in the token request body
    revoke_url: str | None = None
    scope: tuple[str, ...] = ()       # Salesforce: ("api", "refresh_token")
    pkce: bool = True                 # send an S256 code_challenge
    state_required: bool = True       # False: a redirect without state is accepted (see code_from_redirect)
    token_bodies: tuple[str, ...] = (A.TOKEN_BODY_FORM,)  # token request shapes to try, in order


def salesforce_endpoints(login_url: str, consumer_key: str,
                         redirect_uri: str = SALESFORCE_DEFAULT_REDIRECT_URI) -> OAuthEndpoints:
    """Endpoints under a login host: login.salesforce.com, test.salesforce.com or a My Domain."""
    base = login_url.strip().rstrip("/")
    return OAuthEndpoints(
        system="salesforce",
        authorize_url=base + "/services/oauth2/authorize",
        token_url=base + "/services/oauth2/token",
        client_id=consumer_key.strip(),
        redirect_uri=redirect_uri,
        revoke_url=base + "/services/oauth2/revoke",
        scope=SALESFORCE_SCOPE,
    )


def bigtime_endpoints(base_url: str, client_id: str, client_secret: str,
                      redirect_uri: str = BIGTIME_DEFAULT_REDIRECT_URI, token_body: str | None = None) -> OAuthEndpoints:
    """Endpoints under the API base (``https://iq.bigtime.net/BigtimeData/api/v2``). BigTime
    documents no revocation endpoint, so ``revoke_url`` is None. ``token_body``: the token request
    shape a profile already knows works (``"json"``/``"form"``); None tries them in order."""
    if token_body is not None and token_body not in A.TOKEN_BODY_ORDER:
        raise ValueError(f"token_body must be one of {A.TOKEN_BODY_ORDER}")
    base = base_url.strip().rstrip("/")
    return OAuthEndpoints(
        system="bigtime",
        authorize_url=base + A.AUTHORIZE_PATH,
        token_url=base + A.TOKEN_PATH,
        client_id=client_id.strip(),
        redirect_uri=redirect_uri,
        client_secret=client_secret,
        revoke_url=None,
        scope=(),
        state_required=A.REDIRECT_REQUIRES_STATE,
        token_bodies=(token_body,) if token_body else A.TOKEN_BODY_ORDER,
    )


_MY_DOMAIN_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def normalise_my_domain(text: str) -> str:
    """A My Domain as the admin types or pastes it → ``https://NAME.my.salesforce.com``.

    Accepts the bare name (``acme``; ``acme--uat`` is a sandbox: ``acme--uat.sandbox.my.salesforce.com``),
    the host, or an address copied from the browser (scheme, path and query are dropped;
    ``*.lightning.force.com`` and ``*.my.salesforce-setup.com`` map to their My Domain).
    Anything else is a ValueError with a sentence saying what to enter.
    """
    original = text
    value = (text or "").strip().lower()
    hint = ("Enter your org's My Domain: its name (for example acme) or its address "
            "(https://acme.my.salesforce.com), as shown in Setup › My Domain.")
    if not value:
        raise ValueError("The My Domain is empty. " + hint)
    if "://" in value:
        scheme, _, rest = value.partition("://")
        if scheme not in ("https", "http"):
            raise ValueError(f"{original.strip()!r} is not a web address. " + hint)
        value = rest
    host = re.split(r"[/?#]", value, maxsplit=1)[0]
    if "@" in host or ":" in host:
        raise ValueError(f"{original.strip()!r} is not a My Domain address. " + hint)
    host = host.rstrip(".")
    for suffix, replacement in ((".lightning.force.com", ".my.salesforce.com"),
                                (".my.salesforce-setup.com", ".my.salesforce.com")):
        if host.endswith(suffix):
            host = host[: -len(suffix)] + replacement
    if "." not in host:
        if not _MY_DOMAIN_NAME.fullmatch(host):
            raise ValueError(f"{original.strip()!r} is not a My Domain name (letters, digits and hyphens only). " + hint)
        host += ".sandbox.my.salesforce.com" if "--" in host else ".my.salesforce.com"
    if host in ("login.salesforce.com", "test.salesforce.com"):
        raise ValueError(f"{host} is Salesforce's general login, not a My Domain: choose "
                         f"{'Production' if host.startswith('login') else 'Sandbox'} instead.")
    match = re.fullmatch(r"([a-z0-9-]+)(\.sandbox)?\.my\.salesforce\.com", host)
    if not match or not _MY_DOMAIN_NAME.fullmatch(match.group(1)):
        raise ValueError(f"{original.strip()!r} is not a My Domain address (it should end in .my.salesforce.com). " + hint)
    return "https://" + host


# ---- tokens --------------------------------------------------------------------------------------------------
@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float | None          # time.time()-based; None when the service gives no expires_in
    raw: dict                         # the whole token response (instance_url, id, ...)
    token_body: str | None = None     # the request shape that got it ("json" | "form")

    def __repr__(self) -> str:
        expires = "None" if self.expires_at is None else f"{self.expires_at:.0f}"
        return (f"TokenSet(access_token=<hidden>, refresh_token={'<hidden>' if self.refresh_token else None}, "
                f"expires_at={expires}, raw_keys={sorted(self.raw)})")

    __str__ = __repr__


def _token_set(raw: dict, started: float, refresh_token: str | None, token_body: str | None = None) -> TokenSet:
    expires_in = raw.get("expires_in")
    expires_at = None
    if expires_in not in (None, ""):
        try:
            expires_at = started + float(expires_in)
        except (TypeError, ValueError):
            expires_at = None
    return TokenSet(access_token=str(raw["access_token"]), refresh_token=refresh_token, expires_at=expires_at,
                    raw=dict(raw), token_body=token_body)


class _PolicySession(OAuth2Session):
    """requests-oauthlib's session whose HTTP goes through the HttpPolicy (one attempt: token
    requests are not idempotent), which sends the token request in each of ``token_bodies`` in
    turn (the next only after HTTP 400/415), and keeps the raw JSON of the last token response."""

    def __init__(self, http: HttpPolicy, system: str, token_bodies: tuple[str, ...] = (A.TOKEN_BODY_FORM,),
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._http = http
        self._system = system
        self.token_bodies = token_bodies
        self.token_body: str | None = None  # the shape of the last request that got HTTP 200
        self.last_raw: dict | None = None
        self.on_raw: Callable[[dict, int], None] | None = None
        self.register_compliance_hook("access_token_response", self._check_response)
        self.register_compliance_hook("refresh_token_response", self._check_response)

    def request(self, method, url, data=None, headers=None, withhold_token=False, client_id=None,  # type: ignore[override]
                client_secret=None, files=None, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        shapes = self.token_bodies if isinstance(data, dict) else (A.TOKEN_BODY_FORM,)
        first = self._send(shapes[0], method, url, data, headers, kwargs)
        if len(shapes) == 1 or first.status_code not in A.TOKEN_BODY_FALLBACK_STATUSES:
            return first
        log.info("%s: the token endpoint answered HTTP %s to a %s body; sending it once as %s",
                 self._system, first.status_code, shapes[0], shapes[1])
        second = self._send(shapes[1], method, url, data, headers, kwargs)
        # Both refused: the documented shape's answer explains more, unless the fallback was
        # understood and refused for a reason of its own (400, not 415).
        return first if second.status_code == 415 else second

    def _send(self, shape: str, method: str, url: str, data: Any, headers: dict | None,
              kwargs: dict[str, Any]) -> requests.Response:
        if shape == A.TOKEN_BODY_JSON:
            body = {"json": data, "headers": {**(headers or {}), "Content-Type": "application/json"}}
        else:
            body = {"data": data, **({"headers": headers} if headers else {})}
        response = self._http.request(method, url, idempotent=False, **body, **kwargs)
        if response.status_code == 200:
            self.token_body = shape
        return response

    def _check_response(self, response: requests.Response) -> requests.Response:
        label = _label(self._system)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise UnexpectedResponse(self._system, f"{label}'s token endpoint answered HTTP {response.status_code} "
                                                   f"with something that is not a JSON object ({kind}). "
                                                   "Check the login/base URL; if it is right, try again later.")
        self.last_raw = body
        if self.on_raw is not None:
            self.on_raw(body, response.status_code)
        return response


def _authorize_error_sentence(system: str, error: str, description: str = "") -> str:
    label = _label(system)
    detail = f" ({description})" if description else ""
    if error in ("access_denied", "access-denied"):
        return (f"You clicked Deny, so {label} did not give BigSync access. "
                "Start the sign-in again and click Allow to connect.")
    if error in ("invalid_client_id", "invalid_client"):
        return _invalid_client_sentence(system)
    if error == "redirect_uri_mismatch":
        return f"{label} does not accept the redirect address BigSync uses{detail}."
    if error == "invalid_scope":
        return f"{label} refused the permissions BigSync asks for{detail}. Check the app's OAuth scopes."
    if error in ("server_error", "temporarily_unavailable"):
        return f"{label} could not complete the sign-in right now{detail}. Try again in a few minutes."
    return f"{label} did not complete the sign-in: {error}{detail}. Try again."


def _invalid_client_sentence(system: str) -> str:
    if system == "salesforce":
        return ("The consumer key is not known to Salesforce — check that you copied the Consumer Key of your "
                "External Client App (or Connected App) exactly, and that you chose the right environment.")
    return ("The client id or client secret is not known to BigTime — check both values of the app registered "
            "in BigTime (My Company › Integrations) and the BigTime address.")


# ---- one sign-in attempt -----------------------------------------------------------------------------------
# Where the service may redirect without state: the one attempt per redirect address (scheme, host, port,
# path) that may still take such a redirect. A newer attempt on the same address replaces it; taking a
# code removes it. Weak values: an abandoned attempt is forgotten with its object.
_stateless_lock = threading.Lock()
_stateless_pending: weakref.WeakValueDictionary[tuple[str, str, int | None, str], AuthorizationAttempt] = \
    weakref.WeakValueDictionary()


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
        self._session = _PolicySession(
            http, endpoints.system, endpoints.token_bodies, client_id=endpoints.client_id, redirect_uri=endpoints.redirect_uri,
            scope=list(endpoints.scope) or None, state=self.state, pkce="S256" if endpoints.pkce else None)
        extra = {"prompt": prompt} if prompt else {}
        with _oauthlib_allows(endpoints.authorize_url):
            self._authorization_url, _ = self._session.authorization_url(endpoints.authorize_url, state=self.state,
                                                                         **extra)

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
            raise AuthorizationFailed(system, "The sign-in ended at an address BigSync did not expect; try again.",
                                      error="wrong_redirect")
        query = parse_qs(urlsplit(url).query, keep_blank_values=True)
        states = query.get("state", [])
        error = (query.get("error") or [""])[0]
        mismatch = AuthorizationFailed(system, "The sign-in answer did not match this attempt (it may come from an "
                                               "older or another sign-in); please try again.", error="state_mismatch")
        if states and (len(set(states)) != 1 or not hmac.compare_digest(states[0], self.state)):
            raise mismatch
        if error:
            # An error without state is reported as the error: nothing is accepted from it.
            description = (query.get("error_description") or [""])[0]
            code = "access_denied" if error in ("access_denied", "access-denied") else error
            raise AuthorizationFailed(system, _authorize_error_sentence(system, error, description), error=code)
        if not states and self.endpoints.state_required:
            raise mismatch
        code = (query.get("code") or [""])[0]
        if not code:
            raise AuthorizationFailed(system, f"{_label(system)} sent the sign-in back without a code; try again.",
                                      error="missing_code")
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
                raise AuthorizationFailed(system, "This sign-in answer may belong to another or an older sign-in (a newer "
                                                  "one was started, or this one already finished); please start again.",
                                          error="not_pending")
            del _stateless_pending[key]
        if time.monotonic() - self._started > A.STATELESS_REDIRECT_MAX_SECONDS:
            raise AuthorizationFailed(system, f"The sign-in took longer than {_duration(A.STATELESS_REDIRECT_MAX_SECONDS)}, "
                                              "so BigSync no longer accepts its answer; please start again.",
                                      error="expired")

    def failure_from_page(self, url: str, text: str = "", status: int = 200) -> AuthorizationFailed | None:
        """For a page the browser shows instead of redirecting (an error page): the failure to tell
        the user, or None if it does not look like an OAuth error page."""
        system = self.endpoints.system
        match = re.search(r"[?&]error=([\w-]+)", url) or re.search(r"\berror=([\w-]+)", text)
        if match:
            error = match.group(1)
            if error == "redirect_uri_mismatch":
                return AuthorizationFailed(system, self._redirect_mismatch_sentence(), error=error)
            return AuthorizationFailed(system, _authorize_error_sentence(system, error), error=error)
        if status >= 400:
            key = "consumer key" if system == "salesforce" else "client id"
            return AuthorizationFailed(
                system, f"{_label(system)}'s sign-in page refused the request (HTTP {status}). Check the {key}, and "
                        f"that exactly {self.endpoints.redirect_uri} is registered as the callback URL.",
                error="authorize_refused")
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
            failure = self.failure_from_page(response.url or self.authorization_url, response.text, response.status_code)
        if failure is not None:
            raise failure

    def _redirect_mismatch_sentence(self) -> str:
        return (f"{_label(self.endpoints.system)} does not accept the redirect address — register exactly "
                f"{self.endpoints.redirect_uri} as the callback URL of the app.")

    # -- the token exchange ------------------------------------------------------------------------------------
    def exchange(self, code: str) -> TokenSet:
        """POST the code (+ verifier, redirect_uri, client_id, client_secret if any) to the token URL."""
        ep = self.endpoints
        started = time.time()
        self._session.last_raw = None
        try:
            with _oauthlib_allows(ep.token_url):
                self._session.fetch_token(ep.token_url, code=code, include_client_id=True,
                                          client_secret=ep.client_secret)
        except OAuth2Error as exc:
            raise self._exchange_failure(exc.error or "", exc.description or "") from None
        except Warning:  # oauthlib: "Scope has changed" — the service granted other scopes; accept them
            pass
        raw = self._session.last_raw or {}
        if not raw.get("access_token"):
            raise UnexpectedResponse(ep.system, f"{_label(ep.system)}'s token endpoint answered without an access token.")
        tokens = _token_set(raw, started, raw.get("refresh_token"), self._session.token_body)
        log.info("%s: signed in (token response fields: %s; %s body)", ep.system, ", ".join(sorted(raw)),
                 self._session.token_body)
        return tokens

    def _exchange_failure(self, error: str, description: str) -> AuthorizationFailed:
        system = self.endpoints.system
        label = _label(system)
        detail = f" ({description})" if description else ""
        if error in ("invalid_client_id", "invalid_client", "unauthorized_client"):
            message = _invalid_client_sentence(system)
        elif error == "invalid_grant":
            message = (f"{label} refused the sign-in code{detail}: it expired, was already used, or does not belong to "
                       "this attempt. Start the sign-in again.")
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


# ---- refresh -----------------------------------------------------------------------------------------------
class TokenRefresher:
    """Holds the access token in memory and refreshes it one at a time across threads."""

    def __init__(self, endpoints: OAuthEndpoints, http: HttpPolicy, refresh_token: str,
                 on_rotated: Callable[[str], None], tokens: TokenSet | None = None,
                 on_token_body: Callable[[str], None] | None = None) -> None:
        require_secure_url(endpoints.system, endpoints.token_url)
        self.endpoints = endpoints
        self.http = http
        self._refresh_token = refresh_token
        self._on_rotated = on_rotated
        self._tokens = tokens
        self._lock = threading.Lock()
        self._dead: ReconnectNeeded | None = None
        self._on_token_body = on_token_body  # told the request shape once one works, if it was not known
        # No scope on refresh: the grant keeps the scopes it was given.
        bodies = (tokens.token_body,) if tokens is not None and tokens.token_body else endpoints.token_bodies
        self._session = _PolicySession(http, endpoints.system, bodies, client_id=endpoints.client_id)
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
        ep = self.endpoints
        started = time.time()
        self._session.last_raw = None
        extra: dict[str, Any] = {"client_id": ep.client_id}
        if ep.client_secret is not None:
            extra["client_secret"] = ep.client_secret
        try:
            with _oauthlib_allows(ep.token_url):
                self._session.refresh_token(ep.token_url, refresh_token=self._refresh_token, **extra)
        except OAuth2Error as exc:
            raise self._refresh_failure(exc.error or "", exc.description or "") from None
        except Warning:  # a changed scope is not a failure
            pass
        raw = self._session.last_raw or {}
        if not raw.get("access_token"):
            raise UnexpectedResponse(ep.system, f"{_label(ep.system)}'s token endpoint answered without an access token.")
        shape = self._session.token_body
        self._tokens = _token_set(raw, started, self._refresh_token, shape)
        if shape and len(self._session.token_bodies) > 1:
            self._session.token_bodies = (shape,)
            if self._on_token_body is not None:
                self._on_token_body(shape)
        log.info("%s: access token refreshed", ep.system)
        return self._tokens

    def _refresh_failure(self, error: str, description: str) -> Exception:
        system = self.endpoints.system
        if error == "rate_limit_exceeded":
            return RateLimited(system, 300.0, f"{_label(system)} refused to renew the sign-in for now: too many "
                                              "sign-ins. The sync will try again later.")
        if error in _RECONNECT_ERRORS:
            if error == "invalid_grant":
                if "authentication failure" in description.lower():
                    reason = "the connected user's password changed or the user was deactivated."
                else:
                    reason = ("the saved sign-in was revoked, expired or replaced (for example an administrator "
                              "revoked the app's access).")
            elif error == "inactive_user":
                reason = "the connected user is deactivated."
            elif error == "inactive_org":
                reason = "the organisation is inactive."
            else:
                key = "consumer key" if system == "salesforce" else "client id or secret"
                reason = f"the app's {key} is no longer accepted (the app registration may have been changed or deleted)."
            self._dead = ReconnectNeeded(system, reason)
            return self._dead
        detail = f" ({description})" if description else ""
        return UnexpectedResponse(system, f"{_label(system)} refused to renew the sign-in: {error or 'unknown error'}{detail}.")


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
    raise UnexpectedResponse(endpoints.system, f"{_label(endpoints.system)} answered HTTP {response.status_code} to the "
                                               "revocation request" + (f" ({error})." if error else "."))


# ---- loopback redirect (RFC 8252) -------------------------------------------------------------------------
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:3em auto;max-width:36em;color:#222}}
h1{{font-size:1.4em}} .err{{color:#a00}}</style></head>
<body><h1>{title}</h1><p{cls}>{text}</p><p>You can close this tab and return to BigSync.</p></body></html>"""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # POSIX: SO_REUSEADDR lets a new sign-in bind right after the last one (TIME_WAIT) but never
    # lets two listeners share the port. On Windows it would allow exactly that, so use
    # SO_EXCLUSIVEADDRUSE there instead.
    allow_reuse_address = sys.platform != "win32"

    def server_bind(self) -> None:
        if sys.platform == "win32" and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)  # type: ignore[attr-defined]
        super().server_bind()


class _Server6(_Server):
    address_family = socket.AF_INET6


class LoopbackListener:
    """RFC 8252 loopback redirect catcher on 127.0.0.1 and the redirect URI's port.

    Extensions to the brief's signature (keyword-only, optional): ``system`` names the service in
    the errors raised; ``state``, when given, makes requests on the redirect path that carry
    another state get an error page and be ignored (a stray or hostile request cannot end the
    wait)."""

    def __init__(self, redirect_uri: str, *, system: str = "", state: str | None = None) -> None:
        parts = urlsplit(redirect_uri)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme != "http" or not is_loopback(parts.hostname or "") or not port:
            raise ValueError(f"{redirect_uri} is not a loopback redirect URI (http://localhost:PORT/path or "
                             "http://127.0.0.1:PORT/path)")
        self.redirect_uri = redirect_uri
        self.system = system
        self.port = port
        self._host = parts.hostname or ""
        self._path = parts.path or "/"
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._state = state
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._result: str | None = None
        self._got = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._servers:
            return
        handler = self._handler_class()
        try:
            if self._host in ("::1", "[::1]"):
                self._servers.append(_Server6(("::1", self.port), handler))
            else:
                self._servers.append(_Server(("127.0.0.1", self.port), handler))
                if self._host == "localhost" and socket.has_ipv6:
                    # Browsers may resolve localhost to ::1 first: listen there too, so nothing else can.
                    try:
                        self._servers.append(_Server6(("::1", self.port), handler))
                    except OSError as exc:
                        if _in_use(exc):
                            raise
        except OSError as exc:
            self.close()
            if _in_use(exc):
                raise AuthorizationFailed(
                    self.system, f"Port {self.port} on this computer is already in use, so BigSync cannot receive "
                                 "the sign-in answer. Another sign-in may still be running (finish or close it) or "
                                 "another program uses that port.", error="port_in_use") from None
            raise AuthorizationFailed(self.system, f"Could not listen on port {self.port} for the sign-in answer "
                                                   f"({exc.strerror or exc}).", error="listen_failed") from None
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                      name=f"oauth-loopback-{self.port}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> LoopbackListener:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- waiting -----------------------------------------------------------------------------------------------
    def wait(self, timeout: float, cancel: threading.Event | None = None) -> str:
        """The full redirect URL, e.g. ``http://localhost:7171/OauthRedirect?code=..&state=..``."""
        deadline = time.monotonic() + timeout
        while True:
            if cancel is not None and cancel.is_set():
                raise AuthorizationFailed(self.system, "The sign-in was cancelled.", error="cancelled")
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self._got.wait(min(left, 0.1)):
                assert self._result is not None
                return self._result
        raise AuthorizationFailed(self.system, f"No answer came from the browser within {_duration(timeout)}. "
                                               "Finish the sign-in in the browser sooner, or start it again.",
                                  error="timeout")

    # -- serving -----------------------------------------------------------------------------------------------
    def _accept(self, path_and_query: str) -> tuple[int, str, str, bool]:
        """(status, title, text, is_error) for one request; records the redirect when it is one."""
        parts = urlsplit(path_and_query)
        if parts.path != self._path:
            return 404, "Not found", "This address is only used to finish a sign-in.", True
        query = parse_qs(parts.query, keep_blank_values=True)
        got_state = (query.get("state") or [""])[0]
        if self._state is not None and got_state and not hmac.compare_digest(got_state, self._state):
            return 400, "Sign-in not recognised", "This answer does not belong to the sign-in BigSync is waiting for.", True
        if not query.get("code") and not query.get("error"):
            # Not a sign-in answer (a prefetch, a bookmark): it must not end the wait for the real one.
            return 400, "Not a sign-in answer", "This address is only used to finish a sign-in.", True
        with self._lock:
            if self._result is None:
                self._result = self._origin + path_and_query
                self._got.set()
        error = (query.get("error") or [""])[0]
        if error:
            description = (query.get("error_description") or [""])[0]
            return 200, "Sign-in did not complete", _authorize_error_sentence(self.system, error, description), True
        return 200, "Signed in", "BigSync received the answer and is finishing the connection.", False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # an idle browser pre-connect must not hold a thread forever
            server_version = "bigsync-gui"
            sys_version = ""

            def do_GET(self) -> None:  # noqa: N802
                status, title, text, is_error = listener._accept(self.path)
                body = _PAGE.format(title=html.escape(title), text=html.escape(text),
                                    cls=' class="err"' if is_error else "").encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the request line carries the authorization code: never log it

        return Handler


def _in_use(exc: OSError) -> bool:
    import errno
    return exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)) or getattr(exc, "winerror", None) == 10048


def _duration(seconds: float) -> str:
    if seconds >= 60:
        minutes = seconds / 60
        return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    return f"{seconds:g} second" + ("" if seconds == 1 else "s")


def run_loopback_flow(attempt: AuthorizationAttempt, *, open_url: Callable[[str], None], timeout: float = 300.0,
                      cancel: threading.Event | None = None) -> TokenSet:
    """System-browser sign-in: start the listener, ``open_url(authorization_url)`` (the CLI uses
    webbrowser.open, or prints it for --no-browser), wait for the redirect, check it, exchange."""
    listener = LoopbackListener(attempt.endpoints.redirect_uri, system=attempt.endpoints.system, state=attempt.state)
    with listener:
        open_url(attempt.authorization_url)
        url = listener.wait(timeout, cancel)
    code = attempt.code_from_redirect(url)
    return attempt.exchange(code)


__all__ = [
    "BIGTIME_DEFAULT_REDIRECT_URI", "SALESFORCE_DEFAULT_REDIRECT_URI", "SALESFORCE_LOGIN_URLS", "SALESFORCE_SCOPE",
    "AuthorizationAttempt", "LoopbackListener", "OAuthEndpoints", "TokenRefresher", "TokenSet",
    "bigtime_endpoints", "normalise_my_domain", "revoke", "run_loopback_flow", "salesforce_endpoints",
]
