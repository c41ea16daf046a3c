"""The Activity window over a real store: cycles and their events, filters, links to Salesforce and
BigTime, plain text for what the services wrote, redacted diagnostics; and Start at login."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices, QGuiApplication

from bigsync_gui.connectors.bigtime_assumptions import project_url
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Store
from bigsync_gui.gui import autostart
from activity_window import shown_activity
from bigsync_gui.gui.activity import CYCLE_ROLE, EVENT_COLUMNS, ActivityWindow, load_activity
from bigsync_gui.gui.cycles_table import CHANGES, KIND, MESSAGE, RESULT, WHEN

INSTANCE = "https://acme.my.salesforce.com"
BT_BASE = "https://iq.bigtime.net/BigtimeData/api/v2"
TOKEN = "00D5e000000abcd!AQ4AQFakeAccessTokenValue1234567890abcdefghijklmnopqrstuv"


@pytest.fixture
def profile(tmp_path: Path) -> Profile:
    profile = Profile.at(tmp_path / "p")
    settings = Settings()
    settings.salesforce.instance_url = INSTANCE
    settings.bigtime.auth_mode, settings.bigtime.base_url = "api_key", BT_BASE
    settings.sync.trigger_stage, settings.sync.configured_at = "Closed Won", "2024-01-01T00:00:00+00:00"
    settings.save(profile)
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            first = store.start_cycle("trigger")
            store.event(first, "created", "Created BigTime project 1001 for Globex — Phase 2.", "006A", 1001)
            store.event(first, "created", "Created BigTime project 1002 for Initech rollout.", "006B", 1002)
            store.event(first, "rejected", "<b>Umbrella</b> & Co: BigTime refused it: client name too long", "006C")
            store.end_cycle(first, "partial", "", 5, 9)
            quiet = store.start_cycle("trigger")
            store.end_cycle(quiet, "ok", "", 2, 0)
            failed = store.start_cycle("trigger")
            store.end_cycle(
                failed,
                "failed",
                f"Salesforce needs you to sign in again (access_token={TOKEN})",
                1,
                0,
                "ReconnectNeeded",
                "salesforce",
            )
            writeback = store.start_cycle("writeback")
            store.event(
                writeback,
                "written",
                "Wrote 3 figures to Globex — Phase 2.\nFrom BigTime: Invoiced to date: TotalAmt from invoice details.",
                "006A",
                1001,
            )
            store.end_cycle(writeback, "ok", "Checked 2 linked projects; 1 changed.", 3, 2)
    finally:
        store.close()
    return profile


@pytest.fixture
def window(qtbot, profile: Profile) -> ActivityWindow:
    win = ActivityWindow(profile, status_text=lambda: "Last sync just now · up to date")
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.show()  # loads in the background
    return win


def visible_rows(proxy, column: int) -> list[str]:
    return [proxy.index(r, column).data() for r in range(proxy.rowCount())]


def test_load_reads_cycles_and_their_events(profile: Profile) -> None:
    data = load_activity(profile)
    assert [c.kind for c in data.cycles] == ["writeback", "trigger", "trigger", "trigger"]  # newest first
    assert len(data.events) == 4 and data.instance_url == INSTANCE


def test_cycles_with_counts_and_quiet_ones_hidden(window: ActivityWindow) -> None:
    proxy = window.cycle_proxy
    assert window.quiet_box.isChecked()
    assert visible_rows(proxy, RESULT) == ["OK", "Needs you", "Some refused"]  # the quiet "OK" cycle is hidden
    assert visible_rows(proxy, KIND) == ["Write-back", "Sync", "Sync"]
    assert visible_rows(proxy, CHANGES) == ["1 updated", "", "2 created · 1 refused"]
    assert proxy.index(2, CHANGES).data(Qt.ItemDataRole.ToolTipRole) == "2 projects created\n1 opportunity refused"
    assert visible_rows(proxy, MESSAGE)[0] == "Checked 2 linked projects; 1 changed."
    window.quiet_box.setChecked(False)
    assert proxy.rowCount() == 4
    tips = [proxy.index(r, WHEN).data(Qt.ItemDataRole.ToolTipRole).splitlines() for r in range(proxy.rowCount())]
    assert all(t[0].startswith("Started 20") and t[1].startswith("Took ") and t[1].endswith(" s") for t in tips)
    assert tips[0][2] == "3 Salesforce requests, 2 BigTime requests"


def test_selecting_a_cycle_shows_its_events(window: ActivityWindow) -> None:
    events = window.event_proxy
    assert events.rowCount() == 4  # nothing selected: the events of every cycle shown
    window.cycle_view.selectRow(2)  # the partial cycle
    assert visible_rows(events, 1) == ["Refused", "Project created", "Project created"]
    assert "Events of the selected cycle: 3" == window.events_label.text()


def test_filter_and_problems_only(window: ActivityWindow) -> None:
    window.filter_edit.setText("initech")
    assert visible_rows(window.event_proxy, 2) == ["Created BigTime project 1002 for Initech rollout."]
    assert window.cycle_proxy.rowCount() == 1  # the cycle that has that event
    window.filter_edit.clear()
    window.problems_box.setChecked(True)
    assert visible_rows(window.event_proxy, 1) == ["Refused"]
    assert visible_rows(window.cycle_proxy, RESULT) == ["Needs you", "Some refused"]


def test_a_failed_cycle_is_worded_by_its_problem_with_the_fix(qtbot, profile: Profile) -> None:
    """Issue 13 (Activity on the problems table): a spent budget waited, it did not fail; a sign-in
    to renew says what fixes it; a bug is a failure."""
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            for code, system in (("ApiBudgetSpent", "salesforce"), ("Unexpected", None)):
                cycle = store.start_cycle("trigger")
                store.end_cycle(cycle, "failed", f"{code} happened.", 1, 0, code, system or "")
    finally:
        store.close()
    win = ActivityWindow(profile, status_text=lambda: "")
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.show()
    proxy = win.cycle_proxy
    assert visible_rows(proxy, RESULT)[:4] == ["Failed", "Waiting", "OK", "Needs you"]
    tips = [proxy.index(r, RESULT).data(Qt.ItemDataRole.ToolTipRole) for r in range(proxy.rowCount())]
    assert tips[1] == "Today's Salesforce API budget is used up"
    assert tips[3] == "Salesforce needs you to sign in again — Reconnect Salesforce…"
    assert win.summary_label.text().endswith("2 failed · 1 waited")


def test_service_text_is_plain_text(window: ActivityWindow) -> None:
    refused = next(
        r for r in range(window.event_proxy.rowCount()) if window.event_proxy.index(r, 1).data() == "Refused"
    )
    assert (
        window.event_proxy.index(refused, 2).data() == "<b>Umbrella</b> & Co: BigTime refused it: client name too long"
    )
    # Item views draw DisplayRole as plain text; no delegate here interprets HTML.
    assert type(window.event_view.itemDelegate()).__name__ == "QStyledItemDelegate"


def test_details_readable_in_full_and_widening_widens_details(qtbot, window: ActivityWindow, tmp_path: Path) -> None:
    proxy = window.event_proxy
    refused = next(r for r in range(proxy.rowCount()) if proxy.index(r, 1).data() == "Refused")
    text = "<b>Umbrella</b> & Co: BigTime refused it: client name too long"
    # The tooltip is escaped, so Qt shows the service's text literally (and wraps it).
    tip = proxy.index(refused, 2).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;Umbrella&lt;/b&gt; &amp; Co" in tip and "<b>" not in tip
    # The detail pane shows the whole sentence of the current event, as plain text.
    window.event_view.setCurrentIndex(proxy.index(refused, 0))
    assert window.detail_pane.toPlainText() == text
    assert window.detail_pane.document().toHtml().count("<b>Umbrella") == 0  # never rich text

    header = window.event_view.horizontalHeader()
    window.tabs.setCurrentIndex(1)  # Cycles
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() == 900)
    before = [header.sectionSize(c) for c in range(5)]
    window.resize(1500, 600)
    qtbot.waitUntil(lambda: header.sectionSize(2) > before[2])
    after = [header.sectionSize(c) for c in range(5)]
    assert after[2] - before[2] > 400  # Details took the new width…
    assert after[3:] == before[3:] and after[:2] == before[:2]  # …the other columns kept theirs
    window.grab().save(str(tmp_path / "activity-wide.png"))


def test_links_open_salesforce_and_bigtime(window: ActivityWindow, monkeypatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True))
    rows = {window.event_proxy.index(r, 2).data(): r for r in range(window.event_proxy.rowCount())}
    row = rows["Created BigTime project 1001 for Globex — Phase 2."]
    assert window.event_proxy.index(row, 3).data() == "Open opportunity"
    window._on_event_clicked(window.event_proxy.index(row, 3))
    window._on_event_clicked(window.event_proxy.index(row, 4))
    window._on_event_clicked(window.event_proxy.index(row, 2))  # not a link: nothing opens
    assert opened == [f"{INSTANCE}/006A", project_url(BT_BASE, 1001)]
    refused = rows["<b>Umbrella</b> & Co: BigTime refused it: client name too long"]
    window._on_event_clicked(window.event_proxy.index(refused, 4))  # no project for a refused opportunity
    assert opened == [f"{INSTANCE}/006A", project_url(BT_BASE, 1001)]


def test_copy_diagnostics_is_redacted(window: ActivityWindow) -> None:
    text = window.copy_diagnostics()
    assert QGuiApplication.clipboard().text() == text
    assert TOKEN not in text and "[hidden]" in text
    assert "Status: Last sync just now · up to date" in text
    assert "bigsync-gui" in text and "Qt " in text and "Closed Won" in text
    assert "Created BigTime project 1001" in text


def test_reload_keeps_the_selection(qtbot, window: ActivityWindow, profile: Profile) -> None:
    window.cycle_view.selectRow(2)
    selected = window.selected_cycles()
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            new = store.start_cycle("trigger")
            store.event(new, "severed", "Opportunity Hooli was deleted: link severed.", "006D", 1003)
            store.end_cycle(new, "ok", "", 2, 0)
    finally:
        store.close()
    with qtbot.waitSignal(window.loaded, timeout=10000):
        window.reload()
    assert window.selected_cycles() == selected
    assert window.cycle_proxy.index(0, CHANGES).data() == "1 severed"  # the new cycle, on top
    assert window.cycle_proxy.index(0, 0).data(CYCLE_ROLE) == new


def test_empty_profile(qtbot, tmp_path: Path) -> None:
    win = ActivityWindow(Profile.at(tmp_path / "empty"))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.show()
    assert win.cycle_proxy.rowCount() == 0 and win.summary_label.text() == "No sync has run yet."
    assert not (tmp_path / "empty" / "data" / "state.db").exists()  # looking creates nothing


# ---- Start at login (XDG autostart) -------------------------------------------------------------
def exec_args() -> list[str]:
    """The autostart entry's Exec line split back into arguments (the Desktop Entry quoting undone)."""
    text = autostart.entry_path().read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if line.startswith("Exec="))
    return shlex.split(line[len("Exec=") :].replace("%%", "%"))


