"""The wizard's step list (its side widget): the six steps in order, the current one marked, the
ones behind it ticked — so the admin always sees where they are and how much is left."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from .common import plain_label

STEPS = ("Welcome", "Connect Salesforce", "Connect BigTime", "Trigger stage", "Fields", "Summary")
CURRENT, DONE, TODO = "▸", "✓", ""  # marks before the name; the current step is bold too


class StepList(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Setup steps")
        self.labels: list[QLabel] = []
        self.marks: list[QLabel] = []
        layout = QGridLayout(self)
        layout.setContentsMargins(8, 8, 4, 8)
        layout.setHorizontalSpacing(6)
        for row, _ in enumerate(STEPS):
            mark, label = plain_label(wrap=False), plain_label(wrap=False)
            mark.setAlignment(Qt.AlignmentFlag.AlignCenter)
            mark.setMinimumWidth(mark.fontMetrics().horizontalAdvance("✓▸") // 2 + 2)
            layout.addWidget(mark, row, 0)
            layout.addWidget(label, row, 1)
            self.marks.append(mark)
            self.labels.append(label)
        layout.setRowStretch(len(STEPS), 1)
        self.current = -1
        self.mark(0)

    def mark(self, current: int) -> None:
        """Mark step ``current`` (0-5); len(STEPS) marks every step done."""
        self.current = current
        for i, (mark, label, name) in enumerate(zip(self.marks, self.labels, STEPS)):
            mark.setText(CURRENT if i == current else DONE if i < current else TODO)
            label.setText(f"{i + 1}. {name}")
            font = QFont(label.font())
            font.setBold(i == current)
            label.setFont(font)
            label.setAccessibleName(
                f"Step {i + 1} of {len(STEPS)}: {name}"
                + (", current" if i == current else ", done" if i < current else "")
            )
