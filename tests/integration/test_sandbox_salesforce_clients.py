"""simple-salesforce, an independent client, against the Salesforce emulator."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from bigsync_gui.sandbox import credentials as cred

SEED_OPPORTUNITIES = 41


class _PlainHttpAdapter(HTTPAdapter):
    """simple-salesforce always builds https:// URLs; the sandbox speaks plain HTTP on loopback."""

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        request.url = "http://" + request.url[len("https://") :]
        return super().send(request, **kwargs)


def password_token(sandbox) -> str:
    r = requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": cred.SF_CONSUMER_KEY,
            "username": cred.SF_USERNAME,
            "password": cred.SF_PASSWORD,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture
def sf(sandbox) -> Salesforce:
    session = requests.Session()
    session.mount("https://" + urlsplit(sandbox.salesforce_url).netloc, _PlainHttpAdapter())
    return Salesforce(
        instance_url=sandbox.salesforce_url, session_id=password_token(sandbox), version="67.0", session=session
    )


def world_now(sandbox) -> datetime:
    return datetime.fromisoformat(requests.get(sandbox.salesforce_admin_url + "/clock", timeout=10).json()["now"])


def advance(sandbox, seconds: float) -> None:
    requests.post(
        sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": seconds}, timeout=10
    ).raise_for_status()


def add_opportunities(sandbox, n: int) -> None:
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        for i in range(n):
            data.insert("Opportunity", {"Name": f"Bulk {i:05d}", "StageName": "Prospecting", "CloseDate": "2026-12-31"})


def query_log(sandbox) -> list[dict]:
    entries = requests.get(sandbox.salesforce_admin_url + "/log", timeout=10).json()["entries"]
    return [e for e in entries if "/query" in e["path"]]


def test_query_all_follows_next_records_url_with_default_batch(sandbox, sf):
    add_opportunities(sandbox, 2100)
    requests.delete(sandbox.salesforce_admin_url + "/log", timeout=10)
    result = sf.query_all("SELECT Id, Name FROM Opportunity")
    ids = [r["Id"] for r in result["records"]]
    assert result["totalSize"] == SEED_OPPORTUNITIES + 2100
    assert len(set(ids)) == SEED_OPPORTUNITIES + 2100
    calls = query_log(sandbox)
    assert [c["status"] for c in calls] == [200, 200]
    assert re.fullmatch(r"/services/data/v67\.0/query/01g[A-Za-z0-9]{15}-2000", calls[1]["path"])


def test_batch_size_header_and_query_more(sandbox, sf):
    add_opportunities(sandbox, 200)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id, Name FROM Opportunity ORDER BY Name", headers=headers)
    assert first["totalSize"] == SEED_OPPORTUNITIES + 200
    assert first["done"] is False
    assert len(first["records"]) == 200
    assert re.fullmatch(r"/services/data/v67\.0/query/01g\w{15}-200", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=headers)
    assert second["done"] is True
    assert "nextRecordsUrl" not in second
    assert len(second["records"]) == SEED_OPPORTUNITIES
    names = [r["Name"] for r in first["records"] + second["records"]]
    assert names == sorted(names)
    # query_all_iter with the same header walks every page
    assert len(list(sf.query_all_iter("SELECT Id FROM Opportunity", headers=headers))) == SEED_OPPORTUNITIES + 200


def bulk_with_deleted_tail(sandbox) -> list[str]:
    """250 'Bulk nnnnn' opportunities; the last ten (in name order) go to the recycle bin. Their ids."""
    add_opportunities(sandbox, 250)
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        rows = sorted(data.all_records("Opportunity"), key=lambda r: r["Name"])
        deleted = [r["Id"] for r in rows if r["Name"] >= "Bulk 00240" and r["Name"].startswith("Bulk")]
    for rid in deleted:
        requests.delete(f"{sandbox.salesforce_admin_url}/records/Opportunity/{rid}", timeout=10).raise_for_status()
    return deleted


def test_query_all_next_records_url_says_query_and_keeps_deleted_rows(sandbox, sf):
    deleted = bulk_with_deleted_tail(sandbox)
    soql = "SELECT Id, Name, IsDeleted FROM Opportunity WHERE Name LIKE 'Bulk%' ORDER BY Name"
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query(soql, include_deleted=True, headers=headers)
    assert first["totalSize"] == 250 and first["done"] is False
    # Salesforce's QueryAll answers a nextRecordsUrl with /query/ in it, not /queryAll/
    assert re.fullmatch(r"/services/data/v67\.0/query/01g\w{15}-200", first["nextRecordsUrl"])
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=headers)
    assert second["done"] is True
    assert [r["Id"] for r in second["records"] if r["IsDeleted"]] == deleted
    # the same locator under /queryAll/ is the same page (either resource, as documented)
    again = sf.query(soql, include_deleted=True, headers=headers)
    locator = again["nextRecordsUrl"].rsplit("/", 1)[1]
    assert sf.query_more(locator, include_deleted=True, headers=headers)["records"] == second["records"]
    # and query_all walks the whole result, deleted rows included
    rows = sf.query_all(soql, include_deleted=True, headers=headers)["records"]
    assert len(rows) == 250 and [r["Id"] for r in rows if r["IsDeleted"]] == deleted
    assert sf.query_all(soql, headers=headers)["totalSize"] == 240


