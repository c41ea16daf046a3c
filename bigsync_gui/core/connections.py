"""Connecting a profile to Salesforce and BigTime, and building API clients from what was saved.

The CLI (loopback flow) and the GUI (embedded browser) obtain tokens differently, then both call
``save_salesforce`` / ``save_bigtime_oauth`` / ``save_bigtime_key`` here: one place decides what
goes to the settings file (non-secret) and what goes to the keyring (secret).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from filelock import FileLock, Timeout

from ..connectors import bigtime as bt
from ..connectors import oauth
from ..connectors.errors import AuthorizationFailed, NotConnected, ReconnectNeeded
from ..connectors.http import HttpPolicy, RequestCounter, RetryPolicy, is_loopback
from ..connectors.ratelimit import limiter_for
from ..connectors.salesforce import Identity, SalesforceClient
from ..connectors.systems import label_of
from . import cadence, secrets
from .errors import ConfigInvalid
from .profile import Profile
from .settings import Settings


log = logging.getLogger(__name__)

REFRESH_LOCK_WAIT_SECONDS = 30


@contextmanager
def refresh_lock(path: Path) -> Iterator[None]:
    """One refresh of a grant at a time across this profile's processes (the tray's window and its
    sync process): with a rotating refresh token, two holders refreshing at once would spend the
    same token and one would be told to sign in again. A lock held past 30 s (a refresh hung
    elsewhere) is not waited for: the refresher's own fallback then reads the stored token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=REFRESH_LOCK_WAIT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        log.warning("the token refresh lock %s is held elsewhere; refreshing without it", path.name)
        yield
        return
    try:
        yield
    finally:
        lock.release()


def new_sign_in_id() -> str:
    """Marks one saved sign-in. The sync keeps its API clients (and their tokens, in memory) across
    cycles, keyed by the service's settings (core.cycle.CycleRunner); the same admin signing in again
    leaves those settings as they were, so without this a running sync — the tray's sync process —
    would go on with the grant the sign-in replaced."""
    return os.urandom(8).hex()


def not_connected_sentence(system: str, saved_as_connected: bool, url: str) -> str:
    """Why a service cannot be used here, and the way on. A setup saved as connected whose sign-in is
    not in this process's keyring: on this computer's own addresses that is a ``bigsync-gui --sandbox``
    setup (its sign-ins live only in the app's memory, docs/sandbox.md); elsewhere the keyring lost it."""
    label = label_of(system)
    if not saved_as_connected:
        return f"{label} is not connected yet: run `bigsync-gui connect {system}` (or the setup wizard)."
    if is_loopback(urlsplit(url).hostname or ""):
        return (
            f"This is a sandbox setup (`bigsync-gui --sandbox`): its {label} sign-in lives only in the memory "
            "of the app that made it, so other commands cannot use it. Check it in that app (the setup's "
            f"summary runs the same checks), or run `bigsync-gui connect {system}` for this profile."
        )
    return (
        f"{label} was connected, but its sign-in is not in this computer's keyring (removed, or another "
        f"keyring is in use): run `bigsync-gui connect {system}` again (or the setup wizard)."
    )


@dataclass
class Connection:
    """What an admin sees after connecting: "Connected to <org> as <user>"."""

    system: str
    org: str
    user: str | None  # None: a firm-wide credential (BigTime API key) that is no one in particular

    def sentence(self) -> str:
        label = label_of(self.system)
        if self.user is None:
            return f"Connected to {label}: {self.org}, with the firm's API key."
        if not self.user:  # a sign-in whose answer names no user (BigTime's documented token answer): say
            return f"Connected to {label}: {self.org}."  # nothing rather than a vaguer "the signed-in user"
        return f"Connected to {label}: {self.org} as {self.user}."


