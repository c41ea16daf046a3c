"""A window's first size: its default, cut down to the screen's available area less the window
frame, and centred. At 200 % on a 1280×800 screen the area is 640×400 points, so a window that
asks for 980×600 would otherwise open with its buttons off-screen."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize
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


def grown_geometry(current: QRect, wanted: QSize, area: QRect) -> QRect:
    """``current`` grown to ``wanted`` (never shrunk: the admin may have made it larger), bounded
    by ``area`` less the window frame, and moved up as far as needed to stay on it."""
    room = QSize(max(200, area.width() - FRAME_ALLOWANCE.width()), max(200, area.height() - FRAME_ALLOWANCE.height()))
    size = current.size().expandedTo(wanted.boundedTo(room))
    if size == current.size():
        return QRect(current)  # nothing to grow: where the admin put it
    left = min(current.x(), area.right() + 1 - size.width() - FRAME_ALLOWANCE.width() // 2)
    top = min(current.y(), area.bottom() + 1 - size.height() - FRAME_ALLOWANCE.height())
    return QRect(max(area.x(), left), max(area.y(), top), size.width(), size.height())


def grow_to_fit(widget: QWidget, wanted: QSize) -> None:
    """Make room for content that came late (the wizard's sign-in page): ``widget`` grows toward
    ``wanted`` as far as its screen allows, and stays on it."""
    screen = widget.screen()
    if screen is None:
        return
    geometry = grown_geometry(widget.geometry(), wanted, screen.availableGeometry())
    if geometry != widget.geometry():
        widget.setGeometry(geometry)


__all__ = ["FRAME_ALLOWANCE", "fit_to_screen", "grow_to_fit", "grown_geometry"]
