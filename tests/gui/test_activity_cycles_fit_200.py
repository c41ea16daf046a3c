"""At 200 % on a 1280×800 screen (640×400 points, offscreen with that screen) Activity's Cycles table
does not scroll sideways: its nine columns pushed Message off to the right. Now When, Kind, Result
and Changes are as wide as their content and Message takes the rest, elided, whole in its tooltip
(gui/cycles_table.py)."""

from __future__ import annotations

import json
from pathlib import Path

from at_200_percent import run_at_200_percent

LONG = (
    "BigTime answered 503 Service Unavailable while reading the project list for <b>Acme</b>; the cycle "
    "will be retried on the next interval and nothing was written twice."
)

SCRIPT = r"""
import json, sys, time
from pathlib import Path
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.store import Store
from bigsync_gui.gui.app import make_app
from bigsync_gui.gui.activity import ActivityWindow
app = make_app(["x"])
root, long_message = Path(sys.argv[1]), sys.argv[2]
profile = Profile.at(root / "p")
store = Store(profile.data_dir / "state.db")
with store.transaction():
    writeback = store.start_cycle("writeback")
    for n in range(3):
        store.event(writeback, "written", f"Wrote the figures of project {1000 + n}.", f"006W{n}", 1000 + n)
    store.end_cycle(writeback, "ok", "Checked 12 linked projects; 3 changed and were written back.", 3, 2)
    sync = store.start_cycle("trigger")
    for n, kind in enumerate(("created", "created", "linked", "restored", "severed", "rejected")):
        store.event(sync, kind, f"Opportunity {n}: {kind}.", f"006S{n}", 2000 + n)
    store.end_cycle(sync, "partial", "", 5, 9)
    store.end_cycle(store.start_cycle("trigger"), "failed", long_message, 1, 0, "Offline", "bigtime")
    store.end_cycle(store.start_cycle("trigger"), "failed", "KeyError: 'Id'", 1, 0, "Unexpected", "")
store.close()
w = ActivityWindow(profile)
w.show()
w.tabs.setCurrentIndex(1)  # Cycles
deadline = time.monotonic() + 10  # loaded off the GUI thread; the layout settles in a few event-loop turns
while (w._loading or w.cycle_proxy.rowCount() < 4) and time.monotonic() < deadline:
    QTest.qWait(50)
view = w.cycle_view
bar = view.horizontalScrollBar()
while bar.maximum() and time.monotonic() < deadline:
    QTest.qWait(50)
w.grab().save(str(root / "cycles-200.png"))
header = view.horizontalHeader()
message = header.count() - 1  # the last column
messages = [w.cycle_proxy.index(r, message) for r in range(w.cycle_proxy.rowCount())]
print(json.dumps({
    "screen": [w.screen().size().width(), w.screen().size().height()], "rows": w.cycle_proxy.rowCount(),
    "hmax": bar.maximum(), "viewport": view.viewport().width(),
    "sections": [header.sectionSize(c) for c in range(header.count())],
    "content": [view.sizeHintForColumn(c) for c in range(header.count())],
    "tips": [m.data(Qt.ItemDataRole.ToolTipRole) for m in messages],
}))
"""


def test_the_cycles_table_fits_the_window_at_200_percent(tmp_path):
    run = run_at_200_percent(tmp_path, SCRIPT, tmp_path, LONG)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["screen"] == [640, 400]  # 1280×800 at 200 %, in points
    assert out["rows"] == 4
    assert out["hmax"] == 0, out  # no sideways scrolling
    sections, content = out["sections"], out["content"]
    assert len(sections) == 5 and sum(sections) <= out["viewport"], out
    for column in range(3):  # When, Kind, Result: whole, never elided
        assert sections[column] >= content[column], (column, out)
    assert sections[4] >= out["viewport"] // 3, out  # Message has room to be read, not pushed off the right
    # the long message, cut in its cell, is whole in its tooltip, escaped: shown as plain text
    assert "the project list for &lt;b&gt;Acme&lt;/b&gt;; the cycle will be retried" in out["tips"][1]
    assert "<b>" not in out["tips"][1]
    assert Path(tmp_path / "cycles-200.png").stat().st_size > 0
