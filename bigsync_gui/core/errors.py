"""Typed errors of the core layer (the connectors have their own in ``connectors.errors``).

``Transient`` is the one base for failures that pass by itself, on either side: catch it rather
than listing the classes (``core/problems.py`` maps every typed error to what the admin sees)."""

from __future__ import annotations

from typing import ClassVar

from ..connectors.errors import Transient
from ..connectors.systems import System

__all__ = [
    "Transient",
    "CoreError",
    "ConfigInvalid",
    "KeyringUnavailable",
    "KeyringLocked",
    "PickStageAgain",
    "ApiBudgetSpent",
    "CreateInDoubt",
    "AlreadyRunning",
]


class CoreError(Exception):
    """Base of the core's typed errors; like the connectors', each names its stable ``problem_code``."""

    problem_code: ClassVar[str]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigInvalid(CoreError):
    """A settings file or value that cannot be used; ``field`` names the file or the setting."""

    problem_code = "ConfigInvalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class KeyringUnavailable(CoreError):
    """No usable OS keyring: we never fall back to storing secrets in a file."""

    problem_code = "KeyringUnavailable"


class KeyringLocked(CoreError):
    """The keyring exists but is locked (the user must unlock it)."""

    problem_code = "KeyringLocked"


class PickStageAgain(CoreError):
    """The saved trigger stage no longer exists or was deactivated: syncing stops, no guessing."""

    problem_code = "PickStageAgain"


class ApiBudgetSpent(CoreError, Transient):
    """Today's share of the Salesforce API allowance is used up; syncing resumes at midnight UTC,
    ``retry_after`` seconds from now (the loop waits that long: "asked us to wait", not broken)."""

    problem_code = "ApiBudgetSpent"
    system = System.SALESFORCE

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CreateInDoubt(CoreError, Transient):
    """A BigTime create sent earlier got no answer (the app was killed, the connection dropped) and
    may still be landing: it is not looked up and sent again until ``retry_after`` seconds from now,
    when the longest a BigTime answer can take has passed (core.creation.in_doubt)."""

    problem_code = "CreateInDoubt"
    system = System.BIGTIME

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AlreadyRunning(CoreError):
    """Another copy of BigSync is syncing this profile right now."""

    problem_code = "AlreadyRunning"
