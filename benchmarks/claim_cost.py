"""What new wins cost in Salesforce requests (issue 19 part E: the claim cost): for each size of
--wins, that many opportunities won at once (over one new account per --per-account wins) become
projects in **one** trigger cycle; printed: the cycle's Salesforce requests (the engine's count and
the org's), their breakdown, BigTime requests and the cycle's wall time (a loaded machine makes
the time noisy; the requests are exact). Each size runs on a fresh sandbox and profile, after a
first cycle that pays the day's overhead (token, stages, describes), with the metadata made stale
again so the measured cycle reads it too (the worst case).

Targets: 200 wins <= 18 Salesforce requests; 10,000 <= 500. Before claims went 25 to a Composite
request, each project cost one request more (200 wins: 209).

    .venv/bin/python benchmarks/claim_cost.py                 # 200, 1000, 10000 (about 3 min on 2 cores)
    .venv/bin/python benchmarks/claim_cost.py --wins 200      # a quick look
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import _setup

from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.sandbox import Sandbox

TRIGGER = "Closed Won"
TARGETS = {200: 18, 10_000: 500}


def one_size(n: int, per_account: int, tmp: Path) -> dict[str, object]:
    with Sandbox() as sandbox:
        _setup.admin(sandbox.salesforce_admin_url, "POST", "/settings", {"daily_api_limit": 100_000_000})
        _setup.set_bigtime_rate_limit(sandbox, None)  # requests are measured here, not BigTime's pace
        profile = _setup.connect_profile(sandbox, tmp / f"profile-{n}", bigtime_auth="api_key")
        engine = Engine(Connector(profile), now=sandbox.world.clock.now)  # one clock for both sides
        engine.configure(TRIGGER)
        engine.run_cycle()  # the day's overhead, as in a running loop
        sf, world = sandbox.world.salesforce, sandbox.world
        with world.lock:
            accounts = [sf.insert("Account", {"Name": f"Claim Co {i}"}) for i in range(max(1, n // per_account))]
            today = date.today().isoformat()
            for i in range(n):
                sf.insert(
                    "Opportunity",
                    {
                        "Name": f"Claim win {i:05d}",
                        "StageName": TRIGGER,
                        "CloseDate": today,
                        "AccountId": accounts[i % len(accounts)],
                    },
                )
        world.clock.advance(16 * 60)  # the metadata (15 min) is read again inside the measured cycle
        _setup.clear_logs(sandbox)
        org_before = int(_setup.admin(sandbox.salesforce_admin_url, "GET", "/settings")["api_usage"])
        started = time.monotonic()
        report = engine.run_cycle()
        seconds = time.monotonic() - started
        org_used = int(_setup.admin(sandbox.salesforce_admin_url, "GET", "/settings")["api_usage"]) - org_before
        logs = _setup.logged(sandbox)
        return {
            "wins": n,
            "accounts": len(accounts),
            "result": report.result,
            "created": report.created,
            "salesforce": report.salesforce_requests,
            "org": org_used,
            "bigtime": report.bigtime_requests,
            "seconds": seconds,
            "breakdown": _setup.kinds(logs["salesforce"], "salesforce"),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wins", type=int, nargs="+", default=[200, 1000, 10_000])
    parser.add_argument("--per-account", type=int, default=10, help="wins per new account (default 10)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bigsync-bench-claims-"))
    _setup.use_file_keyring(tmp / "keyring.cfg")
    failed = False
    print(
        f"{'wins':>6} {'accounts':>8} {'created':>7} {'SF requests':>11} {'org counted':>11} {'target':>6} "
        f"{'BigTime':>7} {'wall s':>7}"
    )
    for n in args.wins:
        row = one_size(n, args.per_account, tmp)
        target = TARGETS.get(n)
        ok = row["result"] == "ok" and row["created"] == n and (target is None or int(row["salesforce"]) <= target)
        failed |= not ok
        print(
            f"{n:>6} {row['accounts']:>8} {row['created']:>7} {row['salesforce']:>11} {row['org']:>11} "
            f"{'<= ' + str(target) if target else '':>6} {row['bigtime']:>7} {row['seconds']:>7.1f}"
            f"{'' if ok else '  << NOT MET'}",
            flush=True,
        )
        print("        " + ", ".join(f"{kind} {count}" for kind, count in sorted(row["breakdown"].items())), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
