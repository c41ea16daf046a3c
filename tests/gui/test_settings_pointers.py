"""Every sentence that sends the admin to "Settings › X" names a section the Settings window has: a
pointer to "Settings › Salesforce fields" sends the admin nowhere when the sidebar says "Fields"."""

from __future__ import annotations

import re
from pathlib import Path

import bigsync_gui
from bigsync_gui.gui.settings_window import SECTIONS

POINTER = re.compile(r"(?<!Object )(?<!› )Settings › ([A-Z][\w ]*)")  # not a path in Salesforce's Setup


def test_every_settings_pointer_names_a_section() -> None:
    root = Path(bigsync_gui.__file__).parent
    found = {
        (path.relative_to(root).as_posix(), match.group(1))
        for path in root.rglob("*.py")
        for match in POINTER.finditer(path.read_text(encoding="utf-8"))
    }
    assert found  # the pattern still finds the pointers
    wrong = sorted((where, name) for where, name in found if not name.startswith(SECTIONS))
    assert not wrong, wrong
