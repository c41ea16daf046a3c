"""The sync loop behind the GUI: core.loop in a background thread, reports as Qt signals.

The runner is the loop's observer (core.loop.LoopObserver): each thing the loop tells becomes a
signal the GUI listens to (``cycle_started``, ``cycle_finished``, ``problem``, ``waiting``,
``progress``, ``rate_wait``), and with a profile, where the status starts (``seeded``: the last
finished trigger cycle) and how triggers arrive after each report (``triggers``). "Sync now" sets
the loop's wake event, which coalesces into one follow-up cycle if a cycle is running.
``pause()``/``resume()``: no new cycle while paused; resuming syncs at once.

The tray runs the loop in a child process instead (gui/process_runner.py, the same signals); this
runner serves the ``--sandbox`` run, whose keyring lives in its own memory, and the tests.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from ..core import streaming
from ..core.cycle_report import CycleReport
from ..core.engine import Engine
from ..core.loop import STOP_GRACE_SECONDS, LoopControls, run_forever
from ..core.loop_events import progress_worth_telling
from ..core.loop_service import last_trigger_cycle, triggers_text
from ..core.problems import describe
from ..core.profile import Profile


class LoopRunner(QObject):
    cycle_started = Signal()
    cycle_finished = Signal(object)  # CycleReport
    problem = Signal(object)  # a round could not even start (or hit a bug): its core.problems.Problem
    waiting = Signal(float, int)  # seconds until the next cycle (inf while paused), failures in a row
    progress = Signal(int, int)  # records done, records in this cycle
    rate_wait = Signal(str, float)  # a cycle waits for a service's rate limit: system, seconds (0: done)
    seeded = Signal(object)  # the last finished trigger cycle (a dict) or None
    triggers = Signal(str)  # "Instant", "Checks every 7 min (…)"
    stopped = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None, profile: Profile | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.profile = profile
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
        if self.profile is not None:
            try:
                self.seeded.emit(last_trigger_cycle(self.profile))
            except Exception:  # a damaged database is the first cycle's to report
                self.seeded.emit(None)
            self.triggers.emit(triggers_text(self.profile))
        run_forever(self.engine, self, self._controls, stream=streaming.optional_for(self.engine))
        self.stopped.emit()

    # ---- core.loop.LoopObserver: called on the loop's threads, each becomes a queued signal ----------
    def on_cycle_started(self) -> None:
        self.cycle_started.emit()

    def on_report(self, report: CycleReport) -> None:
        self.cycle_finished.emit(report)
        if self.profile is not None:
            self.triggers.emit(triggers_text(self.profile))

    def on_error(self, exc: Exception) -> None:
        self.problem.emit(describe(exc))  # the tray shows it (gui/session.py) with its own sentence and fix

    def on_wait(self, seconds: float, failures: int) -> None:
        self.waiting.emit(seconds, failures)

    def on_progress(self, done: int, total: int) -> None:
        if progress_worth_telling(done, total, self._shown_progress):
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
