"""The tray with its sync loop in a child process (gui/process_runner.py), as the installed app
runs it: a real `bigsync-gui run --events` child on a file keyring, against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keyring
import pytest
import requests
from configured_profile import configure_profile, file_keyring_env, use_file_keyring, win_opportunities
from PySide6.QtCore import Qt

from bigsync_gui.core.problems import SyncState
from bigsync_gui.gui import process_runner
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.process_runner import ProcessRunner
from bigsync_gui.gui.session import DesktopSession


@pytest.fixture
def child_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Secrets in a keyring file the child reads too; the loop in a child, as outside the tests."""
    previous = keyring.get_keyring()
    home = tmp_path / "home"
    use_file_keyring(home)
    for name, value in file_keyring_env(home).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("bigsync_gui.gui.session.LOOP_IN_CHILD", True)
    yield home
    keyring.set_keyring(previous)


def projects(sandbox) -> list[dict]:
    return requests.get(sandbox.bigtime_admin_url + "/records/project", timeout=10).json()


def sync_children() -> list[int]:
    """This process's children running `run --events`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == os.getpid() and b"--events" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):  # not a process, or one that just ended
            continue
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_tray_shows_what_the_sync_process_does(qtbot, sandbox, child_keyring, tmp_path) -> None:
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    profile = configure_profile(sandbox, tmp_path / "p")
    session = DesktopSession(SetupContext(profile), use_tray=False)
    try:
        assert session.start()
        win = session.window
        qtbot.addWidget(win)
        qtbot.waitUntil(lambda: session.model.last_sync_at is not None, timeout=30000)
        runner = session.runner
        assert isinstance(runner, ProcessRunner) and runner.pid and runner.pid != os.getpid()
        qtbot.waitUntil(lambda: session.model.state is SyncState.IDLE, timeout=15000)
        assert win.status_line.text() == "Last sync just now · up to date"
        assert session.model.triggers.startswith("Checks every ")  # told by the child, not read here

        before = len(projects(sandbox))
        win_opportunities(sandbox.salesforce_admin_url, 2)
        count = len(session.notifications)
        qtbot.mouseClick(win.sync_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(session.notifications) > count, timeout=30000)
        assert session.notifications[-1].title == "2 new projects"
        qtbot.waitUntil(lambda: session.model.state is SyncState.IDLE, timeout=15000)
        assert win.status_line.text() == "Last sync just now · 2 projects created, 2 opportunities updated"
        assert len(projects(sandbox)) == before + 2

        with qtbot.waitSignal(runner.waiting, timeout=15000, check_params_cb=lambda s, f: s == float("inf")):
            qtbot.mouseClick(win.pause_button, Qt.MouseButton.LeftButton)
            runner.sync_now()  # woken while paused: the child waits for Resume
        assert session.model.state is SyncState.PAUSED and runner.paused
        with qtbot.waitSignal(runner.cycle_started, timeout=15000):
            qtbot.mouseClick(win.pause_button, Qt.MouseButton.LeftButton)  # Resume
        pid = runner.pid
    finally:
        session.shutdown()
    assert not session.runner.running and not alive(pid)  # Quit ends the child too


def test_a_killed_sync_process_is_told_and_started_again_without_duplicates(
    qtbot, sandbox, child_keyring, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(process_runner, "RESTART_FIRST_SECONDS", 1)
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    profile = configure_profile(sandbox, tmp_path / "p")
    session = DesktopSession(SetupContext(profile), use_tray=False)
    try:
        assert session.start()
        qtbot.addWidget(session.window)
        runner = session.runner
        qtbot.waitUntil(lambda: session.model.last_sync_at is not None, timeout=30000)
        before = len(projects(sandbox))
        win_opportunities(sandbox.salesforce_admin_url, 3)
        first = runner.pid
        with qtbot.waitSignal(runner.progress, timeout=30000):
            runner.sync_now()
        os.kill(first, 9)  # in the cycle that makes the three projects (or just after it)
        with qtbot.waitSignal(runner.problem, timeout=15000) as told:
            pass
        assert told.args[0].code == "Unexpected" and "sync process crashed" in told.args[0].detail
        qtbot.waitUntil(lambda: session.model.state is SyncState.ERROR, timeout=5000)
        qtbot.waitUntil(lambda: runner.pid not in (0, first), timeout=15000)  # started again on its own
        qtbot.waitUntil(lambda: session.model.state is SyncState.IDLE, timeout=30000)
        runner.sync_now()  # whatever the killed cycle left is done now
        qtbot.waitUntil(lambda: session.model.state is SyncState.SYNCING, timeout=15000)
        qtbot.waitUntil(lambda: session.model.state is SyncState.IDLE, timeout=30000)
        assert len(projects(sandbox)) == before + 3  # none twice, none missed
    finally:
        session.shutdown()


def test_the_tray_process_never_loads_the_engine(sandbox, child_keyring, tmp_path) -> None:
    """With the loop in the child, the tray's own process keeps Qt and the status only, also after
    cycles ran: no engine, HTTP stack, keyring, sqlite, or OpenSSL through hashlib (the tray
    benchmark's memory figure)."""
    profile = configure_profile(sandbox, tmp_path / "p")
    code = f"""
import sys
from PySide6.QtCore import QTimer
from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.context import SetupContext
from bigsync_gui.gui.session import DesktopSession
app = make_app()
session = DesktopSession(SetupContext(Profile.at({str(profile.config_dir.parent)!r})), use_tray=False)
session.start()
def check():
    if session.model.last_sync_at is not None and session.model.triggers:
        app.quit()
poll = QTimer(); poll.timeout.connect(check); poll.start(50)
QTimer.singleShot(60000, app.quit)
app.exec()
session.shutdown()
print(session.model.last_sync_at is not None)
print(sorted(m for m in ('requests', 'urllib3', 'oauthlib', 'keyring', 'sqlite3', 'ssl', 'hashlib', 'plistlib',
                         'bigsync_gui.core.engine', 'bigsync_gui.core.store') if m in sys.modules))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split("\n")[:2] == ["True", "[]"], out.stdout + out.stderr[-3000:]


def test_save_in_the_wizard_starts_one_sync_process_at_once(
    qtbot, sandbox, child_keyring, tmp_path, monkeypatch
) -> None:
    """Save (signed in without the embedded browser, so no restart): the sync process starts with
    the window and syncs at once; the view coming up does not start a second one."""
    profile = configure_profile(sandbox, tmp_path / "p")
    session = DesktopSession(SetupContext(profile), use_tray=False)
    monkeypatch.setattr(DesktopSession, "webengine_loaded", staticmethod(lambda: False))
    reports: list = []
    try:
        session._on_saved()
        session.runner.cycle_finished.connect(reports.append)
        qtbot.addWidget(session.window)
        qtbot.waitUntil(lambda: any(r.kind == "trigger" for r in reports), timeout=30000)
        children = sync_children()
        assert children == [session.runner.pid]
    finally:
        session.shutdown()


def test_a_saved_setting_applies_at_once_in_the_sync_process(qtbot, sandbox, child_keyring, tmp_path) -> None:
    """The schedule saved in Settings (an hour → 5 minutes): a cycle runs now and the wait after it
    is the new interval, instead of the rest of the old hour."""
    from bigsync_gui.core.settings import Settings

    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    profile = configure_profile(sandbox, tmp_path / "p", interval_seconds=3600)
    session = DesktopSession(SetupContext(profile), use_tray=False)
    try:
        assert session.start()
        qtbot.addWidget(session.window)
        runner = session.runner
        with qtbot.waitSignal(runner.waiting, timeout=30000, check_params_cb=lambda s, f: s > 3000):
            pass
        session.open_settings()
        window = session.settings_window
        qtbot.addWidget(window)
        window.interval.setValue(5)  # Settings › Schedule: check every 5 min
        with qtbot.waitSignal(runner.waiting, timeout=30000, check_params_cb=lambda s, f: s <= 300) as waited:
            qtbot.mouseClick(window.save_schedule, Qt.MouseButton.LeftButton)
        assert Settings.load(profile).sync.interval_seconds == 300
        assert window.schedule_status.text() == "Saved: it applies from now on."
        assert waited.args[1] == 0
    finally:
        session.shutdown()


def fake_child(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """The runner starts ``script`` (Python) instead of `run --events`."""
    monkeypatch.setattr(process_runner, "sync_command", lambda profile_dir, paused: [sys.executable, "-c", script])


def test_a_child_that_tells_why_it_ends_is_not_also_called_a_crash(qtbot, monkeypatch, caplog) -> None:
    """The child's own problem (here: the settings cannot be read) is the one the tray shows; its
    exit then only schedules a new start (5 s, then 10 s …), without a second "crashed" problem.
    A line that is not an event is logged and skipped."""
    line = '{"event":"problem","code":"ConfigInvalid","system":null,"detail":"The settings file is not valid JSON."}'
    fake_child(monkeypatch, f"import sys; print('a stray line'); print({line!r}, flush=True); sys.exit(1)")
    runner = ProcessRunner(None)
    problems: list = []
    waits: list = []
    runner.problem.connect(problems.append)
    runner.waiting.connect(lambda s, f: waits.append((s, f)))
    try:
        runner.start()
        qtbot.waitUntil(lambda: bool(waits), timeout=15000)
        assert [(p.code, p.detail) for p in problems] == [("ConfigInvalid", "The settings file is not valid JSON.")]
        assert waits == [(5.0, 1)] and not runner.running
        assert any("not a line of the sync process: 'a stray line" in r.getMessage() for r in caplog.records)
    finally:
        runner.stop()


def test_restarts_back_off_and_a_good_cycle_resets_them(qtbot, monkeypatch) -> None:
    fake_child(monkeypatch, "import sys; sys.exit(7)")
    monkeypatch.setattr(process_runner, "RESTART_FIRST_SECONDS", 0.05)
    runner = ProcessRunner(None)
    waits: list = []
    problems: list = []
    runner.waiting.connect(lambda s, f: waits.append((round(s, 2), f)))
    runner.problem.connect(problems.append)
    try:
        runner.start()
        qtbot.waitUntil(lambda: len(waits) >= 3, timeout=15000)
        assert waits[:3] == [(0.05, 1), (0.1, 2), (0.2, 3)]
        assert "ended (exit code 7) unexpectedly" in problems[0].detail
        runner.stop()
        report = '{"event":"report","report":{"cycle_id":1,"kind":"trigger","result":"ok","message":""}}'
        fake_child(monkeypatch, f"import sys; print({report!r}, flush=True); sys.exit(7)")
        waits.clear()
        runner.start()
        qtbot.waitUntil(lambda: bool(waits), timeout=15000)
        assert waits[0] == (0.05, 1)  # a cycle got through: the count starts afresh
    finally:
        runner.stop()
