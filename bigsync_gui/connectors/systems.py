"""The two services we connect, each with one name for code and one for people: the value kept in
settings, reports and keyring entries (``"salesforce"``) and the label a sentence shows
(``"Salesforce"``). A ``System`` is a ``str``, so it compares and serialises as its value."""

from __future__ import annotations

from enum import StrEnum


class System(StrEnum):
    SALESFORCE = "salesforce"
    BIGTIME = "bigtime"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {System.SALESFORCE: "Salesforce", System.BIGTIME: "BigTime"}


def label_of(system: str | None, unknown: str = "A service") -> str:
    """The label of a system's value (``"bigtime"`` → ``"BigTime"``); ``unknown`` for anything else."""
    try:
        return System(system or "").label
    except ValueError:
        return unknown
