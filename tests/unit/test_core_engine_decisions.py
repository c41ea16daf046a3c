"""The engine's decisions (core/engine.py, docs/design.md) against in-memory Salesforce and BigTime (fakes.py).

The stages, by SortOrder: Prospecting 1, Qualification 2, Proposal 3, Negotiation 4, Closed Won 5,
Closed Lost 6, Legacy 7 (inactive). Unless a test says otherwise the trigger is Proposal.
The same behaviours run against the sandbox in tests/integration/test_engine.py; here each rule
is one small situation that runs in milliseconds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bigsync_gui.connectors import errors as ce
from bigsync_gui.connectors.bigtime import Project
from bigsync_gui.core.bigtime_limits import client_code
from bigsync_gui.core.creation import project_code
from bigsync_gui.core.errors import ConfigInvalid
from bigsync_gui.core.settings import Settings
from bigsync_gui.core.store import Link
from fakes import ID_FIELD, World


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = World(tmp_path / "profile")
    w.engine.configure("Proposal")
    return w


def link_of(world: World, opp_id: str) -> Link | None:
    store = world.store()
    try:
        return store.link(opp_id)
    finally:
        store.close()


def project_of(world: World, opp_id: str) -> Project:
    (project,) = world.bt.projects_coded(project_code(opp_id))
    return project


# ---- the trigger ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stage, triggers",
    [
        ("Prospecting", False),  # before the trigger by SortOrder
        ("Qualification", False),
        ("Proposal", True),  # the trigger itself
        ("Negotiation", True),  # past it
        ("Closed Won", True),
        ("Closed Lost", False),  # sorts after the trigger, but closed-lost never triggers
    ],
)
def test_an_opportunity_triggers_at_or_past_the_trigger_stage_unless_closed_lost(
    world: World, stage: str, triggers: bool
) -> None:
    opp = world.sf.opportunity("Deal", stage, world.sf.account("Acme"))
    report = world.engine.run_cycle()
    assert report.result == "ok" and report.created == int(triggers)
    assert len(world.bt.projects_coded(project_code(opp))) == int(triggers)


def test_reaching_the_stage_later_creates_exactly_one_project_named_and_coded_after_the_opportunity(
    world: World,
) -> None:
    opp = world.sf.opportunity("Acme – Rollout", "Qualification", world.sf.account("Acme"))
    assert world.engine.run_cycle().created == 0
    world.sf.move(opp, "Proposal")
    assert world.engine.run_cycle().created == 1
    project = project_of(world, opp)
    assert (project.name, project.code) == ("Acme – Rollout", "SF-" + opp)
    world.sf.move(opp, "Negotiation")  # moving on, or any other change, creates nothing more
    assert world.engine.run_cycle().created == 0
    assert world.bt.creates("project") == 1
    assert link_of(world, opp).project_id == project.id  # type: ignore[union-attr]
    assert world.sf.opportunities[opp][ID_FIELD] == str(project.id)  # the link's second record


def test_skipping_past_the_trigger_stage_between_cycles_still_triggers(world: World) -> None:
    opp = world.sf.opportunity("Fast deal", "Prospecting", world.sf.account("Acme"))
    world.engine.run_cycle()
    world.sf.move(opp, "Closed Won")  # never sat in Proposal
    assert world.engine.run_cycle().created == 1


def test_closed_lost_never_triggers_but_reopened_past_the_stage_does(world: World) -> None:
    opp = world.sf.opportunity("Lost one", "Qualification", world.sf.account("Acme"))
    world.engine.run_cycle()
    world.sf.move(opp, "Closed Lost")
    assert world.engine.run_cycle().created == 0
    world.sf.move(opp, "Negotiation")
    assert world.engine.run_cycle().created == 1


def test_reaching_the_stage_between_two_cycles_counts_even_when_it_did_not_stay(world: World) -> None:
    reverted = world.sf.opportunity("Reverted", "Qualification", world.sf.account("Acme"))
    lost = world.sf.opportunity("Won, then lost", "Qualification", world.sf.account("Acme"))
    never = world.sf.opportunity("Lost from below", "Qualification", world.sf.account("Acme"))
    world.engine.run_cycle()
    world.sf.move(reverted, "Negotiation")
    world.sf.move(reverted, "Qualification")  # back below before the next cycle
    world.sf.move(lost, "Closed Won")
    world.sf.move(lost, "Closed Lost")  # won at a moment: that moment triggered
    world.sf.move(never, "Closed Lost")  # closed-lost never triggers, wherever it sorts
    world.sf.move(never, "Qualification")
    assert world.engine.run_cycle().created == 2
    assert [len(world.bt.projects_coded(project_code(o))) for o in (reverted, lost, never)] == [1, 1, 0]
    world.sf.move(reverted, "Proposal")  # reaching it again: still the one project
    assert world.engine.run_cycle().created == 0


@pytest.mark.parametrize(
    "stage, says",
    [
        ("Closed Lost", "closed-lost stage"),
        ("Legacy", "not an active stage"),
        ("No_Such_Stage", "no opportunity stage with the API name"),
    ],
)
def test_the_trigger_stage_must_be_an_active_stage_that_is_not_closed_lost(world: World, stage: str, says: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        world.engine.configure(stage)
    assert caught.value.field == "sync.trigger_stage" and says in caught.value.message
    assert Settings.load(world.profile).sync.trigger_stage == "Proposal"  # the saved one stays


# ---- what was already there at configure -----------------------------------------------------------------------
def test_opportunities_already_past_the_stage_at_configure_are_left_alone(tmp_path: Path) -> None:
    w = World(tmp_path / "profile")
    acme = w.sf.account("Acme")
    past = [w.sf.opportunity("Won long ago", "Closed Won", acme), w.sf.opportunity("In talks", "Negotiation", acme)]
    w.sf.opportunity("Lost long ago", "Closed Lost", acme)
    w.sf.opportunity("Early", "Prospecting", acme)
    assert w.engine.configure("Proposal")[1] == 2  # the count the wizard shows: not the lost, not the early one
    assert w.engine.run_cycle().created == 0
    w.sf.update(past[0], Amount=5000)  # changed, still past: still left alone
    assert w.engine.run_cycle().created == 0
    w.sf.move(past[1], "Qualification")  # back below the stage ...
    w.engine.run_cycle()
    w.sf.move(past[1], "Proposal")  # ... and reaching it again counts
    assert w.engine.run_cycle().created == 1
    assert w.bt.projects_coded(project_code(past[0])) == []


def test_already_past_at_configure_that_dips_below_and_back_between_cycles_counts(tmp_path: Path) -> None:
    w = World(tmp_path / "profile")
    acme = w.sf.account("Acme")
    dipped = w.sf.opportunity("Reopened and won again", "Closed Won", acme)
    stayed = w.sf.opportunity("Stayed won", "Closed Won", acme)
    lost = w.sf.opportunity("Lost, then won", "Closed Won", acme)
    w.engine.configure("Proposal")
    w.engine.run_cycle()
    w.sf.move(dipped, "Qualification")
    w.sf.move(dipped, "Closed Won")
    w.sf.update(stayed, Amount=5000)
    w.sf.move(lost, "Closed Lost")  # closed-lost is not "below the stage"
    w.sf.move(lost, "Closed Won")
    assert w.engine.run_cycle().created == 1
    assert [len(w.bt.projects_coded(project_code(o))) for o in (dipped, stayed, lost)] == [1, 0, 0]


def test_a_stage_history_read_again_never_counts_a_stage_from_before_the_release(tmp_path: Path) -> None:
    """The lookback reads the same history rows again: a win from before the opportunity went below
    the stage (while it was left alone) must not count then."""
    w = World(tmp_path / "profile")
    opp = w.sf.opportunity("Past at set-up", "Negotiation", w.sf.account("Acme"))
    w.engine.configure("Proposal")
    w.sf.move(opp, "Closed Won")  # still past the stage: left alone
    assert w.engine.run_cycle().created == 0
    w.sf.move(opp, "Qualification")  # below: released
    assert w.engine.run_cycle().created == 0
    w.sf.update(opp, Amount=1000)  # read again, with the history since the lookback
    assert w.engine.run_cycle().created == 0
    w.sf.move(opp, "Proposal")  # reaching it after the release counts
    assert w.engine.run_cycle().created == 1


def test_backfill_creates_projects_for_those_already_past(tmp_path: Path) -> None:
    w = World(tmp_path / "profile")
    acme = w.sf.account("Acme")
    past = [w.sf.opportunity("Won long ago", "Closed Won", acme), w.sf.opportunity("In talks", "Negotiation", acme)]
    lost = w.sf.opportunity("Lost long ago", "Closed Lost", acme)
    assert w.engine.configure("Proposal", backfill=True)[1] == 2
    assert w.engine.run_cycle().created == 2
    assert all(len(w.bt.projects_coded(project_code(o))) == 1 for o in past)
    assert w.bt.projects_coded(project_code(lost)) == []


# ---- which BigTime client -----------------------------------------------------------------------------------------
def test_the_client_linked_to_an_account_is_reused_even_when_the_name_now_matches_another(world: World) -> None:
    initech = world.bt.add_client("Initech")  # found by name the first time
    account = world.sf.account("Initech")
    first = world.sf.opportunity("Initech – Audit", "Proposal", account)
    world.engine.run_cycle()
    assert project_of(world, first).client_id == initech
    world.bt.add_client("Initrode")
    world.sf.accounts[account]["Name"] = "Initrode"  # renamed in Salesforce to another client's name
    second = world.sf.opportunity("Initrode – Audit 2", "Proposal", account)
    world.engine.run_cycle()
    assert project_of(world, second).client_id == initech  # the account's client, not a name match
    assert world.bt.creates("client") == 0


@pytest.mark.parametrize(
    "bigtime_name, account_name",
    [
        ("Globex Corporation", "Globex Corporation"),
        ("GLOBEX corporation", "Globex Corporation"),  # case-insensitive
        ("  Globex Corporation ", "Globex Corporation"),  # trimmed
        ("Globex   Corporation", "Globex Corporation"),  # inner spaces collapsed
        ("Globex Corporation", "  globex corporation  "),  # either side
    ],
)
def test_an_existing_client_with_the_accounts_name_is_used(world: World, bigtime_name: str, account_name: str) -> None:
    existing = world.bt.add_client(bigtime_name)
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account(account_name))
    world.engine.run_cycle()
    assert project_of(world, opp).client_id == existing
    assert world.bt.creates("client") == 0


def test_an_active_client_wins_over_an_inactive_one_of_the_same_name(world: World) -> None:
    world.bt.add_client("Globex", inactive=True)
    active = world.bt.add_client("Globex")
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Globex"))
    world.engine.run_cycle()
    assert project_of(world, opp).client_id == active


def test_otherwise_one_client_is_created_for_the_account_coded_after_it(world: World) -> None:
    world.bt.add_client("Globex Corp.")  # a near miss is not the same name
    account = world.sf.account("Globex Corp")
    one = world.sf.opportunity("Globex – Pilot", "Proposal", account)
    two = world.sf.opportunity("Globex – Rollout", "Proposal", account)
    assert world.engine.run_cycle().created == 2
    assert world.bt.creates("client") == 1
    ((_, fields),) = [c for c in world.bt.created if c[0] == "client"]
    assert (fields["Nm"], fields["ClientId"], fields["City"]) == ("Globex Corp", client_code(account), "Springfield")
    assert project_of(world, one).client_id == project_of(world, two).client_id


# ---- deletes and restores -----------------------------------------------------------------------------------------
def test_a_deleted_opportunity_severs_the_link_and_leaves_the_project_alone(world: World) -> None:
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    world.engine.run_cycle()
    before = dict(world.bt.projects_by_id)
    world.sf.delete(opp)
    report = world.engine.run_cycle()
    assert (report.result, report.severed) == ("ok", 1)
    assert link_of(world, opp).status == "severed"  # type: ignore[union-attr]
    assert world.bt.projects_by_id == before  # untouched (the fake has no way to delete one anyway)


def test_a_restored_opportunity_gets_its_link_back_and_no_second_project(world: World) -> None:
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    world.engine.run_cycle()
    project = project_of(world, opp)
    world.sf.delete(opp)
    world.engine.run_cycle()
    world.sf.restore(opp)
    report = world.engine.run_cycle()
    assert (report.restored, report.created) == (1, 0)
    link = link_of(world, opp)
    assert link is not None and (link.status, link.project_id) == ("linked", project.id)
    assert world.bt.creates("project") == 1


# ---- bad records ------------------------------------------------------------------------------------------------
def test_an_opportunity_without_an_account_is_rejected_and_the_others_go_on(world: World) -> None:
    orphan = world.sf.opportunity("No account", "Proposal")
    fine = world.sf.opportunity("Has one", "Proposal", world.sf.account("Acme"))
    report = world.engine.run_cycle()
    assert (report.result, report.created, report.rejected) == ("partial", 1, 1)
    assert world.bt.projects_coded(project_code(orphan)) == [] and project_of(world, fine)
    store = world.store()
    try:
        (event,) = [e for e in store.events() if e.kind == "rejected"]
        assert event.opportunity_id == orphan and "has no account" in event.message
    finally:
        store.close()
    assert world.engine.run_cycle().rejected == 0  # unchanged: not refused again every cycle
    world.sf.update(orphan, AccountId=world.sf.account("Found it"))  # fixed in Salesforce: it goes through
    assert world.engine.run_cycle().created == 1


def test_an_opportunity_without_an_account_goes_to_the_default_client_when_one_is_set(world: World) -> None:
    default = world.bt.add_client("Internal")
    settings = Settings.load(world.profile)
    settings.sync.default_client_id = default
    settings.save(world.profile)
    orphan = world.sf.opportunity("No account", "Proposal")
    assert world.engine.run_cycle().created == 1
    assert project_of(world, orphan).client_id == default


# ---- exactly once across lost answers ---------------------------------------------------------------------------
def test_a_create_whose_answer_was_lost_is_found_by_its_code_not_created_again(world: World) -> None:
    world.bt.add_client("Acme")  # so the project's create is the one whose answer gets lost
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    world.bt.lose_next_answer = True
    failed = world.engine.run_cycle()
    assert (failed.result, failed.error) == ("failed", "Offline")
    assert link_of(world, opp) is None and len(world.bt.projects_coded(project_code(opp))) == 1  # made, but unknown

    waiting = world.engine.run_cycle()  # at once: the create may still be landing, so it is not looked up
    assert (waiting.result, waiting.error, waiting.retry_after) == (
        "failed",
        "CreateInDoubt",
        70.0,
    )  # 10 s connect + 60 s answer
    world.clock.now += timedelta(seconds=70)
    report = world.engine.run_cycle()  # read again: a failed cycle does not move the cursor
    assert (report.result, report.created) == ("ok", 1)
    assert world.bt.creates("project") == 1  # looked up by its code, not sent again
    assert link_of(world, opp).project_id == project_of(world, opp).id  # type: ignore[union-attr]


def test_a_create_in_doubt_is_held_back_as_long_as_the_bigtime_timeout_says(world: World) -> None:
    settings = Settings.load(world.profile)
    settings.bigtime.request_timeout_seconds = 5
    settings.save(world.profile)
    world.bt.add_client("Acme")
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    world.bt.lose_next_answer = True
    assert world.engine.run_cycle().error == "Offline"
    world.clock.now += timedelta(seconds=4)
    assert world.engine.run_cycle().retry_after == 6.0  # 5 s connect + 5 s answer, 4 s of it gone
    world.clock.now += timedelta(seconds=6)
    assert world.engine.run_cycle().result == "ok" and world.bt.creates("project") == 1
    assert link_of(world, opp) is not None


@pytest.mark.parametrize(
    "answer",
    [ce.ServiceUnavailable("bigtime", 500, "BigTime had an error."), ce.RateLimited("bigtime", 600.0)],
    ids=["500", "429"],
)
def test_a_create_answered_with_an_error_is_not_in_doubt_and_is_sent_again_at_once(
    world: World, answer: Exception
) -> None:
    world.bt.add_client("Acme")
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    world.bt.fail_next_create = answer
    assert world.engine.run_cycle().result == "failed"
    assert (world.engine.run_cycle().result, world.bt.creates("project")) == ("ok", 1)
    assert link_of(world, opp) is not None


def test_a_lost_answer_is_settled_by_code_even_after_the_opportunity_left_the_stage(world: World) -> None:
    """Only the journal remembers it: a full reconcile reads the trigger stages and the links, neither has it."""
    world.bt.add_client("Acme")
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    world.bt.lose_next_answer = True
    assert world.engine.run_cycle().result == "failed"
    world.sf.move(opp, "Qualification")
    world.clock.now += timedelta(days=16)  # a gap longer than the recycle bin keeps deletes: a full reconcile
    report = world.engine.run_cycle()
    assert (report.result, report.message) == ("ok", "Full reconcile done.")
    assert link_of(world, opp).project_id == project_of(world, opp).id  # type: ignore[union-attr]
    assert world.bt.creates("project") == 1


def test_a_create_that_never_reached_bigtime_is_sent_once_on_the_next_cycle(world: World) -> None:
    opp = world.sf.opportunity("Deal", "Proposal", world.sf.account("Acme"))
    store = world.store()
    try:
        with store.transaction():
            store.begin_intent(opp, project_code(opp))  # the intent was committed, then the process died
    finally:
        store.close()
    assert world.engine.run_cycle().created == 1
    assert world.bt.creates("project") == 1 and len(world.bt.projects_coded(project_code(opp))) == 1


# ---- a service that asks us to slow down ---------------------------------------------------------------------------
def test_a_rate_limited_cycle_reports_how_long_the_service_asked_to_wait(world: World) -> None:
    world.sf.fail_next_read = ce.RateLimited("salesforce", 600.0)
    report = world.engine.run_cycle()
    assert (report.result, report.error, report.retry_after) == ("failed", "RateLimited", 600.0)
    assert world.engine.run_cycle().retry_after == 0.0


def test_a_failed_cycle_keeps_its_problem_code_and_system_in_the_activity(world: World) -> None:
    world.sf.fail_next_read = ce.RateLimited("salesforce", 600.0)
    failed = world.engine.run_cycle()
    ok = world.engine.run_cycle()
    store = world.store()
    try:
        rows = {c.id: c for c in store.cycles()}
    finally:
        store.close()
    assert (rows[failed.cycle_id].error_code, rows[failed.cycle_id].error_system) == ("RateLimited", "salesforce")
    assert (rows[ok.cycle_id].error_code, rows[ok.cycle_id].error_system) == (None, None)


def test_a_bug_in_a_cycle_is_recorded_as_failed_not_ok_and_still_raised(world: World) -> None:
    world.sf.fail_next_read = ZeroDivisionError("a bug, whose text may quote anything")
    with pytest.raises(ZeroDivisionError):
        world.engine.run_cycle()
    store = world.store()
    try:
        last = store.cycles(1)[0]
    finally:
        store.close()
    assert (last.result, last.error_code, last.error_system) == ("failed", "Unexpected", None)
    assert "ZeroDivisionError" in last.message and "quote anything" not in last.message
