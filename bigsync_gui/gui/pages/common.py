"""Small pieces the wizard's pages share: plain-text labels, a loading/failed/retry panel, and
one sentence for any error a background task reports."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


def plain_label(text: str = "", *, wrap: bool = True, selectable: bool = False) -> QLabel:
    """A QLabel that never interprets its text as rich text (it may quote Salesforce/BigTime)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setText(text)
    return label


def heading(text: str) -> QLabel:
    label = plain_label(text)
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def sentence(exc: BaseException) -> str:
    """What went wrong, in words: typed errors carry a sentence; anything else is named."""
    message = getattr(exc, "message", None)
    if isinstance(message, str) and message:
        return message
    return f"Something unexpected went wrong ({type(exc).__name__}). Try again; if it keeps failing, see the log."


class LoadPanel(QWidget):
    """'Loading …' with a busy bar, or the failure's sentence with a Retry button."""

    retry = Signal()

    def __init__(self, retry_text: str | None = "&Retry", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = plain_label()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(120)
        self.retry_button = QPushButton(retry_text or "")
        self.retry_button.clicked.connect(self.retry.emit)
        self._can_retry = retry_text is not None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.busy)
        layout.addWidget(self.retry_button)
        self.state = "idle"  # idle | loading | failed
        self.hide()

    def loading(self, text: str) -> None:
        self.state = "loading"
        self.message.setText(text)
        self.busy.show()
        self.retry_button.hide()
        self.show()

    def failed(self, text: str) -> None:
        self.state = "failed"
        self.message.setText(text)
        self.busy.hide()
        self.retry_button.setVisible(self._can_retry)
        self.show()
        if self._can_retry:
            self.retry_button.setFocus()

    def done(self) -> None:
        self.state = "idle"
        self.hide()
