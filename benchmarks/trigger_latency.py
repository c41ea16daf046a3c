"""How long from a win in Salesforce to its BigTime project, for orgs of 15,000 and 100,000 daily
API requests (issue 12.6)?

The trigger interval is derived from the org's allowance and the budget share (core/cadence.py).
A win happens at a moment independent of the loop's schedule, so its wait for the next cycle is
uniform on [0, interval]: the median wait is interval ÷ 2. Latency = that wait + the time the
cycle takes to read the win, create the client and project, add its contacts and write the
project id back.

How: for each org size, a **real run** against the in-process sandbox — the org's daily limit
set to that size, a profile connected by the real sign-in flow, `configure "Closed Won"`, one idle
cycle (the engine learns the allowance from ``Sforce-Limit-Info``), then the interval the loop
would use (``Engine.trigger_interval()``) and ``--wins`` wins, each made just before a cycle whose
wall time until the project exists is measured. The median latency printed is interval ÷ 2 + the
median measured cycle time (the wait itself is computed, not slept: 30 s × wins would be minutes).

    .venv/bin/python benchmarks/trigger_latency.py            # ~10 s
    .venv/bin/python benchmarks/trigger_latency.py --wins 20 --budget 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import _setup

from bigsync_gui.connectors.http import RequestCounter
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_codes
from bigsync_gui.core.engine import Engine
from bigsync_gui.sandbox import Sandbox

ORG_SIZES = (15_000, 100_000)


def measure(sandbox: Sandbox, directory: Path, daily: int, wins: int, budget: float) -> dict[str, float]:
    _setup.admin(sandbox.salesforce_admin_url, "POST", "/settings", {"daily_api_limit": daily})
    profile = _setup.connect_profile(sandbox, directory, bigtime_auth="api_key")
    engine = Engine(Connector(profile, RequestCounter()))
    engine.configure("Closed Won")
    engine.update_settings(api_budget_percent=budget)
    engine.run_cycle()  # learns the org's allowance
    interval = engine.trigger_interval()
    world = sandbox.world
    with world.lock:
        account = next(a["Id"] for a in world.salesforce.all_records("Account") if not a.get("IsDeleted"))
    cycles: list[float] = []
    for n in range(wins):
        with world.lock:
            oid = world.salesforce.insert("Opportunity", {
                "Name": f"Latency win {daily}-{n}", "StageName": "Closed Won", "AccountId": account,
                "CloseDate": datetime.now(timezone.utc).date().isoformat()})
        started = time.perf_counter()
        report = engine.run_cycle()
        cycles.append(time.perf_counter() - started)
        with world.lock:
            found = [p for p in world.bigtime.records["project"].values() if p["ProjectCode"] in project_codes(oid)]
        assert report.created == 1 and len(found) == 1, (report, found)
    cycle = statistics.median(cycles)
    return {"interval": interval.seconds, "source": interval.source, "cycle": cycle,
            "median": interval.seconds / 2 + cycle, "worst": interval.seconds + max(cycles)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wins", type=int, default=5, help="wins measured per org size (default 5)")
    parser.add_argument(
        "--budget", type=float, default=5.0, help="API budget, percent of the daily allowance (default 5)"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bigsync-latency-"))
    _setup.use_file_keyring(tmp / "keyring.cfg")
    print(f"Budget {args.budget:g}% of the org's daily allowance; {args.wins} wins measured per org.")
    print(f"{'daily requests':>15} {'interval':>9} {'cycle (median)':>15} {'median latency':>15} {'worst':>8}")
    with Sandbox() as sandbox:
        for daily in ORG_SIZES:
            r = measure(sandbox, tmp / f"profile-{daily}", daily, args.wins, args.budget)
            print(f"{daily:>15,} {r['interval']:>8.0f}s {r['cycle']:>14.2f}s {r['median']:>14.1f}s {r['worst']:>7.0f}s")


if __name__ == "__main__":
    main()
