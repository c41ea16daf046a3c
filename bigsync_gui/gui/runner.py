"""The sync loop behind the GUI: core.loop in a background thread, reports as Qt signals.

The GUI only listens (``cycle_finished``, ``cycle_started``, ``error``); "Sync now" sets the
loop's wake event, which coalesces into one follow-up cycle if a cycle is running.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from ..core.engine import CycleReport, Engine
from ..core.loop import STOP_GRACE_SECONDS, run_forever


class LoopRunner(QObject):
    cycle_started = Signal()
    cycle_finished = Signal(object)  # CycleReport
    error = Signal(str)
    stopped = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bigsync-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        run_forever(self.engine, on_report=self.cycle_finished.emit, stop=self._stop, wake=self._wake,
                    on_error=lambda exc: self.error.emit(str(exc)), on_start=self.cycle_started.emit)
        self.stopped.emit()

    def sync_now(self) -> None:
        self._wake.set()

    def stop(self, wait: float = STOP_GRACE_SECONDS + 0.5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(wait)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())


__all__ = ["LoopRunner", "CycleReport"]
