"""`connect`, `stages`, `disconnect` as real processes against the sandbox, like an admin would.

The browser part is played by `requests` following the URL the command prints (--no-browser):
login, Allow, then the redirect lands on the command's loopback listener.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from bigsync_gui.core.creation import project_codes
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse, free_port

CLI = [sys.executable, "-m", "bigsync_gui"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A keyring in a file under a temporary home (keyrings.alt), as docs/design.md suggests for tests."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
    }


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    return tmp_path / "profile"


def run(env: dict[str, str], profile: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--profile", str(profile), *args], capture_output=True, text=True, input=stdin, env=env, timeout=60
    )


class LineReader:
    """A process's stdout line by line, each with a deadline: a process that never prints fails the
    test with what it wrote to stderr, instead of hanging it until pytest-timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put("")

    def next(self, timeout: float) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if not line:
            self.proc.kill()
            stderr = self.proc.stderr.read() if self.proc.stderr else ""
            raise AssertionError(
                f"no line from the process within {timeout:.0f} s "
                f"({'it ended' if line == '' else 'still running'}); stderr:\n{stderr}"
            )
        return line


def register_redirect(sandbox: Sandbox, uri: str) -> None:
    current = requests.get(sandbox.salesforce_admin_url + "/settings", timeout=5).json()["redirect_uris"]
    requests.post(
        sandbox.salesforce_admin_url + "/settings", json={"redirect_uris": [*current, uri]}, timeout=5
    ).raise_for_status()


