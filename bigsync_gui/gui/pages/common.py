"""Small pieces the wizard's pages share: plain-text labels, a loading/failed/retry panel, a
scrolling body for any page, and one sentence for any error a background task reports."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QVBoxLayout,
    QWidget,
)


def plain_label(text: str = "", *, wrap: bool = True, selectable: bool = False) -> QLabel:
    """A QLabel that never interprets its text as rich text (it may quote Salesforce/BigTime)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setText(text)
    return label


def interval_box(seconds: int) -> QSpinBox:
    """Minutes, with 0 shown as "Automatic" (core.engine.AUTOMATIC): the trigger interval then follows
    the org's API allowance and the budget (core.cadence), the default. The text next to the box
    says what Automatic means."""
    box = QSpinBox()
    box.setRange(0, 24 * 60)
    box.setSuffix(" min")
    box.setSpecialValueText("Automatic")  # short: at 200 % a longer one made the Trigger stage page scroll sideways
    box.setValue(seconds // 60 if seconds else 0)
    box.setAccessibleName("Sync interval in minutes, or automatic")
    return box


def heading(text: str) -> QLabel:
    label = plain_label(text)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def warning_icon(widget: QWidget) -> QLabel:
    """The warning sign every failure in the wizard shows (the connect pages' too), one line high."""
    size = widget.fontMetrics().height()
    icon = QLabel()
    icon.setPixmap(widget.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size, size))
    return icon


class FittingScrollArea(QScrollArea):
    """A scroll area whose page is always as tall as its wrapped text needs at the width it has.
    Qt's keeps the height the page had when a label's text grows or the width shrinks, so a summary
    line set later wrapped into three lines in the room of two, cut at the top and bottom (200 %)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.fit_height()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_height()

    def fit_height(self) -> None:
        body = self.widget()
        layout = body.layout() if body is not None else None
        if body is not None and layout is not None and layout.hasHeightForWidth():
            body.setMinimumHeight(layout.totalHeightForWidth(self.viewport().width()))


def scroll_contents(page: QWidget) -> QScrollArea:
    """Move a page's layout (and its widgets) into a scroll area that fills the page, so the
    wizard can shrink to any screen at any scale and the page scrolls instead of clipping."""
    body = QWidget()
    body.setLayout(page.layout())  # Qt moves the layout and reparents its widgets
    scroll = FittingScrollArea()
    scroll.setWidget(body)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    # Not a Tab stop of its own (it had one, first on every page, with no visible focus): Tab goes from
    # control to control, and the area scrolls to the one that takes the focus.
    scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(scroll)
    return scroll


# The connectors' sentences for a service that is down end in what the *sync loop* does next; in
# the wizard nothing retries by itself, the admin clicks Retry.
_LOOP_RETRIES = re.compile(r"[;,]?\s*the sync will try again( later)?\.?$")
RETRY_HINT = "Click Retry to try again."


def sentence(exc: BaseException) -> str:
    """What went wrong, in words: typed errors carry a sentence; anything else is named. A
    promise that the sync retries becomes the Retry button's hint."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        if _LOOP_RETRIES.search(message):
            return _LOOP_RETRIES.sub(".", message).replace("..", ".") + " " + RETRY_HINT
        return message
    return f"Something unexpected went wrong ({type(exc).__name__}). Click Retry; if it keeps failing, see the log."


class LoadPanel(QWidget):
    """'Loading …' with a busy bar, or the failure's sentence with a Retry button."""

    retry = Signal()

    def __init__(self, retry_text: str | None = "&Retry", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = plain_label()
        self.icon = warning_icon(self)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(120)
        self.retry_button = QPushButton(retry_text or "")
        self.retry_button.clicked.connect(self.retry.emit)
        self._can_retry = retry_text is not None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.retry_button)
        self.state = "idle"  # idle | loading | failed
        self.hide()

    def loading(self, text: str) -> None:
        self.state = "loading"
        self.message.setText(text)
        self.icon.hide()
        self.busy.show()
        self.retry_button.hide()
        self.show()

    def failed(self, text: str) -> None:
        self.state = "failed"
        self.message.setText(text)
        self.icon.show()
        self.busy.hide()
        self.retry_button.setVisible(self._can_retry)
        self.show()
        if self._can_retry:
            self.retry_button.setFocus()

    def done(self) -> None:
        self.state = "idle"
        self.hide()
