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
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import trigger_timing
from .cycle_report import CycleReport
from .engine import Engine
from .errors import CoreError
from .streaming import StreamBatch, StreamWork, TriggerStream

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 4.5
MAX_BACKOFF_SECONDS = 1800
BACKSTOP_MIN_SECONDS, BACKSTOP_MAX_SECONDS = 1800, 3600  # the sweep while streaming: 30–60 min, as the budget allows


def backstop_seconds(interval: float) -> float:
    """How long the loop waits between sweeps while the change stream is up: the polling interval
    the budget pays for, kept within 30–60 min."""
    return float(min(BACKSTOP_MAX_SECONDS, max(BACKSTOP_MIN_SECONDS, interval)))


def next_wait(interval: float, failures: int, retry_after: float = 0.0) -> float:
    """After n failures in a row: 30 s, 60 s, 120 s … capped at the larger of the interval and
    30 min; never sooner than a service's Retry-After (else the next cycle is refused again)."""
    if failures == 0:
        return interval
    return float(max(min(30 * 2 ** (failures - 1), max(interval, MAX_BACKOFF_SECONDS)), retry_after))


class LoopObserver(Protocol):
    """What the loop tells whoever runs it: the CLI's `run` prints reports and errors, the tray's
    runner (gui/runner.py) turns each into a Qt signal. Called on the loop's threads."""

    def on_cycle_started(self) -> None:
        """A round starts (a trigger cycle, perhaps its write-back after it)."""

    def on_report(self, report: CycleReport) -> None:
        """A cycle ended, well or not."""

    def on_error(self, exc: Exception) -> None:
        """A round could not even start (not configured, another copy running…) or hit a bug."""

    def on_wait(self, seconds: float, failures: int) -> None:
        """The wait before the next round starts (``math.inf`` while paused), after ``failures`` in a row."""

    def on_progress(self, done: int, total: int) -> None:
        """The records of a trigger cycle, as they are handled."""

    def on_rate_wait(self, system: str, seconds: float) -> None:
        """A cycle waits for a service's rate limit (``seconds``; 0: the wait ended)."""


class QuietObserver:
    """A LoopObserver that ignores everything: subclass it and override what you show."""

    def on_cycle_started(self) -> None:
        pass

    def on_report(self, report: CycleReport) -> None:
        pass

    def on_error(self, exc: Exception) -> None:
        pass

    def on_wait(self, seconds: float, failures: int) -> None:
        pass

    def on_progress(self, done: int, total: int) -> None:
        pass

    def on_rate_wait(self, system: str, seconds: float) -> None:
        pass


@dataclass
class LoopControls:
    """What the outside sets to steer the loop. ``wake`` ends a wait early ("Sync now"); set during a
    cycle, it gives exactly one follow-up cycle, never a parallel one. ``pause`` set: no new cycle
    starts (a running one finishes), so "Resume" is: clear ``pause``, set ``wake``. ``refresh`` set
    (with ``wake``: the tray's "Sync now") makes the next cycle run the write-back too, whatever
    its own interval says. ``stop`` ends the loop."""

    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    pause: threading.Event = field(default_factory=threading.Event)
    refresh: threading.Event = field(default_factory=threading.Event)


def run_forever(
    engine: Engine, observer: LoopObserver, controls: LoopControls | None = None, stream: TriggerStream | None = None
) -> int:
    """Loop until ``controls.stop``, telling ``observer`` each round: its start, each cycle's report,
    an error that kept it from starting, the records done, rate-limit waits, and the wait before the
    next round (so a GUI can show "next try at …" during backoff). After a RateLimited cycle the loop
    waits at least what the service asked.

    ``stream`` (core.streaming; the CLI's `run` and the tray pass one): its thread wakes the loop
    when change events come; the next cycle then reads only the records they name. A sweep (the
    polled read) runs first, after each (re)subscribe, on Sync now and every 30–60 min; while the
    stream is down, the loop polls on its usual interval. Each change of mode is recorded
    (core.trigger_timing)."""
    controls = controls or LoopControls()
    cancel = threading.Event()

    def request_stop(*_: Any) -> None:
        controls.stop.set()
        cancel.set()
        controls.wake.set()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, request_stop)

    if stream is not None:
        stream.start(controls.wake)
        stream.wait_subscribed(controls.stop)
    try:
        return _loop(engine, observer, controls, cancel, stream)
    finally:
        if stream is not None:
            stream.stop()


