"""Crash safety and two copies at once, with real `bigsync-gui sync --once` processes.

The sandbox runs in this test process (threads on loopback ports); each child is
``python -m bigsync_gui --profile P sync --once --json`` reading the same settings and keyring file
(keyrings.alt, PYTHON_KEYRING_BACKEND) as the profile the test connected. BigTime answers slowly
(a latency fault) so that a kill -9 lands inside the cycle: before a create was sent, while
BigTime is creating the project (it finishes after the client is gone: a lost answer), between
the create and its contacts, before the link or the write-back — wherever the random delay says.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from crash_runs import (
    finish,
    kill_streamed_somewhere,
    kill_sync_somewhere,
    killed,
    rerun_until_clean,  # noqa: E402
    settle_with_run,
    short_answer_window,
    start_sync,
    won_with_roles,
)
from engine_fixtures import Connected, Oracle, connected_engine, file_keyring  # noqa: E402,F401

ALREADY_RUNNING = "Another copy of BigSync is syncing this setup right now"


@pytest.mark.parametrize("seed", [3, 4])
def test_kill_9_inside_a_streamed_cycle_and_dropped_streams_then_restart(
    connected_engine: Connected, seed: int
) -> None:
    """`run` (the change stream on) killed inside the cycle a win's event woke, after the stream was
    sometimes dropped; the next start replays the events from the stored position: every win gets
    exactly one project."""
    env, rng = connected_engine, random.Random(seed)
    short_answer_window(env)
    landed = 0
    for n in range(2):
        wins = won_with_roles(env, 3, rng, batch=f"s{n}-")
        landed += kill_streamed_somewhere(env, rng, wins)
        assert settle_with_run(env, wins) == (0, 0)
    assert landed >= 1, "the random delays should have caught `run` inside a streamed cycle"


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_at_random_points_then_rerun_keeps_every_promise(connected_engine: Connected, seed: int) -> None:
    env, rng = connected_engine, random.Random(seed)
    oracle = Oracle(env)
    opps = won_with_roles(env, 10, rng)
    kills = 0
    for _ in range(5):
        waiting = [o for o in opps if env.opp(o)["StageName"] != "Closed Won"]
        for oid in rng.sample(waiting, k=min(2, len(waiting))):  # two more reach the stage each round
            env.move(oid, "Closed Won")
        oracle.before_cycle()
        landed, proc = kill_sync_somewhere(env, rng)
        if landed:
            kills += 1
            oracle.after_cycle(killed())
        else:
            code, report, err = finish(proc)
            assert report is not None, err
            oracle.after_cycle(report)
    # Then run until a clean cycle, as the next start of the app would.
    env.clear_faults()
    code, report, err, _ = rerun_until_clean(env, oracle)
    assert code == 0 and report is not None and report.result == "ok", err
    assert kills >= 2, "the random delays should have caught the child inside its cycle"
    assert oracle.must >= {o for o in opps if env.opp(o)["StageName"] == "Closed Won"}
    oracle.check(final=True)
    store = env.store()
    try:
        interrupted = [c for c in store.cycles(50) if c.result == "interrupted"]
    finally:
        store.close()
    assert interrupted and len(interrupted) <= kills  # the next start records each killed cycle as interrupted


def test_a_start_right_after_a_kill_inside_a_create_waits_for_it_and_never_sends_it_twice(
    connected_engine: Connected,
) -> None:
    """The child is killed while BigTime still holds its project create; the app is started again at
    once. Looking the code up now would find nothing and create a second project when the held one
    lands. The restart says it is waiting (exit 4) without sending anything to BigTime; once the
    longest answer has passed it links the project that landed."""
    import signal

    env = connected_engine
    oracle = Oracle(env)
    oid = won_with_roles(env, 1, random.Random(3))[0]
    env.move(oid, "Closed Won")
    env.fault("bigtime", kind="hold", seconds=60, method="POST", path="/project/detail$", count=1)
    oracle.before_cycle()
    child = start_sync(env)
    deadline = time.monotonic() + 60
    while requests.get(env.sandbox.bigtime_admin_url + "/faults/held", timeout=5).json()["held"] < 1:
        assert time.monotonic() < deadline and child.poll() is None, "the child never reached its create"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    oracle.after_cycle(killed())
    try:
        env.clear_logs()
        oracle.before_cycle()
        code, report, err = finish(start_sync(env))  # the next start, at once
        assert code == 4 and report is not None and report.error == "CreateInDoubt", err
        oracle.after_cycle(report)
        assert report.bigtime_requests == 0 and env.log("bigtime") == []
        assert "may still be finishing a request for Crash test 0" in err and "nothing is created twice" in err
    finally:
        env.clear_faults()  # BigTime finishes the killed child's create
    deadline = time.monotonic() + 30
    while not env.projects_for(oid):
        assert time.monotonic() < deadline, "the held create never landed"
        time.sleep(0.05)
    code, report, err, _ = rerun_until_clean(env, oracle)
    assert code == 0 and report is not None and (report.result, report.created) == ("ok", 1), err
    assert len(env.projects_for(oid)) == 1
    oracle.check(final=True)


def test_two_syncs_at_once_never_duplicate_the_second_waits_or_refuses(connected_engine: Connected) -> None:
    env = connected_engine
    opps = won_with_roles(env, 4, random.Random(7))
    for oid in opps:
        env.move(oid, "Closed Won")
    # The copy that gets the lock is held at its first create (a handshake with the sandbox, not a
    # race against latency) until a third copy, told not to wait, has been turned away.
    env.fault("bigtime", kind="hold", seconds=60, method="POST", path="/project/detail$", count=1)

    first, waiting = start_sync(env), start_sync(env)  # started together: one runs, the other waits
    deadline = time.monotonic() + 60
    while requests.get(env.sandbox.bigtime_admin_url + "/faults/held", timeout=5).json()["held"] < 1:
        assert time.monotonic() < deadline, "no copy reached its first create"
        assert first.poll() is None and waiting.poll() is None, "a copy ended before creating anything"
        time.sleep(0.05)
    try:
        refused_code, refused_report, refused_err = finish(start_sync(env, "--wait", "0"))
    finally:
        env.clear_faults()  # releases the held create
    assert refused_code == 1 and refused_report is None
    assert ALREADY_RUNNING in refused_err and "Traceback" not in refused_err

    results = [finish(first), finish(waiting)]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    reports = [report for _, report, _ in results]
    assert sorted(r.created for r in reports if r) == [0, 4]
    for oid in opps:
        assert len(env.projects_for(oid)) == 1
        assert len(env.contacts(env.project(oid)["SystemId"])) == len(
            {c["EMail"] for c in env.contacts(env.project(oid)["SystemId"])}
        )
    store = env.store()
    try:
        assert len(store.links()) == 4 and store.intents("pending") == []
    finally:
        store.close()


def test_sync_once_exit_codes_and_pick_the_stage_again(connected_engine: Connected) -> None:
    """The CLI side of the engine's stops: a failed cycle is non-zero with the sentence on stderr."""
    env = connected_engine
    code, report, err = finish(start_sync(env))
    assert code == 0 and report is not None and report.result == "ok", err
    env.fault("bigtime", kind="status", status=503, retry_after=600, path="/project", count=None)
    env.new_opp("Offline case", "Closed Won", env.account_id("Initech"))
    code, report, err = finish(start_sync(env))
    assert code == 4 and report is not None and report.error == "RateLimited"
    env.clear_faults()
    with env.sandbox.world.lock:
        env.sf.change_stage("Closed Won", active=False)
    env.clock.advance(minutes=16)
    store = env.store()  # make the cached stage list old, as 16 minutes would
    try:
        with store.transaction():
            meta: Any = store.get_meta("salesforce_metadata", {})
            meta["fetched_at"] = "2000-01-01T00:00:00+00:00"
            store.set_meta("salesforce_metadata", meta)
    finally:
        store.close()
    code, report, err = finish(start_sync(env))
    assert code == 1 and report is not None and report.error == "PickStageAgain"
    assert "Pick the stage again" in err
