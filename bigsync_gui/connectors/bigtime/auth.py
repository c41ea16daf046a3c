"""The three ways to sign requests to BigTime: the firm API key, a user session, an OAuth token.
What BigTime leaves open (header forms, session fields) is decided in :mod:`..bigtime_assumptions`."""

from __future__ import annotations

import threading
import time
from typing import Any, Mapping, Protocol, runtime_checkable

from .. import bigtime_assumptions as A
from ..errors import ReconnectNeeded, RequestRejected, UnexpectedResponse
from ..http import HttpPolicy
from .parsing import SYSTEM, error_message, low, pick, to_int, to_text

JSON = "application/json"


@runtime_checkable
class AuthStrategy(Protocol):
    """How requests are signed. The client also calls, when a strategy has them:
    ``bind(base_url, http)`` once; ``on_success(headers)`` after a request was accepted (so a
    strategy can remember what worked); ``identity()`` for :meth:`BigTimeClient.whoami`."""

    mode: str

    def headers(self) -> dict[str, str]:
        """The headers that carry the credential for the next request."""
        ...

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        """BigTime answered 401 to ``stale_headers``. True = something changed, try once more;
        False = nothing left to try. May raise :class:`ReconnectNeeded`."""
        ...


def secret_values(headers: Mapping[str, str]) -> list[str]:
    values: list[str] = []
    for name, value in headers.items():
        if name.lower() in ("authorization", "x-auth-token", "x-auth-apitoken"):
            values.extend(part for part in str(value).split() if len(part) >= 6)
    return values


class ApiKeyAuth:
    """The firm API key (``X-Auth-ApiToken`` + ``X-Auth-Realm``): permanent, no session call."""

    mode = "api_key"

    def __init__(self, api_key: str, firm_id: str) -> None:
        if not api_key or not firm_id:
            raise ValueError("an API key and a firm id are both needed")
        self._key = api_key.strip()
        self.firm_id = firm_id.strip()

    def headers(self) -> dict[str, str]:
        return {"X-Auth-ApiToken": self._key, "X-Auth-Realm": self.firm_id}

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        raise ReconnectNeeded(SYSTEM, "the API key was refused — it may have been revoked, or the firm id is wrong")

    def identity(self) -> dict[str, Any]:
        return {"firm_id": self.firm_id}

    def __repr__(self) -> str:  # never the key
        return f"ApiKeyAuth(firm_id={self.firm_id!r})"


class SessionAuth:
    """A user session: ``POST /session`` → ``X-Auth-Token`` + ``X-Auth-Realm``. A 401 re-posts the
    session once; refused credentials → :class:`ReconnectNeeded`."""

    mode = "session"

    def __init__(
        self,
        user_id: str,
        password: str,
        firm: str | None = None,
        http: HttpPolicy | None = None,
        base_url: str | None = None,
        *,
        clock: Any = time.monotonic,
    ) -> None:
        self._user = user_id
        self._password = password
        self.firm = firm
        self.http = http
        self.base_url = base_url.rstrip("/") if base_url else None
        self._clock = clock
        self._lock = threading.RLock()
        self._token: str | None = None
        self._born = 0.0
        self._proven = False
        self.info: dict[str, Any] = {}

    def bind(self, base_url: str, http: HttpPolicy) -> None:
        self.base_url = self.base_url or base_url.rstrip("/")
        self.http = self.http or http

    def login(self) -> None:
        """Post ``/session`` (again) and keep the token, firm and who we are."""
        if self.http is None or self.base_url is None:
            raise RuntimeError("SessionAuth is not bound to a base URL and an HttpPolicy")
        body: dict[str, Any] = {A.SESSION_USER_FIELD: self._user, A.SESSION_PASSWORD_FIELD: self._password}
        if self.firm:
            body[A.SESSION_FIRM_FIELD] = self.firm
        # Posting a session twice only makes a second session: safe to retry on a transient failure.
        response = self.http.request(
            "POST",
            self.base_url + A.SESSION_PATH,
            idempotent=True,
            json=body,
            headers={"Accept": JSON, "Content-Type": JSON},
        )
        secrets = [self._password]
        if response.status_code in (400, 401, 403):
            reason = error_message(response, secrets)
            raise ReconnectNeeded(SYSTEM, f"BigTime refused the user name or password ({reason})")
        if response.status_code >= 300:
            raise RequestRejected(
                SYSTEM, response.status_code, f"BigTime refused to open a session: {error_message(response, secrets)}"
            )
        try:
            data = response.json()
        except ValueError:
            raise UnexpectedResponse(SYSTEM, "BigTime answered the sign-in with something that is not JSON.") from None
        r = low(data)
        token = to_text(pick(r, "token"))
        if not token:
            raise UnexpectedResponse(SYSTEM, "BigTime's sign-in answer carried no session token.")
        self._token = token
        self._born = self._clock()
        self._proven = False
        self.info = {
            "firm_id": to_text(pick(r, "firm", "firmid")) or self.firm,
            "firm_name": to_text(pick(r, "firmname")),
            "staff_id": to_int(pick(r, "staffsid", "staffid")),
            "user_id": to_int(pick(r, "userid")),
            "name": " ".join(p for p in (to_text(pick(r, "fname")), to_text(pick(r, "sname"))) if p) or None,
        }

    def _realm(self) -> str | None:
        return self.info.get("firm_id") or self.firm

    def headers(self) -> dict[str, str]:
        with self._lock:
            if self._token is None or self._clock() - self._born > A.SESSION_TOKEN_LIFETIME_SECONDS:
                self.login()
            headers = {"X-Auth-Token": self._token or ""}
            realm = self._realm()
            if realm:
                headers["X-Auth-Realm"] = realm
            return headers

    def on_success(self, headers: Mapping[str, str]) -> None:
        if headers.get("X-Auth-Token") == self._token:
            self._proven = True

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        with self._lock:
            if stale_headers.get("X-Auth-Token") != self._token:
                return True  # another thread has already signed in again
            if not self._proven:
                return False  # a session fresh from /session was refused: posting again will not help
            self.login()
            return True

    def identity(self) -> dict[str, Any]:
        with self._lock:
            if self._token is None:
                self.login()
            return dict(self.info)

    def __repr__(self) -> str:  # never the password or token
        return f"SessionAuth(user_id={self._user!r}, firm={self.firm!r})"


