"""The line `sync --once` prints for a cycle reads as English: "1 opportunity written", not "1 opportunities"."""

from __future__ import annotations

import pytest

from bigsync_gui.cli_sync import print_report
from bigsync_gui.core.cycle import CycleReport


@pytest.mark.parametrize(("written", "words"), [(1, "1 opportunity written"), (3, "3 opportunities written")])
def test_the_writeback_line_counts_opportunities_in_their_number(capsys, written: int, words: str) -> None:
    print_report(
        CycleReport(6, "writeback", "ok", "", written=written, salesforce_requests=6, bigtime_requests=5), as_json=False
    )
    line = capsys.readouterr().out
    assert line == f"Writeback cycle 6: ok — {words} (6 Salesforce, 5 BigTime requests).\n"


def test_status_says_each_cycles_kind_and_what_it_did(tmp_path, capsys) -> None:
    """A write-back used to read "created 0, severed 0, rejected 0" in `status`, hiding what it wrote."""
    from bigsync_gui.cli import main
    from bigsync_gui.core.profile import Profile
    from bigsync_gui.core.settings import Settings
    from bigsync_gui.core.store import Store

    profile = Profile.at(tmp_path / "p")
    settings = Settings()
    settings.sync.trigger_stage = "Closed Won"
    settings.save(profile)
    store = Store(profile.data_dir / "state.db")
    try:
        trigger = store.start_cycle("trigger")
        for n in range(9):
            store.event(trigger, "created", f"Created BigTime project {1001 + n}.", f"006A{n}", 1001 + n)
        store.end_cycle(trigger, "ok", "Full reconcile done.", 4, 9)
        writeback = store.start_cycle("writeback")
        for n in range(9):
            store.event(writeback, "written", "Updated 3 BigTime figures.", f"006A{n}", 1001 + n)
        store.end_cycle(writeback, "ok", "Checked 9 linked projects; 9 changed.", 5, 29)
        quiet = store.start_cycle("trigger")
        store.end_cycle(quiet, "ok", "", 1, 0)
    finally:
        store.close()
    assert main(["status", "--profile", str(profile.config_dir.parent)]) == 0
    lines = [line.split("  ", 2)[-1].strip() for line in capsys.readouterr().out.splitlines()[2:5]]
    assert lines == [
        "ok            Trigger: nothing to do.",
        "ok            Writeback: 9 opportunities written. Checked 9 linked projects; 9 changed.",
        "ok            Trigger: 9 created. Full reconcile done.",
    ]
