"""The app on a real X display with a real tray (Xvfb + trayer, ``QT_QPA_PLATFORM=xcb``), driven
the way an admin would: wait for the icon, open its menu, click "Sync now", read the status line,
open Activity, Quit. Prints one JSON object with what it saw; saves screenshots to ``--out``.

Started by tests/e2e/test_real_tray.py (which owns Xvfb, trayer, the sandbox and the profile).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: configured_profile

from configured_profile import win_opportunities  # noqa: E402

from bigsync_gui.core.profile import Profile  # noqa: E402
from bigsync_gui.gui.app import make_app  # noqa: E402
from bigsync_gui.gui.context import SetupContext  # noqa: E402
from bigsync_gui.gui.cycles_table import CHANGES  # noqa: E402
from bigsync_gui.gui.session import DesktopSession  # noqa: E402
from bigsync_gui.gui.state import SyncState  # noqa: E402

result: dict = {"steps": []}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise SystemExit(report(f"timed out waiting for {what}"))
        QTest.qWait(20)  # runs the event loop meanwhile
    result["steps"].append(what)


def report(error: str = "") -> int:
    if error:
        result["error"] = error
    print(json.dumps(result), flush=True)
    return 1 if error else 0


def grab(rect: QRect) -> QImage:
    screen = QGuiApplication.primaryScreen()
    return screen.grabWindow(0, rect.x(), rect.y(), rect.width(), rect.height()).toImage()


def distinct_colours(image: QImage) -> int:
    return len({image.pixel(x, y) for x in range(image.width()) for y in range(image.height())})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", required=True)
    parser.add_argument("--sf-admin", required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    app = make_app()
    result["platform"] = QGuiApplication.platformName()
    wait_until(QSystemTrayIcon.isSystemTrayAvailable, 20, "tray available")
    result["tray_available"] = True

    session = DesktopSession(SetupContext(Profile.at(args.profile)))
    assert session.start()
    wait_until(lambda: session.tray is not None and session.tray.is_ready, 20, "icon embedded")
    tray = session.tray
    geometry = tray.tray.geometry()
    result["icon_geometry"] = [geometry.x(), geometry.y(), geometry.width(), geometry.height()]
    result["icon_visible"] = tray.tray.isVisible()
    from bigsync_gui.gui.tray import panel_variant

    result["icon_variant"] = panel_variant()
    wait_until(
        lambda: session.model.last_sync_at is not None and session.model.state is SyncState.IDLE, 30, "first cycle"
    )
    result["icon_colours"] = distinct_colours(grab(geometry))  # the icon is drawn there, not an empty slot
    result["status_before"] = session.model.status_line()

    win_opportunities(args.sf_admin, 3)
    cycles: list[object] = []
    session.runner.cycle_started.connect(lambda: cycles.append("started"))
    waits: list[float] = []
    session.runner.waiting.connect(lambda seconds, failures: waits.append(seconds))

    # Open the menu under the icon, as a right click does, and click "Sync now" in it.
    menu = tray.menu
    menu.popup(QPoint(geometry.left(), geometry.bottom() + 2))
    wait_until(menu.isVisible, 10, "menu open")
    sync = tray.action("Sync now")
    result["menu"] = [a.text() for a in menu.actions() if not a.isSeparator()]
    QTest.mouseClick(
        menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, menu.actionGeometry(sync).center()
    )
    wait_until(lambda: cycles and waits, 30, "cycle from the menu")
    wait_until(lambda: session.model.state is SyncState.IDLE, 30, "idle again")
    result["notifications"] = [n.title for n in session.notifications]
    result["tooltip"] = tray.tray.toolTip()

    # The menu again: its status line now tells the result. Screenshot with the menu open (after
    # closing the notification balloon, which would cover part of it).
    for widget in QApplication.topLevelWidgets():
        if widget.metaObject().className() == "QBalloonTip" and widget.isVisible():
            result["balloon_shown"] = True
            widget.hide()
    menu.popup(QPoint(geometry.left(), geometry.bottom() + 2))
    wait_until(menu.isVisible, 10, "menu open again")
    QTest.qWait(300)  # let the X server draw the popup before the screenshot
    result["status_after"] = menu.actions()[0].text().replace("&&", "&")
    area = geometry.united(menu.geometry()).adjusted(-160, -6, 24, 24)
    screen = QGuiApplication.primaryScreen().geometry()
    area = area.intersected(screen)
    grab(area).save(str(args.out / "tray-menu.png"))
    menu.hide()

    session.show_activity()
    activity = session.activity
    wait_until(lambda: activity.cycle_proxy.rowCount() > 0 and not activity._loading, 20, "activity loaded")
    for row in range(activity.cycle_proxy.rowCount()):
        if "created" in activity.cycle_proxy.index(row, CHANGES).data():  # the cycle that created projects
            activity.cycle_view.selectRow(row)
            break
    QTest.qWait(200)
    activity.grab().save(str(args.out / "activity.png"))
    result["activity_events"] = activity.event_proxy.rowCount()

    # Quit from the menu, inside the app's own event loop as in real use.
    def quit_from_menu() -> None:
        menu.popup(QPoint(geometry.left(), geometry.bottom() + 2))
        QTest.qWaitForWindowExposed(menu, 5000)
        result["quit_clicked_at"] = time.monotonic()
        QTest.mouseClick(
            menu,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            menu.actionGeometry(tray.action("Quit")).center(),
        )

    QTimer.singleShot(100, quit_from_menu)
    app.exec()
    started = result.pop("quit_clicked_at")
    session.shutdown()
    result["quit_seconds"] = round(time.monotonic() - started, 3)
    result["loop_running_after_quit"] = session.runner.running
    return report()


if __name__ == "__main__":
    sys.exit(main())
