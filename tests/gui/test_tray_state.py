"""The tray's state machine, offscreen: typed errors → states and sentences, the icon changing only
with the state, the menu, notifications told once, and the loop behind it (coalesced "Sync now",
pause, backoff with the next try time) driven by a fake engine whose cycles the test releases."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from bigsync_gui.connectors.errors import NotConnected
from bigsync_gui.core.cadence import TriggerInterval
from bigsync_gui.core.engine import CycleReport
from bigsync_gui.core.loop import next_wait
from bigsync_gui.gui.runner import LoopRunner
from bigsync_gui.core.problems import problem_of
from bigsync_gui.gui.state import FixAction, Notification, StatusModel, SyncState
from bigsync_gui.gui.tray import TrayIcon

RECONNECT = "Salesforce needs you to sign in again: the saved sign-in was revoked, expired or replaced."
OFFLINE = "BigTime could not be reached (connection refused). Check the network connection; the sync will try again."


def report(
    result: str = "ok",
    *,
    kind: str = "trigger",
    created: int = 0,
    rejected: int = 0,
    error: str = "",
    message: str = "",
    written: int = 0,
    system: str = "",
) -> CycleReport:
    if not system:  # the service a failed cycle's error is about, as the engine records it
        system = (
            "salesforce" if message.startswith("Salesforce") else "bigtime" if message.startswith("BigTime") else ""
        )
    return CycleReport(
        1, kind, result, message, created=created, rejected=rejected, error=error, written=written, system=system
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


# ---- typed errors → one state, one sentence, one fixing action --------------------------------------
@pytest.mark.parametrize(
    "error, message, state, headline, fix",
    [
        (
            "ReconnectNeeded",
            RECONNECT,
            SyncState.ATTENTION,
            "Salesforce needs you to sign in again",
            FixAction("Reconnect Salesforce…", "salesforce"),
        ),
        (
            "ReconnectNeeded",
            "BigTime needs you to sign in again: key revoked",
            SyncState.ATTENTION,
            "BigTime needs you to sign in again",
            FixAction("Reconnect BigTime…", "bigtime"),
        ),
        (
            "NotConnected",
            "BigTime is not connected yet: run …",
            SyncState.ATTENTION,
            "BigTime is not connected",
            FixAction("Connect BigTime…", "bigtime"),
        ),
        (
            "PickStageAgain",
            "The trigger stage 'Closed Won' was deactivated.",
            SyncState.ATTENTION,
            "Pick the trigger stage again",
            FixAction("Pick the trigger stage…", "stage"),
        ),
        ("Offline", OFFLINE, SyncState.OFFLINE, "Can't reach BigTime", None),
        (
            "RateLimited",
            "Salesforce is limiting requests (HTTP 429); next try in 120 s.",
            SyncState.ERROR,
            "Salesforce asked to slow down",
            None,
        ),
        (
            "ServiceUnavailable",
            "BigTime answered HTTP 503 repeatedly",
            SyncState.ERROR,
            "BigTime is having trouble",
            None,
        ),
        (
            "ApiBudgetSpent",
            "Today's Salesforce API budget is used up (…)",
            SyncState.ERROR,
            "Today's Salesforce API budget is used up",
            None,
        ),
        (
            "AlreadyRunning",
            "Another copy of BigSync is syncing this setup right now",
            SyncState.ERROR,
            "Another copy is syncing this setup",
            None,
        ),
        ("SomethingNew", "It broke.", SyncState.ERROR, "The last sync failed", None),
    ],
)
def test_each_typed_error_maps_to_one_state(error, message, state, headline, fix) -> None:
    system = "salesforce" if message.startswith("Salesforce") else "bigtime" if message.startswith("BigTime") else None
    problem = problem_of(error, system, message)
    assert (problem.state, problem.headline) == (state, headline)
    model = StatusModel()
    model.cycle_started()
    model.cycle_finished(report("failed", error=error, message=message))
    model.waiting(30, 1)
    assert model.state is state
    assert model.fix == (fix if state is SyncState.ATTENTION else None)
    assert model.status_line().startswith(headline)
    assert message in model.tooltip()


def test_status_lines() -> None:
    clock = Clock()
    model = StatusModel(clock)
    assert model.state is SyncState.IDLE and model.status_line() == "Not synced yet"
    model.cycle_started()
    assert model.state is SyncState.SYNCING and model.status_line() == "Syncing…"
    model.progress(120, 400)
    assert model.status_line() == "Syncing… 120 of 400"
    model.cycle_finished(report(created=3))
    model.waiting(300, 0)
    assert model.state is SyncState.IDLE
    clock.now += 130
    assert model.status_line() == "Last sync 2 min ago · 3 projects created"
    model.cycle_started()
    model.cycle_finished(report())
    model.waiting(300, 0)
    assert model.status_line() == "Last sync just now · up to date"
    model.set_paused(True)
    assert model.state is SyncState.PAUSED and model.status_line() == "Syncing paused"


def test_a_wait_for_the_rate_limit_is_shown_while_syncing() -> None:
    clock = Clock()
    model = StatusModel(clock)
    model.cycle_started()
    model.progress(30, 200)
    model.rate_waiting("bigtime", 118)
    assert model.state is SyncState.SYNCING
    assert model.status_line() == "Waiting for BigTime's rate limit — about 2 min"
    clock.now += 80
    assert model.status_line() == "Waiting for BigTime's rate limit — about 38 s"
    model.rate_waiting("bigtime", 0)
    assert model.status_line() == "Syncing… 30 of 200"
    model.rate_waiting("bigtime", 50)
    clock.now += 51  # over, even if the end was not told
    assert model.status_line() == "Syncing… 30 of 200"


def test_backoff_is_a_state_with_the_next_try_time() -> None:
    clock = Clock()
    model = StatusModel(clock)
    model.cycle_started()
    model.cycle_finished(report("failed", error="ServiceUnavailable", message="BigTime answered HTTP 503 repeatedly"))
    model.waiting(next_wait(300, 1), 1)
    from datetime import datetime

    expected = datetime.fromtimestamp(clock.now + 30).strftime("%H:%M")
    assert model.state is SyncState.ERROR
    assert model.status_line() == f"BigTime is having trouble · next try at {expected}"
    # An attention state needs the admin, not a time.
    model.cycle_started()
    model.cycle_finished(report("failed", error="ReconnectNeeded", message=RECONNECT))
    model.waiting(next_wait(300, 2), 2)
    assert model.status_line() == "Salesforce needs you to sign in again"


def test_backoff_sequence() -> None:
    assert [next_wait(300, n) for n in range(6)] == [300, 30, 60, 120, 240, 480]
    assert next_wait(300, 20) == 1800


def one_round(model: StatusModel, *reports, start_failed=None):
    """A round of the loop: its cycles (and a failure to start), then its one notification."""
    model.cycle_started()
    for r in reports:
        model.cycle_finished(r)
    if start_failed:
        model.start_failed(problem_of(*start_failed))
    note = model.round_notification()
    model.waiting(30, 0)
    return note


def test_one_notification_per_round_says_everything_once() -> None:
    model = StatusModel()
    note = one_round(model, report(created=3))
    assert (note.title, note.severity, note.fix) == ("3 new projects", "info", None)
    assert one_round(model, report(created=1)).title == "1 new project"
    assert one_round(model, report()) is None  # nothing new: no balloon

    # Created and refused in the same round, with a write-back failure: one balloon for all.
    failing_writeback = report(
        "failed", kind="writeback", error="ServiceUnavailable", message="Salesforce answered HTTP 503"
    )
    note = one_round(model, report("partial", created=2, rejected=1), failing_writeback)
    assert note.title == "2 new projects · 1 could not be synced · Salesforce is having trouble"
    assert (note.severity, note.problems, note.message) == ("error", True, "Click to see why in Activity.")
    # The same refusal and the same problem next round: told once, not every cycle.
    assert one_round(model, report("partial", rejected=1), failing_writeback) is None

    failing = report("failed", error="ReconnectNeeded", message=RECONNECT)
    note = one_round(model, failing)
    assert note.title == "Salesforce needs you to sign in again"
    assert note.fix.label == "Reconnect Salesforce…" and note.message == "Click to reconnect Salesforce."
    assert one_round(model, failing) is None and one_round(model, failing) is None  # not every cycle
    other = one_round(
        model, start_failed=("AlreadyRunning", None, "Another copy of BigSync is syncing this setup right now")
    )
    assert other.title == "Another copy is syncing this setup"  # a new problem is told
    one_round(model, report())  # fixed…
    assert one_round(model, failing).title == "Salesforce needs you to sign in again"  # …broken again: told again

    one_round(model, report())
    assert one_round(model, report("failed", error="Offline", message=OFFLINE)) is None  # the icon says it
    assert model.state is SyncState.OFFLINE

    note = one_round(model, report("partial", rejected=2))
    assert (note.title, note.severity, note.problems) == ("2 opportunities could not be synced", "warning", True)


def test_notifications_never_carry_service_text() -> None:
    model = StatusModel()
    note = one_round(
        model,
        report(
            "failed", error="ServiceUnavailable", message="BigTime answered HTTP 500: <b>Boom</b> & <script>x</script>"
        ),
    )
    assert note and "<" not in note.title + note.message


def test_writeback_problem_does_not_hide_behind_a_good_trigger_cycle() -> None:
    model = StatusModel()
    model.cycle_started()
    model.cycle_finished(report())
    model.cycle_finished(
        report("failed", kind="writeback", error="ServiceUnavailable", message="Salesforce answered HTTP 503")
    )
    model.waiting(30, 1)
    assert model.state is SyncState.ERROR
    model.cycle_started()
    model.cycle_finished(report())  # the next trigger cycle is fine, the write-back was not due
    model.waiting(300, 0)
    assert model.state is SyncState.ERROR
    model.cycle_finished(report(kind="writeback", written=4))
    assert model.state is SyncState.IDLE


def test_seed_from_the_last_stored_cycle() -> None:
    model = StatusModel(Clock())
    model.seed({"result": "ok", "ended_at": "2023-11-14T22:10:20+00:00", "created": 2, "written": 0, "rejected": 0})
    assert model.last_sync_at is not None and model.summary() == "2 projects created"


# ---- the tray icon (offscreen: the QSystemTrayIcon exists, there is just no tray to show it in) ----
def test_icon_changes_only_when_the_state_does(qtbot) -> None:
    model = StatusModel()
    tray = TrayIcon(model)
    assert tray.shown_state is SyncState.IDLE and tray.icon_changes == 1
    model.cycle_started()
    tray.refresh()
    for done in range(1, 50):
        model.progress(done, 49)
        tray.refresh()
    assert tray.shown_state is SyncState.SYNCING and tray.icon_changes == 2
    assert "Syncing… 49 of 49" in tray.tray.toolTip()
    model.cycle_finished(report(created=1))
    model.waiting(300, 0)
    tray.refresh()
    tray.refresh()
    assert tray.shown_state is SyncState.IDLE and tray.icon_changes == 3
    assert not tray.tray.icon().isNull()


def test_icons_exist_for_every_state_and_panel(qapp) -> None:
    from bigsync_gui.gui.tray import state_icon

    for state in SyncState:
        for variant in ("light", "dark"):
            icon = state_icon(state, variant)
            assert not icon.isNull() and not icon.pixmap(22, 22).isNull(), (state, variant)


def test_menu_rebuilt_on_show_with_the_fixing_action_on_top(qtbot) -> None:
    model = StatusModel()
    enabled = {"on": False}
    tray = TrayIcon(model, autostart_enabled=lambda: enabled["on"])
    tray.rebuild_menu()
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts == ["Not synced yet", "Sync now", "Pause syncing", "Activity…", "Settings…", "Start at login", "Quit"]
    assert not tray.menu.actions()[0].isEnabled()  # the status line is not clickable

    model.cycle_finished(report("failed", error="ReconnectNeeded", message=RECONNECT))
    model.waiting(30, 1)
    tray.menu.aboutToShow.emit()  # as when the admin opens it
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts[:2] == ["Salesforce needs you to sign in again", "Reconnect Salesforce…"]
    with qtbot.waitSignal(tray.fix_requested) as fixed:
        tray.action("Reconnect Salesforce…").trigger()
    assert fixed.args == ["salesforce"]

    with qtbot.waitSignal(tray.sync_requested):
        tray.action("Sync now").trigger()
    with qtbot.waitSignal(tray.pause_requested):
        tray.action("Pause syncing").trigger()
    model.set_paused(True)
    tray.rebuild_menu()
    assert not tray.action("Sync now").isEnabled()
    with qtbot.waitSignal(tray.resume_requested):
        tray.action("Resume syncing").trigger()
    with qtbot.waitSignal(tray.autostart_toggled) as toggled:
        tray.action("Start at login").trigger()
    assert toggled.args == [True]
    with qtbot.waitSignal(tray.quit_requested):
        tray.action("Quit").trigger()


def test_menu_text_from_a_service_is_plain(qtbot) -> None:
    model = StatusModel()
    tray = TrayIcon(model)
    model.cycle_finished(report("failed", error="Weird", message="R&D <b>team</b>"))
    tray.rebuild_menu()
    assert tray.menu.actions()[0].text() == "The last sync failed"
    # The message itself reaches only the tooltip, whose first line (ours) keeps Qt in plain text.
    assert tray.tray.toolTip().splitlines()[0] == "BigSync"
    assert "R&D <b>team</b>" in tray.tray.toolTip()


def test_clicking_a_notification_does_what_it_says(qtbot) -> None:
    tray = TrayIcon(StatusModel())
    tray.notify(Notification("3 new projects", "Click to see them in Activity.", "info"))
    with qtbot.waitSignal(tray.activity_requested):
        tray.tray.messageClicked.emit()
    tray.notify(
        Notification("2 opportunities could not be synced", "Click to see why in Activity.", "warning", problems=True)
    )
    with qtbot.waitSignal(tray.problems_requested):
        tray.tray.messageClicked.emit()
    fix = FixAction("Reconnect Salesforce…", "salesforce")
    tray.notify(Notification("Salesforce needs you to sign in again", "Click to reconnect Salesforce.", "warning", fix))
    with qtbot.waitSignal(tray.fix_requested) as blocker:
        tray.tray.messageClicked.emit()
    assert blocker.args == ["salesforce"]


# ---- the loop behind the tray: a fake engine whose cycles the test releases ------------------------
@dataclass
class FakeEngine:
    results: list = field(default_factory=lambda: [report()])
    interval: int = 3600
    gate: threading.Event = field(default_factory=threading.Event)
    calls: int = 0
    active: int = 0
    max_active: int = 0
    rate_waits: list = field(default_factory=list)  # (system, seconds) told to on_wait in each cycle

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        sync = SimpleNamespace(interval_seconds=self.interval, writeback_interval_seconds=10**12)
        self.connector = SimpleNamespace(settings=lambda: SimpleNamespace(sync=sync))

    def trigger_interval(self) -> TriggerInterval:
        return TriggerInterval(self.interval, "set")

    def salesforce_client(self) -> None:
        """Not connected to Salesforce: the runner's loop goes without the change stream (polls)."""
        raise NotConnected("salesforce", "Salesforce is not connected in this test.")

    def run_cycle(self, cancel=None, progress=None, on_wait=None):  # noqa: ANN001
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            n = self.calls
        try:
            self.gate.wait(30)
            for system, seconds in self.rate_waits:
                on_wait(system, seconds)
            if progress:
                progress(1, 2)
                progress(2, 2)
            result = self.results[min(n, len(self.results)) - 1]
            if isinstance(result, Exception):
                raise result
            return result
        finally:
            with self._lock:
                self.active -= 1

    def run_writeback_cycle(self, cancel=None, on_wait=None):  # noqa: ANN001
        raise AssertionError("not due in these tests")


