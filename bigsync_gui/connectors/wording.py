"""Counts and durations in words, one wording shared by the CLI, the tray, Activity, the engine's and
the connectors' messages: "1 project", "2 projects", never "project(s)"; "40 s", "2 min", "1 h 5 min",
never "2 minutes". Here, the lowest layer, so the connectors' sentences can use it too."""

from __future__ import annotations

import math


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` with the noun in the number it takes; ``many`` where adding "s" is wrong."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def duration(seconds: float) -> str:
    """How long, for a person: "40 s" under a minute (rounded up, at least 1 s), "2 min" under an hour,
    "1 h" or "1 h 5 min" beyond (whole minutes, rounded)."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")
