"""Run blocking work (network, keyring, SQLite) off the GUI thread; results come back as signals.

A :class:`Task` is a QObject living on the GUI thread; the callable runs on Qt's global thread
pool and the task's ``done``/``failed`` signals are delivered back on the GUI thread (queued
connection), so slots may touch widgets. Keep a reference until it finishes (``tasks`` does).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from ..core.problems import code_of, is_typed

log = logging.getLogger(__name__)
_running: set[Task] = set()


class Task(QObject):
    done = Signal(object)
    failed = Signal(object)  # the exception
    _result = Signal(bool, object)  # emitted on the pool thread, received (queued) on the GUI thread

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._fn = fn
        self.finished = False
        self._result.connect(self._deliver)  # receiver lives on the GUI thread: a queued connection

    def start(self) -> Task:
        _running.add(self)
        task = self

        def tell(ok: bool, value: Any) -> None:
            try:
                task._result.emit(ok, value)
            except RuntimeError:  # its parent (a page, the wizard) was deleted meanwhile: no one to tell
                log.debug("background task finished after its owner was closed")
                _running.discard(task)

        class _Runnable(QRunnable):
            def run(self) -> None:  # noqa: D102 - runs on a pool thread
                try:
                    result = task._fn()
                except Exception as exc:  # every failure reaches the GUI as a signal, never a crash
                    if is_typed(exc):  # ours: the page says it in a sentence
                        log.debug("background task failed: %s", code_of(exc))
                    else:  # a bug: the page says "something unexpected", the log keeps where it happened
                        log.warning("background task failed unexpectedly", exc_info=exc)
                    tell(False, exc)
                else:
                    tell(True, result)

        QThreadPool.globalInstance().start(_Runnable())
        return self

    @Slot(bool, object)
    def _deliver(self, ok: bool, value: Any) -> None:
        self.finished = True
        (self.done if ok else self.failed).emit(value)
        _running.discard(self)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[Exception], None],
    parent: QObject | None = None,
) -> Task:
    task = Task(fn, parent)
    task.done.connect(on_done)
    task.failed.connect(on_error)
    return task.start()
