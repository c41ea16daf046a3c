"""The sync process's wire format (core/loop_events.py): each event the child writes is read back
by the tray as the signal and arguments the in-process runner would have given."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from bigsync_gui.core import loop_events as wire
from bigsync_gui.core.cycle_report import CycleReport
from bigsync_gui.core.problems import SyncState, describe
from bigsync_gui.connectors.errors import ReconnectNeeded


def test_each_event_reads_back_as_its_signal() -> None:
    report = CycleReport(7, "trigger", "failed", "Offline: refused", error="Offline", system="bigtime", retry_after=30)
    problem = describe(ReconnectNeeded("salesforce", "Salesforce refused the refresh token."))
    lines = [
        wire.encode("cycle_started"),
        wire.encode("progress", done=3, total=40),
        wire.encode("report", report=report.to_json()),
        wire.encode_problem(problem),
        wire.encode("waiting", seconds=math.inf, failures=0),
        wire.encode("waiting", seconds=42.5, failures=2),
        wire.encode("rate_wait", system="bigtime", seconds=12.0),
        wire.encode("seed", cycle={"result": "ok", "created": 2}),
        wire.encode("seed", cycle=None),
        wire.encode("triggers", text="Checks every 7 min (Change Data Capture is off)"),
    ]
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    read = [wire.decode(line) for line in lines]
    assert read[0] == ("cycle_started", ())
    assert read[1] == ("progress", (3, 40))
    assert read[2] == ("cycle_finished", (report,))
    assert read[2][1][0].problem() == report.problem()  # the tray words a failed cycle as before
    signal, (told,) = read[3]
    assert signal == "problem" and told == problem and told.state is SyncState.ATTENTION
    assert told.fix is not None and told.fix.start_page == "salesforce"
    assert read[4] == ("waiting", (math.inf, 0)) and read[5] == ("waiting", (42.5, 2))
    assert read[6] == ("rate_wait", ("bigtime", 12.0))
    assert read[7] == ("seeded", ({"result": "ok", "created": 2},)) and read[8] == ("seeded", (None,))
    assert read[9] == ("triggers", ("Checks every 7 min (Change Data Capture is off)",))


def test_a_report_from_a_newer_sync_process_keeps_what_the_tray_knows() -> None:
    data = {**CycleReport(1, "writeback", "ok", "").to_json(), "written": 4, "something_new": 1}
    assert wire.decode(wire.encode("report", report=data)) == (
        "cycle_finished",
        (CycleReport(1, "writeback", "ok", "", written=4),),
    )


@pytest.mark.parametrize(
    "line",
    [
        "",
        "Traceback (most recent call last):\n",
        "[1, 2]\n",
        '{"event": "launch_missiles"}\n',
        '{"event": "progress", "done": "many"}\n',
        '{"event": "seed", "cycle": [1]}\n',
        '{"event": "report", "report": {"kind": "trigger"}}\n',
    ],
)
def test_a_line_that_is_not_an_event_is_refused_not_guessed(line: str) -> None:
    with pytest.raises(ValueError, match="not a line of the sync process"):
        wire.decode(line)


def test_only_known_events_are_written() -> None:
    with pytest.raises(ValueError):
        wire.encode("launch_missiles")


def test_progress_is_told_at_most_about_a_hundred_times_a_cycle() -> None:
    told, last = [], (-1, -1)
    for done in range(1, 1001):
        if wire.progress_worth_telling(done, 1000, last):
            last = (done, 1000)
            told.append(done)
    assert told[0] == 1 and told[-1] == 1000 and 100 <= len(told) <= 102


def test_the_wire_module_loads_nothing_of_the_engine() -> None:
    """The tray imports it to read the child's lines: no engine, HTTP stack, keyring or sqlite."""
    code = (
        "import sys, bigsync_gui.core.loop_events; "
        "print(sorted(m for m in ('requests', 'keyring', 'sqlite3', 'bigsync_gui.core.engine', "
        "'bigsync_gui.core.loop') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
