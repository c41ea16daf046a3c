"""Page 6 — Summary & Save: everything chosen, in sentences, and the promise about deletes.

The Save itself is the wizard's (its Finish button, relabelled); this page shows its progress and
its failure. Before Save the page runs ``core.doctor`` off the GUI thread (reads only) and says
what it found in plain words; Save is held back only while something *needed* differs."""

from __future__ import annotations

from dataclasses import dataclass, field

from typing import Any

from PySide6.QtWidgets import QFormLayout, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWizardPage

from ...connectors.wording import duration
from ...core.settings import INVOICE_OBJECT, Settings
from ...core.trigger_timing import INSTANT, planned
from ..context import SetupContext
from ..worker import run_in_background
from .common import LoadPanel, plain_label, sentence

DELETE_NOTE = "Deleting an opportunity never deletes a BigTime project: its link is severed."


@dataclass
class Choices:
    """What the wizard will save."""

    salesforce: str = ""
    bigtime: str = ""
    stage_api_name: str = ""
    stage_label: str = ""
    already_past: int | None = None
    backfill: bool = False
    interval_seconds: int = 300
    field_map: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # "Budget (fees) → BigTime_Budget_Fees__c"
    problems: list[str] = field(default_factory=list)
    invoice_object: bool | None = None
    triggers: str = ""  # core.trigger_timing's words for the chosen interval: "Checks every 7 min"


def describe_interval(seconds: int) -> str:
    if seconds == 0:  # core.engine.AUTOMATIC
        return "as often as the org's API budget allows"
    return f"every {duration(seconds)}"


def describe_backfill(choices: Choices) -> str:
    n = choices.already_past or 0
    if n == 0:
        return "None are at or past the stage yet."
    them = "it" if n == 1 else f"all {n}"
    noun = "opportunity is" if n == 1 else "opportunities are"
    if choices.backfill:
        return f"{n} {noun} already at or past the stage: projects are created for {them} on the first sync."
    return f"{n} {noun} already at or past the stage: left alone; only opportunities reaching it from now on count."


def describe_fields(choices: Choices) -> str:
    lines = list(choices.written) or ["None: no figure is written back to Salesforce."]
    if choices.invoice_object:
        lines.append(f"One {INVOICE_OBJECT} row per BigTime invoice.")
    return "\n".join(lines)


def describe_doctor(report: Any) -> str:
    """What doctor found, for the admin: the summary, then each needed difference as a sentence."""
    lines = [report.summary()]
    if report.blocking:
        lines.append("Fix these, then press Check again (Save waits until they are fixed):")
        lines += [f"• {c.note}" for c in report.blocking]
    return "\n".join(lines)


class SummaryPage(QWizardPage):
    def __init__(self, context: SetupContext) -> None:
        super().__init__()
        self.context = context
        self.setTitle("Summary")
        self.setSubTitle("Check what BigSync will do, then Save. Nothing is saved before you do.")
        self.salesforce = plain_label()
        self.bigtime = plain_label()
        self.stage = plain_label()
        self.backfill = plain_label()
        self.interval = plain_label()
        self.fields = plain_label(selectable=True)
        self.problems = plain_label(selectable=True)
        self.problems_label = QLabel("Skipped fields:")
        self.note = plain_label(DELETE_NOTE)
        self.note.setFrameShape(QFrame.Shape.StyledPanel)
        self.note.setMargin(8)
        self.panel = LoadPanel(None)
        self.doctor = plain_label(selectable=True)
        self.check_again = QPushButton("Check &again")
        self.check_again.clicked.connect(self.run_doctor)
        self.doctor_report: Any = None  # the last DoctorReport, None while checking or if it failed
        self._doctor_run = 0  # results of an older run are ignored
        doctor_row = QVBoxLayout()
        doctor_row.addWidget(self.doctor)
        again_row = QHBoxLayout()
        again_row.addWidget(self.check_again)
        again_row.addStretch(1)
        doctor_row.addLayout(again_row)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.addRow("Salesforce:", self.salesforce)
        form.addRow("BigTime:", self.bigtime)
        form.addRow("Trigger stage:", self.stage)
        form.addRow("Already past it:", self.backfill)
        form.addRow("Sync:", self.interval)
        form.addRow("Fields written:", self.fields)
        form.addRow(self.problems_label, self.problems)
        form.addRow("Checks:", doctor_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(self.note)
        layout.addStretch(1)
        layout.addWidget(self.panel)

    def initializePage(self) -> None:  # noqa: N802
        wizard = self.wizard()
        self.show_choices(wizard.choices())  # type: ignore[attr-defined]
        self.panel.done()
        self.run_doctor()

    # ---- doctor: every assumption checked, reads only, off the GUI thread --------------------------
    def run_doctor(self) -> None:
        from ...core.doctor import run_doctor, write_report

        self._doctor_run += 1
        run, connector = self._doctor_run, self.context.connector
        field_map = dict(self.wizard().choices().field_map)  # type: ignore[attr-defined]
        self.doctor_report = None
        self.doctor.setText("Checking what BigSync relies on in Salesforce and BigTime (reading only)…")
        self.check_again.setEnabled(False)
        self.completeChanged.emit()

        def work() -> Any:  # on a pool thread
            report = run_doctor(connector, field_map)
            write_report(connector.profile, report)
            return report

        run_in_background(
            work, lambda report: self._doctor_done(run, report), lambda exc: self._doctor_failed(run, exc), self
        )

    def _doctor_done(self, run: int, report: Any) -> None:
        if run != self._doctor_run:
            return
        self.doctor_report = report
        self.doctor.setText(describe_doctor(report))
        self.check_again.setEnabled(True)
        self.completeChanged.emit()

    def _doctor_failed(self, run: int, exc: Exception) -> None:
        if run != self._doctor_run:
            return
        self.doctor.setText(f"Could not check what BigSync relies on: {sentence(exc)} You can still Save.")
        self.check_again.setEnabled(True)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802
        """Save waits only while something needed differs (not while checking, not if checking failed)."""
        return not (self.doctor_report is not None and self.doctor_report.blocking)

    def show_choices(self, choices: Choices) -> None:
        self.salesforce.setText(choices.salesforce)
        self.bigtime.setText(choices.bigtime)
        self.stage.setText(
            f"{choices.stage_label} — an opportunity that reaches or passes it becomes a "
            "BigTime project; closed-lost ones never do."
        )
        self.backfill.setText(describe_backfill(choices))
        triggers = choices.triggers or planned(Settings(), None, choices.interval_seconds).words
        # With instant triggers the chosen "Check every" is still saved: say when it is used.
        fallback = f" While the change stream is down: checks {describe_interval(choices.interval_seconds)}."
        self.interval.setText(f"Triggers: {triggers}." + (fallback if triggers == INSTANT else ""))
        self.fields.setText(describe_fields(choices))
        self.problems.setText(
            "\n".join(choices.problems) + ("\nWrite-back skips these until they exist." if choices.problems else "")
        )
        self.problems.setVisible(bool(choices.problems))
        self.problems_label.setVisible(bool(choices.problems))

    # ---- the wizard's Save reports here -------------------------------------------------------------
    def saving(self) -> None:
        self.panel.loading("Saving…")

    def save_failed(self, message: str) -> None:
        self.panel.failed(f"Not saved. {message}")
