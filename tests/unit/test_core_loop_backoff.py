"""When the headless loop (core/loop.py) runs the next cycle: the interval while all is well, a
growing and capped backoff after failures, a service's Retry-After honoured, back to the interval
after a success. First ``next_wait`` alone, then ``run_forever`` driven by a scripted engine."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from bigsync_gui.core.cadence import TriggerInterval
from bigsync_gui.core.engine import CycleReport
from bigsync_gui.core.errors import ConfigInvalid
from bigsync_gui.core.loop import MAX_BACKOFF_SECONDS, LoopControls, QuietObserver, next_wait, run_forever
from bigsync_gui.core.settings import Settings

# (interval, failures in a row, Retry-After asked by a service, the wait)
WAITS = [
    (300, 0, 0, 300),  # all well: the interval
    (300, 1, 0, 30),  # the first retry comes sooner than the interval ...
    (300, 2, 0, 60),  # ... then doubles
    (300, 3, 0, 120),
    (300, 6, 0, 960),
    (300, 7, 0, MAX_BACKOFF_SECONDS),  # capped at 30 min
    (300, 60, 0, MAX_BACKOFF_SECONDS),
    (60, 1, 0, 30),
    (3600, 7, 0, 1920),
    (3600, 8, 0, 3600),  # an interval longer than 30 min is the cap instead
    (3600, 40, 0, 3600),
    (300, 1, 600, 600),  # a service that asked for 10 min gets 10 min, not 30 s
    (300, 7, 7200, 7200),  # even beyond the cap: asking again sooner is refused anyway
    (300, 3, 10, 120),  # a shorter Retry-After does not cut the backoff short
]


@pytest.mark.parametrize(
    "interval, failures, retry_after, wait", WAITS, ids=[f"every{i}s-{f}failures-retry{r}" for i, f, r, _ in WAITS]
)
def test_next_wait(interval: int, failures: int, retry_after: float, wait: float) -> None:
    assert next_wait(interval, failures, retry_after) == wait


# ---- the loop itself ------------------------------------------------------------------------------------------
def report(result: str, kind: str = "trigger", error: str = "", retry_after: float = 0.0) -> CycleReport:
    return CycleReport(1, kind, result, "", error=error, retry_after=retry_after)


OK, PARTIAL, FAILED = report("ok"), report("partial"), report("failed", error="Offline")
RATE_LIMITED = report("failed", error="RateLimited", retry_after=900.0)
NOT_CONFIGURED = ConfigInvalid("sync.trigger_stage", "No trigger stage is set yet")
BUG = RuntimeError("a bug in a cycle")


@dataclass
class ScriptedEngine:
    """What run_forever uses of an Engine: settings through a connector, and the two cycles.
    Each trigger step is a report or an exception; the write-back always answers ``writeback``."""

    trigger: list[Any]
    writeback: list[Any] = field(default_factory=list)
    interval: int = 300
    writeback_every: int = 0  # 0: a write-back after every trigger cycle that did not fail
    calls: list[str] = field(default_factory=list)

    @property
    def connector(self) -> ScriptedEngine:
        return self

    def settings(self) -> Settings:
        s = Settings()
        s.sync.interval_seconds, s.sync.writeback_interval_seconds = self.interval, self.writeback_every
        return s

    def trigger_interval(self) -> TriggerInterval:
        return TriggerInterval(self.interval, "set")

    def run_cycle(self, cancel: threading.Event, **_observers: Any) -> CycleReport:
        self.calls.append("trigger")
        return self._next(self.trigger)

    def run_writeback_cycle(self, cancel: threading.Event, **_observers: Any) -> CycleReport:
        self.calls.append("writeback")
        return self._next(self.writeback) if self.writeback else report("ok", "writeback")

    @staticmethod
    def _next(steps: list[Any]) -> CycleReport:
        step = steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


class Watching(QuietObserver):
    """Each wait the loop announces, with no real waiting: the next cycle starts at once; ``stop_after``
    waits, the loop stops. ``then`` is told each wait's number (1, 2 …) to act on it."""

    def __init__(self, engine: ScriptedEngine, controls: LoopControls, stop_after: int, then=None) -> None:
        self.engine, self.controls, self.stop_after, self.then = engine, controls, stop_after, then
        self.waits: list[tuple[float, int]] = []

    def on_wait(self, seconds: float, failures: int) -> None:
        self.waits.append((seconds, failures))
        if self.then:
            self.then(len(self.waits))
        if len(self.waits) == self.stop_after:
            self.controls.stop.set()
        self.controls.wake.set()

    def on_error(self, exc: Exception) -> None:
        self.engine.calls.append(f"told {type(exc).__name__}")


