"""The Connect Salesforce / Connect BigTime wizard pages against the sandbox, with the real
embedded browser (Qt WebEngine, offscreen) and a test acting as the system browser."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
import requests
from PySide6.QtCore import QCoreApplication, Qt

from bigsync_gui.connectors.salesforce import UserPermissions
from bigsync_gui.core import secrets
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui.app import sandbox_prefill
from bigsync_gui.gui.context import Prefill, SetupContext
from bigsync_gui.gui.pages.connect_bigtime import ConnectBigTimePage
from bigsync_gui.gui.pages.connect_salesforce import ConnectSalesforcePage, admin_sentence
from bigsync_gui.sandbox import credentials as cred
from embedded_page import wait_loaded
from sandbox_browser import browse, free_port

if QCoreApplication.instance() is None:  # WebEngine wants this before the QApplication exists
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)

WAIT = 15000
ROOT = Path(__file__).resolve().parents[2]


# ---- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def context(tmp_path, sandbox, memory_keyring) -> SetupContext:
    return SetupContext(Profile.at(tmp_path / "profile"), sandbox_prefill(sandbox))


@pytest.fixture
def sf_page(qtbot, context):
    page = ConnectSalesforcePage(context)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    yield page
    close(qtbot, page)


@pytest.fixture
def bt_page(qtbot, context):
    page = ConnectBigTimePage(context)
    qtbot.addWidget(page)
    page.resize(900, 600)
    page.show()
    yield page
    close(qtbot, page)


def close(qtbot, page) -> None:
    """Stop any sign-in and let Qt delete the browser (page before profile) before the next test."""
    from shiboken6 import isValid

    browser = page.browser
    page.abort()
    if browser is not None:
        qtbot.waitUntil(lambda: not isValid(browser), timeout=WAIT)


# ---- driving the embedded browser ------------------------------------------------------------------------
def js(page, script: str) -> None:
    page.browser.page().runJavaScript(script)


def wait_title(qtbot, page, title: str) -> None:
    wait_loaded(qtbot, lambda: page.browser.page() if page.browser is not None else None, title, WAIT)


def salesforce_consent(qtbot, page, password: str = cred.SF_PASSWORD) -> None:
    wait_title(qtbot, page, "Log In to Salesforce")
    js(
        page,
        f"""document.getElementById('username').value = {cred.SF_USERNAME!r};
                 document.getElementById('password').value = {password!r};
                 document.getElementById('Login').click();""",
    )
    wait_title(qtbot, page, "Allow Access?")


def bigtime_consent(qtbot, page) -> None:
    qtbot.waitUntil(
        lambda: (
            page.browser is not None
            and page.browser.page().url().toString().startswith(page.context.prefill.bigtime_base_url)
        ),
        timeout=WAIT,
    )
    wait_text(qtbot, page, "Sign in")
    js(
        page,
        f"""document.getElementById('UserId').value = {cred.BT_USERNAME!r};
                 document.getElementById('Pwd').value = {cred.BT_PASSWORD!r};
                 document.getElementById('signin').click();""",
    )
    wait_text(qtbot, page, "Allow BigSync to")


def wait_text(qtbot, page, needle: str) -> None:
    """Until the browser page's text (toPlainText is asynchronous) contains ``needle``."""
    seen = [""]

    def poll() -> bool:
        if page.browser is not None:
            page.browser.page().toPlainText(lambda text: seen.__setitem__(0, text))
        return needle in seen[0]

    qtbot.waitUntil(poll, timeout=WAIT)


def status(page) -> str:
    return page.status_label.text() if page.status_row.isVisible() else ""


def register_redirect(sandbox, uri: str) -> None:
    current = requests.get(sandbox.salesforce_admin_url + "/settings", timeout=5).json()["redirect_uris"]
    requests.post(
        sandbox.salesforce_admin_url + "/settings", json={"redirect_uris": [*current, uri]}, timeout=5
    ).raise_for_status()


