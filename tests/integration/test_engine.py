"""The sync engine against the sandbox, one behaviour at a time (docs/design.md), then bad data.

Every test starts from the seed with a profile connected through the real sign-in flows and the
trigger stage "Closed Won" saved (``connected_engine``); the four seed opportunities already in
Closed Won are therefore "already past it" and left alone unless a test asks for backfill.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote_plus

import pytest

from bigsync_gui.core.bigtime_limits import client_code, fit_name
from bigsync_gui.core.creation import project_code, project_codes
from bigsync_gui.core.engine import Engine
from bigsync_gui.core.errors import ConfigInvalid
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.status import status_snapshot
from engine_fixtures import ID_FIELD, Connected, Oracle, admin, run


def open_opp_with_two_roles(env: Connected, account: str = "Globex Corporation") -> str:
    acc = env.account_id(account)
    oid = env.new_opp("Globex – Data platform", "Negotiation/Review", acc, Amount=250000, Description="Phase one")
    env.add_role(oid, "Ada", "Primary", "ada@globex.example", primary=True, account=acc)
    env.add_role(oid, "Bo", "Other", "bo@globex.example", primary=False, account=acc)
    return oid


def bt_writes(env: Connected) -> list[tuple[str, str]]:
    return [(e["method"], e["path"]) for e in env.log("bigtime") if e["method"] != "GET"]


def events(env: Connected, kind: str) -> list[Any]:
    store = env.store()
    try:
        return [e for e in store.events(limit=1000) if e.kind == kind]
    finally:
        store.close()


# ---- the happy path ------------------------------------------------------------------------------------------
def test_reaching_the_stage_creates_one_project_with_client_contacts_and_id_written_back(
    connected_engine: Connected,
) -> None:
    env = connected_engine
    oid = open_opp_with_two_roles(env)
    assert env.cycle().created == 0  # below the stage: nothing
    assert env.projects_for(oid) == []

    env.move(oid, "Closed Won")
    report = env.cycle()
    assert (report.result, report.created, report.rejected) == ("ok", 1, 0)
    project = env.project(oid)
    assert project["Nm"] == "Globex – Data platform"
    assert project["ProjectCode"] in project_codes(oid)
    globex = [c for c in env.clients() if c["Nm"].casefold() == "globex corporation"]
    assert len(globex) == 1 and project["ClientId"] == globex[0]["SystemId"]  # BigTime's own client, reused
    assert project["StartDt"].startswith(env.opp(oid)["CloseDate"])
    assert project["Notes"] == "Phase one" and project["BudgetFees"] == 250000

    contacts = {c["EMail"]: c for c in env.contacts(project["SystemId"])}
    assert set(contacts) == {"ada@globex.example", "bo@globex.example"}
    assert contacts["ada@globex.example"]["Tag"] == "PRIMARY" and contacts["bo@globex.example"]["Tag"] == "OTHER"
    assert project["PrimaryContactId"] == contacts["ada@globex.example"]["SystemId"]

    assert env.opp(oid)[ID_FIELD] == str(project["SystemId"])  # the link's second record
    store = env.store()
    link = store.link(oid)
    store.close()
    assert link is not None and link.project_id == project["SystemId"] and link.written_back

    env.clear_logs()
    again = env.cycle()
    assert again.created == 0 and again.bigtime_requests == 0
    assert len(env.projects_for(oid)) == 1


def test_a_stage_past_the_trigger_counts_and_closed_lost_never_does(connected_engine: Connected) -> None:
    env = connected_engine
    env.configure("Proposal/Price Quote")
    oracle = Oracle(env, trigger="Proposal/Price Quote")
    acc = env.account_id("Initech")
    skipped = env.new_opp("Skips straight to won", "Prospecting", acc)
    lost = env.new_opp("Lost from qualification", "Qualification", acc)
    lost_late = env.new_opp("Lost after the proposal stage was skipped", "Value Proposition", acc)
    run(env, oracle)
    env.move(skipped, "Closed Won")  # never sat in the trigger stage: passing it counts
    env.move(lost, "Closed Lost")  # closed-lost is later by sort order but never triggers
    env.move(lost_late, "Closed Lost")
    run(env, oracle)
    assert len(env.projects_for(skipped)) == 1
    assert env.projects_for(lost) == [] and env.projects_for(lost_late) == []
    env.move(lost, "Negotiation/Review")  # reopened past the trigger: now it counts
    run(env, oracle)
    assert len(env.projects_for(lost)) == 1
    oracle.check(final=True)


def test_closed_lost_cannot_be_the_trigger(connected_engine: Connected) -> None:
    env = connected_engine
    try:
        env.configure("Closed Lost")
    except Exception as exc:  # ConfigInvalid with a sentence
        assert "closed-lost" in str(getattr(exc, "message", exc))
    else:
        raise AssertionError("Closed Lost was accepted as the trigger stage")
    assert Settings.load(env.profile).sync.trigger_stage == "Closed Won"


# ---- clients ----------------------------------------------------------------------------------------------------
def test_client_by_same_name_case_insensitive_and_trimmed_else_created_once(connected_engine: Connected) -> None:
    env = connected_engine
    initech = env.account_id("Initech")
    env.update("Account", initech, {"Name": "  iNITECH  "})
    before = len(env.clients())
    first = env.new_opp("Initech – Audit", "Closed Won", initech)

    fresh = env.insert("Account", {"Name": "Hooli XYZ", "BillingCity": "Palo Alto", "Phone": "555-0100"})
    second = env.new_opp("Hooli – Pilot", "Closed Won", fresh)
    third = env.new_opp("Hooli – Rollout", "Closed Won", fresh)
    report = env.cycle()
    assert report.created == 3

    initech_clients = [c for c in env.clients() if c["Nm"].strip().casefold() == "initech"]
    assert len(initech_clients) == 1 and env.project(first)["ClientId"] == initech_clients[0]["SystemId"]
    hooli = [c for c in env.clients() if c["Nm"] == "Hooli XYZ"]
    assert len(hooli) == 1, hooli  # created once, for both opportunities
    assert hooli[0]["ClientId"] == client_code(fresh)
    assert hooli[0]["City"] == "Palo Alto" and hooli[0]["MainPH"] == "555-0100"
    assert env.project(second)["ClientId"] == env.project(third)["ClientId"] == hooli[0]["SystemId"]
    assert len(env.clients()) == before + 1


# ---- deletes and restores ---------------------------------------------------------------------------------------
def test_deleted_severs_the_link_and_keeps_the_project_restored_relinks_without_duplicate(
    connected_engine: Connected,
) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    run(env, oracle)
    project = env.project(oid)

    env.delete(oid)
    report = run(env, oracle)
    assert report.severed == 1
    assert env.project(oid) == project  # untouched
    store = env.store()
    assert store.link(oid).status == "severed"  # type: ignore[union-attr]
    store.close()
    assert not any(m == "DELETE" for m, _ in bt_writes(env))

    env.restore(oid)
    report = run(env, oracle)
    assert (report.restored, report.created) == (1, 0)
    assert len(env.projects_for(oid)) == 1
    store = env.store()
    link = store.link(oid)
    store.close()
    assert link is not None and link.status == "linked" and link.project_id == project["SystemId"]
    assert "deleted in Salesforce" in events(env, "severed")[0].message
    oracle.check(final=True)


# ---- a stage passed between two polls (OpportunityHistory) -------------------------------------------------------
def test_a_win_reverted_before_the_next_cycle_still_creates_its_project(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    assert run(env, oracle).created == 0
    env.move(oid, "Closed Won")
    env.move(oid, "Negotiation/Review")  # reverted before the next cycle: reaching the stage triggered
    report = run(env, oracle)
    assert (report.result, report.created) == ("ok", 1)
    project = env.project(oid)
    assert len(env.contacts(project["SystemId"])) == 2 and env.opp(oid)[ID_FIELD] == str(project["SystemId"])
    (warning,) = [e for e in events(env, "warning") if e.opportunity_id == oid]
    assert "Closed Won" in warning.message and "Negotiation/Review" in warning.message
    env.move(oid, "Closed Won")  # won again, for good: still the one project
    assert run(env, oracle).created == 0
    assert len(env.projects_for(oid)) == 1
    oracle.check(final=True)


def test_a_win_then_closed_lost_before_the_next_cycle_still_creates_its_project(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    won_then_lost = open_opp_with_two_roles(env)
    only_lost = env.new_opp("Lost without a win", "Negotiation/Review", env.account_id("Initech"))
    run(env, oracle)
    env.move(won_then_lost, "Closed Won")
    env.move(won_then_lost, "Closed Lost")  # it was won at a moment: that triggered
    env.move(only_lost, "Closed Lost")  # closed-lost itself never triggers
    env.move(only_lost, "Negotiation/Review")
    report = run(env, oracle)
    assert (report.result, report.created) == ("ok", 1)
    assert len(env.projects_for(won_then_lost)) == 1 and env.projects_for(only_lost) == []
    assert any(e.opportunity_id == won_then_lost and "Closed Lost" in e.message for e in events(env, "warning"))
    oracle.check(final=True)


def test_an_idle_cycle_reads_the_stage_history_in_its_one_request(connected_engine: Connected) -> None:
    env = connected_engine
    env.cycle()
    env.clear_logs()
    idle = env.cycle()
    assert (idle.result, idle.salesforce_requests, idle.created) == ("ok", 1, 0)
    (query,) = [unquote_plus(str(e["query"])) for e in env.log("salesforce") if "/query" in e["path"]]
    assert "FROM OpportunityHistories WHERE CreatedDate >=" in query


def test_a_full_reconcile_sees_a_win_reverted_since_the_last_cycle(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    run(env, oracle)
    env.move(oid, "Closed Won")
    env.move(oid, "Negotiation/Review")
    env.clear_logs()
    report = run(env, oracle, full=True)  # the full read replaces the change read: it must see the pass too
    assert "Full reconcile" in report.message and report.created == 1
    assert report.salesforce_requests <= 3  # the full read (+ the linked ones by id) + the write-back
    oracle.check(final=True)


def test_a_win_reverted_before_the_setup_is_not_a_trigger(connected_engine: Connected) -> None:
    """The setup decides what happened before it: only what is past the stage then counts (as
    "already past"); a pass that was over by then is not replayed from the history."""
    env = connected_engine
    settings = env.connector.settings()  # as before the first setup (configuring the same stage again decides nothing)
    settings.sync.trigger_stage, settings.sync.configured_at = "", ""
    settings.save(env.profile)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.move(oid, "Negotiation/Review")
    env.advance(seconds=2)  # the setup reads Salesforce's time to the second
    assert env.configure("Closed Won") == 4  # the seed's four, not this one
    oracle = Oracle(env)
    assert run(env, oracle).created == 0
    assert env.projects_for(oid) == []
    oracle.check(final=True)


def test_already_past_at_setup_reopened_and_won_again_between_two_cycles_counts(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    won = [o["Id"] for o in env.opps_in("Closed Won")]
    run(env, oracle)
    env.move(won[0], "Negotiation/Review")  # reopened ...
    env.move(won[0], "Closed Won")  # ... and won again before the next cycle saw it below the stage
    env.update("Opportunity", won[1], {"Amount": 1234})  # changed, never below: still left alone
    report = run(env, oracle)
    assert report.created == 1 and len(env.projects_for(won[0])) == 1 and env.projects_for(won[1]) == []
    oracle.check(final=True)


# ---- what was there before -------------------------------------------------------------------------------------
def test_already_past_is_left_alone_until_it_reaches_the_stage_again(connected_engine: Connected) -> None:
    env = connected_engine
    won = [o["Id"] for o in env.opps_in("Closed Won")]
    assert len(won) == 4
    assert env.configure("Closed Won") == 4  # the count the wizard shows
    oracle = Oracle(env)
    assert run(env, oracle).created == 0
    assert all(env.projects_for(o) == [] for o in won)

    env.move(won[0], "Negotiation/Review")  # reopened ...
    run(env, oracle)
    env.move(won[0], "Closed Won")  # ... and won again: this time it counts
    env.move(won[1], "Closed Lost")
    run(env, oracle)
    env.move(won[1], "Closed Won")  # closed-lost in between is not "below the stage"
    run(env, oracle)
    assert len(env.projects_for(won[0])) == 1 and env.projects_for(won[1]) == []
    oracle.check(final=True)


def test_backfill_creates_projects_for_those_already_past(connected_engine: Connected) -> None:
    env = connected_engine
    won = [o["Id"] for o in env.opps_in("Closed Won")]
    assert env.configure("Closed Won", backfill=True) == 4
    oracle = Oracle(env, backfill=True)
    report = run(env, oracle)
    assert report.created == 4 and "Full reconcile" in report.message
    assert all(len(env.projects_for(o)) == 1 for o in won)
    assert run(env, oracle).created == 0
    oracle.check(final=True)


def excluded(env: Connected) -> set[str]:
    store = env.store()
    try:
        return set(store.excluded_ids())
    finally:
        store.close()


def test_configuring_the_same_stage_again_never_touches_what_is_already_past(connected_engine: Connected) -> None:
    """Issue 12 item 1: only the first setup decides what is "already past"; a win reached after it
    and not synced yet keeps its project, and the wins left alone at setup stay left alone."""
    env = connected_engine
    left_alone = {o["Id"] for o in env.opps_in("Closed Won")}
    assert env.cycle().created == 0
    late = open_opp_with_two_roles(env)
    env.move(late, "Closed Won")
    assert env.engine.configure("Closed Won", interval_seconds=600)[1] == len(left_alone)
    assert env.engine.connector.settings().sync.interval_seconds == 600
    assert excluded(env) == left_alone
    assert env.cycle().created == 1
    assert len(env.projects_for(late)) == 1 and all(env.projects_for(o) == [] for o in left_alone)


def test_update_settings_changes_only_settings(connected_engine: Connected) -> None:
    env = connected_engine
    before = excluded(env)
    late = open_opp_with_two_roles(env)
    env.move(late, "Closed Won")
    sync = env.engine.update_settings(interval_seconds=120, writeback_interval_seconds=600, api_budget_percent=2).sync
    assert (sync.interval_seconds, sync.writeback_interval_seconds, sync.api_budget_percent) == (120, 600, 2.0)
    assert env.engine.connector.settings().sync.trigger_stage == "Closed Won"
    assert excluded(env) == before
    assert env.cycle().created == 1 and len(env.projects_for(late)) == 1
    with pytest.raises(ConfigInvalid):
        env.engine.update_settings(interval_seconds=59)
    with pytest.raises(ConfigInvalid):
        env.engine.update_settings(api_budget_percent=0)


def test_a_real_stage_change_recomputes_already_past_but_keeps_wins_owed(connected_engine: Connected) -> None:
    """Earlier stage: what is past it now is left alone, except a win reached after setup and not
    synced yet. Back to the later stage: those left alone below it count again when they reach it."""
    env = connected_engine
    won_at_setup = {o["Id"] for o in env.opps_in("Closed Won")}
    negotiating = [o["Id"] for o in env.opps_in("Negotiation/Review")]
    assert negotiating
    assert env.cycle().created == 0
    owed = open_opp_with_two_roles(env)
    env.move(owed, "Closed Won")  # reached the trigger after setup; not synced yet
    env.configure("Negotiation/Review")
    assert won_at_setup | set(negotiating) <= excluded(env) and owed not in excluded(env)
    report = env.cycle()
    assert report.created == 1 and len(env.projects_for(owed)) == 1, report
    assert all(env.projects_for(o) == [] for o in won_at_setup | set(negotiating))
    fresh = env.new_opp("Reaches the new stage", "Prospecting", env.account_id("Initech"))
    env.move(fresh, "Negotiation/Review")
    assert env.cycle().created == 1 and len(env.projects_for(fresh)) == 1

    env.configure("Closed Won")  # later again
    assert won_at_setup <= excluded(env) and not set(negotiating) & excluded(env)
    env.move(negotiating[0], "Closed Won")
    assert env.cycle().created == 1 and len(env.projects_for(negotiating[0])) == 1


def test_save_setup_decides_as_of_the_stage_pages_read_without_reading_again(connected_engine: Connected) -> None:
    """Issue 13 item 13: the wizard's Save reuses the count it showed; "already past" is what was
    past at that read, so an opportunity that reached the new stage after it counts; the field map
    is written with the rest."""
    env = connected_engine
    assert env.cycle().created == 0
    past = env.engine.already_past("Negotiation/Review")
    assert past.old_stage == "Closed Won"
    assert set(past.ids) == {o["Id"] for o in env.opps_in("Negotiation/Review") + env.opps_in("Closed Won")}
    after_the_read = env.new_opp("Reached it after the count", "Prospecting", env.account_id("Initech"))
    env.move(after_the_read, "Negotiation/Review")
    field_map = dict(env.engine.connector.settings().sync.field_map, wip="")
    requests_before = env.connector.counter.total("salesforce")
    stage, count = env.engine.save_setup("Negotiation/Review", 600, False, field_map, already_past=past)
    assert env.connector.counter.total("salesforce") == requests_before  # nothing read again
    assert (stage.api_name, count) == ("Negotiation/Review", len(past.ids))
    sync = env.engine.connector.settings().sync
    assert (sync.trigger_stage, sync.interval_seconds, sync.field_map) == ("Negotiation/Review", 600, field_map)
    assert set(past.ids) <= excluded(env) and after_the_read not in excluded(env)
    assert env.cycle().created == 1 and len(env.projects_for(after_the_read)) == 1


def test_save_setup_reads_again_when_the_saved_stage_changed_since_the_count(connected_engine: Connected) -> None:
    env = connected_engine
    past = env.engine.already_past("Negotiation/Review")  # counted against "Closed Won"
    env.engine.configure("Proposal/Price Quote")  # the CLI changed the stage meanwhile
    requests_before = env.connector.counter.total("salesforce")
    env.engine.save_setup("Negotiation/Review", 600, False, {}, already_past=past)
    assert env.connector.counter.total("salesforce") > requests_before


def test_lost_state_database_and_backfill_link_instead_of_duplicating(connected_engine: Connected) -> None:
    """The project id written onto the opportunity is the second record of the link."""
    env = connected_engine
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.cycle()
    project_id = env.project(oid)["SystemId"]
    for suffix in ("", "-wal", "-shm"):
        path = env.profile.data_dir / f"state.db{suffix}"
        if path.exists():
            path.unlink()
    env.configure("Closed Won", backfill=True)
    report = env.cycle()
    assert report.linked == 1 and report.created == 4  # the four seed Closed Won ones, backfilled
    assert [p["SystemId"] for p in env.projects_for(oid)] == [project_id]
    assert len(env.contacts(project_id)) == 2


# ---- stopping clearly --------------------------------------------------------------------------------------------
def test_deactivated_trigger_stage_stops_with_pick_the_stage_again(connected_engine: Connected) -> None:
    env = connected_engine
    with env.sandbox.world.lock:
        env.sf.change_stage("Closed Won", active=False)
    oid = env.new_opp("Would trigger", "Negotiation/Review", env.account_id("Initech"))
    with env.sandbox.world.lock:  # a record already in the stage (set before it was deactivated)
        env.sf.records["opportunity"][oid]["StageName"] = "Closed Won"
    report = env.cycle()
    assert report.result == "failed" and report.error == "PickStageAgain"
    assert "Pick the stage again" in report.message and "deactivated" in report.message
    assert env.projects_for(oid) == []
    assert report.message in status_snapshot(env.profile)["attention"]


def test_trigger_stage_that_vanished_stops_even_with_fresh_cached_metadata(connected_engine: Connected) -> None:
    env = connected_engine
    assert env.cycle().result == "ok"  # stages cached
    with env.sandbox.world.lock:
        table = env.sf.records["opportunitystage"]
        (sid,) = [k for k, s in table.items() if s["ApiName"] == "Closed Won"]
        del table[sid]
    env.clock.advance(minutes=16)  # the cached stage list is refreshed at most every 15 minutes
    report = env.cycle()
    assert report.error == "PickStageAgain" and "no longer exists" in report.message
    assert "Pick the stage again" in report.message
    env.configure("Negotiation/Review")  # picking again gets it going
    assert env.cycle().result == "ok"


def test_daily_api_budget_stops_and_reports(connected_engine: Connected) -> None:
    env = connected_engine
    env.sf_settings(daily_api_limit=200)  # 5% → 10 requests a day for us
    env.cycle()  # learns the org's allowance from Sforce-Limit-Info
    reports = []
    for i in range(12):
        env.new_opp(f"Budget {i}", "Prospecting", env.account_id("Initech"))
        reports.append(env.cycle())
        if reports[-1].result == "failed":
            break
    last = reports[-1]
    assert last.error == "ApiBudgetSpent", reports
    assert "budget" in last.message and "10" in last.message
    assert last.salesforce_requests == 0 and last.bigtime_requests == 0
    env.clear_logs()
    assert env.cycle().error == "ApiBudgetSpent"
    assert env.log("salesforce") == []  # stopped before asking anything


# ---- windows and gaps --------------------------------------------------------------------------------------------
def test_a_gap_longer_than_the_windows_runs_a_full_reconcile(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    linked = open_opp_with_two_roles(env)
    env.move(linked, "Closed Won")
    run(env, oracle)
    env.advance(days=16)  # off for longer than Salesforce keeps deleted records
    env.delete(linked)
    won_meanwhile = env.new_opp("Won while we were away", "Closed Won", env.account_id("Initech"))
    env.clear_logs()
    report = run(env, oracle)
    assert report.result == "ok" and "Full reconcile" in report.message
    queries = [e["query"] for e in env.log("salesforce") if "/query" in e["path"]]
    assert any("StageName" in str(q) and "IN" in str(q) for q in queries), queries
    assert report.severed == 1 and len(env.projects_for(won_meanwhile)) == 1
    oracle.check(final=True)


def test_after_a_full_reconcile_an_idle_gap_goes_back_to_incremental(connected_engine: Connected) -> None:
    env = connected_engine
    env.cycle()
    env.advance(days=16)  # nothing changed while the app was off
    assert "Full reconcile" in env.cycle().message
    second = env.cycle()
    assert "Full reconcile" not in second.message
    assert second.salesforce_requests <= 2  # one read (+ a refreshed session at most), not a full read again


def test_an_expired_session_is_refreshed_without_failing_the_cycle(connected_engine: Connected) -> None:
    from engine_fixtures import admin

    env = connected_engine
    oid = env.new_opp("Session expiry", "Closed Won", env.account_id("Initech"))
    admin(env.sandbox.salesforce_admin_url, "POST", "/tokens/expire", {})
    report = env.cycle()
    assert report.result == "ok" and len(env.projects_for(oid)) == 1


# ---- lost answers and failures in the middle ----------------------------------------------------------------------
def test_project_created_but_answer_lost_is_linked_not_duplicated(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.fault("bigtime", kind="drop", method="POST", path="/project/detail$")
    failed = run(env, oracle)
    assert failed.result == "failed" and failed.error == "Offline"
    assert len(env.projects_for(oid)) == 1  # BigTime did create it
    waiting = run(env, oracle)  # at once: the create might still be landing, so it is neither looked up nor sent
    assert (waiting.result, waiting.error, waiting.bigtime_requests) == ("failed", "CreateInDoubt", 0)
    assert 0 < waiting.retry_after <= env.connector.bigtime_answer_window()
    env.let_answers_land()
    report = run(env, oracle)
    assert report.result == "ok" and report.created == 1
    assert len(env.projects_for(oid)) == 1 and len(env.contacts(env.project(oid)["SystemId"])) == 2
    oracle.check(final=True)


def test_a_create_still_landing_after_its_timeout_is_neither_looked_up_nor_sent_again(
    connected_engine: Connected,
) -> None:
    """BigTime holds a create past our read timeout (the answer never comes; in a kill -9 the app is
    gone instead): the create may still land. The next cycle at once would find nothing by the code
    and send it again; it must wait until the longest answer has passed, then link what landed."""
    from dataclasses import replace

    from bigsync_gui.core.connections import Connector
    from engine_fixtures import FAST, PACE

    env = connected_engine
    env.engine = env.new_engine(Connector(env.profile, policy=replace(FAST, read_timeout=1.0), pace=PACE))
    env.connector = env.engine.connector
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.fault("bigtime", kind="hold", seconds=60, method="POST", path="/project/detail$", count=1)
    try:
        timed_out = run(env, oracle)
        assert (timed_out.result, timed_out.error) == ("failed", "Offline")
        assert admin(env.sandbox.bigtime_admin_url, "GET", "/faults/held")["held"] == 1  # still in BigTime's hands
        again = run(env, oracle)
        assert (again.result, again.error, again.bigtime_requests) == ("failed", "CreateInDoubt", 0)
        assert "nothing is created twice" in again.message and env.projects_for(oid) == []
    finally:
        env.clear_faults()  # the held create goes on and lands
    deadline = time.monotonic() + 30
    while not env.projects_for(oid):
        assert time.monotonic() < deadline, "the held create never landed"
        time.sleep(0.05)
    env.let_answers_land()
    report = run(env, oracle)
    assert (report.result, report.created) == ("ok", 1)
    assert len(env.projects_for(oid)) == 1 and len(env.contacts(env.project(oid)["SystemId"])) == 2
    oracle.check(final=True)


def test_lost_answer_then_the_opportunity_left_the_stage_still_links_the_project(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.fault("bigtime", kind="drop", method="POST", path="/project/detail$")
    assert run(env, oracle).result == "failed"
    env.move(oid, "Negotiation/Review")  # reopened before the next cycle
    assert run(env, oracle).error == "CreateInDoubt"  # not dropped while the create may still land
    env.let_answers_land()
    assert run(env, oracle).result == "ok"
    store = env.store()
    try:
        link = store.link(oid)
        assert link is not None and link.project_id == env.project(oid)["SystemId"]
        assert store.intents("pending") == []
    finally:
        store.close()
    env.move(oid, "Closed Won")
    run(env, oracle)
    assert len(env.projects_for(oid)) == 1
    oracle.check(final=True)


def test_failed_create_then_closed_lost_still_gets_its_project_once_bigtime_answers(
    connected_engine: Connected,
) -> None:
    """Reaching the stage triggered; the create failed; the opportunity was lost before the next cycle.
    The next cycle still sees the win in the stage history (the cursor did not move) and creates it."""
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.fault("bigtime", kind="status", status=500, method="POST", path="/project/detail$")
    assert run(env, oracle).error == "ServiceUnavailable"
    env.move(oid, "Closed Lost")
    report = run(env, oracle)
    assert (report.result, report.created) == ("ok", 1)
    store = env.store()
    try:
        assert store.intents("pending") == [] and store.link(oid) is not None
    finally:
        store.close()
    env.clear_logs()
    idle = run(env, oracle)
    assert idle.salesforce_requests == 1  # the intent is finished: not read again every cycle
    assert len(env.projects_for(oid)) == 1
    oracle.check(final=True)


def test_lost_answer_for_a_new_client_does_not_create_it_twice(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    acc = env.insert("Account", {"Name": "Pied Piper"})
    oid = env.new_opp("Pied Piper – Compression", "Closed Won", acc)
    env.fault("bigtime", kind="drop", method="POST", path="/client/detail$")
    assert run(env, oracle).result == "failed"
    assert (
        run(env, oracle).result == "ok"
    )  # only the project's create is held back in doubt; the client's is found by code
    assert len([c for c in env.clients() if c["Nm"] == "Pied Piper"]) == 1
    assert len(env.projects_for(oid)) == 1
    oracle.check(final=True)


# ---- bad data ------------------------------------------------------------------------------------------------------
def test_opportunity_without_account_is_refused_clearly_then_created_once_it_has_one(
    connected_engine: Connected,
) -> None:
    env = connected_engine
    (walk_in,) = [o["Id"] for o in env.opps() if not o.get("AccountId")]
    env.move(walk_in, "Closed Won")
    report = env.cycle()
    assert (report.result, report.rejected, report.created) == ("partial", 1, 0)
    (event,) = events(env, "rejected")
    assert "no account" in event.message and event.opportunity_id == walk_in
    snapshot = status_snapshot(env.profile)
    assert snapshot["rejected"][0]["opportunity_id"] == walk_in
    assert any("refused" in a for a in snapshot["attention"])

    env.clear_logs()
    assert env.cycle().rejected == 0  # unchanged: not tried again
    assert bt_writes(env) == []

    env.update("Opportunity", walk_in, {"AccountId": env.account_id("Initech")})
    assert env.cycle().created == 1
    assert len(env.projects_for(walk_in)) == 1


def test_opportunity_without_account_goes_to_the_default_client_when_set(connected_engine: Connected) -> None:
    env = connected_engine
    settings = Settings.load(env.profile)
    vandelay = next(c["SystemId"] for c in env.clients() if c["Nm"] == "Vandelay Industries")
    settings.sync.default_client_id = vandelay
    settings.save(env.profile)
    (walk_in,) = [o["Id"] for o in env.opps() if not o.get("AccountId")]
    env.move(walk_in, "Closed Won")
    assert env.cycle().created == 1
    assert env.project(walk_in)["ClientId"] == vandelay


def test_awkward_text_and_missing_values_are_carried_as_they_are(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    label = "<b>Won</b> & \"signed\" 'ok'"
    with env.sandbox.world.lock:
        env.sf.change_stage("Closed Won", label=label)  # the label changes; the ApiName does not
    account_name = "<script>alert(\"x\")</script> Ünïcødé & Sons 'Ltd' " + "ب" * 40 + " 🚀" * 60
    account_name = account_name[:255]
    acc = env.insert("Account", {"Name": account_name})
    names = {
        "emoji_rtl": "🚀 مشروع جديد — שלום עולם ✨ <i>italic</i> & \"quoted\" 'single'",
        "max_length": ("Ω" * 59 + "😀" * 60 + "x")[:120],
        "html": '<img src=x onerror="alert(1)"> Tom & Jerry\'s "big" deal',
    }
    ids = {key: env.new_opp(name, "Closed Won", acc) for key, name in names.items()}
    # What the API cannot produce but a hand-edited org or another integration might: a 300-character
    # name (Opportunity.Name is 120 in Salesforce; the emulator enforces it), no close date, no amount.
    long_name = "Lorem ipsum dolor sit amet — " * 10 + "end"
    long_name = long_name[:300]
    loose = env.new_opp("placeholder", "Closed Won", acc)
    with env.sandbox.world.lock:
        row = env.sf.records["opportunity"][loose]
        row.update({"Name": long_name, "CloseDate": None, "Amount": None})
    names["long"], ids["long"] = long_name, loose
    env.sf_settings()  # no-op admin call: the world changes above are in place

    report = run(env, oracle)
    assert (report.result, report.created, report.rejected) == ("ok", 4, 0), report
    for key, oid in ids.items():
        project = env.project(oid)
        assert project["Nm"] == names[key].strip(), key
    assert env.project(loose)["BudgetFees"] == 0.0
    today = env.sandbox.world.clock.now().date()  # the sandbox's day (its clock is pinned), not the machine's
    assert env.project(loose)["StartDt"].startswith(today.isoformat())  # BigTime's default start: today
    (client,) = [c for c in env.clients() if c["ClientId"] == client_code(acc)]
    assert client["Nm"] == fit_name(account_name, 50) and client["Nm"].endswith("…")  # 255 characters: cut on a word
    assert client["Notes"] == "Account name in Salesforce: " + " ".join(account_name.split())  # whole in the notes
    assert Settings.load(env.profile).sync.trigger_stage == "Closed Won"
    oracle.check(final=True)


def test_duplicate_account_names_share_one_client(connected_engine: Connected) -> None:
    """Two Salesforce accounts with the same name: the rule "an existing client with the same name
    is reused" applies to a client created for the first one too — one client, no duplicate."""
    env = connected_engine
    a = env.insert("Account", {"Name": "Twin Holdings"})
    b = env.insert("Account", {"Name": "twin holdings "})
    globex_twin = env.insert("Account", {"Name": "Globex Corporation"})
    oa = env.new_opp("Twin A", "Closed Won", a)
    ob = env.new_opp("Twin B", "Closed Won", b)
    og = env.new_opp("Globex twin", "Closed Won", globex_twin)
    assert env.cycle().created == 3
    twins = [c for c in env.clients() if c["Nm"].strip().casefold() == "twin holdings"]
    assert len(twins) == 1
    assert env.project(oa)["ClientId"] == env.project(ob)["ClientId"] == twins[0]["SystemId"]
    globex = [c for c in env.clients() if c["Nm"] == "Globex Corporation"]
    assert len(globex) == 1 and env.project(og)["ClientId"] == globex[0]["SystemId"]


