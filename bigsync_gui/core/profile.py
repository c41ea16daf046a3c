"""Where a setup lives: config dir (settings), data dir (state), log dir, keyring namespace.

The default profile uses the OS's usual places (platformdirs). ``--profile DIR`` moves all of it
under DIR and namespaces the keyring entries, so several setups — and every test — stay apart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .. import APP_NAME


@dataclass(frozen=True)
class Profile:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    root: Path | None = None  # ``--profile DIR``'s folder; None: the OS's usual places

    @property
    def keyring_service(self) -> str:
        """The keyring's namespace: the app's name, and for ``--profile DIR`` a digest of DIR. Worked
        out when the secrets are read, not before: hashlib loads OpenSSL's libcrypto (3 MB of the
        tray's memory), and the tray's process never reads a secret (docs/tray.md)."""
        if self.root is None:
            return APP_NAME
        import hashlib

        return f"{APP_NAME}/{hashlib.sha256(str(self.root).encode()).hexdigest()[:12]}"

    @classmethod
    def default(cls) -> Profile:
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        )

    @classmethod
    def at(cls, directory: str | os.PathLike[str]) -> Profile:
        root = Path(directory).expanduser().resolve()
        return cls(root / "config", root / "data", root / "logs", root)

    @classmethod
    def from_option(cls, directory: str | None) -> Profile:
        return cls.at(directory) if directory else cls.default()

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    def ensure_dirs(self) -> None:
        """Create the profile's folders, readable by the owner only."""
        for path in (self.config_dir, self.data_dir, self.log_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)
