"""The line `sync --once` prints for a cycle reads as English: "1 opportunity written", not "1 opportunities"."""

from __future__ import annotations

import pytest

from bigsync_gui.cli import _print_report
from bigsync_gui.core.cycle import CycleReport


@pytest.mark.parametrize(("written", "words"), [(1, "1 opportunity written"), (3, "3 opportunities written")])
def test_the_writeback_line_counts_opportunities_in_their_number(capsys, written: int, words: str) -> None:
    _print_report(CycleReport(6, "writeback", "ok", "", written=written, salesforce_requests=6,
                              bigtime_requests=5), as_json=False)
    line = capsys.readouterr().out
    assert line == f"Writeback cycle 6: ok — {words} (6 Salesforce, 5 BigTime requests).\n"
