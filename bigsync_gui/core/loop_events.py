"""The sync process's wire format: what `bigsync-gui run --events` tells the tray, and what the
tray asks of it (docs/tray.md, "The sync process").

The tray starts the loop as a child process (gui/process_runner.py) so that its own process holds
Qt and the status only, not the engine, the HTTP stack and the keyring. The child writes one JSON
object per line on stdout, one per thing the loop tells (core.loop.LoopObserver), plus ``seed``
(the last finished trigger cycle, for the first status line) and ``triggers`` (how triggers arrive
now, in core.trigger_timing's words). The tray writes one command per line on stdin; the end of
stdin (the tray quit or died) stops the child as ``stop`` does.

Light on purpose: the tray imports this module, so it loads nothing of the engine.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .cycle_report import CycleReport
from .problems import Problem, problem_of

FLAG = "--events"  # `run --events`: the loop for the tray, hidden from `--help`
PAUSED_FLAG = "--paused"  # with it: start paused (the admin paused before the tray restarted)

# Commands, tray → sync process
SYNC = "sync"  # a cycle now, with the write-back of BigTime's figures (the tray's "Sync now")
CATCH_UP = "catch-up"  # a cycle now, the write-back keeps its own timer (woke from sleep, network back)
PAUSE = "pause"
RESUME = "resume"
STOP = "stop"
COMMANDS = frozenset({SYNC, CATCH_UP, PAUSE, RESUME, STOP})

# Events, sync process → tray: the event's name → the tray runner's signal it becomes
SIGNALS = {
    "cycle_started": "cycle_started",
    "progress": "progress",
    "report": "cycle_finished",
    "problem": "problem",
    "waiting": "waiting",
    "rate_wait": "rate_wait",
    "seed": "seeded",
    "triggers": "triggers",
}


def encode(event: str, **fields: Any) -> str:
    """One event as its line (``waiting``'s ``math.inf``, "paused", travels as null: JSON has no infinity)."""
    if event not in SIGNALS:
        raise ValueError(f"not an event of the sync process: {event!r}")
    if event == "waiting" and math.isinf(fields["seconds"]):
        fields["seconds"] = None
    return json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n"


def encode_problem(problem: Problem) -> str:
    return encode("problem", code=problem.code, system=problem.system, detail=problem.detail)


def decode(line: str) -> tuple[str, tuple[Any, ...]]:
    """A line the sync process wrote → (the runner's signal, its arguments). ValueError for anything
    else: a line that is not one of ours is logged and skipped, never guessed at."""
    try:
        data = json.loads(line)
        event = data["event"]
        signal = SIGNALS[event]
        args: tuple[Any, ...]
        if event == "cycle_started":
            args = ()
        elif event == "progress":
            args = (int(data["done"]), int(data["total"]))
        elif event == "report":
            args = (CycleReport.from_json(data["report"]),)
        elif event == "problem":
            args = (problem_of(str(data["code"]), data.get("system"), str(data.get("detail") or "")),)
        elif event == "waiting":
            seconds = math.inf if data["seconds"] is None else float(data["seconds"])
            args = (seconds, int(data["failures"]))
        elif event == "rate_wait":
            args = (str(data["system"]), float(data["seconds"]))
        elif event == "seed":
            cycle = data["cycle"]
            if cycle is not None and not isinstance(cycle, dict):
                raise TypeError("a cycle is an object")
            args = (cycle,)
        else:  # triggers
            args = (str(data["text"]),)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a line of the sync process: {line[:200]!r}") from exc
    return signal, args


def progress_worth_telling(done: int, total: int, last: tuple[int, int]) -> bool:
    """At most ~100 progress events a cycle, however many records ("Syncing… 120 of 400")."""
    step = max(1, total // 100)
    return done == total or done % step == 0 or total != last[1]
