"""The sandbox console fits its window: no sideways scrolling and every control in view in a 1000
and a 640 point wide browser window, and maximized at 200 % on a 1280×800 screen
(docs/sandbox.md, "The console"). The page is opened in Qt WebEngine in a process of its own
(tests/console_fit_probe.py); one opportunity is in the recycle bin and shown, so Restore is
measured as well as Move and Delete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from at_200_percent import run_at_200_percent
from bigsync_gui.sandbox import Sandbox

pytestmark = pytest.mark.webengine

PROBE = Path(__file__).resolve().parent.parent / "console_fit_probe.py"
RUN_PROBE = (
    "import runpy, sys; probe = sys.argv.pop(1); sys.argv[0] = probe; runpy.run_path(probe, run_name='__main__')"
)


LONG_WORD = "Überdimensionierungsvermeidungsprojektabschlussbesprechung"


def console_with_recycle_bin(sandbox: Sandbox) -> str:
    """The console's URL showing deleted opportunities, one of them deleted (its Restore button),
    and one named with a word longer than any column is wide."""
    sf = sandbox.world.salesforce
    opp = next(r for r in sf.all_records("Opportunity") if not r.get("IsDeleted"))
    with sandbox.world.lock:
        sf.delete("Opportunity", opp["Id"])
        sf.insert("Opportunity", {"Name": LONG_WORD * 2, "StageName": "Prospecting", "CloseDate": "2026-04-30"})
    return sandbox.console_url + "?deleted=1"


def measured(run: subprocess.CompletedProcess) -> dict:
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no measure printed; stderr: {run.stderr[-3000:]}"
    measure = json.loads(lines[-1])
    assert "error" not in measure, measure
    return measure


def assert_fits(measure: dict, width: int) -> None:
    assert measure["inner_width"] == width, measure
    assert measure["buttons"] > 40 and measure["controls"] > measure["buttons"], measure  # the whole page measured
    assert measure["scroll_max"] == 0, f"the page scrolls sideways: {measure}"
    assert measure["outside_count"] == 0, f"controls outside the window or hidden: {measure}"


@pytest.mark.parametrize("width", [1000, 640])
def test_console_fits_a_browser_window(sandbox: Sandbox, width: int) -> None:
    url = console_with_recycle_bin(sandbox)
    requests.delete(sandbox.salesforce_admin_url + "/log", timeout=10).raise_for_status()
    env = {k: v for k, v in os.environ.items() if k != "QT_SCALE_FACTOR"}
    run = subprocess.run(
        [sys.executable, str(PROBE), url, str(width), "800"], capture_output=True, text=True, env=env, timeout=120
    )
    assert_fits(measured(run), width)
    # Opening the page asks the emulator for nothing: its "Recent API requests" show only the sync's.
    logged = requests.get(sandbox.salesforce_admin_url + "/log", timeout=10).json()["entries"]
    assert [e["path"] for e in logged] == []


def test_console_fits_maximized_at_200_percent_on_1280_by_800(sandbox: Sandbox, tmp_path: Path) -> None:
    url = console_with_recycle_bin(sandbox)
    measure = measured(run_at_200_percent(tmp_path, RUN_PROBE, PROBE, url, 0, 0))
    assert measure["device_pixel_ratio"] == 2, measure
    assert_fits(measure, 640)
