"""A small window with the sync's status and the tray menu's actions, for desktops without a
system tray (and wherever the tray does not appear in time).

Like the tray icon, it only shows the :class:`StatusModel` and emits what the admin asked for;
the session wires the requests.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .state import APP_TITLE, StatusModel, SyncState
from ..assets import state_icon

HEADLINES = {
    SyncState.IDLE: "Up to date",
    SyncState.SYNCING: "Syncing",
    SyncState.PAUSED: "Paused",
    SyncState.ATTENTION: "Needs your attention",
    SyncState.ERROR: "Sync failed — will try again",
    SyncState.OFFLINE: "Offline — will try again",
}


class StatusWindow(QWidget):
    sync_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    activity_requested = Signal()
    settings_requested = Signal()
    fix_requested = Signal(object)
    autostart_toggled = Signal(bool)
    quit_requested = Signal()

    def __init__(self, model: StatusModel, *, autostart_enabled=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._autostart_enabled = autostart_enabled
        self.setWindowTitle(APP_TITLE)
        self.setMinimumWidth(460)
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(32, 32)
        self.headline = QLabel("Starting…")
        self.headline.setTextFormat(Qt.TextFormat.PlainText)
        self.headline.setStyleSheet("font-weight: 600;")
        self.status_line = QLabel("")
        self.status_line.setTextFormat(Qt.TextFormat.PlainText)
        self.detail = QLabel("")
        self.detail.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote Salesforce/BigTime text
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_button = QPushButton("")
        self.fix_button.setVisible(False)
        self.sync_button = QPushButton("&Sync now")
        self.pause_button = QPushButton("&Pause syncing")
        self.activity_button = QPushButton("&Activity…")
        self.settings_button = QPushButton("S&ettings…")
        self.quit_button = QPushButton("&Quit")
        self.autostart_box = QCheckBox("Start at login")
        self.autostart_box.setVisible(autostart_enabled is not None)

        head = QHBoxLayout()
        head.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        texts.addWidget(self.headline)
        texts.addWidget(self.status_line)
        head.addLayout(texts, 1)
        buttons = QHBoxLayout()
        for button in (self.sync_button, self.pause_button, self.activity_button, self.settings_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.detail)
        layout.addWidget(self.fix_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(buttons)
        layout.addWidget(self.autostart_box)

        self.sync_button.clicked.connect(self.sync_requested)
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.activity_button.clicked.connect(self.activity_requested)
        self.settings_button.clicked.connect(self.settings_requested)
        self.quit_button.clicked.connect(self.quit_requested)
        self.fix_button.clicked.connect(self._on_fix_clicked)
        self.autostart_box.toggled.connect(self._on_autostart)
        self._shown_state: SyncState | None = None
        self._updating = False
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        state = model.state
        if state is not self._shown_state:
            variant = "dark" if self.palette().window().color().lightness() < 128 else "light"
            self.icon_label.setPixmap(state_icon(state, variant).pixmap(32, 32))
            self._shown_state = state
        self.headline.setText(HEADLINES[state])
        self.status_line.setText(model.status_line())
        problem = model.problem
        self.detail.setText(problem.detail if problem is not None else "")
        self.detail.setVisible(bool(self.detail.text()))
        fix = model.fix
        self.fix_button.setVisible(fix is not None)
        if fix is not None:
            self.fix_button.setText(fix.label.replace("&", "&&"))
        self.sync_button.setEnabled(not model.paused)
        self.pause_button.setText("&Resume syncing" if model.paused else "&Pause syncing")
        if self._autostart_enabled is not None:
            self._updating = True
            self.autostart_box.setChecked(bool(self._autostart_enabled()))
            self._updating = False

    def _on_pause_clicked(self) -> None:
        (self.resume_requested if self.model.paused else self.pause_requested).emit()

    def _on_fix_clicked(self) -> None:
        fix = self.model.fix
        if fix is not None:
            self.fix_requested.emit(fix.start_page)

    def _on_autostart(self, on: bool) -> None:
        if not self._updating:
            self.autostart_toggled.emit(on)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - without a tray, this window is the app
        self.quit_requested.emit()
        super().closeEvent(event)