@pytest.fixture
def loop(qtbot):
    runners = []

    def make(engine: FakeEngine):
        runner = LoopRunner(engine)  # type: ignore[arg-type]
        waits: list[tuple[float, int]] = []
        runner.waiting.connect(lambda seconds, failures: waits.append((seconds, failures)))
        runners.append(runner)
        return runner, waits

    yield make
    for runner in runners:
        runner.stop()


def test_sync_now_during_a_cycle_is_one_follow_up_never_parallel(qtbot, loop) -> None:
    engine = FakeEngine()
    runner, waits = loop(engine)
    runner.start()
    qtbot.waitUntil(lambda: engine.calls == 1)
    for _ in range(3):
        runner.sync_now()  # the admin clicks three times while the cycle runs
    engine.gate.set()
    qtbot.waitUntil(lambda: len(waits) == 2)  # the cycle, its one follow-up, then the interval wait
    assert engine.calls == 2 and engine.max_active == 1
    assert waits[-1] == (3600, 0)
    runner.sync_now()  # idle: runs at once
    qtbot.waitUntil(lambda: len(waits) == 3)
    assert engine.calls == 3 and engine.max_active == 1


def test_pause_and_resume(qtbot, loop) -> None:
    engine = FakeEngine()
    engine.gate.set()
    runner, waits = loop(engine)
    runner.start()
    qtbot.waitUntil(lambda: len(waits) == 1)
    runner.pause()
    runner.sync_now()  # woken while paused: the loop looks, stays paused
    qtbot.waitUntil(lambda: len(waits) == 2)
    assert math.isinf(waits[-1][0]) and engine.calls == 1 and runner.paused
    runner.sync_now()
    qtbot.waitUntil(lambda: len(waits) == 3)
    assert engine.calls == 1
    with qtbot.waitSignal(runner.cycle_started):
        runner.resume()  # resuming syncs at once
    qtbot.waitUntil(lambda: len(waits) == 4)
    assert engine.calls == 2 and waits[-1] == (3600, 0)


