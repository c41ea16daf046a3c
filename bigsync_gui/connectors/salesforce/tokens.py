"""Where the client's access token comes from: the protocol the OAuth side fills, and a fixed
token for scripts and tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ReconnectNeeded
from .wire import SYSTEM


class AccessTokenSource(Protocol):
    """What the client needs from the OAuth side (``connectors.oauth.TokenRefresher`` fits).

    ``refresh(stale)`` returns the new token set (an object with ``access_token`` and optionally
    ``raw["instance_url"]``); it refreshes at most once for a given stale token and raises
    :class:`ReconnectNeeded` when the grant is gone."""

    def access_token(self) -> str: ...

    def refresh(self, stale_access_token: str | None = None) -> Any: ...


class StaticToken:
    """A fixed access token (password grant in scripts and tests): it cannot be refreshed, so a
    timed-out session is :class:`ReconnectNeeded`. ``raw`` may hold the token response (its
    ``id`` URL is used by :meth:`SalesforceClient.identity`)."""

    def __init__(self, token: str, raw: dict[str, Any] | None = None) -> None:
        self._token = token
        self.raw = dict(raw or {})

    def access_token(self) -> str:
        return self._token

    def refresh(self, stale_access_token: str | None = None) -> Any:
        raise ReconnectNeeded(SYSTEM, "the session expired and there is no refresh token")

    def current(self) -> Any:
        return _StaticTokenSet(self._token, self.raw)

    def __repr__(self) -> str:  # never the token
        return "StaticToken(<hidden>)"


@dataclass(frozen=True, repr=False)
class _StaticTokenSet:
    access_token: str
    raw: dict[str, Any]
