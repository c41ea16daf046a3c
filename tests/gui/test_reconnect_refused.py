"""Settings › Reconnect… with a wrong API key (the new-user walk-through): the page said "✓ Connected to
BigTime" above "BigTime needs you to sign in again: the API key was refused". After a refused new
sign-in it says the key was refused and that BigSync still uses the connection saved before — never
"Connected" beside the refusal — and a later good key shows "Connected" again."""

from __future__ import annotations

import pytest
from PySide6.QtTest import QTest

from bigsync_gui.core import secrets
from bigsync_gui.core.settings import Settings
from bigsync_gui.sandbox import credentials as cred

from test_connect_keyboard import wizard_on_bigtime  # noqa: F401 (fixture)

WAIT = 15000


@pytest.fixture
def bigtime_page(wizard_on_bigtime):
    return wizard_on_bigtime.bigtime_page


def shown(page) -> str:
    """Every sentence the page shows about the connection, top to bottom."""
    labels = (page.connected_label, page.admin_label, page.status_label)
    return " | ".join(label.text() for label in labels if label.isVisible() and label.text())


def test_a_refused_new_key_keeps_the_saved_connection_in_words_that_agree(qtbot, bigtime_page, tmp_path):
    page = bigtime_page
    saved = f"Connected to BigTime: firm {cred.BT_FIRM_ID}, with the firm's API key."
    assert page.connected_label.text() == saved and page.connected_row.isVisible()
    page.again_button.click()
    QTest.keyClicks(page.api_key, "not-the-key")
    page.connect_key_button.click()
    qtbot.waitUntil(lambda: page.retry_button.isVisible(), timeout=WAIT)
    QTest.qWait(200)
    page.window().grab().save(str(tmp_path / "refused.png"))
    label = page.connected_label
    assert label.height() >= label.heightForWidth(label.width())  # its two lines, not cut to one
    words = shown(page)
    assert "The API key was refused — it may have been revoked, or the firm id is wrong." in words  # the refusal
    assert "needs you to sign in again" not in words  # the tray's words; here the admin is signing in
    assert "Connected" not in words and "✓" not in words  # and nothing claims a connection beside it
    assert page.connected_icon.isHidden()  # nor the ✓ mark of a connection
    assert page.connected_label.text() == (
        f"The key you entered was refused; BigSync still uses the connection "
        f"saved before (firm {cred.BT_FIRM_ID}, with the firm's API key)."
    )
    assert page.isComplete()  # the saved connection still counts: Next goes on with it
    assert secrets.Vault(page.context.profile).get(secrets.BIGTIME_API_KEY) == cred.BT_API_KEY  # unchanged
    assert Settings.load(page.context.profile).bigtime.connected

    page.api_key.setText(cred.BT_API_KEY)  # the right key: connected again, said as before
    page.retry_button.click()
    qtbot.waitUntil(lambda: page.again_button.isVisible(), timeout=WAIT)
    assert page.connected_label.text() == saved and page.connected_icon.isVisible()
    assert not page.status_row.isVisible()


def test_a_failed_new_sign_in_that_is_no_refusal_says_so(qtbot, bigtime_page, sandbox):
    """BigTime not answering is not a refused key: the words say the new sign-in did not go through."""
    page = bigtime_page
    page.again_button.click()
    page.advanced.setChecked(True)
    page.base_url.setText("https://127.0.0.1:9/")  # nothing listens there
    QTest.keyClicks(page.api_key, cred.BT_API_KEY)
    page.connect_key_button.click()
    qtbot.waitUntil(lambda: page.retry_button.isVisible(), timeout=WAIT)
    words = shown(page)
    assert "Connected" not in words and "refused" not in page.connected_label.text()
    kept = f"connection saved before (firm {cred.BT_FIRM_ID}, with the firm's API key)."
    assert page.connected_label.text() == "The key you entered could not be checked; BigSync still uses the " + kept
