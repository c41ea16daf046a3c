"""Claims in batches (issue 19 item 8; docs/sync.md, "Claims in batches"): the claims of 25 creates go
in one Composite request. What can go wrong there and what must hold: a 412 on some subrequests
defers only those; a Composite request that fails (5xx) or whose answer is lost (dropped
connection) stops the cycle and the next one finishes; a kill -9 after the claims but before the
journal has their intents. Every time: one project per win, one client per account, none missed."""

from __future__ import annotations

import dataclasses
import signal
import threading
import time

import pytest
import requests

from bigsync_gui.core.bigtime_limits import account_of_code
from bigsync_gui.core.engine import CycleReport
from crash_runs import killed, rerun_until_clean, start_sync
from engine_fixtures import ID_FIELD, TRIGGER, Connected, Oracle

OTHER = "0ther000"  # another installation's id, as its claims show it


def wins(env: Connected, n: int, accounts: int = 2) -> list[str]:
    ids = [env.insert("Account", {"Name": f"Batch Co {i}"}) for i in range(accounts)]
    return [env.new_opp(f"Batch win {i:02d}", TRIGGER, ids[i % accounts]) for i in range(n)]


def one_project_each(env: Connected, won: list[str]) -> None:
    assert {w: len(env.projects_for(w)) for w in won} == dict.fromkeys(won, 1)
    assert all(str(env.opp(w).get(ID_FIELD)).isdigit() for w in won), "a claim left where the project id belongs"
    by_name: dict[str, int] = {}
    for client in env.clients():
        by_name[str(client["Nm"])] = by_name.get(str(client["Nm"]), 0) + 1
    assert all(n == 1 for n in by_name.values()), by_name


def held(env: Connected, system: str) -> int:
    url = env.sandbox.salesforce_admin_url if system == "salesforce" else env.sandbox.bigtime_admin_url
    return int(requests.get(url + "/faults/held", timeout=5).json()["held"])


def wait_held(env: Connected, system: str, alive: object) -> None:
    deadline = time.monotonic() + 60
    while held(env, system) < 1:
        assert time.monotonic() < deadline and alive(), "never reached the held request"  # type: ignore[operator]
        time.sleep(0.05)


def test_one_composite_request_claims_25_and_a_412_on_some_defers_only_those(connected_engine: Connected) -> None:
    """The first Composite request is held while another installation claims 3 of its opportunities:
    those 3 subrequests answer 412, are read again, found under the other's live claim and left to it
    (pending, with a warning); the other 22 are created. Once the other's claim has expired, the
    next cycle takes the 3 over: exactly one project each."""
    env = connected_engine
    won = wins(env, 25)
    env.fault("salesforce", kind="hold", seconds=60, method="POST", path="/composite$", count=1)
    reports: list[CycleReport] = []
    cycle = threading.Thread(target=lambda: reports.append(env.cycle()))
    cycle.start()
    wait_held(env, "salesforce", cycle.is_alive)
    now = int(env.sandbox.world.clock.now().timestamp())
    for oid in won[5:8]:
        env.update("Opportunity", oid, {ID_FIELD: f"claim:{OTHER}:{now}"})
    env.clear_faults()
    cycle.join(timeout=120)
    report = reports[0]
    assert report.result == "ok" and report.created == 22, report
    composites = [e for e in env.log("salesforce") if e["path"].endswith("/composite")]
    assert len(composites) == 2, composites  # 22 opportunities and their 2 accounts; the other 3 (and ids owed)
    assert {oid: env.opp(oid)[ID_FIELD] for oid in won[5:8]} == dict.fromkeys(won[5:8], f"claim:{OTHER}:{now}")
    store = env.store()
    try:
        assert {i.opportunity_id for i in store.intents("pending")} == set(won[5:8])
        warned = [e for e in store.events() if OTHER in e.message and "is creating the project" in e.message]
        assert {e.opportunity_id for e in warned} == set(won[5:8])
    finally:
        store.close()

    env.advance(minutes=11)  # the other installation never finished: its claims expire
    again = env.cycle()
    assert again.result == "ok" and again.created == 3, again
    one_project_each(env, won)


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "drop"}])
def test_a_composite_request_that_fails_or_loses_its_answer_stops_the_cycle_and_the_next_finishes(
    connected_engine: Connected, fault: dict
) -> None:
    """503: nothing was claimed. Dropped after the work: the claims were written but the answer is
    lost — the next cycle finds its own claims and claims them again. Neither creates a project
    twice or misses one."""
    env = connected_engine
    won = wins(env, 30)
    env.fault("salesforce", method="POST", path="/composite$", count=1, **fault)
    report = env.cycle()
    assert report.result == "failed" and report.error in ("ServiceUnavailable", "Offline"), report
    assert report.created == 0 and all(not env.projects_for(w) for w in won)
    claimed = [oid for oid in won if str(env.opp(oid).get(ID_FIELD) or "").startswith("claim:")]
    # the first request's claims (at most 24) were written before the answer was lost; a 503 wrote none
    assert (0 < len(claimed) <= 24) if fault["kind"] == "drop" else not claimed, claimed
    again = env.cycle()
    assert again.result == "ok" and again.created == 30, again
    one_project_each(env, won)


