"""A small CometD client for Salesforce's Streaming API: Bayeux long polling on ``requests``
(docs/sync.md, "Instant triggers"). The Python CometD libraries are unmaintained and broken on
current Python, and the protocol we need is four messages.

One :class:`CometdSession` is one Bayeux client: ``handshake()`` (the OAuth token on every
request; the ``BAYEUX_BROWSER`` cookie the server sets is kept by the session), ``subscribe()``
with Salesforce's replay extension, then ``connect()`` again and again — each held by the server up
to ``advice.timeout`` (110 s) and answered with the change events that came. Every failure is a
:class:`StreamFailure` whose ``kind`` says what the caller does next (core/streaming.py):

- ``unknown_client`` (``403::Unknown client``, or a lost cookie's ``400::… no BAYEUX_BROWSER cookie
  present``): handshake again and resubscribe;
- ``auth`` (``401::Authentication invalid`` or a denied handshake): refresh the token, handshake;
- ``replay_invalid``: the replay id is past the 72-hour retention: subscribe for new events and sweep;
- ``allocation``: the org's daily event allocation is spent, or its concurrent clients are all taken
  (``403::Organization concurrent user limit exceeded``): poll, try again later;
- ``refused``: the subscription was refused (no such channel: Change Data Capture off for the entity);
- ``transport``: no answer, a dropped connection, a connect held past its timeout, a 5xx, not JSON.

No Qt, no threads here: the caller owns the one thread that calls ``connect()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from .errors import ConnectorError
from .http import require_secure_url
from .systems import System

COMETD_VERSION = "67.0"
CONNECT_TIMEOUT_SECONDS = 10.0
READ_MARGIN_SECONDS = 20.0  # past advice.timeout, a connect that has not answered is taken as hung
DEFAULT_SERVER_TIMEOUT = 110.0


class StreamFailure(ConnectorError):
    """The stream stopped; ``kind`` names the planned way on (module docstring), ``error`` is the
    server's Bayeux error (never a token)."""

    def __init__(self, kind: str, message: str, error: str = "") -> None:
        super().__init__(System.SALESFORCE, message)
        self.kind = kind
        self.error = error


@dataclass(frozen=True)
class ChangeEvent:
    """One change event, as much as the sync needs of it."""

    replay_id: int
    entity: str
    change_type: str  # CREATE, UPDATE, DELETE, UNDELETE, GAP_*, GAP_OVERFLOW
    record_ids: tuple[str, ...]
    changed_fields: tuple[str, ...]

    @property
    def is_overflow(self) -> bool:
        return self.change_type == "GAP_OVERFLOW"


def channel_for(entity: str) -> str:
    """``Opportunity`` → ``/data/OpportunityChangeEvent``."""
    return f"/data/{entity[:-3] + '__' if entity.endswith('__c') else entity}ChangeEvent"


def parse_event(message: dict[str, Any]) -> ChangeEvent | None:
    """A change event from a Bayeux data message; None when it is not one (no header or replay id)."""
    data = message.get("data")
    if not isinstance(data, dict):
        return None
    payload, event = data.get("payload"), data.get("event")
    header = payload.get("ChangeEventHeader") if isinstance(payload, dict) else None
    replay = event.get("replayId") if isinstance(event, dict) else None
    if not isinstance(header, dict) or isinstance(replay, bool) or not isinstance(replay, int):
        return None
    ids = header.get("recordIds")
    fields = header.get("changedFields")
    return ChangeEvent(
        replay,
        str(header.get("entityName") or ""),
        str(header.get("changeType") or ""),
        tuple(str(i) for i in ids) if isinstance(ids, list) else (),
        tuple(str(f) for f in fields) if isinstance(fields, list) else (),
    )


def _failure_for(reply: dict[str, Any], what: str) -> StreamFailure:
    error = str(reply.get("error") or "")
    ext = reply.get("ext")
    reason = ""
    if isinstance(ext, dict) and isinstance(ext.get("sfdc"), dict):
        reason = str(ext["sfdc"].get("failureReason") or "")
    advice = reply.get("advice")
    advice = advice if isinstance(advice, dict) else {}
    said = error or reason or "no reason given"
    # "no BAYEUX_BROWSER cookie present" (400): the session's cookie was lost; a new handshake sets one
    if "Unknown client" in error or "cookie present" in error or advice.get("reconnect") == "handshake":
        return StreamFailure("unknown_client", f"Salesforce's streaming server forgot this client ({said}).", error)
    if error.startswith("401") or reason.startswith("401"):
        return StreamFailure("auth", f"Salesforce refused the streaming session ({said}).", error or reason)
    if "concurrent user limit" in reason.lower() or "concurrent user limit" in error.lower():
        return StreamFailure(
            "allocation",
            f"The org's streaming connections are all taken by other clients ({reason or said}).",
            reason or error,
        )
    if "daily limit" in error.lower() or "events daily" in error.lower():
        return StreamFailure("allocation", f"The org's daily allowance of streaming events is used up ({said}).", error)
    if error.startswith("400") and "replayid" in error.lower():
        return StreamFailure(
            "replay_invalid",
            f"The saved streaming position is older than Salesforce keeps events (72 hours) ({said}).",
            error,
        )
    if what == "subscribe":
        return StreamFailure("refused", f"Salesforce refused the subscription ({said}).", error)
    return StreamFailure("transport", f"Salesforce's streaming server answered {what} with an error ({said}).", error)