def test_backoff_after_failures_and_reset_after_success(qtbot, loop) -> None:
    failed = report("failed", error="ServiceUnavailable", message="BigTime answered HTTP 503 repeatedly")
    engine = FakeEngine(results=[failed, failed, report()])
    engine.gate.set()
    runner, waits = loop(engine)
    reports: list[CycleReport] = []
    runner.cycle_finished.connect(reports.append)
    runner.start()
    qtbot.waitUntil(lambda: len(waits) == 1)
    assert waits == [(30.0, 1)]
    runner.sync_now()  # the admin does not wait for the backoff
    qtbot.waitUntil(lambda: len(waits) == 2)
    assert waits[-1] == (60.0, 2)
    runner.sync_now()
    qtbot.waitUntil(lambda: len(waits) == 3)
    assert waits[-1] == (3600, 0) and [r.result for r in reports] == ["failed", "failed", "ok"]


def test_a_cycle_that_cannot_start_is_a_problem_with_backoff(qtbot, loop) -> None:
    from bigsync_gui.core.errors import AlreadyRunning

    engine = FakeEngine(results=[AlreadyRunning("Another copy of BigSync is syncing this setup right now.")])
    engine.gate.set()
    runner, waits = loop(engine)
    problems: list = []
    runner.problem.connect(problems.append)
    runner.start()
    qtbot.waitUntil(lambda: len(waits) == 1)
    assert problems[0].code == "AlreadyRunning" and waits == [(30.0, 1)]