def test_retrieve_many_by_ids_with_a_post_body(sandbox, sf):
    opps = sf.query("SELECT Id, Name FROM Opportunity ORDER BY Name LIMIT 3")["records"]
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    gone = opps[2]["Id"]
    assert sf.Opportunity.delete(gone) == 204
    ids = [opps[1]["Id"], "006000000000000AAA", account, gone, opps[0]["Id"][:15], "nonsense"]
    body = {"ids": ids, "fields": ["id", "name", "StageName"]}
    out = sf.restful("composite/sobjects/Opportunity", method="POST", data=json.dumps(body))
    # one entry per id in request order; null for an unknown, foreign, deleted or invalid id
    assert [None if r is None else r["Id"] for r in out] == [opps[1]["Id"], None, None, None, opps[0]["Id"], None]
    assert list(out[0]) == ["attributes", "Id", "Name", "StageName"]
    assert out[0]["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v67.0/sobjects/Opportunity/{opps[1]['Id']}",
    }
    assert out[0]["Name"] == opps[1]["Name"]
    # the GET form answers the same
    got = sf.restful("composite/sobjects/Opportunity", params={"ids": ",".join(ids), "fields": "id,name,StageName"})
    assert got == out
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful(
            "composite/sobjects/Opportunity",
            method="POST",
            data=json.dumps({"ids": ids, "fields": ["Name", "NoSuchField__c"]}),
        )
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("composite/sobjects/Nowhere", method="POST", data=json.dumps(body))


def test_string_escapes_through_format_soql_and_by_hand(sf):
    name = 'Tab\there "quoted" O\'Brien \\ back\nslash é'
    created = sf.Account.create({"Name": name})["id"]
    found = sf.query(format_soql("SELECT Id, Name FROM Account WHERE Name = {}", name))["records"]
    assert [(r["Id"], r["Name"]) for r in found] == [(created, name)]
    # the same literal with the page's upper-case and \uXXXX forms
    by_hand = r"Tab\There \"quoted\" O\'Brien \\ back\Nslash \u00E9"
    assert [r["Id"] for r in sf.query(f"SELECT Id FROM Account WHERE Name = '{by_hand}'")["records"]] == [created]
    like = sf.query(format_soql("SELECT Id FROM Account WHERE Name LIKE '{:like}%'", 'Tab\there "quoted'))
    assert [r["Id"] for r in like["records"]] == [created]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query(r"SELECT Id FROM Account WHERE Name = 'a\_b'")  # \_ belongs to LIKE
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_describe_opportunity(sf):
    desc = sf.Opportunity.describe()
    assert desc["name"] == "Opportunity"
    assert desc["keyPrefix"] == "006"
    fields = {f["name"]: f for f in desc["fields"]}
    stage = fields["StageName"]
    assert stage["type"] == "picklist"
    assert [p["value"] for p in stage["picklistValues"]] == [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ]
    assert all(p["active"] for p in stage["picklistValues"])
    assert fields["Name"]["length"] == 120
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["BigTime_Project_Id__c"]["custom"] is True
    assert fields["BigTime_Project_Id__c"]["externalId"] is True
    assert fields["IsWon"]["updateable"] is False
    assert fields["Amount"]["type"] == "currency" and fields["Amount"]["scale"] == 2
    assert "OpportunityContactRoles" in [c["relationshipName"] for c in desc["childRelationships"]]
    assert desc["urls"]["describe"] == "/services/data/v67.0/sobjects/Opportunity/describe"


