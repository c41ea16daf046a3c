"""The setup wizard against the sandbox (pytest-qt, offscreen): the stage dropdown follows the
org (renamed labels, deactivated stages, closed-lost disabled, default Closed Won), the backfill
count, stages failing to load then a retry, the field check, Save (settings + keyring, the loop
starts) and Cancel on a configured profile (nothing changes)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
import requests
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QWizard

from bigsync_gui.connectors.http import HttpPolicy, RetryPolicy
from bigsync_gui.connectors.oauth import AuthorizationAttempt, salesforce_endpoints
from bigsync_gui.core import secrets
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.core.settings import Settings
from bigsync_gui.sandbox import credentials as cred
from embedded_page import wait_loaded
from sandbox_browser import browse

TIMEOUT = 20000

if QCoreApplication.instance() is None:  # WebEngine wants this before the QApplication exists
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


from bigsync_gui.gui.context import SetupContext  # noqa: E402 - after the attribute, as WebEngine asks
from bigsync_gui.gui.pages.stage import API_NAME_ROLE, CLOSED_LOST_TIP  # noqa: E402
from bigsync_gui.gui.wizard import (  # noqa: E402
    PAGE_DONE,
    PAGE_FIELDS,
    PAGE_STAGE,
    PAGE_SUMMARY,
    SetupWizard,
)


# ---- fixtures --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


def fast_policies(connector: Connector) -> Connector:
    """Retries in milliseconds, so a test of failures does not wait out real backoff; BigTime's
    pace high enough not to matter."""
    fast = RetryPolicy(initial_wait=0.01, max_wait=0.05, jitter=0.0)
    connector.http = {s: HttpPolicy(s, connector.counter, fast) for s in ("salesforce", "bigtime")}
    connector.pace = (1_000_000, 0.2)
    return connector


def connect_both(sandbox, profile: Profile) -> None:
    """As the connect pages would leave it: BigTime by API key, Salesforce by the code flow."""
    connector = fast_policies(Connector(profile))
    connector.save_bigtime_key(sandbox.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    endpoints = salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY, cred.SF_REDIRECT_URIS[0])
    attempt = AuthorizationAttempt(endpoints, connector.http["salesforce"])
    tokens = attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "salesforce")))
    connector.save_salesforce(endpoints, sandbox.salesforce_url, tokens)


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    return Profile.at(tmp_path / "profile")


@pytest.fixture
def connected(sandbox, profile: Profile) -> Profile:
    connect_both(sandbox, profile)
    return profile


def make_context(profile: Profile) -> SetupContext:
    context = SetupContext(profile)
    context.connector = fast_policies(Connector(profile))
    context.engine = Engine(context.connector)
    return context


@pytest.fixture
def open_wizard(qtbot):
    def opener(profile: Profile, start_page: str | None = None) -> SetupWizard:
        wizard = SetupWizard(make_context(profile), start_page=start_page)
        qtbot.addWidget(wizard)
        wizard.show()
        return wizard

    return opener


def admin(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    r = requests.request(method, sandbox.salesforce_admin_url + path, timeout=10, **kwargs)
    assert r.status_code < 300, r.text
    return r


def stage_rows(sandbox) -> list[dict]:
    return admin(sandbox, "GET", "/stages").json()  # by SortOrder


def expected_already_past(sandbox, trigger: str) -> int:
    stages = stage_rows(sandbox)
    order = {s["ApiName"]: s["SortOrder"] for s in stages}
    lost = {s["ApiName"] for s in stages if s["IsClosed"] and not s["IsWon"]}
    counting = {name for name, n in order.items() if n >= order[trigger] and name not in lost}
    records = admin(sandbox, "GET", "/records/Opportunity").json()["records"]
    return sum(1 for r in records if r["StageName"] in counting)


def combo_rows(wizard: SetupWizard) -> list[tuple[str, str, bool, str]]:
    model = wizard.stage_page.model
    rows = []
    for i in range(model.rowCount()):
        item = model.item(i)
        rows.append(
            (item.text(), item.data(API_NAME_ROLE), bool(item.flags() & Qt.ItemFlag.ItemIsEnabled), item.toolTip())
        )
    return rows


def wait_stage_ready(qtbot, wizard: SetupWizard) -> None:
    qtbot.waitUntil(lambda: wizard.stage_page.isComplete(), timeout=TIMEOUT)


# ---- the stage page ------------------------------------------------------------------------------
def test_stage_dropdown_follows_the_org(sandbox, connected, open_wizard, qtbot) -> None:
    admin(sandbox, "POST", "/stages/Negotiation%2FReview", json={"label": "Negotiating terms"})
    admin(sandbox, "POST", "/stages/Perception%20Analysis", json={"active": False})

    wizard = open_wizard(connected, "stage")
    assert wizard.currentId() == PAGE_STAGE
    assert wizard.stage_page.stages_panel.state == "loading"  # the GUI thread did not wait for the network
    wait_stage_ready(qtbot, wizard)

    active = [s for s in stage_rows(sandbox) if s["IsActive"]]
    rows = combo_rows(wizard)
    assert [(label, api) for label, api, _, _ in rows] == [(s["MasterLabel"], s["ApiName"]) for s in active]
    assert ("Negotiating terms", "Negotiation/Review") in [(label, api) for label, api, _, _ in rows]
    assert "Perception Analysis" not in [api for _, api, _, _ in rows]
    lost = [r for r in rows if r[1] == "Closed Lost"]
    assert lost == [("Closed Lost", "Closed Lost", False, CLOSED_LOST_TIP)]
    assert all(enabled for _, api, enabled, _ in rows if api != "Closed Lost")
    assert wizard.stage_page.combo.currentData(API_NAME_ROLE) == "Closed Won"

    n = expected_already_past(sandbox, "Closed Won")
    assert n > 0
    assert wizard.stage_page.already_past() == n
    assert wizard.stage_page.count_label.text().startswith(f"{n} opportunities are already at or past Closed Won.")
    assert not wizard.stage_page.backfill.isChecked() and wizard.stage_page.backfill.isEnabled()

    # an earlier stage: the count covers it and every later stage except closed-lost
    combo = wizard.stage_page.combo
    combo.setCurrentIndex(combo.findData("Negotiation/Review", API_NAME_ROLE))
    qtbot.waitUntil(lambda: wizard.stage_page.already_past() is not None, timeout=TIMEOUT)
    assert wizard.stage_page.already_past() == expected_already_past(sandbox, "Negotiation/Review")
    assert "at or past Negotiating terms" in wizard.stage_page.count_label.text()


def test_stage_text_from_salesforce_is_plain(sandbox, connected, open_wizard, qtbot) -> None:
    label = "<b>Won</b> & signed"
    admin(sandbox, "POST", "/stages/Closed%20Won", json={"label": label})
    wizard = open_wizard(connected, "stage")
    wait_stage_ready(qtbot, wizard)
    page = wizard.stage_page
    assert page.combo.currentText() == label
    assert page.count_label.textFormat() == Qt.TextFormat.PlainText and label in page.count_label.text()
    wizard.next()
    qtbot.waitUntil(lambda: wizard.fields_page.isComplete(), timeout=TIMEOUT)
    wizard.next()
    assert wizard.currentId() == PAGE_SUMMARY
    assert wizard.summary_page.stage.textFormat() == Qt.TextFormat.PlainText
    assert wizard.summary_page.stage.text().startswith(label)


def test_stages_fail_to_load_then_retry(sandbox, connected, open_wizard, qtbot) -> None:
    # every query fails until cleared: the page's other reads (how triggers arrive) query too, so a
    # counted fault could be spent by them and let the stages through
    admin(sandbox, "POST", "/faults", json={"kind": "status", "status": 500, "path": "/query", "count": None})
    wizard = open_wizard(connected, "stage")
    page = wizard.stage_page
    qtbot.waitUntil(lambda: page.stages_panel.state == "failed", timeout=TIMEOUT)
    assert page.stages_panel.message.text().startswith("The stages could not be loaded.")
    assert page.stages_panel.retry_button.isVisible() and not page.combo.isEnabled()
    assert not page.isComplete() and not wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    admin(sandbox, "DELETE", "/faults")
    qtbot.mouseClick(page.stages_panel.retry_button, Qt.MouseButton.LeftButton)
    wait_stage_ready(qtbot, wizard)
    assert page.combo.isEnabled() and page.combo.currentData(API_NAME_ROLE) == "Closed Won"
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def test_a_deactivated_saved_stage_is_named_and_not_guessed(sandbox, connected, open_wizard, qtbot) -> None:
    Engine(fast_policies(Connector(connected))).configure("Negotiation/Review")
    admin(sandbox, "POST", "/stages/Negotiation%2FReview", json={"active": False})
    wizard = open_wizard(connected, "stage")
    wait_stage_ready(qtbot, wizard)
    page = wizard.stage_page
    assert page.saved_missing.isVisible()
    assert "“Negotiation/Review” is no longer an active stage" in page.saved_missing.text()
    assert page.combo.currentData(API_NAME_ROLE) == "Closed Won"


# ---- the fields page -------------------------------------------------------------------------------
def test_fields_page_lists_what_exists_and_what_is_missing(sandbox, connected, open_wizard, qtbot) -> None:
    settings = Settings.load(connected)
    settings.sync.field_map["wip"] = "Work_In_Progress__c"  # not in the org
    settings.save(connected)
    wizard = open_wizard(connected, "fields")
    page = wizard.fields_page
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    statuses = {
        page.table.item(row, 0).toolTip(): page.table.item(row, 2).toolTip() for row in range(page.table.rowCount())
    }
    assert statuses["wip"] == "✗ missing"
    assert statuses["budget_total"] == "✓ exists"  # the total budget (sum of EstTotal) has its field in the sandbox org
    assert all(text == "✓ exists" for figure, text in statuses.items() if figure != "wip")
    hand_made = page.missing.text()
    assert "Setup › Object Manager › Opportunity" in hand_made and "Fields & Relationships › New" in hand_made
    assert "Work_In_Progress__c — Currency(16, 2)" in page.missing.text()
    assert page.problems() == ["Work_In_Progress__c (Work in progress (WIP)): missing"]
    assert "has the BigTime_Invoice__c object" in page.invoice.text()

    hours = page.combos["hours_logged"]
    names = [hours.itemData(i) for i in range(hours.count())]
    assert names[0] == "" and "BigTime_Hours_Logged__c" in names
    assert "BigTime_WIP__c" not in names and "Amount" not in names  # currency is not hours
    # re-map WIP to the real field: nothing missing any more
    wip = page.combos["wip"]
    wip.setCurrentIndex(wip.findData("BigTime_WIP__c"))
    assert page.problems() == [] and page.missing.isHidden()
    assert page.field_map()["wip"] == "BigTime_WIP__c"
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()


# ---- Save and Cancel -------------------------------------------------------------------------------
def test_save_writes_settings_and_starts_the_loop(sandbox, connected, qtbot, monkeypatch) -> None:
    from bigsync_gui.gui.session import DesktopSession

    # No sign-in happened in this wizard (other tests in the process may have loaded WebEngine):
    # the loop starts in this same process.
    monkeypatch.setattr(DesktopSession, "webengine_loaded", staticmethod(lambda: False))
    # Polling, so that the interval chosen here is what the Summary promises (with Change Data Capture
    # on, it says "Instant" once the Trigger page's check has answered: tests/gui/test_trigger_words.py)
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    session = DesktopSession(make_context(connected))
    try:
        session.open_wizard("stage")
        wizard = session.wizard  # the session deletes it once closed
        results: list[int] = []
        wizard.finished.connect(results.append)
        wait_stage_ready(qtbot, wizard)
        page = wizard.stage_page
        page.combo.setCurrentIndex(page.combo.findData("Negotiation/Review", API_NAME_ROLE))
        qtbot.waitUntil(lambda: page.already_past() is not None, timeout=TIMEOUT)
        page.backfill.setChecked(True)
        assert page.interval.value() == 0 and page.interval.text().startswith("Automatic")  # the default
        page.interval.setValue(10)
        wizard.next()
        assert wizard.currentId() == PAGE_FIELDS
        qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
        expenses = wizard.fields_page.combos["expenses_logged"]
        expenses.setCurrentIndex(0)  # (don't write)
        wizard.next()
        assert wizard.currentId() == PAGE_SUMMARY
        summary = wizard.summary_page
        assert summary.salesforce.text() == f"{cred.SF_ORG_NAME}, signed in as {cred.SF_USERNAME}."  # said once
        assert summary.bigtime.text() == f"Firm {cred.BT_FIRM_ID}, with the firm's API key."
        assert "Negotiation/Review" in summary.stage.text()
        assert "projects are created for all" in summary.backfill.text()
        assert summary.interval.text() == "Triggers: Checks every 10 min."
        assert (
            "Expenses logged" not in summary.fields.text()
            and "Hours logged → BigTime_Hours_Logged__c" in summary.fields.text()
        )
        assert summary.note.text() == "Deleting an opportunity never deletes a BigTime project: its link is severed."
        save = wizard.button(QWizard.WizardButton.CommitButton)
        assert save.text().replace("&", "") == "Save" and save.isVisible()
        assert wizard.steps.current == PAGE_SUMMARY and wizard.steps.marks[PAGE_SUMMARY].text() == "▸"

        reports: list = []
        session.runner.cycle_finished.connect(reports.append)
        with qtbot.waitSignal(wizard.saved, timeout=TIMEOUT):
            qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        # "You're all set": the wizard stays, the app is already running behind it
        assert wizard.isVisible() and wizard.currentId() == PAGE_DONE and session.running
        done = wizard.done_page
        assert done.title() == "You're all set"
        assert "every 10 min" in done.now.text() and "reaches Negotiation/Review" in done.now.text()
        assert not done.tray_icon.pixmap().isNull() and "Activity…" in done.activity.text()
        assert [m.text() for m in wizard.steps.marks] == ["✓"] * 6
        assert not wizard.button(QWizard.WizardButton.CancelButton).isVisible()
        assert not wizard.button(QWizard.WizardButton.BackButton).isVisible()
        finish = wizard.button(QWizard.WizardButton.FinishButton)
        assert finish.text().replace("&", "") == "Done" and finish.isVisible()
        qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: session.wizard is None)
        assert results == [QWizard.DialogCode.Accepted.value]

        sync = Settings.load(connected).sync
        assert (sync.trigger_stage, sync.interval_seconds, sync.interval_explicit, sync.backfill) == (
            "Negotiation/Review",
            600,
            True,
            True,
        )
        assert sync.configured and sync.field_map["expenses_logged"] == ""
        assert sync.field_map["hours_logged"] == "BigTime_Hours_Logged__c"
        vault = secrets.Vault(connected)
        assert vault.get(secrets.SALESFORCE_REFRESH_TOKEN) and vault.get(secrets.BIGTIME_API_KEY) == cred.BT_API_KEY
        assert session.runner.running
        qtbot.waitUntil(lambda: any(r.kind == "trigger" for r in reports), timeout=TIMEOUT)
        trigger = next(r for r in reports if r.kind == "trigger")
        assert trigger.result in ("ok", "partial")
        assert trigger.created == expected_already_past(sandbox, "Negotiation/Review")  # the backfill
        if session.window is not None:
            qtbot.addWidget(session.window)
    finally:
        session.shutdown()


def test_save_failure_is_a_sentence_and_the_wizard_stays(sandbox, connected, open_wizard, qtbot) -> None:
    wizard = open_wizard(connected, "stage")
    wait_stage_ready(qtbot, wizard)
    wizard.next()
    qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
    wizard.next()
    # The Save reads nothing from Salesforce (the stage page's count is reused): what can fail is
    # the profile itself, e.g. a settings file broken by hand meanwhile. It is never overwritten.
    connected.settings_file.write_text("{ broken", encoding="utf-8")
    before = connected.settings_file.read_bytes()
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CommitButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: wizard.summary_page.panel.state == "failed", timeout=TIMEOUT)
    assert wizard.summary_page.panel.message.text().startswith("Not saved. The settings file ")
    assert wizard.isVisible() and wizard.currentId() == PAGE_SUMMARY
    assert connected.settings_file.read_bytes() == before
    assert wizard.button(QWizard.WizardButton.CommitButton).isEnabled()


def test_cancel_on_a_configured_profile_changes_nothing(sandbox, connected, open_wizard, qtbot) -> None:
    engine = Engine(fast_policies(Connector(connected)))
    engine.configure("Negotiation/Review", interval_seconds=900)
    before = connected.settings_file.read_bytes()

    wizard = open_wizard(connected)
    for _ in range(3):  # welcome, Salesforce, BigTime: already connected
        assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        wizard.next()
    assert wizard.currentId() == PAGE_STAGE
    wait_stage_ready(qtbot, wizard)
    page = wizard.stage_page
    assert page.combo.currentData(API_NAME_ROLE) == "Negotiation/Review"  # editing starts from the saved choice
    assert page.interval.value() == 15
    page.combo.setCurrentIndex(page.combo.findData("Closed Won", API_NAME_ROLE))
    qtbot.waitUntil(lambda: page.already_past() is not None, timeout=TIMEOUT)
    page.backfill.setChecked(True)
    page.interval.setValue(3)
    wizard.next()
    qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
    wizard.fields_page.combos["wip"].setCurrentIndex(0)
    wizard.next()
    assert wizard.currentId() == PAGE_SUMMARY

    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    box = wizard.quit_box
    assert box is not None and box.isVisible() and wizard.isVisible()  # asked first
    assert "BigSync keeps syncing with the saved setup" in box.informativeText()
    assert "connection" not in box.informativeText()  # none was made in this run
    with qtbot.waitSignal(wizard.rejected, timeout=TIMEOUT):
        qtbot.mouseClick(box.quit_button, Qt.MouseButton.LeftButton)
    assert connected.settings_file.read_bytes() == before


# ---- the window --------------------------------------------------------------------------------------
def test_window_title_icon_size_and_navigation(profile, open_wizard, qtbot) -> None:
    wizard = open_wizard(profile)
    assert wizard.windowTitle() == "Set up BigSync"
    assert not wizard.windowIcon().isNull()
    assert wizard.wizardStyle() == QWizard.WizardStyle.ModernStyle
    assert wizard.width() <= 1280 and wizard.height() <= 720
    welcome = wizard.welcome_page
    assert welcome.salesforce_uri.text() == cred.SF_REDIRECT_URIS[0]
    qtbot.mouseClick(welcome.salesforce_copy, Qt.MouseButton.LeftButton)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == cred.SF_REDIRECT_URIS[0]
    # not connected: the Salesforce page does not let the admin on
    wizard.next()
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.back()
    assert wizard.currentId() == 0
    with pytest.raises(ValueError):
        SetupWizard(make_context(profile), start_page="nowhere")


# ---- end to end, through the real connect pages and the embedded browser ------------------------
def browser_ready(page, ready: Callable[[str, str], bool]) -> Callable[[], bool]:
    """A condition on the page's embedded browser: its title and URL."""

    def check() -> bool:
        browser = getattr(page, "browser", None)
        web = browser.page() if browser is not None else None
        return web is not None and ready(web.title(), web.url().toString())

    return check


