"""Issue 20 items 5 and 7: Activity leads with what happened to the deals (newest first, sentences, relative
times, the two links), the cycles one tab away; a link with no browser shows its address with Copy; the
window fits a 1280×800 screen at 200 % with Refresh and Copy diagnostics on it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication

from bigsync_gui.connectors.bigtime_assumptions import project_url
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Store
from bigsync_gui.gui.activity import ActivityWindow
from bigsync_gui.gui.activity_feed import BT_LINK, EMPTY, SF_LINK, URL_ROLE, WHAT, WHEN, relative_time
from activity_window import shown_activity
from at_200_percent import run_at_200_percent

INSTANCE = "https://acme.my.salesforce.com"
BT_BASE = "https://iq.bigtime.net/BigtimeData/api/v2"


def make_profile(root: Path) -> Profile:
    profile = Profile.at(root)
    settings = Settings()
    settings.salesforce.instance_url = INSTANCE
    settings.bigtime.auth_mode, settings.bigtime.base_url = "api_key", BT_BASE
    settings.save(profile)
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            first = store.start_cycle("trigger")
            store.event(first, "created", "Created BigTime project 1001 for Globex — Phase 2.", "006A", 1001)
            store.event(first, "rejected", "Umbrella: the opportunity has no account.", "006C")
            store.end_cycle(first, "partial", "", 5, 9)
            for _ in range(3):  # quiet cycles: an engineer's rows, not the admin's first view
                store.end_cycle(store.start_cycle("trigger"), "ok", "", 1, 0)
            writeback = store.start_cycle("writeback")
            store.event(writeback, "written", "Updated 3 BigTime figures on Globex — Phase 2.", "006A", 1001)
            store.end_cycle(writeback, "ok", "", 3, 2)
    finally:
        store.close()
    return profile


@pytest.fixture
def window(qtbot, tmp_path):
    win = ActivityWindow(make_profile(tmp_path / "p"), status_text=lambda: "")
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.show()
    return win


def test_it_opens_on_what_happened_newest_first_with_both_links(window):
    assert window.tabs.currentIndex() == 0 and window.tabs.tabText(0) == "&What happened"
    feed = window.feed
    proxy = feed.proxy
    sentences = [proxy.index(r, WHAT).data() for r in range(proxy.rowCount())]
    assert sentences == [
        "Updated 3 BigTime figures on Globex — Phase 2.",
        "Umbrella: the opportunity has no account.",
        "Created BigTime project 1001 for Globex — Phase 2.",
    ]
    assert proxy.index(0, WHEN).data() == "just now"
    assert proxy.index(0, WHEN).data(3).count(":") == 2  # the exact local time in the tooltip
    assert (
        proxy.index(2, SF_LINK).data() == "Open opportunity"
        and proxy.index(2, SF_LINK).data(URL_ROLE) == f"{INSTANCE}/006A"
    )
    assert proxy.index(2, BT_LINK).data() == "Open project" and proxy.index(2, BT_LINK).data(URL_ROLE) == project_url(
        BT_BASE, 1001
    )
    assert proxy.index(1, BT_LINK).data(URL_ROLE) is None  # refused: no project
    window.problems_box.setChecked(True)
    assert proxy.rowCount() == 1 and proxy.index(0, WHAT).data().startswith("Umbrella")
    window.problems_box.setChecked(False)
    window.filter_edit.setText("created bigtime")
    assert proxy.rowCount() == 1
    assert window.tabs.tabText(1) == "C&ycles"  # the cycles, one click away
    window.tabs.setCurrentIndex(1)
    assert window.cycle_proxy.rowCount() >= 1


def test_columns_are_sized_to_their_content(window, qtbot):
    header = window.feed.horizontalHeader()
    metrics = window.feed.fontMetrics()
    for column, text in ((WHEN, "just now"), (SF_LINK, "Open opportunity"), (BT_LINK, "Open project")):
        assert header.sectionSize(column) >= metrics.horizontalAdvance(text)  # never "Open op…"
    assert header.sectionSize(WHAT) > header.sectionSize(SF_LINK)


def test_relative_times_as_people_say_them():
    now = datetime(2026, 3, 24, 15, 0, tzinfo=timezone.utc).astimezone()
    at = lambda delta: (now - delta).isoformat()  # noqa: E731
    assert relative_time(at(timedelta(seconds=20)), now) == "just now"
    assert relative_time(at(timedelta(minutes=5)), now) == "5 min ago"
    moment = now - timedelta(hours=3)
    if moment.date() == now.date():
        assert relative_time(moment.isoformat(), now) == f"today {moment:%H:%M}"
    yesterday = (now - timedelta(days=1)).replace(hour=17, minute=2)
    assert relative_time(yesterday.isoformat(), now) == "yesterday 17:02"
    week = (now - timedelta(days=3)).replace(hour=11, minute=30)
    assert relative_time(week.isoformat(), now) == f"{week:%a} 11:30"
    old = now.replace(month=1, day=3)
    assert relative_time(old.isoformat(), now) == "3 Jan"
    assert relative_time(now.replace(year=2025).isoformat(), now) == f"{now.day} {now:%b} 2025"
    assert relative_time(None, now) == "" and relative_time("garbage", now) == "garbage"


def test_a_link_without_a_browser_shows_its_address_with_copy(window, qtbot):
    asked: list[str] = []
    window.open_url = lambda url: asked.append(url) or False  # the desktop could not open it
    proxy = window.feed.proxy
    window._on_feed_clicked(proxy.index(2, BT_LINK))
    assert asked == [project_url(BT_BASE, 1001)]
    assert window.link_fallback.isVisible() and window.link_fallback.url.text() == asked[0]
    window.link_fallback.copy_button.click()
    assert QGuiApplication.clipboard().text() == asked[0]
    window.open_url = lambda url: True  # a browser again: the address goes away
    window._on_feed_clicked(proxy.index(2, SF_LINK))
    assert not window.link_fallback.isVisible()
    # the same in the Cycles tab's events
    window.open_url = lambda url: False
    window.tabs.setCurrentIndex(1)
    events = window.event_proxy
    row = next(r for r in range(events.rowCount()) if events.index(r, 3).data(URL_ROLE))
    window._on_event_clicked(events.index(row, 3))
    assert window.link_fallback.isVisible() and window.link_fallback.url.text() == events.index(row, 3).data(URL_ROLE)


def test_nothing_yet_says_so(qtbot, tmp_path):
    win = ActivityWindow(Profile.at(tmp_path / "empty"))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.show()
    assert win.feed_stack.currentWidget() is win.feed_empty and win.feed_empty.text() == EMPTY


FIT_SCRIPT = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from test_activity_feed import make_profile
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.activity import ActivityWindow
app = make_app(["x"])
w = ActivityWindow(make_profile(Path(sys.argv[1])))
w.show()
for _ in range(50):
    app.processEvents()
def box(widget):
    tl = widget.mapToGlobal(widget.rect().topLeft()); br = widget.mapToGlobal(widget.rect().bottomRight())
    return [tl.x(), tl.y(), br.x(), br.y()]
area = app.primaryScreen().availableGeometry()
f = w.frameGeometry()
print(json.dumps({"area": [area.x(), area.y(), area.width(), area.height()],
                  "frame": [f.x(), f.y(), f.right(), f.bottom()], "window": box(w),
                  "buttons": {"refresh": box(w.refresh_button), "copy": box(w.copy_button)},
                  "hscroll": w.feed.horizontalScrollBar().isVisible()}))
"""


