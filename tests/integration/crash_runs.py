"""Real `bigsync-gui sync --once` processes against the in-process sandbox, for the kill -9 runs
(tests/e2e/test_crash_safety.py, benchmarks/reliability_report.py): start one on a connected
profile, wait until it is inside its cycle, read its report.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

from bigsync_gui.core.engine import CycleReport
from engine_fixtures import Connected, Oracle, child_env

CLI = [sys.executable, "-m", "bigsync_gui"]


def start_sync(env: Connected, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, "--profile", str(env.root), "sync", "--once", "--json", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(env.home))


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, CycleReport | None, str]:
    out, err = proc.communicate(timeout=timeout)
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    return proc.returncode, (CycleReport(**json.loads(line)) if line else None), err


def rerun_until_clean(env: Connected, oracle: Oracle, tries: int = 4) -> tuple[int, CycleReport | None, str, int]:
    """The next start, at once: `sync --once` again until a clean cycle, judged by the oracle after
    each. A create the killed child left in doubt makes a run end "waiting" (CreateInDoubt); the
    next run comes after the wait it asked for, as the loop's would. (exit code, report, stderr, runs)"""
    code, report, err = 0, None, ""
    for runs in range(1, tries + 1):
        oracle.before_cycle()
        code, report, err = finish(start_sync(env))
        if report is None:
            return code, None, err, runs
        oracle.after_cycle(report)
        if code == 0 and report.result == "ok":
            break
        if report.error == "CreateInDoubt":
            time.sleep(report.retry_after)
    return code, report, err, runs


def last_cycle(env: Connected) -> tuple[int, str]:
    store = env.store()
    try:
        cycles = store.cycles(1)
    finally:
        store.close()
    return (cycles[0].id, cycles[0].result) if cycles else (0, "")


def wait_until_cycling(env: Connected, proc: subprocess.Popen[str], after: int) -> None:
    """Until the child holds the lock and has started its cycle (or has ended): a kill from here on
    lands inside the cycle however slowly the child started."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        cycle_id, result = last_cycle(env)
        if cycle_id > after and result == "running":
            return
        time.sleep(0.02)


def killed() -> CycleReport:
    return CycleReport(0, "trigger", "failed", "killed -9", error="Killed")


def won_with_roles(env: Connected, count: int, rng: random.Random, batch: str = "") -> list[str]:
    """``count`` opportunities just below the stage, each with a primary contact role (half with a
    second one), over the org's accounts and three new ones; ``batch`` keeps names apart when called again."""
    accounts = [a["Id"] for a in env.accounts()] + [
        env.insert("Account", {"Name": f"Crash Co {batch}{i}"}) for i in range(3)
    ]
    ids = []
    for n in range(count):
        i = f"{batch}{n}"
        acc = rng.choice(accounts)
        oid = env.new_opp(f"Crash test {i}", "Negotiation/Review", acc)
        env.add_role(oid, "Kim", f"Crash{i}", f"kim{i}@crash.example", primary=True, account=acc)
        if rng.random() < 0.5:
            env.add_role(oid, "Lou", f"Crash{i}", f"lou{i}@crash.example", primary=False, account=acc)
        ids.append(oid)
    return ids


def kill_sync_somewhere(env: Connected, rng: random.Random) -> tuple[bool, subprocess.Popen[str]]:
    """Every BigTime write slowed to 0.15 s (a cycle with creates lasts a second or more), sometimes a
    lost create answer; a real `sync --once` started and SIGKILLed at a random moment inside its cycle
    (journal, claim, create, contacts, link, write-back). Returns (the kill landed, the process): one
    that finished first is left for the caller to read with ``finish``."""
    env.clear_faults()
    env.fault("bigtime", kind="latency", seconds=0.15, method="POST", path="/project", count=None)
    if rng.random() < 0.3:
        env.fault("bigtime", kind="drop", method="POST", path="/project/detail$")
    before, _ = last_cycle(env)
    proc = start_sync(env)
    wait_until_cycling(env, proc, before)
    time.sleep(rng.uniform(0.0, 1.0))
    landed = proc.poll() is None
    if landed:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    return landed, proc
