"""The wizard's finish (issue 13): Cancel/Esc ask before quitting, Enter advances after a
connection, the step list, the field pickers offer only custom fields and ignore an unfocused
wheel, the window fits the screen at 200%, failures say Retry with the warning icon, one product
name and no "(s)", and the sandbox's console address and throwaway profile."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel, QWizard

from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.gui.context import Prefill, SetupContext
from bigsync_gui.gui.wizard import PAGE_STAGE, PAGE_WELCOME, SetupWizard
from bigsync_gui.sandbox import credentials as cred
from test_wizard import TIMEOUT, connected, make_context, memory_keyring, profile  # noqa: F401 - fixtures
from at_200_percent import run_at_200_percent

GUI = Path(__file__).resolve().parents[2] / "bigsync_gui" / "gui"


def bigtime_prefill(sandbox, *, is_sandbox: bool = False) -> Prefill:
    return Prefill(
        bigtime_base_url=sandbox.bigtime_url,
        bigtime_api_key=cred.BT_API_KEY,
        bigtime_firm_id=cred.BT_FIRM_ID,
        is_sandbox=is_sandbox,
    )


def wizard_on_bigtime(qtbot, sandbox, profile: Profile, *, is_sandbox: bool = False) -> SetupWizard:
    context = make_context(profile)
    context.prefill = bigtime_prefill(sandbox, is_sandbox=is_sandbox)
    wizard = SetupWizard(context, start_page="bigtime")
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow, timeout=TIMEOUT)
    page = wizard.bigtime_page
    page.use_key.setChecked(True)
    qtbot.mouseClick(page.connect_key_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    return wizard


# ---- 4. Enter advances -----------------------------------------------------------------------------
def test_after_a_connection_enter_goes_to_the_next_step(sandbox, tmp_path, qtbot) -> None:
    wizard = wizard_on_bigtime(qtbot, sandbox, Profile.at(tmp_path / "p"))
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    assert QApplication.focusWidget() is next_button  # not "Sign in again"
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert wizard.currentId() == PAGE_STAGE


# ---- 1. Cancel and Esc ask first ------------------------------------------------------------------
def test_esc_after_a_sign_in_asks_and_keeps_the_connection(sandbox, tmp_path, qtbot) -> None:
    profile = Profile.at(tmp_path / "p")
    wizard = wizard_on_bigtime(qtbot, sandbox, profile)
    rejected: list[bool] = []
    wizard.rejected.connect(lambda: rejected.append(True))

    qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    box = wizard.quit_box
    assert box is not None and box.isVisible() and wizard.isVisible() and not rejected
    assert box.text() == "Quit setup?"
    assert "Your BigTime connection will be kept" in box.informativeText()
    assert "setup starts again" in box.informativeText()
    qtbot.keyClick(box, Qt.Key.Key_Escape)  # a second Esc: back to the setup, not out of it
    assert not box.isVisible() and wizard.isVisible() and not rejected

    qtbot.mouseClick(wizard.button(QWizard.WizardButton.CancelButton), Qt.MouseButton.LeftButton)
    assert box.isVisible()
    qtbot.mouseClick(box.quit_button, Qt.MouseButton.LeftButton)
    assert rejected == [True] and not wizard.isVisible()
    assert Settings.load(profile).bigtime.connected  # kept, as the question said


def test_a_sandbox_connection_is_said_to_be_discarded(sandbox, tmp_path, qtbot) -> None:
    wizard = wizard_on_bigtime(qtbot, sandbox, Profile.at(tmp_path / "p"), is_sandbox=True)
    wizard.reject()
    assert "Your BigTime connection will be discarded with this sandbox setup." in wizard.quit_box.informativeText()
    wizard.quit_box.reject()


def test_cancel_with_nothing_entered_quits_at_once(tmp_path, qtbot) -> None:
    wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")))
    qtbot.addWidget(wizard)
    wizard.show()
    with qtbot.waitSignal(wizard.rejected, timeout=TIMEOUT):
        qtbot.keyClick(wizard, Qt.Key.Key_Escape)
    assert wizard.quit_box is None


def test_typing_a_field_is_something_to_lose(tmp_path, qtbot) -> None:
    wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")), start_page="salesforce")
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.keyClicks(wizard.salesforce_page.consumer_key, "3MVG9abc")
    wizard.reject()
    assert wizard.quit_box is not None and wizard.quit_box.isVisible() and wizard.isVisible()
    wizard.quit_box.reject()


# ---- 2. where am I ----------------------------------------------------------------------------------
def test_the_step_list_marks_the_current_step(tmp_path, qtbot) -> None:
    wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p")))
    qtbot.addWidget(wizard)
    wizard.show()
    steps = wizard.steps
    assert wizard.sideWidget() is steps
    assert [label.text() for label in steps.labels] == [
        "1. Welcome",
        "2. Connect Salesforce",
        "3. Connect BigTime",
        "4. Trigger stage",
        "5. Fields",
        "6. Summary",
    ]
    assert steps.current == PAGE_WELCOME and steps.marks[0].text() == "▸" and steps.labels[0].font().bold()
    wizard.next()
    assert [m.text() for m in steps.marks] == ["✓", "▸", "", "", "", ""]
    assert steps.labels[1].font().bold() and not steps.labels[0].font().bold()


# ---- 5. the field pickers ---------------------------------------------------------------------------
def test_fields_offer_only_custom_fields_and_ignore_an_unfocused_wheel(sandbox, connected, qtbot) -> None:
    settings = Settings.load(connected)
    settings.sync.field_map["project_url"] = "NextStep"  # a standard field, saved by an older version
    settings.save(connected)
    wizard = SetupWizard(make_context(connected), start_page="fields")
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.fields_page
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    offered = {figure: [combo.itemData(i) for i in range(combo.count())] for figure, combo in page.combos.items()}
    project_id = offered["project_id"]
    assert "BigTime_Project_Id__c" in project_id
    assert "Name" not in project_id and "NextStep" not in project_id  # string fields, but Salesforce's own
    for figure, names in offered.items():
        usable = [n for n in names if n and not (figure == "project_url" and n == "NextStep")]
        assert all(n.endswith("__c") for n in usable), (figure, usable)
    status = {page.table.item(r, 0).toolTip(): page.table.item(r, 2).toolTip() for r in range(page.table.rowCount())}
    assert status["project_url"] == "✗ a standard field"
    assert "NextStep — a standard field: BigSync never writes Salesforce's own fields" in page.missing.text()

    before = page.field_map()
    combo = page.combos["hours_logged"]
    page.table.setFocus()
    assert not combo.hasFocus()
    wheel = QWheelEvent(
        QPointF(5, 5),
        QPointF(combo.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, 120),  # up: to the item above
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(combo, wheel)
    page.table.setCurrentCell(5, 1)
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_End):
        qtbot.keyClick(page.table, key)
    assert page.field_map() == before


def test_a_missing_field_we_ask_for_is_offered(sandbox, connected, qtbot) -> None:
    from bigsync_gui.connectors.salesforce import FieldInfo
    from bigsync_gui.gui.pages.fields import FieldsReport

    wizard = SetupWizard(make_context(connected), start_page="fields")
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.fields_page
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    fields = {n: f for n, f in page._report.opportunity.items() if n != "BigTime_WIP__c"}
    fields["Cost__c"] = FieldInfo("Cost__c", "currency", "Cost", True, True, True, None)
    page._on_report(page._generation, FieldsReport(fields, True))
    wip = [page.combos["wip"].itemText(i) for i in range(page.combos["wip"].count())]
    assert "BigTime_WIP__c (not in Salesforce yet)" in wip and "Cost (Cost__c)" in wip


def test_the_account_client_field_is_offered_from_the_account(sandbox, connected, qtbot) -> None:
    """client_id is written on the Account: the page checks it among the Account's fields (the
    sandbox org has it), and says it is missing from the Account when it is."""
    from bigsync_gui.gui.pages.fields import FieldsReport

    wizard = SetupWizard(make_context(connected), start_page="fields")
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.fields_page
    qtbot.waitUntil(page.isComplete, timeout=TIMEOUT)
    row = list(page.combos).index("client_id")
    assert page.table.item(row, 2).toolTip() == "✓ exists"
    assert page.combos["client_id"].accessibleName() == "Account field for BigTime client ID (on the account)"
    assert page.field_map()["client_id"] == "BigTime_Client_Id__c"
    assert "BigTime_Client_Id__c" not in page._report.opportunity  # found on the Account, not the Opportunity
    account = {n: f for n, f in page._report.account.items() if n != "BigTime_Client_Id__c"}
    page._on_report(page._generation, FieldsReport(page._report.opportunity, True, account=account))
    assert page.table.item(row, 2).toolTip() == "✗ missing"
    assert "•  Account.BigTime_Client_Id__c — Text(40), External ID" in page.missing.text()


# ---- 6. fits the screen -------------------------------------------------------------------------------
FIT_SCRIPT = """
import json, sys, keyring
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.wizard import PAGE_NAMES, SetupWizard
from PySide6.QtWidgets import QWizard
keyring.set_keyring(MemoryKeyring())
app = make_app(["x"])
area = app.primaryScreen().availableGeometry()
out = {"area": [area.x(), area.y(), area.width(), area.height()], "pages": {}}
for name in PAGE_NAMES:
    w = SetupWizard(SetupContext(Profile.at(sys.argv[1] + "/" + name)), start_page=name)
    w.show()
    for _ in range(20):
        app.processEvents()
    frame = w.frameGeometry()
    buttons = {}
    for which in ("NextButton", "CommitButton", "CancelButton"):
        b = w.button(getattr(QWizard.WizardButton, which))
        if b.isVisible():
            tl = b.mapToGlobal(b.rect().topLeft()); br = b.mapToGlobal(b.rect().bottomRight())
            buttons[which] = [tl.x(), tl.y(), br.x(), br.y()]
    out["pages"][name] = {"frame": [frame.x(), frame.y(), frame.right(), frame.bottom()], "buttons": buttons}
    w.close()
