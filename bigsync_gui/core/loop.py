"""The headless loop behind `bigsync-gui run`: cycles on the interval, write-back on its own
interval, backoff after failures, and a clean stop on SIGTERM/Ctrl-C within 5 seconds.

The cycle runs in a worker thread; a stop request sets the cancel flag (the cycle stops at the
next record) and waits at most 4.5 s. A request still in flight is abandoned with the process —
safe, because every create was journaled before it was sent.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from .engine import CycleReport, Engine
from .errors import CoreError

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 4.5
MAX_BACKOFF_SECONDS = 1800


def next_wait(interval: float, failures: int, retry_after: float = 0.0) -> float:
    """After n failures in a row: 30 s, 60 s, 120 s … capped at the larger of the interval and
    30 min; never sooner than a service's Retry-After (else the next cycle is refused again)."""
    if failures == 0:
        return interval
    return float(max(min(30 * 2 ** (failures - 1), max(interval, MAX_BACKOFF_SECONDS)), retry_after))


def run_forever(engine: Engine, on_report: Callable[[CycleReport], None], stop: threading.Event | None = None,
                on_error: Callable[[Exception], None] | None = None, wake: threading.Event | None = None,
                on_start: Callable[[], None] | None = None, pause: threading.Event | None = None,
                on_wait: Callable[[float, int], None] | None = None,
                on_progress: Callable[[int, int], None] | None = None,
                on_rate_wait: Callable[[str, float], None] | None = None,
                refresh: threading.Event | None = None) -> int:
    """Loop until ``stop``. ``wake`` set from outside ("Sync now") ends the wait early; a wake
    during a running cycle is kept and gives exactly one follow-up cycle, never a parallel one.

    ``pause`` set: no new cycle starts (a running one finishes); the loop waits for ``wake`` and
    looks again, so "Resume" is: clear ``pause``, set ``wake`` (a cycle follows at once).
    ``on_wait(seconds, failures)`` is told each wait before it starts (``math.inf`` while
    paused), so a GUI can show "next try at …" during backoff. ``on_progress(done, total)``
    follows the records of a trigger cycle; ``on_rate_wait(system, seconds)`` each wait for a
    service's rate limit inside a cycle (0: it ended). After a RateLimited cycle the loop waits at
    least what the service asked. ``refresh`` set (with ``wake``: the tray's "Sync now") makes the
    next cycle run the write-back too, whatever its own interval says."""
    stop = stop or threading.Event()
    wake = wake or threading.Event()
    pause = pause or threading.Event()
    refresh = refresh or threading.Event()
    cancel = threading.Event()

    def request_stop(*_: Any) -> None:
        stop.set()
        cancel.set()
        wake.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_stop)

    failures = 0
    last_writeback: float | None = None  # the first write-back follows the first trigger cycle
    while not stop.is_set():
        if pause.is_set():
            wake.clear()  # the wake that brought us here is spent; look again after clearing it
            if pause.is_set() and not stop.is_set():
                if on_wait:
                    on_wait(math.inf, failures)
                wake.wait()
            continue
        settings = engine.connector.settings()
        outcome: dict[str, CycleReport] = {}
        errors: list[Exception] = []

        def work() -> None:
            try:
                cycle()
            except CoreError as exc:  # could not even start (not configured, another copy running...)
                errors.append(exc)
            except Exception as exc:  # a bug: told like any failure (and backed off), never a silent thread death
                log.exception("the sync cycle failed unexpectedly")
                errors.append(exc)

        def cycle() -> None:
            nonlocal last_writeback
            forced = refresh.is_set()
            refresh.clear()
            extra: dict[str, Any] = {"on_wait": on_rate_wait} if on_rate_wait else {}
            outcome["trigger"] = (engine.run_cycle(cancel=cancel, progress=on_progress, **extra) if on_progress
                                  else engine.run_cycle(cancel=cancel, **extra))
            due = forced or last_writeback is None or time.monotonic() - last_writeback >= settings.sync.writeback_interval_seconds
            if outcome["trigger"].result != "failed" and due and not cancel.is_set():
                outcome["writeback"] = engine.run_writeback_cycle(cancel=cancel, **extra)
                last_writeback = time.monotonic()

        wake.clear()  # a wake from now on (even during the cycle) asks for one more cycle
        if on_start:
            on_start()
        worker = threading.Thread(target=work, name="bigsync-cycle", daemon=True)
        worker.start()
        while worker.is_alive() and not stop.is_set():
            worker.join(0.2)
        if stop.is_set():
            cancel.set()
            worker.join(STOP_GRACE_SECONDS)
            break
        for report in outcome.values():
            on_report(report)
        for error in errors:
            if on_error:
                on_error(error)
        failed = any(r.result == "failed" for r in outcome.values()) or not outcome
        failures = failures + 1 if failed else 0
        if pause.is_set():
            continue  # paused during the cycle: wait in the paused branch (no "next try" time)
        retry_after = max((r.retry_after for r in outcome.values()), default=0.0)
        seconds = next_wait(engine.trigger_interval().seconds, failures, retry_after)
        if on_wait:
            on_wait(seconds, failures)
        wake.wait(seconds)
    return 0
