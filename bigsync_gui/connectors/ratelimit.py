"""Client-side pacing: at most N requests in any rolling window, shared per BigTime firm.

BigTime limits each firm (public clients pace it at about 30 requests a minute) and says so with a
503, often without ``Retry-After``. Waiting until we are refused costs a whole window each time, so
every BigTime call takes a slot here first. One :class:`RateLimiter` per (base URL, firm) in the
process (:func:`limiter_for`): every client of that firm shares it, whatever thread it runs on.

A rolling log matches how the limit is counted (the last N send times), needs no tuning beyond N
and the window, and lets a quiet sync send its few requests at once. Waits are on an
:class:`threading.Event`, so a stopping app interrupts them instead of sleeping them out.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable


class RateLimiter:
    """At most ``requests`` sends in any ``window`` seconds. Thread-safe; Qt-free."""

    def __init__(self, requests: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sends: deque[float] = deque()  # send times, reserved ones may be in the future
        self._hold_until = 0.0
        self.requests, self.window = 1, 60.0
        self.configure(requests, window)

    def configure(self, requests: int, window: float) -> None:
        if requests < 1 or window <= 0:
            raise ValueError("a rate limit needs at least 1 request per a positive window")
        with self._lock:
            self.requests, self.window = int(requests), float(window)

    def reserve(self) -> float:
        """Take the next free slot; the seconds until it (0: send now). The caller waits that long."""
        with self._lock:
            now = self._clock()
            while self._sends and self._sends[0] <= now - self.window:
                self._sends.popleft()
            start = max(now, self._hold_until)
            if len(self._sends) >= self.requests:
                start = max(start, self._sends[-self.requests] + self.window)
            self._sends.append(start)
            return start - now

    def hold(self, seconds: float) -> None:
        """The service refused us: nobody sends for ``seconds`` from now."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + seconds)


_registry: dict[tuple[str, str], RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(base_url: str, firm_id: str, requests: int, window: float = 60.0) -> RateLimiter:
    """The process's one limiter for this firm (created, or re-configured to ``requests``/``window``)."""
    key = (base_url.rstrip("/").lower(), (firm_id or "").strip())
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            limiter = _registry[key] = RateLimiter(requests, window)
        elif (limiter.requests, limiter.window) != (requests, window):
            limiter.configure(requests, window)
        return limiter
