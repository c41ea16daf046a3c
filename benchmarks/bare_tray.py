"""The reference for benchmarks/tray_startup.py: a bare PySide6 tray icon (an icon, a two-item menu,
nothing else), ready when it has a place in the tray, detected as the app detects it (its geometry
polled every 50 ms). Prints the same ready line; stays until SIGTERM, idle, so its RSS compares."""

from __future__ import annotations

import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    tray = QSystemTrayIcon(QIcon(sys.argv[1]))
    menu = QMenu()
    menu.addAction("Sync now")
    menu.addAction("Quit", app.quit)
    tray.setContextMenu(menu)
    tray.show()
    poll = QTimer()
    poll.setInterval(50)

    def check() -> None:
        if tray.geometry().width() > 0:
            poll.stop()
            print("bigsync-gui: ready (tray)", file=sys.stderr, flush=True)

    poll.timeout.connect(check)
    poll.start()
    keep_signals = QTimer()  # Python runs its signal handlers only between Qt events
    keep_signals.start(500)
    keep_signals.timeout.connect(lambda: None)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