def test_progress_reaches_the_gui(qtbot, loop) -> None:
    engine = FakeEngine()
    engine.gate.set()
    runner, waits = loop(engine)
    seen: list[tuple[int, int]] = []
    runner.progress.connect(lambda done, total: seen.append((done, total)))
    runner.start()
    qtbot.waitUntil(lambda: len(waits) == 1)
    assert seen[-1] == (2, 2)


def test_rate_limit_waits_reach_the_gui_and_its_retry_after_is_waited(qtbot, loop) -> None:
    limited = CycleReport(
        1,
        "trigger",
        "failed",
        "BigTime is limiting requests (HTTP 503); next try in about 3 min.",
        error="RateLimited",
        retry_after=180.0,
    )
    engine = FakeEngine(results=[limited], rate_waits=[("bigtime", 60.0), ("bigtime", 0.0)])
    engine.gate.set()
    runner, waits = loop(engine)
    told: list[tuple[str, float]] = []
    runner.rate_wait.connect(lambda system, seconds: told.append((system, seconds)))
    runner.start()
    qtbot.waitUntil(lambda: len(waits) == 1)
    assert told == [("bigtime", 60.0), ("bigtime", 0.0)]
    assert waits == [(180.0, 1)]  # not the first backoff's 30 s: what BigTime needs


