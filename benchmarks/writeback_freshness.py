"""How old can a figure in Salesforce get, when BigTime does not say which projects changed?

With the strict reading of BigTime (the sandbox's default: no ``DtModified`` in the project list,
time and expenses do not touch the project), the write-back keeps figures fresh by re-reading a
bounded rotation of linked projects each run (core/writeback.py). This prints, for 1,000 linked
projects at BigTime's ~30 requests/min and the default 15-minute write-back interval:

- the rotation's size per run and the BigTime requests per run (idle cost),
- the oldest figure's age: a project waits for ⌈linked ÷ rotation⌉ runs, but never less than
  REFRESH_MIN_AGE, so the oldest age is max(REFRESH_MIN_AGE, ⌈linked ÷ rotation⌉ × interval).

How: the formula above is checked by a short **real run** first — ``run_writeback`` against the
in-process sandbox (strict reading) with ``--real`` linked projects and a short interval, its clock
moved one interval per run — measuring at the start of each run the age of the least recently
re-read project (from the store) and the BigTime requests it made (the sandbox's log). The
1,000-project figure is then computed from the same schedule (``rotation_size`` and the constants
of core/writeback.py), not run: 1,000 projects at 30 requests/min is hours of wall time.

    .venv/bin/python benchmarks/writeback_freshness.py             # ~20 s
    .venv/bin/python benchmarks/writeback_freshness.py --real 120 --linked 5000
"""

from __future__ import annotations

import argparse
import math
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import requests

from bigsync_gui.connectors.bigtime import ApiKeyAuth, BigTimeClient
from bigsync_gui.connectors.http import HttpPolicy
from bigsync_gui.connectors.salesforce import SalesforceClient, StaticToken
from bigsync_gui.core import writeback
from bigsync_gui.core.settings import DEFAULT_FIELD_MAP
from bigsync_gui.core.store import Store
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred

START = datetime(2026, 3, 24, 9, 0, tzinfo=timezone.utc)


def oldest_age(n_linked: int, interval_s: float, min_age: timedelta) -> float:
    """Seconds: the schedule's bound on the oldest figure (see the module docstring)."""
    per_run = writeback.rotation_size(interval_s, 2)
    return max(min_age.total_seconds(), math.ceil(n_linked / per_run) * interval_s)


def hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def real_run(n: int, interval_s: float, runs: int) -> tuple[float, list[int]]:
    """Max age (s) seen at the start of a run, and BigTime requests per run, over ``runs`` runs after a first one."""
    with Sandbox(clock=START) as sandbox, tempfile.TemporaryDirectory() as tmp:
        world = sandbox.world
        grant = requests.post(
            sandbox.salesforce_url + "/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": cred.SF_CONSUMER_KEY,
                "username": cred.SF_USERNAME,
                "password": cred.SF_PASSWORD,
            },
            timeout=10,
        ).json()
        sf = SalesforceClient(
            sandbox.salesforce_url, StaticToken(grant["access_token"], grant), HttpPolicy("salesforce")
        )
        bt = BigTimeClient(sandbox.bigtime_url, ApiKeyAuth(cred.BT_API_KEY, cred.BT_FIRM_ID), HttpPolicy("bigtime"))
        store = Store(Path(tmp) / "state.db")
        with world.lock:
            for i in range(n):
                pid = world.bigtime.directory.create_project(
                    {"Nm": f"Rotated {i:04d}", "BudgetHours": 10, "BudgetFees": 1000}
                )
                world.bigtime.directory.add_task(pid, {"TaskNm": "Work", "BudgetHours": 10, "BudgetFees": 1000})
                opp = world.salesforce.insert(
                    "Opportunity",
                    {"Name": f"Deal {i:04d}", "StageName": "Closed Won", "CloseDate": "2026-12-31"},
                    system=True,
                )
                with store.transaction():
                    store.add_link(opp, pid, None, None, f"Deal {i:04d}")
        now = datetime.now(timezone.utc)

        def run() -> int:
            requests.delete(sandbox.bigtime_admin_url + "/log", timeout=10)
            sf.new_cycle()
            with store.transaction():
                cycle = store.start_cycle("writeback")
            writeback.run_writeback(store, sf, bt, dict(DEFAULT_FIELD_MAP), cycle, now=now, interval_seconds=interval_s)
            return requests.get(sandbox.bigtime_admin_url + "/log", timeout=10).json()["count"]

        run()  # the first run writes every project
        ages, counts = [], []
        for _ in range(runs):
            now += timedelta(seconds=interval_s)
            refreshed = [datetime.fromisoformat(values["_refreshed"]) for _, values in store.all_written().values()]
            ages.append((now - min(refreshed)).total_seconds())
            counts.append(run())
        store.close()
        return max(ages), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--linked", type=int, default=1000, help="linked projects for the computed figure")
    parser.add_argument(
        "--interval", type=float, default=900, help="write-back interval, seconds (the default setting)"
    )
    parser.add_argument("--real", type=int, default=60, help="linked projects in the short real run")
    args = parser.parse_args()

    # The real run: a 2-minute interval rotates 15 projects a run; REFRESH_MIN_AGE is set to one
    # interval so that the rotation, not the minimum age, bounds the age (as with 1,000 projects).
    interval = 120.0
    per_run = writeback.rotation_size(interval, 2)
    runs = 3 * math.ceil(args.real / per_run)
    with mock.patch.object(writeback, "REFRESH_MIN_AGE", timedelta(seconds=interval)):
        measured, counts = real_run(args.real, interval, runs)
        expected = oldest_age(args.real, interval, timedelta(seconds=interval))
    print(f"real run: {args.real} linked projects, interval {interval:.0f} s, rotation {per_run} per run, {runs} runs")
    print(f"  oldest figure at the start of a run: measured {measured:.0f} s, schedule says {expected:.0f} s")
    print(f"  BigTime requests per run: {min(counts)}–{max(counts)} (schedule: 2 + 2 × {per_run} = {2 + 2 * per_run})")

    per_run = writeback.rotation_size(args.interval, 2)
    per_run_requests = 2 + 2 * min(per_run, args.linked)
    age = oldest_age(args.linked, args.interval, writeback.REFRESH_MIN_AGE)
    print(
        f"\ncomputed: {args.linked} linked projects, write-back every {args.interval / 60:.0f} min, "
        f"BigTime at {writeback.BIGTIME_REQUESTS_PER_MINUTE} requests/min "
        f"(rotation share {writeback.ROTATION_SHARE:.0%})"
    )
    print(
        f"  rotation: {per_run} projects per run → every project re-read every {math.ceil(args.linked / per_run)} runs"
    )
    print(
        f"  BigTime requests per idle run: {per_run_requests} "
        f"({per_run_requests / (args.interval / 60):.1f}/min of {writeback.BIGTIME_REQUESTS_PER_MINUTE}); "
        f"{per_run_requests * 3600 / args.interval:.0f} per idle hour"
    )
    print(
        f"  oldest figure's age: {hm(age)} (+ the run's own duration, about "
        f"{hm(per_run_requests / writeback.BIGTIME_REQUESTS_PER_MINUTE * 60)} at that pace)"
    )


if __name__ == "__main__":
    main()
