"""The app's log file: one per profile, rotated, readable by the owner only, and redacted.

Every record passes the redactor (``connectors.redact``) before it is written, so a token that
slips into a message or a traceback never reaches the disk.
"""

from __future__ import annotations

import logging
import logging.handlers
import os

from ..connectors.redact import RedactingFilter
from .profile import Profile

LOG_NAME = "bigsync.log"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(profile: Profile, level: int = logging.INFO) -> logging.Handler:
    """Attach the profile's rotating log file to the root logger (once per profile)."""
    profile.ensure_dirs()
    path = profile.log_dir / LOG_NAME
    root = logging.getLogger()
    for existing in root.handlers:
        if isinstance(existing, logging.handlers.RotatingFileHandler) and existing.baseFilename == str(path):
            return existing
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
    for noisy in ("urllib3", "werkzeug", "requests_oauthlib", "oauthlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
