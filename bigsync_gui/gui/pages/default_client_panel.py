"""Settings › Trigger: what happens to opportunities without an account — refused and reported (the
default), or their projects put under a BigTime client the admin picks (core/default_client.py;
`configure --default-client` does the same). BigTime's active clients are read off the GUI thread;
their names are shown as plain text (a combo box never reads rich text).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QComboBox, QHBoxLayout, QPushButton, QRadioButton, QVBoxLayout, QWidget

from ...core import default_client
from ...core.errors import ConfigInvalid
from ...core.settings import Settings
from ..worker import run_in_background
from .common import LoadPanel, heading, plain_label, sentence


class DefaultClientPanel(QWidget):
    """``context`` gives the connector (a SetupContext). ``saved`` after a choice is written."""

    saved = Signal()

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.report = QRadioButton("&Report them: they are refused and listed in Activity")
        self.use_client = QRadioButton("Put their projects under this BigTime c&lient:")
        self.choice = QButtonGroup(self)
        self.choice.addButton(self.report)
        self.choice.addButton(self.use_client)
        self.report.setChecked(True)
        self.clients = QComboBox()
        self.clients.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.clients.setAccessibleName("BigTime client for opportunities without an account")
        self.clients.setEnabled(False)
        self.save_button = QPushButton("Save &choice")
        self.save_button.clicked.connect(self.save)
        self.loader = LoadPanel("Re&try")
        self.loader.retry.connect(self.load)
        self.status = plain_label(selectable=True)
        client_row = QHBoxLayout()
        client_row.setContentsMargins(0, 0, 0, 0)
        client_row.addSpacing(self.fontMetrics().averageCharWidth() * 3)
        client_row.addWidget(self.clients, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.save_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading("Opportunities without an account"))
        layout.addWidget(
            plain_label(
                "BigSync puts each project under the BigTime client of its opportunity's "
                "account. When an opportunity has no account:"
            )
        )
        layout.addWidget(self.report)
        layout.addWidget(self.use_client)
        layout.addLayout(client_row)
        layout.addWidget(self.loader)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.use_client.toggled.connect(lambda on: self.clients.setEnabled(on and self.clients.count() > 0))
        self._generation = 0
        self._saved_id: int | None = None
        self._show_saved()

    def _settings(self) -> Settings:
        try:
            return Settings.load(self.context.profile)
        except ConfigInvalid:
            return Settings()

    def _show_saved(self) -> None:
        self._saved_id = self._settings().sync.default_client_id
        (self.use_client if self._saved_id else self.report).setChecked(True)

    # ---- loading BigTime's clients --------------------------------------------------------------
    def load(self) -> None:
        self._generation += 1
        generation = self._generation
        self._show_saved()
        self.loader.loading("Reading BigTime's clients…")
        connector = self.context.connector
        run_in_background(
            lambda: default_client.active_clients(connector),
            lambda clients: self._loaded(generation, clients),
            lambda exc: self._failed(generation, exc),
            self,
        )

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.loader.failed(f"BigTime's clients could not be read. {sentence(exc)}")

    def _loaded(self, generation: int, clients: list[default_client.ClientChoice]) -> None:
        if generation != self._generation:
            return
        self.loader.done()
        self.clients.clear()
        for client in clients:
            self.clients.addItem(client.label(), client.id)
        saved = self.clients.findData(self._saved_id) if self._saved_id else -1
        self.clients.setCurrentIndex(max(0, saved))
        self.clients.setEnabled(self.use_client.isChecked() and bool(clients))
        if self._saved_id and saved < 0:
            self.status.setText(
                f"The saved client (id {self._saved_id}) is no longer an active BigTime client, so "
                "such opportunities are refused until you choose another."
            )
        elif not clients:
            self.status.setText("BigTime has no active client to choose.")
        else:
            self.status.clear()

    # ---- saving ---------------------------------------------------------------------------------
    def save(self) -> None:
        client_id: int | None = None
        if self.use_client.isChecked():
            client_id = self.clients.currentData()
            if client_id is None:
                self.status.setText("Choose a BigTime client first (or Report them).")
                return
        connector = self.context.connector
        label = self.clients.currentText()
        self.save_button.setEnabled(False)
        self.status.setText("Saving…")
        run_in_background(
            lambda: default_client.choose(connector, client_id),
            lambda _s: self._saved(client_id, label),
            self._save_failed,
            self,
        )

    def _saved(self, client_id: int | None, label: str) -> None:
        self.save_button.setEnabled(True)
        self._saved_id = client_id
        choice = default_client.ClientChoice(client_id, label) if client_id is not None else None
        self.status.setText("Saved. " + default_client.describe(choice))
        self.saved.emit()

    def _save_failed(self, exc: Exception) -> None:
        self.save_button.setEnabled(True)
        self.status.setText(f"Not saved. {sentence(exc)}")


__all__ = ["DefaultClientPanel"]
