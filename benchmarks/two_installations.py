"""Two installations on one org: per round, two profiles connected to the same sandbox start
`bigsync-gui sync --once` as separate processes at the same moment on --wins new wins (spread over
a few new accounts); then one more `sync --once` each settles what one left to the other. Prints
duplicate projects and clients found per round and in total (must be 0).

    .venv/bin/python benchmarks/two_installations.py            # 20 rounds of 40 wins
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import _setup

from bigsync_gui.core.bigtime_limits import account_of_code
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.creation import project_codes
from bigsync_gui.core.engine import Engine
from bigsync_gui.sandbox import Sandbox

TRIGGER = "Closed Won"


def child_env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


def sync_together(profiles: list[Path], home: Path) -> list[tuple[int, str]]:
    """Each profile's `sync --once` started at the same moment: (exit code, what it said: its JSON
    report's result and counts, or its stderr's end) per profile."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bigsync_gui", "--profile", str(p), "sync", "--once", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(home),
        )
        for p in profiles
    ]
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)  # read the pipes: a child never blocks on a full one
        line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
        said = err.strip()[-300:]
        if line:
            report = json.loads(line)
            said = f"{report.get('result')} created={report.get('created')} {report.get('error') or ''} {said}".strip()
        runs.append((proc.returncode, said))
    return runs


def duplicates(sandbox: Sandbox, wins: list[str]) -> tuple[int, int, int]:
    """(duplicate projects, wins without a project, duplicate clients)."""
    world = sandbox.world
    owner = {code: oid for oid in wins for code in project_codes(oid)}
    with world.lock:
        projects = collections.Counter(
            owner[p["ProjectCode"]] for p in world.bigtime.records["project"].values() if p["ProjectCode"] in owner
        )
        clients = collections.Counter(
            account_of_code(c["ClientId"])
            for c in world.bigtime.records["client"].values()
            if account_of_code(c["ClientId"])
        )  # clients per account, any code form
    return (
        sum(n - 1 for n in projects.values() if n > 1),
        sum(1 for w in wins if w not in projects),
        sum(n - 1 for n in clients.values() if n > 1),
    )


def connect_two(sandbox: Sandbox, tmp: Path, reading: str = "strict") -> list[Path]:
    """Two profiles ("laptop", "server") under ``tmp`` connected to ``sandbox`` and configured (the
    file keyring must be set); the org's daily limit and BigTime's pace set not to matter; the
    Salesforce emulator's switches at ``reading``."""
    _setup.admin(sandbox.salesforce_admin_url, "POST", "/settings", {"daily_api_limit": 100_000_000})
    _setup.admin(sandbox.salesforce_admin_url, "POST", "/switches", {"preset": reading})
    _setup.set_bigtime_rate_limit(sandbox, None)  # duplicates are measured here, not BigTime's pace
    profiles = [tmp / "laptop", tmp / "server"]
    for directory in profiles:
        Engine(Connector(_setup.connect_profile(sandbox, directory, bigtime_auth="api_key"))).configure(TRIGGER)
    return profiles


def play_round(
    sandbox: Sandbox, profiles: list[Path], home: Path, n: int, wins: int, accounts: int
) -> tuple[list[tuple[int, str]], tuple[int, int, int]]:
    """Round ``n``: ``wins`` new wins over ``accounts`` new accounts, both profiles synced together
    twice. Returns the four runs (``sync_together``) and ``duplicates()``."""
    sf = sandbox.world.salesforce
    with sandbox.world.lock:
        account_ids = [sf.insert("Account", {"Name": f"Twin {n}-{i}"}) for i in range(accounts)]
        today = datetime.now(timezone.utc).date().isoformat()
        won = [
            sf.insert(
                "Opportunity",
                {
                    "Name": f"Twin {n}-{i}",
                    "StageName": TRIGGER,
                    "CloseDate": today,
                    "AccountId": account_ids[i % len(account_ids)],
                },
            )
            for i in range(wins)
        ]
    runs = sync_together(profiles, home) + sync_together(profiles, home)
    return runs, duplicates(sandbox, won)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--wins", type=int, default=40)
    parser.add_argument("--accounts", type=int, default=6)
    parser.add_argument(
        "--reading",
        choices=("strict", "lenient"),
        default="strict",
        help="the Salesforce emulator's switches (lenient: an update naming no field moves the stamp)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bigsync-bench-twins-"))
    home = tmp / "home"
    _setup.use_file_keyring(home / "data" / "python_keyring" / "keyring_pass.cfg")
    totals = [0, 0, 0]
    with Sandbox() as sandbox:
        profiles = connect_two(sandbox, tmp, args.reading)
        for n in range(args.rounds):
            runs, found = play_round(sandbox, profiles, home, n, args.wins, args.accounts)
            codes = [code for code, _ in runs]
            totals = [t + f for t, f in zip(totals, found)]
            print(
                f"round {n + 1:2d}: exit codes {codes}; duplicate projects {found[0]}, wins without a project "
                f"{found[1]}, duplicate clients {found[2]}",
                flush=True,
            )
    print(
        f"\n{args.rounds} rounds of two installations on {args.wins} wins ({args.reading} reading): "
        f"duplicate projects {totals[0]}, "
        f"missed {totals[1]}, duplicate clients {totals[2]}"
    )
    return 1 if any(totals) else 0


if __name__ == "__main__":
    raise SystemExit(main())
