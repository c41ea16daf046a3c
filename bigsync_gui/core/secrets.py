"""The secrets vault: refresh tokens, client secrets, API keys and passwords — in the OS keyring only.

Entries are namespaced by profile (``Profile.keyring_service``). When no keyring backend exists
the vault refuses with a sentence saying how to get one; there is no plaintext fallback. Access
tokens never come here: they live in memory. Every secret read or written is also registered
with the log redactor, so it cannot reach a log line by accident.
"""

from __future__ import annotations

import keyring
import keyring.backend
import keyring.errors
from keyring.backends import fail

from ..connectors import redact
from .errors import KeyringLocked, KeyringUnavailable
from .profile import Profile

# The names a profile may hold.
SALESFORCE_REFRESH_TOKEN = "salesforce.refresh_token"
BIGTIME_REFRESH_TOKEN = "bigtime.refresh_token"
BIGTIME_CLIENT_SECRET = "bigtime.client_secret"
BIGTIME_API_KEY = "bigtime.api_key"
BIGTIME_PASSWORD = "bigtime.password"
ALL_NAMES = (SALESFORCE_REFRESH_TOKEN, BIGTIME_REFRESH_TOKEN, BIGTIME_CLIENT_SECRET, BIGTIME_API_KEY, BIGTIME_PASSWORD)

NO_KEYRING_HELP = (
    "No system keyring is available to keep the sign-in tokens safe, and BigSync never stores them "
    "in a plain file. On a Linux desktop, install and unlock GNOME Keyring or KWallet (Secret Service); "
    "on a server, install the 'keyrings.alt' package and choose a backend with "
    "PYTHON_KEYRING_BACKEND (e.g. keyrings.alt.file.EncryptedKeyring)."
)


class Vault:
    def __init__(self, profile: Profile) -> None:
        self.service = profile.keyring_service

    def _backend(self) -> keyring.backend.KeyringBackend:
        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            raise KeyringUnavailable(NO_KEYRING_HELP)
        return backend

    def get(self, name: str) -> str | None:
        try:
            value = self._backend().get_password(self.service, name)
        except keyring.errors.KeyringLocked:
            raise KeyringLocked(
                "The system keyring is locked. Unlock it (log in to your desktop session) and try again."
            ) from None
        except keyring.errors.NoKeyringError:
            raise KeyringUnavailable(NO_KEYRING_HELP) from None
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable(
                f"The system keyring could not be read ({type(exc).__name__}). {NO_KEYRING_HELP}"
            ) from None
        if value:
            redact.register_secret(value)
        return value

    def set(self, name: str, value: str) -> None:
        redact.register_secret(value)
        try:
            self._backend().set_password(self.service, name, value)
        except keyring.errors.KeyringLocked:
            raise KeyringLocked("The system keyring is locked. Unlock it and try again.") from None
        except keyring.errors.NoKeyringError:
            raise KeyringUnavailable(NO_KEYRING_HELP) from None
        except keyring.errors.KeyringError as exc:
            raise KeyringUnavailable(
                f"The system keyring refused to store a secret ({type(exc).__name__}). {NO_KEYRING_HELP}"
            ) from None

    def delete(self, name: str) -> bool:
        try:
            self._backend().delete_password(self.service, name)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringLocked:
            raise KeyringLocked("The system keyring is locked. Unlock it and try again.") from None
        return True


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Secrets held in this process only — for the throwaway ``--sandbox`` profile, whose demo
    credentials open nothing real. Nothing is written anywhere; everything is gone at exit."""

    priority = 0.1  # never chosen automatically

    def __init__(self) -> None:
        super().__init__()
        self._values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self._values.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(username)