def test_stop_ends_the_loop(qtbot, loop) -> None:
    engine = FakeEngine()
    runner, waits = loop(engine)
    runner.start()
    qtbot.waitUntil(lambda: engine.calls == 1)
    with qtbot.waitSignal(runner.stopped, timeout=10000):
        threading.Thread(target=runner.stop, daemon=True).start()  # the cycle is stuck: stop cancels, waits ≤ 5 s
        engine.gate.set()
    qtbot.waitUntil(lambda: not runner.running)  # the thread ends right after it said so


# ---- the whole session against the sandbox (offscreen: no tray, so the status window) --------------
@pytest.fixture
def memory_keyring():
    import keyring

    from bigsync_gui.core.secrets import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


def test_session_syncs_notifies_once_and_offers_the_fix(qtbot, sandbox, memory_keyring, tmp_path, monkeypatch) -> None:
    from configured_profile import configure_profile, revoke_salesforce, win_opportunities

    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    profile = configure_profile(sandbox, tmp_path / "p")
    # Change Data Capture off: the wins below wait for Sync now, as this test means (with it on, the
    # change stream makes them projects at once: tests/integration/test_engine_streaming.py)
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    session = DesktopSession(SetupContext(profile))
    opened: list[object] = []
    monkeypatch.setattr(session, "open_wizard", lambda start_page=None: opened.append(start_page))
    try:
        assert session.start()
        win = session.window
        assert win is not None and session.tray is None  # offscreen has no tray: the status window
        qtbot.addWidget(win)
        qtbot.waitUntil(
            lambda: session.model.last_sync_at is not None and session.model.state is SyncState.IDLE, timeout=15000
        )
        assert win.status_line.text() == "Last sync just now · up to date"

        win_opportunities(sandbox.salesforce_admin_url, 2)
        count = len(session.notifications)
        qtbot.mouseClick(win.sync_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(session.notifications) > count, timeout=15000)
        assert session.notifications[-1].title == "2 new projects"
        qtbot.waitUntil(lambda: session.model.state is SyncState.IDLE, timeout=15000)
        # Sync now refreshes BigTime's figures too (issue 12.7): the new projects' figures are written
        assert win.status_line.text() == "Last sync just now · 2 projects created, 2 opportunities updated"

        revoke_salesforce(sandbox)
        qtbot.mouseClick(win.sync_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: session.model.state is SyncState.ATTENTION, timeout=15000)
        assert win.headline.text() == "Needs your attention" and win.fix_button.text() == "Reconnect Salesforce…"
        qtbot.waitUntil(
            lambda: [n.title for n in session.notifications].count("Salesforce needs you to sign in again") == 1,
            timeout=15000,
        )  # told when the round ends
        with qtbot.waitSignal(session.runner.waiting, timeout=15000):
            qtbot.mouseClick(win.sync_button, Qt.MouseButton.LeftButton)  # fails again: not told again
        assert [n.title for n in session.notifications].count("Salesforce needs you to sign in again") == 1
        qtbot.mouseClick(win.fix_button, Qt.MouseButton.LeftButton)
        assert opened == ["salesforce"]

        qtbot.mouseClick(win.pause_button, Qt.MouseButton.LeftButton)
        assert session.model.state is SyncState.PAUSED and win.headline.text() == "Paused"
        qtbot.waitUntil(lambda: session.runner.paused)

        win.autostart_box.click()
        assert (tmp_path / "xdg" / "autostart" / "bigsync-gui.desktop").exists()
    finally:
        session.shutdown()
    assert not session.runner.running