print(json.dumps(out))
"""


def test_the_wizard_fits_a_1280x800_screen_at_200_percent(tmp_path) -> None:
    run = run_at_200_percent(tmp_path, FIT_SCRIPT, tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    x, y, width, height = result["area"]
    assert (width, height) == (640, 400)  # 1280×800 at 200%, in points
    for name, page in result["pages"].items():
        left, top, right, bottom = page["frame"]
        assert x <= left and y <= top and right < x + width and bottom < y + height, (name, page["frame"])
        assert "CancelButton" in page["buttons"], name
        for which, (bl, bt, br, bb) in page["buttons"].items():
            assert left <= bl and br <= right and top <= bt and bb <= bottom, (name, which)


# ---- 7. accurate errors and words ------------------------------------------------------------------------
def test_a_stage_load_failure_says_retry_with_the_warning_icon(sandbox, connected, qtbot) -> None:
    import requests

    # every query fails (a counted fault could be spent by the page's other reads, how triggers arrive)
    requests.post(
        sandbox.salesforce_admin_url + "/faults",
        json={"kind": "status", "status": 500, "path": "/query", "count": None},
        timeout=10,
    ).raise_for_status()
    wizard = SetupWizard(make_context(connected), start_page="stage")
    qtbot.addWidget(wizard)
    wizard.show()
    panel = wizard.stage_page.stages_panel
    qtbot.waitUntil(lambda: panel.state == "failed", timeout=TIMEOUT)
    text = panel.message.text()
    assert "will try again" not in text and text.endswith("Click Retry to try again.")
    assert panel.icon.isVisible() and not panel.icon.pixmap().isNull()
    icon = wizard.bigtime_page.status_icon.pixmap()
    assert panel.icon.pixmap().toImage() == icon.toImage()  # the same sign as the connect pages


def gui_literals(path: Path) -> list[str]:
    """Every string constant of a GUI module (f-strings' literal parts included), docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_gui_text_says_one_product_name_and_no_plural_s() -> None:
    """The GUI's own text, and what core/ and the CLI write that Activity, the tray or a terminal shows."""
    shown = [*GUI.rglob("*.py"), *(GUI.parent / "core").glob("*.py"), GUI.parent / "cli.py"]
    literals = {p: gui_literals(p) for p in shown}
    assert any("Start " in text for text in literals[GUI / "settings_window.py"])  # the scan sees GUI text
    for path, texts in literals.items():
        for literal in texts:
            assert "(s)" not in literal, (path.name, literal)
            assert "BigSync for Salesforce" not in literal, (path.name, literal)
            if " " in literal.strip():  # a sentence (not an identifier, a lock name, or "bigsync-gui {version}")
                named = literal.replace("`bigsync-gui ", "").replace("(bigsync-gui ", "")  # a command is not a name
                assert "bigsync-gui " not in named, (path.name, literal)


def test_activity_counts_in_words() -> None:
    from bigsync_gui.connectors.wording import plural

    assert (plural(1, "project"), plural(0, "project"), plural(2, "recent cycle")) == (
        "1 project",
        "0 projects",
        "2 recent cycles",
    )


# ---- 8. sandbox mode --------------------------------------------------------------------------------------
def test_the_console_address_shows_with_copy_when_no_browser_opens(tmp_path, qtbot) -> None:
    url = "http://127.0.0.1:5555/__console__"
    wizard = SetupWizard(SetupContext(Profile.at(tmp_path / "p"), Prefill(is_sandbox=True, console_url=url)))
    qtbot.addWidget(wizard)
    wizard.show()
    welcome = wizard.welcome_page
    assert any(
        "sign-in pages show the demo user names and passwords" in label.text() for label in welcome.findChildren(QLabel)
    )
    opened: list[str] = []
    welcome.open_url = lambda address: opened.append(address) or True
    qtbot.mouseClick(welcome.console_button, Qt.MouseButton.LeftButton)
    assert opened == [url] and welcome.console_fallback.isHidden()
    welcome.open_url = lambda address: False  # no browser
    qtbot.mouseClick(welcome.console_button, Qt.MouseButton.LeftButton)
    assert welcome.console_fallback.isVisible() and welcome.console_url.text() == url
    qtbot.mouseClick(welcome.console_copy, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == url


QUIT_SANDBOX = """
import sys
from PySide6.QtCore import QTimer
from bigsync_gui.gui import session
from bigsync_gui.gui.app import run
start = session.DesktopSession.start
def start_then_quit(self):
    QTimer.singleShot(200, self.quit)
    print("profile", self.context.profile.config_dir.parent, flush=True)
    return start(self)
session.DesktopSession.start = start_then_quit
sys.exit(run(None, True))
"""


def test_a_sandbox_profile_is_deleted_on_quit(tmp_path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", QUIT_SANDBOX], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    profile = Path(next(line for line in run.stdout.splitlines() if line.startswith("profile ")).split(" ", 1)[1])
    assert profile.parent == tmp_path.resolve() and profile.name.startswith("bigsync-sandbox-")
    assert not profile.exists()


def test_quitting_after_a_reconnect_speaks_of_no_other_changes(sandbox, connected, qtbot) -> None:
    """Settings › Reconnect… on a set-up profile, a new sign-in, then Cancel: the question says the
    connection is kept and the saved setup goes on — not "Your other changes are discarded", since
    the admin made none."""
    from bigsync_gui.core.connections import Connector
    from bigsync_gui.core.engine import Engine
    from test_wizard import fast_policies

    Engine(fast_policies(Connector(connected))).configure("Closed Won")
    wizard = wizard_on_bigtime(qtbot, sandbox, connected)
    wizard.reject()
    assert wizard.quit_box.informativeText() == (
        "Your BigTime connection will be kept: BigSync stored it when you signed in.\n\n"
        "BigSync keeps syncing with the saved setup."
    )
    wizard.quit_box.reject()
    wizard.next()  # a step further: now there is something to discard
    wizard.reject()
    assert "Your other changes are discarded; BigSync keeps syncing" in wizard.quit_box.informativeText()
    wizard.quit_box.reject()
