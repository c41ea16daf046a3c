"""The emulated org's Streaming API: Bayeux long polling at ``/cometd/<version>`` serving the change
events of ``change_events.py`` (docs/sandbox.md, "Streaming").

As Salesforce's: ``/meta/handshake`` with the OAuth token (``Authorization: Bearer``/``OAuth``) on every
request, the ``BAYEUX_BROWSER`` cookie set there and required afterwards, ``/meta/subscribe`` with
``ext.replay`` ({channel: replayId}: -1 new events, -2 all retained, or an id within the 72 hours),
``/meta/connect`` held up to ``advice.timeout`` (110 s; shorter through the admin API for tests),
a client forgotten 40 s after its last connect ended (``403::Unknown client``, reconnect by
handshake), a bad token ``401::Authentication invalid`` with ``reconnect: none``, and the rolling
24-hour delivery allocation (``403::Organization total events daily limit exceeded``). Streaming
requests are not API calls: they are logged, never counted against the daily API allowance.

Faults beyond the common ones (a ``hold``/``latency`` fault on ``/cometd`` hangs a connect): the
admin API can forget every client, re-send delivered events, and publish a GAP, overflow or
several-record event (``/__sandbox__/streaming``).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import ApiError, json_response, read_json, unlocked
from .field_security import field_grants
from .permissions import Permissions
from .change_events import CHANGE_TYPES, DEFAULT_DAILY_EVENTS, GAP_TYPES, OVERFLOW_RECORD_ID, entity_for

if TYPE_CHECKING:
    from threading import RLock

    from .data import SalesforceData

DEFAULT_TIMEOUT_SECONDS = 110.0
MAX_INTERVAL_SECONDS = 40.0  # a client that does not reconnect within this is forgotten
COOKIE = "BAYEUX_BROWSER"
ALL_CHANGES = "/data/ChangeEvents"
LIMIT_ERROR = "403::Organization total events daily limit exceeded"
# The allocations pages: "Maximum number of concurrent clients (subscribers) across all channels and for
# all event types": Enterprise 1,000 (Performance/Unlimited 2,000, others 20). The docs give no error; a
# client past it reports a denied handshake with this reason (SalesforceFoundation/salesforce-streaming-client#15).
DEFAULT_MAX_CLIENTS = 1000
MAX_SELECTED_ENTITIES = 5  # the CDC guide's allocations: 5 selected entities per org without the add-on
CLIENTS_ERROR = "403::Organization concurrent user limit exceeded"


def _replay_error(replay_id: Any) -> str:
    return (
        f"400::The replayId {{{replay_id}}} you provided was invalid.  Please provide a valid ID, -2 to replay "
        "all events, or -1 to replay only new events."
    )


@dataclass
class BayeuxClient:
    client_id: str
    browser: str
    user_id: str
    subscriptions: dict[str, int] = field(default_factory=dict)  # channel -> last replay id handed out
    connected: bool = False  # a first connect answers at once
    in_connect: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    sent: list[dict[str, Any]] = field(default_factory=list)  # events delivered, for the redelivery fault


class StreamingRoutes:
    """The ``/cometd`` endpoint and its admin API. A connect is a long poll: it holds no lock while
    it waits (:func:`~..web.unlocked`), and takes the world's lock only for its short looks."""

    def __init__(self, data: SalesforceData, lock: RLock) -> None:
        self.data = data
        self.lock = lock  # the world's
        self._state: dict[str, Any] = {"lock": threading.Lock(), "clients": {}, "redeliver": 0}

    def _timeout(self) -> float:
        """How long a connect is held (kept with the org's settings: a reset brings back 110 s)."""
        return float(self.data.settings.get("streaming_timeout_seconds", DEFAULT_TIMEOUT_SECONDS))

    def _daily_limit(self) -> int:
        return int(self.data.settings.get("streaming_daily_event_limit", DEFAULT_DAILY_EVENTS))

    def _max_clients(self) -> int:
        return int(self.data.settings.get("streaming_max_clients", DEFAULT_MAX_CLIENTS))

    # ---- routing ----------------------------------------------------------------------------------
    def rules(self, d: str) -> list[Rule]:
        return [
            Rule("/cometd/<version>", endpoint=self.cometd, methods=["POST"]),
            Rule("/cometd/<version>/<path:kind>", endpoint=self.cometd, methods=["POST"]),
        ]

    def admin_rules(self) -> list[Rule]:
        return [
            Rule("/streaming", endpoint=self.admin_streaming_get, methods=["GET"]),
            Rule("/streaming", endpoint=self.admin_streaming_set, methods=["POST", "PATCH"]),
            Rule("/streaming/events", endpoint=self.admin_streaming_publish, methods=["POST"]),
            Rule("/streaming/forget", endpoint=self.admin_streaming_forget, methods=["POST"]),
            Rule("/streaming/redeliver", endpoint=self.admin_streaming_redeliver, methods=["POST"]),
        ]

    # ---- the Bayeux endpoint --------------------------------------------------------------------
    @unlocked
    def cometd(self, request: Request, version: str, kind: str = "") -> Response:
        if not re.fullmatch(r"\d+\.0", version) or not 37 <= int(version.split(".")[0]) <= 67:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        body = read_json(request)
        messages = body if isinstance(body, list) else [body]
        if not messages or not all(isinstance(m, dict) and isinstance(m.get("channel"), str) for m in messages):
            raise ApiError(400, "INVALID_BAYEUX", "The body must be a Bayeux message or an array of them")
        user_id = self._stream_user(request)
        replies: list[dict[str, Any]] = []
        cookie: str | None = None
        for message in messages:
            channel = message["channel"]
            reply: dict[str, Any] = {"channel": channel}
            if "id" in message:
                reply["id"] = message["id"]
            if user_id is None:
                self._auth_failure(channel, reply, sent=bool(request.headers.get("Authorization", "").strip()))
            elif channel == "/meta/handshake":
                cookie = self._handshake(message, user_id, reply)
            else:
                client = self._client_for(message, request)
                if client is None and request.cookies.get(COOKIE) is None and self._known(message):
                    # the Streaming API's error codes: "400 Client client_name has established a session,
                    # but no cookie_name cookie present" (no advice given)
                    reply.update(
                        successful=False,
                        clientId=message["clientId"],
                        error=f"400::Client {message['clientId']} has established a session, but no {COOKIE} "
                        "cookie present",
                    )
                elif client is None:
                    reply.update(
                        successful=False, error="403::Unknown client", advice={"reconnect": "handshake", "interval": 0}
                    )
                    if "clientId" in message:
                        reply["clientId"] = message["clientId"]
                elif channel == "/meta/connect" and message.get("connectionType", "long-polling") != "long-polling":
                    # the Streaming API's error codes: only long polling is served
                    reply.update(
                        clientId=client.client_id,
                        successful=False,
                        error=f"400::Invalid connection type {message.get('connectionType')}",
                    )
                elif channel == "/meta/connect":
                    replies.extend(self._connect(client, reply))
                elif channel in ("/meta/subscribe", "/meta/unsubscribe"):
                    self._subscribe(client, message, reply, channel == "/meta/subscribe")
                elif channel == "/meta/disconnect":
                    with self._state["lock"]:
                        self._state["clients"].pop(client.client_id, None)
                    reply.update(clientId=client.client_id, successful=True)
                else:
                    reply.update(clientId=client.client_id, successful=False, error=f"403:{channel}:Publish denied")
            replies.append(reply)
        response = json_response(replies)
        if cookie is not None:
            response.set_cookie(COOKIE, cookie, path="/", httponly=True)
        return response

    def _stream_user(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("bearer", "oauth") or not token.strip():
            return None
        with self.lock:
            session = self.data.auth.check_access_token(token.strip())
        return str(session.get("user_id") or "") if session else None

    @staticmethod
    def _auth_failure(channel: str, reply: dict[str, Any], sent: bool) -> None:
        """ "Handling Streaming API Errors": a token that is not valid is ``401::Authentication invalid``;
        "if the OAuth or session token isn't sent in the request header", ``401::Request requires
        authentication``. A handshake nests it in ``ext.sfdc.failureReason`` under ``403::Handshake denied``."""
        reason = "401::Authentication invalid" if sent else "401::Request requires authentication"
        reply.update(successful=False, advice={"reconnect": "none"})
        if channel == "/meta/handshake":
            reply.update(
                error="403::Handshake denied",
                ext={"sfdc": {"failureReason": reason}, "replay": True, "payload.format": True},
            )
        else:
            reply["error"] = reason

    def _handshake(self, message: dict[str, Any], user_id: str, reply: dict[str, Any]) -> str | None:
        types = message.get("supportedConnectionTypes") or []
        if "long-polling" not in types:
            reply.update(
                successful=False,
                error="400::Unsupported connection types",
                supportedConnectionTypes=["long-polling"],
                advice={"reconnect": "none"},
            )
            return None
        state = self._state
        if self.data.change_events.delivered_in_window() >= self._daily_limit():
            reply.update(successful=False, error=LIMIT_ERROR, advice={"reconnect": "none"})
            return None
        client = BayeuxClient(secrets.token_urlsafe(18), secrets.token_hex(12), user_id)
        with state["lock"]:
            self._expire_clients()
            full = len(state["clients"]) >= self._max_clients()
            if not full:
                state["clients"][client.client_id] = client
        if full:
            reply.update(
                successful=False,
                error="403::Handshake denied",
                ext={"sfdc": {"failureReason": CLIENTS_ERROR}, "replay": True, "payload.format": True},
                advice={"reconnect": "none"},
            )
            return None
        reply.update(
            successful=True,
            version="1.0",
            minimumVersion="1.0",
            clientId=client.client_id,
            supportedConnectionTypes=["long-polling"],
            ext={"replay": True, "payload.format": True},
            advice={"reconnect": "retry", "interval": 0, "timeout": int(self._timeout() * 1000)},
        )
        return client.browser

    def _expire_clients(self) -> None:
        clients = self._state["clients"]
        now = time.monotonic()
        gone = [c.client_id for c in clients.values() if not c.in_connect and now - c.last_seen > MAX_INTERVAL_SECONDS]
        for cid in gone:
            del clients[cid]

    def _client_for(self, message: dict[str, Any], request: Request) -> BayeuxClient | None:
        state = self._state
        with state["lock"]:
            self._expire_clients()
            client = state["clients"].get(str(message.get("clientId") or ""))
            if client is None or request.cookies.get(COOKIE) != client.browser:
                return None  # without the cookie the server cannot tell the session: an unknown client
            client.last_seen = time.monotonic()
            return client

    def _known(self, message: dict[str, Any]) -> bool:
        with self._state["lock"]:
            return str(message.get("clientId") or "") in self._state["clients"]

    def _subscribe(self, client: BayeuxClient, message: dict[str, Any], reply: dict[str, Any], subscribe: bool) -> None:
        channel = message.get("subscription")
        reply.update(clientId=client.client_id, subscription=channel)
        entity = entity_for(channel) if isinstance(channel, str) else None
        known = channel == ALL_CHANGES or (entity is not None and entity.lower() in self.data.schema)
        if not known:
            reply.update(
                successful=False, error=f"400::The channel you requested to subscribe to does not exist {{{channel}}}"
            )
            return
        if not subscribe:
            with self._state["lock"]:
                client.subscriptions.pop(channel, None)
            reply["successful"] = True
            return
        if (
            entity is not None
            and not self.data.cdc_selected(entity)
            and self.data.switches["cdc_unselected_subscribe_refused"]
        ):
            reply.update(
                successful=False, error=f"400::The channel you requested to subscribe to does not exist {{{channel}}}"
            )
            return
        if entity is not None and not self._may_receive(client.user_id, entity):
            # The CDC guide: a single-entity channel asks View All (Records) on the object, or View All
            # Data, at subscription (the wider channels filter on delivery). It gives no error text.
            reply.update(
                successful=False,
                error=f"403::User does not have the View All permission needed to subscribe to {channel}",
            )
            return
        replay = ((message.get("ext") or {}).get("replay") or {}).get(channel, -1)
        if isinstance(replay, bool) or not isinstance(replay, int) or not self.data.change_events.valid_replay(replay):
            reply.update(successful=False, error=_replay_error(replay))
            return
        with self._state["lock"]:
            client.subscriptions[channel] = self.data.change_events.latest if replay == -1 else replay
        reply["successful"] = True

    def _may_receive(self, user_id: str, entity: str) -> bool:
        with self.lock:
            return Permissions(self.data).view_all(user_id, entity)

    def _pending(self, client: BayeuxClient) -> list[dict[str, Any]]:
        """The events after each subscription's position; on ``/data/ChangeEvents`` only those of
        entities the user may see all of (permissions enforced on delivery, as the CDC guide says)."""
        events: list[dict[str, Any]] = []
        log = self.data.change_events
        allowed: dict[str, bool] = {}

        unreadable: dict[str, set[str]] = {}

        def hidden(entity: str) -> set[str]:
            if entity not in unreadable:
                unreadable[entity] = self._hidden_fields(client.user_id, entity)
            return unreadable[entity]

        def may(entity: str) -> bool:
            if entity not in allowed:
                allowed[entity] = Permissions(self.data).view_all(client.user_id, entity)
            return allowed[entity]

        for channel, cursor in client.subscriptions.items():
            entity = entity_for(channel)
            if channel == ALL_CHANGES:
                found = [e for e in log.after_any(cursor) if self.data.cdc_selected(e["entity"]) and may(e["entity"])]
            elif entity is not None and self.data.cdc_selected(entity):
                found = log.after(channel, cursor)
            else:
                found = []
            events.extend(
                {"channel": channel, "data": self._visible(e, hidden(e["entity"])), "_replay": e["replay_id"]}
                for e in found
            )
        return events

    def _hidden_fields(self, user_id: str, entity: str) -> set[str]:
        obj = self.data.schema.get(entity.lower())
        return {n for n, (read, _) in field_grants(self.data, user_id, obj).items() if not read} if obj else set()

    @staticmethod
    def _visible(event: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
        """The event's data without the fields the user may not read: "delivered events contain only the
        fields that a subscribed user is allowed to view" (the CDC guide, *Field-Level Security*)."""
        payload = event["data"].get("payload") or {}
        if not hidden or not any(k.lower() in hidden for k in payload):
            return event["data"]
        return {**event["data"], "payload": {k: v for k, v in payload.items() if k.lower() not in hidden}}

    def _connect(self, client: BayeuxClient, reply: dict[str, Any]) -> list[dict[str, Any]]:
        """The events for the client, at once or when they come, else an empty answer at the timeout."""
        state = self._state
        log = self.data.change_events
        reply["clientId"] = client.client_id
        advice = {"reconnect": "retry", "interval": 0, "timeout": int(self._timeout() * 1000)}
        if log.delivered_in_window() >= self._daily_limit():
            reply.update(successful=False, error=LIMIT_ERROR, advice={"reconnect": "none"})
            return []
        deadline = time.monotonic() + (self._timeout() if client.connected else 0.0)
        client.connected, client.in_connect = True, True
        try:
            while True:
                with self.lock:  # a rolled-back transaction's events are gone before we look
                    with state["lock"]:
                        if state["clients"].get(client.client_id) is not client:
                            reply.update(
                                successful=False,
                                error="403::Unknown client",
                                advice={"reconnect": "handshake", "interval": 0},
                            )
                            return []
                        events = self._redelivered(client) + self._pending(client)
                if events or time.monotonic() >= deadline:
                    break
                with log.changed:
                    log.changed.wait(min(0.25, max(0.0, deadline - time.monotonic())))
        finally:
            client.in_connect = False
            client.last_seen = time.monotonic()
        room = max(0, self._daily_limit() - log.delivered_in_window())
        events = events[:room]
        with state["lock"]:
            for event in events:
                client.subscriptions[event["channel"]] = max(
                    client.subscriptions.get(event["channel"], 0), event["_replay"]
                )
            client.sent.extend(events)
            del client.sent[:-100]
        log.count_delivered(len(events))
        reply.update(successful=True, advice=advice)
        return [{"channel": e["channel"], "data": e["data"]} for e in events]

    def _redelivered(self, client: BayeuxClient) -> list[dict[str, Any]]:
        state = self._state
        count = min(state["redeliver"], len(client.sent))
        if not count:
            return []
        state["redeliver"] = 0
        return [dict(e) for e in client.sent[-count:]]

    # ---- admin API ------------------------------------------------------------------------------
    def _streaming_json(self) -> dict[str, Any]:
        state = self._state
        log = self.data.change_events
        with state["lock"]:
            clients = len(state["clients"])
        return {
            "entities": list(self.data.settings.get("cdc_entities", [])),
            "timeout_seconds": self._timeout(),
            "daily_event_limit": self._daily_limit(),
            "max_clients": self._max_clients(),
            "events_delivered": log.delivered_in_window(),
            "retained_events": log.retained(),
            "latest_replay_id": log.latest,
            "clients": clients,
        }

    def admin_streaming_get(self, request: Request) -> Response:
        return json_response(self._streaming_json())

    def admin_streaming_set(self, request: Request) -> Response:
        body = read_json(request) or {}
        if not isinstance(body, dict) or set(body) - {
            "entities",
            "timeout_seconds",
            "daily_event_limit",
            "max_clients",
            "events_delivered",
        }:
            raise ApiError(
                400,
                "INVALID_FIELD",
                "Known settings: entities, timeout_seconds, daily_event_limit, max_clients, events_delivered",
            )
        entities = body.get("entities")
        if entities is not None and (
            not isinstance(entities, list)
            or not all(isinstance(e, str) and e.lower() in self.data.schema for e in entities)
        ):
            raise ApiError(400, "INVALID_FIELD", 'entities must be a list of object names, e.g. ["Opportunity"]')
        if entities is not None and len({e.lower() for e in entities}) > MAX_SELECTED_ENTITIES:
            raise ApiError(  # as Setup refuses a sixth selection without the add-on
                400,
                "INVALID_FIELD",
                f"At most {MAX_SELECTED_ENTITIES} entities can be selected for Change Data Capture",
            )
        keys = ("timeout_seconds", "daily_event_limit", "max_clients", "events_delivered")
        numbers = {k: body[k] for k in keys if k in body}
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 for v in numbers.values()):
            raise ApiError(400, "INVALID_FIELD", f"{', '.join(keys)}: numbers >= 0")
        settings = self.data.settings
        if entities is not None:
            settings["cdc_entities"] = [self.data.schema[e.lower()].name for e in entities]
        if "timeout_seconds" in numbers:
            settings["streaming_timeout_seconds"] = float(numbers["timeout_seconds"])
        if "daily_event_limit" in numbers:
            settings["streaming_daily_event_limit"] = int(numbers["daily_event_limit"])
        if "max_clients" in numbers:
            settings["streaming_max_clients"] = int(numbers["max_clients"])
        if "events_delivered" in numbers:
            self.data.change_events.set_delivered(int(numbers["events_delivered"]))
        return json_response(self._streaming_json())

    def admin_streaming_publish(self, request: Request) -> Response:
        """An event no write made: a GAP (``GAP_UPDATE``…), an overflow, or one naming several records."""
        body = read_json(request) or {}
        change = body.get("changeType") if isinstance(body, dict) else None
        if change not in CHANGE_TYPES + GAP_TYPES:
            raise ApiError(400, "INVALID_FIELD", f"changeType must be one of {', '.join(CHANGE_TYPES + GAP_TYPES)}")
        entity = str(body.get("entityName") or "Opportunity")
        ids = body.get("recordIds") or ([OVERFLOW_RECORD_ID] if change == "GAP_OVERFLOW" else [])
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, "INVALID_FIELD", "recordIds must be a non-empty list of record ids")
        fields = body.get("fields") or {}
        changed = body.get("changedFields") or list(fields)
        replay = self.data.change_events.record(
            entity, change, ids, dict(fields), list(changed), self.data.now(), self.data.admin_user_id
        )
        return json_response({"replayId": replay}, status=201)

    def admin_streaming_forget(self, request: Request) -> Response:
        """The server forgets every client (as Salesforce does after a drop or every few hours)."""
        state = self._state
        with state["lock"]:
            forgotten = len(state["clients"])
            state["clients"].clear()
        return json_response({"forgotten": forgotten})

    def admin_streaming_redeliver(self, request: Request) -> Response:
        """The next connect sends the last ``count`` delivered events again (at-least-once delivery)."""
        body = read_json(request) or {}
        count = body.get("count", 1) if isinstance(body, dict) else None
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ApiError(400, "INVALID_FIELD", "count must be a whole number >= 1")
        self._state["redeliver"] = count
        return json_response({"redeliver": count})
