"""The Salesforce emulator's Composite resource on the wire (REST API Developer Guide, "Send Multiple
Requests Using Composite"): the docs' own example, conditional PATCHes whose If-Unmodified-Since
travels in a subrequest's ``httpHeaders``, the three headers a subrequest may not name, the limits,
allOrNone, references, one API request for the whole; and simple-salesforce, an independent client,
sending the same."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta

import pytest
import requests
from simple_salesforce.exceptions import SalesforceMalformedRequest

from test_sandbox_salesforce_clients import sf  # noqa: F401  (fixture)
from test_sandbox_salesforce_rest import V, api  # noqa: F401  (fixture)


def http_date(moment: datetime) -> str:
    return email.utils.format_datetime(moment.replace(microsecond=0), usegmt=True)


def opportunities(api, n: int) -> list[dict]:
    rows = api.query(f"SELECT Id, Description, LastModifiedDate FROM Opportunity ORDER BY Name LIMIT {n}")["records"]
    for row in rows:
        row["modified"] = datetime.fromisoformat(row["LastModifiedDate"].replace("+0000", "+00:00"))
    return rows


def used(api) -> int:
    return int(requests.get(api.admin + "/settings", timeout=10).json()["api_usage"])


def claim(row: dict, value: str, since: datetime, ref: str | None = None) -> dict:
    return {
        "method": "PATCH",
        "url": f"{V}/sobjects/Opportunity/{row['Id']}",
        "referenceId": ref or f"c{row['Id']}",
        "body": {"Description": value},
        "httpHeaders": {"If-Unmodified-Since": http_date(since)},
    }


def composite(api, subrequests: list[dict], all_or_none: bool = False) -> requests.Response:
    return api.send("POST", "/composite", {"allOrNone": all_or_none, "compositeRequest": subrequests})


def description(api, oid: str) -> str | None:
    return api.query(f"SELECT Description FROM Opportunity WHERE Id = '{oid}'")["records"][0]["Description"]


def test_the_docs_example_creates_an_account_and_its_contact_in_one_request(api) -> None:
    before = used(api)
    r = composite(
        api,
        [
            {
                "method": "POST",
                "url": f"{V}/sobjects/Account",
                "referenceId": "refAccount",
                "body": {"Name": "Sample Account"},
            },
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "refContact",
                "body": {"LastName": "Sample Contact", "AccountId": "@{refAccount.id}"},
            },
        ],
    )
    assert r.status_code == 200, r.text
    assert used(api) == before + 1  # "the entire series of requests counts as a single call"
    account, contact = r.json()["compositeResponse"]
    assert account["httpStatusCode"] == 201 and account["referenceId"] == "refAccount"
    assert account["body"]["success"] is True and account["httpHeaders"]["Location"].endswith(account["body"]["id"])
    assert contact["httpStatusCode"] == 201, contact
    row = api.query(f"SELECT AccountId FROM Contact WHERE Id = '{contact['body']['id']}'")["records"][0]
    assert row["AccountId"] == account["body"]["id"]


def test_conditional_patches_each_with_their_own_header_a_stale_one_is_412_alone(api, sandbox) -> None:
    rows = opportunities(api, 3)
    sandbox.world.clock.advance(5)
    assert api.send("PATCH", f"/sobjects/Opportunity/{rows[1]['Id']}", {"Description": "changed"}).status_code == 204
    r = composite(api, [claim(row, f"claim {i}", row["modified"]) for i, row in enumerate(rows)])
    assert r.status_code == 200, r.text
    results = r.json()["compositeResponse"]
    assert [x["httpStatusCode"] for x in results] == [204, 412, 204]
    assert results[1]["body"][0]["errorCode"] == "PRECONDITION_FAILED"
    assert results[1]["referenceId"] == f"c{rows[1]['Id']}"
    assert results[0]["body"] is None
    assert [description(api, row["Id"]) for row in rows] == ["claim 0", "changed", "claim 2"]


@pytest.mark.parametrize("header", ["Accept", "Authorization", "Content-Type", "content-type"])
def test_a_subrequest_naming_an_inherited_header_fails_the_whole_request(api, header) -> None:
    rows = opportunities(api, 2)
    bad = claim(rows[1], "second", rows[1]["modified"])
    bad["httpHeaders"][header] = "application/json"
    r = composite(api, [claim(rows[0], "first", rows[0]["modified"]), bad])
    assert r.status_code == 400, r.text
    error = r.json()[0]
    assert error["errorCode"] == "INVALID_HEADER_TYPE" and header in error["message"]
    assert [description(api, row["Id"]) for row in rows] == [rows[0]["Description"], rows[1]["Description"]]


def test_26_subrequests_are_refused_25_run(api) -> None:
    rows = opportunities(api, 26)
    subs = [claim(row, "bulk", row["modified"] + timedelta(days=1)) for row in rows]
    too_many = composite(api, subs)
    assert too_many.status_code == 400 and too_many.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert description(api, rows[0]["Id"]) != "bulk"
    ok = composite(api, subs[:25])
    assert ok.status_code == 200 and [x["httpStatusCode"] for x in ok.json()["compositeResponse"]] == [204] * 25


def test_all_or_none_rolls_back_everything_when_one_fails(api, sandbox) -> None:
    rows = opportunities(api, 3)
    sandbox.world.clock.advance(5)
    api.send("PATCH", f"/sobjects/Opportunity/{rows[2]['Id']}", {"Description": "changed"})
    r = composite(api, [claim(row, "all", row["modified"]) for row in rows], all_or_none=True)
    assert r.status_code == 200
    results = r.json()["compositeResponse"]
    assert [x["httpStatusCode"] for x in results] == [400, 400, 412]
    assert {x["body"][0]["errorCode"] for x in results[:2]} == {"PROCESSING_HALTED"}
    assert [description(api, row["Id"]) for row in rows] == [rows[0]["Description"], rows[1]["Description"], "changed"]


def test_a_reference_to_a_failed_subrequest_halts_only_the_dependent_one(api) -> None:
    rows = opportunities(api, 1)
    r = composite(
        api,
        [
            {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "noName", "body": {}},
            {
                "method": "POST",
                "url": f"{V}/sobjects/Contact",
                "referenceId": "dependent",
                "body": {"LastName": "Orphan", "AccountId": "@{noName.id}"},
            },
            claim(rows[0], "independent", rows[0]["modified"] + timedelta(days=1), "independent"),
        ],
    )
    results = r.json()["compositeResponse"]
    assert results[0]["httpStatusCode"] == 400 and results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["httpStatusCode"] == 400 and results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert results[2]["httpStatusCode"] == 204 and description(api, rows[0]["Id"]) == "independent"


@pytest.mark.parametrize(
    "broken",
    [
        {"referenceId": "has-dash"},
        {"method": "patch"},
        {"url": "/sobjects/Opportunity/x"},
        {"httpHeaders": ["If-Unmodified-Since"]},
    ],
)
def test_malformed_subrequests_fail_the_whole_request(api, broken) -> None:
    row = opportunities(api, 1)[0]
    r = composite(api, [{**claim(row, "x", row["modified"]), **broken}])
    assert r.status_code == 400 and isinstance(r.json(), list) and r.json()[0]["errorCode"]
    assert description(api, row["Id"]) != "x"


def test_duplicate_reference_ids_are_refused(api) -> None:
    row = opportunities(api, 1)[0]
    r = composite(api, [claim(row, "x", row["modified"], "same"), claim(row, "y", row["modified"], "same")])
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_INPUT"


def test_simple_salesforce_sends_conditional_claims_through_composite(api, sf, sandbox) -> None:  # noqa: F811
    """An independent client (simple-salesforce's ``restful``) gets the same wire format."""
    rows = opportunities(api, 2)
    sandbox.world.clock.advance(5)
    sf.Opportunity.update(rows[0]["Id"], {"Description": "someone else"})
    answer = sf.restful(
        "composite",
        method="POST",
        json={"allOrNone": False, "compositeRequest": [claim(row, "mine", row["modified"]) for row in rows]},
    )
    assert [x["httpStatusCode"] for x in answer["compositeResponse"]] == [412, 204]
    assert sf.Opportunity.get(rows[1]["Id"])["Description"] == "mine"
    assert sf.Opportunity.get(rows[0]["Id"])["Description"] == "someone else"
    bad = claim(rows[1], "again", rows[1]["modified"])
    bad["httpHeaders"]["Authorization"] = "Bearer other"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.restful("composite", method="POST", json={"compositeRequest": [bad]})
    assert refused.value.status == 400 and refused.value.content[0]["errorCode"] == "INVALID_HEADER_TYPE"
