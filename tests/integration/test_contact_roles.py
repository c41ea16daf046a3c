"""Contact roles added to an opportunity after its project exists reach BigTime on the write-back's
cadence (issue 12.5): added, never deleted, never twice; the idle trigger cycle stays one request."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

from engine_fixtures import Connected


def won_opp_with_project(env: Connected) -> tuple[str, str, int]:
    acc = env.account_id("Globex Corporation")
    oid = env.new_opp("Globex – Roles later", "Negotiation/Review", acc)
    env.add_role(oid, "Ada", "Primary", "ada@globex.example", primary=True, account=acc)
    env.cycle()
    env.move(oid, "Closed Won")
    assert env.cycle().created == 1
    return oid, acc, env.project(oid)["SystemId"]


def test_a_new_contact_role_does_not_touch_the_opportunitys_modstamp(connected_engine: Connected) -> None:
    """Salesforce documents no such effect: the emulator must not invent one (the engine cannot rely on it)."""
    env = connected_engine
    acc = env.account_id("Globex Corporation")
    oid = env.new_opp("Globex – Stamp", "Prospecting", acc)
    before = env.opp(oid)["SystemModstamp"]
    env.advance(seconds=5)
    env.add_role(oid, "Cy", "Later", "cy@globex.example", primary=False, account=acc)
    assert env.opp(oid)["SystemModstamp"] == before


def test_roles_added_after_the_project_reach_bigtime_on_the_writeback(connected_engine: Connected) -> None:
    env = connected_engine
    oid, acc, project_id = won_opp_with_project(env)
    assert [c["EMail"] for c in env.contacts(project_id)] == ["ada@globex.example"]

    env.add_role(oid, "Bo", "Later", "bo@globex.example", primary=False, account=acc)
    env.add_role(oid, "Ada", "Primary", "ADA@globex.example", primary=False, account=acc)  # the same person again
    env.clear_logs()
    idle = env.cycle()
    assert idle.salesforce_requests == 1 and env.log("bigtime") == []  # the trigger cycle does not look at roles

    env.advance(seconds=60)  # getUpdated lists a change once its minute is over
    report = env.engine.run_writeback_cycle()
    assert report.result == "ok", report.message
    contacts = env.contacts(project_id)
    assert sorted(c["EMail"].casefold() for c in contacts) == ["ada@globex.example", "bo@globex.example"]
    assert [c["Tag"] for c in contacts if c["EMail"] == "bo@globex.example"] == ["OTHER"]
    roles_read = [
        e for e in env.log("salesforce") if re.search(r"FROM OpportunityContactRole\b", unquote_plus(e["query"]))
    ]
    assert len(roles_read) == 1  # one query for every linked opportunity

    env.engine.run_writeback_cycle()  # nothing new: nothing added twice
    assert len(env.contacts(project_id)) == 2


def test_a_removed_role_never_deletes_the_bigtime_contact(connected_engine: Connected) -> None:
    env = connected_engine
    oid, acc, project_id = won_opp_with_project(env)
    env.add_role(oid, "Bo", "Later", "bo@globex.example", primary=False, account=acc)
    env.advance(seconds=60)
    env.engine.run_writeback_cycle()
    assert len(env.contacts(project_id)) == 2
    with env.sandbox.world.lock:
        role = next(
            r
            for r in env.sf.all_records("OpportunityContactRole")
            if r["OpportunityId"] == oid and not r.get("IsDeleted")
        )
        env.sf.delete("OpportunityContactRole", role["Id"])
    env.engine.run_writeback_cycle()
    assert len(env.contacts(project_id)) == 2
    assert not [e for e in env.log("bigtime") if e["method"] == "DELETE"]


def test_a_new_primary_role_is_tagged_primary_only_when_the_project_has_none(connected_engine: Connected) -> None:
    env = connected_engine
    acc = env.account_id("Globex Corporation")
    oid = env.new_opp("Globex – No roles yet", "Closed Won", acc)
    env.cycle()  # reached after setup? it was created at the stage: it triggers
    project_id = env.project(oid)["SystemId"]
    assert env.contacts(project_id) == []
    env.add_role(oid, "Di", "First", "di@globex.example", primary=True, account=acc)
    env.advance(seconds=60)
    env.engine.run_writeback_cycle()
    assert [(c["EMail"], c["Tag"]) for c in env.contacts(project_id)] == [("di@globex.example", "PRIMARY")]
