"""The embedded sign-in browser on its own: a real Qt WebEngine (offscreen) against the sandbox's
sign-in pages — what it catches, what it refuses, what it shows, and how it goes away."""

from __future__ import annotations

import os
import sys

import pytest
from PySide6.QtCore import QCoreApplication, Qt
from shiboken6 import isValid

from bigsync_gui.connectors.errors import AuthorizationFailed
from bigsync_gui.connectors.http import HttpPolicy
from bigsync_gui.connectors.oauth import AuthorizationAttempt, bigtime_endpoints, salesforce_endpoints
from bigsync_gui.gui.auth_browser import INSECURE, LOCAL, SECURE, AuthBrowser, security_text
from bigsync_gui.sandbox import credentials as cred
from embedded_page import wait_loaded
from sandbox_browser import free_port

if QCoreApplication.instance() is None:  # WebEngine wants this before the QApplication exists
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

pytestmark = pytest.mark.webengine
WAIT = 15000
SF_REDIRECT = cred.SF_REDIRECT_URIS[0]


def sf_attempt(sandbox, key: str = cred.SF_CONSUMER_KEY, login_url: str | None = None) -> AuthorizationAttempt:
    endpoints = salesforce_endpoints(login_url or sandbox.salesforce_url, key, SF_REDIRECT)
    return AuthorizationAttempt(endpoints, HttpPolicy("salesforce"))


class Outcome:
    """What a browser ended with, and how often (it must end exactly once)."""

    def __init__(self, browser: AuthBrowser) -> None:
        self.codes: list[str] = []
        self.failures: list[AuthorizationFailed] = []
        self.cancels = 0
        browser.code_received.connect(self.codes.append)
        browser.failed.connect(self.failures.append)
        browser.cancelled.connect(self._cancelled)

    def _cancelled(self) -> None:
        self.cancels += 1

    @property
    def count(self) -> int:
        return len(self.codes) + len(self.failures) + self.cancels


@pytest.fixture
def make_browser(qtbot):
    made: list[AuthBrowser] = []

    def make(attempt: AuthorizationAttempt, **kwargs) -> tuple[AuthBrowser, Outcome]:
        browser = AuthBrowser(attempt, **kwargs)
        browser.resize(900, 600)
        browser.show()
        made.append(browser)
        return browser, Outcome(browser)

    yield make
    for browser in made:
        if isValid(browser):
            browser.shutdown()
            qtbot.waitUntil(lambda b=browser: not isValid(b), timeout=WAIT)


def wait_title(qtbot, browser: AuthBrowser, title: str) -> None:
    wait_loaded(qtbot, browser.page, title, WAIT)


def log_in(qtbot, browser: AuthBrowser) -> None:
    wait_title(qtbot, browser, "Log In to Salesforce")
    browser.page().runJavaScript(f"""document.getElementById('username').value = {cred.SF_USERNAME!r};
        document.getElementById('password').value = {cred.SF_PASSWORD!r};
        document.getElementById('Login').click();""")
    wait_title(qtbot, browser, "Allow Access?")


# ---- the happy path ----------------------------------------------------------------------------------------
def test_allow_is_caught_and_the_redirect_never_loads(qtbot, make_browser, sandbox):
    attempt = sf_attempt(sandbox)
    browser, outcome = make_browser(attempt)
    browser.start()
    assert browser.address.text() == attempt.authorization_url
    log_in(qtbot, browser)
    assert browser.address.text().startswith(sandbox.salesforce_url)
    assert browser.address.isReadOnly() and browser.security.text() == LOCAL
    qtbot.waitUntil(lambda: browser.progress.value() == 100, timeout=WAIT)  # bound to loadProgress
    with qtbot.waitSignal(browser.code_received, timeout=WAIT):
        browser.page().runJavaScript("document.querySelector('#oaapprove').click();")
    assert outcome.count == 1 and outcome.codes[0].startswith("aPrx")
    assert not browser.page().url().toString().startswith(SF_REDIRECT)  # refused, not loaded
    tokens = attempt.exchange(outcome.codes[0])  # the code is good (the page exchanges it in the background)
    assert tokens.refresh_token


