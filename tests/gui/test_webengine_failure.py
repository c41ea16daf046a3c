"""Issue 20 item 1: whatever stops the embedded browser (Chromium's sandbox as root, a missing helper, a
crashed page process) ends in a sentence on the connect page with the way on, never in the app vanishing."""

from __future__ import annotations

import os
import signal

import keyring
import pytest
from PySide6.QtCore import QCoreApplication, Qt
from shiboken6 import isValid

from bigsync_gui.connectors.errors import AuthorizationFailed
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui import webengine_check
from bigsync_gui.gui.context import Prefill, SetupContext
from bigsync_gui.gui.pages.connect_salesforce import ConnectSalesforcePage
from bigsync_gui.gui.webengine_check import EngineCheck, reason_from_output
from bigsync_gui.sandbox import credentials as cred
from embedded_page import wait_loaded

if QCoreApplication.instance() is None:  # WebEngine wants this before the QApplication exists
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

WAIT = 30000
ROOT_REFUSAL = (
    "[11741:11741:1207/123008.140677:ERROR:../../../qtwebengine/src/3rdparty/chromium/content/browser/"
    "zygote_host/zygote_host_impl_linux.cc:105] Running as root without --no-sandbox is not supported. "
    "See https://crbug.com/638180."
)


def run_check(qtbot) -> EngineCheck:
    check = EngineCheck()
    with qtbot.waitSignal(check.finished, timeout=WAIT):
        check.start()
    return check


@pytest.fixture
def page(qtbot, tmp_path, sandbox):
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    context = SetupContext(
        Profile.at(tmp_path / "profile"),
        Prefill(
            salesforce_login_url=sandbox.salesforce_url, salesforce_consumer_key=cred.SF_CONSUMER_KEY, is_sandbox=True
        ),
    )
    page = ConnectSalesforcePage(context)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    yield page
    browser = page.browser
    page.abort()
    if browser is not None:  # the page before its profile, before the next test
        qtbot.waitUntil(lambda: not isValid(browser), timeout=WAIT)
    keyring.set_keyring(previous)


def test_the_probe_tells_chromiums_root_refusal(qtbot, monkeypatch):
    """As root without --no-sandbox Chromium ends its process with status 1 (this used to be the app itself)."""
    monkeypatch.delenv("QTWEBENGINE_CHROMIUM_FLAGS", raising=False)
    monkeypatch.delenv("QTWEBENGINE_DISABLE_SANDBOX", raising=False)
    check = run_check(qtbot)
    if os.geteuid() == 0:
        assert check.ok is False
        assert "Running as root without --no-sandbox is not supported" in check.reason
        text = webengine_check.advice(check.reason)
        assert "run BigSync as a normal user" in text and "Use my system browser instead" in text
    else:  # as a normal user the engine starts with its sandbox
        assert check.ok is True and check.reason == ""


def test_the_probe_tells_a_missing_helper(qtbot, monkeypatch):
    monkeypatch.setenv("QTWEBENGINEPROCESS_PATH", "/nonexistent/QtWebEngineProcess")
    check = run_check(qtbot)
    assert check.ok is False and check.reason  # Qt aborts: "its process crashed"


def test_the_probe_passes_where_the_engine_works(qtbot):
    check = run_check(qtbot)  # the suite runs with --no-sandbox (tests/conftest.py)
    assert check.ok is True


def test_reasons_are_read_from_chromiums_last_error_line():
    assert reason_from_output(f"GBM is not supported\n{ROOT_REFUSAL}\n", 1, False) == (
        "Chromium said: “Running as root without --no-sandbox is not supported. See https://crbug.com/638180.”"
    )
    assert reason_from_output("bigsync-probe: Qt WebEngine could not be loaded: libnss3.so\n", 3, False) == (
        "Qt WebEngine could not be loaded: libnss3.so"
    )
    assert reason_from_output("", -1, True) == "its process crashed"
    assert reason_from_output("", 7, False) == "it stopped with exit status 7"


def test_the_page_says_why_and_offers_the_system_browser(qtbot, page):
    check = EngineCheck()
    check.ok, check.reason = False, "Chromium said: “Running as root without --no-sandbox is not supported.”"
    page.engine_check = check
    page.sign_in_button.click()
    assert page.browser is None and page.stack.currentWidget() is page.form_panel
    assert page.status_row.isVisible() and "Running as root" in page.status_label.text()
    assert "Use my system browser instead" in page.status_label.text()
    assert page.system_browser_button.isVisible() and page.system_browser_button.hasFocus()
    assert not page.retry_button.isVisible()


def test_the_first_sign_in_waits_for_the_check_then_opens(qtbot, page):
    page.engine_check = EngineCheck()
    page.sign_in()
    assert page.state == "working" and "Opening the sign-in window" in page.status_label.text()
    qtbot.waitUntil(lambda: page.browser is not None, timeout=WAIT)
    assert page.stack.currentWidget() is page.browser_panel


def test_a_crashed_page_process_ends_in_a_sentence(qtbot, page):
    page.engine_check = run_check(qtbot)
    page.sign_in()
    qtbot.waitUntil(lambda: page.browser is not None, timeout=WAIT)
    wait_loaded(qtbot, lambda: page.browser.page() if page.browser is not None else None, "Log In to Salesforce", WAIT)
    os.kill(page.browser.page().renderProcessPid(), signal.SIGKILL)
    qtbot.waitUntil(lambda: "page process" in page.status_label.text(), timeout=WAIT)
    assert page.browser is None and page.retry_button.isVisible()
    assert "use your system browser instead" in page.status_label.text()


def test_unsandboxed_as_root_only_for_the_built_in_sandbox(monkeypatch):
    monkeypatch.setattr(webengine_check, "_added_no_sandbox", False)
    monkeypatch.setenv("QTWEBENGINE_CHROMIUM_FLAGS", "--foo")
    monkeypatch.setattr(webengine_check, "running_as_root", lambda: False)
    webengine_check.allow_unsandboxed_for_loopback()
    assert os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] == "--foo" and not webengine_check.loopback_only()
    monkeypatch.setattr(webengine_check, "running_as_root", lambda: True)
    webengine_check.allow_unsandboxed_for_loopback()
    assert os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] == "--foo --no-sandbox" and webengine_check.loopback_only()


def test_an_unsandboxed_browser_opens_only_this_computers_pages(qtbot, page, monkeypatch):
    from bigsync_gui.gui.auth_browser import AuthBrowser

    monkeypatch.setattr("bigsync_gui.gui.auth_browser.loopback_only", lambda: True)
    browser = AuthBrowser(page.make_attempt())
    failures: list[AuthorizationFailed] = []
    browser.failed.connect(failures.append)
    assert browser.handle_navigation(page.context.prefill.salesforce_login_url + "/login")
    assert not browser.handle_navigation("https://login.salesforce.com/")
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT)
    assert failures[0].error == "loopback_only" and "login.salesforce.com" in failures[0].message
    browser.shutdown()
    qtbot.waitUntil(lambda: not isValid(browser), timeout=WAIT)  # page before profile
