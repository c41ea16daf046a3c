"""doctor's check of BigTime's character limits against what the firm's BigTime holds: the longest
client code and client name in its client list, against the 15 and 50 characters its help gives
(connectors/bigtime_assumptions.py, "Character limits"). Lengths only, never the values.

A longer one tells what BigTime's API does beyond a limit, which nothing documents: it kept a
longer value (an earlier BigSync's ``SF-`` + 18 codes, or one typed in the web app), or it cut
ours to the limit. BigSync never sends a longer value, so neither stops it: not *needed*.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..connectors import bigtime_assumptions as A
from ..connectors.bigtime import Client
from .bigtime_limits import length
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check

CODE_KEY = "bigtime.client_code_length"
NAME_KEY = "bigtime.client_name_length"
CODE_TITLE = f"Client codes in BigTime fit its limit of {A.CLIENT_CODE_MAX} characters"
NAME_TITLE = f"Client names in BigTime fit its limit of {A.CLIENT_NAME_MAX} characters"


def not_checked(why: str) -> list[Check]:
    return [
        Check("bigtime", CODE_KEY, CODE_TITLE, NOT_CHECKED, False, why),
        Check("bigtime", NAME_KEY, NAME_TITLE, NOT_CHECKED, False, why),
    ]


def _check(key: str, title: str, what: str, limit: int, lengths: list[int], over_note: str) -> Check:
    longest = max(lengths)
    seen = (f"{what}: longest {longest} characters, limit {limit}",)
    if longest <= limit:
        return Check("bigtime", key, title, CONFIRMED, False, seen=seen)
    over = sum(1 for n in lengths if n > limit)
    clients = "client has" if over == 1 else "clients have"
    return Check(
        "bigtime",
        key,
        title,
        DIFFERENT,
        False,
        f"{over} {clients} a {what.lower()} longer than {limit} characters (the longest: {longest}), so "
        f"this BigTime keeps more than its help says. {over_note}",
        seen,
    )


def check_client_limits(clients: Sequence[Client]) -> list[Check]:
    """The longest client code and name found in BigTime, each against its limit."""
    codes = [c.code.strip() for c in clients if c.code and c.code.strip()]
    names = [length(c.name.strip()) for c in clients if c.name and c.name.strip()]
    if not codes and not names:
        return not_checked("BigTime has no clients yet.")
    over = [code for code in codes if length(code) > A.CLIENT_CODE_MAX]
    legacy = sum(1 for code in over if code.upper().startswith(A.LEGACY_CLIENT_CODE_PREFIX))
    earlier = (
        f" {legacy} of them look made by an earlier BigSync (codes starting "
        f"'{A.LEGACY_CLIENT_CODE_PREFIX}'); BigSync still finds them."
        if legacy
        else ""
    )
    return [
        _check(
            CODE_KEY,
            CODE_TITLE,
            "Client code",
            A.CLIENT_CODE_MAX,
            [length(code) for code in codes],
            f"Nothing to do: BigSync's new clients get {A.CLIENT_CODE_MAX}-character codes all the same." + earlier,
        )
        if codes
        else Check("bigtime", CODE_KEY, CODE_TITLE, NOT_CHECKED, False, "No client has a code."),
        _check(
            NAME_KEY,
            NAME_TITLE,
            "Client name",
            A.CLIENT_NAME_MAX,
            names,
            f"Nothing to do: BigSync cuts the names of its new clients to {A.CLIENT_NAME_MAX} all the same, "
            "with the whole name in their notes.",
        )
        if names
        else Check("bigtime", NAME_KEY, NAME_TITLE, NOT_CHECKED, False, "No client has a name."),
    ]
