"""Issue 18 item 11 against the sandbox, its clock pinned and moved by the tests: the contact-role poll
(getUpdated) starts each time at the previous answer's latestDateCovered, never at the previous end;
after more than 30 days without a poll it reads every linked opportunity's roles instead; and an
OpportunityHistory pruned by Salesforce's retention is not an error."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote_plus

from bigsync_gui.core.role_changes import COVERED_CURSOR
from engine_fixtures import Connected, admin
from test_contact_roles import won_opp_with_project

UPDATED = "/sobjects/OpportunityContactRole/updated/"


def sf_now(env: Connected) -> datetime:
    text = admin(env.sandbox.salesforce_admin_url, "GET", "/clock")["now"]
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def polls(env: Connected) -> list[dict[str, list[str]]]:
    return [parse_qs(e["query"]) for e in env.log("salesforce") if e["path"].endswith(UPDATED)]


def role_queries(env: Connected) -> list[str]:
    return [
        unquote_plus(e["query"])
        for e in env.log("salesforce")
        if "FROM OpportunityContactRole" in unquote_plus(e.get("query") or "")
    ]


def covered(env: Connected) -> datetime:
    store = env.store()
    try:
        text = store.cursor(COVERED_CURSOR)
    finally:
        store.close()
    assert text
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def emails(env: Connected, project_id: int) -> list[str]:
    return sorted(c["EMail"].casefold() for c in env.contacts(project_id))


def test_each_poll_starts_at_the_previous_latest_date_covered_not_at_its_end(connected_engine: Connected) -> None:
    env = connected_engine
    oid, acc, project_id = won_opp_with_project(env)
    env.advance(seconds=60)
    assert env.engine.run_writeback_cycle().result == "ok"
    first = covered(env)

    env.advance(seconds=90)
    env.add_role(oid, "Bo", "Later", "bo@globex.example", primary=False, account=acc)  # stamped first + 90 s or so
    env.advance(seconds=90)
    # Salesforce is in the middle of a long transaction that began a minute after the last poll: its
    # answer covers only up to that transaction's start, and lists nothing yet.
    held = (first + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    admin(
        env.sandbox.salesforce_admin_url,
        "POST",
        "/faults",
        {
            "kind": "status",
            "status": 200,
            "method": "GET",
            "path": UPDATED,
            "body": {"ids": [], "latestDateCovered": held},
        },
    )
    env.clear_logs()
    assert env.engine.run_writeback_cycle().result == "ok"
    (poll,) = polls(env)
    assert poll["start"] == [first.strftime("%Y-%m-%dT%H:%M:%S+00:00")]
    end = datetime.fromisoformat(poll["end"][0])
    assert end > first + timedelta(minutes=2)  # the poll asked up to now...
    assert covered(env) == first + timedelta(minutes=1)  # ...and the next starts where the answer stopped
    assert emails(env, project_id) == ["ada@globex.example"]

    env.advance(seconds=60)
    env.clear_logs()
    assert env.engine.run_writeback_cycle().result == "ok"
    (poll,) = polls(env)
    assert poll["start"] == [(first + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")]
    assert emails(env, project_id) == ["ada@globex.example", "bo@globex.example"]  # not lost to the previous end
    assert len(role_queries(env)) == 1  # the changed roles, by id


def test_a_role_is_listed_once_its_minute_is_over_and_an_idle_poll_costs_one_request(
    connected_engine: Connected,
) -> None:
    env = connected_engine
    oid, acc, project_id = won_opp_with_project(env)
    env.advance(seconds=60)
    env.engine.run_writeback_cycle()
    env.advance(seconds=60)
    env.clear_logs()
    env.engine.run_writeback_cycle()
    assert len(polls(env)) == 1 and role_queries(env) == []  # nothing changed: getUpdated alone
    env.add_role(oid, "Cy", "Soon", "cy@globex.example", primary=False, account=acc)
    env.advance(seconds=61)
    env.engine.run_writeback_cycle()
    assert emails(env, project_id) == ["ada@globex.example", "cy@globex.example"]


def test_more_than_30_days_without_a_poll_reads_every_linked_opportunitys_roles(connected_engine: Connected) -> None:
    env = connected_engine
    oid, acc, project_id = won_opp_with_project(env)
    env.advance(seconds=60)
    env.engine.run_writeback_cycle()
    env.advance(days=31)  # the app was off for a month: getUpdated cannot cover the gap
    env.add_role(oid, "Di", "Back", "di@globex.example", primary=False, account=acc)
    env.advance(seconds=60)
    env.clear_logs()
    report = env.engine.run_writeback_cycle()
    assert report.result == "ok", report.message
    assert polls(env) == []  # no getUpdated beyond its 30 days
    (query,) = role_queries(env)
    assert "OpportunityId IN" in query and oid in query
    assert emails(env, project_id) == ["ada@globex.example", "di@globex.example"]
    store = env.store()
    try:
        warnings = [e.message for e in store.events(report.cycle_id) if e.kind == "warning"]
    finally:
        store.close()
    assert any("over 30 days" in w for w in warnings)
    assert sf_now(env) - covered(env) < timedelta(minutes=10)  # polling starts again from that read

    env.advance(seconds=60)
    env.clear_logs()
    env.engine.run_writeback_cycle()
    assert len(polls(env)) == 1 and emails(env, project_id) == ["ada@globex.example", "di@globex.example"]


def test_pruned_opportunity_history_is_not_an_error(connected_engine: Connected) -> None:
    """Field-history retention may remove OpportunityHistory rows (18-24 months): the read's history
    subquery then returns none, and the current stage decides."""
    env = connected_engine
    acc = env.account_id("Globex Corporation")
    oid = env.new_opp("Globex – Old history", "Negotiation/Review", acc)
    env.cycle()
    env.move(oid, "Closed Won")
    pruned = admin(
        env.sandbox.salesforce_admin_url,
        "POST",
        "/history/prune",
        {"before": (sf_now(env) + timedelta(days=1)).isoformat()},
    )
    assert pruned["pruned"] > 0
    with env.sandbox.world.lock:
        assert [r for r in env.sf.all_records("OpportunityHistory") if r["OpportunityId"] == oid] == []
    report = env.cycle()
    assert report.result == "ok" and report.created == 1, report.message
    env.advance(days=16)  # a full reconcile reads every history since the set-up: none is left
    report = env.cycle()
    assert report.result == "ok" and report.created == 0, report.message
    assert len(env.projects_for(oid)) == 1
