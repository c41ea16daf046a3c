"""The PyInstaller one-folder build: it builds, and the built program runs headless."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "dist" / "bigsync-gui" / "bigsync-gui"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def built() -> Path:
    result = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], capture_output=True, text=True, timeout=840)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert PROGRAM.is_file()
    return PROGRAM


def test_built_program_reports_its_version(built: Path) -> None:
    result = subprocess.run([str(built), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("bigsync-gui 0.")


def test_built_program_carries_webengine_and_resources(built: Path) -> None:
    internal = built.parent / "_internal"
    assert list(internal.rglob("QtWebEngineProcess")), "Qt WebEngine's helper process is missing"
    assert list(internal.rglob("qtwebengine_resources.pak")), "Qt WebEngine's resources are missing"
    # where the wheel has them too: bigsync_gui.assets finds them through importlib.resources
    assert (internal / "bigsync_gui" / "resources" / "bigsync.svg").is_file()
    assert (internal / "bigsync_gui" / "resources" / "tray-idle-light.svg").is_file()


def test_built_sandbox_answers_and_stops_cleanly(built: Path) -> None:
    proc = subprocess.Popen([str(built), "sandbox"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        versions = requests.get(info["salesforce"]["login_url"] + "/services/data/", timeout=10)
        assert versions.status_code == 200 and versions.json()[-1]["version"] == "67.0"
        login = requests.get(info["console_url"], timeout=10)
        assert login.status_code == 200 and "sandbox console" in login.text
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0