def has_element(qtbot, page, element_id: str) -> bool:
    got: list[bool] = []
    page.browser.page().runJavaScript(f"!!document.getElementById({element_id!r})", 0, got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=TIMEOUT)
    return bool(got[0])


def page_text(qtbot, page) -> str:
    got: list[str] = []
    page.browser.page().toPlainText(got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=TIMEOUT)
    return got[0]


@pytest.mark.webengine
def test_end_to_end_sign_in_to_both_pick_the_stage_save_and_the_loop_runs(
    sandbox, profile, qtbot, bigtime_reading
) -> None:
    from bigsync_gui.gui.app import sandbox_prefill
    from bigsync_gui.gui.session import DesktopSession

    context = make_context(profile)
    context.prefill = sandbox_prefill(sandbox)
    session = DesktopSession(context)
    try:
        session.open_wizard()
        wizard = session.wizard
        wizard.next()
        sf = wizard.salesforce_page
        assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
        qtbot.mouseClick(sf.sign_in_button, Qt.MouseButton.LeftButton)
        wait_loaded(
            qtbot, lambda: sf.browser.page() if sf.browser is not None else None, "Log In to Salesforce", TIMEOUT
        )
        sf.browser.page().runJavaScript(f"""document.getElementById('username').value = {cred.SF_USERNAME!r};
            document.getElementById('password').value = {cred.SF_PASSWORD!r};
            document.getElementById('Login').click();""")
        wait_loaded(qtbot, lambda: sf.browser.page(), "Allow Access?", TIMEOUT)
        sf.browser.page().runJavaScript("document.querySelector('#oaapprove').click();")
        qtbot.waitUntil(sf.isComplete, timeout=TIMEOUT)
        wizard.next()

        bt = wizard.bigtime_page
        qtbot.mouseClick(bt.sign_in_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(browser_ready(bt, lambda _, url: url.startswith(sandbox.bigtime_url)), timeout=TIMEOUT)
        qtbot.waitUntil(lambda: has_element(qtbot, bt, "Pwd"), timeout=TIMEOUT)
        bt.browser.page().runJavaScript(f"""document.getElementById('UserId').value = {cred.BT_USERNAME!r};
            document.getElementById('Pwd').value = {cred.BT_PASSWORD!r};
            document.getElementById('signin').click();""")
        qtbot.waitUntil(lambda: "Allow BigSync to" in page_text(qtbot, bt), timeout=TIMEOUT)
        bt.browser.page().runJavaScript("document.getElementById('allow').click();")
        qtbot.waitUntil(bt.isComplete, timeout=TIMEOUT)
        wizard.next()

        assert wizard.currentId() == PAGE_STAGE
        wait_stage_ready(qtbot, wizard)
        assert wizard.stage_page.combo.currentData(API_NAME_ROLE) == "Closed Won"
        wizard.next()
        qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
        wizard.next()
        assert wizard.currentId() == PAGE_SUMMARY
        assert wizard.summary_page.salesforce.text() == f"{cred.SF_ORG_NAME}, signed in as {cred.SF_USERNAME}."

        reports: list = []
        session.runner.cycle_finished.connect(reports.append)
        with qtbot.waitSignal(wizard.saved, timeout=TIMEOUT):
            qtbot.mouseClick(wizard.button(QWizard.WizardButton.CommitButton), Qt.MouseButton.LeftButton)
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)  # Done
        qtbot.waitUntil(lambda: session.wizard is None, timeout=TIMEOUT)
        settings = Settings.load(profile)
        assert settings.sync.trigger_stage == "Closed Won" and settings.sync.configured and not settings.sync.backfill
        assert settings.salesforce.connected and settings.bigtime.auth_mode == "oauth"
        assert (settings.bigtime.firm_id, settings.bigtime.oauth_header) == (
            cred.BT_FIRM_ID,
            "x-auth-token",
        )  # prefilled
        vault = secrets.Vault(profile)
        assert vault.get(secrets.SALESFORCE_REFRESH_TOKEN) and vault.get(secrets.BIGTIME_REFRESH_TOKEN)
        assert vault.get(secrets.BIGTIME_CLIENT_SECRET) == cred.BT_CLIENT_SECRET
        assert session.runner.running
        qtbot.waitUntil(lambda: any(r.kind == "trigger" for r in reports), timeout=TIMEOUT)
        trigger = next(r for r in reports if r.kind == "trigger")
        assert trigger.result == "ok" and trigger.created == 0  # "from now on": nothing already won is created
        if session.window is not None:
            qtbot.addWidget(session.window)
    finally:
        session.shutdown()


