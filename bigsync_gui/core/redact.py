"""Keep secrets out of logs: a logging filter that masks anything token-like.

Two nets: the exact secrets the vault has seen (registered at run time), and patterns for
what tokens look like (Salesforce access/refresh tokens, bearer headers, key=value pairs with
secret-sounding names, long opaque strings). Installed on the root logger's handlers by
:func:`install`.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "[redacted]"

_PATTERNS = [
    re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+"),  # Salesforce access token (session id)
    re.compile(r"5Aep[A-Za-z0-9._\-]{20,}"),  # Salesforce refresh token
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=!\-]+"),
    re.compile(r"(?i)((?:access_token|refresh_token|client_secret|code_verifier|api[_-]?key|apitoken|password|pwd|token|code)"
               r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"),
    re.compile(r"(?i)(x-auth-(?:token|apitoken)[\"']?\s*[:=]\s*[\"']?)[^\"'\s,}]+"),
    re.compile(r"\b[A-Za-z0-9_\-]{40,}\b"),  # any long opaque string
]

_lock = threading.Lock()
_known: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this exact value wherever it appears from now on (short values are ignored)."""
    if value and len(value) >= 6:
        with _lock:
            _known.add(value)


def redact(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
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
