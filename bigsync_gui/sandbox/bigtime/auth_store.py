"""The emulated firm's credentials: OAuth login transactions, authorization codes, access and
(rotating) refresh tokens, ``/session`` tokens and the firm API key, kept in the firm's store
(:mod:`.store`)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .schema import ACCESS_TOKEN_TTL_SECONDS, CODE_TTL_SECONDS, LOGIN_TXN_TTL_SECONDS, SESSION_TTL_SECONDS

if TYPE_CHECKING:
    from .store import FirmStore


class AuthStore:
    """Login transactions, codes, tokens, sessions, the API key."""

    def __init__(self, store: FirmStore) -> None:
        self.store = store

    # ---- OAuth and sessions ----------------------------------------------------------------
    def _expiry(self, seconds: float) -> str:
        return (self.store.now() + timedelta(seconds=seconds)).isoformat()

    def _expired(self, stamp: str) -> bool:
        return datetime.fromisoformat(stamp) <= self.store.now()

    def new_login_txn(
        self, client_id: str, redirect_uri: str, state: str | None, challenge: str | None, method: str | None
    ) -> str:
        self._purge()
        txn = secrets.token_urlsafe(18)
        self.store.oauth_txns[txn] = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "staff_id": None,
            "code_challenge": challenge,
            "code_challenge_method": method,
            "expires": self._expiry(LOGIN_TXN_TTL_SECONDS),
        }
        return txn

    def login_txn(self, txn: str) -> dict[str, Any] | None:
        info = self.store.oauth_txns.get(txn or "")
        if info is None or self._expired(info["expires"]):
            return None
        return info

    def issue_code(self, txn: str) -> str:
        info = self.store.oauth_txns.pop(txn)
        code = secrets.token_urlsafe(24)
        self.store.oauth_codes[code] = {
            "client_id": info["client_id"],
            "redirect_uri": info["redirect_uri"],
            "staff_id": info["staff_id"],
            "code_challenge": info["code_challenge"],
            "code_challenge_method": info["code_challenge_method"],
            "expires": self._expiry(CODE_TTL_SECONDS),
            "used": False,
        }
        return code

    def take_code(self, code: str) -> dict[str, Any] | None:
        """The code's grant, once: a used or expired code is gone (and the tokens it gave die too)."""
        info = self.store.oauth_codes.get(code or "")
        if info is None:
            return None
        if info["used"]:
            for token in info.get("issued", []):  # replay of a used code: revoke what it gave (RFC 6749 §4.1.2)
                if token in self.store.access_tokens:
                    self.store.access_tokens[token]["revoked"] = True
                if token in self.store.refresh_tokens:
                    self.store.refresh_tokens[token]["revoked"] = True
            return None
        if self._expired(info["expires"]):
            return None
        info["used"] = True
        return info

    def issue_tokens(self, staff_id: int, client_id: str) -> dict[str, Any]:
        ttl = int(self.store.settings.get("access_token_ttl_seconds") or ACCESS_TOKEN_TTL_SECONDS)
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        self.store.access_tokens[access] = {
            "staff_id": staff_id,
            "client_id": client_id,
            "expires": self._expiry(ttl),
            "revoked": False,
        }
        self.store.refresh_tokens[refresh] = {"staff_id": staff_id, "client_id": client_id, "revoked": False}
        return {"access_token": access, "refresh_token": refresh, "expires_in": ttl}

    def rotate_refresh(self, refresh: str, client_id: str) -> dict[str, Any] | None:
        info = self.store.refresh_tokens.get(refresh or "")
        if info is None or info["revoked"] or info["client_id"] != client_id:
            return None
        if (
            info["staff_id"] not in self.store.records["staff"]
            or self.store.records["staff"][info["staff_id"]]["IsInactive"]
        ):
            return None
        info["revoked"] = True  # rotation: the old refresh token dies
        return self.issue_tokens(info["staff_id"], client_id)

    def new_session(self, staff_id: int) -> str:
        token = secrets.token_urlsafe(32)
        ttl = int(self.store.settings.get("session_ttl_seconds") or SESSION_TTL_SECONDS)
        self.store.session_tokens[token] = {"staff_id": staff_id, "expires": self._expiry(ttl), "revoked": False}
        return token

    def check_access_token(self, token: str) -> int | None:
        info = self.store.access_tokens.get(token or "")
        if info is None or info["revoked"] or self._expired(info["expires"]):
            return None
        return info["staff_id"]

    def check_session_token(self, token: str) -> int | None:
        info = self.store.session_tokens.get(token or "")
        if info is None or info["revoked"] or self._expired(info["expires"]):
            return None
        return info["staff_id"]

    def check_api_key(self, key: str) -> int | None:
        """The firm's API key acts as the firm's first staff member (the admin)."""
        if self.store.settings.get("api_key_revoked") or not key or key != self.store.settings.get("api_key"):
            return None
        return min(self.store.records["staff"]) if self.store.records["staff"] else None

    def expire_tokens(self, kind: str = "all", token: str | None = None) -> int:
        past = (self.store.now() - timedelta(seconds=1)).isoformat()
        count = 0
        stores = {
            "access": self.store.access_tokens,
            "session": self.store.session_tokens,
            "code": self.store.oauth_codes,
        }
        for name, store in stores.items():
            if kind not in ("all", name):
                continue
            for key, info in store.items():
                if token is None or key == token:
                    info["expires"] = past
                    count += 1
        return count

    def revoke_tokens(self, kind: str = "all", token: str | None = None) -> int:
        count = 0
        stores = {
            "access": self.store.access_tokens,
            "refresh": self.store.refresh_tokens,
            "session": self.store.session_tokens,
        }
        for name, store in stores.items():
            if kind not in ("all", name):
                continue
            for key, info in store.items():
                if token is None or key == token:
                    info["revoked"] = True
                    count += 1
        if kind in ("all", "api_key") and token is None:
            self.store.settings["api_key_revoked"] = True
            count += 1
        return count

    def _purge(self) -> None:
        self.store.oauth_txns = {k: v for k, v in self.store.oauth_txns.items() if not self._expired(v["expires"])}
        self.store.oauth_codes = {
            k: v
            for k, v in self.store.oauth_codes.items()
            if not (
                self._expired(v["expires"])
                and datetime.fromisoformat(v["expires"]) < self.store.now() - timedelta(days=1)
            )
        }
