"""Issue 20 item 8, the Fields page at 200 % on a 1280×800 screen (640×400 points, offscreen with that
screen), in the wizard and in Settings › Fields (which shares it): every field picker shows the whole
name it paints ("BigTime Pı" was all an admin saw of "BigTime Project ID (BigTime_Project_Id__c)"),
that name is the chosen field's label (or the API name of a field not created yet), the whole
"Label (ApiName)" is its tooltip, and neither the page nor the table scrolls sideways."""

from __future__ import annotations

import json
from pathlib import Path

from at_200_percent import run_at_200_percent

SCRIPT = r"""
import json, sys
from pathlib import Path
sys.path[:0] = [sys.argv[2], str(Path(sys.argv[2]).parent)]
import keyring
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea, QStyle, QStyleOptionComboBox
from bigsync_gui.connectors.oauth import AuthorizationAttempt, salesforce_endpoints
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.pages.fields import FieldsReport
from bigsync_gui.gui.settings_window import SECTIONS, SettingsWindow
from bigsync_gui.gui.wizard import SetupWizard
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse
keyring.set_keyring(MemoryKeyring())
app = make_app(["x"])


def wait(condition):
    for _ in range(400):
        if condition():
            return
        QTest.qWait(50)
    raise SystemExit("timed out")


def pickers(page):
    out = {}
    for figure, combo in page.combos.items():
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                             QStyle.SubControl.SC_ComboBoxEditField, combo)
        shown = getattr(combo, "shown_text", combo.currentText)()  # what the closed box paints
        out[figure] = {"shown": shown, "full": combo.currentText(), "tip": combo.toolTip(),
                       "advance": combo.fontMetrics().horizontalAdvance(shown), "room": field.width() - 2,
                       "visible": combo.isVisible()}
    return out


def fit(page, window):
    scroll = page.findChild(QScrollArea) or next(
        (a for a in window.findChildren(QScrollArea) if a.widget() is not None and a.widget().isAncestorOf(page)),
        None)
    return {"pickers": pickers(page), "table_hmax": page.table.horizontalScrollBar().maximum(),
            "page_hmax": scroll.horizontalScrollBar().maximum() if scroll is not None else 0,
            "status": {f: page.table.item(r, 2).toolTip() for r, f in enumerate(page.combos)}}


out = {}
with Sandbox() as sb:
    profile = Profile.at(Path(sys.argv[1]) / "p")
    connector = Connector(profile, pace=(1_000_000, 0.2))
    connector.save_bigtime_key(sb.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    endpoints = salesforce_endpoints(sb.salesforce_url, cred.SF_CONSUMER_KEY, cred.SF_REDIRECT_URIS[0])
    attempt = AuthorizationAttempt(endpoints, connector.http["salesforce"])
    connector.save_salesforce(endpoints, sb.salesforce_url,
                              attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url,
                                                                                 "salesforce"))))
    context = SetupContext(profile)
    w = SetupWizard(context, start_page="fields")
    w.show()
    page = w.fields_page
    wait(page.isComplete)
    QTest.qWait(300)
    out["screen"] = [w.screen().size().width(), w.screen().size().height()]
    out["wizard"] = fit(page, w)
    # A field not created yet: its picker shows the API name we ask for.
    report = page._report
    fields = {n: f for n, f in report.opportunity.items() if n != "BigTime_Expenses_Logged__c"}
    page._on_report(page._generation, FieldsReport(fields, True, account=report.account))
    QTest.qWait(300)
    out["missing"] = fit(page, w)
    w.grab().save(str(Path(sys.argv[1]) / "wizard-fields-200.png"))
    w.close()
    s = SettingsWindow(context)
    s.show()
    s.sidebar.setCurrentRow(SECTIONS.index("Fields"))
    wait(s.fields_page.isComplete)
    QTest.qWait(300)
    out["settings"] = fit(s.fields_page, s)
    s.grab().save(str(Path(sys.argv[1]) / "settings-fields-200.png"))
    s.close()
print(json.dumps(out))
"""


def test_every_field_picker_reads_whole_at_200_percent(tmp_path):
    run = run_at_200_percent(tmp_path, SCRIPT, tmp_path, str(Path(__file__).parent.parent), timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["screen"] == [640, 400]  # 1280×800 at 200 %, in points
    for where in ("wizard", "missing", "settings"):
        fit = out[where]
        assert fit["table_hmax"] == 0 and fit["page_hmax"] == 0, where  # no sideways scrolling
        assert len(fit["pickers"]) == 13
        for figure, p in fit["pickers"].items():
            assert p["advance"] <= p["room"], (where, figure, p)  # the whole name, not "BigTime Pı"
            assert p["tip"] == p["full"], (where, figure, p)  # "Label (ApiName)" on hover
    expenses = out["wizard"]["pickers"]["budget_expenses"]
    assert expenses["shown"] == "BigTime Budget (Expenses)"  # the label, as Salesforce's own pages show it
    assert expenses["full"] == "BigTime Budget (Expenses) (BigTime_Budget_Expenses__c)"
    assert out["wizard"]["status"]["budget_expenses"] == "✓ exists"  # the mark's words
    missing = out["missing"]["pickers"]["expenses_logged"]
    assert (missing["shown"], missing["full"]) == (
        "BigTime_Expenses_Logged__c",
        "BigTime_Expenses_Logged__c (not in Salesforce yet)",
    )
    assert out["missing"]["status"]["expenses_logged"] == "✗ missing"
