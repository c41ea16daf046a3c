"""Salesforce record ids: 15-character case-sensitive ids and their 18-character case-safe form.

An id is a 3-character key prefix (``006`` Opportunity, ``001`` Account, ...), then the
instance/pod characters and a base-62 counter. The 18-character form appends three checksum
characters that encode, for each 5-character chunk of the 15-character id, which characters are
upper-case letters (bit *i* set for character *i*), as an index into ``A..Z0..5``. That is the
algorithm Salesforce documents for ``CASESAFEID`` and every client library uses.
"""

from __future__ import annotations

import re

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-5]{3})?$")

# The emulated org's pod characters (chars 4-5 of every id) and the reserved character after them.
POD = "Kx"


def checksum(id15: str) -> str:
    """The three case-safe suffix characters for a 15-character id."""
    if len(id15) != 15:
        raise ValueError(f"a 15-character id is needed, got {id15!r}")
    out = []
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : (chunk + 1) * 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        out.append(_SUFFIX_ALPHABET[bits])
    return "".join(out)


def to18(record_id: str) -> str:
    """The 18-character form of a 15- or 18-character id (an 18-character one is re-checked)."""
    if len(record_id) == 18:
        return record_id[:15] + checksum(record_id[:15])
    return record_id + checksum(record_id)


def is_valid(record_id: object) -> bool:
    """Well-formed: 15 alphanumerics, or 18 whose suffix matches the checksum (case-insensitively,
    as Salesforce accepts an 18-character id in any case of its suffix)."""
    if not isinstance(record_id, str) or not _ID_RE.match(record_id):
        return False
    if len(record_id) == 18:
        return record_id[15:].upper() == checksum(record_id[:15])
    return True


def normalize(record_id: str) -> str | None:
    """The canonical 18-character id, or None if ``record_id`` is not a well-formed id."""
    if not is_valid(record_id):
        return None
    return to18(record_id[:15])


def key_prefix(record_id: str) -> str:
    return record_id[:3]


def base62(n: int, width: int) -> str:
    chars = []
    while n:
        n, rem = divmod(n, 62)
        chars.append(_BASE62[rem])
    text = "".join(reversed(chars)) or "0"
    if len(text) > width:
        raise ValueError("id counter overflow")
    return text.rjust(width, "0")


def make_id(prefix: str, counter: int) -> str:
    """The 18-character id number ``counter`` for an object with key ``prefix``.

    Layout like a real id: prefix (3) + pod (2) + ``0`` + 9 base-62 digits + checksum (3).
    """
    if len(prefix) != 3:
        raise ValueError(f"a key prefix has 3 characters, got {prefix!r}")
    return to18(prefix + POD + "0" + base62(counter, 9))


ORG_ID = to18("00D" + POD + "000000ACME")
