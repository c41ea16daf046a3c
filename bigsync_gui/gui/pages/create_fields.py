"""The Fields page's "Create the missing fields" (docs/wizard.md): reads what the org lacks and
whether the connected user may create fields, lists them and asks first, creates them through
the engine's core/field_setup.py off the GUI thread, says what happened, and asks the page to read
describe again. Without Customize Application it says so and the hand-made way stays on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.field_setup import CannotCreateFields, FieldPlan, FieldSetupResult, create_fields, plan_fields
from ..worker import run_in_background
from .common import LoadPanel, plain_label, sentence

BUTTON = "&Create the missing fields…"
NO_RIGHT = (
    "The connected Salesforce user lacks the Customize Application permission, so BigSync cannot create "
    "the fields: create them by hand as described below, or sign in to Salesforce as an administrator "
    "(Back to the Salesforce page)."
)


class CreateFieldsPanel(QWidget):
    """Button, progress and outcome. ``field_map`` and ``create_as`` come from the page (its
    current mapping and the type each figure is created as); ``created`` asks it to reload."""

    created = Signal()

    def __init__(
        self,
        connector: Callable[[], Any],
        field_map: Callable[[], Mapping[str, str]],
        create_as: Mapping[str, str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._connector = connector
        self._field_map = field_map
        self._create_as = dict(create_as)
        self.button = QPushButton(BUTTON)
        self.button.setAccessibleName("Create the missing fields")
        self.button.clicked.connect(self.start)
        self.lead = plain_label("BigSync can create them in Salesforce for you; you see the list first.")
        self.note = plain_label(selectable=True)
        self.progress = LoadPanel(None)
        self.outcome = plain_label(selectable=True)
        self.confirm: ConfirmCreate | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.lead, 1)
        row.addStretch(0)  # keeps the button its own size when the sentence beside it is hidden
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        self.note.hide()
        self.outcome.hide()
        self._plan: FieldPlan | None = None
        self._busy = False

    # ---- what the page tells it ---------------------------------------------------------------
    def update_for(self, missing: bool, may_create: bool | None) -> None:
        """Shown when something is missing; disabled, with the reason, when the user may not."""
        self.setVisible(missing or self.outcome.isVisible())
        self.button.setVisible(missing)
        self.lead.setVisible(missing and may_create is not False)
        self.button.setEnabled(missing and may_create is not False and not self._busy)
        self.note.setVisible(missing and may_create is False)
        self.note.setText(NO_RIGHT)

    # ---- the flow -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._set_busy(True, "Reading what the org lacks…")
        sf_source, fmap, words = self._connector, dict(self._field_map()), self._create_as
        run_in_background(lambda: plan_fields(sf_source().salesforce(), fmap, words), self._ask, self._failed, self)

    def _ask(self, plan: FieldPlan) -> None:
        self._set_busy(False)
        self._plan = plan
        if plan.empty:
            self._show("Nothing is missing any more: the fields were created meanwhile.")
            self.created.emit()
            return
        if plan.may_create is False:
            self.update_for(True, False)
            return
        self.confirm = ConfirmCreate(plan.lines(), self)
        self.confirm.finished.connect(lambda result: self._answered(result == QDialog.DialogCode.Accepted))
        self.confirm.open()

    def _answered(self, accepted: bool) -> None:
        if self.confirm is not None:
            self.confirm.deleteLater()
        self.confirm = None
        if not accepted or self._plan is None:
            return
        plan, fmap, words, source = self._plan, dict(self._field_map()), self._create_as, self._connector
        self._set_busy(True, "Creating the fields in Salesforce…")
        run_in_background(
            lambda: create_fields(source().salesforce(), plan, fmap, words), self._done, self._failed, self
        )

    def _done(self, result: FieldSetupResult) -> None:
        self._set_busy(False)
        self._show(("✓ " if result.ok else "✗ ") + result.summary(names=False))
        self.created.emit()

    def _failed(self, exc: Exception) -> None:
        self._set_busy(False)
        if isinstance(exc, CannotCreateFields):
            self._show(f"✗ {exc}")
        else:
            self._show(f"✗ The fields could not be created. {sentence(exc)}")

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.button.setEnabled(not busy)
        if busy:
            self.outcome.hide()
            self.progress.loading(text)
        else:
            self.progress.done()

    def _show(self, text: str) -> None:
        self.outcome.setText(text)
        self.outcome.show()
        self.show()


class ConfirmCreate(QDialog):
    """The question before anything is sent: what will be created, in a list that scrolls, so the
    buttons stay on screen at 200 % on a small screen (a message box grows with its text)."""

    def __init__(self, lines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create the missing fields")
        self.items = QListWidget()
        self.items.addItems(lines)  # item text is plain text
        self.items.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.items.setWordWrap(True)
        self.items.setAccessibleName("Fields and objects to create")
        buttons = QDialogButtonBox()
        self.create_button = buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.create_button.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label("BigSync will create these in Salesforce:"))
        layout.addWidget(self.items, 1)
        layout.addWidget(
            plain_label(
                "A permission set, “BigSync fields”, gives the connected user access to them. "
                "Nothing is changed in Salesforce until you click Create."
            )
        )
        layout.addWidget(buttons)
        self.create_button.setFocus()  # Enter creates, Esc cancels; the list scrolls with the wheel or Tab
        self._fit()

    def _fit(self) -> None:
        screen = self.screen()
        room = screen.availableGeometry().size() if screen is not None else None
        width, height = 620, 440
        if room is not None:
            width, height = min(width, room.width() - 32), min(height, room.height() - 64)
        self.resize(max(240, width), max(200, height))
