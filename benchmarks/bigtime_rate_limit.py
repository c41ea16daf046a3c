"""N wins against BigTime's rate limit: requests, 503s, wall time against the limit's floor, and
lost or redone work (must be 0).

The BigTime emulator refuses the 31st request in any rolling window with a 503 without
Retry-After, as BigTime is met by public clients (30 a minute). 1,000 wins at 30 a minute would
take over an hour, so **the minute is scaled down**: the window is --window seconds (default 0.6 s,
i.e. 100× faster) for the emulator and for the client's pace alike, and every figure is also shown
in real minutes (× 60 / window). Two runs on one sandbox, the engine in this process:

  paced     the app as shipped: the client paces itself at --pace per window (25, under 30)
  unpaced   the client's pace above the limit (the firm's budget shared with another app, say):
            the emulator refuses; a read waits a window and is sent again, a refused create is
            resumed once in the cycle after a fresh look at BigTime's projects; a cycle stopped
            all the same is followed by the next after the loop's wait (core.loop, scaled too)

    .venv/bin/python benchmarks/bigtime_rate_limit.py               # 1,000 wins, ~3-4 min on 2 cores
    .venv/bin/python benchmarks/bigtime_rate_limit.py --wins 200    # a quick look
"""

from __future__ import annotations

import argparse
import collections
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _setup
from engine_cycles import TRIGGER, Accounts, load_wins, seed_accounts

from bigsync_gui.connectors.http import RequestCounter
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_code
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.loop import next_wait
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox.world import World


@dataclass
class Result:
    name: str
    wins: int
    pace: int
    cycles: int
    failed_cycles: int
    wall: float
    answered: int  # BigTime requests the emulator did (not refused)
    refused: int  # 503s seen
    kinds: collections.Counter[str]
    lost: int  # wins without a project
    duplicates: int  # projects beyond one per win
    creates_ok: int  # successful POST /project/detail


def run(
    name: str,
    sandbox: Sandbox,
    world: World,
    accounts: Accounts,
    tmp: Path,
    args: argparse.Namespace,
    pace: int,
    rng: random.Random,
) -> Result:
    profile = _setup.connect_profile(sandbox, tmp / name, bigtime_auth="api_key")
    connector = Connector(profile, RequestCounter(), pace=(pace, args.window))
    engine = Engine(connector)
    engine.configure(TRIGGER)  # earlier runs' wins are "already past": left alone
    wins, _ = load_wins(world, accounts, args.wins, name, args.roles, rng)
    _setup.set_bigtime_rate_limit(sandbox, args.limit, args.window)  # the window starts empty
    _setup.clear_logs(sandbox)
    reports = []
    started = time.perf_counter()
    while len(reports) < args.max_cycles:
        report = engine.run_cycle()
        reports.append(report)
        if report.result != "failed":
            break
        if report.error != "RateLimited":
            raise SystemExit(f"{name}: cycle failed with {report.error}: {report.message}")
        failures = sum(r.result == "failed" for r in reports)  # in a row: the run stops at the first success
        time.sleep(max(report.retry_after, next_wait(300, failures) * args.window / 60))  # the loop's wait, scaled
    wall = time.perf_counter() - started
    log = _setup.logged(sandbox)["bigtime"]
    with world.lock:
        codes = collections.Counter(p["ProjectCode"] for p in world.bigtime.records["project"].values())
    return Result(
        name=name,
        wins=len(wins),
        pace=pace,
        cycles=len(reports),
        failed_cycles=sum(r.result == "failed" for r in reports),
        wall=wall,
        answered=sum(e["status"] != 503 for e in log),
        refused=sum(e["status"] == 503 for e in log),
        kinds=_setup.kinds([e for e in log if e["status"] != 503], "bigtime"),
        lost=sum(codes[project_code(oid)] == 0 for oid in wins),
        duplicates=sum(max(0, codes[project_code(oid)] - 1) for oid in wins),
        creates_ok=sum(
            e["method"] == "POST" and e["path"].lower().endswith("/project/detail") and e["status"] == 200 for e in log
        ),
    )


def show(r: Result, args: argparse.Namespace) -> None:
    scale = 60.0 / args.window
    floor = r.answered / args.limit * args.window  # the emulator's limit: the least time this work can take
    pace_floor = r.answered / min(r.pace, 10**9) * args.window
    redone = r.duplicates + max(0, r.creates_ok - r.wins)
    print(f"\n{r.name}: {r.wins:,} wins, client pace {r.pace if r.pace < 10**6 else 'unlimited'} per window")
    print(f"  BigTime requests: {r.answered:,} done, {r.refused:,} refused with 503 (no Retry-After)")
    print("  by kind: " + ", ".join(f"{k} {n:,}" for k, n in r.kinds.most_common()))
    print(f"  cycles: {r.cycles} ({r.failed_cycles} stopped by the rate limit, resumed by the next)")
    print(
        f"  wall time: {r.wall:.1f} s = {r.wall * scale / 60:.1f} real min; the limit's floor "
        f"({r.answered:,} ÷ {args.limit} per window): {floor:.1f} s = {floor * scale / 60:.1f} real min "
        f"(× {r.wall / floor:.2f})"
        + (f"; our pace's floor ({r.pace} per window): {pace_floor:.1f} s" if r.pace < 10**6 else "")
    )
    print(
        f"  lost: {r.lost}; redone: {redone} (duplicate projects {r.duplicates}, "
        f"successful project creates {r.creates_ok:,} for {r.wins:,} wins)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wins", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=30, help="the emulator's requests per window (BigTime: 30)")
    parser.add_argument(
        "--window", type=float, default=0.6, help="seconds standing for BigTime's minute (default 0.6: 100× faster)"
    )
    parser.add_argument("--pace", type=int, default=25, help="the client's requests per window (the app's default: 25)")
    parser.add_argument("--roles", type=int, default=1, help="contact roles per opportunity (one BigTime request each)")
    parser.add_argument("--max-cycles", type=int, default=1000)
    parser.add_argument("--skip-unpaced", action="store_true")
    args = parser.parse_args()

    print(
        f"BigTime's limit: {args.limit} requests per rolling {args.window:g} s standing for 60 s "
        f"(×{60 / args.window:g}); client pace {args.pace} per window; {args.wins:,} wins per run, "
        f"{args.roles} contact role(s) each"
    )
    rng = random.Random(20261130)
    tmp = Path(tempfile.mkdtemp(prefix="bigsync-bench-rate-"))
    _setup.use_file_keyring(tmp / "keyring.cfg")
    world = World()
    accounts = seed_accounts(world)
    results = []
    with Sandbox(world=world) as sandbox:
        _setup.admin(sandbox.salesforce_admin_url, "POST", "/settings", {"daily_api_limit": 100_000_000})
        results.append(run("paced", sandbox, world, accounts, tmp, args, args.pace, rng))
        show(results[-1], args)
        if not args.skip_unpaced:
            results.append(run("unpaced", sandbox, world, accounts, tmp, args, 10**6, rng))
            show(results[-1], args)
    bad = [r.name for r in results if r.lost or r.duplicates or r.creates_ok != r.wins]
    print("\nlost or redone work: " + (f"YES in {', '.join(bad)}" if bad else "0"))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
