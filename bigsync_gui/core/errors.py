"""Typed errors of the core layer (the connectors have their own in ``connectors.errors``)."""

from __future__ import annotations


class CoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigInvalid(CoreError):
    """A settings file or value that cannot be used; ``field`` names the file or the setting."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class KeyringUnavailable(CoreError):
    """No usable OS keyring: we never fall back to storing secrets in a file."""


class KeyringLocked(CoreError):
    """The keyring exists but is locked (the user must unlock it)."""
