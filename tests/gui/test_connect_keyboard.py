"""Issue 20 items 2 and 9: Enter in a connect page's form presses the page's own action (Connect, Sign in),
not the wizard's Next; after "Sign in again" focus is in the empty key field; tab order follows the screen."""

from __future__ import annotations

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWizard
from shiboken6 import isValid

from bigsync_gui.connectors.oauth import AuthorizationAttempt, salesforce_endpoints
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.core.settings import Settings
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.wizard import SetupWizard
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse

WAIT = 15000


@pytest.fixture
def wizard_on_bigtime(qtbot, tmp_path, sandbox):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    profile = Profile.at(tmp_path / "profile")
    Connector(profile).save_bigtime_key(sandbox.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    context = SetupContext(profile)
    context.engine = Engine(context.connector)
    wizard = SetupWizard(context, start_page="bigtime")  # as Settings › Reconnect… opens it
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    yield wizard
    keyring.set_keyring(previous)


def test_enter_in_the_key_field_connects_and_stays(qtbot, wizard_on_bigtime, sandbox):
    wizard = wizard_on_bigtime
    page = wizard.bigtime_page
    start = wizard.currentId()
    assert page.isComplete() and page.again_button.isVisible()  # connected: Next is the default
    page.again_button.click()
    assert page.api_key.hasFocus() and page.api_key.text() == ""  # item 9
    QTest.keyClicks(page.api_key, cred.BT_API_KEY)
    assert page.connect_key_button.isDefault()
    assert not wizard.button(QWizard.WizardButton.NextButton).isDefault()
    QTest.keyClick(page.api_key, Qt.Key.Key_Return)
    assert wizard.currentId() == start and page.state == "working"  # Connect, not Next
    qtbot.waitUntil(lambda: page.state == "form" and page.again_button.isVisible(), timeout=WAIT)
    assert wizard.currentId() == start and not page.status_row.isVisible()
    assert Settings.load(page.context.profile).bigtime.connected
    # connected again: Enter is the wizard's once more
    assert wizard.button(QWizard.WizardButton.NextButton).isDefault() and not page.connect_key_button.isDefault()


def test_enter_with_a_wrong_key_says_so_instead_of_going_on(qtbot, wizard_on_bigtime):
    wizard = wizard_on_bigtime
    page = wizard.bigtime_page
    start = wizard.currentId()
    page.again_button.click()
    QTest.keyClicks(page.api_key, "not-a-key")
    QTest.keyClick(page.api_key, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: page.status_row.isVisible() and page.state == "form", timeout=WAIT)
    assert wizard.currentId() == start and page.retry_button.isVisible()


def test_enter_in_the_salesforce_form_signs_in_again(qtbot, tmp_path, sandbox):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        profile = Profile.at(tmp_path / "p")
        connector = Connector(profile)
        endpoints = salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY, cred.SF_REDIRECT_URIS[0])
        attempt = AuthorizationAttempt(endpoints, connector.http["salesforce"])
        connector.save_salesforce(
            endpoints,
            sandbox.salesforce_url,
            attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "salesforce"))),
        )
        wizard = SetupWizard(SetupContext(profile), start_page="salesforce")
        qtbot.addWidget(wizard)
        wizard.show()
        page = wizard.salesforce_page
        start = wizard.currentId()
        assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        page.again_button.click()
        page.consumer_key.setFocus()
        QTest.keyClick(page.consumer_key, Qt.Key.Key_Return)
        assert wizard.currentId() == start and page.state in ("working", "browser")  # Sign in, not Next
        qtbot.waitUntil(lambda: page.browser is not None or page.status_row.isVisible(), timeout=WAIT)
        browser = page.browser
        page.abort()
        if browser is not None:  # the page before its profile, before the next test
            qtbot.waitUntil(lambda: not isValid(browser), timeout=WAIT)
    finally:
        keyring.set_keyring(previous)
        QApplication.processEvents()


def focus_chain(page) -> list:
    """The page's widgets that Tab stops at, in Tab's order (visible and enabled ones)."""
    from PySide6.QtCore import Qt as _Qt

    chain, widget = [], page.nextInFocusChain()
    for _ in range(500):
        if widget is page:
            break
        if (
            page.isAncestorOf(widget)
            and widget.isVisible()
            and widget.isEnabled()
            and widget.focusPolicy() & _Qt.FocusPolicy.TabFocus
        ):
            chain.append(widget)
        widget = widget.nextInFocusChain()
    return chain