def assert_bigtime_connected(text: str) -> None:
    """The firm as the admin typed it (no BigTime answer names it); the user by name where the answer names
    one, else no user at all — never a vague "as the signed-in user" (issue 20 item 12)."""
    assert text == f"Connected to BigTime: firm {cred.BT_FIRM_ID}." or (
        text.startswith(f"Connected to BigTime: firm {cred.BT_FIRM_ID} as ") and "signed-in user" not in text
    ), text


def settings_json(context) -> dict:
    return json.loads(context.profile.settings_file.read_text())


# ---- Salesforce -------------------------------------------------------------------------------------------
def test_salesforce_sign_in_through_the_embedded_browser(qtbot, sf_page, context, sandbox):
    assert not sf_page.isComplete() and not sf_page.status_row.isVisible()  # no empty warning or Retry
    assert sf_page.other.isChecked() and sf_page.login_address.text() == sandbox.salesforce_url
    announced: list[str] = []
    context.salesforce_connected.connect(announced.append)

    sf_page.sign_in_button.click()  # the first of a run waits for the engine check (gui/webengine_check.py)
    qtbot.waitUntil(lambda: sf_page.stack.currentWidget() is sf_page.browser_panel, timeout=WAIT)
    salesforce_consent(qtbot, sf_page)
    assert sf_page.browser.address.text().startswith(sandbox.salesforce_url)
    assert sf_page.browser.security.text() == "Local sandbox (not encrypted)"
    with qtbot.waitSignal(sf_page.completeChanged, timeout=WAIT, check_params_cb=lambda *a: sf_page.isComplete()):
        js(sf_page, "document.querySelector('#oaapprove').click();")

    text = sf_page.connected_label.text()
    assert text == f"Connected to Salesforce: {cred.SF_ORG_NAME} as {cred.SF_USERNAME}."
    assert sf_page.connected_label.textFormat() == Qt.TextFormat.PlainText
    assert announced == [text]
    assert sf_page.browser is None and sf_page.stack.currentWidget() is sf_page.form_panel
    assert sf_page.again_button.isVisible() and not sf_page.form_box.isVisible()
    # the demo admin's profile has Modify All Data (the sandbox's profiles are permission sets)
    assert sf_page.admin_label.isVisible() and "is a Salesforce administrator" in sf_page.admin_label.text()
    vault = secrets.Vault(context.profile)
    assert (vault.get(secrets.SALESFORCE_REFRESH_TOKEN) or "").startswith("5Aep")
    saved = settings_json(context)["salesforce"]
    assert saved["instance_url"] == sandbox.salesforce_url
    assert saved["consumer_key"] == cred.SF_CONSUMER_KEY and saved["username"] == cred.SF_USERNAME


def test_salesforce_deny_then_retry(qtbot, sf_page, sandbox):
    sf_page.sign_in()
    salesforce_consent(qtbot, sf_page)
    js(sf_page, "document.querySelector('#oadeny').click();")
    qtbot.waitUntil(lambda: "You clicked Deny" in status(sf_page), timeout=WAIT)
    assert sf_page.retry_button.isVisible() and not sf_page.isComplete()
    assert sf_page.status_label.textFormat() == Qt.TextFormat.PlainText
    assert sf_page.browser is None and sf_page.stack.currentWidget() is sf_page.form_panel

    sf_page.retry_button.click()
    assert status(sf_page) == ""
    salesforce_consent(qtbot, sf_page)
    js(sf_page, "document.querySelector('#oaapprove').click();")
    qtbot.waitUntil(sf_page.isComplete, timeout=WAIT)
    assert cred.SF_USERNAME in sf_page.connected_label.text()


def test_salesforce_wrong_password_keeps_waiting(qtbot, sf_page, sandbox):
    sf_page.sign_in()
    wait_title(qtbot, sf_page, "Log In to Salesforce")
    js(
        sf_page,
        f"""document.getElementById('username').value = {cred.SF_USERNAME!r};
                    document.getElementById('password').value = 'wrong';
                    document.getElementById('Login').click();""",
    )
    wait_text(qtbot, sf_page, "Please check your username and password")
    assert sf_page.browser is not None and not sf_page.browser.finished
    assert sf_page.stack.currentWidget() is sf_page.browser_panel
    assert status(sf_page) == "" and not sf_page.isComplete()


