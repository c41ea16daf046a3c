"""How long from a win in Salesforce to its BigTime project — polling against the change stream —
for orgs of 15,000 and 100,000 daily API requests, and what each costs (issues 12.6 and 19)?

**Polling** (Change Data Capture off): the trigger interval is derived from the org's allowance
(core/cadence.py). A win comes at a moment independent of the schedule, so its wait is uniform on
[0, interval]: median interval ÷ 2 (computed, not slept), plus the cycle that turns it into a
project, measured for real on the in-process sandbox.

**Streaming** (Change Data Capture on, the default of `bigsync-gui sandbox`): a real
``bigsync-gui run`` process against a real ``bigsync-gui sandbox`` process, the org's allowance set
to the size, a profile connected by the real sign-in flow and configured. Once run says "Triggers:
Instant", ``--wins`` opportunities are won one after another (admin API) and each win → project
(the project's code appears in BigTime) is timed. Then ``--idle`` seconds with nothing happening:
the Salesforce REST requests (``/services/data``) in that window are counted, and the streaming
requests (``/cometd``, not API calls) separately. Then Change Data Capture is switched off in the
sandbox and the server forgets the client: run must fall back to polling and say so.

**REST requests per idle hour** come from the measured cost of one idle trigger cycle (sweep) and
one idle write-back run (both real): polling = 3600 ÷ interval cycles + the metadata refresh
(2 requests every 15 min) + 4 write-back runs; streaming = 3600 ÷ backstop sweeps (each refreshes
the metadata too: they are 30–60 min apart) + 4 write-back runs. **Events used per day**: each
Opportunity change in the org is one event delivered to BigSync; each win also costs the events
of our own writes on it (claim, project id, figures), measured here per win.

    .venv/bin/python benchmarks/trigger_latency.py                 # ~6 min (two 120 s idle windows)
    .venv/bin/python benchmarks/trigger_latency.py --idle 30 --wins 5
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import _setup

from bigsync_gui.connectors.http import RequestCounter
from bigsync_gui.core.cadence import METADATA_EVERY, METADATA_REQUESTS
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_codes
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.loop import backstop_seconds
from bigsync_gui.sandbox import Sandbox

ORG_SIZES = (15_000, 100_000)
CLI = [sys.executable, "-m", "bigsync_gui"]
WRITEBACK_RUNS_PER_HOUR = 4  # the default write-back interval, 15 min


def polling(sandbox: Sandbox, directory: Path, daily: int, wins: int, budget: float) -> dict[str, Any]:
    _setup.admin(sandbox.salesforce_admin_url, "POST", "/settings", {"daily_api_limit": daily})
    _setup.admin(sandbox.salesforce_admin_url, "POST", "/streaming", {"entities": []})
    profile = _setup.connect_profile(sandbox, directory, bigtime_auth="api_key")
    engine = Engine(Connector(profile, RequestCounter()))
    engine.configure("Closed Won")
    engine.update_settings(api_budget_percent=budget)
    engine.run_cycle()  # learns the org's allowance
    engine.run_writeback_cycle()
    idle_cycle = engine.run_cycle().salesforce_requests  # an idle sweep: the metadata is fresh
    idle_writeback = engine.run_writeback_cycle().salesforce_requests
    interval = engine.trigger_interval()
    world = sandbox.world
    with world.lock:
        account = next(a["Id"] for a in world.salesforce.all_records("Account") if not a.get("IsDeleted"))
    cycles: list[float] = []
    for n in range(wins):
        with world.lock:
            oid = world.salesforce.insert(
                "Opportunity",
                {
                    "Name": f"Latency win {daily}-{n}",
                    "StageName": "Closed Won",
                    "AccountId": account,
                    "CloseDate": datetime.now(timezone.utc).date().isoformat(),
                },
            )
        started = time.perf_counter()
        report = engine.run_cycle()
        cycles.append(time.perf_counter() - started)
        with world.lock:
            found = [p for p in world.bigtime.records["project"].values() if p["ProjectCode"] in project_codes(oid)]
        assert report.created == 1 and len(found) == 1, (report, found)
    cycle = statistics.median(cycles)
    per_hour = (
        3600 / interval.seconds * idle_cycle
        + 3600 / METADATA_EVERY * METADATA_REQUESTS
        + WRITEBACK_RUNS_PER_HOUR * idle_writeback
    )
    return {
        "interval": interval.seconds,
        "cycle": cycle,
        "median": interval.seconds / 2 + cycle,
        "worst": interval.seconds + max(cycles),
        "idle_cycle": idle_cycle,
        "idle_writeback": idle_writeback,
        "per_hour": per_hour,
    }


class Lines:
    """A child's stdout, line by line, with deadlines."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc, self.q = proc, queue.Queue[str]()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.q.put(line.rstrip("\n"))

    def until(self, wanted: str, seconds: float) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=0.2)
            except queue.Empty:
                continue
            if line.startswith(wanted):
                return line
        raise RuntimeError(f"`run` did not print {wanted!r} within {seconds:.0f} s")


def sf_requests(admin: str, since: int) -> tuple[int, int, int]:
    """(REST API requests, streaming requests, newest seq) answered since ``since``."""
    entries = _setup.admin(admin, "GET", f"/log?since={since}")["entries"]
    rest = sum(1 for e in entries if e["path"].startswith("/services/data"))
    stream = sum(1 for e in entries if e["path"].startswith("/cometd"))
    return rest, stream, max((e["seq"] for e in entries), default=since)


