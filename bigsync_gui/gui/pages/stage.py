"""Page 4 — Trigger stage: the org's stages in pipeline order (fetched off the GUI thread),
closed-lost ones listed but disabled, how many opportunities are already at or past the chosen
stage (with the choice to create projects for them too), and the sync interval.

Stages and the count are read through the engine (``Engine.stages``, ``Engine.already_past``);
nothing is written here: the wizard's Save does that (``Engine.save_setup``), reusing this page's
read of what is already past."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QVBoxLayout, QWizardPage

from ...connectors.errors import NotConnected
from ...connectors.salesforce import Stage
from ...core.errors import ConfigInvalid

if TYPE_CHECKING:
    from ...core.engine import AlreadyPast
from ...core.settings import Settings, SyncSettings
from ..context import SetupContext
from ..worker import run_in_background
from .common import LoadPanel, interval_box, plain_label, sentence
from .instant_triggers import InstantTriggersPanel

API_NAME_ROLE = Qt.ItemDataRole.UserRole + 1
CLOSED_LOST_TIP = "Closed-lost stages never create projects"
DEFAULT_WON_STAGE = "Closed Won"
RULE = (
    "An opportunity triggers when it reaches this stage or passes it — any later stage that is not "
    "closed-lost. Closed-lost stages are listed but cannot be picked: they never create projects."
)


def failure_sentence(exc: BaseException) -> str:
    if isinstance(exc, NotConnected):
        return "Salesforce is not connected yet: go Back and connect it first."
    return sentence(exc)


def stage_item(stage: Stage, text: str) -> QStandardItem:
    item = QStandardItem(text)  # item text is always plain
    item.setData(stage.api_name, API_NAME_ROLE)
    item.setEditable(False)
    if stage.is_closed_lost:
        item.setFlags(item.flags() & ~(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable))
        item.setToolTip(CLOSED_LOST_TIP)
    else:
        item.setToolTip(f"API name: {stage.api_name}")
    return item


class StagePage(QWizardPage):
    def __init__(self, context: SetupContext) -> None:
        super().__init__()
        self.context = context
        self.setTitle("Trigger stage")
        self.setSubTitle("When an opportunity reaches or passes this stage, BigSync creates its BigTime project.")
        self._saved = self._saved_sync()
        self._stages: list[Stage] | None = None
        self._chosen: str | None = None  # the admin's pick survives Back/Next and reloads
        self._count: AlreadyPast | None = None  # the read of what is already at or past the chosen stage
        self._load_generation = 0
        self._count_generation = 0

        self.stages_panel = LoadPanel("&Retry")
        self.stages_panel.retry.connect(self.load_stages)
        self.model = QStandardItemModel(self)
        self.combo = QComboBox()
        self.combo.setModel(self.model)
        self.combo.setEnabled(False)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.combo.currentIndexChanged.connect(self._on_stage_changed)
        self.stage_label = QLabel("Trigger &stage:")
        self.stage_label.setBuddy(self.combo)
        self.rule = plain_label(RULE)
        self.saved_missing = plain_label()
        self.saved_missing.hide()

        self.count_panel = LoadPanel("Re&try count")
        self.count_panel.retry.connect(self._count_already_past)
        self.count_label = plain_label()
        self.backfill = QCheckBox("Also create &projects for them")
        self.backfill.setChecked(False)  # "from now on" unless the admin asks (docs/design.md)
        self.backfill.setEnabled(False)
        self.backfill.setToolTip("Off: only opportunities that reach the stage from now on become projects.")

        self.interval = interval_box(self._saved.interval_seconds if self._saved.interval_explicit else 0)
        self.interval.setAccessibleName("Sync interval in minutes")
        interval_label = QLabel("Check &every:")
        interval_label.setBuddy(self.interval)
        interval_hint = plain_label(
            "How often BigSync looks for opportunities that reached the stage. "
            "Automatic: as often as the API budget allows."
        )

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(self.stage_label, self.combo)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stages_panel)
        layout.addLayout(form)
        layout.addWidget(self.saved_missing)
        layout.addWidget(self.rule)
        layout.addSpacing(8)
        layout.addWidget(self.count_panel)
        layout.addWidget(self.count_label)
        layout.addWidget(self.backfill)
        layout.addSpacing(8)
        interval_form = QFormLayout()
        interval_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        interval_form.addRow(interval_label, self.interval)
        layout.addLayout(interval_form)
        layout.addWidget(interval_hint)
        layout.addSpacing(8)
        self.instant = InstantTriggersPanel(context)  # Instant, or checks on the interval (issue 19)
        layout.addWidget(self.instant)
        layout.addStretch(1)
        self.setTabOrder(self.combo, self.backfill)
        self.setTabOrder(self.backfill, self.interval)

    def _saved_sync(self) -> SyncSettings:
        try:
            return Settings.load(self.context.profile).sync  # a small local file
        except ConfigInvalid:
            return SyncSettings()

    # ---- what the wizard reads --------------------------------------------------------------------
    def chosen_stage(self) -> Stage | None:
        api = self.combo.currentData(API_NAME_ROLE) if self._stages else None
        return next((s for s in self._stages or [] if s.api_name == api), None)

    def already_past(self) -> int | None:
        read = self.already_past_read()
        return None if read is None else len(read.ids)

    def already_past_read(self) -> AlreadyPast | None:
        """The read behind the count shown (the Save reuses it), if it is for the chosen stage."""
        stage = self.chosen_stage()
        if stage is None or self._count is None or self._count.stage.api_name != stage.api_name:
            return None
        return self._count

    def wants_backfill(self) -> bool:
        return self.backfill.isEnabled() and self.backfill.isChecked()

    def interval_seconds(self) -> int:
        """Seconds, or 0 (core.engine.AUTOMATIC): the interval follows the org's API allowance."""
        return self.interval.value() * 60

    # ---- QWizardPage --------------------------------------------------------------------------------
    def initializePage(self) -> None:  # noqa: N802 (Qt's name)
        self.load_stages()
        self.instant.load()

    def isComplete(self) -> bool:  # noqa: N802
        return self.already_past() is not None

    # ---- stages -------------------------------------------------------------------------------------
    def load_stages(self) -> None:
        self._load_generation += 1
        generation = self._load_generation
        self._stages = None
        self._count = None
        self._count_generation += 1  # a count still running is for the old list
        self.combo.setEnabled(False)
        self.count_panel.done()
        self.count_label.clear()
        self.backfill.setEnabled(False)
        self.stages_panel.loading("Loading stages from Salesforce…")
        self.completeChanged.emit()
        engine = self.context.engine
        run_in_background(
            engine.stages,
            lambda stages: self._on_stages(generation, stages),
            lambda exc: self._on_stages_failed(generation, exc),
            self,
        )

    def _on_stages_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._load_generation:
            return
        self.stages_panel.failed(f"The stages could not be loaded. {failure_sentence(exc)}")

    def _on_stages(self, generation: int, stages: list[Stage]) -> None:
        if generation != self._load_generation:
            return
        offered = [s for s in stages if s.is_active]  # inactive stages are never offered
        labels = Counter(s.label for s in offered)
        self.combo.blockSignals(True)
        self.model.clear()
        for stage in offered:
            text = stage.label if labels[stage.label] == 1 else f"{stage.label} ({stage.api_name})"
            self.model.appendRow(stage_item(stage, text))
        self._stages = offered
        pickable = [s for s in offered if not s.is_closed_lost]
        default = self._default(pickable)
        self.combo.setCurrentIndex(offered.index(default) if default else -1)
        self.combo.blockSignals(False)
        self.stages_panel.done()
        if not pickable:
            self.stages_panel.failed(
                "Salesforce lists no active stage that can trigger a project. "
                "Activate one in Setup › Opportunity Stages, then retry."
            )
            return
        self.combo.setEnabled(True)
        self._note_saved_stage(stages)
        self._on_stage_changed()

    def _default(self, pickable: list[Stage]) -> Stage | None:
        by_name = {s.api_name: s for s in pickable}
        for wanted in (self._chosen, self._saved.trigger_stage, DEFAULT_WON_STAGE):
            if wanted and wanted in by_name:
                return by_name[wanted]
        return next((s for s in pickable if s.is_closed_won), pickable[0] if pickable else None)

    def _note_saved_stage(self, stages: list[Stage]) -> None:
        saved = self._saved.trigger_stage
        if not saved or any(s.api_name == saved and s.is_active and not s.is_closed_lost for s in stages):
            self.saved_missing.hide()
            return
        label = self._saved.trigger_stage_label or saved
        self.saved_missing.setText(
            f"The saved trigger stage “{label}” is no longer an active stage in Salesforce: pick the stage again."
        )
        self.saved_missing.show()

    # ---- the count of opportunities already at or past it -------------------------------------------
    def _on_stage_changed(self, *_: Any) -> None:
        stage = self.chosen_stage()
        if stage is not None:
            self._chosen = stage.api_name
        self._count_already_past()

    def _count_already_past(self) -> None:
        self._count_generation += 1
        generation = self._count_generation
        self._count = None
        self.count_label.clear()
        self.backfill.setEnabled(False)
        self.completeChanged.emit()
        stage = self.chosen_stage()
        if stage is None:
            self.count_panel.done()
            return
        self.count_panel.loading(f"Counting the opportunities already at or past {stage.label}…")
        engine = self.context.engine
        run_in_background(
            lambda: engine.already_past(stage.api_name),
            lambda result: self._on_count(generation, stage, result),
            lambda exc: self._on_count_failed(generation, exc),
            self,
        )

    def _on_count_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._count_generation:
            return
        self.count_panel.failed(f"The opportunities could not be counted. {failure_sentence(exc)}")

    def _on_count(self, generation: int, stage: Stage, result: AlreadyPast) -> None:
        if generation != self._count_generation:
            return
        n = len(result.ids)
        self._count = result
        self.count_panel.done()
        if n == 0:
            text = f"No opportunity is at or past {stage.label} yet: every project will come from here on."
        elif n == 1:
            text = f"1 opportunity is already at or past {stage.label}. By default it does not become a project."
        else:
            text = (
                f"{n} opportunities are already at or past {stage.label}. By default they do not become "
                "projects; only opportunities that reach the stage from now on do."
            )
        self.count_label.setText(text)
        self.backfill.setText("Also create a &project for it" if n == 1 else "Also create &projects for them")
        self.backfill.setEnabled(n > 0)
        self.completeChanged.emit()
