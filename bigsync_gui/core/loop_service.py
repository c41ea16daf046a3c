"""The sync loop as the tray's child process (`bigsync-gui run --events`), and the two readings of
the state database the tray's status starts from (also used by the in-process runner).

``serve`` runs core.loop.run_forever and speaks core.loop_events on the given streams: events out,
commands in. Whatever else writes to stdout (a library's print) goes to stderr instead, so the
tray never reads a line that is not an event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import IO, Any

from . import loop_events as wire
from . import streaming, trigger_timing
from .cycle_report import CycleReport
from .engine import Engine
from .loop import LoopControls, run_forever
from .problems import describe
from .profile import Profile
from .store import Store

log = logging.getLogger(__name__)


def last_trigger_cycle(profile: Profile) -> dict[str, Any] | None:
    """The last finished trigger cycle's row (the status line before this run's first cycle ends)."""
    db = profile.data_dir / "state.db"
    if not db.exists():
        return None
    store = Store(db)
    try:
        done = [c for c in store.cycles(5) if c.kind == "trigger" and c.result != "running"]
        return asdict(done[0]) if done else None
    finally:
        store.close()


def triggers_text(profile: Profile) -> str:
    """The tooltip's "Triggers: …" words, as the loop recorded them ("" if they cannot be read:
    a damaged settings file or database is a cycle's to report)."""
    try:
        timing = trigger_timing.timing(profile)
    except Exception:
        log.debug("trigger timing unreadable", exc_info=True)
        return ""
    return timing.words + (f" ({timing.reason})" if timing.reason else "")


class EventWriter:
    """A core.loop.LoopObserver that writes each thing the loop tells as an event line (called on
    the loop's threads: one line at a time)."""

    def __init__(self, out: IO[str], profile: Profile) -> None:
        self._out = out
        self._profile = profile
        self._lock = threading.Lock()
        self._shown_progress = (-1, -1)

    def write(self, line: str) -> None:
        with self._lock:
            self._out.write(line)
            self._out.flush()

    def on_cycle_started(self) -> None:
        self.write(wire.encode("cycle_started"))

    def on_report(self, report: CycleReport) -> None:
        self.write(wire.encode("report", report=report.to_json()))
        self.write(wire.encode("triggers", text=triggers_text(self._profile)))

    def on_error(self, exc: Exception) -> None:
        self.write(wire.encode_problem(describe(exc)))

    def on_wait(self, seconds: float, failures: int) -> None:
        self.write(wire.encode("waiting", seconds=seconds, failures=failures))

    def on_progress(self, done: int, total: int) -> None:
        if wire.progress_worth_telling(done, total, self._shown_progress):
            self._shown_progress = (done, total)
            self.write(wire.encode("progress", done=done, total=total))

    def on_rate_wait(self, system: str, seconds: float) -> None:
        self.write(wire.encode("rate_wait", system=system, seconds=seconds))


def follow_commands(commands: IO[str], controls: LoopControls) -> None:
    """Steer the loop by the tray's commands until ``stop`` or the end of the stream."""
    for line in commands:
        command = line.strip()
        if command == wire.SYNC:
            controls.refresh.set()
            controls.wake.set()
        elif command == wire.CATCH_UP:
            controls.wake.set()
        elif command == wire.PAUSE:
            controls.pause.set()
        elif command == wire.RESUME:
            controls.pause.clear()
            controls.wake.set()
        elif command == wire.STOP:
            break
        elif command:
            log.warning("the tray sent an unknown command: %r", command[:80])
    controls.stop.set()
    controls.wake.set()


def serve(make_engine: Callable[[], Engine], commands: IO[str], events: IO[str], paused: bool = False) -> int:
    """Run the loop for the tray. A start that fails (not configured, an unreadable settings
    file…) is told as a ``problem`` event before the non-zero exit; the tray tries again later."""
    controls = LoopControls()
    if paused:
        controls.pause.set()
    try:
        engine = make_engine()
    except Exception as exc:
        problem = describe(exc)
        events.write(wire.encode_problem(problem))
        events.flush()
        return problem.exit_code or 1
    profile = engine.connector.profile
    writer = EventWriter(events, profile)
    threading.Thread(target=follow_commands, args=(commands, controls), name="bigsync-commands", daemon=True).start()
    try:
        seed = last_trigger_cycle(profile)
    except Exception:  # a damaged database is the first cycle's to report
        log.exception("could not read the last cycle")
        seed = None
    writer.write(wire.encode("seed", cycle=seed))
    writer.write(wire.encode("triggers", text=triggers_text(profile)))
    return run_forever(engine, writer, controls, stream=streaming.optional_for(engine))