def streaming(home: Path, daily: int, wins: int, idle: float, budget: float) -> dict[str, Any]:
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }
    box = subprocess.Popen([*CLI, "sandbox"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    run: subprocess.Popen[str] | None = None
    try:
        assert box.stdout is not None
        info = json.loads(box.stdout.readline())
        sf_admin, bt_admin = info["salesforce"]["admin_url"], info["bigtime"]["admin_url"]
        _setup.admin(sf_admin, "POST", "/settings", {"daily_api_limit": daily})
        urls = SimpleNamespace(
            salesforce_url=info["salesforce"]["instance_url"], bigtime_url=info["bigtime"]["base_url"]
        )
        profile_dir = home / f"profile-{daily}"
        _setup.connect_profile(urls, profile_dir, bigtime_auth="api_key")  # type: ignore[arg-type]
        configured = subprocess.run(
            [
                *CLI,
                "--profile",
                str(profile_dir),
                "configure",
                "--trigger-stage",
                "Closed Won",
                "--api-budget-percent",
                str(budget),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        assert configured.returncode == 0, configured.stderr
        run = subprocess.Popen(
            [*CLI, "--profile", str(profile_dir), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        lines = Lines(run)
        lines.until("Triggers: Instant", 60)
        lines.until("Writeback cycle", 60)  # the start's sweep and the first write-back are done
        records = _setup.admin(sf_admin, "GET", "/records/Opportunity")["records"]
        open_opps = [
            r["Id"]
            for r in records
            if not r.get("IsDeleted")
            and r.get("AccountId")
            and r["StageName"] in ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition")
        ]
        events_before = _setup.admin(sf_admin, "GET", "/streaming")["events_delivered"]
        latencies: list[float] = []
        for oid in open_opps[:wins]:
            codes = set(project_codes(oid))
            started = time.monotonic()
            _setup.admin(sf_admin, "PATCH", f"/records/Opportunity/{oid}", {"StageName": "Closed Won"})
            while not any(p.get("ProjectCode") in codes for p in _setup.admin(bt_admin, "GET", "/records/project")):
                if time.monotonic() - started > 120:
                    raise RuntimeError(f"no project for {oid} within 120 s")
                time.sleep(0.05)
            latencies.append(time.monotonic() - started)
        time.sleep(5)  # the project ids written back (their events come too)
        events = _setup.admin(sf_admin, "GET", "/streaming")["events_delivered"] - events_before
        _, _, seq = sf_requests(sf_admin, 0)
        time.sleep(idle)
        rest, stream, seq = sf_requests(sf_admin, seq)
        _setup.admin(sf_admin, "POST", "/streaming", {"entities": []})
        _setup.admin(sf_admin, "POST", "/streaming/forget")
        fallback = lines.until("Triggers: Checks every", 60)
        return {
            "latencies": latencies,
            "idle_rest": rest,
            "idle_stream": stream,
            "events_per_win": events / wins,
            "fallback": fallback,
        }
    finally:
        for proc in (run, box):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wins", type=int, default=5, help="wins measured per org size and mode (default 5)")
    parser.add_argument("--idle", type=float, default=120.0, help="idle seconds counted while streaming (default 120)")
    parser.add_argument(
        "--budget", type=float, default=5.0, help="API budget, percent of the daily allowance (default 5)"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bigsync-latency-"))
    ring = tmp / "data" / "python_keyring" / "keyring_pass.cfg"
    ring.parent.mkdir(parents=True)
    _setup.use_file_keyring(ring)
    print(
        f"Budget {args.budget:g}% of the org's daily allowance; {args.wins} wins per org size and mode; "
        f"{args.idle:.0f} idle s counted while streaming. Timings on a shared machine are noisy."
    )
    rows = []
    for daily in ORG_SIZES:
        with Sandbox() as sandbox:
            poll = polling(sandbox, tmp / f"poll-{daily}", daily, args.wins, args.budget)
        live = streaming(tmp, daily, args.wins, args.idle, args.budget)
        backstop = backstop_seconds(poll["interval"])
        stream_hour = (
            math.ceil(3600 / backstop) * (poll["idle_cycle"] + METADATA_REQUESTS)
            + WRITEBACK_RUNS_PER_HOUR * poll["idle_writeback"]
        )
        rows.append((daily, poll, live, backstop, stream_hour))
    print(
        f"\n{'daily requests':>15} {'mode':>10} {'median win→project':>19} {'worst':>8} {'REST/idle hour':>15} "
        f"{'events used/day':>32}"
    )
    for daily, poll, live, backstop, stream_hour in rows:
        print(
            f"{daily:>15,} {'polling':>10} {poll['median']:>18.1f}s {poll['worst']:>7.0f}s {poll['per_hour']:>15.0f} "
            f"{'0':>32}"
        )
        print(
            f"{'':>15} {'streaming':>10} {statistics.median(live['latencies']):>18.1f}s "
            f"{max(live['latencies']):>7.1f}s {stream_hour:>15.0f} "
            f"{'1 per Opportunity change + ' + format(live['events_per_win'], '.0f') + '/win':>32}"
        )
    print("\nPolling: interval (s), measured cycle (s), idle cycle / write-back requests:")
    for daily, poll, _live, backstop, _h in rows:
        print(
            f"  {daily:>7,}: interval {poll['interval']} s, cycle {poll['cycle']:.2f} s, idle cycle "
            f"{poll['idle_cycle']} request(s), idle write-back {poll['idle_writeback']}; "
            f"streaming backstop {backstop:.0f} s"
        )
    print("\nStreaming, measured (`bigsync-gui run` against `bigsync-gui sandbox`):")
    for daily, _poll, live, _b, _h in rows:
        wins = ", ".join(f"{x:.1f}" for x in live["latencies"])
        print(
            f"  {daily:>7,}: win→project s: {wins}; {args.idle:.0f} idle s: {live['idle_rest']} REST request(s), "
            f"{live['idle_stream']} streaming request(s); CDC off: run said {live['fallback']!r}"
        )


if __name__ == "__main__":
    main()
