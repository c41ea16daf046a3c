"""SalesforceClient.update_many_if_unmodified_with against the Salesforce emulator: conditional PATCHes 25
to a Composite request, each with its own If-Unmodified-Since; per update True, False (412) or its
subrequest's error, typed; an answer that is not the documented shape is UnexpectedResponse; a
failed or lost request is raised, never retried blindly (not idempotent)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bigsync_gui.connectors.errors import Offline, RequestRejected, ServiceUnavailable, UnexpectedResponse
from bigsync_gui.connectors.salesforce import ConditionalUpdate
from test_salesforce_client import DATA, add_fault, admin, api_log, client, grant, http  # noqa: F401  (fixtures)


def stamped(sandbox, n: int) -> list[tuple[str, datetime]]:
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        ids = [
            data.insert(
                "Opportunity",
                {"Name": f"Claim deal {i:02d}", "StageName": "Closed Won", "CloseDate": "2026-01-15"},
                system=True,
            )
            for i in range(n)
        ]
        stamps = [data.get("Opportunity", rid)["LastModifiedDate"].replace("+0000", "+00:00") for rid in ids]
    return [(rid, datetime.fromisoformat(stamp)) for rid, stamp in zip(ids, stamps)]


def conditional(client, updates: list[ConditionalUpdate]) -> list:
    """The updates' outcomes, with nothing riding along."""
    results, rode = client.update_many_if_unmodified_with(updates, "Opportunity", [])
    assert rode is None
    return results


def test_30_conditional_updates_in_two_requests_a_stale_one_412_a_deleted_one_its_error(sandbox, client):  # noqa: F811
    rows = stamped(sandbox, 30)
    data = sandbox.world.salesforce
    sandbox.world.clock.advance(5)
    with sandbox.world.lock:
        data.update("Opportunity", rows[3][0], {"Description": "someone else"}, system=True)
        data.delete("Opportunity", rows[27][0], system=True)
    admin(sandbox, "DELETE", "/log")
    results = conditional(
        client,
        [
            ConditionalUpdate("Opportunity", rid, {"BigTime_Project_Id__c": f"claim:me:{i}"}, since)
            for i, (rid, since) in enumerate(rows)
        ],
    )
    assert [(e["method"], e["path"]) for e in api_log(sandbox)] == [("POST", f"{DATA}/composite")] * 2
    assert results[3] is False
    assert isinstance(results[27], RequestRejected) and results[27].code == "ENTITY_IS_DELETED"
    assert [i for i, r in enumerate(results) if r is not True] == [3, 27]
    assert data.get("Opportunity", rows[0][0])["BigTime_Project_Id__c"] == "claim:me:0"
    assert data.get("Opportunity", rows[29][0])["BigTime_Project_Id__c"] == "claim:me:29"
    assert data.get("Opportunity", rows[3][0])["BigTime_Project_Id__c"] is None
    assert conditional(client, []) == []


def test_a_value_salesforce_refuses_is_that_update_s_error(sandbox, client):  # noqa: F811
    (rid, since), (other, other_since) = stamped(sandbox, 2)
    results = conditional(
        client,
        [
            ConditionalUpdate("Opportunity", rid, {"BigTime_Project_Id__c": "x" * 41}, since),
            ConditionalUpdate(
                "Opportunity", other, {"BigTime_Project_Id__c": "fits"}, other_since + timedelta(hours=1)
            ),
        ],
    )
    assert isinstance(results[0], RequestRejected) and results[0].code == "STRING_TOO_LONG"
    assert results[1] is True


@pytest.mark.parametrize(
    "fault, error",
    [
        ({"kind": "status", "status": 503}, ServiceUnavailable),
        ({"kind": "drop"}, Offline),
        ({"kind": "status", "status": 200, "body": {"compositeResponse": []}}, UnexpectedResponse),
    ],
)
def test_a_failed_or_lost_request_is_raised_and_not_sent_again(sandbox, client, fault, error):  # noqa: F811
    ((rid, since),) = stamped(sandbox, 1)
    add_fault(sandbox, method="POST", path="/composite$", count=1, **fault)
    admin(sandbox, "DELETE", "/log")
    with pytest.raises(error):
        conditional(client, [ConditionalUpdate("Opportunity", rid, {"Description": "x"}, since)])
    assert len(api_log(sandbox)) == 1  # not retried: whether a lost one was applied is read, not guessed


def test_a_rider_updates_up_to_200_records_in_the_last_request_when_it_has_room(sandbox, client):  # noqa: F811
    rows = stamped(sandbox, 30)
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        account = data.insert("Account", {"Name": "Rider Co"}, system=True)
    updates = [ConditionalUpdate("Opportunity", rid, {"Description": "claimed"}, since) for rid, since in rows[:10]]
    rider = [{"Id": rid, "BigTime_Project_Id__c": str(i)} for i, (rid, _) in enumerate(rows[10:])]
    rider.append({"attributes": {"type": "Account"}, "Id": account, "BigTime_Client_Id__c": "77"})
    admin(sandbox, "DELETE", "/log")
    results, rode = client.update_many_if_unmodified_with(updates, "Opportunity", rider)
    assert len(api_log(sandbox)) == 1 and results == [True] * 10
    assert isinstance(rode, list) and [r.success for r in rode] == [True] * 21
    assert data.get("Opportunity", rows[29][0])["BigTime_Project_Id__c"] == "19"
    assert data.get("Account", account)["BigTime_Client_Id__c"] == "77"
    full = [
        ConditionalUpdate("Opportunity", rid, {"Description": "again"}, since + timedelta(hours=1))
        for rid, since in rows[:25]
    ]
    results, rode = client.update_many_if_unmodified_with(full, "Opportunity", rider)
    assert results == [True] * 25 and rode is None  # no room: the rider stays the caller's to send
    bad = [{"Id": rows[0][0], "BigTime_Project_Id__c": "x" * 41}]
    _, rode = client.update_many_if_unmodified_with(updates[:1], "Opportunity", bad)
    assert isinstance(rode, list) and not rode[0].success and rode[0].errors[0].code == "STRING_TOO_LONG"
