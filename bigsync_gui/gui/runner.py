"""The sync loop behind the GUI: core.loop in a background thread, reports as Qt signals.

The GUI only listens (``cycle_finished``, ``cycle_started``, ``error``, ``waiting``,
``progress``, ``rate_wait``); "Sync now" sets the loop's wake event, which coalesces into one follow-up cycle if
a cycle is running. ``pause()``/``resume()``: no new cycle while paused; resuming syncs at once.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from ..core.engine import CycleReport, Engine
from ..core import streaming
from ..core.loop import STOP_GRACE_SECONDS, run_forever
from ..core.problems import describe


class LoopRunner(QObject):
    cycle_started = Signal()
    cycle_finished = Signal(object)  # CycleReport
    error = Signal(str)
    problem = Signal(object)  # a cycle could not even start: its core.problems.Problem
    waiting = Signal(float, int)  # seconds until the next cycle (inf while paused), failures in a row
    progress = Signal(int, int)  # records done, records in this cycle
    rate_wait = Signal(str, float)  # a cycle waits for a service's rate limit: system, seconds (0: done)
    stopped = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._pause = threading.Event()
        self._refresh = threading.Event()
        self._shown_progress = (-1, -1)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bigsync-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        run_forever(self.engine, on_report=self.cycle_finished.emit, stop=self._stop, wake=self._wake,
                    stream=streaming.optional_for(self.engine),
                    on_error=self._on_error, on_start=self.cycle_started.emit, pause=self._pause, refresh=self._refresh,
                    on_wait=self.waiting.emit, on_progress=self._on_progress, on_rate_wait=self.rate_wait.emit)
        self.stopped.emit()

    def _on_error(self, exc: Exception) -> None:
        self.error.emit(str(exc))
        self.problem.emit(describe(exc))

    def _on_progress(self, done: int, total: int) -> None:
        # At most ~100 signals a cycle, however many records: the GUI shows "Syncing… 120 of 400".
        step = max(1, total // 100)
        if done == total or done % step == 0 or total != self._shown_progress[1]:
            self._shown_progress = (done, total)
            self.progress.emit(done, total)

    def sync_now(self, figures: bool = True) -> None:
        """A cycle now; ``figures``: the write-back too (BigTime's figures), whatever its timer."""
        if figures:
            self._refresh.set()
        self._wake.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def stop(self, wait: float = STOP_GRACE_SECONDS + 0.5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(wait)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())


__all__ = ["LoopRunner", "CycleReport"]