def test_salesforce_wrong_consumer_key(qtbot, sf_page, sandbox):
    sf_page.consumer_key.setText("3MVG9NotTheRightKey")
    sf_page.sign_in()
    qtbot.waitUntil(lambda: "consumer key is not known to Salesforce" in status(sf_page), timeout=WAIT)
    assert sf_page.retry_button.isVisible() and not sf_page.isComplete()


def test_salesforce_unregistered_callback_url(qtbot, sf_page, sandbox):
    sf_page.callback.setText("http://localhost:7999/Elsewhere")
    sf_page.sign_in()
    qtbot.waitUntil(lambda: "register exactly http://localhost:7999/Elsewhere" in status(sf_page), timeout=WAIT)


def test_salesforce_state_mismatch_is_refused(qtbot, sf_page, sandbox):
    sf_page.sign_in()
    wait_title(qtbot, sf_page, "Log In to Salesforce")
    # A redirect that carries another attempt's state, through the page's own navigation handler.
    js(sf_page, f"location.href = {cred.SF_REDIRECT_URIS[0] + '?code=aPrxStolen&state=not-this-attempt'!r};")
    qtbot.waitUntil(lambda: "did not match this attempt" in status(sf_page), timeout=WAIT)
    assert not sf_page.isComplete()
    assert secrets.Vault(sf_page.context.profile).get(secrets.SALESFORCE_REFRESH_TOKEN) is None


def test_salesforce_unreachable_login_page(qtbot, sf_page, sandbox):
    sf_page.login_address.setText(f"http://127.0.0.1:{free_port()}")
    sf_page.sign_in()
    qtbot.waitUntil(lambda: "could not be loaded" in status(sf_page), timeout=WAIT)
    assert "Check your internet connection" in status(sf_page) and sf_page.retry_button.isVisible()


def test_salesforce_form_mistakes_are_said_before_any_browser(qtbot, sf_page):
    sf_page.consumer_key.setText("  ")
    sf_page.sign_in()
    assert sf_page.browser is None and "Enter the Consumer Key" in status(sf_page)
    assert not sf_page.retry_button.isVisible()
    sf_page.consumer_key.setText(cred.SF_CONSUMER_KEY)
    sf_page.my_domain.setChecked(True)
    sf_page.domain.setText("login.salesforce.com")
    sf_page.sign_in()
    assert sf_page.browser is None and "choose Production instead" in status(sf_page)
    sf_page.other.setChecked(True)
    sf_page.login_address.setText("http://login.example.com")
    sf_page.sign_in()
    assert sf_page.browser is None and "only https:// is allowed" in status(sf_page)


def test_salesforce_environment_choices(qtbot, context, tmp_path):
    page = ConnectSalesforcePage(SetupContext(Profile.at(tmp_path / "real"), Prefill()))
    qtbot.addWidget(page)
    page.show()
    assert page.production.isChecked() and not page.other.isVisible()
    assert not page.domain.isVisible()
    page.my_domain.setChecked(True)
    assert page.domain.isVisible()
    page.domain.setText("acme")
    assert page.login_url() == "https://acme.my.salesforce.com"
    page.sandbox.setChecked(True)
    assert page.login_url() == "https://test.salesforce.com"
    assert page.callback.text() == "http://localhost:7171/OauthRedirect"


def test_salesforce_through_the_system_browser(qtbot, sf_page, context, sandbox):
    redirect = f"http://127.0.0.1:{free_port()}/OauthRedirect"
    register_redirect(sandbox, redirect)
    sf_page.callback.setText(redirect)
    opened: list[str] = []
    sf_page.open_url = opened.append
    sf_page.system_browser_button.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=WAIT)
    assert sf_page.stack.currentWidget() is sf_page.wait_panel
    assert sf_page.wait_url.text() == opened[0]

    location = browse(opened[0], "salesforce")  # the test is the browser: log in, Allow ...
    assert location.startswith(redirect + "?")
    answer = requests.get(location, timeout=10)  # ... and follow the redirect to the listener
    assert answer.status_code == 200
    qtbot.waitUntil(sf_page.isComplete, timeout=WAIT)
    assert sf_page.connected_label.text() == f"Connected to Salesforce: {cred.SF_ORG_NAME} as {cred.SF_USERNAME}."
    assert settings_json(context)["salesforce"]["redirect_uri"] == redirect


