"""The sandbox's shared state: both services' data, one lock, one clock, optional state file.

The clock can be moved forward through the admin API so tests can reach Salesforce's 30-day
(updated) and 15-day (deleted) windows, token lifetimes and code expiry without waiting.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .bigtime.data import BigTimeData
from .salesforce.data import SalesforceData
from .seed import seed_world


class Clock:
    """The world's time: real time by default, or a pinned start instant that then ticks (tests,
    ``--clock``), plus an offset the admin API can advance.

    A pinned clock makes the seed the same on any day: every date in it is relative to the
    start instant, so figures that depend on "today" are reproducible. It still ticks (by the
    monotonic clock) so that records written one after another get increasing stamps."""

    def __init__(self, start: datetime | None = None, offset_seconds: float = 0.0) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("the clock's start instant needs a time zone (e.g. 2026-03-14T09:00:00Z)")
        self.start = start.astimezone(timezone.utc) if start is not None else None
        self._started = time.monotonic()
        self._offset = timedelta(seconds=offset_seconds)
        self._lock = threading.Lock()

    def _base(self) -> datetime:
        if self.start is None:
            return datetime.now(timezone.utc)
        return self.start + timedelta(seconds=time.monotonic() - self._started)

    def now(self) -> datetime:
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    def rewind(self) -> None:
        """Back to the start: the real time, or the pinned start instant (reset: the seed is
        dated from there again, so it is the same seed each time)."""
        with self._lock:
            self._offset = timedelta(0)
            self._started = time.monotonic()

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def to_json(self) -> dict[str, Any]:
        return {
            "now": self.now().isoformat(timespec="milliseconds"),
            "offset_seconds": self.offset_seconds,
            "pinned_start": self.start.isoformat() if self.start else None,
        }


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a zone (``2026-03-14T09:00:00Z``); ValueError otherwise."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; add Z or an offset such as +00:00")
    return value


class World:
    """Everything both emulators know. Writers hold ``lock``; ``changed()`` persists if asked."""

    def __init__(
        self, state_file: str | os.PathLike[str] | None = None, seed: bool = True, clock_start: datetime | None = None
    ) -> None:
        self.lock = threading.RLock()
        self.state_file = Path(state_file) if state_file else None
        self.clock = Clock(clock_start)
        self.salesforce = SalesforceData(self.clock)
        self.bigtime = BigTimeData(self.clock)
        if self.state_file and self.state_file.exists():
            self._load()
        elif seed:
            self.reset()

    def reset(self) -> None:
        """Fresh seed data for both services (the story in docs/sandbox.md), with the clock back at its start."""
        with self.lock:
            self.clock.rewind()
            self.salesforce.clear()
            self.bigtime.clear()
            seed_world(self.salesforce, self.bigtime)
            self.salesforce.change_events.clear()  # the seed is the org before anyone subscribed
            self.changed()

    def changed(self) -> None:
        if self.state_file is None:
            return
        with self.lock:
            payload = {
                "format": 1,
                "clock_offset_seconds": self.clock.offset_seconds,
                "clock_start": self.clock.start.isoformat() if self.clock.start else None,
                "salesforce": self.salesforce.to_json(),
                "bigtime": self.bigtime.to_json(),
            }
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".sandbox-", dir=self.state_file.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
            os.replace(tmp, self.state_file)

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            payload = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"Cannot read the sandbox state file {self.state_file}: {exc}") from None
        if payload.get("format") != 1:
            raise ValueError(f"{self.state_file} is not a sandbox state file this version understands")
        start = payload.get("clock_start")
        self.clock = Clock(parse_instant(start) if start else None, payload.get("clock_offset_seconds", 0.0))
        self.salesforce = SalesforceData.from_json(payload["salesforce"], self.clock)
        self.bigtime = BigTimeData.from_json(payload["bigtime"], self.clock)
