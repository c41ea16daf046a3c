"""The app's log files, per profile: rotated, readable by the owner only, and redacted.

``bigsync.log`` is the sync's (the tray's sync process, `run`, `sync` and the other commands);
``tray.log`` the desktop app's own process (its windows and tray; in ``--sandbox`` its sync too).
One writer per file in the usual case: a rotating file two processes write is renamed under one of
them (on Windows the rename fails while the other holds it open, and every later line is lost).

Every record passes the redactor (``connectors.redact``) before it is written, so a token that
slips into a message or a traceback never reaches the disk. The rotating handler itself is made at
the first record: nothing logs before the tray icon shows, and logging.handlers (with pickle and
queue behind it) was ~2 % of the CPU time to "tray ready" (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import os

from ..connectors.redact import RedactingFilter
from .profile import Profile

LOG_NAME = "bigsync.log"
TRAY_LOG_NAME = "tray.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_BYTES = 1_000_000
BACKUPS = 3


def _create_owner_only(path: str) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _rotate(source: str, dest: str) -> None:
    """The handler's rotator: the file it opens next is owner-only too (it would get the umask's mode)."""
    if os.path.exists(source):
        os.rename(source, dest)
    _create_owner_only(source)


class LogFile(logging.Handler):
    """A ``RotatingFileHandler`` on ``path``, made when the first record comes (under this
    handler's lock, as every emit is)."""

    def __init__(self, path: str, level: int) -> None:
        super().__init__(level)
        self.baseFilename = path
        self._file: logging.FileHandler | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self._file is None:
            from logging.handlers import RotatingFileHandler

            self._file = RotatingFileHandler(
                self.baseFilename, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
            )
            self._file.rotator = _rotate
            self._file.setFormatter(self.formatter)
        self._file.emit(record)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


def setup_logging(profile: Profile, level: int = logging.INFO, name: str = LOG_NAME) -> logging.Handler:
    """Attach the profile's rotating log file ``name`` to the root logger (once per file)."""
    profile.ensure_dirs()
    path = profile.log_dir / name
    root = logging.getLogger()
    for existing in root.handlers:
        if isinstance(existing, LogFile) and existing.baseFilename == str(path):
            return existing
    if not path.exists():
        _create_owner_only(str(path))
    handler = LogFile(str(path), level)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    for noisy in ("urllib3", "werkzeug", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
