"""Values that fit BigTime's character limits: an account's client code, and names cut on a word.

BigTime's limits and the reasoning behind the code's form are in connectors/bigtime_assumptions.py
("Character limits"; docs/sync.md, "Clients"). Everything here is a pure function of its input, so
every installation, and every release from this one on, derives the same code for an account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..connectors import bigtime_assumptions as A

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # a Salesforce id's characters
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # no letter case: the same code whatever BigTime compares
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"  # the 18-character id's case-safe suffix alphabet
_ID_RE = re.compile(r"[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?")
_BODY = 12  # an Account id's characters after its key prefix "001"
_DIGITS = A.CLIENT_CODE_MAX - len(A.CLIENT_CODE_PREFIX)  # 14 base-36 digits hold 62**12 values (36**14 > 62**12)
ELLIPSIS = "…"
_TRAILING = " ,;:-–—/&"  # left at the end of a cut name, these read badly before the ellipsis


def case_sensitive_id(record_id: str) -> str:
    """The 15-character, case-sensitive form of a Salesforce id given in 15 or 18 characters. An
    18-character id's letter case is read from its suffix, so it may come upper-cased or lower-cased
    (the suffix marks which of the 15 characters are capitals). Raises ValueError if malformed."""
    rid = (record_id or "").strip()
    if not _ID_RE.fullmatch(rid):
        raise ValueError(f"not a Salesforce record id: {record_id!r}")
    if len(rid) == 15:
        return rid
    chars = list(rid[:15])
    for chunk, mark in enumerate(rid[15:].upper()):
        bits = _SUFFIX.find(mark)
        if bits < 0:
            raise ValueError(f"not a Salesforce record id (its suffix is not case-safe): {record_id!r}")
        for i in range(5):
            ch = chars[chunk * 5 + i]
            capital = bool(bits >> i & 1)
            if capital and not ch.isalpha():
                raise ValueError(f"not a Salesforce record id (its suffix does not match it): {record_id!r}")
            chars[chunk * 5 + i] = ch.upper() if capital else ch.lower()
    return "".join(chars)


def case_safe_id(record_id: str) -> str:
    """The 18-character form (Salesforce's CASESAFEID) of a 15- or 18-character id."""
    id15 = case_sensitive_id(record_id)
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _SUFFIX[bits]
    return id15 + suffix


def client_code(account_id: str) -> str:
    """The client code of an account: ``S`` + its id's 12 characters after ``001``, read as a
    base-62 number, written in 14 base-36 digits (upper case). 15 characters; one account, one
    code, whatever the case BigTime compares in. Raises ValueError for an id that is not an
    Account's."""
    id15 = case_sensitive_id(account_id)
    if id15[:3] != A.ACCOUNT_KEY_PREFIX:
        raise ValueError(f"not an Account id: {account_id!r}")
    number = 0
    for ch in id15[3:]:
        number = number * 62 + _BASE62.index(ch)
    digits = ""
    for _ in range(_DIGITS):
        number, rem = divmod(number, 36)
        digits = _BASE36[rem] + digits
    return A.CLIENT_CODE_PREFIX + digits


def account_of_code(code: str | None) -> str | None:
    """The 18-character Account id a client code of ours stands for (any case, any earlier form),
    or None when the code is none of ours. A code cut by BigTime is not ours: it names no one."""
    text = (code or "").strip().upper()
    if text.startswith(A.LEGACY_CLIENT_CODE_PREFIX) and len(text) == len(A.LEGACY_CLIENT_CODE_PREFIX) + 18:
        try:
            return case_safe_id(text[len(A.LEGACY_CLIENT_CODE_PREFIX) :])
        except ValueError:
            return None
    if len(text) != A.CLIENT_CODE_MAX or not text.startswith(A.CLIENT_CODE_PREFIX):
        return None
    number = 0
    for ch in text[len(A.CLIENT_CODE_PREFIX) :]:
        if ch not in _BASE36:
            return None
        number = number * 36 + _BASE36.index(ch)
    if number >= 62**_BODY:
        return None
    body = ""
    for _ in range(_BODY):
        number, rem = divmod(number, 62)
        body = _BASE62[rem] + body
    return case_safe_id(A.ACCOUNT_KEY_PREFIX + body)


def legacy_client_code(account_id: str) -> str:
    """The code releases before this one gave an account's client: ``SF-`` + its 18-character id."""
    return A.LEGACY_CLIENT_CODE_PREFIX + case_safe_id(account_id)


def length(text: str) -> int:
    """A text's length as BigTime may count it: in UTF-16 code units (.NET's and SQL Server's
    count; an emoji is two), never fewer than its characters."""
    return len(text.encode("utf-16-le")) // 2


def _norm(text: str) -> str:
    """Names compared as a person reads them: case and spacing aside."""
    return " ".join(text.split()).casefold()


def _head(text: str, room: int) -> str:
    """The longest start of ``text`` that takes at most ``room`` units, never half a character."""
    out, used = [], 0
    for ch in text:
        used += length(ch)
        if used > room:
            break
        out.append(ch)
    return "".join(out)


def _cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` units with an ellipsis, on the last whitespace that leaves room for
    it (mid-word only when the first word alone is longer than half the room)."""
    if length(text) <= limit:
        return text
    room = limit - length(ELLIPSIS)
    head = _head(text, room)
    space = max(head.rfind(" "), head.rfind("\n"))
    if not text[len(head)].isspace() and space > 0 and length(head[:space]) >= room // 2:
        head = head[:space]
    return head.rstrip(_TRAILING + "\n\r\t") + ELLIPSIS


def fit_name(name: str, limit: int) -> str:
    """``name`` if it fits ``limit`` (``length``), else, its spacing tidied, cut on a word (``_cut``)."""
    text = name.strip()
    if length(text) <= limit:
        return text
    text = " ".join(text.split())
    return text if length(text) <= limit else _cut(text, limit)


def fit_name_apart(name: str, limit: int, taken: Iterable[str]) -> str:
    """``fit_name``, unless that cut is already another client's name (two accounts whose names share
    their first ``limit`` characters): then the name's last word is kept after the ellipsis
    (*Globex Corporation International… Engineering*), else a number is added: a person choosing
    between the two in BigTime can tell them apart. Names are compared ignoring case and spacing."""
    used = {_norm(t) for t in taken}
    fitted = fit_name(name, limit)
    if _norm(fitted) not in used or not fitted.endswith(ELLIPSIS):  # a whole name is the account's own
        return fitted
    words = " ".join(name.split()).split(" ")
    candidates = []
    if len(words) > 1 and length(words[-1]) <= limit // 3:
        tail = " " + words[-1]
        candidates.append(_cut(" ".join(words[:-1]), limit - length(tail)) + tail)
    for number in range(2, 100):
        suffix = f" ({number})"
        candidates.append(_cut(" ".join(words), limit - length(suffix)) + suffix)
    return next((c for c in candidates if _norm(c) not in used), fitted)


def is_cut_of(short: str, name: str, limit: int) -> bool:
    """Whether ``short`` (a BigTime name) is ``name`` as it fits ``limit``: whole, cut by us (with
    an ellipsis) or cut by BigTime (its first ``limit`` characters or UTF-16 units); case and
    spacing aside."""
    seen = _norm(short)
    return bool(seen) and seen in {
        _norm(name),
        _norm(fit_name(name, limit)),
        _norm(name.strip()[:limit]),
        _norm(_head(name.strip(), limit)),
    }


def notes_with_full_name(kind: str, name: str, name_limit: int, notes: str | None, notes_limit: int) -> str | None:
    """A record's notes (``notes``: the Salesforce description) fitted to ``notes_limit``, headed by
    the record's whole name when that name was cut to ``name_limit``; None when there is nothing."""
    whole = " ".join(name.split())
    parts = [f"{kind} name in Salesforce: {whole}"] if length(whole) > name_limit else []
    if notes and notes.strip():
        parts.append(notes.strip())
    if not parts:
        return None
    text = "\n\n".join(parts)
    return text if length(text) <= notes_limit else _cut(text, notes_limit)