def test_activity_fits_a_1280x800_screen_at_200_percent(tmp_path):
    run = run_at_200_percent(tmp_path, FIT_SCRIPT, tmp_path / "p", str(Path(__file__).parent))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    x, y, width, height = result["area"]
    assert (width, height) == (640, 400)  # 1280×800 at 200 %, in points
    left, top, right, bottom = result["frame"]
    assert x <= left and y <= top and right < x + width and bottom < y + height  # before: 980×600 points
    wl, wt, wr, wb = result["window"]
    for name, (bl, bt, br, bb) in result["buttons"].items():
        assert wl <= bl and br <= wr and wt <= bt and bb <= wb, name
    assert not result["hscroll"]


def test_a_sentence_with_details_shows_the_sentence_and_keeps_the_details_in_its_tooltip(qtbot, tmp_path):
    profile = make_profile(tmp_path / "p")
    store = Store(profile.data_dir / "state.db")
    try:
        cycle = store.start_cycle("writeback")
        store.event(
            cycle,
            "written",
            "Updated 2 BigTime figures on <b>Hooli</b>.\nFrom BigTime: Hours logged: HrsIn.",
            "006H",
            1005,
        )
        store.end_cycle(cycle, "ok", "", 1, 1)
    finally:
        store.close()
    win = shown_activity(qtbot, profile)
    top = win.feed.proxy.index(0, WHAT)
    assert top.data() == "Updated 2 BigTime figures on <b>Hooli</b>."
    tip = top.data(3)
    assert "From BigTime: Hours logged: HrsIn." in tip and "&lt;b&gt;Hooli&lt;/b&gt;" in tip and "<b>Hooli" not in tip


