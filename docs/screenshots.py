"""Render every page of the setup wizard — and the embedded sign-in mid-consent — into
docs/screenshots/*.png, against an in-process sandbox, offscreen (``QWidget.grab()``).

    QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox .venv/bin/python docs/screenshots.py
    .venv/bin/python docs/screenshots.py --scale 2 --out /tmp/shots-200     # 200% scaling
    .venv/bin/python docs/screenshots.py --dark --out /tmp/shots-dark       # a dark palette

The walk is the admin's: Welcome, Salesforce (sign in through the embedded browser, Allow),
BigTime (the same), the trigger stage (also once failing to load, with Retry), the fields, the
summary, then Save and "You're all set"; and the question Cancel asks after both sign-ins.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "screenshots", help="folder for the PNGs")
    parser.add_argument("--scale", type=float, default=1.0, help="QT_SCALE_FACTOR (2 = 200%%)")
    parser.add_argument("--dark", action="store_true", help="render with a dark palette (Fusion style)")
    return parser.parse_args()


ARGS = parse_args()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
os.environ["QT_SCALE_FACTOR"] = f"{ARGS.scale:g}"
os.environ.setdefault("QT_LOGGING_RULES", "qt.webenginecontext.info=false")

import requests  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from bigsync_gui.gui.app import discard_sandbox_profile, make_app, sandbox_context  # noqa: E402
from bigsync_gui.sandbox import credentials as cred  # noqa: E402

TIMEOUT = 30.0


def dark_palette(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1e1e1e",
        QPalette.ColorRole.AlternateBase: "#2f2f2f",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.Highlight: "#2f6fb3",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#3a3a3a",
        QPalette.ColorRole.ToolTipText: "#e6e6e6",
        QPalette.ColorRole.Link: "#6fb0ff",
        QPalette.ColorRole.PlaceholderText: "#9a9a9a",
        QPalette.ColorRole.Light: "#505050",
        QPalette.ColorRole.Midlight: "#424242",
        QPalette.ColorRole.Mid: "#303030",
        QPalette.ColorRole.Dark: "#1a1a1a",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, color in colors.items():
        p.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7a7a"))
    app.setPalette(p)


def spin(seconds: float = 0.05) -> None:
    QTest.qWait(int(seconds * 1000))  # processes events, deferred deletes included


def wait_until(what: str, condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        spin()


def js(page, script: str) -> object:
    """Run JavaScript in a QWebEnginePage and wait for its result."""
    box: list[object] = []
    page.runJavaScript(script, 0, box.append)
    wait_until("a JavaScript result", lambda: box)
    return box[0]


def page_has(browser, selector: str) -> bool:
    page = browser.page()
    return page is not None and bool(js(page, f"!!document.querySelector({selector!r})"))


class Shooter:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.out.mkdir(parents=True, exist_ok=True)
        self.written: list[Path] = []

    def __call__(self, widget: QWidget, name: str) -> None:
        spin(0.3)  # let layouts, the busy bars and the web view paint
        path = self.out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise SystemExit(f"screenshots: could not write {path}")
        self.written.append(path)
        print(path)


def sign_in(shoot: Shooter, wizard, page, system: str, prefix: str) -> None:
    """Through the page's embedded browser: the login form, the consent page, Allow."""
    if system == "salesforce":
        form, login, consent, allow = (
            "#username",
            (
                f"document.querySelector('#username').value={cred.SF_USERNAME!r};"
                f"document.querySelector('#password').value={cred.SF_PASSWORD!r};"
                "document.querySelector('#Login').click();"
            ),
            "#oaapprove",
            "#oaapprove",
        )
    else:
        form, login, consent, allow = (
            "[name=UserId]",
            (
                f"document.querySelector('[name=UserId]').value={cred.BT_USERNAME!r};"
                f"document.querySelector('[name=Pwd]').value={cred.BT_PASSWORD!r};"
                "document.querySelector('#signin').click();"
            ),
            "#allow",
            "#allow",
        )
    page.sign_in()
    wait_until(f"the {system} browser", lambda: page.browser is not None)
    browser = page.browser
    wait_until(f"the {system} login form", lambda: page_has(browser, form))
    shoot(wizard, f"{prefix}-sign-in")
    js(browser.page(), login)
    wait_until(f"the {system} consent page", lambda: page_has(browser, consent))
    shoot(wizard, f"{prefix}-consent")
    browser.page().runJavaScript(f"document.querySelector({allow!r}).click();")  # no callback: the page goes
    wait_until(f"{system} connected", page.isComplete)


