"""A real browser engine (Qt WebEngine, offscreen) through the Salesforce emulator's login and
consent pages, catching the redirect the way the app's embedded browser does."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from bigsync_gui.sandbox import credentials as cred

pytestmark = pytest.mark.webengine

REDIRECT = cred.SF_REDIRECT_URIS[0]
TIMEOUT_MS = 15000


@pytest.fixture(scope="module", autouse=True)
def _share_gl_contexts():
    """Qt wants this before the QApplication exists (QtWebEngine shares GL contexts)."""
    from PySide6.QtCore import QCoreApplication, Qt

    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch):
    # oauthlib refuses http:// unless told; the sandbox is plain HTTP on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


@pytest.fixture
def browser(qtbot):
    """An off-the-record profile and a page that catches navigation to the redirect URI."""
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    from PySide6.QtWebEngineWidgets import QWebEngineView

    class CatchingPage(QWebEnginePage):
        def __init__(self, profile):
            super().__init__(profile)
            self.caught: str | None = None

        def acceptNavigationRequest(self, url, nav_type, is_main_frame):  # noqa: N802 (Qt's name)
            text = url.toString()
            target = urlsplit(text)
            if f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT:
                self.caught = text
                return False
            return super().acceptNavigationRequest(url, nav_type, is_main_frame)

    profile = QWebEngineProfile()  # no storage name: off the record
    assert profile.isOffTheRecord()
    page = CatchingPage(profile)
    view = QWebEngineView()
    view.setPage(page)
    qtbot.addWidget(view)
    yield page
    view.close()
    page.deleteLater()
    qtbot.wait(50)
    profile.deleteLater()


def run_js(qtbot, page, script: str) -> None:
    page.runJavaScript(script)
    qtbot.wait(10)


def open_consent(qtbot, page, url: str) -> None:
    from PySide6.QtCore import QUrl

    with qtbot.waitSignal(page.loadFinished, timeout=TIMEOUT_MS) as loaded:
        page.load(QUrl(url))
    assert loaded.args == [True]
    assert page.title() == "Log In to Salesforce"
    run_js(
        qtbot,
        page,
        f"""
        document.getElementById('username').value = {cred.SF_USERNAME!r};
        document.getElementById('password').value = {cred.SF_PASSWORD!r};
        document.getElementById('Login').click();
    """,
    )
    qtbot.waitUntil(lambda: page.title() == "Allow Access?", timeout=TIMEOUT_MS)


def test_login_allow_and_catch_the_redirect(qtbot, browser, sandbox):
    oauth = OAuth2Session(cred.SF_CONSUMER_KEY, redirect_uri=REDIRECT, scope=["api", "refresh_token"], pkce="S256")
    url, state = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    open_consent(qtbot, browser, url)
    run_js(qtbot, browser, "document.querySelector('#oaapprove').click();")
    qtbot.waitUntil(lambda: browser.caught is not None, timeout=TIMEOUT_MS)

    query = parse_qs(urlsplit(browser.caught).query)
    assert query["state"] == [state]
    token = requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": cred.SF_CONSUMER_KEY,
            "redirect_uri": REDIRECT,
            "code_verifier": oauth._code_verifier,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    assert token.json()["refresh_token"].startswith("5Aep")
    r = requests.get(
        sandbox.salesforce_url + "/services/data/v67.0/query",
        params={"q": "SELECT Name FROM Account WHERE Name = 'Initech'"},
        headers={"Authorization": "Bearer " + token.json()["access_token"]},
        timeout=10,
    )
    assert r.status_code == 200
    assert [rec["Name"] for rec in r.json()["records"]] == ["Initech"]


def test_deny_is_caught_with_the_error(qtbot, browser, sandbox):
    oauth = OAuth2Session(cred.SF_CONSUMER_KEY, redirect_uri=REDIRECT, scope=["api"], pkce="S256")
    url, state = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    open_consent(qtbot, browser, url)
    run_js(qtbot, browser, "document.querySelector('#oadeny').click();")
    qtbot.waitUntil(lambda: browser.caught is not None, timeout=TIMEOUT_MS)
    query = parse_qs(urlsplit(browser.caught).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == [state]
    assert "code" not in query
