"""The built wheel, installed (not editable) into a fresh venv, carries its icons: the tray
started from there shows a non-null icon for every state."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

START_TRAY = """
import sys, bigsync_gui
from pathlib import Path
assert Path(bigsync_gui.__file__).resolve().is_relative_to(Path(sys.prefix).resolve()), bigsync_gui.__file__
from bigsync_gui.gui.app import app_icon, make_app
from bigsync_gui.gui.state import StatusModel, SyncState
from bigsync_gui.gui.tray import TrayIcon, state_icon
app = make_app()
assert not app_icon().isNull(), "no app icon"
tray = TrayIcon(StatusModel())
assert not tray.tray.icon().isNull(), "no tray icon"
for state in SyncState:
    for variant in ("light", "dark"):
        assert not state_icon(state, variant).pixmap(22, 22).isNull(), (state, variant)
print("icons ok")
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # From a clean copy: setuptools builds in place, and a stale build/lib would hide a missing file.
    source = out / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", "build", "dist", ".git", "*.egg-info", "__pycache__", ".pytest_cache"),
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("bigsync_gui-*.whl")
    return built


def test_wheel_holds_every_package_and_the_icons(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for init in (ROOT / "bigsync_gui").rglob("__init__.py"):
        assert init.relative_to(ROOT).as_posix() in names, f"{init} is not in the wheel (pyproject.toml packages)"
    for svg in (ROOT / "resources").glob("*.svg"):
        assert f"bigsync_gui/resources/{svg.name}" in names


def test_tray_starts_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies (PySide6 …) from this venv: its folder goes on the path *after* the wheel's,
    # and as a plain path entry its own .pth files (the editable install's finder) are not read.
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--disable-pip-version-check",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [str(python), "-c", START_TRAY], capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env
    )
    assert result.returncode == 0 and "icons ok" in result.stdout, result.stdout + result.stderr[-3000:]
