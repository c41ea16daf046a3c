"""The page after Save — "You're all set": what happens now, where the tray icon is (with the
icon itself), and how to open Activity. Without it, the wizard vanishing on Save looked as if the
app had closed (issue 13)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWizardPage

from ..state import SyncState
from .common import heading, plain_label

NOW = (
    "BigSync now works in the background. Triggers: {triggers} — when an opportunity reaches {stage}, "
    "it creates the BigTime project, and BigTime's figures flow back onto the opportunity. The first "
    "check starts right away."
)
INSTANT_LATER = (
    " With Change Data Capture on for Opportunity in Salesforce (Setup › Change Data Capture), "
    "this becomes Instant once the sync runs."
)
TRAY = (
    "BigSync lives in the system tray (the notification area): at the bottom right of the screen "
    "next to the clock on Windows (it may be hidden under the ^ arrow), in the menu bar at the top "
    "right on macOS, in the panel's status area on Linux. Look for this icon. Click it for the "
    "status; its menu has Sync now, Pause syncing, Activity…, Settings… and Quit."
)
NO_TRAY = "If your desktop has no system tray, a small BigSync window shows the same status and buttons instead."
ACTIVITY = (
    "To see what BigSync did — every sync, each project it created, anything Salesforce or "
    "BigTime refused — choose Activity… in the icon's menu. Starting BigSync again while it "
    "runs opens Activity too."
)
CLOSE = "Close this window with Done: BigSync keeps running."


class DonePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("You're all set")
        self.setSubTitle("Setup is saved and BigSync is running.")
        self.now = plain_label()
        self.tray_icon = QLabel()
        self.tray_icon.setAccessibleName("The BigSync tray icon")
        self.tray_text = plain_label(TRAY)
        self.activity = plain_label(ACTIVITY)
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.addWidget(heading("What happens now"), 0, 0, 1, 2)
        grid.addWidget(self.now, 1, 0, 1, 2)
        grid.addWidget(heading("Where BigSync is"), 2, 0, 1, 2)
        grid.addWidget(self.tray_icon, 3, 0, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        grid.addWidget(self.tray_text, 3, 1)
        grid.addWidget(plain_label(NO_TRAY), 4, 1)
        grid.addWidget(heading("Activity"), 5, 0, 1, 2)
        grid.addWidget(self.activity, 6, 0, 1, 2)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addSpacing(8)
        layout.addWidget(plain_label(CLOSE))
        layout.addStretch(1)
        self._show_icon()

    def _show_icon(self) -> None:
        """The idle tray icon, in the variant that reads on this page's background, 2 lines high."""
        from ...assets import state_icon

        light_page = self.palette().window().color().lightnessF() > 0.5
        size = self.fontMetrics().height() * 2
        self.tray_icon.setPixmap(state_icon(SyncState.IDLE, "light" if light_page else "dark").pixmap(size, size))

    def show_plan(self, stage_label: str, triggers: str) -> None:
        """``triggers``: core.trigger_timing's words ("Checks every 7 min"), as the Summary showed them."""
        text = NOW.format(stage=stage_label or "the trigger stage", triggers=triggers)
        self.now.setText(text + ("" if triggers == "Instant" else INSTANT_LATER))
