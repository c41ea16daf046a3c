"""`bigsync-gui run --events`, the sync loop the tray starts as its child (core/loop_service.py),
run as the tray runs it: a real process on a file keyring against the sandbox, its events read
from stdout, commands written to stdin."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
import requests
from configured_profile import configure_profile, file_keyring_env, use_file_keyring, win_opportunities

from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings


class Child:
    """The sync process and the events it wrote, in order."""

    def __init__(self, profile: Path, env: dict[str, str], *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bigsync_gui", "--profile", str(profile), "run", "--events", *extra],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.events: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def next_event(self, matching: Callable[[dict], bool], timeout: float = 30) -> dict:
        """The first event from now on that matches (each line must be an event: json.loads fails otherwise)."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no matching event in {timeout} s; seen: {self.events[-8:]}") from None
            event = json.loads(line)
            self.events.append(event)
            if matching(event):
                return event

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def report(kind: str) -> Callable[[dict], bool]:
    return lambda e: e["event"] == "report" and e["report"]["kind"] == kind


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A file keyring the child reads too (the in-memory one of other tests stays in this process)."""
    previous = keyring.get_keyring()
    use_file_keyring(tmp_path / "home")
    yield tmp_path / "home"
    keyring.set_keyring(previous)


def test_events_out_commands_in_and_the_end_of_stdin_stops_it(sandbox, home: Path, tmp_path: Path) -> None:
    # Polling only: the cycles under test are the ones the commands ask for
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    profile = configure_profile(sandbox, tmp_path / "p")
    child = Child(tmp_path / "p", file_keyring_env(home))
    try:
        assert child.next_event(lambda e: True) == {"event": "seed", "cycle": None}  # no cycle ran yet
        assert child.next_event(lambda e: True)["event"] == "triggers"
        assert child.next_event(lambda e: True) == {"event": "cycle_started"}
        first = child.next_event(report("trigger"))["report"]
        assert first["result"] == "ok" and first["created"] == 0
        assert child.next_event(lambda e: e["event"] == "triggers")["text"].startswith("Checks every ")
        child.next_event(report("writeback"))
        assert child.next_event(lambda e: e["event"] == "waiting")["seconds"] > 60  # polling, every hour here

        win_opportunities(sandbox.salesforce_admin_url, 2)
        child.send("sync")  # the tray's Sync now: a cycle now, and the figures written after it
        made = child.next_event(report("trigger"))["report"]
        assert (made["result"], made["created"]) == ("ok", 2)
        assert child.next_event(report("writeback"))["report"]["result"] == "ok"
        child.next_event(lambda e: e["event"] == "waiting")

        child.send("pause")
        child.send("catch-up")  # woken while paused: it says it waits for Resume, and runs nothing
        paused = child.next_event(lambda e: e["event"] in ("waiting", "cycle_started"))
        assert paused == {"event": "waiting", "seconds": None, "failures": 0}
        child.send("resume")
        assert child.next_event(lambda e: True) == {"event": "cycle_started"}
        assert child.next_event(report("trigger"))["report"]["result"] == "ok"
        child.next_event(lambda e: e["event"] == "waiting")

        assert child.proc.stdin is not None
        child.proc.stdin.close()  # the tray quit (or died): the child ends on its own
        assert child.proc.wait(10) == 0
        assert child.proc.stderr is not None and "Traceback" not in child.proc.stderr.read()
    finally:
        child.close()
    with_state = Child(tmp_path / "p", file_keyring_env(home), "--paused")
    try:
        seed = with_state.next_event(lambda e: True)
        assert seed["event"] == "seed" and seed["cycle"]["kind"] == "trigger" and seed["cycle"]["result"] == "ok"
        # Started paused (the admin paused before a restart): no cycle, a wait for Resume
        assert with_state.next_event(lambda e: e["event"] in ("waiting", "cycle_started"))["seconds"] is None
        with_state.send("stop")
        assert with_state.proc.wait(10) == 0
    finally:
        with_state.close()
    assert Settings.load(profile).sync.configured


def test_a_profile_not_set_up_is_a_problem_told_not_a_silent_exit(sandbox, home: Path, tmp_path: Path) -> None:
    profile = Profile.at(tmp_path / "p")
    Settings().save(profile)
    child = Child(tmp_path / "p", file_keyring_env(home))
    try:
        problem = child.next_event(lambda e: e["event"] in ("problem", "report"))
        assert problem["event"] == "problem" and problem["code"] == "ConfigInvalid"
        assert "No trigger stage is set yet" in problem["detail"]
        waiting = child.next_event(lambda e: e["event"] == "waiting")
        assert waiting["failures"] == 1 and waiting["seconds"] >= 30  # the loop's backoff
        child.send("stop")
        assert child.proc.wait(10) == 0
    finally:
        child.close()


def test_after_the_admin_signs_in_again_the_running_sync_uses_the_new_grant(
    sandbox, home: Path, tmp_path: Path
) -> None:
    """Salesforce revoked the grant: the sync process says "sign in again". The admin does, in the
    tray's process (the wizard saves new tokens to the keyring); the next Sync now in the still
    running child must use them, not the revoked token it held in memory."""
    from configured_profile import revoke_salesforce
    from sandbox_browser import browse

    from bigsync_gui.connectors import oauth
    from bigsync_gui.core.connections import Connector
    from bigsync_gui.sandbox import credentials as cred

    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    profile = configure_profile(sandbox, tmp_path / "p")
    child = Child(tmp_path / "p", file_keyring_env(home))
    try:
        assert child.next_event(report("trigger"))["report"]["result"] == "ok"
        child.next_event(lambda e: e["event"] == "waiting")
        revoke_salesforce(sandbox)
        child.send("catch-up")
        failed = child.next_event(report("trigger"))["report"]
        assert (failed["result"], failed["error"], failed["system"]) == ("failed", "ReconnectNeeded", "salesforce")
        child.next_event(lambda e: e["event"] == "waiting")

        connector = Connector(profile)  # the wizard's "Sign in again", in the tray's process
        endpoints = oauth.salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY, cred.SF_REDIRECT_URIS[0])
        attempt = oauth.AuthorizationAttempt(endpoints, connector.http["salesforce"])
        tokens = attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "salesforce")))
        connector.save_salesforce(endpoints, sandbox.salesforce_url, tokens)

        win_opportunities(sandbox.salesforce_admin_url, 1)
        child.send("sync")
        again = child.next_event(report("trigger"))["report"]
        assert (again["result"], again["created"]) == ("ok", 1), again
        child.send("stop")
        assert child.proc.wait(10) == 0
    finally:
        child.close()
