"""Settings… against the sandbox (pytest-qt, offscreen): each section saves on its own, without
the setup wizard — the schedule never touches what is already past, a change of stage is asked
first and then configured, the field map is saved."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt

from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Store
from bigsync_gui.gui.pages.stage import API_NAME_ROLE
from bigsync_gui.gui.settings_window import SECTIONS, SettingsWindow
from test_wizard import TIMEOUT, connected, fast_policies, make_context, memory_keyring, profile  # noqa: F401 - fixtures

SHOTS = os.environ.get("BIGSYNC_SETTINGS_SHOTS")  # a folder: each section's screenshot is saved there


def configured(profile: Profile) -> Engine:
    engine = Engine(fast_policies(Connector(profile)))
    engine.configure("Closed Won")  # the interval left automatic, as the wizard leaves it by default
    return engine


def excluded(profile: Profile) -> set[str]:
    store = Store(profile.data_dir / "state.db")
    try:
        return set(store.excluded_ids())
    finally:
        store.close()


def open_settings(qtbot, profile: Profile) -> SettingsWindow:
    window = SettingsWindow(make_context(profile))
    qtbot.addWidget(window)
    window.show()
    return window


def shoot(window: SettingsWindow, name: str) -> None:
    if SHOTS:
        window.grab().save(str(Path(SHOTS) / f"settings-{name}.png"))


def test_changing_the_interval_saves_it_and_leaves_exclusions_alone(sandbox, connected, qtbot) -> None:
    configured(connected)
    before = excluded(connected)
    assert before  # the seed has opportunities already past Closed Won
    window = open_settings(qtbot, connected)
    shoot(window, "connections")
    assert window.salesforce_state.text().endswith(".") and "Firm" in window.bigtime_state.text()
    window.sidebar.setCurrentRow(SECTIONS.index("Schedule"))
    assert window.interval.text().startswith("Automatic")  # the default: as often as the API budget allows
    # the set-up's reads learnt the sandbox org's allowance (15,000 a day): the words the wizard showed
    effective = window.effective.text()
    assert "Triggers: Checks every 7 min (automatic: fits the budget of an org allowing 15,000" in effective
    window.interval.setValue(10)
    window.budget.setValue(2.5)
    qtbot.mouseClick(window.save_schedule, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.schedule_status.text().startswith("Saved"), timeout=TIMEOUT)
    sync = Settings.load(connected).sync
    assert (sync.interval_seconds, sync.interval_explicit, sync.api_budget_percent, sync.trigger_stage) == (
        600,
        True,
        2.5,
        "Closed Won",
    )
    assert excluded(connected) == before
    assert "Triggers: Checks every 10 min (set by the admin)" in window.effective.text()
    shoot(window, "schedule")
    window.interval.setValue(0)  # back to Automatic
    qtbot.mouseClick(window.save_schedule, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not Settings.load(connected).sync.interval_explicit, timeout=TIMEOUT)
    assert excluded(connected) == before
    window.sidebar.setCurrentRow(SECTIONS.index("Start at login"))
    assert not window.autostart_box.isEnabled()  # none offered to this window
    shoot(window, "login")


def test_changing_the_stage_asks_first_then_configures(sandbox, connected, qtbot) -> None:
    configured(connected)
    window = open_settings(qtbot, connected)
    window.sidebar.setCurrentRow(SECTIONS.index("Trigger"))
    qtbot.waitUntil(window.change_stage.isEnabled, timeout=TIMEOUT)
    assert window.stage_combo.currentData(API_NAME_ROLE) == "Closed Won"
    window.stage_combo.setCurrentIndex(window.stage_combo.findData("Negotiation/Review", API_NAME_ROLE))
    shoot(window, "trigger")

    qtbot.mouseClick(window.change_stage, Qt.MouseButton.LeftButton)
    box = window.stage_box
    assert box is not None and box.isVisible()
    assert "reaches Negotiation/Review (instead of Closed Won)" in box.text() and "left alone" in box.text()
    box.reject()  # Keep the current stage
    assert Settings.load(connected).sync.trigger_stage == "Closed Won"

    qtbot.mouseClick(window.change_stage, Qt.MouseButton.LeftButton)
    box = window.stage_box
    qtbot.mouseClick(box.change_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.trigger_status.text().startswith("Saved"), timeout=TIMEOUT)
    sync = Settings.load(connected).sync
    assert sync.trigger_stage == "Negotiation/Review" and sync.interval_seconds == 300
    assert window.current_stage.text() == "Now: Negotiation/Review."


def test_a_field_map_change_is_saved(sandbox, connected, qtbot) -> None:
    configured(connected)
    window = open_settings(qtbot, connected)
    window.sidebar.setCurrentRow(SECTIONS.index("Fields"))
    qtbot.waitUntil(window.fields_page.isComplete, timeout=TIMEOUT)
    window.fields_page.combos["wip"].setCurrentIndex(0)  # (don't write)
    shoot(window, "fields")
    qtbot.mouseClick(window.save_fields, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.fields_status.text().startswith("Saved"), timeout=TIMEOUT)
    field_map = Settings.load(connected).sync.field_map
    assert field_map["wip"] == "" and field_map["hours_logged"] == "BigTime_Hours_Logged__c"
    assert Settings.load(connected).sync.trigger_stage == "Closed Won"


def test_enter_in_a_schedule_box_saves_the_schedule(sandbox, connected, qtbot) -> None:
    """An admin types a number and presses Enter: the schedule is saved (not silently left unsaved)."""
    configured(connected)
    window = open_settings(qtbot, connected)
    window.sidebar.setCurrentRow(SECTIONS.index("Schedule"))
    for box, key, expected in (
        (window.interval, Qt.Key.Key_Return, ("interval_seconds", 12 * 60)),
        (window.writeback, Qt.Key.Key_Enter, ("writeback_interval_seconds", 20 * 60)),
    ):
        window.schedule_status.clear()
        box.setFocus()
        box.lineEdit().selectAll()
        qtbot.keyClicks(box, str(expected[1] // 60))
        qtbot.keyClick(box, key)
        qtbot.waitUntil(lambda: window.schedule_status.text().startswith("Saved"), timeout=TIMEOUT)
        assert getattr(Settings.load(connected).sync, expected[0]) == expected[1]


def test_with_instant_triggers_the_schedule_says_when_the_interval_is_used(sandbox, connected, qtbot) -> None:
    """Triggers are instant: the sweep runs every 30–60 min whatever "Check Salesforce every" says, so
    the window says when that interval is used instead of seeming to ignore it."""
    from bigsync_gui.core.trigger_timing import MODE_KEY

    configured(connected)
    window = open_settings(qtbot, connected)
    assert "change stream is down" not in window.effective.text()  # polling: the interval is what runs
    store = Store(connected.data_dir / "state.db")
    try:
        store.set_meta(MODE_KEY, {"instant": True, "reason": "", "since": "2026-01-01T00:00:00+00:00"})
    finally:
        store.close()
    window.sidebar.setCurrentRow(SECTIONS.index("Schedule"))
    window.interval.setValue(3)
    qtbot.mouseClick(window.save_schedule, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.schedule_status.text().startswith("Saved"), timeout=TIMEOUT)
    effective = window.effective.text()
    assert "Triggers: Instant" in effective and "a full check still runs every 30–60 min" in effective
    assert effective.endswith(" “Check Salesforce every” is used only while the change stream is down.")


def test_esc_closes_the_settings_window(sandbox, connected, qtbot) -> None:
    window = open_settings(qtbot, connected)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT)
    window.sidebar.setFocus()
    qtbot.keyClick(window.sidebar, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_each_connections_button_has_its_own_alt_letter(sandbox, connected, qtbot, monkeypatch) -> None:
    """Alt+letter presses a button only when no other visible one shares the letter (else Qt just
    moves the focus): the two systems' Reconnect/Connect and Disconnect differ."""
    from PySide6.QtWidgets import QPushButton

    def letters() -> list[str]:
        buttons = [b for b in window.connections.findChildren(QPushButton) if b.isVisible() and "&" in b.text()]
        return [b.text()[b.text().index("&") + 1].lower() for b in buttons]

    window = open_settings(qtbot, connected)
    assert len(letters()) == 4 and len(set(letters())) == 4
    settings = Settings.load(connected)
    settings.salesforce.instance_url = ""  # not connected: "Connect…" instead of "Reconnect…"
    monkeypatch.setattr(window, "settings", lambda: settings)
    window.refresh()
    assert window.buttons["salesforce"][0].text() == "&Connect…"
    assert len(set(letters())) == 4


def test_disconnect_asks_and_enter_keeps_the_connection(sandbox, connected, qtbot) -> None:
    """A destructive question defaults to keeping what is (as Change stage… and Quit setup? do):
    Enter or Esc keeps the connection; only the Disconnect button forgets it."""
    configured(connected)
    window = open_settings(qtbot, connected)
    disconnect = window.buttons["bigtime"][1]
    for key in (Qt.Key.Key_Return, Qt.Key.Key_Escape):
        qtbot.mouseClick(disconnect, Qt.MouseButton.LeftButton)
        box = window.disconnect_box
        assert box is not None and box.isVisible() and box.defaultButton().text() == "&Keep the connection"
        qtbot.keyClick(box, key)
        assert not box.isVisible()
        assert Settings.load(connected).bigtime.connected and window.connections_status.text() == ""
    qtbot.mouseClick(disconnect, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.disconnect_box.disconnect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.connections_status.text() == "BigTime is disconnected.", timeout=TIMEOUT)
    assert not Settings.load(connected).bigtime.connected
    assert window.buttons["bigtime"][0].text() == "Co&nnect…"
