"""At 200 % on a 1280×800 screen (640×400 points) no wizard page scrolls sideways: each page's
content fits the width its scroll area gives it. The Trigger stage page did not (its interval box
said "Automatic (as often as the API budget allows)" on one line, 9 points too wide)."""

from __future__ import annotations

import json

import pytest

from at_200_percent import run_at_200_percent

SCRIPT = r"""
import json, sys
from pathlib import Path
import keyring
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.wizard import SetupWizard
keyring.set_keyring(MemoryKeyring())
app = make_app(["x"])
w = SetupWizard(SetupContext(Profile.at(Path(sys.argv[1]))), start_page=sys.argv[2])
w.show()
import time
QTest.qWait(500)
scroll = w.currentPage().findChild(QScrollArea)
deadline = time.monotonic() + 10  # the layout settles in a few event-loop turns; slower on a loaded machine
while scroll.horizontalScrollBar().maximum() and time.monotonic() < deadline:
    QTest.qWait(50)
print(json.dumps({"screen": [w.screen().size().width(), w.screen().size().height()],
                  "hmax": scroll.horizontalScrollBar().maximum()}))
"""


@pytest.mark.parametrize("page", ["welcome", "salesforce", "bigtime", "stage", "fields", "summary"])
def test_no_wizard_page_scrolls_sideways_at_200_percent(tmp_path, page):
    run = run_at_200_percent(tmp_path, SCRIPT, tmp_path / "p", page)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["screen"] == [640, 400]  # 1280×800 at 200 %, in points
    assert out["hmax"] == 0, page


SUMMARY = r"""
import json, sys
from pathlib import Path
import keyring
from PySide6.QtTest import QTest
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.pages.summary import Choices
from bigsync_gui.gui.wizard import SetupWizard
keyring.set_keyring(MemoryKeyring())
app = make_app(["x"])
w = SetupWizard(SetupContext(Profile.at(Path(sys.argv[1]))), start_page="summary")
w.show()
QTest.qWait(300)
page = w.summary_page
page.show_choices(Choices(salesforce="Acme Consulting (sandbox), signed in as admin@acme-demo.example.",
                          bigtime="Firm acme-sbx-0001, with the firm's API key.", stage_api_name="Closed Won",
                          stage_label="Closed Won", already_past=4, triggers="Checks every 7 min",
                          written=[f"Figure {n} → BigTime_Figure_{n}__c" for n in range(13)], invoice_object=True))
import time
def measure():
    return {name: [getattr(page, name).height(), getattr(page, name).heightForWidth(getattr(page, name).width())]
            for name in ("salesforce", "bigtime", "stage", "backfill", "interval", "fields")}
deadline = time.monotonic() + 10  # the layout settles in a few event-loop turns; slower on a loaded machine
heights = measure()
while time.monotonic() < deadline and any(h < n for h, n in heights.values()):
    QTest.qWait(50)
    heights = measure()
from PySide6.QtWidgets import QScrollArea
scroll = page.findChild(QScrollArea)  # said with a failure: which width the page's height was worked out for
body = scroll.widget()
width = scroll.viewport().width()
state = {"viewport": width, "bar": scroll.verticalScrollBar().isVisible(), "body": body.height(),
         "needed": body.layout().totalHeightForWidth(width), "waited": round(10 - (deadline - time.monotonic()), 1)}
print(json.dumps({"heights": heights, "scroll": state}))
"""


def test_the_summary_set_after_the_page_shows_is_never_cut_at_200_percent(tmp_path):
    """Its lines are set once the page is shown; each label gets the height its wrapped text needs
    (the fields list had room for 11 of its 14 lines, and the stage's three lines for two)."""
    run = run_at_200_percent(tmp_path, SUMMARY, tmp_path / "p")
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    heights = out["heights"]
    assert heights["fields"][1] >= 14 * heights["interval"][1]  # 14 lines
    for name, (height, needed) in heights.items():
        assert height >= needed, (name, height, needed, out["scroll"])
