"""The sync loop behind the GUI: core.loop in a background thread, reports as Qt signals.

The runner is the loop's observer (core.loop.LoopObserver): each thing the loop tells becomes a
signal the GUI listens to (``cycle_started``, ``cycle_finished``, ``problem``, ``waiting``,
``progress``, ``rate_wait``). "Sync now" sets the loop's wake event, which coalesces into one
follow-up cycle if a cycle is running. ``pause()``/``resume()``: no new cycle while paused; resuming
syncs at once.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from ..core import streaming
from ..core.engine import CycleReport, Engine
from ..core.loop import STOP_GRACE_SECONDS, LoopControls, run_forever
from ..core.problems import describe


class LoopRunner(QObject):
    cycle_started = Signal()
    cycle_finished = Signal(object)  # CycleReport
    problem = Signal(object)  # a round could not even start (or hit a bug): its core.problems.Problem
    waiting = Signal(float, int)  # seconds until the next cycle (inf while paused), failures in a row
    progress = Signal(int, int)  # records done, records in this cycle
    rate_wait = Signal(str, float)  # a cycle waits for a service's rate limit: system, seconds (0: done)
    stopped = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._controls = LoopControls()
        self._shown_progress = (-1, -1)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._controls.stop.clear()
        self._thread = threading.Thread(target=self._run, name="bigsync-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        run_forever(self.engine, self, self._controls, stream=streaming.optional_for(self.engine))
        self.stopped.emit()

    # ---- core.loop.LoopObserver: called on the loop's threads, each becomes a queued signal ----------
    def on_cycle_started(self) -> None:
        self.cycle_started.emit()

    def on_report(self, report: CycleReport) -> None:
        self.cycle_finished.emit(report)

    def on_error(self, exc: Exception) -> None:
        self.problem.emit(describe(exc))  # the tray shows it (gui/session.py) with its own sentence and fix

    def on_wait(self, seconds: float, failures: int) -> None:
        self.waiting.emit(seconds, failures)

    def on_progress(self, done: int, total: int) -> None:
        # At most ~100 signals a cycle, however many records: the GUI shows "Syncing… 120 of 400".
        step = max(1, total // 100)
        if done == total or done % step == 0 or total != self._shown_progress[1]:
            self._shown_progress = (done, total)
            self.progress.emit(done, total)

    def on_rate_wait(self, system: str, seconds: float) -> None:
        self.rate_wait.emit(system, seconds)

    def sync_now(self, figures: bool = True) -> None:
        """A cycle now; ``figures``: the write-back too (BigTime's figures), whatever its timer."""
        if figures:
            self._controls.refresh.set()
        self._controls.wake.set()

    def pause(self) -> None:
        self._controls.pause.set()

    def resume(self) -> None:
        self._controls.pause.clear()
        self._controls.wake.set()

    @property
    def paused(self) -> bool:
        return self._controls.pause.is_set()

    def stop(self, wait: float = STOP_GRACE_SECONDS + 0.5) -> None:
        self._controls.stop.set()
        self._controls.wake.set()
        if self._thread:
            self._thread.join(wait)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())


__all__ = ["LoopRunner", "CycleReport"]