class CometdSession:
    """One Bayeux client against one org. ``token()`` gives the current access token (the caller
    refreshes it after an ``auth`` failure). Not thread-safe: one thread uses it."""

    def __init__(
        self,
        instance_url: str,
        token: Callable[[], str],
        *,
        version: str = COMETD_VERSION,
        session: requests.Session | None = None,
        user_agent: str = "bigsync-gui",
        read_margin: float = READ_MARGIN_SECONDS,
    ) -> None:
        self.url = require_secure_url(System.SALESFORCE, f"{instance_url.rstrip('/')}/cometd/{version}")
        self._token = token
        self.http = session or requests.Session()
        self.http.headers["User-Agent"] = user_agent
        self.http.verify = True
        self.client_id = ""
        self.server_timeout = DEFAULT_SERVER_TIMEOUT
        self.read_margin = read_margin
        self._next_id = 0

    def __repr__(self) -> str:  # never the token
        return f"CometdSession({self.url!r})"

    # ---- the wire ------------------------------------------------------------------------------
    def _send(self, message: dict[str, Any], read_timeout: float) -> list[dict[str, Any]]:
        self._next_id += 1
        message = {**message, "id": str(self._next_id)}
        if self.client_id and message["channel"] != "/meta/handshake":
            message["clientId"] = self.client_id
        try:
            response = self.http.post(
                self.url,
                json=[message],
                timeout=(CONNECT_TIMEOUT_SECONDS, read_timeout),
                headers={"Authorization": "Bearer " + self._token(), "Content-Type": "application/json"},
            )
        except requests.Timeout:
            raise StreamFailure(
                "transport",
                f"Salesforce's streaming server did not answer within {read_timeout:.0f} s"
                " (a connect held past its timeout).",
            ) from None
        except requests.RequestException as exc:
            raise StreamFailure(
                "transport", f"Salesforce's streaming server could not be reached ({type(exc).__name__})."
            ) from None
        if response.status_code == 401:
            raise StreamFailure("auth", "Salesforce refused the streaming session (HTTP 401).", "401")
        if response.status_code == 403 and "Unknown client" in response.text:
            raise StreamFailure("unknown_client", "Salesforce's streaming server forgot this client (HTTP 403).")
        if response.status_code != 200:
            raise StreamFailure("transport", f"Salesforce's streaming server answered HTTP {response.status_code}.")
        try:
            body = response.json()
        except ValueError:
            raise StreamFailure(
                "transport", "Salesforce's streaming server answered something that is not JSON."
            ) from None
        replies = body if isinstance(body, list) else [body]
        if not all(isinstance(r, dict) for r in replies):
            raise StreamFailure("transport", "Salesforce's streaming server answered an unexpected shape.")
        return replies

    @staticmethod
    def _meta(replies: list[dict[str, Any]], channel: str) -> dict[str, Any]:
        for reply in replies:
            if reply.get("channel") == channel:
                return reply
        raise StreamFailure("transport", f"Salesforce's streaming server did not answer {channel}.")

    def _advice(self, reply: dict[str, Any]) -> None:
        advice = reply.get("advice")
        timeout = advice.get("timeout") if isinstance(advice, dict) else None
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout >= 0:
            self.server_timeout = timeout / 1000

    # ---- the four messages ---------------------------------------------------------------------
    def handshake(self) -> None:
        self.client_id = ""
        self.http.cookies.clear()  # a new client: the old session's cookie means nothing now
        reply = self._meta(
            self._send(
                {
                    "channel": "/meta/handshake",
                    "version": "1.0",
                    "minimumVersion": "1.0",
                    "supportedConnectionTypes": ["long-polling"],
                },
                CONNECT_TIMEOUT_SECONDS * 3,
            ),
            "/meta/handshake",
        )
        if not reply.get("successful") or not reply.get("clientId"):
            raise _failure_for(reply, "handshake")
        self.client_id = str(reply["clientId"])
        self._advice(reply)

    def subscribe(self, channel: str, replay_id: int) -> None:
        """Subscribe from ``replay_id`` (-1: only new events; -2: all Salesforce keeps)."""
        reply = self._meta(
            self._send(
                {"channel": "/meta/subscribe", "subscription": channel, "ext": {"replay": {channel: replay_id}}},
                CONNECT_TIMEOUT_SECONDS * 3,
            ),
            "/meta/subscribe",
        )
        if not reply.get("successful"):
            raise _failure_for(reply, "subscribe")

    def connect(self) -> list[ChangeEvent]:
        """One long poll: the change events that came (possibly none), in the order sent."""
        replies = self._send(
            {"channel": "/meta/connect", "connectionType": "long-polling"}, self.server_timeout + self.read_margin
        )
        reply = self._meta(replies, "/meta/connect")
        events = [
            e
            for e in (parse_event(m) for m in replies if not str(m.get("channel", "")).startswith("/meta/"))
            if e is not None
        ]
        if not reply.get("successful"):
            raise _failure_for(reply, "connect")
        self._advice(reply)
        return events

    def disconnect(self) -> None:
        """Tell the server we are leaving (best effort: a stopping app does not wait on it)."""
        if not self.client_id:
            return
        try:
            self._send({"channel": "/meta/disconnect"}, 5.0)
        except StreamFailure:
            pass
        self.client_id = ""
