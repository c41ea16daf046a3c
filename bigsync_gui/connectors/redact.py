"""Keep secrets out of logs and error messages: one redactor for the whole app.

Two nets: the exact secrets seen at run time (the vault registers every secret it reads or
writes; a client may pass the credentials it just sent), and patterns for what tokens look like
(Salesforce access/refresh tokens, bearer headers, key=value pairs with secret-sounding names,
long opaque strings). :func:`redact` cleans a text; :class:`RedactingFilter` cleans log records.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "[hidden]"

_PATTERNS = [
    re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+"),  # Salesforce access token (session id)
    re.compile(r"5Aep[A-Za-z0-9._\-]{20,}"),  # Salesforce refresh token
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=!\-]+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|code_verifier|api[_-]?key|apitoken|password|pwd|token|code)"
        r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
    re.compile(r"(?i)(x-auth-(?:token|apitoken)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,}]+"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-.]+"),  # JWT-shaped tokens
    re.compile(r"\b[A-Za-z0-9_\-]{40,}\b"),  # any long opaque string
]

_lock = threading.Lock()
_known: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this exact value wherever it appears from now on (short values are ignored)."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret, each of ``extra``, and anything token-like masked."""
    with _lock:
        known = sorted(_known.union(v for v in extra if v and len(v) >= 6), key=len, reverse=True)
    for value in known:
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.re.groups else "") + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(handler: logging.Handler) -> logging.Handler:
    handler.addFilter(RedactingFilter())
    return handler