def test_autostart_entry_in_xdg_config_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert autostart.entry_path() == tmp_path / "cfg" / "autostart" / "bigsync-gui.desktop"
    assert not autostart.is_enabled()
    autostart.set_enabled(True, str(tmp_path / "my profile"))
    assert autostart.is_enabled()
    text = autostart.entry_path().read_text()
    assert "[Desktop Entry]" in text and "Type=Application" in text
    args = exec_args()
    assert args[-2:] == ["--profile", str((tmp_path / "my profile").resolve())]  # the space survives quoting
    autostart.set_enabled(False)
    assert not autostart.is_enabled() and not autostart.entry_path().exists()
    autostart.set_enabled(False)  # twice is fine


def test_autostart_without_xdg_config_home_and_hidden_entries(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.entry_path() == tmp_path / ".config" / "autostart" / "bigsync-gui.desktop"
    autostart.enable()
    assert "--profile" not in exec_args()
    path = autostart.entry_path()
    path.write_text(path.read_text() + "Hidden=true\n")  # the desktop's own "disable" switch
    assert not autostart.is_enabled()


def test_status_window_has_the_same_actions(qtbot) -> None:
    from bigsync_gui.core.engine import CycleReport
    from bigsync_gui.gui.state import StatusModel
    from bigsync_gui.gui.status_window import StatusWindow

    model = StatusModel()
    win = StatusWindow(model, autostart_enabled=lambda: False)
    qtbot.addWidget(win)
    model.cycle_finished(
        CycleReport(
            1,
            "trigger",
            "failed",
            "Salesforce needs you to sign in again: revoked",
            error="ReconnectNeeded",
            system="salesforce",
        )
    )
    model.waiting(30, 1)
    win.refresh()
    assert win.headline.text() == "Needs your attention"
    assert win.status_line.text() == "Salesforce needs you to sign in again"
    assert win.detail.textFormat() == Qt.TextFormat.PlainText
    assert not win.fix_button.isHidden() and win.fix_button.text() == "Reconnect Salesforce…"
    with qtbot.waitSignal(win.fix_requested) as fix:
        win.fix_button.click()
    assert fix.args == ["salesforce"]
    with qtbot.waitSignal(win.sync_requested):
        win.sync_button.click()
    with qtbot.waitSignal(win.pause_requested):
        win.pause_button.click()
    model.set_paused(True)
    win.refresh()
    assert not win.sync_button.isEnabled() and win.pause_button.text() == "&Resume syncing"
    with qtbot.waitSignal(win.resume_requested):
        win.pause_button.click()
    with qtbot.waitSignal(win.activity_requested):
        win.activity_button.click()
    with qtbot.waitSignal(win.settings_requested):
        win.settings_button.click()
    with qtbot.waitSignal(win.autostart_toggled) as toggled:
        win.autostart_box.click()
    assert toggled.args == [True]


def test_which_source_gave_the_figures_is_in_the_details_not_the_feed(window: ActivityWindow) -> None:
    """A written event's second line names the BigTime sources: the feed shows the sentence, its tooltip
    and the Cycles tab's details pane the whole text."""
    feed = window.feed.proxy
    row = next(r for r in range(feed.rowCount()) if str(feed.index(r, 1).data()).startswith("Wrote 3 figures"))
    assert feed.index(row, 1).data() == "Wrote 3 figures to Globex — Phase 2."
    assert "TotalAmt from invoice details" in feed.index(row, 1).data(Qt.ItemDataRole.ToolTipRole)
    events = window.event_proxy
    written = next(r for r in range(events.rowCount()) if events.index(r, 1).data() == "Figures written")
    window.event_view.setCurrentIndex(events.index(written, 0))
    assert window.detail_pane.toPlainText() == (
        "Wrote 3 figures to Globex — Phase 2.\nFrom BigTime: Invoiced to date: TotalAmt from invoice details."
    )


def test_columns_fit_rows_that_arrive_after_the_window_opened(qtbot, tmp_path: Path) -> None:
    """Opened while every cycle was quiet (nothing shown), then a refusal arrives: its time, kind and
    link are read in full, not cut to the header's width ("20…", "Ref…"); showing the quiet cycles
    widens "Started" to fit them too."""
    profile = Profile.at(tmp_path / "p")
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            store.end_cycle(store.start_cycle("trigger"), "ok", "", 2, 0)
    finally:
        store.close()
    win = shown_activity(qtbot, profile)
    win.tabs.setCurrentIndex(1)  # Cycles
    assert win.cycle_proxy.rowCount() == 0
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            cycle = store.start_cycle("trigger")
            store.event(cycle, "rejected", "Walk-in: the opportunity has no account.", "006W")
            store.end_cycle(cycle, "partial", "", 2, 0)
    finally:
        store.close()
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.reload()
    events = win.event_view
    assert win.event_proxy.rowCount() == 1
    for column in (0, 1, 3):  # Time, What, Salesforce
        assert events.columnWidth(column) >= events.sizeHintForColumn(column), EVENT_COLUMNS[column]
    win.quiet_box.setChecked(False)
    assert win.cycle_proxy.rowCount() == 2
    assert win.cycle_view.columnWidth(0) >= win.cycle_view.sizeHintForColumn(0)


def test_the_box_says_how_many_quiet_cycles_it_hides(qtbot, tmp_path: Path) -> None:
    """After a first few syncs that found nothing, Cycles is empty: the box says why (4 hidden)."""
    profile = Profile.at(tmp_path / "p")
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            for _ in range(4):
                store.end_cycle(store.start_cycle("trigger"), "ok", "", 2, 0)
    finally:
        store.close()
    win = shown_activity(qtbot, profile)
    assert win.cycle_proxy.rowCount() == 0
    assert win.quiet_box.text() == "Hide &quiet cycles (4 hidden)"
    win.quiet_box.setChecked(False)
    assert win.cycle_proxy.rowCount() == 4 and win.quiet_box.text() == "Hide &quiet cycles"


def test_esc_closes_the_window(qtbot, window: ActivityWindow) -> None:
    """Esc is the keyboard's way out, as in a dialog (nothing else closes it without a mouse)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10000)
    qtbot.keyClick(window.filter_edit, Qt.Key.Key_Escape)
    assert not window.isVisible()


def test_a_cycle_message_is_one_line_in_its_cell_and_whole_in_its_tooltip(qtbot, profile: Profile) -> None:
    """The service's words as plain text: the cell shows the first line; the tooltip, escaped (Qt reads
    a tooltip that looks like markup as rich text), shows all of it literally."""
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            cycle = store.start_cycle("trigger")
            store.end_cycle(cycle, "failed", "BigTime said <b>503</b>\nretry later", 1, 0, "Offline", "bigtime")
    finally:
        store.close()
    win = shown_activity(qtbot, profile)
    top = win.cycle_proxy.index(0, MESSAGE)
    assert top.data() == "BigTime said <b>503</b>"
    tip = top.data(Qt.ItemDataRole.ToolTipRole)
    assert "BigTime said &lt;b&gt;503&lt;/b&gt;\nretry later" in tip and "<b>" not in tip


def test_a_narrow_window_elides_changes_and_never_scrolls_sideways(qtbot, window: ActivityWindow) -> None:
    """Message keeps a third of the width; Changes gives way (its tooltip has the counts), the others not."""
    window.tabs.setCurrentIndex(1)  # Cycles
    view, header = window.cycle_view, window.cycle_view.horizontalHeader()
    window.resize(1200, 600)
    qtbot.waitUntil(lambda: header.sectionSize(CHANGES) >= view.sizeHintForColumn(CHANGES))
    window.resize(window.minimumWidth(), 600)
    qtbot.waitUntil(lambda: header.sectionSize(CHANGES) < view.sizeHintForColumn(CHANGES))
    assert view.horizontalScrollBar().maximum() == 0
    assert header.sectionSize(MESSAGE) >= view.viewport().width() // 3
    for column in (WHEN, KIND, RESULT):
        assert header.sectionSize(column) >= view.sizeHintForColumn(column)
    assert sum(header.sectionSize(c) for c in range(header.count())) <= view.viewport().width()
