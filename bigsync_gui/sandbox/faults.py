"""Fault injection for the emulators: what the next matching requests should suffer.

Tests use this to prove the product survives a 5xx, a 503 with Retry-After, slow answers and —
the nastiest one — a connection dropped *after* the server did the work (a lost response).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("status", "drop", "latency", "hold", "html")


@dataclass
class Fault:
    """One rule: requests matching ``method`` and ``path`` (a regex, searched, case-insensitive).

    kind:
      - ``status``: answer ``status`` with ``body`` (JSON value or text) and ``headers``, without
        doing the request's work;
      - ``drop``: do the work, then close the connection without answering;
      - ``latency``: wait ``seconds`` before doing the work;
      - ``hold``: wait until released (``DELETE /faults``), at most ``seconds`` (default 60), then do
        the work — a handshake for tests: ``GET /faults/held`` tells how many requests are waiting;
      - ``html``: answer ``status`` with an HTML error page (as BigTime sometimes does).
    ``count`` is how many matching requests it applies to (``None``: until cleared).
    """

    kind: str
    method: str = "*"
    path: str = ""
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    count: int | None = 1
    id: int = 0
    hits: int = 0
    released: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        return re.search(self.path, path, re.IGNORECASE) is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "seconds": self.seconds,
            "count": self.count,
            "hits": self.hits,
        }


class FaultError(ValueError):
    """A fault description that cannot be used."""


def fault_from_json(data: dict[str, Any]) -> Fault:
    if not isinstance(data, dict):
        raise FaultError("a fault is a JSON object")
    kind = data.get("kind", "status")
    if kind not in KINDS:
        raise FaultError(f"kind must be one of {', '.join(KINDS)}")
    path = str(data.get("path", ""))
    try:
        re.compile(path)
    except re.error as exc:
        raise FaultError(f"path is not a valid regular expression: {exc}") from None
    count = data.get("count", 1)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise FaultError("count must be a positive integer or null")
    headers = data.get("headers") or {}
    if kind == "status" and "retry_after" in data:
        headers = {**headers, "Retry-After": str(data["retry_after"])}
    return Fault(
        kind=kind,
        method=str(data.get("method", "*")),
        path=path,
        status=int(data.get("status", 503 if kind == "status" else 500)),
        body=data.get("body"),
        headers={str(k): str(v) for k, v in headers.items()},
        seconds=float(data.get("seconds", 60.0 if kind == "hold" else 0.0)),
        count=count,
    )


class FaultList:
    """Thread-safe list of active faults; the first match wins and uses up one of its count."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._holding: list[Fault] = []  # one entry per request waiting in a hold
        self._next_id = 1

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
            return fault

    def take(self, method: str, path: str) -> list[Fault]:
        """Faults that apply to this request: at most one latency rule plus one other rule."""
        taken: list[Fault] = []
        with self._lock:
            for kind_group in (("latency", "hold"), ("status", "drop", "html")):
                for fault in self._faults:
                    if fault.kind in kind_group and fault.matches(method, path):
                        fault.hits += 1
                        if fault.count is not None:
                            fault.count -= 1
                        taken.append(fault)
                        break
            self._faults = [f for f in self._faults if f.count is None or f.count > 0]
        return taken

    def hold(self, fault: Fault) -> None:
        """Keep this request waiting until the fault is released (or its time is up)."""
        with self._lock:
            self._holding.append(fault)
        try:
            fault.released.wait(fault.seconds)
        finally:
            with self._lock:
                self._holding.remove(fault)

    def held(self) -> int:
        with self._lock:
            return len(self._holding)

    def clear(self) -> None:
        """Remove every fault and let every held request go on."""
        with self._lock:
            for fault in [*self._faults, *self._holding]:
                fault.released.set()
            self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_json() for f in self._faults]
