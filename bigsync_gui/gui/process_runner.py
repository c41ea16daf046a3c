"""The sync loop in a child process (`bigsync-gui run --events`), its events as Qt signals.

The tray's process then holds Qt and the status only: the engine, the HTTP stack, the keyring and
TLS live in the child (docs/tray.md, "The sync process"). The signals are gui/runner.py's, so the
session does not care which runner it has. The child is watched: if it ends without being asked
(a crash, a kill), the tray says so and starts it again after 5 s, 10 s, 20 s … at most 5 min; the
cycle it was in resumes where it was (every create was journaled before it was sent). Closing
the tray closes the child's stdin, which stops it, even when the tray itself was killed.
"""

from __future__ import annotations

import logging
import sys
import time

from PySide6.QtCore import QByteArray, QObject, QProcess, QTimer, Signal

from ..core import loop_events as wire
from ..core.problems import UNEXPECTED, problem_of

log = logging.getLogger(__name__)

STOP_WAIT_MS = 5000  # the loop's own grace (core.loop.STOP_GRACE_SECONDS, 4.5 s) and a margin
RESTART_FIRST_SECONDS, RESTART_MAX_SECONDS = 5, 300
STEADY_SECONDS = 60  # a child that ran this long before ending starts the backoff afresh


def sync_command(profile_dir: str | None, paused: bool) -> list[str]:
    """The child's command line: this same program, its `run --events` (frozen build: the program itself)."""
    program = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "bigsync_gui"]
    profile = ["--profile", profile_dir] if profile_dir else []
    return [*program, *profile, "run", wire.FLAG, *([wire.PAUSED_FLAG] if paused else [])]


class ProcessRunner(QObject):
    cycle_started = Signal()
    cycle_finished = Signal(object)  # CycleReport
    problem = Signal(object)  # core.problems.Problem
    waiting = Signal(float, int)
    progress = Signal(int, int)
    rate_wait = Signal(str, float)
    seeded = Signal(object)  # the last finished trigger cycle (a dict) or None
    triggers = Signal(str)
    stopped = Signal()

    def __init__(self, profile_dir: str | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile_dir = profile_dir
        self._process: QProcess | None = None
        self._paused = False
        self._stopping = False
        self._told_problem = False  # the child told why it ends: no second "stopped unexpectedly"
        self._restarts = 0
        self._started_at = 0.0
        self._restart = QTimer(self)
        self._restart.setSingleShot(True)
        self._restart.timeout.connect(self.start)

    # ---- the child --------------------------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._told_problem = False
        self._restart.stop()
        command = sync_command(self.profile_dir, self._paused)
        process = self._process = QProcess(self)
        process.setProgram(command[0])
        process.setArguments(command[1:])
        process.readyReadStandardOutput.connect(self._read_events)
        process.readyReadStandardError.connect(self._read_errors)
        process.finished.connect(self._ended)
        process.errorOccurred.connect(self._failed_to_start)
        self._started_at = time.monotonic()
        process.start()

    @property
    def pid(self) -> int:
        """The child's process id (0 when none runs)."""
        return int(self._process.processId()) if self.running and self._process is not None else 0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def _send(self, command: str) -> None:
        if self.running and self._process is not None:
            self._process.write(QByteArray((command + "\n").encode()))

    def _read_events(self) -> None:
        process = self._process
        while process is not None and process.canReadLine():
            line = bytes(process.readLine().data()).decode("utf-8", "replace")
            try:
                signal, args = wire.decode(line)
            except ValueError as exc:
                log.warning("%s", exc)
                continue
            if signal == "problem":
                self._told_problem = True
            elif signal == "cycle_finished":
                self._restarts = 0  # a cycle got through: a later crash starts the backoff afresh
            getattr(self, signal).emit(*args)

    def _read_errors(self) -> None:
        if self._process is None:
            return
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                log.warning("sync process: %s", line)  # the log file's handler redacts it

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            log.error("the sync process could not start: %s", self._process.errorString() if self._process else error)
            self._ended(-1, QProcess.ExitStatus.CrashExit)

    def _ended(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read_events()
        self._read_errors()
        if self._stopping:
            return
        if time.monotonic() - self._started_at >= STEADY_SECONDS:
            self._restarts = 0
        self._restarts += 1
        delay = min(RESTART_FIRST_SECONDS * 2 ** (self._restarts - 1), RESTART_MAX_SECONDS)
        how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"ended (exit code {code})"
        log.warning("the sync process %s; starting it again in %s s", how, delay)
        if not self._told_problem:
            self.problem.emit(
                problem_of(UNEXPECTED, None, f"The sync process {how} unexpectedly; the log file has the details.")
            )
        self.waiting.emit(float(delay), self._restarts)
        self._restart.start(int(delay * 1000))

    # ---- what the tray asks -------------------------------------------------------------------------
    def sync_now(self, figures: bool = True) -> None:
        """A cycle now; ``figures``: the write-back too. A child waiting to be started again starts now."""
        if not self.running and not self._stopping:
            self.start()
        self._send(wire.SYNC if figures else wire.CATCH_UP)

    def pause(self) -> None:
        self._paused = True
        self._send(wire.PAUSE)

    def resume(self) -> None:
        self._paused = False
        self._send(wire.RESUME)

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self, wait_ms: int = STOP_WAIT_MS) -> None:
        """Stop the child (it finishes within the loop's grace), killing it if it does not."""
        self._stopping = True
        self._restart.stop()
        process = self._process
        if process is None or not self.running:
            return
        self._send(wire.STOP)
        process.closeWriteChannel()
        if not process.waitForFinished(wait_ms):
            log.warning("the sync process did not stop in time: ended")
            process.kill()
            process.waitForFinished(1000)
        self.stopped.emit()
