"""The tray icon: one icon per sync state (changed only when the state changes), a tooltip and a
disabled status line, a menu rebuilt each time it opens, and notifications.

The icon only shows the :class:`StatusModel` and emits what the admin asked for; the session
(``gui.session``) wires those requests to the loop, the wizard and the Activity window.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction, QCursor, QGuiApplication, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ..assets import panel_variant, state_icon
from .state import Notification, StatusModel, SyncState

READY_POLL_MS = 50
READY_TIMEOUT_MS = 10000

__all__ = ["TrayIcon", "menu_text", "panel_variant", "state_icon"]


def menu_text(text: str) -> str:
    """A label for a QAction: '&' would become a keyboard shortcut marker."""
    return text.replace("&", "&&")


class TrayIcon(QObject):
    sync_requested = Signal()
    pause_requested = Signal()
    resume_requested = Signal()
    activity_requested = Signal()
    problems_requested = Signal()  # Activity, on the problems (a notification about one was clicked)
    settings_requested = Signal()
    fix_requested = Signal(object)  # the wizard's start page (str) or None
    autostart_toggled = Signal(bool)
    quit_requested = Signal()
    ready = Signal()  # the icon is embedded in the tray (it has a place on screen)

    def __init__(self, model: StatusModel, *, autostart_enabled=None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._autostart_enabled = autostart_enabled  # callable → bool, or None where unsupported
        self.tray = QSystemTrayIcon(self)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.tray.setContextMenu(self.menu)
        self.tray.messageClicked.connect(self._on_message_clicked)
        self.shown_note: Notification | None = None
        self.tray.activated.connect(self._on_activated)
        self.shown_state: SyncState | None = None
        self.icon_changes = 0
        self._tooltip = ""
        self._icons: dict[tuple[SyncState, str], QIcon] = {}
        self._ready_timer = QTimer(self)
        self._ready_timer.setInterval(READY_POLL_MS)
        self._ready_timer.timeout.connect(self._check_ready)
        self._ready_waited = 0
        self.is_ready = False
        self.status_action: QAction | None = None
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        self.refresh()

    # ---- showing -------------------------------------------------------------------------------
    def show(self) -> None:
        self.tray.show()
        self._ready_waited = 0
        self._ready_timer.start()

    def hide(self) -> None:
        self._ready_timer.stop()
        self.tray.hide()

    def _check_ready(self) -> None:
        self._ready_waited += READY_POLL_MS
        geometry = self.tray.geometry()
        if geometry.width() > 0 and geometry.height() > 0:
            self._ready_timer.stop()
            self.is_ready = True
            self.ready.emit()
        elif self._ready_waited >= READY_TIMEOUT_MS:
            self._ready_timer.stop()  # some trays never report a geometry; the icon may still show

    def icon_for(self, state: SyncState) -> QIcon:
        variant = panel_variant()
        key = (state, variant)
        if key not in self._icons:
            self._icons[key] = state_icon(state, variant)
        return self._icons[key]

    def refresh(self) -> None:
        """Show the model: the icon only if the state changed, the texts if they changed."""
        state = self.model.state
        if state is not self.shown_state:
            self.tray.setIcon(self.icon_for(state))
            self.shown_state = state
            self.icon_changes += 1
        tooltip = self.model.tooltip()
        if tooltip != self._tooltip:
            self.tray.setToolTip(tooltip)
            self._tooltip = tooltip
        if self.status_action is not None and self.menu.isVisible():
            self.status_action.setText(menu_text(self.model.status_line()))

    def _on_scheme_changed(self, _scheme: object) -> None:
        self.shown_state = None
        self.refresh()

    def notify(self, note: Notification) -> None:
        icon = {
            "info": QSystemTrayIcon.MessageIcon.Information,
            "warning": QSystemTrayIcon.MessageIcon.Warning,
            "error": QSystemTrayIcon.MessageIcon.Critical,
        }[note.severity]
        self.shown_note = note
        self.tray.showMessage(note.title, note.message, icon, 10000)

    def _on_message_clicked(self) -> None:
        """The balloon's click does what its text says: the fix, or Activity (on the problems)."""
        note = self.shown_note
        if note is not None and note.fix is not None:
            self.fix_requested.emit(note.fix.start_page)
        elif note is not None and note.problems:
            self.problems_requested.emit()
        else:
            self.activity_requested.emit()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if sys.platform == "darwin":
            return  # macOS opens the menu on any click by itself
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.menu.popup(QCursor.pos())  # a left click opens the menu too, as most Linux trays expect
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.activity_requested.emit()

    # ---- the menu (rebuilt each time it opens, so it is never stale) ---------------------------
    def rebuild_menu(self) -> None:
        menu, model = self.menu, self.model
        menu.clear()
        self.status_action = menu.addAction(menu_text(model.status_line()))
        self.status_action.setEnabled(False)
        fix = model.fix
        if fix is not None:
            action = menu.addAction(menu_text(fix.label))
            action.triggered.connect(lambda: self.fix_requested.emit(fix.start_page))
        menu.addSeparator()
        sync = menu.addAction("Sync now")
        sync.setEnabled(not model.paused)
        sync.triggered.connect(self.sync_requested)
        if model.paused:
            menu.addAction("Resume syncing").triggered.connect(self.resume_requested)
        else:
            menu.addAction("Pause syncing").triggered.connect(self.pause_requested)
        menu.addSeparator()
        menu.addAction("Activity…").triggered.connect(self.activity_requested)
        menu.addAction("Settings…").triggered.connect(self.settings_requested)
        if self._autostart_enabled is not None:
            login = menu.addAction("Start at login")
            login.setCheckable(True)
            login.setChecked(bool(self._autostart_enabled()))
            login.toggled.connect(self.autostart_toggled)
        menu.addSeparator()
        menu.addAction("Quit").triggered.connect(self.quit_requested)
        self.refresh()  # the icon and tooltip too, should a signal have been missed

    def action(self, text: str) -> QAction | None:
        """The menu action with this label (as the admin reads it), after a rebuild."""
        for action in self.menu.actions():
            if action.text().replace("&&", "&") == text:
                return action
        return None
