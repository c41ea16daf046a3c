"""How triggers arrive — "Instant" or "Checks every N min" — on the wizard's Trigger stage page and
in Settings › Trigger: whether Change Data Capture is on for Opportunity and the user may receive
it (core/cdc_readiness.py, read off the GUI thread), and when not, the admin's steps in plain
words with **Check again**. Without it nothing changes: BigSync checks on its interval. Once the
loop has run, its recorded mode (core/trigger_timing.py) is what the line says: the stream may be
down (its reason shown) even when the org allows it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ...core.cadence import TriggerInterval, effective_interval
from ...core.cdc_readiness import CdcReadiness, check_cdc, timing_words
from ...core.trigger_timing import TriggerTiming, timing
from ..worker import run_in_background
from .common import LoadPanel, heading, plain_label, sentence


class InstantTriggersPanel(QWidget):
    """``context`` gives the connector and the profile (a SetupContext)."""

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.title = heading("How won deals reach BigSync")
        self.timing = plain_label()
        self.detail = plain_label(selectable=True)
        self.steps = plain_label(selectable=True)
        self.loader = LoadPanel("&Check again")
        self.loader.retry.connect(self.load)
        self.again = QPushButton("C&heck again")
        self.again.clicked.connect(self.load)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.again)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.loader)
        layout.addWidget(self.timing)
        layout.addWidget(self.detail)
        layout.addWidget(self.steps)
        layout.addLayout(row)
        self.readiness: CdcReadiness | None = None
        self.words = ""  # what the line says ("Instant", "Checks every 7 min"); "" until read
        self._generation = 0
        for widget in (self.timing, self.detail, self.steps, self.again):
            widget.hide()

    def load(self) -> None:
        self._generation += 1
        generation = self._generation
        self.words = ""
        self.loader.loading("Asking Salesforce whether Change Data Capture is on…")
        context = self.context

        def work() -> tuple[CdcReadiness, TriggerInterval, TriggerTiming]:
            readiness = check_cdc(context.connector.salesforce())
            return readiness, effective_interval(context.profile), timing(context.profile)

        run_in_background(
            work, lambda answer: self._show(generation, *answer), lambda exc: self._failed(generation, exc), self
        )

    def _show(self, generation: int, readiness: CdcReadiness, interval: TriggerInterval, live: TriggerTiming) -> None:
        if generation != self._generation:
            return
        self.readiness = readiness
        self.loader.done()
        if live.instant or live.reason:  # the running loop's own mode wins over what the org allows
            self.words = live.words
            self.timing.setText(f"Triggers: {live.words}" + (f" ({live.reason})" if live.reason else ""))
        else:
            self.words = timing_words(readiness, interval)
            self.timing.setText(f"Triggers: {self.words}")
        self.detail.setText(readiness.sentence())
        steps = readiness.steps()
        self.steps.setText(
            "To make them instant:\n" + "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1)) if steps else ""
        )
        self.timing.show()
        self.detail.show()
        self.steps.setVisible(bool(steps))
        self.again.setVisible(not readiness.instant)

    def _failed(self, generation: int, exc: Exception) -> None:
        if generation == self._generation:
            self.loader.failed(f"Could not ask Salesforce about Change Data Capture. {sentence(exc)}")
