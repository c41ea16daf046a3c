"""One desktop session: the wizard when the profile is not set up (or asked for), otherwise the
sync loop with its status window. The tray (a later step) plugs in here."""

from __future__ import annotations

from PySide6.QtCore import QObject

from ..core.errors import ConfigInvalid
from ..core.settings import Settings
from .context import SetupContext
from .runner import LoopRunner


class DesktopSession(QObject):
    def __init__(self, context: SetupContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = LoopRunner(context.engine, self)
        self.wizard = None
        self.window = None

    def configured(self) -> bool:
        try:
            settings = Settings.load(self.context.profile)
        except ConfigInvalid:
            return False
        return settings.sync.configured and settings.salesforce.connected and settings.bigtime.connected

    def start(self) -> None:
        if self.configured():
            self.show_running()
        else:
            self.open_wizard()

    def open_wizard(self, start_page: str | None = None) -> None:
        from .wizard import SetupWizard

        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        self.wizard = SetupWizard(self.context, start_page=start_page)
        self.wizard.saved.connect(self._on_saved)
        self.wizard.finished.connect(self._on_wizard_closed)
        self.wizard.show()

    def _on_saved(self) -> None:
        self.show_running()
        self.runner.sync_now()

    def _on_wizard_closed(self, _result: int) -> None:
        wizard, self.wizard = self.wizard, None
        if wizard is not None:
            wizard.deleteLater()
        if self.window is None and not self.runner.running:
            from PySide6.QtWidgets import QApplication

            QApplication.instance().quit()  # cancelled before anything was set up

    def show_running(self) -> None:
        from .status_window import StatusWindow

        if self.window is None:
            self.window = StatusWindow(self.context, self.runner)
            self.window.settings_requested.connect(self.open_wizard)
        self.window.show()
        self.runner.start()

    def shutdown(self) -> None:
        self.runner.stop()
