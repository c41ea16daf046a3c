"""Every tray icon reads on any panel: rendered on light and dark backgrounds, the glyph's shape is
traced by pixels with a WCAG contrast of at least 3:1 against the background (Qt seldom knows the panel's colour,
so each icon carries an outline in the opposite colour)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QImage, QPainter

from bigsync_gui.gui.state import SyncState
from bigsync_gui.gui.tray import state_icon

# White, a light grey panel (trayer, GNOME Classic), a mid grey, a dark grey panel, black.
BACKGROUNDS = ("#ffffff", "#d6d6d6", "#808080", "#303030", "#000000")
SIZE = 44  # twice the 22 px grid, so anti-aliasing does not decide the answer
REACH = 3  # 1.5 px at the 22 px grid: a pixel this close to a readable one is part of a readable stroke
SLACK = 0.02  # anti-aliased corners


def luminance(color: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF()) + 0.0722 * channel(color.blueF())


def contrast(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def render(state: SyncState, variant: str, background: str) -> tuple[QImage, QImage]:
    """The icon alone (for its alpha) and the icon drawn over the background."""
    glyph = state_icon(state, variant).pixmap(SIZE, SIZE).toImage().convertToFormat(QImage.Format.Format_ARGB32)
    assert glyph.width() == SIZE, "the icon did not load"
    shown = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32)
    shown.fill(QColor(background))
    painter = QPainter(shown)
    painter.drawImage(0, 0, glyph)
    painter.end()
    return glyph, shown


def unread(glyph: QImage, shown: QImage, background: QColor) -> tuple[float, int]:
    """The share of the glyph's edge (its pixels with alpha ≥ ½ that touch the background) farther
    than REACH pixels from any pixel that contrasts 3:1 with the background (0: the whole shape is
    traced in a readable colour; WCAG's non-text contrast is about a graphic's boundary), and how
    many pixels contrast. With an outline, either the ink or its rim contrasts on any panel."""
    covered = {(x, y) for y in range(SIZE) for x in range(SIZE) if glyph.pixelColor(x, y).alphaF() >= 0.5}
    steps = ((1, 0), (-1, 0), (0, 1), (0, -1))
    edge = {(x, y) for (x, y) in covered if any((x + dx, y + dy) not in covered for dx, dy in steps)}
    readable = {(x, y) for (x, y) in covered if contrast(shown.pixelColor(x, y), background) >= 3.0}
    near, frontier = set(readable), set(readable)
    for _ in range(REACH):
        frontier = {(x + dx, y + dy) for x, y in frontier for dx, dy in steps} - near
        near |= frontier
    return len(edge - near) / len(edge), len(readable)


@pytest.mark.parametrize("variant", ["light", "dark"])
@pytest.mark.parametrize("state", list(SyncState), ids=lambda s: s.value)
def test_icon_reads_on_light_and_dark_panels(qapp, state: SyncState, variant: str) -> None:
    for background in BACKGROUNDS:
        glyph, shown = render(state, variant, background)
        share, readable = unread(glyph, shown, QColor(background))
        assert readable > 40, f"{state.value}-{variant} on {background}: hardly a pixel stands out"
        assert share <= SLACK, (
            f"{state.value}-{variant} on {background}: {share:.0%} of the glyph's edge is not within "
            f"{REACH} px of a pixel with 3:1 contrast"
        )
