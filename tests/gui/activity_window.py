"""Activity as the admin first sees it: the window opened and its first load done (the tests of
test_activity.py and test_activity_feed.py start here)."""

from __future__ import annotations

from typing import Any

from bigsync_gui.core.profile import Profile
from bigsync_gui.gui.activity import ActivityWindow


def shown_activity(qtbot: Any, profile: Profile) -> ActivityWindow:
    win = ActivityWindow(profile)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.loaded, timeout=10000):
        win.show()
    return win