def sign_in_through_printed_url(
    args: list[str], env: dict[str, str], system: str, stdin: str = "", allow: bool = True
) -> tuple[int, str, str]:
    """Start `connect … --no-browser`, follow the printed URL like a browser, deliver the redirect."""
    proc = subprocess.Popen(
        [*CLI, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write(stdin)
    proc.stdin.close()
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("http"):
            break
    else:
        proc.wait(timeout=30)
        err = proc.stderr.read()  # type: ignore[union-attr]
        raise AssertionError(f"no URL printed; stdout={''.join(lines)} stderr={err}")
    location = browse(lines[-1].strip(), system, allow=allow)
    threading.Thread(target=requests.get, args=(location,), kwargs={"timeout": 10}, daemon=True).start()
    proc.wait(timeout=60)
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    return proc.returncode, "".join(lines) + out, err


def connect_salesforce(
    sandbox: Sandbox, env: dict[str, str], profile: Path, allow: bool = True
) -> tuple[int, str, str]:
    """`connect salesforce --no-browser` on a fresh loopback port, completed through the printed URL."""
    redirect = f"http://127.0.0.1:{free_port()}/OauthRedirect"
    register_redirect(sandbox, redirect)
    return sign_in_through_printed_url(
        [
            "--profile",
            str(profile),
            "connect",
            "salesforce",
            "--login-url",
            sandbox.salesforce_url,
            "--client-id",
            cred.SF_CONSUMER_KEY,
            "--redirect-uri",
            redirect,
            "--no-browser",
            "--timeout",
            "30",
        ],
        env,
        "salesforce",
        allow=allow,
    )


def set_up(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    """What an admin does first: connect both (Salesforce through the printed URL), pick the stage."""
    code, _, err = connect_salesforce(sandbox, env, profile)
    assert code == 0, err
    assert (
        run(
            env,
            profile,
            "connect",
            "bigtime",
            "--base-url",
            sandbox.bigtime_url,
            "--api-key-stdin",
            "--firm",
            cred.BT_FIRM_ID,
            stdin=cred.BT_API_KEY + "\n",
        ).returncode
        == 0
    )
    assert run(env, profile, "configure", "--trigger-stage", "Closed Won").returncode == 0


def test_connect_salesforce_stages_and_disconnect(
    sandbox: Sandbox, env: dict[str, str], profile: Path, tmp_path: Path
) -> None:
    code, out, err = connect_salesforce(sandbox, env, profile)
    assert code == 0, err
    assert f"as {cred.SF_USERNAME}" in out

    stages = run(env, profile, "stages", "--json")
    assert stages.returncode == 0, stages.stderr
    listed = json.loads(stages.stdout)
    assert [s["api_name"] for s in listed][:3] == ["Prospecting", "Qualification", "Needs Analysis"]
    assert len(listed) == 10 and [s["sort_order"] for s in listed] == sorted(s["sort_order"] for s in listed)
    lost = next(s for s in listed if s["api_name"] == "Closed Lost")
    won = next(s for s in listed if s["api_name"] == "Closed Won")
    assert lost["is_closed"] and not lost["is_won"] and lost["is_closed_lost"]
    assert won["is_closed"] and won["is_won"] and not won["is_closed_lost"]
    human = run(env, profile, "stages")
    assert "Closed Lost" in human.stdout and "never triggers" in human.stdout

    # The refresh token lives in the keyring file, never under the profile.
    keyring_file = Path(env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"
    assert keyring_file.exists()
    for path in profile.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")  # the state database too (binary)
            assert "5Aep" not in text and "00DKx" not in text.replace(
                json.loads((profile / "config" / "settings.json").read_text())["salesforce"]["org_id"], ""
            )

    gone = run(env, profile, "disconnect", "salesforce")
    assert gone.returncode == 0 and "revoked" in gone.stdout
    after = run(env, profile, "stages")
    assert after.returncode == 3
    assert "connect salesforce" in after.stderr


def connect_bigtime_oauth(sandbox: Sandbox, env: dict[str, str], profile: Path, firm: str) -> tuple[int, str, str]:
    redirect = f"http://127.0.0.1:{free_port()}/BigTimeRedirect"  # a free port (workers run in parallel), registered
    requests.post(
        sandbox.bigtime_admin_url + "/settings", json={"redirect_uris": [redirect]}, timeout=5
    ).raise_for_status()
    return sign_in_through_printed_url(
        [
            "--profile",
            str(profile),
            "connect",
            "bigtime",
            "--base-url",
            sandbox.bigtime_url,
            "--client-id",
            cred.BT_CLIENT_ID,
            "--firm",
            firm,
            "--client-secret-stdin",
            "--redirect-uri",
            redirect,
            "--no-browser",
            "--timeout",
            "30",
        ],
        env,
        "bigtime",
        stdin=cred.BT_CLIENT_SECRET + "\n",
    )


def test_connect_bigtime_oauth_and_api_key(
    sandbox: Sandbox, env: dict[str, str], profile: Path, bigtime_reading: str
) -> None:
    code, out, err = connect_bigtime_oauth(sandbox, env, profile, cred.BT_FIRM_ID)
    assert code == 0, err
    assert "Connected to BigTime" in out and cred.BT_FIRM_ID in out
    settings = json.loads((profile / "config" / "settings.json").read_text())
    assert settings["bigtime"]["auth_mode"] == "oauth" and settings["bigtime"]["firm_id"] == cred.BT_FIRM_ID
    # what BigTime accepted is kept for the next runs (and `doctor`)
    assert (settings["bigtime"]["oauth_header"], settings["bigtime"]["token_body"]) == ("x-auth-token", "json")
    assert cred.BT_CLIENT_SECRET not in (profile / "config" / "settings.json").read_text()

    keyed = run(
        env,
        profile,
        "connect",
        "bigtime",
        "--base-url",
        sandbox.bigtime_url,
        "--api-key-stdin",
        "--firm",
        cred.BT_FIRM_ID,
        stdin=cred.BT_API_KEY + "\n",
    )
    assert keyed.returncode == 0, keyed.stderr
    assert json.loads((profile / "config" / "settings.json").read_text())["bigtime"]["auth_mode"] == "api_key"

    wrong = run(
        env,
        profile,
        "connect",
        "bigtime",
        "--base-url",
        sandbox.bigtime_url,
        "--api-key-stdin",
        "--firm",
        cred.BT_FIRM_ID,
        stdin="not-the-key\n",
    )
    assert wrong.returncode == 3 and "API key was refused" in wrong.stderr
    assert "not-the-key" not in wrong.stderr


def test_connect_bigtime_oauth_needs_the_firm_and_explains_a_wrong_one(
    sandbox: Sandbox, env: dict[str, str], profile: Path, bigtime_reading: str
) -> None:
    missing = run(
        env,
        profile,
        "connect",
        "bigtime",
        "--base-url",
        sandbox.bigtime_url,
        "--client-id",
        cred.BT_CLIENT_ID,
        "--client-secret-stdin",
        stdin=cred.BT_CLIENT_SECRET + "\n",
    )
    assert (
        missing.returncode == 2 and "--client-id needs --firm ID" in missing.stderr and "Company Info" in missing.stderr
    )
    code, _, err = connect_bigtime_oauth(sandbox, env, profile, "other-firm")
    assert code == 1 and "Traceback" not in err
    if bigtime_reading == "lenient":  # the token response names the firm: the mismatch is said before any call
        assert f"BigTime signed you in to firm {cred.BT_FIRM_ID}, but the firm id entered is other-firm" in err
    else:
        assert "BigTime refused the new sign-in for firm id other-firm. Check the firm id" in err
    assert (
        not (profile / "config" / "settings.json").exists()
        or json.loads((profile / "config" / "settings.json").read_text())["bigtime"]["auth_mode"] == ""
    )


def test_denied_consent_is_one_clear_sentence(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    code, _, err = connect_salesforce(sandbox, env, profile, allow=False)
    assert code == 1
    assert "Deny" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "expected_code", "expected"),
    [
        (["--client-id", "3MVGwrongkey"], 1, "Consumer Key"),
        (
            ["--client-id", cred.SF_CONSUMER_KEY, "--redirect-uri", "http://localhost:9/Nope"],
            1,
            "http://localhost:9/Nope",
        ),
        (["--client-id", cred.SF_CONSUMER_KEY, "--login-url", "http://login.example.com"], 1, "https://"),
    ],
)
def test_setup_mistakes_are_explained(
    sandbox: Sandbox, env: dict[str, str], profile: Path, args: list[str], expected_code: int, expected: str
) -> None:
    if "--login-url" not in args:
        args = [*args, "--login-url", sandbox.salesforce_url]
    result = run(env, profile, "connect", "salesforce", "--no-browser", "--timeout", "5", *args)
    assert result.returncode == expected_code, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_timeout_waiting_for_the_browser(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    redirect = f"http://127.0.0.1:{free_port()}/OauthRedirect"
    register_redirect(sandbox, redirect)
    result = run(
        env,
        profile,
        "connect",
        "salesforce",
        "--login-url",
        sandbox.salesforce_url,
        "--client-id",
        cred.SF_CONSUMER_KEY,
        "--redirect-uri",
        redirect,
        "--no-browser",
        "--timeout",
        "1",
    )
    assert result.returncode == 1
    assert "No answer came from the browser" in result.stderr


def test_no_keyring_says_how_to_get_one(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    env = {**env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    result = run(
        env,
        profile,
        "connect",
        "bigtime",
        "--base-url",
        sandbox.bigtime_url,
        "--api-key-stdin",
        "--firm",
        cred.BT_FIRM_ID,
        stdin=cred.BT_API_KEY + "\n",
    )
    assert result.returncode == 5
    assert "keyrings.alt" in result.stderr and cred.BT_API_KEY not in result.stderr


def test_unreachable_host(env: dict[str, str], profile: Path) -> None:
    result = run(
        env,
        profile,
        "connect",
        "bigtime",
        "--base-url",
        f"http://127.0.0.1:{free_port()}/BigtimeData/api/v2",
        "--api-key-stdin",
        "--firm",
        "x",
        stdin="some-key\n",
    )
    assert result.returncode == 4
    assert "could not be reached" in result.stderr


def test_rotated_refresh_tokens_survive_restarts(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    """With rotation on, each process refreshes (no access token is ever stored), gets a new refresh
    token and must keep it: the old one is dead, so a lost rotation shows up as exit 3 next time."""
    requests.post(
        sandbox.salesforce_admin_url + "/settings", json={"rotate_refresh_tokens": True}, timeout=5
    ).raise_for_status()
    code, _, err = connect_salesforce(sandbox, env, profile)
    assert code == 0, err
    keyring_file = Path(env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"
    seen = {keyring_file.read_text()}
    for _ in range(3):
        result = run(env, profile, "stages", "--json")
        assert result.returncode == 0, result.stderr
        seen.add(keyring_file.read_text())
    assert len(seen) == 4  # a new refresh token was stored by every run
    refreshes = [
        e
        for e in requests.get(sandbox.salesforce_admin_url + "/log", timeout=5).json()["entries"]
        if e["path"] == "/services/oauth2/token"
    ]
    assert len(refreshes) == 4  # the code exchange + one refresh per run


def test_sync_logs_to_the_profile_without_secrets(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    set_up(sandbox, env, profile)
    synced = run(env, profile, "sync", "--once")
    assert synced.returncode == 0, synced.stderr

    log_file = profile / "logs" / "bigsync.log"
    assert log_file.stat().st_mode & 0o777 == 0o600
    text = log_file.read_text()
    assert "trigger cycle 1: ok" in text
    from keyrings.alt.file import PlaintextKeyring

    from bigsync_gui.core import secrets as vault
    from bigsync_gui.core.profile import Profile

    store = PlaintextKeyring()
    store.file_path = str(Path(env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg")
    service = Profile.at(profile).keyring_service
    kept = [store.get_password(service, name) for name in vault.ALL_NAMES]
    kept = [value for value in kept if value]
    assert cred.BT_API_KEY in kept and any(v.startswith("5Aep") for v in kept)
    for path in profile.rglob("*"):
        if path.is_file():
            content = path.read_bytes().decode("utf-8", errors="replace")
            for secret in kept:
                assert secret not in content, f"a secret reached {path.name}"


def test_run_loops_and_stops_cleanly_on_sigterm(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    import signal as signals

    set_up(sandbox, env, profile)

    proc = subprocess.Popen(
        [*CLI, "--profile", str(profile), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines = LineReader(proc)
    mode = lines.next(60)  # the change stream connects before the first cycle (docs/sync.md, "Instant triggers")
    assert mode == "Triggers: Instant\n", mode
    first = lines.next(60)
    assert first.startswith("Trigger cycle 1: ok"), first
    second = lines.next(60)  # the first write-back follows the first trigger cycle
    assert second.startswith("Writeback cycle 2: ok"), second
    proc.send_signal(signals.SIGTERM)
    assert proc.wait(timeout=15) == 0
    status = json.loads(run(env, profile, "status", "--json").stdout)
    assert [c["result"] for c in status["cycles"]] == ["ok", "ok"]  # nothing left 'running'


def test_sigterm_during_a_cycle_abandons_it_safely(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    """Stopped in the middle of creating projects: the process ends promptly, and the next run
    finishes the work with exactly one project per won opportunity."""
    import signal as signals
    import time

    set_up(sandbox, env, profile)
    sf = sandbox.world.salesforce
    with sandbox.world.lock:
        won = [
            r["Id"]
            for r in sf.all_records("Opportunity")
            if not r.get("IsDeleted") and r["StageName"] == "Negotiation/Review" and r.get("AccountId")
        ]
        for oid in won:
            sf.update("Opportunity", oid, {"StageName": "Closed Won"})
    requests.post(
        sandbox.bigtime_admin_url + "/faults",
        json={"kind": "latency", "seconds": 0.4, "method": "POST", "count": None},
        timeout=5,
    ).raise_for_status()

    proc = subprocess.Popen(
        [*CLI, "--profile", str(profile), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the cycle is creating in BigTime
        entries = requests.get(sandbox.bigtime_admin_url + "/log", timeout=5).json()["entries"]
        if any(e["method"] == "POST" and "/project/detail" in e["path"].lower() for e in entries):
            break
        time.sleep(0.05)
    proc.send_signal(signals.SIGTERM)
    assert proc.wait(timeout=15) == 0
    created_before = len(
        [
            p
            for p in sandbox.world.bigtime.directory.project_list(show_inactive=True)
            if str(p.get("ProjectCode", "")).startswith("SF-")
        ]
    )
    assert created_before < len(won)  # it really was stopped part-way

    requests.delete(sandbox.bigtime_admin_url + "/faults", timeout=5).raise_for_status()
    again = run(env, profile, "sync", "--once", "--json")
    assert again.returncode == 0, again.stderr
    codes = collections.Counter(
        str(p.get("ProjectCode", "")) for p in sandbox.world.bigtime.directory.project_list(show_inactive=True)
    )
    assert all(sum(codes[c] for c in project_codes(oid)) == 1 for oid in won)  # one each, whichever code form was kept
    assert sum(n for c, n in codes.items() if c.startswith("SF-")) == len(won)


def _move_an_open_opportunity(sandbox: Sandbox, stage: str) -> str:
    world = sandbox.world
    with world.lock:
        opp = next(
            r
            for r in world.salesforce.all_records("Opportunity")
            if not r.get("IsDeleted") and not r.get("IsClosed") and r.get("AccountId")
        )
        world.salesforce.update("Opportunity", opp["Id"], {"StageName": stage})
        return str(opp["Id"])


def _projects_for(sandbox: Sandbox, opp_id: str) -> list[dict[str, object]]:
    with sandbox.world.lock:
        return [
            dict(p)
            for p in sandbox.world.bigtime.records["project"].values()
            if p["ProjectCode"] in project_codes(opp_id)
        ]


def test_configuring_the_same_stage_again_keeps_a_win_not_synced_yet(
    sandbox: Sandbox, env: dict[str, str], profile: Path
) -> None:
    """Issue 12 item 1: a win that reached the stage after the first setup gets its project even when
    `configure` runs again (to change the interval) before the next sync."""
    set_up(sandbox, env, profile)
    assert run(env, profile, "sync", "--once").returncode == 0
    won = _move_an_open_opportunity(sandbox, "Closed Won")
    again = run(env, profile, "configure", "--trigger-stage", "Closed Won", "--interval", "600")
    assert again.returncode == 0, again.stderr
    settings = json.loads((profile / "config" / "settings.json").read_text())
    assert settings["sync"]["interval_seconds"] == 600
    synced = run(env, profile, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    assert len(_projects_for(sandbox, won)) == 1, synced.stdout


def test_configure_interval_alone_changes_only_the_interval(
    sandbox: Sandbox, env: dict[str, str], profile: Path
) -> None:
    set_up(sandbox, env, profile)
    assert run(env, profile, "sync", "--once").returncode == 0
    won = _move_an_open_opportunity(sandbox, "Closed Won")
    changed = run(
        env, profile, "configure", "--interval", "900", "--api-budget-percent", "2.5", "--writeback-interval", "1800"
    )
    assert changed.returncode == 0, changed.stderr
    sync = json.loads((profile / "config" / "settings.json").read_text())["sync"]
    assert (sync["interval_seconds"], sync["api_budget_percent"], sync["writeback_interval_seconds"]) == (
        900,
        2.5,
        1800,
    )
    assert sync["trigger_stage"] == "Closed Won"
    assert run(env, profile, "sync", "--once").returncode == 0
    assert len(_projects_for(sandbox, won)) == 1
    assert run(env, profile, "configure", "--interval", "10").returncode == 1  # at least 60 s
    assert run(env, profile, "configure").returncode == 2  # nothing to change


def test_a_spent_api_budget_is_a_wait_exit_4(sandbox: Sandbox, env: dict[str, str], profile: Path) -> None:
    set_up(sandbox, env, profile)
    requests.post(
        sandbox.salesforce_admin_url + "/settings", json={"daily_api_limit": 100, "api_usage": 0}, timeout=5
    ).raise_for_status()  # 5% → 5 requests a day
    for _ in range(6):
        synced = run(env, profile, "sync", "--once")
        if synced.returncode != 0:
            break
    assert synced.returncode == 4, synced.stderr
    assert "budget is used up" in synced.stderr and "resumes at midnight UTC" in synced.stderr
    assert ": waiting — " in synced.stdout, synced.stdout  # asked to wait, not a failure
    used = requests.get(sandbox.salesforce_admin_url + "/settings", timeout=5).json()["api_usage"]
    assert used <= 5, used


def test_sync_once_with_writeback_runs_both_and_status_shows_the_interval(
    sandbox: Sandbox, env: dict[str, str], profile: Path
) -> None:
    """Issue 12.7: `sync --once --writeback` (or `--all`) refreshes BigTime's figures too; 12.6: the
    effective interval is in `status --json`."""
    set_up(sandbox, env, profile)
    only = run(env, profile, "sync", "--once", "--json")
    assert only.returncode == 0, only.stderr
    assert [json.loads(line)["kind"] for line in only.stdout.splitlines()] == ["trigger"]
    both = run(env, profile, "sync", "--once", "--all", "--json")
    assert both.returncode == 0, both.stderr
    assert [json.loads(line)["kind"] for line in both.stdout.splitlines()] == ["trigger", "writeback"]
    status = json.loads(run(env, profile, "status", "--json").stdout)
    assert status["interval"]["source"] == "derived" and status["interval"]["seconds"] >= 30
