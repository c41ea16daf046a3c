"""Real `bigsync-gui sync --once` processes against the in-process sandbox, for the kill -9 runs
(tests/e2e/test_crash_safety.py, benchmarks/reliability_report.py): start one on a connected
profile, wait until it is inside its cycle, read its report. And real `bigsync-gui run` processes
killed inside a streamed cycle, with the change stream dropped first (docs/sync.md, "Instant triggers").
"""

from __future__ import annotations

import json
import queue
import random
import signal
import subprocess
import sys
import threading
import time

import requests

from bigsync_gui.core.engine import CycleReport
from bigsync_gui.core.settings import Settings
from engine_fixtures import Connected, Oracle, child_env

CLI = [sys.executable, "-m", "bigsync_gui"]


def start_sync(env: Connected, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "--profile", str(env.root), "sync", "--once", "--json", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(env.home),
    )


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


def wait_until_cycling(env: Connected, proc: subprocess.Popen[str], after: int, *, or_ended: bool = False) -> None:
    """Until the child holds the lock and has started its cycle (or has ended): a kill from here on
    lands inside the cycle however slowly the child started. ``or_ended`` (a `run`, which lives on
    after its cycles): or until a cycle after ``after`` has ended between two looks — the chance is
    missed, and nothing else starts until the next event, so only the deadline would end the wait."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        cycle_id, result = last_cycle(env)
        if cycle_id > after and (result == "running" or or_ended):
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


# ---- the same with the change stream: `bigsync-gui run` killed inside a streamed cycle ------------------
class RunProcess:
    """A real `bigsync-gui run` (the loop, with the change stream) and its stdout line by line."""

    def __init__(self, env: Connected) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "--profile", str(env.root), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(env.home),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, start: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line.startswith(start):
                return line
        raise AssertionError(f"`run` did not print {start!r} within {seconds:.0f} s (exit {self.proc.poll()})")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=15)
        finally:
            self.proc.kill()


def short_answer_window(env: Connected, seconds: int = 5) -> None:
    """BigTime's answer window shortened (bigtime.request_timeout_seconds): a create left in doubt
    by a kill is looked up seconds, not a minute, later."""
    settings = Settings.load(env.profile)
    settings.bigtime.request_timeout_seconds = seconds
    settings.save(env.profile)


def kill_streamed_somewhere(env: Connected, rng: random.Random, wins: list[str]) -> bool:
    """A `run` started and streaming (its start's sweep done); sometimes the stream is dropped first
    (a connect answer lost after the server delivered, or the server forgetting the client); then
    ``wins`` reach the stage, their events wake a streamed cycle, and the process is SIGKILLed at a
    random moment inside it (BigTime's writes slowed to 0.15 s, sometimes a lost create answer).
    Returns whether the kill landed inside that cycle."""
    env.clear_faults()
    run = RunProcess(env)
    try:
        run.wait_for("Triggers: Instant")
        run.wait_for("Trigger cycle")
        env.fault("bigtime", kind="latency", seconds=0.15, method="POST", path="/project", count=None)
        if rng.random() < 0.3:
            env.fault("bigtime", kind="drop", method="POST", path="/project/detail$")
        drop = rng.random()
        if drop < 0.35:
            env.fault("salesforce", kind="drop", path="/cometd", count=1)
        elif drop < 0.6:
            requests.post(env.sandbox.salesforce_admin_url + "/streaming/forget", timeout=10).raise_for_status()
        before, _ = last_cycle(env)
        for oid in wins:
            env.move(oid, "Closed Won")
        wait_until_cycling(env, run.proc, before, or_ended=True)
        time.sleep(rng.uniform(0.0, 1.0))
        landed = run.proc.poll() is None and last_cycle(env)[1] == "running"
    finally:
        run.proc.send_signal(signal.SIGKILL)
        run.proc.communicate(timeout=60)
    return landed


def settle_with_run(env: Connected, wins: list[str], seconds: float = 120) -> tuple[int, int]:
    """The next start: `run` again until every win has its project (or ``seconds`` pass), then
    SIGTERM. (duplicate projects, wins without a project)"""
    env.clear_faults()
    run = RunProcess(env)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not all(env.projects_for(o) for o in wins):
            time.sleep(0.2)
        time.sleep(1.0)  # anything still in flight (a second create would show now)
    finally:
        run.stop()
    counts = [len(env.projects_for(o)) for o in wins]
    return sum(max(0, n - 1) for n in counts), sum(1 for n in counts if n == 0)