def test_the_tray_path_does_not_load_the_http_stack_before_the_icon_shows() -> None:
    """Cold start: the tray shows before the engine, requests and oauthlib are imported (they load
    off the GUI thread once the icon is in the tray). Guards the start-up benchmark's figure."""
    import subprocess
    import sys

    code = (
        "import sys, bigsync_gui.cli, bigsync_gui.gui.app, bigsync_gui.gui.session, bigsync_gui.gui.tray, "
        "bigsync_gui.gui.state, bigsync_gui.gui.single_instance, bigsync_gui.core.settings, bigsync_gui.core.store; "
        "bigsync_gui.cli.build_parser(); "  # its help texts once imported oauth for two default URIs
        "print(sorted(m for m in ('requests', 'oauthlib', 'keyring', 'bigsync_gui.core.engine', "
        "'PySide6.QtWebEngineWidgets', 'PySide6.QtNetwork') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_the_single_instance_socket_waits_for_the_icon(qtbot, tmp_path, monkeypatch) -> None:
    """The lock is taken at start; the socket a second launch rings (QtNetwork) comes once the icon
    has its place in the tray. Guards the start-up benchmark's figure. The network watch waits
    longer still: for a round that ends offline (the test after the next)."""
    from bigsync_gui.core.profile import Profile
    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession
    from bigsync_gui.gui.single_instance import SingleInstance

    profile = Profile.at(tmp_path / "p")
    session = DesktopSession(SetupContext(profile), use_tray=True)
    monkeypatch.setattr(session, "configured", lambda: True)
    monkeypatch.setattr(session, "start_loop", lambda: None)  # no engine for this profile
    watched: list[bool] = []
    monkeypatch.setattr(session, "_watch_network", lambda: watched.append(True))
    try:
        assert session.start() and session.tray is not None
        assert session.instance.server is None and watched == []
        assert not SingleInstance(profile).acquire()  # the lock is already taken
        session.tray.ready.emit()  # the icon is embedded
        assert session.instance.server is not None and watched == []
    finally:
        session.shutdown()


def test_catch_up_after_sleep_and_when_the_network_returns(qtbot, tmp_path) -> None:
    import time as clock

    from PySide6.QtNetwork import QNetworkInformation

    from bigsync_gui.core.profile import Profile
    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import CLOCK_TICK_MS, DesktopSession

    session = DesktopSession(SetupContext(Profile.at(tmp_path / "p")), use_tray=False)
    woken: list[bool] = []
    session._runner = SimpleNamespace(
        sync_now=lambda figures=True: woken.append(figures), stop=lambda: None, running=False
    )  # catching up: figures=False
    # An ordinary tick: nothing happens.
    session._last_tick = (clock.time() - CLOCK_TICK_MS / 1000, clock.monotonic() - CLOCK_TICK_MS / 1000)
    session._tick()
    assert woken == []
    # The machine slept 10 minutes: Linux's monotonic clock stood still, the wall clock did not.
    session._last_tick = (clock.time() - 600, clock.monotonic() - CLOCK_TICK_MS / 1000)
    session._tick()
    assert woken == [False]
    # Back online while offline: one catch-up; online while all is well: nothing.
    session.model.cycle_finished(report("failed", error="Offline", message=OFFLINE))
    session.model.waiting(30, 1)
    session._on_reachability(QNetworkInformation.Reachability.Online)
    assert woken == [False, False]
    session.model.cycle_finished(report())
    session._on_reachability(QNetworkInformation.Reachability.Online)
    assert woken == [False, False]
    # Paused: no catch-up.
    session.model.set_paused(True)
    session._last_tick = (clock.time() - 600, clock.monotonic() - 600)
    session._tick()
    assert woken == [False, False]
    session.shutdown()


def test_the_network_is_watched_only_once_a_service_was_out_of_reach(qtbot, tmp_path, monkeypatch) -> None:
    """The desktop's network backend (2.5 MB) loads the first time a round ends offline, not before."""
    from bigsync_gui.core.profile import Profile
    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession

    session = DesktopSession(SetupContext(Profile.at(tmp_path / "p")), use_tray=False)
    watched: list[bool] = []
    real = session._watch_network
    monkeypatch.setattr(session, "_watch_network", lambda: (watched.append(True), real()))
    session.model.cycle_finished(report("failed", error="RateLimited", message="wait"))
    session._on_waiting(30, 1)
    session.model.cycle_finished(report())
    session._on_waiting(3600, 0)
    assert watched == [] and session._network is None
    session.model.cycle_finished(report("failed", error="Offline", message=OFFLINE))
    session._on_waiting(30, 1)
    session._on_waiting(60, 2)
    assert watched == [True, True] and session._network_tried  # asked each offline round, loaded once
    session.shutdown()


def test_an_unexpected_error_in_a_cycle_is_an_error_state_not_silence(qtbot, loop) -> None:
    engine = FakeEngine(results=[KeyError("boom")])
    engine.gate.set()
    runner, waits = loop(engine)
    problems: list = []
    runner.problem.connect(problems.append)
    runner.start()
    qtbot.waitUntil(lambda: len(waits) == 1)
    assert [(p.code, p.detail) for p in problems] == [("Unexpected", "'boom'")] and waits == [(30.0, 1)]
    model = StatusModel()
    model.start_failed(problems[0])
    model.waiting(30, 1)
    assert model.state is SyncState.ERROR and model.status_line().startswith("The last sync failed · next try at")


def test_closing_the_wizard_while_the_tray_comes_up_keeps_the_app(
    qtbot, sandbox, memory_keyring, tmp_path, monkeypatch
) -> None:
    """After Save the wizard closes before the tray exists (it may take seconds to appear): Qt
    must not take that last window closing as the end of the app."""
    from configured_profile import configure_profile

    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession

    app = QApplication.instance()
    app.setQuitOnLastWindowClosed(True)
    monkeypatch.setattr(QApplication, "platformName", staticmethod(lambda: "xcb"))  # so it waits for a tray
    session = DesktopSession(SetupContext(configure_profile(sandbox, tmp_path / "p")))
    try:
        session.show_running()
        assert session.window is None and session.tray is None  # still waiting for the tray
        assert app.quitOnLastWindowClosed() is False
    finally:
        session.shutdown()


def test_pause_is_remembered_across_a_restart(qtbot, sandbox, memory_keyring, tmp_path) -> None:
    """Paused in the tray, then the app (or the machine) restarts: still paused, no cycle runs,
    until Resume — which is remembered too."""
    from configured_profile import configure_profile

    from bigsync_gui.core.settings import Settings
    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession

    profile = configure_profile(sandbox, tmp_path / "p")
    first = DesktopSession(SetupContext(profile), use_tray=False)
    try:
        first.pause()
        assert Settings.load(profile).sync.paused
    finally:
        first.shutdown()

    again = DesktopSession(SetupContext(profile), use_tray=False)
    try:
        runner = again.runner
        assert runner.paused and again.model.paused
        again.resume()
        assert not runner.paused and not Settings.load(profile).sync.paused
    finally:
        again.shutdown()