def waits_after(engine: ScriptedEngine) -> list[tuple[float, int]]:
    """Run the loop (in a thread: no signal handlers) until the script is spent; each (wait, failures)."""
    controls = LoopControls()
    watching = Watching(engine, controls, stop_after=len(engine.trigger))
    loop = threading.Thread(target=run_forever, args=(engine, watching, controls))
    loop.start()
    loop.join(10)
    assert not loop.is_alive(), "the loop did not stop"
    return watching.waits


@pytest.mark.parametrize(
    "trigger, writeback, waits",
    [
        ([OK, OK], [], [(300, 0), (300, 0)]),
        ([FAILED, FAILED, FAILED], [], [(30, 1), (60, 2), (120, 3)]),
        ([FAILED, FAILED, OK, FAILED], [], [(30, 1), (60, 2), (300, 0), (30, 1)]),  # a success resets the count
        ([PARTIAL], [], [(300, 0)]),  # rejected records are not a failed cycle
        ([OK], [report("failed", "writeback")], [(30, 1)]),  # a failed write-back counts
        ([NOT_CONFIGURED, NOT_CONFIGURED], [], [(30, 1), (60, 2)]),  # could not even start: backed off too
        ([RATE_LIMITED, FAILED], [], [(900, 1), (60, 2)]),  # Retry-After honoured, then the backoff goes on
        ([OK], [report("failed", "writeback", "RateLimited", 1200.0)], [(1200, 1)]),
    ],
    ids=[
        "all-well",
        "backoff-grows",
        "success-resets",
        "partial-is-not-failure",
        "writeback-failure-counts",
        "cannot-start-counts",
        "retry-after-honoured",
        "writeback-retry-after-honoured",
    ],
)
def test_the_loop_waits(trigger: list[Any], writeback: list[Any], waits: list[tuple[float, int]]) -> None:
    assert waits_after(ScriptedEngine(trigger, writeback)) == waits


def test_a_failed_trigger_cycle_skips_the_writeback() -> None:
    engine = ScriptedEngine([FAILED, OK])
    assert waits_after(engine) == [(30, 1), (300, 0)]
    assert engine.calls == ["trigger", "trigger", "writeback"]


def test_a_bug_in_a_cycle_is_told_and_backed_off_never_the_end_of_the_loop() -> None:
    engine = ScriptedEngine([BUG, OK])
    assert waits_after(engine) == [(30, 1), (300, 0)]
    assert engine.calls == ["trigger", "told RuntimeError", "trigger", "writeback"]


@pytest.mark.parametrize("uptime", [5.0, 10_000_000.0])
def test_the_first_writeback_follows_the_first_trigger_cycle_however_long_ago_the_machine_booted(
    monkeypatch, uptime
) -> None:
    """time.monotonic() counts from boot on Linux: a CI machine booted a minute ago must still get its
    first write-back at once, and the next one only when its interval has passed."""
    clock = [uptime]
    monkeypatch.setattr("bigsync_gui.core.loop.time.monotonic", lambda: clock[0])
    engine = ScriptedEngine([OK, OK, OK], writeback_every=900)
    real_trigger = engine.run_cycle

    def trigger_then_tick(cancel: threading.Event) -> CycleReport:
        clock[0] += 600  # each cycle ten minutes after the last
        return real_trigger(cancel)

    engine.run_cycle = lambda cancel, **_: trigger_then_tick(cancel)  # type: ignore[method-assign]
    waits_after(engine)
    assert engine.calls == ["trigger", "writeback", "trigger", "trigger", "writeback"]


def test_sync_now_runs_the_writeback_whatever_its_timer() -> None:
    """Sync now also refreshes BigTime's figures (issue 12.7): ``refresh`` set with the wake makes the
    next cycle run the write-back even though its interval has not passed."""
    engine = ScriptedEngine([OK, OK, OK], writeback_every=10**6)
    controls = LoopControls()

    def sync_now_after_the_second(waits: int) -> None:
        if waits == 2:
            controls.refresh.set()

    watching = Watching(engine, controls, stop_after=3, then=sync_now_after_the_second)
    loop = threading.Thread(target=run_forever, args=(engine, watching, controls))
    loop.start()
    loop.join(10)
    assert not loop.is_alive(), "the loop did not stop"
    assert engine.calls == ["trigger", "writeback", "trigger", "trigger", "writeback"]