def assert_follows_the_screen(page) -> None:
    """Each stop is below the previous one, or on the same line further right (reading order)."""
    chain = focus_chain(page)
    assert len(chain) >= 4
    spots = [(w, w.mapTo(page.window(), w.rect().topLeft()), w.height()) for w in chain]
    for (a, pa, ha), (b, pb, hb) in zip(spots, spots[1:]):
        same_line = abs(pa.y() - pb.y()) < max(ha, hb) // 2 + 2
        assert (same_line and pb.x() > pa.x()) or (not same_line and pb.y() > pa.y()), (
            f"Tab goes from {a.objectName() or type(a).__name__} "
            f"{a.accessibleName() or getattr(a, 'text', lambda: '')()!r} "
            f"at {pa.toTuple()} to {b.objectName() or type(b).__name__} "
            f"{b.accessibleName() or getattr(b, 'text', lambda: '')()!r} at {pb.toTuple()}"
        )


@pytest.mark.parametrize("mode", ["oauth", "key"])
def test_tab_order_follows_the_screen_on_the_bigtime_page(qtbot, tmp_path, mode):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")), start_page="bigtime")
        qtbot.addWidget(wizard)
        wizard.show()
        page = wizard.bigtime_page
        (page.use_oauth if mode == "oauth" else page.use_key).setChecked(True)
        page.advanced.setChecked(True)  # its address shows under it, above the buttons
        QApplication.processEvents()
        assert_follows_the_screen(page)
    finally:
        keyring.set_keyring(previous)


def test_tab_order_follows_the_screen_on_the_salesforce_page(qtbot, tmp_path):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")), start_page="salesforce")
        qtbot.addWidget(wizard)
        wizard.show()
        QApplication.processEvents()
        assert_follows_the_screen(wizard.salesforce_page)
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize("start", ["welcome", "salesforce", "bigtime", "stage", "fields", "summary"])
def test_no_page_has_an_invisible_tab_stop(qtbot, tmp_path, start):
    """Each page's scroll area was the first Tab stop, with no visible focus: Tab seemed to do nothing."""
    from PySide6.QtWidgets import QAbstractScrollArea, QScrollArea

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")), start_page=start)
        qtbot.addWidget(wizard)
        wizard.show()
        QApplication.processEvents()
        page = wizard.currentPage()
        areas = page.findChildren(QScrollArea)
        assert areas  # every page scrolls in one
        stops = [w for w in focus_chain(page) if isinstance(w, QAbstractScrollArea)]
        assert [type(w).__name__ for w in stops if isinstance(w, QScrollArea)] == []
    finally:
        keyring.set_keyring(previous)


def test_enter_on_the_welcome_page_goes_next_whichever_button_has_the_focus(qtbot, tmp_path, monkeypatch):
    """A new admin pressing Enter on Welcome: the wizard goes on, it does not open the focused
    button's web page (the first Tab stop is a button there). Space still presses that button. On
    the Salesforce page that follows, Enter signs in."""
    from PySide6.QtGui import QDesktopServices

    from bigsync_gui.gui.wizard import PAGE_SALESFORCE, PAGE_WELCOME

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")))
        qtbot.addWidget(wizard)
        wizard.show()
        QApplication.processEvents()
        page = wizard.welcome_page
        page.appexchange_button.setFocus()
        QTest.keyClick(page.appexchange_button, Qt.Key.Key_Space)
        assert len(opened) == 1 and wizard.currentId() == PAGE_WELCOME
        QTest.keyClick(page.appexchange_button, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: wizard.currentId() == PAGE_SALESFORCE)
        assert len(opened) == 1
        # The next page's form: Enter is its Sign in (Next is disabled until Salesforce is connected)
        salesforce = wizard.salesforce_page
        salesforce.sign_in_button.clicked.disconnect()  # counted, not run: no browser in this test
        signed_in: list[bool] = []
        salesforce.sign_in_button.clicked.connect(lambda: signed_in.append(True))
        QTest.keyClick(wizard.focusWidget() or wizard, Qt.Key.Key_Return)
        assert signed_in == [True] and wizard.currentId() == PAGE_SALESFORCE
    finally:
        keyring.set_keyring(previous)


def test_the_wizard_makes_room_when_a_sign_in_page_shows(qtbot, tmp_path, monkeypatch):
    """Salesforce's Allow button sat below the fold at the first-run size: both connect pages ask
    the wizard to grow (as far as the screen allows: tests/unit/test_screen_fit.py)."""
    from PySide6.QtCore import QSize

    from bigsync_gui.gui import wizard as wizard_module

    grown: list[tuple[object, QSize]] = []
    monkeypatch.setattr(wizard_module, "grow_to_fit", lambda widget, size: grown.append((widget, size)))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    try:
        wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")), start_page="salesforce")
        qtbot.addWidget(wizard)
        wizard.salesforce_page.browser_shown.emit()
        wizard.bigtime_page.browser_shown.emit()
        assert grown == [(wizard, QSize(860, wizard_module.BROWSER_HEIGHT))] * 2
    finally:
        keyring.set_keyring(previous)
