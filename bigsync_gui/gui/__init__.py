"""The desktop GUI: setup wizard, embedded sign-in browser, tray, activity and settings windows. A thin
client of core/: no network I/O on the GUI thread — work runs in a worker and comes back through Qt signals."""
from . import qt_fixes  # noqa: F401  (PySide6 6.12.0 signal-emit refcount bug: see qt_fixes)
