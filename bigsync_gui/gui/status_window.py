"""A small window with the sync's status and its actions (Sync now, Settings…, Quit).

Shown after setup; on desktops without a system tray it is the app's only window.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..core.status import status_snapshot
from .context import SetupContext
from .runner import CycleReport, LoopRunner


class StatusWindow(QWidget):
    settings_requested = Signal()

    def __init__(self, context: SetupContext, runner: LoopRunner) -> None:
        super().__init__()
        self.context = context
        self.runner = runner
        self.setWindowTitle("BigSync for Salesforce")
        self.setMinimumWidth(420)
        self.headline = QLabel("Starting…")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setStyleSheet("font-weight: 600;")
        self.detail = QLabel("")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote Salesforce/BigTime text
        self.detail.setWordWrap(True)
        self.sync_button = QPushButton("&Sync now")
        self.settings_button = QPushButton("S&ettings…")
        self.quit_button = QPushButton("&Quit")
        buttons = QHBoxLayout()
        for button in (self.sync_button, self.settings_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)

        self.sync_button.clicked.connect(runner.sync_now)
        self.settings_button.clicked.connect(self.settings_requested.emit)
        self.quit_button.clicked.connect(QApplication.instance().quit)
        runner.cycle_started.connect(self._on_started)
        runner.cycle_finished.connect(self._on_finished)
        runner.error.connect(self._on_error)
        self._refresh()

    def _refresh(self) -> None:
        snapshot = status_snapshot(self.context.profile)
        self.detail.setText("\n".join([snapshot["summary"], *snapshot["attention"]]))

    def _on_started(self) -> None:
        self.headline.setText("Syncing…")

    def _on_finished(self, report: CycleReport) -> None:
        if report.result == "failed":
            self.headline.setText("Needs attention")
        else:
            done = f"{report.created} project(s) created" if report.created else "Up to date"
            self.headline.setText(done)
        self._refresh()

    def _on_error(self, message: str) -> None:
        self.headline.setText("Needs attention")
        self.detail.setText(message)
