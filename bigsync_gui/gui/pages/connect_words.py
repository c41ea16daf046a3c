"""The connect pages' sentences for what a sign-in ended in: a failure, or a failure over a
connection saved before (kept, and said so without "Connected" beside the failure)."""

from __future__ import annotations

from ...connectors.errors import ReconnectNeeded
from .common import sentence


def error_sentence(exc: BaseException) -> str:
    """One sentence for whatever a sign-in or a save raised (typed errors carry theirs). A refusal is
    said as what was refused: "… needs you to sign in again" is the tray's words, not for a sign-in."""
    if isinstance(exc, ReconnectNeeded) and exc.reason:
        end = "" if exc.reason.endswith((".", "!", "?")) else "."
        return exc.reason[:1].upper() + exc.reason[1:] + end
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return sentence(exc)  # "the sync will try again" becomes "Click Retry"
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return (
        f"Something unexpected went wrong while connecting ({type(exc).__name__}). Click Retry; if it keeps "
        "failing, see the log."
    )


def kept_sentence(connected: str, label: str, attempt: tuple[str, str], refused: bool) -> str:
    """After a new sign-in failed over a saved one: the saved connection is kept, said without
    "Connected" beside the failure ("The key you entered was refused; BigSync still uses …").
    ``attempt``: what was tried and how it ended short of a refusal (``ConnectPage.attempt_words``)."""
    what = connected.removeprefix(f"Connected to {label}: ").rstrip(".")
    saved = f" ({what})" if what != connected.rstrip(".") else ""
    tried, failed = attempt
    return f"{tried} {'was refused' if refused else failed}; BigSync still uses the connection saved before{saved}."
