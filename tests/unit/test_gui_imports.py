"""The GUI's import graph has no circle through the entry point: every gui module imports in a fresh
interpreter on its own, no gui module but the entry point (cli.py) imports gui/app.py, and the
connect pages share a base module instead of importing each other's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bigsync_gui"
GUI_MODULES = sorted(p for p in (PACKAGE / "gui").rglob("*.py"))


def _module(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) for every ``from … import …`` in the file."""
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append((target, [a.name for a in node.names]))
    return found


@pytest.mark.parametrize("path", GUI_MODULES, ids=_module)
def test_each_gui_module_imports_alone(path: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", f"import {_module(path)}"],
        check=True,
        timeout=60,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )


def test_only_the_entry_point_imports_the_app_module() -> None:
    importers = sorted(
        _module(p) for p in PACKAGE.rglob("*.py") if any(target == "bigsync_gui.gui.app" for target, _ in _imports(p))
    )
    assert importers == ["bigsync_gui.cli"]


def test_no_private_names_cross_gui_modules() -> None:
    crossing = [
        (_module(p), target, name)
        for p in GUI_MODULES
        for target, names in _imports(p)
        if target.startswith("bigsync_gui.")
        for name in names
        if name.startswith("_")
    ]
    assert crossing == []