def test_bigtime_rejecting_a_record_refuses_it_and_goes_on(connected_engine: Connected) -> None:
    env = connected_engine
    acc = env.account_id("Initech")
    bad = env.new_opp("Refused by BigTime", "Closed Won", acc)
    env.fault(
        "bigtime",
        kind="status",
        status=400,
        method="POST",
        path="/project/detail$",
        body={"Message": "The project name contains characters BigTime does not allow."},
    )
    good = env.new_opp("Accepted by BigTime", "Closed Won", acc)  # created after: read after the refused one
    report = env.cycle()
    assert (report.result, report.rejected, report.created) == ("partial", 1, 1)
    assert env.projects_for(bad) == [] and len(env.projects_for(good)) == 1
    (event,) = events(env, "rejected")
    assert "characters BigTime does not allow" in event.message

    env.clear_logs()
    assert env.cycle().rejected == 0
    assert not any(p.lower().endswith("/project/detail") for _, p in bt_writes(env))  # not retried while unchanged
    env.update("Opportunity", bad, {"Name": "Refused by BigTime (fixed)"})
    assert env.cycle().created == 1
    assert env.project(bad)["Nm"] == "Refused by BigTime (fixed)"


def test_two_engines_on_one_profile_never_work_at_once(connected_engine: Connected) -> None:
    """In-process: a second copy waits for the lock, or gives up with a clear AlreadyRunning."""
    import threading

    from bigsync_gui.core.errors import AlreadyRunning

    env = connected_engine
    oid = env.new_opp("Contended", "Closed Won", env.account_id("Initech"))
    # The first copy is held inside its Salesforce read (so inside its cycle, holding the lock) until
    # the second copy has been turned away: a handshake, not a race against injected latency.
    sf = env.engine.salesforce_client()
    inside, release = threading.Event(), threading.Event()

    def held(read: Any) -> Any:
        def held_read(*args: Any, **kwargs: Any) -> Any:
            inside.set()
            assert release.wait(30), "the test never released the first copy"
            return read(*args, **kwargs)

        return held_read

    sf.query, sf.query_all = held(sf.query), held(sf.query_all)  # type: ignore[method-assign]  # full or incremental read
    first: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: first.update(report=env.cycle()))
    worker.start()
    other: Engine = env.new_engine()
    try:
        assert inside.wait(30), "the first copy never reached its read"
        store = env.store()
        assert [c.result for c in store.cycles(1)] == ["running"]  # its cycle row says so while it holds the lock
        store.close()
        with pytest.raises(AlreadyRunning) as refused:
            other.run_cycle(wait_for_lock=0.1)
        assert "Another copy" in refused.value.message
    finally:
        release.set()
    worker.join(30)
    second = other.run_cycle(wait_for_lock=30)  # waits its turn, then finds nothing to do
    assert first["report"].created == 1 and second.created == 0
    assert len(env.projects_for(oid)) == 1


