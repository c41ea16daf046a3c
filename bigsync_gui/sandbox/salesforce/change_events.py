"""Change Data Capture in the emulated org: the change events every Opportunity write publishes,
kept 72 hours on the sandbox clock with increasing replay ids, and the rolling 24-hour delivery
allocation (docs/sandbox.md, "Streaming").

The data layer (``data.py``) calls :meth:`ChangeEventLog.record` for each create, update, delete
and undelete of an entity selected for Change Data Capture; the CometD endpoint (``streaming.py``)
reads the retained events. The event shape is Salesforce's: ``{"schema", "payload":
{"ChangeEventHeader": {...}, <changed fields>}, "event": {"replayId"}}``.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta
from typing import Any, Protocol

RETENTION = timedelta(hours=72)
ALLOCATION_WINDOW = timedelta(hours=24)
DEFAULT_DAILY_EVENTS = 25_000  # Enterprise Edition's delivery allocation per rolling 24 hours
CHANGE_TYPES = ("CREATE", "UPDATE", "DELETE", "UNDELETE")
GAP_TYPES = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE", "GAP_OVERFLOW")
OVERFLOW_RECORD_ID = "000000000000000AAA"  # the wildcard an overflow event names instead of records
SCHEMA_IDS = {"Opportunity": "l5ZOn4y9FL1TLTzxcSgL0w"}  # opaque, stable per entity as in a real org


class Clock(Protocol):
    def now(self) -> datetime: ...


def channel_for(entity: str) -> str:
    """``Opportunity`` → ``/data/OpportunityChangeEvent``; ``Foo__c`` → ``/data/Foo__ChangeEvent``."""
    name = entity[:-3] + "__" if entity.endswith("__c") else entity
    return f"/data/{name}ChangeEvent"


def entity_for(channel: str) -> str | None:
    if not (channel.startswith("/data/") and channel.endswith("ChangeEvent")):
        return None
    name = channel[len("/data/") : -len("ChangeEvent")]
    return name[:-2] + "__c" if name.endswith("__") else name or None


class ChangeEventLog:
    """The org's retained change events. Thread-safe; ``changed`` wakes connects waiting for events."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.changed = threading.Condition()
        self._events: list[dict[str, Any]] = []  # {"replay_id", "at" (datetime), "channel", "entity", "data"}
        self._next_replay = 1
        self._deliveries: list[tuple[datetime, int]] = []

    # ---- publishing ----------------------------------------------------------------------------
    def record(
        self,
        entity: str,
        change_type: str,
        record_ids: list[str],
        fields: dict[str, Any],
        changed_fields: list[str],
        stamp: datetime,
        user_id: str | None,
    ) -> int:
        """Publish one change event (the commit's time ``stamp``); its replay id."""
        header = {
            "entityName": entity,
            "recordIds": list(record_ids),
            "changeType": change_type,
            "changeOrigin": "com/salesforce/api/rest/67.0",
            "transactionKey": secrets.token_hex(16),
            "sequenceNumber": 1,
            "commitTimestamp": int(stamp.timestamp() * 1000),
            "commitNumber": self._next_replay * 1000 + 1,
            "commitUser": user_id or "",
            "changedFields": list(changed_fields),
            "diffFields": [],
            "nulledFields": [],
        }
        payload: dict[str, Any] = {"ChangeEventHeader": header}
        payload.update(fields)
        with self.changed:
            replay_id = self._next_replay
            self._next_replay += 1
            self._purge()
            self._events.append(
                {
                    "replay_id": replay_id,
                    "at": self.clock.now(),
                    "channel": channel_for(entity),
                    "entity": entity,
                    "data": {
                        "schema": SCHEMA_IDS.get(entity, "sandbox" + entity),
                        "payload": payload,
                        "event": {"replayId": replay_id},
                    },
                }
            )
            self.changed.notify_all()
        return replay_id

    def mark(self) -> int:
        """The replay id the next event will get (a savepoint: :meth:`discard_from` takes back what followed)."""
        with self.changed:
            return self._next_replay

    def discard_from(self, mark: int) -> None:
        """A rolled-back transaction publishes nothing (allOrNone collections). Callers hold the world
        lock, which connects take before reading, so nothing published after ``mark`` was delivered."""
        with self.changed:
            self._events = [e for e in self._events if e["replay_id"] < mark]

    def clear(self) -> None:
        """Forget every event (reset to the seed); replay ids keep increasing, as an org's do."""
        with self.changed:
            self._events.clear()
            self._deliveries.clear()

    # ---- reading --------------------------------------------------------------------------------
    def _purge(self) -> None:
        oldest = self.clock.now() - RETENTION
        while self._events and self._events[0]["at"] < oldest:
            self._events.pop(0)

    @property
    def latest(self) -> int:
        """The newest replay id given out (0: none yet)."""
        with self.changed:
            return self._next_replay - 1

    def valid_replay(self, replay_id: int) -> bool:
        """-1, -2, or an id from which the retained events continue without a hole: at or after the
        oldest retained event's predecessor, at most the newest id given out."""
        if replay_id in (-1, -2):
            return True
        with self.changed:
            self._purge()
            if replay_id > self._next_replay - 1 or replay_id < 0:
                return False
            first = self._events[0]["replay_id"] if self._events else self._next_replay
            return replay_id >= first - 1

    def after(self, channel: str, replay_id: int) -> list[dict[str, Any]]:
        """Retained events of ``channel`` newer than ``replay_id`` (-2: all of them)."""
        with self.changed:
            self._purge()
            return [
                e for e in self._events if e["channel"] == channel and (replay_id == -2 or e["replay_id"] > replay_id)
            ]

    def after_any(self, replay_id: int) -> list[dict[str, Any]]:
        """Retained events of every entity newer than ``replay_id`` (the ``/data/ChangeEvents`` channel)."""
        with self.changed:
            self._purge()
            return [e for e in self._events if replay_id == -2 or e["replay_id"] > replay_id]

    def retained(self) -> int:
        with self.changed:
            self._purge()
            return len(self._events)

    # ---- the delivery allocation -----------------------------------------------------------------
    def delivered_in_window(self) -> int:
        with self.changed:
            oldest = self.clock.now() - ALLOCATION_WINDOW
            self._deliveries = [(at, n) for at, n in self._deliveries if at >= oldest]
            return sum(n for _, n in self._deliveries)

    def count_delivered(self, n: int) -> None:
        if n > 0:
            with self.changed:
                self._deliveries.append((self.clock.now(), n))

    def set_delivered(self, n: int) -> None:
        """Admin: pretend ``n`` events were delivered just now (to reach the allocation in a test)."""
        with self.changed:
            self._deliveries = [(self.clock.now(), n)] if n > 0 else []
