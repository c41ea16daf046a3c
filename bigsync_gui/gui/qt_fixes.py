"""Work-arounds for defects of the Qt for Python build in use, each probed at import and applied
only where the defect is present (a fixed PySide6 is left untouched).

``SignalInstance.emit`` returns ``True`` without taking a reference (PySide6 6.12.0): every
``signal.emit(...)`` made from Python takes one reference away from ``True``. A busy session
(worker results, progress, ``completeChanged``) runs the count down to zero and the interpreter
aborts with "Fatal Python error: bool_dealloc: deallocating True or False" — mid-session or at exit.

Wrapping ``emit`` is not an option: PySide connects ``a.connect(b.emit)`` as signal-to-signal only
for its own method, and a Python wrapper breaks that. Instead ``True`` and ``False`` get 2**40 spare
references — what Python 3.12 does for them anyway ("immortal objects"): they are never freed,
so extra references cost nothing, and at 10 000 emits a second the spare lasts for years.

Import this module once, early (the ``bigsync_gui.gui`` modules that emit signals import it).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

SPARE_REFERENCES = 1 << 40
PROBES = 8


class _Probe(QObject):
    ping = Signal()


def emit_takes_a_reference_from_true() -> bool:
    """Whether ``emit`` loses a reference to True (what it took is given back)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        _add_references(True, lost)
    return lost >= PROBES


def _add_references(obj: object, count: int) -> None:
    # CPython: ob_refcnt is the object's first field (a Py_ssize_t at id(obj)).
    refcount = ctypes.c_ssize_t.from_address(id(obj))
    refcount.value += count


def _install() -> bool:
    if sys.implementation.name != "cpython" or sys.getrefcount(True) > SPARE_REFERENCES // 2:
        return sys.getrefcount(True) > SPARE_REFERENCES // 2  # already done (or not CPython)
    if not emit_takes_a_reference_from_true():
        return False
    _add_references(True, SPARE_REFERENCES)
    _add_references(False, SPARE_REFERENCES)
    return True


APPLIED = _install()

__all__ = ["APPLIED", "emit_takes_a_reference_from_true"]
