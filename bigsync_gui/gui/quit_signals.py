"""Ctrl+C (SIGINT) and SIGTERM quit the desktop app at once and cleanly.

Python runs a signal handler only when the interpreter next gets control, and while Qt's event
loop waits nothing Python runs (the idle app has one 60 s timer): Ctrl+C used to wait for that
tick, and SIGTERM killed the process outright, leaving a ``--sandbox`` run's throwaway profile
behind. Here the C-level handler writes to a socket (``signal.set_wakeup_fd``) that a
``QSocketNotifier`` watches: the event loop wakes, Python runs the handler, and the handler asks
the application to quit — the same way out as the menu's Quit (the loop stopped, the lock
released, the sandbox profile deleted). A second signal while quitting ends the process.
"""

from __future__ import annotations

import signal
import socket
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QSocketNotifier, QTimer

QUIT_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None)) if s is not None)


class QuitOnSignals(QObject):
    """Installs the handlers while it lives on the application (``install``)."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self._app = app
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self.received: list[int] = []
        for sig in QUIT_SIGNALS:
            signal.signal(sig, self._on_signal)

    def _drain(self, *_args: Any) -> None:
        try:
            while self._reader.recv(64):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        for sig in QUIT_SIGNALS:  # a second Ctrl+C while quitting ends the process the usual way
            signal.signal(sig, signal.SIG_DFL)
        # Queued, not app.quit() here: a signal that comes while the app is still starting (before
        # exec) would be lost — quit() does nothing while no event loop runs.
        QTimer.singleShot(0, self._app.quit)

    def uninstall(self) -> None:
        for sig in QUIT_SIGNALS:
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
        signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._reader.close()
        self._writer.close()


def install(app: QCoreApplication) -> QuitOnSignals:
    return QuitOnSignals(app)


__all__ = ["QUIT_SIGNALS", "QuitOnSignals", "install"]