class OAuthAuth:
    """An OAuth access token from a ``TokenRefresher`` (``connectors/oauth/``), plus the firm id
    the admin typed as ``X-Auth-Realm`` on every call (no documented answer gives it).

    Which header BigTime wants for the token is unknown (see :mod:`.bigtime_assumptions`):
    ``X-Auth-Token`` first; on a 401 with a token not yet seen working, the same token as
    ``Authorization: Bearer``; then a refresh. The form that works is remembered (``header_mode``;
    ``on_header_mode`` is told, to persist it).
    """

    mode = "oauth"

    def __init__(
        self, refresher: Any, firm_id: str, header_mode: str | None = None, on_header_mode: Any = None
    ) -> None:
        if header_mode is not None and header_mode not in A.OAUTH_HEADER_ORDER:
            raise ValueError(f"header_mode must be one of {A.OAUTH_HEADER_ORDER}")
        if not firm_id or not firm_id.strip():
            raise ValueError("a firm id is needed: BigTime wants it (X-Auth-Realm) on every call")
        self.refresher = refresher
        self._firm_id = firm_id.strip()
        self._mode = header_mode or A.OAUTH_HEADER_ORDER[0]
        self._confirmed = header_mode is not None
        self._on_header_mode = on_header_mode
        self._refused: set[tuple[str, str]] = set()  # (token, header form) pairs BigTime refused
        self._refreshed_token: str | None = None  # from our own refresh, not yet seen working
        self._lock = threading.RLock()

    # -- what we know ---------------------------------------------------------------------------
    @property
    def header_mode(self) -> str:
        return self._mode

    @property
    def header_mode_confirmed(self) -> bool:
        return self._confirmed

    def _raw(self) -> dict[str, Any]:
        current = self.refresher.current()
        raw = getattr(current, "raw", None) if current is not None else None
        return dict(raw) if isinstance(raw, Mapping) else {}

    @property
    def firm_id(self) -> str:
        """The realm, as the admin typed it."""
        return self._firm_id

    @property
    def token_firm(self) -> str | None:
        """The firm the token response names, if it names one (BigTime documents none)."""
        return to_text(pick(self._raw(), *A.TOKEN_FIRM_FIELDS))

    def identity(self) -> dict[str, Any]:
        raw = self._raw()
        return {
            "firm_id": self.firm_id,
            "firm_name": to_text(pick(raw, "firmname")),
            "staff_id": to_int(pick(raw, *A.TOKEN_STAFF_FIELDS)),
            "user_id": to_int(pick(raw, *A.TOKEN_USER_FIELDS)),
        }

    # -- signing ----------------------------------------------------------------------------------
    def _headers_for(self, token: str, mode: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"} if mode == A.OAUTH_HEADER_BEARER else {"X-Auth-Token": token}
        headers["X-Auth-Realm"] = self._firm_id
        return headers

    @staticmethod
    def _read(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
        auth = headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip(), A.OAUTH_HEADER_BEARER
        if headers.get("X-Auth-Token"):
            return headers["X-Auth-Token"], A.OAUTH_HEADER_X_AUTH_TOKEN
        return None, None

    def headers(self) -> dict[str, str]:
        token = self.refresher.access_token()  # refreshes proactively near expiry
        with self._lock:
            return self._headers_for(token, self._mode)

    def on_success(self, headers: Mapping[str, str]) -> None:
        token, mode = self._read(headers)
        with self._lock:
            if token is not None and token == self._refreshed_token:
                self._refreshed_token = None
            if not self._confirmed and mode is not None:
                self._mode, self._confirmed = mode, True
                self._refused.clear()
                if self._on_header_mode is not None:
                    self._on_header_mode(mode)

    def on_unauthorized(self, stale_headers: Mapping[str, str]) -> bool:
        token, mode = self._read(stale_headers)
        with self._lock:
            current = self.refresher.current()
            current_token = getattr(current, "access_token", None)
            if token is None:
                return False
            if current_token and current_token != token:
                return True  # refreshed meanwhile (another thread): just send the new one
            if mode != self._mode:
                return True  # another thread already switched the header form
            if not self._confirmed:
                self._refused.add((token, mode))
                for candidate in A.OAUTH_HEADER_ORDER:
                    if (token, candidate) not in self._refused:
                        self._mode = candidate
                        return True
            if token == self._refreshed_token:
                return False  # a token fresh from our own refresh was refused: refreshing again won't help
            fresh = self.refresher.refresh(token)  # one at a time; ReconnectNeeded on invalid_grant
            self._refreshed_token = getattr(fresh, "access_token", None)
            if not self._confirmed:
                self._mode = A.OAUTH_HEADER_ORDER[0]
            return True

    def __repr__(self) -> str:
        return f"OAuthAuth(firm_id={self.firm_id!r}, header_mode={self._mode!r})"