def test_system_browser_cancel_frees_the_port(qtbot, sf_page, sandbox):
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/OauthRedirect"
    register_redirect(sandbox, redirect)
    sf_page.callback.setText(redirect)
    opened: list[str] = []
    sf_page.open_url = opened.append
    sf_page.sign_in_with_system_browser()
    qtbot.waitUntil(lambda: bool(opened), timeout=WAIT)
    sf_page.wait_cancel.click()
    qtbot.waitUntil(lambda: sf_page.state == "form", timeout=WAIT)
    assert status(sf_page) == "" and not sf_page.isComplete()
    with socket.socket() as s:  # the listener is gone
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_system_browser_timeout(qtbot, sf_page, sandbox):
    redirect = f"http://127.0.0.1:{free_port()}/OauthRedirect"
    register_redirect(sandbox, redirect)
    sf_page.callback.setText(redirect)
    sf_page.open_url = lambda url: None
    sf_page.loopback_timeout = 0.5
    sf_page.sign_in_with_system_browser()
    qtbot.waitUntil(lambda: "No answer came from the browser" in status(sf_page), timeout=WAIT)
    assert sf_page.retry_button.isVisible()


def test_system_browser_wrong_consumer_key_is_said_in_the_app(qtbot, sf_page, sandbox):
    redirect = f"http://127.0.0.1:{free_port()}/OauthRedirect"
    register_redirect(sandbox, redirect)
    sf_page.callback.setText(redirect)
    opened: list[str] = []
    sf_page.open_url = opened.append
    sf_page.consumer_key.setText("3MVG9Wrong")
    sf_page.sign_in_with_system_browser()
    qtbot.waitUntil(lambda: "consumer key is not known" in status(sf_page), timeout=WAIT)
    assert opened == []  # no browser sent to an error page