def test_create_get_update_delete_and_replication(sandbox, sf):
    start = world_now(sandbox) - timedelta(minutes=5)
    account = sf.query("SELECT Id FROM Account WHERE Name = 'Initech'")["records"][0]["Id"]
    created = sf.Opportunity.create(
        {
            "Name": "Initech – Test rollout",
            "AccountId": account,
            "StageName": "Qualification",
            "CloseDate": "2027-01-15",
            "Amount": 42000,
        }
    )
    assert created["success"] is True and created["errors"] == []
    opp_id = created["id"]
    assert len(opp_id) == 18 and opp_id.startswith("006")

    row = sf.Opportunity.get(opp_id)
    assert row["attributes"]["type"] == "Opportunity"
    assert row["Name"] == "Initech – Test rollout"
    assert row["Amount"] == 42000.0
    assert row["Probability"] == 10.0 and row["IsClosed"] is False

    assert sf.Opportunity.update(opp_id, {"StageName": "Closed Won"}) == 204
    row = sf.Opportunity.get(opp_id)
    assert (row["StageName"], row["IsClosed"], row["IsWon"], row["Probability"]) == ("Closed Won", True, True, 100.0)

    # seconds are ignored: the change is covered once its minute is over
    advance(sandbox, 61)
    updated = sf.Opportunity.updated(start, world_now(sandbox) + timedelta(minutes=1))
    assert opp_id in updated["ids"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000\+0000", updated["latestDateCovered"])

    assert sf.Opportunity.delete(opp_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Opportunity.get(opp_id)
    assert err.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    advance(sandbox, 61)
    deleted = sf.Opportunity.deleted(start, world_now(sandbox))
    assert [d["id"] for d in deleted["deletedRecords"]] == [opp_id]
    assert deleted["deletedRecords"][0]["deletedDate"].endswith("+0000")
    assert "earliestDateAvailable" in deleted and "latestDateCovered" in deleted
    # the recycle bin shows through queryAll
    rows = sf.query_all(f"SELECT Id, IsDeleted FROM Opportunity WHERE Id = '{opp_id}'", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in rows] == [(opp_id, True)]


def test_composite_update_through_restful(sf):
    opps = sf.query("SELECT Id, Name FROM Opportunity ORDER BY Name LIMIT 2")["records"]
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Opportunity"}, "id": opps[0]["Id"], "BigTime_Hours_Logged__c": 12.5},
            {"attributes": {"type": "Opportunity"}, "id": opps[1]["Id"], "BigTime_WIP__c": "lots"},
        ],
    }
    results = sf.restful("composite/sobjects", method="PATCH", data=json.dumps(body))
    assert results[0] == {"id": opps[0]["Id"], "success": True, "errors": []}
    assert results[1]["success"] is False
    assert results[1]["errors"][0]["statusCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert results[1]["errors"][0]["fields"] == ["BigTime_WIP__c"]
    assert sf.Opportunity.get(opps[0]["Id"])["BigTime_Hours_Logged__c"] == 12.5


def test_limits_and_api_usage(sf):
    sf.query("SELECT Id FROM Account LIMIT 1")
    used = sf.api_usage["api-usage"].used
    assert used == 1
    assert sf.api_usage["api-usage"].total == 15000
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000
    assert limits["DailyApiRequests"]["Remaining"] == 15000 - 2
    assert sf.api_usage["api-usage"].used == 2


def test_bad_soql_is_a_malformed_request(sf):
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELEC Id FROM Opportunity")
    assert err.value.status == 400
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT NoSuchField__c FROM Opportunity")
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_expired_session(sandbox, sf):
    assert sf.query("SELECT COUNT() FROM Opportunity")["totalSize"] == SEED_OPPORTUNITIES
    r = requests.post(sandbox.salesforce_admin_url + "/tokens/expire", json={}, timeout=10)
    assert r.json()["expired"] >= 1
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.query("SELECT Id FROM Opportunity")
    assert err.value.status == 401
    assert err.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_stage_history_is_recorded_per_change_and_read_through_a_child_subquery(sandbox, sf):
    """OpportunityHistory as Salesforce keeps it: a row on create and on each change of stage, amount,
    probability, close date or forecast category (the then-current values), none for other edits;
    read-only; readable as the opportunity's ``OpportunityHistories`` with a WHERE on CreatedDate."""
    desc = sf.OpportunityHistory.describe()
    assert desc["keyPrefix"] == "008" and not (desc["createable"] or desc["updateable"] or desc["deletable"])
    fields = {f["name"] for f in desc["fields"]}
    assert {
        "OpportunityId",
        "StageName",
        "Amount",
        "CloseDate",
        "Probability",
        "ExpectedRevenue",
        "ForecastCategory",
        "PrevAmount",
        "PrevCloseDate",
        "CreatedDate",
        "CreatedById",
        "SystemModstamp",
        "IsDeleted",
    } <= fields
    assert "LastModifiedDate" not in fields
    children = {c["relationshipName"]: c for c in sf.Opportunity.describe()["childRelationships"]}
    assert children["OpportunityHistories"]["childSObject"] == "OpportunityHistory"

    opp_id = sf.Opportunity.create(
        {"Name": "History test", "StageName": "Qualification", "CloseDate": "2027-01-15", "Amount": 1000}
    )["id"]
    advance(sandbox, 2)
    since = world_now(sandbox)
    advance(sandbox, 1)
    sf.Opportunity.update(opp_id, {"StageName": "Closed Won"})
    sf.Opportunity.update(opp_id, {"Description": "not a tracked field"})  # no row
    sf.Opportunity.update(opp_id, {"StageName": "Closed Won"})  # unchanged: no row
    sf.Opportunity.update(opp_id, {"StageName": "Negotiation/Review", "Amount": 2000})

    rows = sf.query(
        format_soql(
            "SELECT StageName, Amount, PrevAmount, Probability, CreatedDate FROM OpportunityHistory "
            "WHERE OpportunityId = {} ORDER BY CreatedDate",
            opp_id,
        )
    )["records"]
    assert [(r["StageName"], r["Amount"], r["PrevAmount"]) for r in rows] == [
        ("Qualification", 1000.0, None),
        ("Closed Won", 1000.0, 1000.0),
        ("Negotiation/Review", 2000.0, 1000.0),
    ]
    assert [r["Probability"] for r in rows] == [10.0, 100.0, 90.0]  # each stage's default

    (opp,) = sf.query_all(
        format_soql(
            "SELECT Id, StageName, (SELECT StageName, CreatedDate FROM OpportunityHistories "
            "WHERE CreatedDate >= {} ORDER BY CreatedDate) FROM Opportunity WHERE Id = {}",
            since,
            opp_id,
        )
    )["records"]
    assert [h["StageName"] for h in opp["OpportunityHistories"]["records"]] == ["Closed Won", "Negotiation/Review"]
    assert opp["OpportunityHistories"]["records"][0]["CreatedDate"].endswith("+0000")

    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.OpportunityHistory.create({"OpportunityId": opp_id, "StageName": "Closed Won"})
    assert err.value.content[0]["errorCode"] == "INVALID_TYPE"

    sf.Opportunity.delete(opp_id)  # the history goes to the recycle bin with its opportunity
    assert sf.query(format_soql("SELECT Id FROM OpportunityHistory WHERE OpportunityId = {}", opp_id))["totalSize"] == 0


def test_simple_salesforce_creates_a_field_through_the_tooling_api(sandbox, sf) -> None:
    """The Tooling API's wire format as simple-salesforce speaks it (toolingexecute, restful), and its
    error array as that client reads it (simple-salesforce issue 621 checks
    ``e.content[0]['message']`` for "There is already a field named")."""
    requests.post(
        sandbox.salesforce_admin_url + "/metadata", json={"bigsync_fields": "absent"}, timeout=10
    ).raise_for_status()
    body = {
        "FullName": "Opportunity.BigTime_WIP__c",
        "Metadata": {"type": "Currency", "label": "BigTime WIP", "precision": 18, "scale": 2},
    }
    created = sf.toolingexecute("sobjects/CustomField/", method="POST", data=body)
    assert created["success"] is True and created["id"].startswith("00N")
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("tooling/sobjects/CustomField/", method="POST", json=body)
    assert "There is already a field named" in info.value.content[0]["message"]
    found = sf.toolingexecute(
        "query/?q=" + format_soql("SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = {}", "Opportunity")
    )
    assert [r["DeveloperName"] for r in found["records"]] == ["BigTime_WIP"]
    members = sf.toolingexecute(
        "query/?q=SELECT+SelectedEntity+FROM+PlatformEventChannelMember+WHERE+EventChannel='ChangeEvents'"
    )
    assert [r["SelectedEntity"] for r in members["records"]] == ["OpportunityChangeEvent"]


def test_soql_limits_reach_simple_salesforce_as_malformed_requests(sf):
    """SOQL's written limits (docs/reference/salesforce.md, section 7) as an independent client sees them."""
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM Opportunity ORDER BY Name OFFSET 2001")
    assert err.value.content[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert sf.query("SELECT Id FROM Opportunity ORDER BY Name OFFSET 2000")["totalSize"] == 0
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query("SELECT Id FROM Account WHERE Name = '" + "n" * 4001 + "'")
    assert err.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_an_eleventh_cursor_releases_the_oldest_for_simple_salesforce(sandbox, sf):
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        for i in range(210):
            data.insert("Account", {"Name": f"Cursor {i:03d}"}, system=True)
    soql = "SELECT Id FROM Account ORDER BY Name"
    first = sf.query(soql, headers={"Sforce-Query-Options": "batchSize=200"})
    others = [sf.query(soql, headers={"Sforce-Query-Options": "batchSize=200"}) for _ in range(10)]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert err.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert len(sf.query_more(others[0]["nextRecordsUrl"], identifier_is_url=True)["records"]) == 21
