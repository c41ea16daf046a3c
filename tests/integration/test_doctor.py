"""`doctor`: every API assumption checked against the sandbox, with reads only.

The CLI runs as a process (as an admin would); the core module is called directly for the cases
that only differ in what the sandbox answers. The strict sandbox (the default) passes; a renamed
budget-status field or a missing Salesforce field is named, and a needed one makes the exit 6.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from bigsync_gui.core import secrets
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.doctor import CONFIRMED, DIFFERENT, NOT_CHECKED, DoctorReport, report_path, run_doctor
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Store
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from bigsync_gui.sandbox.bigtime.ledger import Ledger
from configured_profile import configure_profile, file_keyring_env, use_file_keyring, win_opportunities
from sandbox_pause import SandboxPause

CLI = [sys.executable, "-m", "bigsync_gui"]
EXIT_DOCTOR_DIFFERS = 6


@pytest.fixture
def home(tmp_path: Path) -> Path:
    use_file_keyring(tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def unlinked(sandbox: Sandbox, home: Path, tmp_path: Path) -> Profile:
    return configure_profile(sandbox, tmp_path / "profile")


@pytest.fixture
def linked(sandbox: Sandbox, unlinked: Profile, sandbox_pause: SandboxPause) -> Profile:
    """One won opportunity, turned into a BigTime project by a real cycle."""
    win_opportunities(sandbox.salesforce_admin_url, 1)
    report = Engine(Connector(unlinked), wait=sandbox_pause).run_cycle(full=True)
    assert report.created == 1, report.message
    store = Store(unlinked.data_dir / "state.db")
    project_id = store.links("linked")[0].project_id
    store.close()
    with sandbox.world.lock:  # a project with time logged has budget-status rows to read
        sandbox.world.bigtime.ledger.log_time({"ProjectSID": project_id, "Hours_IN": 2})
    return unlinked


def by_key(report: DoctorReport) -> dict[str, Any]:
    return {c.key: c for c in report.checks}


def api_log(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [
        entry
        for url in (sandbox.salesforce_admin_url, sandbox.bigtime_admin_url)
        for entry in requests.get(url + "/log", timeout=10).json()["entries"]
    ]


def clear_logs(sandbox: Sandbox) -> None:
    for url in (sandbox.salesforce_admin_url, sandbox.bigtime_admin_url):
        requests.delete(url + "/log", timeout=10).raise_for_status()


def doctor_process(profile_root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--profile", str(profile_root), "doctor", *args],
        capture_output=True,
        text=True,
        env=file_keyring_env(home),
        timeout=120,
    )


def test_strict_sandbox_passes_read_only_and_the_report_has_no_secret(
    sandbox: Sandbox, linked: Profile, home: Path
) -> None:
    clear_logs(sandbox)
    root = linked.config_dir.parent
    human = doctor_process(root, home)
    assert human.returncode == 0, human.stdout + human.stderr
    assert (
        "Checked " in human.stdout
        and f"Report for support (no secrets, ids or values): {report_path(linked)}" in human.stdout
    )

    machine = doctor_process(root, home, "--json")
    assert machine.returncode == 0, machine.stderr
    out = json.loads(machine.stdout)
    checks = {c["key"]: c for c in out["checks"]}
    assert out["blocking"] == 0 and out["report_file"] == str(report_path(linked))
    for key in (
        "bigtime.budget_row.hours_input",
        "bigtime.budget_row.expenses_input",
        "bigtime.budget_row.wip",
        "bigtime.budget_row.budget_total",
        "bigtime.project_detail.BudgetFees",
        "bigtime.invoice.PaidAmt",
        "bigtime.project_list",
        "bigtime.realm",
        "salesforce.identity",
        "salesforce.opportunity.wip",
        "salesforce.invoice_object",
    ):
        assert checks[key]["status"] == CONFIRMED, checks[key]
    assert "HrsIn: number" in checks["bigtime.budget_row.hours_input"]["seen"]
    # The strict reading has no BudgetExps on rows: a difference BigSync copes with (not written), not a failure.
    expenses = checks["bigtime.budget_row.budget_expenses"]
    assert expenses["status"] == DIFFERENT and not expenses["needed"] and "BudgetExps" in expenses["note"]
    assert checks["bigtime.oauth_header"]["status"] == NOT_CHECKED  # connected with the API key
    # The strict history lists no TotalAmt: the invoice's detail is the next source, not a failure.
    total = checks["bigtime.invoice.TotalAmt"]
    assert total["status"] == DIFFERENT and not total["needed"] and "/invoice/detail/" in total["note"]
    # Which source answered each mapped figure for the linked project (names, never values).
    source = checks["bigtime.figure_sources.budget_total"]
    assert source["status"] == CONFIRMED and source["seen"] == ["source: sum of EstTotal on budget-status rows"]
    assert checks["bigtime.figure_sources.hours_logged"]["seen"] == ["source: sum of HrsIn on budget-status rows"]
    empty = checks["bigtime.figure_sources.budget_expenses"]
    # empty, as the sync has it, because the total budget holds it: as expected, not a difference
    assert empty["status"] == CONFIRMED and empty["seen"] == ["source: none"]
    assert "its budget is in Budget (total" in empty["note"]
    assert "Budget (total) for the newest linked project comes from sum of EstTotal" in human.stdout

    # Read-only: GETs, plus Salesforce's token refresh (a read of a new access token), nothing else.
    entries = api_log(sandbox)
    assert entries and any("BudgetStatusByProject" in e["path"] for e in entries)
    writes = [e for e in entries if e["method"] != "GET" and not e["path"].endswith("/oauth2/token")]
    assert writes == [], writes

    # The report: 0600, and nothing secret, no record id, no value.
    path = report_path(linked)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    settings = Settings.load(linked)
    vault = secrets.Vault(linked)
    store = Store(linked.data_dir / "state.db")
    the_link = store.links("linked")[0]
    store.close()
    forbidden = [
        cred.BT_API_KEY,
        cred.BT_CLIENT_SECRET,
        cred.SF_PASSWORD,
        cred.BT_FIRM_ID,
        settings.salesforce.org_id,
        settings.salesforce.user_id,
        settings.salesforce.username,
        the_link.opportunity_id,
        f'"{the_link.project_id}"',
        f": {the_link.project_id}",
    ]
    forbidden += [vault.get(secrets.SALESFORCE_REFRESH_TOKEN), vault.get(secrets.BIGTIME_API_KEY)]
    for secret in forbidden:
        assert secret and secret not in text, secret
    assert f"project {the_link.project_id}" not in text  # the figure-source checks name no project


def test_a_renamed_budget_field_is_named_and_fails_the_exit(
    sandbox: Sandbox, linked: Profile, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Ledger.budget_status

    def renamed(self: Ledger, project_id: int) -> list[dict[str, Any]]:
        return [
            {("HoursIn" if k == "HrsIn" else "Estimate" if k == "EstTotal" else k): v for k, v in row.items()}
            for row in original(self, project_id)
        ]

    monkeypatch.setattr(Ledger, "budget_status", renamed)
    report = run_doctor(Connector(linked))
    checks = by_key(report)
    hours = checks["bigtime.budget_row.hours_input"]
    assert hours.status == DIFFERENT and hours.needed and hours.blocking
    assert "HrsIn" in hours.note and "hours_logged" in hours.note
    assert "HoursIn: number" in hours.seen  # what the rows carry instead: names and types
    estimate = checks["bigtime.budget_row.budget_total"]
    assert estimate.status == DIFFERENT and estimate.needed and "EstTotal" in estimate.note  # budget_total's one source
    assert "2 things it needs are different" in report.summary()

    done = doctor_process(linked.config_dir.parent, home)
    assert done.returncode == EXIT_DOCTOR_DIFFERS, done.stdout + done.stderr
    assert "NEEDED" in done.stdout and "HrsIn" in done.stdout


def test_lenient_rows_use_the_alias_when_the_live_name_is_gone(
    sandbox: Sandbox, linked: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests.post(
        sandbox.bigtime_admin_url + "/switches", json={"budget_row_aliases": True}, timeout=10
    ).raise_for_status()
    original = Ledger.budget_status
    monkeypatch.setattr(
        Ledger,
        "budget_status",
        lambda self, pid: [{k: v for k, v in r.items() if k != "WipTotal"} for r in original(self, pid)],
    )
    checks = by_key(run_doctor(Connector(linked)))
    assert checks["bigtime.budget_row.budget_expenses"].status == CONFIRMED  # BudgetExps sent under the switch
    wip = checks["bigtime.budget_row.wip"]
    assert wip.status == DIFFERENT and not wip.blocking and "TotalWip instead of WipTotal" in wip.note


def test_a_missing_salesforce_field_is_named(linked: Profile) -> None:
    settings = Settings.load(linked)
    settings.sync.field_map["wip"] = "BigTime_Work_In_Progress__c"
    settings.save(linked)
    report = run_doctor(Connector(linked))
    wip = by_key(report)["salesforce.opportunity.wip"]
    assert wip.status == DIFFERENT and wip.blocking
    assert "BigTime_Work_In_Progress__c" in wip.note and "no field" in wip.note
    assert [c.key for c in report.blocking] == ["salesforce.opportunity.wip"]


def test_nothing_linked_is_not_checked_and_says_so(unlinked: Profile) -> None:
    report = run_doctor(Connector(unlinked))
    checks = by_key(report)
    for key in ("bigtime.budget_row.hours_input", "bigtime.project_detail.BudgetHours"):
        assert checks[key].status == NOT_CHECKED and "No opportunity is linked" in checks[key].note
    assert not report.blocking and "not checked yet" in report.summary()


def test_not_connected_is_exit_3(tmp_path: Path, home: Path) -> None:
    done = doctor_process(tmp_path / "empty", home)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "not connected" in done.stdout


def test_a_sandbox_setup_from_another_process_says_why_not_the_error_name(
    sandbox: Sandbox, unlinked: Profile, tmp_path: Path
) -> None:
    """Issue 20 item 6: a `--sandbox` setup keeps its sign-ins in the app's memory; `doctor` on its profile used
    to print "NotConnected" under every check and blame the missing linked project."""
    use_file_keyring(tmp_path / "another-home")  # this process's keyring holds none of the sign-ins
    report = run_doctor(Connector(unlinked))
    notes = {c.note for c in report.checks}
    assert not any("NotConnected" in note for note in notes)
    stopped = [c for c in report.checks if "sandbox setup" in c.note and "lives only in the memory" in c.note]
    assert len(stopped) >= len(report.checks) - 5, notes  # all but the few that need no call at all
    assert {c.system for c in stopped} == {"salesforce", "bigtime"}
    summary = report.summary()
    assert "linked project" not in summary
    assert "not checked (BigTime is not connected and Salesforce is not connected)" in summary


def test_a_real_setup_whose_keyring_lost_the_sign_in_says_so(tmp_path: Path, home: Path) -> None:
    profile = Profile.at(tmp_path / "p")
    settings = Settings()
    settings.salesforce.login_url = settings.salesforce.instance_url = "https://acme.my.salesforce.com"
    settings.bigtime.auth_mode = "api_key"
    settings.bigtime.base_url = "https://iq.bigtime.net/BigtimeData/api/v2"
    settings.save(profile)
    report = run_doctor(Connector(profile))
    notes = {c.note for c in report.checks}
    assert any("Salesforce was connected, but its sign-in is not in this computer's keyring" in n for n in notes)
    assert any("BigTime was connected, but its sign-in is not in this computer's keyring" in n for n in notes)
    assert not any("NotConnected" in n for n in notes)


def test_change_data_capture_is_checked_and_the_steps_given_when_off(sandbox: Sandbox, unlinked: Profile) -> None:
    key = "salesforce.change_data_capture"
    on = by_key(run_doctor(Connector(unlinked)))[key]
    assert on.status == CONFIRMED and not on.needed and "a won deal reaches BigSync at once" in on.note
    requests.post(sandbox.salesforce_admin_url + "/streaming", json={"entities": []}, timeout=10).raise_for_status()
    report = run_doctor(Connector(unlinked))
    off = by_key(report)[key]
    assert off.status == DIFFERENT and not off.blocking  # triggers still work, on the interval
    assert "1. In Salesforce, open Setup › Change Data Capture" in off.note and "at most 5 entities" in off.note
    assert key not in [c.key for c in report.blocking]
    # Salesforce would not say (the Tooling API refused): unknown, never "off"
    refused = {
        "kind": "status",
        "status": 400,
        "path": "/tooling/query",
        "body": [{"message": "no", "errorCode": "INVALID_TYPE"}],
    }
    requests.post(sandbox.salesforce_admin_url + "/faults", json=refused, timeout=10).raise_for_status()
    unknown = by_key(run_doctor(Connector(unlinked)))[key]
    assert unknown.status == NOT_CHECKED and "would not say" in unknown.note