def test_a_change_of_how_triggers_arrive_is_in_activity(qtbot, tmp_path):
    """The loop records each change of trigger mode outside any cycle (core/trigger_timing.py); the
    admin reads it in Activity (issue 19 B6) — before the fix, events without a cycle were never read."""
    from bigsync_gui.core import trigger_timing
    from bigsync_gui.core.cadence import TriggerInterval

    profile = make_profile(tmp_path / "p")
    store = Store(profile.data_dir / "state.db")
    try:
        assert trigger_timing.record_mode(store, True, "", TriggerInterval(420, "derived", 15000))
        cycles, events = store.recent_activity(2)  # the two newest cycles are older than the mode change
    finally:
        store.close()
    assert [e.kind for e in events][:1] == ["mode"]
    win = shown_activity(qtbot, profile)
    assert win.feed.proxy.index(0, WHAT).data() == "Triggers: Instant — Salesforce's change stream is connected."


def test_the_mode_said_before_the_first_cycle_is_in_activity(qtbot, tmp_path):
    """The stream connects before the first cycle starts, so the first "Triggers: Instant" is older
    than every cycle: it is shown while the whole history is."""
    from bigsync_gui.core import trigger_timing
    from bigsync_gui.core.cadence import TriggerInterval

    profile = Profile.at(tmp_path / "p")
    store = Store(profile.data_dir / "state.db")
    try:
        assert trigger_timing.record_mode(store, True, "", TriggerInterval(420, "derived", 15000))
        store.db.execute("UPDATE events SET at = '2026-03-24T09:00:00.000+00:00'")  # 5 ms before, as seen
        store.db.commit()
        store.end_cycle(store.start_cycle("trigger"), "ok", "", 1, 0)
        _, events = store.recent_activity(200)
    finally:
        store.close()
    assert [e.kind for e in events] == ["mode"]


def test_a_refusal_for_want_of_an_account_points_to_settings_trigger(qtbot, tmp_path):
    """The engine stores the refusal in the command line's words (it runs as the CLI's `run --events`
    under the tray too); Activity shows where the admin acts in the app: Settings › Trigger, not the
    `--default-client` flag — for sentences stored now and by earlier versions."""
    from bigsync_gui.core.where_to_act import no_account

    earlier = (  # what versions before the per-surface pointer stored
        "the opportunity has no account, so there is no BigTime client to put the project under. "
        "Give it an account, or choose a client for such opportunities in "
        "Settings › Trigger (`configure --default-client`)."
    )
    profile = make_profile(tmp_path / "p")
    store = Store(profile.data_dir / "state.db")
    try:
        with store.transaction():
            cycle = store.start_cycle("trigger")
            store.event(cycle, "rejected", f"Walk-in deal: {earlier}", "006E")
            store.event(cycle, "rejected", f"Walk-in order: {no_account()}", "006W")
            store.end_cycle(cycle, "partial", "", 2, 0)
    finally:
        store.close()
    assert "--default-client" in no_account() and "--default-client" in earlier  # stored: the flag
    win = shown_activity(qtbot, profile)
    proxy = win.feed.proxy
    assert [proxy.index(r, WHAT).data() for r in range(2)] == [
        f"Walk-in order: {no_account('gui')}",
        f"Walk-in deal: {no_account('gui')}",
    ]
    assert proxy.index(0, WHAT).data().endswith("choose a client for such opportunities in Settings › Trigger.")
    shown = [win.event_proxy.index(r, 2).data() for r in range(win.event_proxy.rowCount())]
    assert sum("Settings › Trigger." in text for text in shown) == 2
    assert not any("default-client" in text for text in shown) and "default-client" not in win.diagnostics()
    win.filter_edit.setText("Settings › Trigger")  # the filter finds what is shown
    assert proxy.rowCount() == 2
