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


def test_work_that_outlives_its_owner_ends_quietly(qtbot) -> None:
    """The wizard (or a page) closes while its background work still runs: when the work ends there
    is no one to tell, and that is not an error in the Qt event loop (pytest-qt fails the test if it is)."""
    from PySide6.QtWidgets import QWidget

    from bigsync_gui.gui import worker

    owner = QWidget()
    started, finish = threading.Event(), threading.Event()
    delivered: list[object] = []

    def slow() -> str:
        started.set()
        assert finish.wait(10)
        return "late"

    task = run_in_background(slow, delivered.append, delivered.append, parent=owner)
    assert started.wait(10)
    owner.deleteLater()
    qtbot.waitUntil(lambda: not _alive(owner), timeout=5000)
    finish.set()
    qtbot.waitUntil(lambda: task not in worker._running, timeout=5000)
    assert delivered == []


def _alive(obj) -> bool:
    from shiboken6 import isValid

    return isValid(obj)