def shoot_activity(shoot: Shooter, context, sandbox) -> None:
    """Activity after a few deals were won (one without an account) and a cycle and a write-back ran."""
    from bigsync_gui.gui.activity import ActivityWindow

    admin = sandbox.salesforce_admin_url  # type: ignore[attr-defined]
    records = requests.get(admin + "/records/Opportunity", timeout=10).json()["records"]
    open_ones = [r for r in records if r.get("StageName") not in ("Closed Won", "Closed Lost")]
    chosen = [r for r in open_ones if r.get("AccountId")][:3] + [r for r in open_ones if not r.get("AccountId")][:1]
    for record in chosen:
        requests.patch(
            f"{admin}/records/Opportunity/{record['Id']}", json={"StageName": "Closed Won"}, timeout=10
        ).raise_for_status()
    context.engine.run_cycle()
    context.engine.run_writeback_cycle()
    activity = ActivityWindow(context.profile, status_text=lambda: "")
    activity.show()
    wait_until("Activity", lambda: activity.feed.proxy.rowCount() > 0)
    shoot(activity, "activity")
    activity.tabs.setCurrentIndex(1)
    shoot(activity, "activity-cycles")
    activity.close()


def main() -> int:
    app = make_app([sys.argv[0]])
    if ARGS.dark:
        dark_palette(app)
    context, sandbox = sandbox_context()
    from bigsync_gui.gui.wizard import SetupWizard

    shoot = Shooter(ARGS.out)
    wizard = SetupWizard(context)
    saved: list[bool] = []
    wizard.saved.connect(lambda: saved.append(True))
    wizard.show()
    try:
        shoot(wizard, "01-welcome")
        wizard.next()
        shoot(wizard, "02-connect-salesforce")
        sign_in(shoot, wizard, wizard.salesforce_page, "salesforce", "03-salesforce")
        shoot(wizard, "04-salesforce-connected")
        wizard.next()
        shoot(wizard, "05-connect-bigtime")
        sign_in(shoot, wizard, wizard.bigtime_page, "bigtime", "06-bigtime")
        shoot(wizard, "07-bigtime-connected")
        wizard.reject()  # Esc/Cancel after both sign-ins: asks first
        wait_until("the quit question", lambda: wizard.quit_box is not None and wizard.quit_box.isVisible())
        shoot(wizard.quit_box, "07b-quit-setup")
        wizard.quit_box.reject()  # Continue setup

        admin = sandbox.salesforce_admin_url  # type: ignore[attr-defined]
        requests.post(
            admin + "/faults", json={"kind": "status", "status": 500, "path": "/query", "count": 40}, timeout=10
        ).raise_for_status()
        wizard.next()
        stage = wizard.stage_page
        shoot(wizard, "08-stage-loading")
        wait_until("the stages to fail", lambda: stage.stages_panel.state == "failed")
        shoot(wizard, "09-stage-failed")
        requests.delete(admin + "/faults", timeout=10).raise_for_status()
        stage.stages_panel.retry_button.click()
        wait_until("the stages and the count", stage.isComplete)
        shoot(wizard, "10-stage")

        wizard.next()
        wait_until("the fields", wizard.fields_page.isComplete)
        shoot(wizard, "11-fields")
        wizard.next()
        wait_until("the checks", lambda: wizard.summary_page.doctor_report is not None)
        shoot(wizard, "12-summary")
        wizard.next()  # Save
        wait_until("the save", lambda: saved)
        shoot(wizard, "13-all-set")

        from bigsync_gui.gui.settings_window import SECTIONS, SettingsWindow

        settings = SettingsWindow(context)
        settings.show()
        for row, name in enumerate(SECTIONS):
            settings.sidebar.setCurrentRow(row)
            if name == "Trigger":
                wait_until("the settings' stages", settings.change_stage.isEnabled)
                wait_until("BigTime's clients", lambda: settings.default_client.clients.count() > 0)
            if name == "Fields":
                wait_until("the settings' fields", settings.fields_page.isComplete)
            shoot(settings, "settings-" + name.lower().replace(" ", "-"))
            if name == "Trigger":  # scrolled down to "Opportunities without an account"
                from PySide6.QtWidgets import QScrollArea

                area = next(a for a in settings.trigger.findChildren(QScrollArea))
                area.ensureWidgetVisible(settings.default_client.save_button)
                shoot(settings, "settings-trigger-without-account")
        settings.close()
        shoot_activity(shoot, context, sandbox)
    finally:
        wizard.close()
        sandbox.stop()  # type: ignore[attr-defined]
        discard_sandbox_profile(context)
    print(f"{len(shoot.written)} screenshots in {ARGS.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
