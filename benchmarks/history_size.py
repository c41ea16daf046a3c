"""The state database after a simulated year of cycles at the shortest interval, with and without
the history's bounds (core/history.py).

    .venv/bin/python benchmarks/history_size.py [--days 365] [--interval 30] [--skip-unbounded]

A cycle every ``--interval`` seconds for ``--days`` days (30 s: ~2,880 cycles a day), one in 40 of
them with a project created (an event), one in 500 failed; pruning runs as the sync runs it (asked
after every cycle, working at most hourly, on the simulated clock). Prints for each database its
size on disk, its rows, and Activity's load time (``Store.recent_activity``, the read the Activity
window makes, median of 20). Sizes are exact for these rows; times depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bigsync_gui.core import history  # noqa: E402
from bigsync_gui.core.settings import SyncSettings  # noqa: E402
from bigsync_gui.core.store import Store  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def simulate(path: Path, days: int, interval: int, bounded: bool) -> Store:
    store = Store(path)
    defaults = SyncSettings()
    per_hour = max(1, 3600 // interval)
    n = 0
    for hour in range(days * 24):
        base = START + timedelta(hours=hour)
        with store.transaction():
            for k in range(per_hour):
                at = (base + timedelta(seconds=k * interval)).isoformat(timespec="milliseconds")
                n += 1
                result = "failed" if n % 500 == 0 else "ok"
                cur = store.db.execute(
                    "INSERT INTO cycles (kind, started_at, ended_at, result, message, salesforce_requests)"
                    " VALUES ('trigger', ?, ?, ?, ?, 1)",
                    (at, at, result, "Salesforce could not be reached" * (result == "failed")),
                )
                if n % 40 == 0:
                    store.db.execute(
                        "INSERT INTO events (cycle_id, at, kind, opportunity_id, project_id, message)"
                        " VALUES (?, ?, 'created', ?, ?, ?)",
                        (cur.lastrowid, at, f"006{n:015d}", n, "Project “Globex – Data platform” created"),
                    )
            store.db.execute(
                "INSERT INTO api_usage (day, system, requests) VALUES (?, 'salesforce', ?)"
                " ON CONFLICT(day, system) DO UPDATE SET requests = requests + excluded.requests",
                (base.date().isoformat(), per_hour),
            )
        if bounded:
            history.prune_if_due(store, base + timedelta(hours=1), defaults.history_days, defaults.history_max_cycles)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store


def report(label: str, store: Store, path: Path) -> None:
    rows = {t: int(store.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in ("cycles", "events")}
    times = []
    for _ in range(20):
        began = time.perf_counter()
        store.recent_activity()
        times.append(time.perf_counter() - began)
    size = path.stat().st_size / 1e6
    print(
        f"{label:<10} {size:8.1f} MB  cycles {rows['cycles']:>9,}  events {rows['events']:>7,}  "
        f"Activity load {statistics.median(times) * 1000:6.1f} ms (median of 20)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--interval", type=int, default=30)
    parser.add_argument("--skip-unbounded", action="store_true", help="only the bounded database (faster)")
    args = parser.parse_args()
    defaults = SyncSettings()
    print(
        f"{args.days} simulated days, a cycle every {args.interval} s; bounds: {defaults.history_days} days, "
        f"{defaults.history_max_cycles:,} cycles"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for bounded in (True, False):
            if not bounded and args.skip_unbounded:
                continue
            path = Path(tmp) / f"state-{bounded}.db"
            began = time.perf_counter()
            store = simulate(path, args.days, args.interval, bounded)
            print(f"  (simulated in {time.perf_counter() - began:.0f} s)")
            report("bounded" if bounded else "unbounded", store, path)
            store.close()


if __name__ == "__main__":
    main()