def test_each_attempt_has_its_own_off_the_record_profile(qtbot, make_browser, sandbox):
    first, _ = make_browser(sf_attempt(sandbox))
    second, _ = make_browser(sf_attempt(sandbox))
    assert first.profile is not second.profile
    for browser in (first, second):
        assert browser.profile.isOffTheRecord()
        assert browser.page().profile() is browser.profile
        assert browser.profile.parent() is browser  # deleted with the widget
        assert browser.profile.persistentCookiesPolicy() is not None


def test_bigtime_allow_is_caught(qtbot, make_browser, sandbox, bigtime_reading):
    """Caught with and without state on the redirect (BigTime documents none)."""
    endpoints = bigtime_endpoints(
        sandbox.bigtime_url, cred.BT_CLIENT_ID, cred.BT_CLIENT_SECRET, cred.BT_REDIRECT_URIS[0]
    )
    attempt = AuthorizationAttempt(endpoints, HttpPolicy("bigtime"))
    browser, outcome = make_browser(attempt)
    browser.start()
    wait_text(qtbot, browser, "Sign in")
    browser.page().runJavaScript(f"""document.getElementById('UserId').value = {cred.BT_USERNAME!r};
        document.getElementById('Pwd').value = {cred.BT_PASSWORD!r};
        document.getElementById('signin').click();""")
    wait_text(qtbot, browser, "access your BigTime data?")
    with qtbot.waitSignal(browser.code_received, timeout=WAIT):
        browser.page().runJavaScript("document.getElementById('allow').click();")
    assert attempt.exchange(outcome.codes[0]).refresh_token


def wait_text(qtbot, browser: AuthBrowser, needle: str) -> None:
    seen = [""]

    def poll() -> bool:
        browser.page().toPlainText(lambda text: seen.__setitem__(0, text))
        return needle in seen[0]

    qtbot.waitUntil(poll, timeout=WAIT)


# ---- what ends an attempt with a failure -----------------------------------------------------------------
def test_deny_is_a_sentence(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox))
    browser.start()
    log_in(qtbot, browser)
    with qtbot.waitSignal(browser.failed, timeout=WAIT):
        browser.page().runJavaScript("document.querySelector('#oadeny').click();")
    (failure,) = outcome.failures
    assert failure.error == "access_denied" and "You clicked Deny" in failure.message
    assert outcome.count == 1


def test_state_mismatch_through_the_navigation_handler(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox))
    browser.start()
    wait_title(qtbot, browser, "Log In to Salesforce")
    with qtbot.waitSignal(browser.failed, timeout=WAIT):
        assert browser.handle_navigation(SF_REDIRECT + "?code=aPrxForged&state=someone-else") is False
    assert outcome.failures[0].error == "state_mismatch" and outcome.codes == []
    # Once ended, nothing else counts — not even a redirect with the right state.
    assert browser.handle_navigation(f"{SF_REDIRECT}?code=x&state={browser.attempt.state}") is False
    qtbot.waitUntil(lambda: True)
    assert outcome.count == 1


def test_a_redirect_to_another_port_or_path_is_not_ours(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox))
    assert browser.handle_navigation("http://localhost:7172/OauthRedirect?code=x") is True
    assert browser.handle_navigation("http://localhost:7171/OauthRedirectX?code=x") is True
    assert outcome.count == 0


def test_unknown_consumer_key_error_page(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox, key="3MVG9Unknown"))
    with qtbot.waitSignal(browser.failed, timeout=WAIT):
        browser.start()
    assert outcome.failures[0].error == "invalid_client_id"
    assert "consumer key is not known" in outcome.failures[0].message


def test_unreachable_page_is_a_load_failure(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox, login_url=f"http://127.0.0.1:{free_port()}"))
    with qtbot.waitSignal(browser.failed, timeout=WAIT):
        browser.start()
    failure = outcome.failures[0]
    assert failure.error == "load_failed" and "could not be loaded" in failure.message


