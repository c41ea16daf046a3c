"""Named switches: each reading of a service that its documentation does not settle.

The emulators are never more lenient than the documentation. Where a lenient reading is still
plausible (a field the docs do not list, a path only one client uses), it is a named switch that
is off — the strict reading — by default; the admin API turns it on, so the client is tested
against both readings. One mechanism for every switch of every service:

- ``GET  /__sandbox__/switches`` lists them: ``{name: {value, strict, lenient, doc}}``;
- ``POST /__sandbox__/switches {"name": value, ...}`` sets some (all checked before any is set);
  ``{"preset": "strict"|"lenient"}`` sets every switch to that reading first.

A service declares its switches as :class:`Switch` values and keeps a :class:`Switches` with its
data, so they are saved in the state file and go back to the strict reading on reset.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


class SwitchError(ValueError):
    """An unknown switch or a value it does not take."""


@dataclass(frozen=True)
class Switch:
    name: str
    strict: Any  # the default: what the documentation supports
    lenient: Any  # the plausible reading the docs do not confirm
    doc: str
    check: Callable[[Any], Any] = bool  # the value as stored; raises ValueError/TypeError if invalid


def one_of(*choices: Any) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"use one of {', '.join(map(repr, choices))}")
        return value

    return check


def optional_int(minimum: int) -> Callable[[Any], int | None]:
    def check(value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"use an integer of at least {minimum}, or null")
        return value

    return check


def strict_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("use true or false")
    return value


class Switches:
    """The current value of each declared switch (the strict reading until set)."""

    def __init__(self, declared: Iterable[Switch], values: dict[str, Any] | None = None) -> None:
        self.declared = {s.name: s for s in declared}
        self.values = {name: s.strict for name, s in self.declared.items()}
        if values:
            self.values.update({k: v for k, v in values.items() if k in self.declared})

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def preset(self, reading: str) -> None:
        if reading not in ("strict", "lenient"):
            raise SwitchError("preset must be 'strict' or 'lenient'")
        self.values = {name: getattr(s, reading) for name, s in self.declared.items()}

    def set(self, changes: dict[str, Any]) -> None:
        """Check every change, then apply them all (a bad one changes nothing)."""
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            switch = self.declared.get(name)
            if switch is None:
                raise SwitchError(f"Unknown switch '{name}'. Known: {', '.join(sorted(self.declared))}")
            try:
                checked[name] = switch.check(value)
            except (TypeError, ValueError) as exc:
                raise SwitchError(f"Switch '{name}': {exc}") from None
        self.values.update(checked)

    def apply_request(self, body: Any) -> None:
        """The admin API's POST body: an optional ``preset`` first, then the named values."""
        if not isinstance(body, dict):
            raise SwitchError("The body must be a JSON object of switch names and values.")
        body = dict(body)
        preset = body.pop("preset", None)
        snapshot = dict(self.values)
        try:
            if preset is not None:
                self.preset(preset)
            self.set(body)
        except SwitchError:
            self.values = snapshot
            raise

    def to_json(self) -> dict[str, Any]:
        return dict(self.values)

    def listing(self) -> dict[str, Any]:
        return {
            name: {"value": self.values[name], "strict": s.strict, "lenient": s.lenient, "doc": s.doc}
            for name, s in sorted(self.declared.items())
        }


__all__ = ["Switch", "SwitchError", "Switches", "one_of", "optional_int", "strict_bool"]
