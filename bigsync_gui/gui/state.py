"""What the tray and the status window show, decided without Qt: one state, one status line,
the fixing action, and which notifications to raise (each problem once, not every cycle).

The loop's reports and signals go in (``cycle_started``, ``progress``, ``rate_waiting``,
``cycle_finished``, ``start_failed``, ``waiting``, ``set_paused``); the views read ``state``, ``status_line()``,
``tooltip()`` and ``fix``. Each failure arrives as a :class:`Problem` of ``core/problems.py`` (a
failed cycle's report rebuilds it from its stable code and service): one state, one sentence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..connectors.systems import label_of
from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import duration, plural
from ..core.problems import FixAction, Problem, SyncState

__all__ = ["APP_TITLE", "FixAction", "Notification", "Problem", "StatusModel", "SyncState"]

APP_TITLE = "BigSync"


@dataclass(frozen=True)
class Notification:
    title: str
    message: str
    severity: str  # "info" | "warning" | "error"
    fix: FixAction | None = None  # clicking it runs this fix; without one it opens Activity
    problems: bool = False  # Activity opens on the problems (its "Problems only" filter)


def ago(seconds: float) -> str:
    if seconds < 60:
        return "just now"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago"
    days = hours // 24
    return f"{days} day{'s' if days != 1 else ''} ago"


def about(seconds: float) -> str:
    """ "about 40 s", "about 2 min": a wait, for a person."""
    return f"about {duration(seconds)}"


def clock_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M")


class StatusModel:
    """The sync's status as the admin sees it. Feed it the loop's events; read the answers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.paused = False
        self.syncing = False
        self.progress_done = 0
        self.progress_total = 0
        self.last_sync_at: float | None = None
        self.round: dict[str, int] = {}
        self.last_round: dict[str, int] = {}
        self.problems: dict[str, Problem] = {}  # by source: "trigger", "writeback", "start"
        self.next_try_at: float | None = None
        self.rate_wait: tuple[str, float] | None = None  # (system, until): a cycle waits for its rate limit
        self.failures = 0
        self._notified: set[str] = set()
        self._told_rejected = 0  # refusals in the last round (told once while the count stays)
        self.triggers = ""  # core.trigger_timing's words: "Instant" or "Checks every 7 min"

    # ---- input ---------------------------------------------------------------------------------
    def seed(self, last_cycle: dict[str, Any] | None) -> None:
        """Start from the newest finished cycle in the store (before the first cycle of this run)."""
        if not last_cycle or last_cycle.get("result") in (None, "running"):
            return
        ended = last_cycle.get("ended_at") or last_cycle.get("started_at")
        if last_cycle["result"] != "failed" and ended:
            try:
                self.last_sync_at = parse_timestamp(ended).timestamp()
            except ValueError:
                return
            self.last_round = {k: int(last_cycle.get(k) or 0) for k in ("created", "written", "rejected", "severed")}

    def cycle_started(self) -> None:
        self.syncing = True
        self.progress_done = self.progress_total = 0
        self.round = {}
        self.next_try_at = None
        self.rate_wait = None

    def progress(self, done: int, total: int) -> None:
        self.progress_done, self.progress_total = done, total

    def rate_waiting(self, system: str, seconds: float) -> None:
        """The running cycle waits ``seconds`` for ``system``'s rate limit (0: the wait is over)."""
        self.rate_wait = (system, self.clock() + seconds) if seconds > 0 else None

    def cycle_finished(self, report: Any) -> None:
        """One CycleReport (the trigger cycle, then possibly a write-back one)."""
        if report.result == "failed":
            self.problems[report.kind] = report.problem()
        else:
            self.problems.pop(report.kind, None)
            self.problems.pop("start", None)
            self.last_sync_at = self.clock()
            for key in ("created", "written", "rejected", "severed"):
                self.round[key] = self.round.get(key, 0) + int(getattr(report, key, 0) or 0)
            self.last_round = dict(self.round)

    def start_failed(self, problem: Problem) -> None:
        """A cycle could not even start (not configured, another copy running, keyring locked…)."""
        self.problems["start"] = problem

    def round_notification(self) -> Notification | None:
        """The one balloon for the round that just ended (its cycles and any failure to start), or
        None: "2 new projects · 1 could not be synced · Salesforce needs you to sign in again",
        with the click that helps. A problem already told, or the same count of refusals as the
        round before (the same records refused again, most likely), is not told again."""
        created, rejected = self.round.get("created", 0), self.round.get("rejected", 0)
        self.round = {}
        parts = [plural(created, "new project", "new projects")] if created else []
        if rejected and rejected != self._told_rejected:
            parts.append(
                f"{rejected} could not be synced"
                if parts
                else f"{plural(rejected, 'opportunity', 'opportunities')} could not be synced"
            )
        self._told_rejected = rejected
        new = self._new_problems()
        parts += [p.headline for p in new]
        if not parts:
            return None
        fix = next((p.fix for p in new if p.fix), None)
        if fix is not None:
            message = f"Click to {fix.label[0].lower()}{fix.label[1:].rstrip('…')}."
        elif new or len(parts) > 1 or not created:
            message = "Click to see why in Activity."
        else:
            message = (
                "Created from an opportunity that reached the trigger stage. Click to see it in Activity."
                if created == 1
                else "Created from opportunities that reached the trigger stage. Click to see them in Activity."
            )
        severity = (
            "error"
            if any(p.state is SyncState.ERROR for p in new)
            else "warning"
            if new or len(parts) > 1 or not created
            else "info"
        )
        return Notification(" · ".join(parts), message, severity, fix, problems=severity != "info")

    def waiting(self, seconds: float, failures: int) -> None:
        self.syncing = False
        self.rate_wait = None
        self.failures = failures
        self.next_try_at = None if math.isinf(seconds) or failures == 0 else self.clock() + seconds

    def set_paused(self, paused: bool) -> None:
        self.paused = paused

    def _new_problems(self) -> list[Problem]:
        """Problems not told yet (offline is never told: the icon says it; laptops go offline)."""
        active = {p.key: p for p in self.problems.values()}
        self._notified &= set(active)  # a problem that went away may be told again when it comes back
        new = [p for key, p in active.items() if key not in self._notified and p.state is not SyncState.OFFLINE]
        self._notified |= set(active)
        return new

    # ---- output --------------------------------------------------------------------------------
    @property
    def problem(self) -> Problem | None:
        for source in ("start", "trigger", "writeback"):
            if source in self.problems:
                return self.problems[source]
        return next(iter(self.problems.values()), None)

    @property
    def state(self) -> SyncState:
        if self.paused:
            return SyncState.PAUSED
        if self.syncing:
            return SyncState.SYNCING
        problem = self.problem
        return problem.state if problem else SyncState.IDLE

    @property
    def fix(self) -> FixAction | None:
        problem = self.problem
        return problem.fix if problem and problem.state is SyncState.ATTENTION else None

    def summary(self) -> str:
        r = self.last_round
        parts = []
        if r.get("created"):
            parts.append(plural(r["created"], "project created", "projects created"))
        if r.get("written"):
            parts.append(plural(r["written"], "opportunity updated", "opportunities updated"))
        if r.get("severed"):
            parts.append(plural(r["severed"], "link severed", "links severed"))
        if r.get("rejected"):
            parts.append(f"{r['rejected']} refused")
        return ", ".join(parts) or "up to date"

    def status_line(self) -> str:
        state = self.state
        if state is SyncState.PAUSED:
            return "Syncing paused · finishing the current cycle" if self.syncing else "Syncing paused"
        if state is SyncState.SYNCING:
            left = self.rate_wait[1] - self.clock() if self.rate_wait else 0.0
            if self.rate_wait and left > 0:
                return f"Waiting for {label_of(self.rate_wait[0], unknown='the service')}'s rate limit — {about(left)}"
            if self.progress_total:
                return f"Syncing… {self.progress_done} of {self.progress_total}"
            return "Syncing…"
        problem = self.problem
        if problem is not None:
            line = problem.headline
            if problem.state is not SyncState.ATTENTION and self.next_try_at is not None:
                line += f" · next try at {clock_time(self.next_try_at)}"
            return line
        if self.last_sync_at is None:
            return "Not synced yet"
        return f"Last sync {ago(self.clock() - self.last_sync_at)} · {self.summary()}"

    def tooltip(self) -> str:
        """Plain text. The first line is ours, so Qt never takes the rest for rich text."""
        lines = [APP_TITLE, self.status_line()] + ([f"Triggers: {self.triggers}"] if self.triggers else [])
        problem = self.problem
        if problem is not None and problem.detail and problem.detail != problem.headline:
            lines.append(problem.detail)
        return "\n".join(lines)
