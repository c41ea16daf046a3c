"""The emulated org's sign-in state and API usage: login transactions, authorization codes, access
and refresh tokens (revocation, rotation, the session timeout), the apps each user allowed, and
the day's API request count against the allowance."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from . import ids

AUTH_CODE_TTL = timedelta(minutes=15)  # Help, "OAuth 2.0 Web Server Flow": the code expires after 15 minutes
LOGIN_TX_TTL = timedelta(minutes=15)
# Salesforce Help, "Manage OAuth Access for Your Connected Apps": each app allows five unique approvals
# per user; a sixth revokes the oldest (its refresh token, and so its access tokens).
MAX_APPROVALS_PER_USER_AND_APP = 5


class AuthStore:
    """OAuth grants and API usage, read and written under the world's lock like the records.
    ``settings`` gives the org's current settings; ``user`` a user's row by id (None if none)."""

    def __init__(
        self,
        now: Callable[[], datetime],
        settings: Callable[[], dict[str, Any]],
        user: Callable[[str], dict[str, Any] | None],
    ) -> None:
        self.now = now
        self.settings = settings
        self.user = user
        self.clear()

    def clear(self) -> None:
        self.api_usage: dict[str, Any] = {"day": "", "used": 0}
        self.auth_codes: dict[str, dict[str, Any]] = {}
        self.login_transactions: dict[str, dict[str, Any]] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.approvals: dict[str, list[str]] = {}  # user id -> client ids the user allowed

    def to_json(self) -> dict[str, Any]:
        return {
            "api_usage": self.api_usage,
            "auth_codes": self.auth_codes,
            "login_transactions": self.login_transactions,
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
            "approvals": self.approvals,
        }

    def load(self, data: dict[str, Any]) -> None:
        self.api_usage = dict(data.get("api_usage", self.api_usage))
        self.auth_codes = dict(data.get("auth_codes", {}))
        self.login_transactions = dict(data.get("login_transactions", {}))
        self.access_tokens = dict(data.get("access_tokens", {}))
        self.refresh_tokens = dict(data.get("refresh_tokens", {}))
        self.approvals = {k: list(v) for k, v in data.get("approvals", {}).items()}

    # ---- API usage --------------------------------------------------------------------------
    def _usage_day(self) -> str:
        return self.now().astimezone(timezone.utc).date().isoformat()

    def api_used(self) -> int:
        if self.api_usage.get("day") != self._usage_day():
            return 0
        return int(self.api_usage.get("used", 0))

    def count_api_call(self) -> bool:
        """Count one API request; False (and not counted) when the day's allowance is spent."""
        day = self._usage_day()
        if self.api_usage.get("day") != day:
            self.api_usage = {"day": day, "used": 0}
        if self.api_usage["used"] >= int(self.settings()["daily_api_limit"]):
            return False
        self.api_usage["used"] += 1
        return True

    def set_api_used(self, used: int) -> None:
        self.api_usage = {"day": self._usage_day(), "used": max(0, int(used))}

    # ---- OAuth ------------------------------------------------------------------------------
    def _ts(self) -> float:
        return self.now().timestamp()

    def _purge_expired(self) -> None:
        now = self._ts()
        for table in (self.auth_codes, self.login_transactions):
            for key in [k for k, v in table.items() if v["expires_at"] < now - 3600]:
                del table[key]

    def new_login_transaction(self, params: dict[str, Any]) -> str:
        self._purge_expired()
        tx = secrets.token_urlsafe(24)
        self.login_transactions[tx] = {
            "params": dict(params),
            "user_id": None,
            "expires_at": self._ts() + LOGIN_TX_TTL.total_seconds(),
        }
        return tx

    def login_transaction(self, tx: str) -> dict[str, Any] | None:
        entry = self.login_transactions.get(tx or "")
        if entry is None or entry["expires_at"] < self._ts():
            return None
        return entry

    def end_login_transaction(self, tx: str) -> None:
        self.login_transactions.pop(tx, None)

    def new_auth_code(
        self, *, client_id: str, redirect_uri: str, user_id: str, scope: str, code_challenge: str | None
    ) -> str:
        self._purge_expired()
        code = "aPrx" + secrets.token_urlsafe(48) + "=="
        self.auth_codes[code] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "user_id": user_id,
            "scope": scope,
            "code_challenge": code_challenge,
            "expires_at": self._ts() + AUTH_CODE_TTL.total_seconds(),
            "used": False,
        }
        return code

    def redeem_auth_code(
        self, code: str, *, client_id: str, redirect_uri: str, code_verifier: str | None
    ) -> dict[str, Any]:
        """The grant behind a code; raises ``invalid_grant`` for anything wrong. Single use."""
        entry = self.auth_codes.get(code or "")
        if entry is None or entry["used"] or entry["expires_at"] < self._ts():
            if entry is not None:
                entry["used"] = True
            raise OAuthError("invalid_grant", "invalid authorization code")
        entry["used"] = True  # a code is burnt by any attempt, as a careful server does
        if entry["client_id"] != client_id:
            raise OAuthError("invalid_grant", "client_id mismatch")
        if entry["redirect_uri"] != redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri must match configuration")
        if entry["code_challenge"]:
            if not code_verifier:
                raise OAuthError("invalid_grant", "invalid code verifier")
            digest = hashlib.sha256(code_verifier.encode("ascii", "replace")).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            if not secrets.compare_digest(expected, entry["code_challenge"]):
                raise OAuthError("invalid_grant", "invalid code verifier")
        elif code_verifier:
            raise OAuthError("invalid_grant", "invalid code verifier")
        return entry

    def issue_tokens(
        self,
        *,
        user_id: str,
        client_id: str,
        scope: str,
        with_refresh: bool,
        refresh_token: str | None = None,
        approval: bool = False,
    ) -> tuple[str, str | None]:
        """A new access token (and a new refresh token if ``with_refresh``). An ``approval`` (a
        user granting the app anew) past the fifth live one of that user and app revokes the oldest."""
        access = ids.ORG_ID[:15] + "!AR" + secrets.token_urlsafe(72).replace("-", "A").replace("_", "z")
        new_refresh = None
        if with_refresh:
            new_refresh = "5Aep861" + secrets.token_urlsafe(64).replace("-", "Q").replace("_", "k")
            self.refresh_tokens[new_refresh] = {
                "user_id": user_id,
                "client_id": client_id,
                "scope": scope,
                "revoked": False,
                "issued_at": self._ts(),
            }
        if approval and new_refresh is not None:
            self._limit_approvals(user_id, client_id)
        self.access_tokens[access] = {
            "user_id": user_id,
            "client_id": client_id,
            "scope": scope,
            "refresh_token": new_refresh or refresh_token,
            "issued_at": self._ts(),
            "last_used": self._ts(),
            "revoked": False,
        }
        return access, new_refresh

    def _limit_approvals(self, user_id: str, client_id: str) -> None:
        live = [  # oldest first: the dict keeps the order tokens were issued in
            t
            for t, e in self.refresh_tokens.items()
            if not e["revoked"] and e["user_id"] == user_id and e["client_id"] == client_id
        ]
        for token in live[: max(0, len(live) - MAX_APPROVALS_PER_USER_AND_APP)]:
            self.revoke_refresh_token(token)

    def check_access_token(self, token: str) -> dict[str, Any] | None:
        """The session behind a bearer token if it is valid now (and mark it used), else None.

        Like the org's session timeout, a token dies after ``access_token_ttl_seconds`` without use.
        """
        entry = self.access_tokens.get(token or "")
        if entry is None or entry["revoked"]:
            return None
        now = self._ts()
        if now - entry["last_used"] > float(self.settings()["access_token_ttl_seconds"]):
            return None
        user = self.user(entry["user_id"])
        if user is None or not user.get("IsActive"):
            return None
        entry["last_used"] = now
        return entry

    def refresh_grant(self, refresh_token: str, client_id: str) -> dict[str, Any]:
        entry = self.refresh_tokens.get(refresh_token or "")
        if entry is None or entry["revoked"]:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        if entry["client_id"] != client_id:
            raise OAuthError("invalid_grant", "expired access/refresh token")
        user = self.user(entry["user_id"])
        if user is None or not user.get("IsActive"):
            raise OAuthError("invalid_grant", "authentication failure")
        return entry

    def revoke_refresh_token(self, token: str) -> None:
        entry = self.refresh_tokens.get(token)
        if entry is None:
            return
        entry["revoked"] = True
        for access in self.access_tokens.values():
            if access["refresh_token"] == token:
                access["revoked"] = True

    def revoke_token(self, token: str) -> bool:
        """Revoke a refresh token (and its access tokens) or one access token; False if unknown."""
        if token in self.refresh_tokens:
            self.revoke_refresh_token(token)
            return True
        if token in self.access_tokens:
            self.access_tokens[token]["revoked"] = True
            return True
        return False

    def expire_access_tokens(self, token: str | None = None) -> int:
        """Make one (or every) access token expired, as if the session had timed out."""
        targets = [token] if token else list(self.access_tokens)
        n = 0
        for t in targets:
            entry = self.access_tokens.get(t)
            if entry is not None and not entry["revoked"]:
                entry["last_used"] = -1e12
                n += 1
        return n

    def revoke_all_refresh_tokens(self) -> int:
        live = [t for t, e in self.refresh_tokens.items() if not e["revoked"]]
        for t in live:
            self.revoke_refresh_token(t)
        return len(live)


class OAuthError(Exception):
    """An OAuth endpoint error: ``{"error": ..., "error_description": ...}`` with HTTP 400 by default."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
