"""Settings… from the tray: one window with a list at the side (Connections, Trigger, Fields,
Schedule, Start at login), each section saved on its own, without running the setup again.

- Schedule: ``Engine.update_settings`` (never touches what is "already past").
- Trigger: a real change of stage, after a confirmation that says what it means for
  opportunities already past (docs/sync.md, "Configure rules"): ``Engine.configure``.
- Fields: the wizard's field page, saved with ``Engine.update_settings(field_map=…)``.
- Connections: each system's state; Reconnect opens the wizard on that system's page,
  Disconnect forgets its tokens (``Connector.disconnect_*``).
- Start at login: ``gui.autostart``.

Every network call runs off the GUI thread; text from Salesforce/BigTime is shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..assets import DISPLAY_NAME, app_icon
from ..core import trigger_timing
from ..core.errors import ConfigInvalid
from ..core.settings import Settings
from .context import SetupContext
from .pages.common import heading, interval_box, plain_label, scroll_contents, sentence
from .pages.fields import FieldsPage
from .pages.default_client_panel import DefaultClientPanel
from .pages.instant_triggers import InstantTriggersPanel
from .pages.stage import API_NAME_ROLE, stage_item
from .pages.summary import describe_interval
from .screen_fit import fit_to_screen
from .wizard import DEFAULT_SIZE, MINIMUM_SIZE, bigtime_sentence, salesforce_sentence
from .worker import run_in_background

SECTIONS = ("Connections", "Trigger", "Fields", "Schedule", "Start at login")
# Each system's (Reconnect, Connect, Disconnect) with its own Alt letter: a letter shared by the two
# systems' buttons only moves the focus between them in Qt, it presses neither.
BUTTON_TEXTS = {
    "salesforce": ("&Reconnect…", "&Connect…", "&Disconnect"),
    "bigtime": ("Recon&nect…", "Co&nnect…", "Disconnec&t"),
}
CHANGE_STAGE_TITLE = "Change the trigger stage?"


def change_stage_message(old: str, new: str) -> str:
    """What a real change of stage does to opportunities already past (docs/sync.md)."""
    return (
        f"From now on an opportunity becomes a BigTime project when it reaches {new} (instead of {old}).\n\n"
        f"Opportunities already at or past {new} that have no project are left alone; those that reached "
        f"{old} since the setup and have no project yet still get one. Nothing already created changes."
    )


class SettingsWindow(QWidget):
    reconnect_requested = Signal(str)  # the wizard's page: "salesforce" or "bigtime"
    saved = Signal(str)  # the section saved

    def __init__(
        self,
        context: SetupContext,
        *,
        autostart: tuple[Callable[[], bool], Callable[[bool], None]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.engine = context.engine
        self.setWindowTitle("Settings")  # Qt adds " — BigSync" (the application's display name)
        self.setWindowIcon(app_icon())
        self._autostart = autostart
        self.sidebar = QListWidget()
        self.sidebar.addItems(list(SECTIONS))
        # As wide as its longest entry (at any scale), never cut: "Start at login" whole.
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sidebar.setFixedWidth(
            self.sidebar.sizeHintForColumn(0)
            + 2 * self.sidebar.frameWidth()
            + 2 * self.fontMetrics().averageCharWidth()
        )
        self.stack = QStackedWidget()
        self.connections = self._connections_section()
        self.trigger = self._trigger_section()
        self.fields_page = FieldsPage(context)
        self.fields = self._fields_section()
        self.schedule = self._schedule_section()
        self.login = self._login_section()
        for section in (self.connections, self.trigger, self.fields, self.schedule, self.login):
            if section is not self.fields:  # the fields page scrolls its own table
                scroll_contents(section)  # a tall section scrolls instead of being cut (200 % on 1280×800)
            self.stack.addWidget(section)
        self.sidebar.currentRowChanged.connect(self.show_section)
        layout = QHBoxLayout(self)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self._stages_loaded = self._fields_loaded = False
        self.refresh()
        self.sidebar.setCurrentRow(0)
        fit_to_screen(self, DEFAULT_SIZE, MINIMUM_SIZE)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)  # as a dialog: the keyboard's way out

    def settings(self) -> Settings:
        try:
            return Settings.load(self.context.profile)  # a small local file
        except ConfigInvalid:
            return Settings()

    def show_section(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        if self.stack.currentWidget() is self.trigger and not self._stages_loaded:
            self.load_stages()
        if self.stack.currentWidget() is self.fields and not self._fields_loaded:
            self._fields_loaded = True
            self.fields_page.load_fields()

    def refresh(self) -> None:
        settings = self.settings()
        self.salesforce_state.setText(salesforce_sentence(settings))
        self.bigtime_state.setText(bigtime_sentence(settings))
        for system, connected in (
            ("salesforce", settings.salesforce.connected),
            ("bigtime", settings.bigtime.connected),
        ):
            self.buttons[system][0].setText(BUTTON_TEXTS[system][0 if connected else 1])
            self.buttons[system][1].setEnabled(connected)
        sync = settings.sync
        self.current_stage.setText(f"Now: {sync.trigger_stage_label or sync.trigger_stage or 'not set'}.")
        self.interval.setValue(sync.interval_seconds // 60 if sync.interval_explicit else 0)
        self.writeback.setValue(max(1, sync.writeback_interval_seconds // 60))
        self.budget.setValue(sync.api_budget_percent)
        timing = trigger_timing.timing(self.engine.profile, settings)
        self.effective.setText(
            f"In effect: Triggers: {timing.words} ({timing.detail}). BigTime's "
            f"figures {describe_interval(sync.writeback_interval_seconds)}, at most "
            f"{sync.api_budget_percent:g}% of the org's daily API allowance."
            # else an admin who just set "every 3 min" reads "every 30–60 min" and thinks it was ignored
            + (" “Check Salesforce every” is used only while the change stream is down." if timing.instant else "")
        )

    @staticmethod
    def _button_row(button: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(button)
        row.addStretch(1)
        return row

    def _status(self) -> Any:
        return plain_label(selectable=True)

    # ---- Connections ------------------------------------------------------------------------------
    def _connections_section(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        self.salesforce_state, self.bigtime_state = plain_label(), plain_label()
        self.buttons: dict[str, tuple[QPushButton, QPushButton]] = {}
        self.disconnect_box: QMessageBox | None = None
        for system, title, state in (
            ("salesforce", "Salesforce", self.salesforce_state),
            ("bigtime", "BigTime", self.bigtime_state),
        ):
            reconnect, disconnect = QPushButton(BUTTON_TEXTS[system][0]), QPushButton(BUTTON_TEXTS[system][2])
            reconnect.clicked.connect(lambda _=False, s=system: self.reconnect_requested.emit(s))
            disconnect.clicked.connect(lambda _=False, s=system, t=title: self.disconnect(s, t))
            self.buttons[system] = (reconnect, disconnect)
            row = QHBoxLayout()
            row.addWidget(reconnect)
            row.addWidget(disconnect)
            row.addStretch(1)
            layout.addWidget(heading(title))
            layout.addWidget(state)
            layout.addLayout(row)
        self.connections_status = self._status()
        layout.addWidget(self.connections_status)
        layout.addStretch(1)
        return page

    def disconnect(self, system: str, title: str) -> None:
        """Asked first; Enter and Esc keep the connection, as the other questions here keep what is."""
        box = QMessageBox(
            QMessageBox.Icon.Question, f"Disconnect {title}?", "", QMessageBox.StandardButton.NoButton, self
        )
        box.setText(f"BigSync forgets its {title} sign-in and stops syncing until you connect again.")
        forget = box.addButton("&Disconnect", QMessageBox.ButtonRole.DestructiveRole)
        box.disconnect_button = forget  # type: ignore[attr-defined]
        keep = box.addButton("&Keep the connection", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.finished.connect(lambda _r: self._on_disconnect_answer(box, system, title))
        self.disconnect_box = box
        box.open()

    def _on_disconnect_answer(self, box: QMessageBox, system: str, title: str) -> None:
        if box.clickedButton() is not box.disconnect_button:  # type: ignore[attr-defined]
            return
        connector = self.context.connector
        work = connector.disconnect_salesforce if system == "salesforce" else connector.disconnect_bigtime
        self.connections_status.setText(f"Disconnecting {title}…")
        run_in_background(
            work,
            lambda _r: self._done(self.connections_status, f"{title} is disconnected.", "connections"),
            lambda exc: self.connections_status.setText(f"Not disconnected. {sentence(exc)}"),
            self,
        )

    # ---- Trigger ----------------------------------------------------------------------------------
    def _trigger_section(self) -> QWidget:
        page = QWidget()
        self.current_stage = plain_label()
        self.stage_combo = QComboBox()
        self.stage_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)  # never "Closed W"
        self.stage_combo.setEnabled(False)
        self.change_stage = QPushButton("C&hange stage…")
        self.change_stage.setEnabled(False)
        self.change_stage.clicked.connect(self.ask_change_stage)
        self.trigger_status = self._status()
        self.stage_box: QMessageBox | None = None
        layout = QVBoxLayout(page)
        layout.addWidget(heading("Trigger stage"))
        layout.addWidget(self.current_stage)
        layout.addWidget(
            plain_label(
                "An opportunity becomes a BigTime project when it reaches this stage or passes "
                "it. Changing it decides again which opportunities are already past."
            )
        )
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("New &stage:", self.stage_combo)
        layout.addLayout(form)
        layout.addLayout(self._button_row(self.change_stage))
        layout.addWidget(self.trigger_status)
        self.instant = InstantTriggersPanel(self.context)  # Instant, or checks on the interval
        layout.addWidget(self.instant)
        self.default_client = DefaultClientPanel(self.context)  # opportunities without an account
        self.default_client.saved.connect(lambda: self.saved.emit("trigger"))
        layout.addSpacing(8)  # a section of its own, set apart as the one above is
        layout.addWidget(self.default_client)
        layout.addStretch(1)
        return page

    def load_stages(self) -> None:
        self._stages_loaded = True
        self.trigger_status.setText("Loading stages from Salesforce…")
        self.instant.load()
        self.default_client.load()
        run_in_background(self.engine.stages, self._on_stages, lambda exc: self._stages_failed(exc), self)

    def _stages_failed(self, exc: Exception) -> None:
        self._stages_loaded = False  # opening the section again tries again
        self.trigger_status.setText(f"The stages could not be loaded. {sentence(exc)}")

    def _on_stages(self, stages: list[Any]) -> None:
        model = self.stage_combo.model()
        self.stage_combo.clear()
        for stage in (s for s in stages if s.is_active):
            model.appendRow(stage_item(stage, stage.label))  # plain text, closed-lost disabled
        current = self.settings().sync.trigger_stage
        self.stage_combo.setCurrentIndex(max(0, self.stage_combo.findData(current, API_NAME_ROLE)))
        self.stage_combo.setEnabled(True)
        self.change_stage.setEnabled(True)
        self.trigger_status.clear()

    def ask_change_stage(self) -> None:
        sync = self.settings().sync
        new_api, new_label = self.stage_combo.currentData(API_NAME_ROLE), self.stage_combo.currentText()
        if not new_api or new_api == sync.trigger_stage:
            self.trigger_status.setText("That is the stage already saved: nothing to change.")
            return
        box = QMessageBox(QMessageBox.Icon.Question, CHANGE_STAGE_TITLE, "", QMessageBox.StandardButton.NoButton, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # stage labels come from Salesforce
        box.setText(change_stage_message(sync.trigger_stage_label or sync.trigger_stage, new_label))
        box.change_button = box.addButton("&Change stage", QMessageBox.ButtonRole.AcceptRole)  # type: ignore[attr-defined]
        keep = box.addButton("&Keep the current stage", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.finished.connect(lambda _r: self._on_stage_answer(box, new_api))
        self.stage_box = box
        box.open()

    def _on_stage_answer(self, box: QMessageBox, api_name: str) -> None:
        if box.clickedButton() is not box.change_button:  # type: ignore[attr-defined]
            return
        self.change_stage.setEnabled(False)
        self.trigger_status.setText("Saving…")
        engine = self.engine
        run_in_background(lambda: engine.configure(api_name), self._stage_changed, self._stage_failed, self)

    def _stage_changed(self, result: Any) -> None:
        stage, already = result
        self.change_stage.setEnabled(True)
        noun = "opportunity is" if already == 1 else "opportunities are"
        self._done(
            self.trigger_status,
            f"Saved: the trigger stage is {stage.label}. {already} {noun} at or past it.",
            "trigger",
        )

    def _stage_failed(self, exc: Exception) -> None:
        self.change_stage.setEnabled(True)
        self.trigger_status.setText(f"Not saved. {sentence(exc)}")

    # ---- Fields -----------------------------------------------------------------------------------
    def _fields_section(self) -> QWidget:
        page = QWidget()
        self.save_fields = QPushButton("&Save field mapping")
        self.save_fields.clicked.connect(self.save_field_map)
        self.fields_status = self._status()
        layout = QVBoxLayout(page)
        layout.addWidget(heading(self.fields_page.title()))
        layout.addWidget(plain_label(self.fields_page.subTitle()))
        layout.addWidget(self.fields_page, 1)
        layout.addLayout(self._button_row(self.save_fields))
        layout.addWidget(self.fields_status)
        return page

    def save_field_map(self) -> None:
        field_map = self.fields_page.field_map()
        run_in_background(
            lambda: self.engine.update_settings(field_map=field_map),
            lambda _s: self._done(
                self.fields_status, "Saved: write-back uses this mapping from its next run.", "fields"
            ),
            lambda exc: self.fields_status.setText(f"Not saved. {sentence(exc)}"),
            self,
        )

    # ---- Schedule ---------------------------------------------------------------------------------
    def _schedule_section(self) -> QWidget:
        page = QWidget()
        self.interval, self.writeback = interval_box(0), QSpinBox()
        self.writeback.setRange(1, 24 * 60)
        self.writeback.setSuffix(" min")
        self.budget = QDoubleSpinBox()
        self.budget.setRange(0.5, 100)
        self.budget.setDecimals(1)
        self.budget.setSuffix(" %")
        self.effective = plain_label()
        self.save_schedule = QPushButton("&Save schedule")
        self.save_schedule.clicked.connect(self.save_schedule_now)
        for box in (self.interval, self.writeback, self.budget):  # Enter in a box saves, as in a dialog
            box.lineEdit().returnPressed.connect(self.save_schedule.click)
        self.schedule_status = self._status()
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Check Salesforce &every:", self.interval)
        form.addRow("Refresh BigTime's &figures every:", self.writeback)
        form.addRow("Daily API &budget:", self.budget)
        layout = QVBoxLayout(page)
        layout.addWidget(heading("Schedule"))
        layout.addLayout(form)
        layout.addWidget(
            plain_label(
                "The budget is the share of the org's daily Salesforce API allowance BigSync may "
                "use; when it is spent, syncing waits until midnight UTC. Automatic checks as "
                "often as the budget allows. Changing these never changes which "
                "opportunities become projects."
            )
        )
        layout.addLayout(self._button_row(self.save_schedule))
        layout.addWidget(self.effective)
        layout.addWidget(self.schedule_status)
        layout.addStretch(1)
        return page

    def save_schedule_now(self) -> None:
        values = dict(
            interval_seconds=self.interval.value() * 60,
            writeback_interval_seconds=self.writeback.value() * 60,
            api_budget_percent=self.budget.value(),
        )
        run_in_background(
            lambda: self.engine.update_settings(**values),
            lambda _s: self._done(self.schedule_status, "Saved: it applies from now on.", "schedule"),
            lambda exc: self.schedule_status.setText(f"Not saved. {sentence(exc)}"),
            self,
        )

    # ---- Start at login ---------------------------------------------------------------------------
    def _login_section(self) -> QWidget:
        page = QWidget()
        self.autostart_box = QCheckBox(f"Start {DISPLAY_NAME} when I log in")
        layout = QVBoxLayout(page)
        layout.addWidget(heading("Start at login"))
        layout.addWidget(self.autostart_box)
        if self._autostart is None:
            self.autostart_box.setEnabled(False)
            layout.addWidget(plain_label("Not offered for a sandbox setup: it is thrown away when BigSync quits."))
        else:
            is_enabled, set_enabled = self._autostart
            self.autostart_box.setChecked(bool(is_enabled()))
            self.autostart_box.toggled.connect(set_enabled)
        layout.addStretch(1)
        return page

    def _done(self, status: Any, text: str, section: str) -> None:
        self.refresh()
        status.setText(text)
        self.saved.emit(section)
