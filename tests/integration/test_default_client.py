"""Issue 20 item 4: what happens to opportunities without an account — reported (the default) or their
projects put under a chosen BigTime client — chosen with `configure --default-client` (and Settings ›
Trigger, tests/gui/test_default_client_box.py), checked against BigTime, honoured by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from bigsync_gui.cli import main
from bigsync_gui.core import default_client, where_to_act
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.errors import ConfigInvalid
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Store
from bigsync_gui.gui.activity import load_activity
from bigsync_gui.sandbox import Sandbox
from configured_profile import configure_profile, use_file_keyring


@pytest.fixture
def profile(sandbox: Sandbox, tmp_path: Path):
    use_file_keyring(tmp_path / "home")
    return configure_profile(sandbox, tmp_path / "profile")


def clients(sandbox: Sandbox) -> dict[str, dict]:
    return {c["Nm"]: c for c in requests.get(sandbox.bigtime_admin_url + "/records/client", timeout=10).json()}


def walk_in(sandbox: Sandbox) -> str:
    records = requests.get(sandbox.salesforce_admin_url + "/records/Opportunity", timeout=10).json()["records"]
    (opp,) = [r["Id"] for r in records if not r.get("AccountId")]
    return opp


def win(sandbox: Sandbox, opp_id: str) -> None:
    requests.patch(
        f"{sandbox.salesforce_admin_url}/records/Opportunity/{opp_id}", json={"StageName": "Closed Won"}, timeout=10
    ).raise_for_status()


def configure(profile, value: str) -> int:
    return main(["configure", "--profile", str(profile.config_dir.parent), "--default-client", value])


def test_configure_default_client_then_the_project_goes_under_it(sandbox, profile, capsys, sandbox_pause):
    vandelay = clients(sandbox)["Vandelay Industries"]
    assert configure(profile, "vandelay industries") == 0  # the name, case aside
    assert "go under the BigTime client Vandelay Industries" in capsys.readouterr().out
    assert Settings.load(profile).sync.default_client_id == vandelay["SystemId"]
    opp = walk_in(sandbox)
    win(sandbox, opp)
    report = Engine(Connector(profile), wait=sandbox_pause).run_cycle()
    assert report.created == 1 and report.rejected == 0
    store = Store(profile.data_dir / "state.db")
    try:
        (link,) = [link for link in store.links("linked") if link.opportunity_id == opp]
    finally:
        store.close()
    project = requests.get(f"{sandbox.bigtime_admin_url}/records/project/{link.project_id}", timeout=10).json()
    assert project["ClientId"] == vandelay["SystemId"]


def test_refused_for_no_account_then_a_client_chosen_the_next_cycle_creates_it(connected_engine, capsys):
    """The refusal tells the admin to choose a client; once chosen, the refused opportunity gets its
    project at the next cycle without anyone touching it — once, under that client."""
    e = connected_engine
    opp = walk_in(e.sandbox)
    win(e.sandbox, opp)
    first = e.cycle()
    assert first.created == 0 and first.rejected == 1
    e.advance(minutes=10)  # past the read's lookback: from here only a change would read it again
    assert e.cycle().rejected == 0  # unchanged and no client chosen: not tried (nor reported) again
    initech = clients(e.sandbox)["Initech"]
    before = len(requests.get(e.sandbox.bigtime_admin_url + "/records/project", timeout=10).json())
    assert configure(e.profile, "Initech") == 0
    capsys.readouterr()
    engine = e.new_engine()  # a new process reads the settings, as `run` does at each cycle
    report = engine.run_cycle()
    assert report.created == 1 and report.rejected == 0
    again = engine.run_cycle(full=True)  # a full read too finds nothing more to do
    assert again.created == 0 and again.rejected == 0
    store = e.store()
    try:
        (link,) = [link for link in store.links("linked") if link.opportunity_id == opp]
    finally:
        store.close()
    project = requests.get(f"{e.sandbox.bigtime_admin_url}/records/project/{link.project_id}", timeout=10).json()
    assert project["ClientId"] == initech["SystemId"]
    assert len(requests.get(e.sandbox.bigtime_admin_url + "/records/project", timeout=10).json()) == before + 1


@pytest.mark.parametrize("fate", ["moved back", "in the recycle bin", "deleted for good"])
def test_a_refused_one_tried_again_for_the_chosen_client_whatever_became_of_it(connected_engine, capsys, fate):
    """Moved back below the stage since: it reached the stage when it was refused, so it gets its
    project, as any won-then-reopened deal does. Deleted since: its refusal is let go, not read
    again at every cycle (restored, it is read as changed and decided anew)."""
    e = connected_engine
    opp = walk_in(e.sandbox)
    win(e.sandbox, opp)
    assert e.cycle().rejected == 1
    if fate == "moved back":
        e.move(opp, "Qualification")
    elif fate == "in the recycle bin":
        e.delete(opp)
    else:
        with e.sandbox.world.lock:
            rows = e.sf.records["opportunity"]
            del rows[next(key for key, row in rows.items() if row["Id"] == opp)]
    e.cycle()
    e.advance(minutes=10)  # past the read's lookback: only the refusal brings it back
    before = len(e.projects())
    assert configure(e.profile, "Initech") == 0
    capsys.readouterr()
    engine = e.new_engine()
    created = 1 if fate == "moved back" else 0
    assert engine.run_cycle().created == created
    assert engine.run_cycle().created == 0
    store = e.store()
    try:
        assert store.intent(opp) is None if not created else store.intent(opp).state == "created"
    finally:
        store.close()
    assert len(e.projects()) == before + created


def test_by_id_and_code_and_back_to_reporting(sandbox, profile, capsys, sandbox_pause):
    globex = clients(sandbox)["Globex Corporation"]
    assert configure(profile, str(globex["SystemId"])) == 0
    assert Settings.load(profile).sync.default_client_id == globex["SystemId"]
    assert configure(profile, globex["ClientId"]) == 0  # the client code
    assert configure(profile, "none") == 0
    assert "refused and reported" in capsys.readouterr().out
    assert Settings.load(profile).sync.default_client_id is None
    opp = walk_in(sandbox)
    win(sandbox, opp)
    report = Engine(Connector(profile), wait=sandbox_pause).run_cycle()
    assert report.created == 0 and report.rejected == 1
    store = Store(profile.data_dir / "state.db")
    try:
        reasons = [e.message for e in store.recent_activity(5)[1] if e.kind == "rejected"]
    finally:
        store.close()
    (reason,) = reasons
    assert reason.endswith(where_to_act.no_account("cli"))  # stored in the CLI's words: the sync process is `run`
    assert main(["status", "--profile", str(profile.config_dir.parent), "--json"]) == 0
    (refused,) = json.loads(capsys.readouterr().out)["rejected"]
    assert refused == {"opportunity_id": opp, "reason": where_to_act.no_account("cli")}  # the flag, for the CLI
    (shown,) = [e.message for e in load_activity(profile).events if e.kind == "rejected"]
    assert shown.endswith("choose a client for such opportunities in Settings › Trigger.")  # Activity: the window


def test_a_client_bigtime_does_not_have_is_refused_and_nothing_changes(sandbox, profile, capsys):
    assert configure(profile, "Nobody Inc") != 0
    assert "BigTime has no active client 'Nobody Inc'" in capsys.readouterr().err
    assert Settings.load(profile).sync.default_client_id is None
    assert configure(profile, "999999") != 0
    # an inactive client is no choice either
    globex = clients(sandbox)["Globex Corporation"]
    requests.patch(
        f"{sandbox.bigtime_admin_url}/records/client/{globex['SystemId']}", json={"IsInactive": True}, timeout=10
    ).raise_for_status()
    with pytest.raises(ConfigInvalid):
        default_client.choose(Connector(profile), globex["SystemId"])
    assert all(c.id != globex["SystemId"] for c in default_client.active_clients(Connector(profile)))


def test_default_client_goes_alone(profile, capsys):
    assert (
        main(
            [
                "configure",
                "--profile",
                str(profile.config_dir.parent),
                "--default-client",
                "x",
                "--trigger-stage",
                "Closed Won",
            ]
        )
        == 2
    )
