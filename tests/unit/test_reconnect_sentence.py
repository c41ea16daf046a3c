"""A sign-in to make again is said in one whole sentence, ending with its period, whatever reason the
connector gave ("the API key was refused — … or the firm id is wrong" came without one)."""

from __future__ import annotations

import pytest

from bigsync_gui.connectors.errors import ReconnectNeeded


@pytest.mark.parametrize(
    "reason",
    [
        "the API key was refused — it may have been revoked, or the firm id is wrong",
        "the saved sign-in was revoked, expired or replaced (for example an administrator revoked the app's access).",
        "BigTime gave no refresh token",
    ],
)
def test_the_sentence_ends_with_one_period(reason: str) -> None:
    message = ReconnectNeeded("bigtime", reason).message
    assert message.startswith("BigTime needs you to sign in again: ")
    assert message.endswith(".") and not message.endswith("..")
    assert str(ReconnectNeeded("bigtime", reason)) == message
