"""A window's first size: its default, cut down to the screen's available area less the window
frame, and centred. At 200 % on a 1280×800 screen the area is 640×400 points, so a window that
asks for 980×600 would otherwise open with its buttons off-screen."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget

FRAME_ALLOWANCE = QSize(32, 64)  # the window manager's title bar and borders, not known before showing


def fit_to_screen(widget: QWidget, default: QSize, minimum: QSize) -> QSize:
    """Resize ``widget`` to ``default`` bounded by its screen, with ``minimum`` bounded the same way;
    returns the size given."""
    screen = widget.screen()
    if screen is None:
        widget.resize(default)
        return default
    area = screen.availableGeometry()
    room = QSize(max(200, area.width() - FRAME_ALLOWANCE.width()), max(200, area.height() - FRAME_ALLOWANCE.height()))
    widget.setMinimumSize(minimum.boundedTo(room))
    size = default.boundedTo(room)
    widget.resize(size)
    widget.move(
        area.x() + (area.width() - size.width()) // 2,
        area.y() + max(0, (area.height() - size.height() - FRAME_ALLOWANCE.height()) // 2),
    )
    return size


__all__ = ["FRAME_ALLOWANCE", "fit_to_screen"]
