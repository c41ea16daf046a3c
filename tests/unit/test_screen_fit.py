"""Growing a window for content that came late (the wizard's sign-in page), on its screen."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize

from bigsync_gui.gui.screen_fit import FRAME_ALLOWANCE, grown_geometry

SCREEN = QRect(0, 0, 1280, 800)


def test_the_wizard_grows_to_show_the_sign_in_page_and_stays_on_the_screen() -> None:
    """860×620 centred on 1280×800 (the first-run size): as tall as the screen allows, moved up."""
    grown = grown_geometry(QRect(210, 58, 860, 620), QSize(860, 820), SCREEN)
    assert grown.size() == QSize(860, 800 - FRAME_ALLOWANCE.height())
    assert grown.topLeft().x() == 210 and grown.y() == 0
    assert grown.bottom() + FRAME_ALLOWANCE.height() <= SCREEN.bottom() + 1


def test_a_window_the_admin_made_larger_is_never_shrunk_nor_moved() -> None:
    big = QRect(20, 10, 1200, 760)
    assert grown_geometry(big, QSize(860, 820), SCREEN) == QRect(20, 10, 1200, 760)


def test_at_200_percent_the_window_already_fills_the_room_and_stays() -> None:
    area = QRect(0, 0, 640, 400)  # 1280×800 at 200 %
    filled = QRect(16, 0, 640 - FRAME_ALLOWANCE.width(), 400 - FRAME_ALLOWANCE.height())
    assert grown_geometry(filled, QSize(860, 820), area) == filled
