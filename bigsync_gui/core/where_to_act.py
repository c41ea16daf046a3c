"""Sentences that tell the admin where to act, each surface pointing to its own place: the desktop
app to its window (Settings › Trigger), the command line to its flag (`configure --default-client`).

One sentence, the pointer a parameter. The state database keeps the command line's words
(``STORED``): the engine that writes a refusal runs as the CLI's `run --events` under the tray as well,
so it cannot know who will read it. Each reader turns a stored sentence into its own words when it
reads it (``for_surface``) — which also fixes sentences stored by earlier versions (docs/sync.md,
"Opportunities without an account")."""

from __future__ import annotations

import re
from typing import Literal

Surface = Literal["cli", "gui"]

WHERE_TO_CHOOSE_A_CLIENT: dict[Surface, str] = {
    "cli": "`bigsync-gui configure --default-client`",
    "gui": "Settings › Trigger",
}
STORED: Surface = "cli"
NO_ACCOUNT = (
    "the opportunity has no account, so there is no BigTime client to put the project under. "
    "Give it an account, or choose a client for such opportunities in {where}."
)
_EARLIER = ("Settings › Trigger (`configure --default-client`)",)  # stored before the pointer was per surface
_HEAD, _, _TAIL = NO_ACCOUNT.partition("{where}")
_POINTERS = sorted({*WHERE_TO_CHOOSE_A_CLIENT.values(), *_EARLIER}, key=len, reverse=True)
_STORED_SENTENCE = re.compile(
    re.escape(_HEAD) + "(?:" + "|".join(map(re.escape, _POINTERS)) + ")" + re.escape(_TAIL) + r"\Z"
)


def no_account(surface: Surface = STORED) -> str:
    """Why an opportunity without an account is refused (no default client chosen), and where to act."""
    return NO_ACCOUNT.format(where=WHERE_TO_CHOOSE_A_CLIENT[surface])


def for_surface(text: str, surface: Surface) -> str:
    """A stored message (an event's, a refusal's reason) in ``surface``'s words. Only the no-account
    sentence at its end is rewritten: an opportunity's name before it is Salesforce's, kept as is."""
    found = _STORED_SENTENCE.search(text)
    return text if found is None else text[: found.start()] + no_account(surface)


def is_no_account(reason: str) -> bool:
    """Whether a stored refusal is the no-account one (in any surface's words, or an earlier version's)."""
    return _STORED_SENTENCE.search(reason) is not None