def test_deleted_before_the_write_back_gets_its_project_id_when_restored(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = env.new_opp("Deleted mid-cycle", "Closed Won", env.account_id("Initech"))

    def delete_after_reading(done: int, total: int) -> None:
        if done == total and not env.opp(oid)["IsDeleted"]:
            env.delete(oid)  # between the create and the write-back of the project id

    oracle.before_cycle()
    report = env.cycle(progress=delete_after_reading)
    oracle.after_cycle(report)
    assert report.created == 1 and not events(env, "warning")
    assert run(env, oracle).severed == 1
    env.restore(oid)
    assert run(env, oracle).restored == 1
    assert env.opp(oid)[ID_FIELD] == str(env.project(oid)["SystemId"])
    oracle.check(final=True)


def test_a_refused_contact_does_not_leave_the_project_unlinked(connected_engine: Connected) -> None:
    env = connected_engine
    oracle = Oracle(env)
    oid = open_opp_with_two_roles(env)
    env.move(oid, "Closed Won")
    env.fault(
        "bigtime",
        kind="status",
        status=400,
        method="POST",
        path="/project/contact",
        body={"Message": "The email address is not valid."},
    )
    report = run(env, oracle)
    assert (report.result, report.created, report.rejected) == ("ok", 1, 0)
    project = env.project(oid)
    assert [c["EMail"] for c in env.contacts(project["SystemId"])] == ["bo@globex.example"]
    assert env.contacts(project["SystemId"])[0]["Tag"] == "OTHER"  # not promoted in the primary's place
    (warning,) = events(env, "warning")
    assert "email address is not valid" in warning.message
    assert env.opp(oid)[ID_FIELD] == str(project["SystemId"])
    oracle.check(final=True)


def test_missing_bigtime_right_stops_the_cycle_and_retries_once_granted(connected_engine: Connected) -> None:
    """No right to create projects is not one bad record: nothing is marked refused for good."""
    env = connected_engine
    oracle = Oracle(env)
    oid = env.new_opp("Needs the right", "Closed Won", env.account_id("Initech"))
    env.bt_settings(permissions={"can_create_projects": False})
    report = run(env, oracle)
    assert report.result == "failed" and report.error == "PermissionDenied"
    assert "right" in report.message and report.rejected == 0
    env.bt_settings(permissions={"can_create_projects": True})
    assert run(env, oracle).created == 1
    assert len(env.projects_for(oid)) == 1
    oracle.check(final=True)


# ---- ProjectCode: how long a code BigTime keeps is unknown ----------------------------------------------
@pytest.mark.parametrize(
    "limit, overflow", [(None, "truncate"), (18, "truncate"), (18, "refuse"), (15, "truncate"), (15, "refuse")]
)
def test_project_code_too_long_for_bigtime_is_learnt_and_a_lost_answer_still_finds_the_project(
    connected_engine: Connected, limit: int | None, overflow: str
) -> None:
    env = connected_engine
    admin(env.sandbox.bigtime_admin_url, "POST", "/switches", {"project_code_max": limit, "limit_overflow": overflow})
    oracle = Oracle(env)
    first = open_opp_with_two_roles(env)
    env.move(first, "Closed Won")
    env.fault("bigtime", kind="drop", method="POST", path="/project/detail$")
    assert run(env, oracle).result == "failed"  # created (or refused) in BigTime; the answer lost
    env.let_answers_land()
    report = run(env, oracle)
    assert report.result == "ok" and report.created == 1
    (project,) = [p for p in env.projects() if p["Nm"] == "Globex – Data platform"]  # never two
    assert project["ProjectCode"] == project_code(first, limit)  # its code made whole: it identifies the opportunity
    assert len(env.contacts(project["SystemId"])) == 2

    # The length learnt is kept: the next project is sent the code that fits at once, and not touched again.
    second = env.new_opp("Second deal", "Closed Won", env.account_id("Globex Corporation"))
    env.clear_logs()
    assert run(env, oracle).created == 1
    assert env.project(second)["ProjectCode"] == project_code(second, limit)
    assert [w for w in bt_writes(env) if "/project/detail" in w[1].lower()] == [
        ("POST", "/BigtimeData/api/v2/project/detail")
    ]
    oracle.check(final=True)
