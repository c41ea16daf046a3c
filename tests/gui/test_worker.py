"""Background work reports back on the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from bigsync_gui.gui.worker import run_in_background


def test_result_and_error_arrive_on_the_gui_thread(qtbot) -> None:
    gui_thread = QThread.currentThread()
    seen: dict[str, object] = {}

    def work() -> int:
        seen["worker_thread"] = threading.current_thread().name
        return 42

    def on_done(value: int) -> None:
        seen["value"], seen["thread_ok"] = value, QThread.currentThread() is gui_thread

    task = run_in_background(work, on_done, lambda exc: None)
    qtbot.waitUntil(lambda: "value" in seen, timeout=5000)
    assert seen["value"] == 42 and seen["thread_ok"] is True
    assert seen["worker_thread"] != threading.main_thread().name
    assert task.finished

    errors: list[Exception] = []

    def boom() -> None:
        raise ValueError("no")

    run_in_background(boom, lambda v: None, lambda exc: errors.append((exc, QThread.currentThread() is gui_thread)))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    exc, on_gui = errors[0]
    assert isinstance(exc, ValueError) and on_gui is True
