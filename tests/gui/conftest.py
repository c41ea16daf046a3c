"""The GUI tests' sessions run the sync loop in a thread of the test process: their keyrings live
in the test's memory, which a child process cannot read. The child process itself (the app's
default, gui/process_runner.py) is tested on a file keyring: tests/gui/test_tray_sync_process.py and
the real-tray test (tests/e2e/test_real_tray.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def loop_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bigsync_gui.gui.session.LOOP_IN_CHILD", False)
