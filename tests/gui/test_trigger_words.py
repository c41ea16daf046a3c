"""One promise about timing (issue 20 item 3; docs/sync.md, "Instant triggers"): the words for how
triggers arrive — "Instant" or "Checks every N min" — are computed once (core/trigger_timing.py) and
the same in the wizard before Save, Settings, the tray's tooltip, `status` and `status --json`."""

from __future__ import annotations

import json
import subprocess
import sys

from bigsync_gui.core import trigger_timing
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_codes
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Store
from bigsync_gui.gui.pages.done import DonePage
from bigsync_gui.gui.state import StatusModel
from test_settings_window import open_settings
from test_wizard import connected, fast_policies, make_context, memory_keyring, profile  # noqa: F401 - fixtures


def status_words(profile) -> tuple[str, str]:
    """`status` and `status --json` in a child process, as an admin runs them."""
    cli = [sys.executable, "-m", "bigsync_gui", "--profile", str(profile.config_dir.parent)]
    text = subprocess.run([*cli, "status"], capture_output=True, text=True, timeout=60)
    data = subprocess.run([*cli, "status", "--json"], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and data.returncode == 0, text.stderr + data.stderr
    return text.stdout, json.loads(data.stdout)["triggers"]["text"]


def places(qtbot, profile) -> dict[str, str]:
    window = open_settings(qtbot, profile)
    model = StatusModel()
    model.triggers = trigger_timing.timing(profile).words  # what the tray reads after each cycle
    text, json_words = status_words(profile)
    return {
        "settings": window.effective.text(),
        "tooltip": model.tooltip(),
        "status": text,
        "status --json": json_words,
    }


def test_the_same_words_before_save_after_save_and_when_streaming(sandbox, connected, qtbot) -> None:
    engine = Engine(fast_policies(Connector(connected)))
    usage = engine.salesforce_client()
    engine.stages()  # the wizard's stage page reads the org: its allowance is seen
    before = trigger_timing.planned(Settings.load(connected), usage.api_usage[1], 0).words
    assert before == "Checks every 7 min"  # 15,000 requests a day at the default 5 %
    text, json_words = status_words(connected)  # `status` before Save: the allowance the connect saw
    assert "Triggers: Checks every 7 min" in text and json_words == before
    done = DonePage()
    qtbot.addWidget(done)
    done.show_plan("Closed Won", before)
    assert f"Triggers: {before} —" in done.now.text() and "becomes Instant once the sync runs" in done.now.text()

    engine.configure("Closed Won")  # the wizard's Save
    for place, shown in places(qtbot, connected).items():
        assert f"Triggers: {before}" in shown or shown == before, (place, shown)

    store = Store(connected.data_dir / "state.db")
    try:  # the loop connected the change stream
        assert trigger_timing.record_mode(store, True, "", engine.trigger_interval())
        events = [e.message for e in store.events(limit=5) if e.kind == "mode"]
    finally:
        store.close()
    assert events == ["Triggers: Instant — Salesforce's change stream is connected."]
    for place, shown in places(qtbot, connected).items():
        assert "Triggers: Instant" in shown or shown == "Instant", (place, shown)
        assert "Checks every" not in shown, (place, shown)


def test_the_tray_session_streams_wins_become_projects_without_sync_now(
    qtbot, sandbox, memory_keyring, tmp_path, monkeypatch
) -> None:
    """The desktop app's loop (the tray's runner) owns the change stream too: with the interval an
    hour, two wins become projects without Sync now, and the tooltip says "Triggers: Instant"."""
    from configured_profile import configure_profile, win_opportunities

    from bigsync_gui.gui.context import SetupContext
    from bigsync_gui.gui.session import DesktopSession

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    profile = configure_profile(sandbox, tmp_path / "p")  # interval: 3600 s
    session = DesktopSession(SetupContext(profile))
    monkeypatch.setattr(session, "open_wizard", lambda start_page=None: None)
    try:
        assert session.start()
        qtbot.addWidget(session.window)
        qtbot.waitUntil(lambda: session.model.triggers == "Instant", timeout=30000)
        count = len(session.notifications)
        wins = win_opportunities(sandbox.salesforce_admin_url, 2)

        def projects() -> int:
            with sandbox.world.lock:
                codes = [p["ProjectCode"] for p in sandbox.world.bigtime.records["project"].values()]
            return sum(1 for oid in wins if any(c in project_codes(oid) for c in codes))

        qtbot.waitUntil(lambda: projects() == 2, timeout=30000)  # the interval is an hour: only events did this
        qtbot.waitUntil(lambda: len(session.notifications) > count, timeout=30000)
        assert "new project" in session.notifications[-1].title
        assert "Triggers: Instant" in session.model.tooltip()
    finally:
        session.shutdown()
