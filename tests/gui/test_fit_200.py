"""Issue 20 item 8, at 200 % on a 1280×800 screen (640×400 points, offscreen with that screen): the
Settings sidebar is not cut, Settings › Trigger shows "Closed Won" whole, and a connect page with the
sign-in browser open does not scroll sideways. Also the window titles (item 12)."""

from __future__ import annotations

import json
from pathlib import Path

from at_200_percent import run_at_200_percent

SCRIPT = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
import keyring
from PySide6.QtTest import QTest
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import Prefill, SetupContext
from bigsync_gui.gui.settings_window import SECTIONS, SettingsWindow
from bigsync_gui.gui.wizard import SetupWizard
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
keyring.set_keyring(MemoryKeyring())
app = make_app(["x"])
out = {}
root = Path(sys.argv[1])
s = SettingsWindow(SetupContext(Profile.at(root / "s")))
s.show()
QTest.qWait(200)
bar = s.sidebar
out["sidebar"] = {"width": bar.viewport().width(), "hscroll": bar.horizontalScrollBar().isVisible(),
                  "needed": max(bar.visualItemRect(bar.item(i)).right() for i in range(bar.count())),
                  "texts": [bar.fontMetrics().horizontalAdvance(t) for t in SECTIONS]}
s.sidebar.setCurrentRow(SECTIONS.index("Trigger"))
s.stage_combo.clear()
s.stage_combo.addItems(["Prospecting", "Closed Won", "Closed Lost"])
s.stage_combo.setCurrentText("Closed Won")
s.stage_combo.setEnabled(True)
QTest.qWait(200)
combo = s.stage_combo
out["combo"] = {"width": combo.width(), "text": combo.fontMetrics().horizontalAdvance("Closed Won")}
out["titles"] = {"settings": s.windowTitle()}
with Sandbox() as sb:
    prefill = Prefill(salesforce_login_url=sb.salesforce_url, salesforce_consumer_key=cred.SF_CONSUMER_KEY,
                      is_sandbox=True)
    w = SetupWizard(SetupContext(Profile.at(root / "w"), prefill), start_page="salesforce")
    w.show()
    page = w.salesforce_page
    page.sign_in()
    for _ in range(300):
        QTest.qWait(50)
        if page.browser is not None and page.browser.page().title() == "Log In to Salesforce":
            break
    QTest.qWait(300)
    from PySide6.QtWidgets import QScrollArea
    scroll = page.findChild(QScrollArea) or next(
        a for a in w.findChildren(QScrollArea)
        if a.isAncestorOf(page) or page.isAncestorOf(a)
        or a.widget() is not None and a.widget().isAncestorOf(page.stack)
    )
    out["connect"] = {"browser": page.browser is not None, "hscroll": scroll.horizontalScrollBar().isVisible(),
                      "hmax": scroll.horizontalScrollBar().maximum()}
    w.grab().save(str(root / "connect-200.png"))
    page.abort()
    QTest.qWait(300)
print(json.dumps(out))
"""


def test_settings_and_connect_pages_fit_at_200_percent(tmp_path, sandbox):
    run = run_at_200_percent(tmp_path, SCRIPT, tmp_path, str(Path(__file__).parent), timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    bar = out["sidebar"]
    assert not bar["hscroll"] and bar["width"] > max(bar["texts"])  # "Start at login" whole (was "Start at log")
    assert out["combo"]["width"] > out["combo"]["text"]  # "Closed Won", not "Closed W"
    assert out["titles"]["settings"] == "Settings"  # Qt adds " — BigSync": not "BigSync settings — BigSync"
    connect = out["connect"]
    assert connect["browser"] and not connect["hscroll"] and connect["hmax"] == 0
