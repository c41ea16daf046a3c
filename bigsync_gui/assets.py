"""The shipped files (icons) and the product's name, however the app was installed: a source
checkout, an editable or a wheel install, or the PyInstaller build. A leaf module (it imports
nothing of ours), so any window may use it without importing the app; Qt is imported only inside
the functions that make icons.

``resources/`` sits at the repo root and is mapped into the package as ``bigsync_gui.resources``
(pyproject.toml), so ``importlib.resources`` finds it in every case; the PyInstaller spec puts
it at the same place in the bundle."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

DISPLAY_NAME = "BigSync"  # the one product name in every window, tooltip and sentence
DESKTOP_ID = "io.github.bigsync_gui.BigSync"  # packaging/linux/<id>.desktop and .metainfo.xml


def resource(name: str) -> Path:
    """The file ``name`` in resources/ as a path on disk (Qt loads icons from a file name)."""
    path = files("bigsync_gui.resources").joinpath(name)
    if not isinstance(path, Path):  # a zip import: Qt could not open it, and we never ship one
        raise FileNotFoundError(f"resource {name} is not on disk: {path}")
    return path


def app_icon() -> QIcon:
    from PySide6.QtGui import QIcon

    return QIcon(str(resource("bigsync.svg")))


def panel_variant() -> str:
    """Which icon set suits the panel: "light" (dark strokes) or "dark" (light strokes).

    Qt cannot see the panel's colour; the colour scheme is the best hint. When it is unknown we
    assume a dark panel, the default of GNOME's top bar, KDE's and Windows' taskbars. A wrong
    guess stays readable: every icon has an outline in the opposite colour (resources/make_tray_icons.py)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication

    scheme = QGuiApplication.styleHints().colorScheme()
    return "light" if scheme == Qt.ColorScheme.Light else "dark"


def state_icon(state: str, variant: str | None = None) -> QIcon:
    """The tray icon of a sync state (a ``SyncState``, itself a str: "idle", "offline"…)."""
    from PySide6.QtGui import QIcon

    return QIcon(str(resource(f"tray-{getattr(state, 'value', state)}-{variant or panel_variant()}.svg")))
