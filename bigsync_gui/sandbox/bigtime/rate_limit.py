"""BigTime's rate limit as public clients meet it: a rolling window of requests per firm (the
sandbox has one), then 503 (``docs/reference/bigtime.md``)."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import TYPE_CHECKING

from .schema import RATE_LIMIT_WINDOW_SECONDS

if TYPE_CHECKING:
    from .data import BigTimeData


class RateLimit:
    """The firm's window of recent requests, against the limit in the data's settings."""

    def __init__(self, data: BigTimeData) -> None:
        self.data = data
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> int | None:
        """The firm's rolling window (the sandbox has one firm): None while under the limit, else
        the seconds until a slot frees (the request is refused and not counted)."""
        settings = self.data.settings
        limit = settings.get("rate_limit_requests")
        if not limit:
            return None
        window = float(settings.get("rate_limit_window_seconds") or RATE_LIMIT_WINDOW_SECONDS)
        now = self.data.now().timestamp()
        with self._lock:
            if self._hits and self._hits[-1] > now:  # the clock was moved back: start afresh
                self._hits.clear()
            while self._hits and self._hits[0] <= now - window:
                self._hits.popleft()
            if len(self._hits) >= int(limit):
                return max(1, math.ceil(self._hits[0] + window - now))
            self._hits.append(now)
        return None

    def reset(self) -> None:
        """The window starts empty (after the admin API changes the limit)."""
        with self._lock:
            self._hits.clear()
