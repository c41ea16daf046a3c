"""core/ and connectors/ never import Qt: the CLI, the headless loop and these unit tests run
without PySide6. Checked in a fresh interpreter, because in the pytest process the pytest-qt
plugin has already imported PySide6 before any test runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent

CHECK = """
import importlib, pkgutil, sys
import bigsync_gui.connectors, bigsync_gui.core
for package in (bigsync_gui.core, bigsync_gui.connectors):
    for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
sys.path.insert(0, sys.argv[1])
for name in sys.argv[2:]:  # the core unit tests and their fakes: Qt-free too
    importlib.import_module(name)
print(" ".join(sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))))
"""


def test_importing_every_core_and_connectors_module_and_their_unit_tests_pulls_in_no_qt() -> None:
    tests = sorted(p.stem for p in HERE.glob("test_core_*.py")) + ["fakes"]
    done = subprocess.run([sys.executable, "-c", CHECK, str(HERE), *tests], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