def test_webengine_is_imported_only_when_a_sign_in_opens(tmp_path) -> None:
    import subprocess

    script = f"""
import sys, keyring
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.wizard import SetupWizard
keyring.set_keyring(MemoryKeyring())
app = make_app(["x"])
wizard = SetupWizard(SetupContext(Profile.at({str(tmp_path / "p")!r})))
wizard.show()
wizard.next()
app.processEvents()
print(sorted(m for m in sys.modules if "WebEngine" in m))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_after_a_sign_in_save_restarts_the_app_so_webengine_processes_go(
    sandbox, connected, qtbot, monkeypatch
) -> None:
    """WebEngine's helper processes live as long as the process: after a sign-in, Save ends the
    session and the app starts afresh (same arguments) straight into the tray."""
    from bigsync_gui.gui import app as app_module
    from bigsync_gui.gui.session import DesktopSession

    monkeypatch.setattr(DesktopSession, "webengine_loaded", staticmethod(lambda: True))
    session = DesktopSession(make_context(connected))
    quits: list[bool] = []
    monkeypatch.setattr(session, "quit", lambda: quits.append(True))
    try:
        session.open_wizard("stage")
        wizard = session.wizard
        wait_stage_ready(qtbot, wizard)
        wizard.next()
        qtbot.waitUntil(wizard.fields_page.isComplete, timeout=TIMEOUT)
        wizard.next()
        with qtbot.waitSignal(wizard.saved, timeout=TIMEOUT):
            qtbot.mouseClick(wizard.button(QWizard.WizardButton.CommitButton), Qt.MouseButton.LeftButton)
        assert session.restart_requested and quits == []  # "You're all set" shows first
        assert wizard.isVisible() and wizard.currentId() == PAGE_DONE
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)  # Done
        assert quits == [True]
        assert not session.running  # the loop is left to the fresh process
        assert Settings.load(connected).sync.configured
    finally:
        session.shutdown()

    started: list[list[str]] = []
    monkeypatch.setattr(app_module.os, "execv", lambda path, argv: started.append(argv))
    monkeypatch.setattr(app_module.sys, "argv", ["/usr/bin/bigsync-gui", "--profile", str(connected.config_dir.parent)])
    app_module.restart()
    assert started == [[app_module.sys.executable, "-m", "bigsync_gui", "--profile", str(connected.config_dir.parent)]]