def test_plain_http_to_another_computer_is_refused(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox))
    with qtbot.waitSignal(browser.failed, timeout=WAIT):
        assert browser.handle_navigation("http://login.example.com/", is_main_frame=True) is False
    assert outcome.failures[0].error == "insecure_page"


def test_cancel_ends_once(qtbot, make_browser, sandbox):
    browser, outcome = make_browser(sf_attempt(sandbox))
    browser.start()
    with qtbot.waitSignal(browser.cancelled, timeout=WAIT):
        browser.cancel_button.click()
    browser.cancel()
    assert browser.handle_navigation(f"{SF_REDIRECT}?code=x&state={browser.attempt.state}") is False
    qtbot.waitUntil(lambda: True)
    assert outcome.cancels == 1 and outcome.count == 1


# ---- what it shows and where pop-ups go ------------------------------------------------------------------
def test_popups_open_in_the_system_browser(qtbot, make_browser, sandbox):
    opened: list[str] = []
    browser, outcome = make_browser(sf_attempt(sandbox), open_external=opened.append)
    browser.start()
    wait_title(qtbot, browser, "Log In to Salesforce")
    browser.page().runJavaScript("window.open('https://help.salesforce.com/s/login', '_blank');")
    qtbot.waitUntil(lambda: bool(opened), timeout=WAIT)
    assert opened == ["https://help.salesforce.com/s/login"]
    assert browser.page().title() == "Log In to Salesforce" and outcome.count == 0


def test_security_text():
    assert security_text("https://login.salesforce.com/services/oauth2/authorize?x=1") == SECURE
    assert security_text("http://127.0.0.1:8700/services/oauth2/authorize") == LOCAL
    assert security_text("http://localhost:8701/") == LOCAL
    assert security_text("http://login.example.com/") == INSECURE
    assert security_text("about:blank") == ""


# ---- going away ------------------------------------------------------------------------------------------
def _webengine_helpers() -> int:
    """QtWebEngineProcess processes descended from this one (renderers, zygotes, GPU)."""
    children: dict[int, list[int]] = {}
    names: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                names[int(entry)] = fh.read().split(b"\0")[0]
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    count, todo = 0, [os.getpid()]
    while todo:
        for child in children.get(todo.pop(), []):
            count += names.get(child, b"").endswith(b"QtWebEngineProcess")
            todo.append(child)
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_shutdown_deletes_page_before_profile_and_ends_the_renderer(qtbot, qtlog, make_browser, sandbox):
    browser, _ = make_browser(sf_attempt(sandbox))
    browser.start()
    wait_title(qtbot, browser, "Log In to Salesforce")
    running = _webengine_helpers()
    page, profile, view = browser.page(), browser.profile, browser.view
    browser.shutdown()
    assert browser.page() is None
    qtbot.waitUntil(lambda: not isValid(browser), timeout=WAIT)
    assert not isValid(page) and not isValid(profile) and not isValid(view)
    qtbot.waitUntil(lambda: _webengine_helpers() < running, timeout=WAIT)  # this page's renderer is gone
    assert not [r for r in qtlog.records if "Release of profile requested" in r.message]


def test_a_busy_session_of_the_browsers_signals_keeps_true_alive(make_browser, sandbox):
    """Each emit of the browser's signals gives back the references it takes. A session emits thousands
    (progress, results); a PySide6 whose emit takes one from ``True`` (6.12.0, excluded in
    pyproject.toml) runs its count down to zero and Python aborts ("bool_dealloc")."""
    browser, outcome = make_browser(sf_attempt(sandbox))
    before = sys.getrefcount(True), sys.getrefcount(False)
    for n in range(2000):
        browser.code_received.emit(f"code-{n}")
    browser.cancelled.emit()
    assert outcome.codes == [f"code-{n}" for n in range(2000)] and outcome.cancels == 1  # each one delivered
    lost = before[0] - sys.getrefcount(True), before[1] - sys.getrefcount(False)
    assert max(lost) < 100, f"emit took {lost} references from (True, False)"
