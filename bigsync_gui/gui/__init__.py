"""The desktop GUI: setup wizard, embedded sign-in browser, tray, activity and settings windows. A thin
client of core/: no network I/O on the GUI thread — work runs in a worker and comes back through Qt signals."""
