"""The package list in pyproject.toml is whole: every folder Python could import (a name that is an
identifier, under bigsync_gui/ or under resources/, which is shipped as bigsync_gui.resources) is
listed. A folder setuptools sees as importable but does not find listed makes the first install print
"Package would be ignored" (issue 20 item 12) — and its files may then be left out of the wheel."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def importable(root: Path, prefix: str) -> set[str]:
    found = {prefix}
    for folder in root.rglob("*"):
        if not folder.is_dir() or "__pycache__" in folder.parts:
            continue
        parts = folder.relative_to(root).parts
        if all(part.isidentifier() for part in parts) and any(p.is_file() for p in folder.rglob("*")):
            found.add(".".join((prefix, *parts)))
    return found


def test_every_importable_folder_is_a_listed_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapped = config["package-dir"]
    expected = importable(ROOT / "bigsync_gui", "bigsync_gui") | importable(
        ROOT / mapped["bigsync_gui.resources"], "bigsync_gui.resources"
    )
    assert expected - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - expected == set(), "listed but not there"


def test_icons_are_package_data_of_their_own_package():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    pngs = list((ROOT / "resources" / "icons" / "hicolor").glob("*/apps/*.png"))
    assert pngs and data["bigsync_gui.resources.icons.hicolor"] == ["*/apps/*.png"]
    assert not any("/" in pattern for pattern in data["bigsync_gui.resources"])  # no glob into a sub-package