def _loop(
    engine: Engine,
    observer: LoopObserver,
    controls: LoopControls,
    cancel: threading.Event,
    stream: TriggerStream | None,
) -> int:
    stop, wake, pause, refresh = controls.stop, controls.wake, controls.pause, controls.refresh
    failures = 0
    last_writeback: float | None = None  # the first write-back follows the first trigger cycle
    next_sweep = 0.0  # monotonic time the next sweep is due while streaming (0: at once)
    mode: tuple[bool, str] | None = None
    while not stop.is_set():
        # A wake from here on (even during the cycle) asks for one more cycle. Cleared before the mode
        # is read: a change of mode the listener makes (and wakes for) after this point is then
        # either read now or brings the next round at once — never slept through (it was, for a
        # whole interval, when it fell between the read and a later clear).
        wake.clear()
        if stream is not None and (stream.up, stream.reason) != mode:
            mode = (stream.up, stream.reason)
            _record_mode(engine, *mode)
        if pause.is_set():
            wake.clear()  # the wake that brought us here is spent; look again after clearing it
            if pause.is_set() and not stop.is_set():
                observer.on_wait(math.inf, failures)
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
            nonlocal last_writeback, next_sweep
            forced = refresh.is_set()
            refresh.clear()
            trigger: dict[str, Any] = {"on_wait": observer.on_rate_wait, "progress": observer.on_progress}
            batch = stream.take() if stream is not None else StreamBatch()
            sweep = (
                stream is None
                or not stream.up
                or batch.sweep
                or not batch.record_ids
                or forced
                or time.monotonic() >= next_sweep
            )
            if stream is not None:
                trigger["stream"] = StreamWork(None if sweep else tuple(sorted(batch.record_ids)), batch.position)
            try:
                outcome["trigger"] = engine.run_cycle(cancel=cancel, **trigger)
            finally:
                report = outcome.get("trigger")
                if stream is not None and (report is None or report.result == "failed" or cancel.is_set()):
                    stream.put_back(batch)  # its position was not stored: the next cycle handles it
                elif sweep and stream is not None:
                    next_sweep = time.monotonic() + backstop_seconds(engine.trigger_interval().seconds)
            due = (
                forced
                or last_writeback is None
                or time.monotonic() - last_writeback >= settings.sync.writeback_interval_seconds
            )
            if outcome["trigger"].result != "failed" and due and not cancel.is_set():
                outcome["writeback"] = engine.run_writeback_cycle(cancel=cancel, on_wait=observer.on_rate_wait)
                last_writeback = time.monotonic()

        observer.on_cycle_started()
        worker = threading.Thread(target=work, name="bigsync-cycle", daemon=True)
        worker.start()
        while worker.is_alive() and not stop.is_set():
            worker.join(0.2)
        if stop.is_set():
            cancel.set()
            worker.join(STOP_GRACE_SECONDS)
            break
        for report in outcome.values():
            observer.on_report(report)
        for error in errors:
            observer.on_error(error)
        failed = any(r.result == "failed" for r in outcome.values()) or not outcome
        failures = failures + 1 if failed else 0
        if pause.is_set():
            continue  # paused during the cycle: wait in the paused branch (no "next try" time)
        retry_after = max((r.retry_after for r in outcome.values()), default=0.0)
        seconds = next_wait(engine.trigger_interval().seconds, failures, retry_after)
        if stream is not None and stream.up and failures == 0:
            seconds = max(0.0, next_sweep - time.monotonic())  # events wake the loop; the sweep is the backstop
        observer.on_wait(seconds, failures)
        wake.wait(seconds)
    return 0


def _record_mode(engine: Engine, instant: bool, reason: str) -> None:
    """Say in the state database and Activity how triggers arrive now (never fails the loop)."""
    try:
        store = engine.open_store()
        try:
            trigger_timing.record_mode(store, instant, reason, engine.trigger_interval())
        finally:
            store.close()
    except Exception:  # a locked or damaged database is the cycle's to report
        log.exception("could not record the trigger mode")