def test_already_connected_profile_is_complete(qtbot, tmp_path, sandbox, memory_keyring):
    profile = Profile.at(tmp_path / "profile")
    Connector(profile, pace=(1_000_000, 0.2)).save_bigtime_key(sandbox.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    settings = json.loads(profile.settings_file.read_text())
    settings["salesforce"].update(
        instance_url=sandbox.salesforce_url,
        username=cred.SF_USERNAME,
        display_name=cred.SF_ORG_NAME,
        login_url=sandbox.salesforce_url,
        consumer_key=cred.SF_CONSUMER_KEY,
    )
    profile.settings_file.write_text(json.dumps(settings))
    context = SetupContext(profile, sandbox_prefill(sandbox))

    sf = ConnectSalesforcePage(context)
    bt = ConnectBigTimePage(context)
    for page in (sf, bt):
        qtbot.addWidget(page)
        page.show()
        page.initializePage()
        assert page.isComplete()
        assert page.again_button.isVisible() and not page.form_box.isVisible()
    assert sf.connected_label.text() == f"Connected to Salesforce: {cred.SF_ORG_NAME} as {cred.SF_USERNAME}."
    assert bt.connected_label.text() == f"Connected to BigTime: firm {cred.BT_FIRM_ID}, with the firm's API key."
    assert bt.use_key.isChecked()

    sf.again_button.click()  # shows the form again; the saved connection still counts
    assert sf.form_box.isVisible() and sf.sign_in_button.isVisible() and sf.isComplete()


# ---- BigTime ----------------------------------------------------------------------------------------------
def test_bigtime_sign_in_through_the_embedded_browser(qtbot, bt_page, context, sandbox, bigtime_reading):
    assert bt_page.use_oauth.isChecked() and bt_page.advanced.isChecked()  # a non-default base URL is shown
    assert bt_page.base_url.text() == sandbox.bigtime_url
    assert bt_page.firm_id.isVisible() and bt_page.firm_id.text() == cred.BT_FIRM_ID  # OAuth needs it too
    with qtbot.waitSignal(context.bigtime_connected, timeout=WAIT * 2) as connected:
        bt_page.sign_in_button.click()
        bigtime_consent(qtbot, bt_page)
        js(bt_page, "document.getElementById('allow').click();")
    qtbot.waitUntil(bt_page.isComplete, timeout=WAIT)
    assert connected.args == [bt_page.connected_label.text()]
    # The firm as the admin typed it (no BigTime answer names it).
    assert_bigtime_connected(bt_page.connected_label.text())
    vault = secrets.Vault(context.profile)
    assert (
        vault.get(secrets.BIGTIME_REFRESH_TOKEN) and vault.get(secrets.BIGTIME_CLIENT_SECRET) == cred.BT_CLIENT_SECRET
    )
    saved = settings_json(context)["bigtime"]
    assert saved["auth_mode"] == "oauth" and saved["base_url"] == sandbox.bigtime_url
    assert (saved["firm_id"], saved["oauth_header"], saved["token_body"]) == (cred.BT_FIRM_ID, "x-auth-token", "json")


def test_bigtime_oauth_without_firm_id_is_said_before_any_browser(qtbot, bt_page):
    bt_page.firm_id.clear()
    bt_page.sign_in_button.click()
    assert "Enter your BigTime firm id (BigTime › My Company › Company Info)" in status(bt_page)
    assert bt_page.firm_id.hasFocus() and bt_page.browser is None


def test_bigtime_deny(qtbot, bt_page, sandbox):
    bt_page.sign_in()
    bigtime_consent(qtbot, bt_page)
    js(bt_page, "document.getElementById('deny').click();")
    qtbot.waitUntil(lambda: "You clicked Deny, so BigTime" in status(bt_page), timeout=WAIT)
    assert bt_page.retry_button.isVisible() and not bt_page.isComplete()


def test_bigtime_unknown_client_id(qtbot, bt_page, sandbox):
    bt_page.client_id.setText("not-registered")
    bt_page.sign_in()
    qtbot.waitUntil(lambda: "refused the request (HTTP 400)" in status(bt_page), timeout=WAIT)
    assert "Check the client id" in status(bt_page)


def test_bigtime_api_key(qtbot, bt_page, context, sandbox):
    bt_page.use_key.setChecked(True)
    assert bt_page.api_key.isVisible() and not bt_page.client_id.isVisible()
    assert bt_page.connect_key_button.isVisible() and not bt_page.sign_in_button.isVisible()
    bt_page.api_key.setText("wrong-key")
    bt_page.connect_key_button.click()
    qtbot.waitUntil(lambda: bt_page.retry_button.isVisible(), timeout=WAIT)
    assert status(bt_page) and not bt_page.isComplete()

    bt_page.api_key.setText(cred.BT_API_KEY)
    bt_page.retry_button.click()
    qtbot.waitUntil(bt_page.isComplete, timeout=WAIT)
    assert bt_page.connected_label.text() == f"Connected to BigTime: firm {cred.BT_FIRM_ID}, with the firm's API key."
    assert secrets.Vault(context.profile).get(secrets.BIGTIME_API_KEY) == cred.BT_API_KEY
    assert settings_json(context)["bigtime"]["auth_mode"] == "api_key"


def test_bigtime_through_the_system_browser(qtbot, bt_page, context, sandbox, bigtime_reading):
    redirect = f"http://127.0.0.1:{free_port()}/BigTimeRedirect"  # a free port, registered as an admin would
    requests.post(
        sandbox.bigtime_admin_url + "/settings", json={"redirect_uris": [redirect]}, timeout=5
    ).raise_for_status()
    bt_page.callback.setText(redirect)
    opened: list[str] = []
    bt_page.open_url = opened.append
    bt_page.system_browser_button.click()
    qtbot.waitUntil(lambda: bool(opened), timeout=WAIT)
    requests.get(browse(opened[0], "bigtime"), timeout=10)
    qtbot.waitUntil(bt_page.isComplete, timeout=WAIT)
    assert_bigtime_connected(bt_page.connected_label.text())


# ---- quality: plain text, keyboard, size, lazy WebEngine -----------------------------------------------------
def test_admin_sentence():
    assert admin_sentence(None) == ""
    assert admin_sentence(UserPermissions(None, True, True)) == ""
    assert "is a Salesforce administrator" in admin_sentence(UserPermissions(True, True, True))
    assert "is not a Salesforce administrator" in admin_sentence(UserPermissions(False, False, True))


def test_service_text_is_never_rich_text(qtbot, sf_page):
    hostile = "<b>Acme</b> <img src=x onerror=alert(1)>"
    sf_page._on_saved(sf_page._generation, (f"Connected to Salesforce: {hostile} as x.", ""))
    assert sf_page.connected_label.textFormat() == Qt.TextFormat.PlainText
    assert sf_page.connected_label.text() == f"Connected to Salesforce: {hostile} as x."
    sf_page._show_error(hostile, retry=True)
    assert sf_page.status_label.textFormat() == Qt.TextFormat.PlainText


def visible_mnemonics(page) -> list[str]:
    from PySide6.QtWidgets import QAbstractButton, QLabel

    keys = []
    for widget in page.findChildren(QAbstractButton) + page.findChildren(QLabel):
        if widget.isVisibleTo(page):
            match = re.search(r"&([^&])", widget.text().replace("&&", ""))
            if match:
                keys.append(match.group(1).lower())
    return keys


@pytest.mark.parametrize("mode", ["salesforce", "bigtime-oauth", "bigtime-key"])
def test_mnemonics_are_unique_and_fields_have_labels(qtbot, context, mode):
    from PySide6.QtWidgets import QLabel, QLineEdit

    page = ConnectSalesforcePage(context) if mode == "salesforce" else ConnectBigTimePage(context)
    qtbot.addWidget(page)
    page.show()
    if mode == "bigtime-key":
        page.use_key.setChecked(True)
    if mode == "salesforce":
        page.my_domain.setChecked(True)
    keys = visible_mnemonics(page)
    assert len(keys) == len(set(keys)), keys
    assert not set(keys) & {"b", "n", "f"}  # the wizard's Back, Next, Finish
    buddies = {label.buddy() for label in page.findChildren(QLabel) if label.buddy() is not None}
    visible = [edit for edit in page.form_box.findChildren(QLineEdit) if edit.isVisibleTo(page)]
    assert visible  # every mode asks for something
    for edit in visible:
        assert edit in buddies, edit.accessibleName() or edit.placeholderText()


def test_tab_order_follows_the_form(qtbot, context):
    page = ConnectSalesforcePage(context)
    qtbot.addWidget(page)
    page.show()
    order = [
        page.production,
        page.sandbox,
        page.my_domain,
        page.other,
        page.login_address,
        page.consumer_key,
        page.callback,
        page.copy_button,
        page.sign_in_button,
        page.system_browser_button,
    ]
    chain, widget = [], page.production
    for _ in range(200):
        chain.append(widget)
        widget = widget.nextInFocusChain()
        if widget is page.production:
            break
    positions = [chain.index(w) for w in order]
    assert positions == sorted(positions)


def test_page_fits_1280x720(qtbot, context):
    for page in (ConnectSalesforcePage(context), ConnectBigTimePage(context)):
        qtbot.addWidget(page)
        hint = page.minimumSizeHint()
        assert hint.width() <= 1000 and hint.height() <= 520, hint


def test_constructing_the_pages_does_not_import_webengine(tmp_path):
    script = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.pages.connect_salesforce import ConnectSalesforcePage
from bigsync_gui.gui.pages.connect_bigtime import ConnectBigTimePage
app = make_app([])
context = SetupContext(Profile.at({str(tmp_path)!r}))
pages = [ConnectSalesforcePage(context), ConnectBigTimePage(context)]
for page in pages:
    page.show()
    page.initializePage()
app.processEvents()
print(sorted(m for m in sys.modules if "WebEngine" in m))
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
