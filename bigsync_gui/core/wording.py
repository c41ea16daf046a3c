"""Counts in words, shared by the CLI, the tray, Activity and the engine's messages: "1 project",
"2 projects", never "project(s)"."""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` with the noun in the number it takes; ``many`` where adding "s" is wrong."""
    return f"{n} {one if n == 1 else many or one + 's'}"
