"""The loop with the change stream (core/loop.py + core/streaming.py) against the sandbox: a win
becomes a project through a streamed cycle that reads only the records named, the stream position
is stored with that cycle's commit, redelivery creates nothing more, and with Change Data Capture
off the loop polls and says so (docs/sync.md, "Instant triggers")."""

from __future__ import annotations

import threading
import time
from urllib.parse import unquote_plus

import pytest
import requests

from bigsync_gui.core import streaming, trigger_timing
from bigsync_gui.core.loop import LoopControls, QuietObserver, run_forever
from engine_fixtures import ID_FIELD, Connected, connected_to


@pytest.fixture
def env(sandbox, tmp_path, file_keyring):
    with connected_to(sandbox, tmp_path / "profile", file_keyring) as connected:
        yield connected


class Running(QuietObserver):
    """run_forever on a thread with the stream, as `bigsync-gui run` starts it."""

    def __init__(self, env: Connected) -> None:
        self.env = env
        self.controls = LoopControls()
        self.stop = self.controls.stop
        self.reports: list = []
        self.stream = streaming.for_engine(env.engine)
        self.thread = threading.Thread(
            target=run_forever, args=(env.engine, self, self.controls, self.stream), daemon=True
        )

    def on_report(self, report) -> None:  # the loop's observer: the reports are what the tests read
        self.reports.append(report)

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()  # and out of its wait, as `run`'s SIGTERM does (loop.request_stop)
        self.controls.wake.set()
        self.thread.join(10)

    def until(self, check, what: str, seconds: float = 30.0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"not seen within {seconds} s: {what}; reports: {[r.message for r in self.reports]}")


def queries(env: Connected) -> list[str]:
    entries = requests.get(env.sandbox.salesforce_admin_url + "/log", timeout=10).json()["entries"]
    return [unquote_plus(e["query"]) for e in entries if "/query" in e["path"]]


def linked(env: Connected, oid: str) -> bool:
    store = env.store()
    try:
        link = store.link(oid)
        return link is not None and link.status == "linked"
    finally:
        store.close()


def cursor(env: Connected, name: str) -> str | None:
    store = env.store()
    try:
        return store.cursor(name)
    finally:
        store.close()


def test_a_win_becomes_a_project_through_a_streamed_cycle_once(env):
    requests.post(env.sandbox.salesforce_admin_url + "/streaming", json={"timeout_seconds": 1}, timeout=10)
    oid = env.new_opp("Streamed – win", "Negotiation/Review", env.account_id(env.accounts()[0]["Name"]))
    with Running(env) as run:
        run.until(lambda: run.stream.up and len(run.reports) >= 2, "subscribed and the first sweeps done")
        sweeps = len(queries(env))
        env.move(oid, "Closed Won")
        run.until(lambda: linked(env, oid), "the project linked")
        run.until(lambda: env.opp(oid).get(ID_FIELD), "the project id written back")
        by_id = [q for q in queries(env)[sweeps:] if "WHERE Id IN" in q]
        assert by_id and oid in by_id[0]  # read by the ids the event named, not the polled read
        assert not [q for q in queries(env)[sweeps:] if "WHERE SystemModstamp >=" in q]
        run.until(lambda: cursor(env, streaming.POSITION_CURSOR), "the stream position stored")
        # the same event again (at-least-once delivery) and a restart from the stored position: nothing more
        requests.post(env.sandbox.salesforce_admin_url + "/streaming/redeliver", json={"count": 3}, timeout=10)
        env.update("Opportunity", oid, {"Description": "touched after the win"})
        run.until(
            lambda: "touched" in str(env.opp(oid).get("Description")) and run.stream.events_received >= 4,
            "the later change seen",
        )
        time.sleep(1.0)
    assert len(env.projects_for(oid)) == 1
    store = env.store()
    try:
        modes = [e.message for e in store.events(limit=50) if e.kind == "mode"]
        assert modes and modes[-1].startswith("Triggers: Instant")  # the oldest first: connected at start
        assert trigger_timing.of_store(store, env.connector.settings()).words == "Instant"
    finally:
        store.close()


@pytest.mark.parametrize("refused", [False, True])
def test_with_cdc_off_the_loop_polls_and_says_so(env, refused):
    """Both readings of a subscription to an unselected entity: refused, or accepted silently — then
    the Tooling API's PlatformEventChannelMember tells the listener that nothing will come."""
    admin = env.sandbox.salesforce_admin_url
    requests.post(admin + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    requests.post(
        admin + "/switches", json={"cdc_unselected_subscribe_refused": refused}, timeout=10
    ).raise_for_status()
    with Running(env) as run:
        run.until(lambda: run.reports, "the first cycle")
        run.until(lambda: not run.stream.up and "not on" in run.stream.reason, "the fallback")
        # the loop says it in Activity as it takes the change (woken by it), a moment after the listener
        run.until(
            lambda: any(
                "Checks every" in m and "Change Data Capture is not on for Opportunity" in m for m in mode_messages(env)
            ),
            "the fallback said in Activity",
        )
    store = env.store()
    try:
        timing = trigger_timing.of_store(store, env.connector.settings())
        assert not timing.instant and timing.words.startswith("Checks every ")
    finally:
        store.close()


def mode_messages(env) -> list[str]:
    store = env.store()
    try:
        return [e.message for e in store.events(limit=50) if e.kind == "mode"]
    finally:
        store.close()
