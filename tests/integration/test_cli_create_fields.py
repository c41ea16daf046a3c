"""`configure --create-fields` as an admin runs it: lists what the org lacks, asks, creates, and
says what happened; without Customize Application it says so and creates nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bigsync_gui.core.field_setup import INVOICE_FIELDS
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import DEFAULT_FIELD_MAP
from bigsync_gui.sandbox import Sandbox
from configured_profile import configure_profile, file_keyring_env, use_file_keyring
from sandbox_pause import SandboxPause

CLI = [sys.executable, "-m", "bigsync_gui"]
CREATED = len(DEFAULT_FIELD_MAP) + len(INVOICE_FIELDS) + 1  # every figure's field, the object and its fields


@pytest.fixture
def home(tmp_path: Path) -> Path:
    use_file_keyring(tmp_path / "home")
    return tmp_path / "home"


@pytest.fixture
def profile(sandbox: Sandbox, home: Path, tmp_path: Path) -> Profile:
    return configure_profile(sandbox, tmp_path / "profile")


def create_fields(profile: Profile, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--profile", str(profile.config_dir.parent), "configure", "--create-fields", *args],
        capture_output=True,
        text=True,
        env=file_keyring_env(home),
        timeout=120,
    )


def metadata(sandbox: Sandbox, **body) -> dict:
    url = sandbox.salesforce_admin_url + "/metadata"
    r = requests.post(url, json=body, timeout=10) if body else requests.get(url, timeout=10)
    r.raise_for_status()
    return r.json()


def test_lists_asks_then_creates(sandbox: Sandbox, profile: Profile, home: Path) -> None:
    metadata(sandbox, bigsync_fields="absent")
    unasked = create_fields(profile, home)  # no terminal to ask on: nothing done without --yes
    assert unasked.returncode == 2 and "add --yes" in unasked.stderr
    assert "Opportunity.BigTime_WIP__c — Currency(16, 2)" in unasked.stdout
    assert metadata(sandbox)["custom_fields"] == []

    done = create_fields(profile, home, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Creating the object BigTime_Invoice__c…" in done.stdout and f"Created {CREATED}:" in done.stdout
    assert "permission set “BigSync fields”" in done.stdout
    assert len(metadata(sandbox)["custom_fields"]) == CREATED - 1  # all but the object

    again = create_fields(profile, home, "--yes")
    assert again.returncode == 0 and "Nothing to create" in again.stdout


def test_without_customize_application_it_says_so(sandbox: Sandbox, profile: Profile, home: Path) -> None:
    metadata(sandbox, bigsync_fields="absent", customize_application=False)
    out = create_fields(profile, home, "--yes")
    assert out.returncode == 1
    assert "lacks the Customize Application permission" in out.stderr and "by hand" in out.stderr
    assert metadata(sandbox)["custom_fields"] == []


def test_goes_alone(profile: Profile, home: Path) -> None:
    out = create_fields(profile, home, "--trigger-stage", "Closed Won")
    assert out.returncode == 2 and "goes alone" in out.stderr


def test_the_sync_writes_into_the_fields_it_created(
    sandbox: Sandbox, profile: Profile, home: Path, sandbox_pause: SandboxPause
) -> None:
    """A fresh org: before, the write-back has nowhere to write; after --create-fields, a won deal's
    project id and figures land in the fields created (through the permission set's grant)."""
    from bigsync_gui.core.connections import Connector
    from bigsync_gui.core.engine import Engine
    from configured_profile import win_opportunities

    metadata(sandbox, bigsync_fields="absent")
    assert create_fields(profile, home, "--yes").returncode == 0
    [opp_id] = win_opportunities(sandbox.salesforce_admin_url, 1)
    engine = Engine(Connector(profile), wait=sandbox_pause)
    report = engine.run_cycle(full=True)
    assert report.created == 1, report.message
    engine.run_writeback_cycle()
    row = requests.get(f"{sandbox.salesforce_admin_url}/records/Opportunity/{opp_id}", timeout=10).json()
    assert row["BigTime_Project_Id__c"] and row["BigTime_Last_Sync__c"]
    assert row["BigTime_Project_URL__c"].startswith("http")
