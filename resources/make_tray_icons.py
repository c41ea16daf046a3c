"""Writes resources/tray-<state>-<panel>.svg: six sync states for light and dark panels.

Run it after changing a colour or shape: ``python resources/make_tray_icons.py``. The icons are
drawn on a 22 px grid (the usual tray size; they stay legible at 16 px): a two-arrow sync circle,
blue while syncing, a pause sign, and a badge (amber "!" / red "×") or a slash for the problem
states. ``-light`` icons are for light panels (dark strokes), ``-dark`` for dark panels.
Qt rarely knows the panel's colour (an X11 tray never says; the colour scheme is a guess), so
every glyph also carries an outline in the opposite colour: a dark glyph with a light rim, a light
glyph with a dark rim, each readable on any panel (tests/gui/test_tray_icons.py checks a 3:1
contrast on light and dark backgrounds). The outline is the same shapes drawn first, wider, in
the rim colour. No masks or filters: Qt's SVG renderer (SVG Tiny 1.2) draws plain shapes everywhere.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
C, R, W = 11.0, 7.0, 2.4  # glyph centre, radius, stroke width
INK = {"light": "#2e3436", "dark": "#f6f5f4"}
FADED = {"light": "#5e5c64", "dark": "#c0bfbc"}  # offline: greyer, still 3:1 against its panel
BLUE = {"light": "#1a5fb4", "dark": "#62a0ea"}
RIM = {"light": "#ffffff", "dark": "#1e1e1e"}  # the outline: opposite to the ink
RIM_WIDTH = 1.6  # added to every shape's outline (0.8 px each side)
SCALE = 0.88  # the glyph shrinks a little so that its rim stays inside the 22 px square
AMBER, RED = "#b07800", "#ff3b30"  # 3:1 against dark panels and under the white mark
RING = "#1e1e1e"  # a badge's own dark ring on the light-panel icons (whose rim is white)
BADGE = (16.2, 16.2, 5.6)  # cx, cy, r


def pt(angle: float, r: float = R) -> tuple[float, float]:
    a = math.radians(angle)
    return C + r * math.cos(a), C + r * math.sin(a)


def arc(start: float, end: float) -> str:
    """Clockwise (screen coordinates) arc from ``start`` to ``end`` degrees."""
    (x1, y1), (x2, y2) = pt(start), pt(end)
    large = 1 if (end - start) % 360 > 180 else 0
    return f"M{x1:.2f} {y1:.2f}A{R} {R} 0 {large} 1 {x2:.2f} {y2:.2f}"


def head(angle: float, colour: str) -> str:
    """An arrowhead at ``angle`` on the circle, pointing along the clockwise direction."""
    x, y = pt(angle)
    t = math.radians(angle + 90)  # tangent (clockwise)
    n = math.radians(angle)  # outward normal
    tip = (x + 3.2 * math.cos(t), y + 3.2 * math.sin(t))
    out = (x + 3.0 * math.cos(n), y + 3.0 * math.sin(n))
    inn = (x - 3.0 * math.cos(n), y - 3.0 * math.sin(n))
    pts = " ".join(f"{a:.2f},{b:.2f}" for a, b in (tip, out, inn))
    return f'<polygon points="{pts}" fill="{colour}"/>'


def sync_glyph(colour: str, badge: bool = False) -> str:
    # Two arcs, each ending in an arrowhead: 200°→335° (upper) and 20°→155° (lower).
    # With a badge the lower arc stops short of the lower-right corner (no mask needed).
    upper = (200.0, 330.0)
    lower = (80.0, 150.0) if badge else (20.0, 150.0)
    parts = [
        f'<path d="{arc(*upper)}" fill="none" stroke="{colour}" stroke-width="{W}" stroke-linecap="butt"/>',
        head(upper[1], colour),
    ]
    parts += [
        f'<path d="{arc(*lower)}" fill="none" stroke="{colour}" stroke-width="{W}" stroke-linecap="butt"/>',
        head(lower[1], colour),
    ]
    return "".join(parts)


def badge(fill: str, mark: str, panel: str) -> str:
    cx, cy, r = BADGE
    ring = f' stroke="{RING}" stroke-width="1.2"' if panel == "light" else ""
    shape = f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{fill}"{ring}/>'
    if mark == "!":
        shape += (
            f'<rect x="{cx - 1.1:.2f}" y="{cy - 3.6:.2f}" width="2.2" height="4.4" rx="0.6" fill="#ffffff"/>'
            f'<circle cx="{cx}" cy="{cy + 2.5:.2f}" r="1.2" fill="#ffffff"/>'
        )
    else:  # ×
        d = 2.4
        shape += (
            f'<path d="M{cx - d:.2f} {cy - d:.2f}L{cx + d:.2f} {cy + d:.2f}'
            f'M{cx + d:.2f} {cy - d:.2f}L{cx - d:.2f} {cy + d:.2f}" '
            f'stroke="#ffffff" stroke-width="2.2" stroke-linecap="round"/>'
        )
    return shape


def rim(body: str, colour: str) -> str:
    """The outline: each shape of ``body`` again, filled and stroked RIM_WIDTH wider in ``colour``."""

    def shape(m: re.Match) -> str:
        tag, attrs = m.group(1), m.group(2)
        width = re.search(r'stroke-width="([0-9.]+)"', attrs)
        filled = not re.search(r'fill="none"', attrs)
        attrs = re.sub(r'\s*(fill|stroke|stroke-width)="[^"]*"', "", attrs)
        fill = f'fill="{colour}"' if filled else 'fill="none"'
        return (
            f'<{tag} {attrs} {fill} stroke="{colour}" '
            f'stroke-width="{(float(width.group(1)) if width else 0) + RIM_WIDTH:.1f}"/>'
        )

    return re.sub(r"<(\w+) ([^>]*?)/>", shape, body)


def icon(state: str, panel: str) -> str:
    ink = INK[panel]
    if state == "idle":
        body = sync_glyph(ink)
    elif state == "syncing":
        body = sync_glyph(BLUE[panel])
    elif state == "paused":
        body = (
            f'<circle cx="{C}" cy="{C}" r="{R + 0.6}" fill="none" stroke="{ink}" stroke-width="2"/>'
            f'<rect x="7.6" y="7" width="2.4" height="8" rx="0.5" fill="{ink}"/>'
            f'<rect x="12" y="7" width="2.4" height="8" rx="0.5" fill="{ink}"/>'
        )
    elif state == "attention":
        body = sync_glyph(ink, badge=True) + badge(AMBER, "!", panel)
    elif state == "error":
        body = sync_glyph(ink, badge=True) + badge(RED, "x", panel)
    elif state == "offline":
        body = (
            sync_glyph(FADED[panel])
            + f'<path d="M4 3.5L18.5 18" stroke="{ink}" stroke-width="2.2" stroke-linecap="round"/>'
        )
    else:
        raise ValueError(state)
    glyph = f'<g stroke-linejoin="round" transform="translate({C} {C}) scale({SCALE}) translate({-C} {-C})">'
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="22" height="22" viewBox="0 0 22 22">'
        f"<title>bigsync {state}</title>{glyph}{rim(body, RIM[panel])}{body}</g></svg>\n"
    )


STATES = ("idle", "syncing", "paused", "attention", "error", "offline")

if __name__ == "__main__":
    for state in STATES:
        for panel in ("light", "dark"):
            (HERE / f"tray-{state}-{panel}.svg").write_text(icon(state, panel), encoding="utf-8")