class Connector:
    """A profile's settings + vault + one HTTP policy per system (shared request counter).

    BigTime's policy is paced by the process's limiter for the firm it talks to (set whenever the
    firm is known): ``bigtime.requests_per_minute`` per minute, or ``pace`` = (requests, window
    seconds) when given — tests and benchmarks use it to shrink the minute. Its read timeout is
    ``bigtime.request_timeout_seconds`` unless a ``policy`` was given (tests)."""

    def __init__(
        self,
        profile: Profile,
        counter: RequestCounter | None = None,
        policy: RetryPolicy | None = None,
        pace: tuple[int, float] | None = None,
    ) -> None:
        self.profile = profile
        self.vault = secrets.Vault(profile)
        self.counter = counter or RequestCounter()
        self.http = {system: HttpPolicy(system, self.counter, policy) for system in ("salesforce", "bigtime")}
        self.pace = pace
        self._timeouts_given = policy is not None

    def settings(self) -> Settings:
        return Settings.load(self.profile)

    def _pace_bigtime(self, base_url: str, firm_id: str | None, requests_per_minute: int | None = None) -> HttpPolicy:
        """BigTime's policy, paced by the limiter of this firm (shared by every client of it)."""
        if self.pace is not None:
            requests, window = self.pace
        else:
            requests = requests_per_minute or self.settings().bigtime.requests_per_minute
            window = 60.0
        if requests < 1:
            raise ConfigInvalid("bigtime.requests_per_minute", "bigtime.requests_per_minute must be at least 1.")
        http = self.http["bigtime"]
        http.limiter = limiter_for(base_url, firm_id or "", int(requests), window)
        connect, read = self._bigtime_timeouts()
        http.policy = replace(http.policy, connect_timeout=connect, read_timeout=read)
        return http

    def _bigtime_timeouts(self) -> tuple[float, float]:
        policy = self.http["bigtime"].policy
        if self._timeouts_given:
            return policy.connect_timeout, policy.read_timeout
        read = float(self.settings().bigtime.request_timeout_seconds)
        return min(RetryPolicy.connect_timeout, read), read

    def bigtime_answer_window(self) -> float:
        """The longest one BigTime request can take from sending to its answer, by our timeouts: a
        create sent this long ago without an answer seen has landed or never will."""
        return sum(self._bigtime_timeouts())

    # ---- Salesforce ----------------------------------------------------------------------------
    def save_salesforce(self, endpoints: oauth.OAuthEndpoints, login_url: str, tokens: oauth.TokenSet) -> Connection:
        """Keep a fresh Salesforce grant: refresh token to the keyring, the rest to settings."""
        if not tokens.refresh_token:
            raise ReconnectNeeded(
                "salesforce",
                "Salesforce gave no refresh token; the connected app must allow the "
                "'refresh_token, offline_access' scope",
            )
        instance_url = str(tokens.raw.get("instance_url") or login_url)
        client = SalesforceClient(instance_url, _Fixed(tokens), self.http["salesforce"])
        identity: Identity = client.identity()
        org = client.org_name() or identity.org_id
        self.vault.set(secrets.SALESFORCE_REFRESH_TOKEN, tokens.refresh_token)
        settings = self.settings()
        s = settings.salesforce
        s.login_url, s.consumer_key, s.redirect_uri = login_url, endpoints.client_id, endpoints.redirect_uri
        s.instance_url, s.identity_url = instance_url, str(tokens.raw.get("id") or "")
        s.org_id, s.user_id, s.username, s.display_name = identity.org_id, identity.user_id, identity.username, org
        s.sign_in_id = new_sign_in_id()
        settings.save(self.profile)
        if client.api_usage:  # the allowance the org-name read saw: `status` says the interval the loop will use
            cadence.remember_daily_max(self.profile, client.api_usage[1])
        return Connection("salesforce", org, identity.username)

    def salesforce(self) -> SalesforceClient:
        s = self.settings().salesforce
        token = self.vault.get(secrets.SALESFORCE_REFRESH_TOKEN) if s.connected else None
        if not s.connected or not token:
            raise NotConnected("salesforce", not_connected_sentence("salesforce", s.connected, s.login_url))
        endpoints = oauth.salesforce_endpoints(s.login_url, s.consumer_key, s.redirect_uri)
        refresher = oauth.TokenRefresher(
            endpoints,
            self.http["salesforce"],
            token,
            on_rotated=lambda new: self.vault.set(secrets.SALESFORCE_REFRESH_TOKEN, new),
            stored=lambda: self.vault.get(secrets.SALESFORCE_REFRESH_TOKEN),
            shared_lock=lambda: refresh_lock(self.profile.data_dir / "salesforce-refresh.lock"),
        )
        return SalesforceClient(s.instance_url, refresher, self.http["salesforce"])

    def disconnect_salesforce(self) -> bool:
        """Revoke the grant where possible, then forget it. True if Salesforce confirmed the revoke."""
        settings = self.settings()
        s = settings.salesforce
        token = self.vault.get(secrets.SALESFORCE_REFRESH_TOKEN)
        revoked = False
        if token and s.consumer_key:
            endpoints = oauth.salesforce_endpoints(s.login_url, s.consumer_key, s.redirect_uri)
            try:
                revoked = oauth.revoke(endpoints, self.http["salesforce"], token)
            except Exception:  # offline or refused: forgetting locally still happens
                revoked = False
        self.vault.delete(secrets.SALESFORCE_REFRESH_TOKEN)
        keep = settings.salesforce
        settings.salesforce = type(keep)(
            login_url=keep.login_url, consumer_key=keep.consumer_key, redirect_uri=keep.redirect_uri
        )
        settings.save(self.profile)
        return revoked

    # ---- BigTime -------------------------------------------------------------------------------
    def save_bigtime_oauth(
        self, endpoints: oauth.OAuthEndpoints, base_url: str, tokens: oauth.TokenSet, firm_id: str
    ) -> Connection:
        """Keep a fresh BigTime grant for the firm the admin named (BigTime's token answer names none)."""
        if not tokens.refresh_token:
            raise ReconnectNeeded("bigtime", "BigTime gave no refresh token")
        firm_id = firm_id.strip()
        if not firm_id:
            raise AuthorizationFailed(
                "bigtime",
                "Enter your BigTime firm id (BigTime › My Company › Company Info): BigTime needs it on every call.",
                error="firm_missing",
            )
        self._pace_bigtime(base_url, firm_id)
        refresher = oauth.TokenRefresher(
            endpoints,
            self.http["bigtime"],
            tokens.refresh_token,
            on_rotated=lambda new: self.vault.set(secrets.BIGTIME_REFRESH_TOKEN, new),
            tokens=tokens,
        )
        auth = bt.OAuthAuth(refresher, firm_id)
        if auth.token_firm and auth.token_firm != firm_id:
            raise AuthorizationFailed(
                "bigtime",
                f"BigTime signed you in to firm {auth.token_firm}, but the firm id entered is "
                f"{firm_id}. Check the firm id (BigTime › My Company › Company Info) and "
                "sign in again.",
                error="firm_mismatch",
            )
        try:
            who = bt.BigTimeClient(base_url, auth, self.http["bigtime"]).whoami()
        except ReconnectNeeded:
            raise AuthorizationFailed(
                "bigtime",
                f"BigTime refused the new sign-in for firm id {firm_id}. Check the firm id "
                "(BigTime › My Company › Company Info) and sign in again.",
                error="firm_refused",
            ) from None
        assert endpoints.client_secret is not None
        self.vault.set(secrets.BIGTIME_CLIENT_SECRET, endpoints.client_secret)
        self.vault.set(secrets.BIGTIME_REFRESH_TOKEN, refresher.current().refresh_token or tokens.refresh_token)  # type: ignore[union-attr]
        learnt = {
            "oauth_header": auth.header_mode if auth.header_mode_confirmed else "",
            "token_body": (refresher.current() or tokens).token_body or "",
        }
        return self._save_bigtime(
            base_url, "oauth", who, client_id=endpoints.client_id, redirect_uri=endpoints.redirect_uri, learnt=learnt
        )

    def save_bigtime_key(self, base_url: str, api_key: str, firm_id: str) -> Connection:
        who = bt.BigTimeClient(
            base_url, bt.ApiKeyAuth(api_key, firm_id), self._pace_bigtime(base_url, firm_id)
        ).whoami()
        self.vault.set(secrets.BIGTIME_API_KEY, api_key)
        return self._save_bigtime(base_url, "api_key", who)

    def _save_bigtime(
        self,
        base_url: str,
        mode: str,
        who: bt.WhoAmI,
        client_id: str = "",
        redirect_uri: str = "",
        learnt: dict[str, str] | None = None,
    ) -> Connection:
        settings = self.settings()
        b = settings.bigtime
        b.base_url, b.auth_mode, b.firm_id = base_url, mode, who.firm_id or b.firm_id
        b.user_name = who.name or who.email or ""
        if client_id:
            b.client_id, b.redirect_uri = client_id, redirect_uri
        b.oauth_header, b.token_body = (learnt or {}).get("oauth_header", ""), (learnt or {}).get("token_body", "")
        b.sign_in_id = new_sign_in_id()
        settings.save(self.profile)
        org = who.firm_name or (f"firm {who.firm_id}" if who.firm_id else "your firm")
        return Connection("bigtime", org, None if mode == "api_key" else (who.name or who.email or ""))

    def bigtime(self) -> bt.BigTimeClient:
        b = self.settings().bigtime
        http = self._pace_bigtime(b.base_url, b.firm_id, b.requests_per_minute)
        if b.auth_mode == "oauth":
            secret, token = self.vault.get(secrets.BIGTIME_CLIENT_SECRET), self.vault.get(secrets.BIGTIME_REFRESH_TOKEN)
            if secret and token:
                if not b.firm_id:
                    raise ReconnectNeeded(
                        "bigtime",
                        "no BigTime firm id is saved; connect BigTime again and enter it "
                        "(BigTime › My Company › Company Info)",
                    )
                endpoints = oauth.bigtime_endpoints(
                    b.base_url, b.client_id, secret, b.redirect_uri, b.token_body or None
                )
                refresher = oauth.TokenRefresher(
                    endpoints,
                    http,
                    token,
                    on_rotated=lambda new: self.vault.set(secrets.BIGTIME_REFRESH_TOKEN, new),
                    on_token_body=lambda shape: self._learnt_bigtime("token_body", shape),
                    stored=lambda: self.vault.get(secrets.BIGTIME_REFRESH_TOKEN),
                    shared_lock=lambda: refresh_lock(self.profile.data_dir / "bigtime-refresh.lock"),
                )
                auth = bt.OAuthAuth(
                    refresher,
                    b.firm_id,
                    header_mode=b.oauth_header or None,
                    on_header_mode=lambda mode: self._learnt_bigtime("oauth_header", mode),
                )
                return bt.BigTimeClient(b.base_url, auth, http)
        elif b.auth_mode == "api_key":
            key = self.vault.get(secrets.BIGTIME_API_KEY)
            if key:
                return bt.BigTimeClient(b.base_url, bt.ApiKeyAuth(key, b.firm_id), http)
        elif b.auth_mode == "session":
            password = self.vault.get(secrets.BIGTIME_PASSWORD)
            if password:
                return bt.BigTimeClient(
                    b.base_url, bt.SessionAuth(b.session_user, password, b.firm_id or None, http), http
                )
        raise NotConnected("bigtime", not_connected_sentence("bigtime", b.connected, b.base_url))

    def _learnt_bigtime(self, name: str, value: str) -> None:
        """Keep what BigTime accepted (``oauth_header`` / ``token_body``) for the next runs and ``doctor``."""
        settings = self.settings()
        setattr(settings.bigtime, name, value)
        settings.save(self.profile)

    def disconnect_bigtime(self) -> None:
        """Forget BigTime's credentials (BigTime documents no revoke endpoint)."""
        for name in (
            secrets.BIGTIME_REFRESH_TOKEN,
            secrets.BIGTIME_CLIENT_SECRET,
            secrets.BIGTIME_API_KEY,
            secrets.BIGTIME_PASSWORD,
        ):
            self.vault.delete(name)
        settings = self.settings()
        keep = settings.bigtime
        settings.bigtime = type(keep)(
            base_url=keep.base_url, client_id=keep.client_id, redirect_uri=keep.redirect_uri, firm_id=keep.firm_id
        )
        settings.save(self.profile)


class _Fixed:
    """The tokens just obtained, for the identity calls before anything is stored."""

    def __init__(self, tokens: oauth.TokenSet) -> None:
        self._tokens = tokens

    def access_token(self) -> str:
        return self._tokens.access_token

    def refresh(self, stale_access_token: str | None = None) -> oauth.TokenSet:
        raise ReconnectNeeded("salesforce", "the new session was refused at once; try connecting again")

    def current(self) -> oauth.TokenSet:
        return self._tokens
