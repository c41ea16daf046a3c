"""Run a Qt script as on a 1280×800 screen at 200 % (offscreen, with a screen of that size and
QT_SCALE_FACTOR=2), in a process of its own: Qt reads the scale factor once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCREEN = {"name": "S", "x": 0, "y": 0, "width": 1280, "height": 800, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}


def run_at_200_percent(tmp_path: Path, script: str, *args: object, timeout: float = 120) -> subprocess.CompletedProcess:
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [SCREEN]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "QT_SCALE_FACTOR": "2"}
    return subprocess.run(
        [sys.executable, "-c", script, *(str(a) for a in args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
