"""Where the shipped files (icons) are, however the app was installed: a source checkout, an
editable or a wheel install, or the PyInstaller build. Qt-free; a leaf module.

``resources/`` sits at the repo root and is mapped into the package as ``bigsync_gui.resources``
(pyproject.toml), so ``importlib.resources`` finds it in every case; the PyInstaller spec puts
it at the same place in the bundle."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(name: str) -> Path:
    """The file ``name`` in resources/ as a path on disk (Qt loads icons from a file name)."""
    path = files("bigsync_gui.resources").joinpath(name)
    if not isinstance(path, Path):  # a zip import: Qt could not open it, and we never ship one
        raise FileNotFoundError(f"resource {name} is not on disk: {path}")
    return path