def test_a_kill_after_the_claims_before_their_intents_then_a_restart(connected_engine: Connected) -> None:
    """A real `sync --once` is killed -9 inside its first client create: its Composite request has
    claimed 23 opportunities and their account, the journal holds the first one's intent only. The
    held create lands; the restart finds its own claims (and the client by its code), claims them
    again and creates each project once."""
    env = connected_engine
    oracle = Oracle(env)
    won = wins(env, 25, accounts=1)
    env.fault("bigtime", kind="hold", seconds=60, method="POST", path="/client/detail$", count=1)
    oracle.before_cycle()
    child = start_sync(env)
    try:
        wait_held(env, "bigtime", lambda: child.poll() is None)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
        oracle.after_cycle(killed())
        claimed = [w for w in won if str(env.opp(w).get(ID_FIELD) or "").startswith("claim:")]
        assert claimed == won[:23]  # the first request: 23 opportunities and their account
        store = env.store()
        try:
            assert len(store.intents("pending")) == 1
        finally:
            store.close()
    finally:
        env.clear_faults()  # BigTime finishes the killed child's client create
    deadline = time.monotonic() + 30
    while not any(account_of_code(c["ClientId"]) for c in env.clients()):  # a client of ours
        assert time.monotonic() < deadline, "the held client create never landed"
        time.sleep(0.05)
    code, report, err, _ = rerun_until_clean(env, oracle)
    assert code == 0 and report is not None and report.result == "ok", err
    one_project_each(env, won)
    oracle.check(final=True)


def test_an_org_without_our_fields_claims_the_account_with_an_update_naming_no_field(
    connected_engine: Connected,
) -> None:
    """A fresh org (none of BigSync's fields, so no Account client id field either): today's
    behaviour, the account claimed by an update naming no field; one client, each project once."""
    env = connected_engine
    requests.post(
        env.sandbox.salesforce_admin_url + "/metadata", json={"bigsync_fields": "absent"}, timeout=10
    ).raise_for_status()
    env.advance(minutes=16)  # the engine's cached metadata is read again
    won = wins(env, 3, accounts=1)
    account = env.opp(won[0])["AccountId"]
    env.clear_logs()
    report = env.cycle()
    assert report.result == "ok" and report.created == 3, report
    patches = [e for e in env.log("salesforce") if e["method"] == "PATCH"]
    assert [e["path"].rsplit("/", 2)[-2:] for e in patches] == [["Account", account]]  # the one claim: the account's
    assert not any(e["path"].endswith("/composite") for e in env.log("salesforce"))
    assert {w: len(env.projects_for(w)) for w in won} == dict.fromkeys(won, 1)
    assert len({env.project(w)["ClientId"] for w in won}) == 1
    assert len([c for c in env.clients() if c["Nm"] == "Batch Co 0"]) == 1


def test_an_account_claimed_for_wins_that_all_went_to_another_installation_is_put_back(
    connected_engine: Connected,
) -> None:
    """The account's claim rode with its one opportunity's claim; the other installation had claimed
    the opportunity meanwhile (412): the account's field is put back at once, so the other creates
    the client now rather than after the lease."""
    env = connected_engine
    (won,) = wins(env, 1, accounts=1)
    account = env.opp(won)["AccountId"]
    env.fault("salesforce", kind="hold", seconds=60, method="POST", path="/composite$", count=1)
    reports: list[CycleReport] = []
    cycle = threading.Thread(target=lambda: reports.append(env.cycle()))
    cycle.start()
    wait_held(env, "salesforce", cycle.is_alive)
    env.update("Opportunity", won, {ID_FIELD: f"claim:{OTHER}:{int(env.sandbox.world.clock.now().timestamp())}"})
    env.clear_faults()
    cycle.join(timeout=120)
    assert reports[0].result == "ok" and reports[0].created == 0, reports[0]
    assert env.sandbox.world.salesforce.fetch("Account", account).get("BigTime_Client_Id__c") is None
    assert not env.clients() or all(c["Nm"] != "Batch Co 0" for c in env.clients())


def test_an_account_field_the_user_cannot_edit_is_treated_as_absent(connected_engine: Connected) -> None:
    """Field-level security makes BigTime_Client_Id__c read-only for the connected user: the account
    claim falls back to today's update naming no field (a write to the field would be refused and
    the opportunity rejected)."""
    env = connected_engine
    fields = env.sf.schema["account"].fields
    shipped = fields["bigtime_client_id__c"]
    fields["bigtime_client_id__c"] = dataclasses.replace(shipped, updateable=False)
    try:
        env.advance(minutes=16)  # the engine's cached metadata is read again
        won = wins(env, 2, accounts=1)
        report = env.cycle()
        assert report.result == "ok" and report.created == 2, report
        account = env.opp(won[0])["AccountId"]
        assert env.sandbox.world.salesforce.fetch("Account", account).get("BigTime_Client_Id__c") is None
    finally:
        fields["bigtime_client_id__c"] = shipped


def test_a_field_map_saved_before_the_account_field_existed_uses_it(connected_engine: Connected) -> None:
    """An upgraded profile: its saved field map has no client_id at all (not "don't write"), so the
    Account field is used where the org has it, as the default mapping would."""
    env = connected_engine
    field_map = dict(env.connector.settings().sync.field_map)
    del field_map["client_id"]
    env.engine.update_settings(field_map=field_map)
    assert "client_id" not in env.connector.settings().sync.field_map
    won = wins(env, 2, accounts=1)
    report = env.cycle()
    assert report.result == "ok" and report.created == 2, report
    account = env.opp(won[0])["AccountId"]
    assert env.sandbox.world.salesforce.fetch("Account", account)["BigTime_Client_Id__c"] == str(
        env.project(won[0])["ClientId"]
    )
