"""The Salesforce emulator's REST API on the wire: error formats, limits, windows, recycle bin,
modstamps, sObject Collections, validation, stage admin, faults and the request log."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
import requests

from bigsync_gui.sandbox import credentials as cred
from bigsync_gui.sandbox.salesforce.ids import make_id

V = "/services/data/v67.0"
MISSING_OPPORTUNITY = make_id("006", 999_999)  # well-formed, no such record
MISSING_ACCOUNT = make_id("001", 999_999)


def token(sandbox) -> str:
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


class Api:
    def __init__(self, sandbox) -> None:
        self.base = sandbox.salesforce_url + V
        self.admin = sandbox.salesforce_admin_url
        self.sandbox = sandbox
        self.reauth()

    def reauth(self) -> None:
        """A fresh session (after moving the clock past the session timeout)."""
        self.headers = {"Authorization": "Bearer " + token(self.sandbox)}

    def get(self, path: str, **kw) -> requests.Response:
        return requests.get(self.base + path, headers={**self.headers, **kw.pop("headers", {})}, timeout=10, **kw)

    def send(self, method: str, path: str, body=None, **kw) -> requests.Response:
        return requests.request(method, self.base + path, json=body, headers=self.headers, timeout=10, **kw)

    def query(self, soql: str) -> dict:
        r = self.get("/query", params={"q": soql})
        assert r.status_code == 200, r.text
        return r.json()

    def admin_post(self, path: str, body=None) -> requests.Response:
        return requests.post(self.admin + path, json=body if body is not None else {}, timeout=10)


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox)


def one_opportunity(api: Api, where: str = "StageName = 'Prospecting'") -> dict:
    return api.query(
        f"SELECT Id, Name, SystemModstamp, LastModifiedDate FROM Opportunity WHERE {where} ORDER BY Name LIMIT 1"
    )["records"][0]


def new_opportunity(api: Api, **fields) -> str:
    body = {"Name": "Test – opportunity", "StageName": "Prospecting", "CloseDate": "2027-03-01", **fields}
    r = api.send("POST", "/sobjects/Opportunity", body)
    assert r.status_code == 201, r.text
    assert r.json()["success"] is True
    return r.json()["id"]


def assert_error(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["errorCode"] == code
    assert isinstance(body[0]["message"], str) and body[0]["message"]
    return body[0]


# ---- error formats and limits -----------------------------------------------------------------------
def test_error_arrays_for_400_401_403_404(sandbox, api):
    assert_error(api.get("/query", params={"q": "SELECT FROM"}), 400, "MALFORMED_QUERY")
    r = requests.get(api.base + "/query", params={"q": "SELECT Id FROM Account"}, timeout=10)
    assert r.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert r.status_code == 401
    r = requests.get(api.base + "/sobjects", headers={"Authorization": "Bearer 00Dnotatoken"}, timeout=10)
    assert_error(r, 401, "INVALID_SESSION_ID")
    assert_error(api.get(f"/sobjects/Opportunity/{MISSING_OPPORTUNITY}"), 404, "NOT_FOUND")
    assert_error(api.get("/sobjects/NoSuchThing__c/describe"), 404, "NOT_FOUND")
    assert_error(api.get("/sobjects/Opportunity/not-an-id"), 400, "MALFORMED_ID")
    requests.post(api.admin + "/settings", json={"daily_api_limit": 0}, timeout=10).raise_for_status()
    err = assert_error(api.get("/limits"), 403, "REQUEST_LIMIT_EXCEEDED")
    assert err["message"] == "TotalRequests Limit exceeded."


def test_limit_info_header_on_every_response(sandbox, api):
    seen = []
    for r in (
        api.get("/sobjects"),
        api.get("/query", params={"q": "SELECT Id FROM Account"}),
        api.get("/query", params={"q": "bad"}),
        api.get(f"/sobjects/Account/{MISSING_ACCOUNT}"),
        requests.get(sandbox.salesforce_url + "/services/data/", timeout=10),
        requests.get(api.base + "/sobjects", timeout=10),
    ):
        seen.append(r.headers["Sforce-Limit-Info"])
    assert seen == [
        "api-usage=1/15000",
        "api-usage=2/15000",
        "api-usage=3/15000",
        "api-usage=4/15000",
        "api-usage=4/15000",
        "api-usage=4/15000",
    ]


def test_request_limit_exceeded_and_admin_calls_do_not_count(sandbox, api):
    r = requests.post(api.admin + "/settings", json={"daily_api_limit": 3, "api_usage": 0}, timeout=10)
    assert r.json()["daily_api_limit"] == 3
    for _ in range(3):
        assert api.get("/limits").status_code == 200
    r = api.get("/limits")
    assert_error(r, 403, "REQUEST_LIMIT_EXCEEDED")
    assert r.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    for _ in range(5):
        requests.get(api.admin + "/records/Opportunity", timeout=10)
    assert requests.get(api.admin + "/settings", timeout=10).json()["api_usage"] == 3
    # a new UTC day gives a new allowance
    api.admin_post("/clock", {"advance_seconds": 86400})
    assert_error(api.get("/limits"), 401, "INVALID_SESSION_ID")  # two idle hours end a session
    api.reauth()
    r = api.get("/limits")
    assert r.status_code == 200
    assert r.json()["DailyApiRequests"] == {"Max": 3, "Remaining": 2}


def test_versions_and_resources(sandbox, api):
    versions = requests.get(sandbox.salesforce_url + "/services/data/", timeout=10).json()
    assert versions[-1] == {"label": "Summer '26", "url": "/services/data/v67.0", "version": "67.0"}
    resources = api.get("/").json()
    assert resources["query"] == "/services/data/v67.0/query"
    assert resources["sobjects"] == "/services/data/v67.0/sobjects"
    assert_error(
        requests.get(sandbox.salesforce_url + "/services/data/v99.0/limits", headers=api.headers, timeout=10),
        404,
        "NOT_FOUND",
    )


# ---- getUpdated / getDeleted windows -------------------------------------------------------------------
def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def world_now(api: Api) -> datetime:
    return datetime.fromisoformat(requests.get(api.admin + "/clock", timeout=10).json()["now"])


def test_updated_and_deleted_windows(sandbox, api):
    opp = one_opportunity(api)["Id"]
    start = world_now(api) - timedelta(minutes=2)
    assert api.send("PATCH", f"/sobjects/Opportunity/{opp}", {"NextStep": "Call back"}).status_code == 204
    assert api.send("DELETE", f"/sobjects/Opportunity/{opp}").status_code == 204
    api.admin_post("/clock", {"advance_seconds": 120})
    end = world_now(api)
    r = api.get("/sobjects/Opportunity/deleted/", params={"start": iso(start), "end": iso(end)})
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json()["deletedRecords"]] == [opp]
    assert r.json()["latestDateCovered"] == end.strftime("%Y-%m-%dT%H:%M:00.000+0000")

    # 14 days later the delete is still listed; the 15-day window refuses an older start
    api.admin_post("/clock", {"advance_seconds": 14 * 86400})
    api.reauth()
    r = api.get("/sobjects/Opportunity/deleted/", params={"start": iso(start), "end": iso(world_now(api))})
    assert [d["id"] for d in r.json()["deletedRecords"]] == [opp]
    api.admin_post("/clock", {"advance_seconds": 2 * 86400})
    api.reauth()
    r = api.get("/sobjects/Opportunity/deleted/", params={"start": iso(start), "end": iso(world_now(api))})
    assert_error(r, 400, "INVALID_REPLICATION_DATE")
    r = api.get("/sobjects/Opportunity/updated/", params={"start": iso(start), "end": iso(world_now(api))})
    assert r.status_code == 200
    # 31 days after the start the 30-day updated window refuses it too
    api.admin_post("/clock", {"advance_seconds": 15 * 86400})
    api.reauth()
    r = api.get("/sobjects/Opportunity/updated/", params={"start": iso(start), "end": iso(world_now(api))})
    assert_error(r, 400, "INVALID_REPLICATION_DATE")


def test_updated_lists_changed_ids_only(api):
    opps = api.query("SELECT Id FROM Opportunity ORDER BY Name LIMIT 2")["records"]
    api.admin_post("/clock", {"advance_seconds": 300})
    start = world_now(api).replace(second=0, microsecond=0)
    api.admin_post("/clock", {"advance_seconds": 60})
    api.send("PATCH", f"/sobjects/Opportunity/{opps[1]['Id']}", {"Amount": 1234})
    api.admin_post("/clock", {"advance_seconds": 60})
    r = api.get("/sobjects/Opportunity/updated/", params={"start": iso(start), "end": iso(world_now(api))})
    assert r.json()["ids"] == [opps[1]["Id"]]


# ---- recycle bin, modstamps -----------------------------------------------------------------------
def test_recycle_bin_cascade_and_restore_via_admin(sandbox, api):
    opp = api.query(
        "SELECT Id, (SELECT Id FROM OpportunityContactRoles) FROM Opportunity "
        "WHERE AccountId != null ORDER BY Name LIMIT 1"
    )["records"][0]
    roles = [r["Id"] for r in opp["OpportunityContactRoles"]["records"]]
    assert roles
    assert api.send("DELETE", f"/sobjects/Opportunity/{opp['Id']}").status_code == 204
    assert_error(api.send("DELETE", f"/sobjects/Opportunity/{opp['Id']}"), 404, "ENTITY_IS_DELETED")
    rows = api.get(
        "/queryAll",
        params={"q": f"SELECT Id, IsDeleted FROM OpportunityContactRole WHERE OpportunityId = '{opp['Id']}'"},
    ).json()["records"]
    assert sorted((r["Id"], r["IsDeleted"]) for r in rows) == sorted((rid, True) for rid in roles)
    assert (
        api.query(f"SELECT COUNT() FROM OpportunityContactRole WHERE OpportunityId = '{opp['Id']}'")["totalSize"] == 0
    )

    binned = requests.get(api.admin + "/records/Opportunity", params={"deleted": "only"}, timeout=10).json()
    assert [r["Id"] for r in binned["records"]] == [opp["Id"]]
    r = api.admin_post(f"/records/Opportunity/{opp['Id']}/restore")
    assert r.status_code == 200 and r.json()["IsDeleted"] is False
    assert api.get(f"/sobjects/Opportunity/{opp['Id']}").status_code == 200
    assert api.query(f"SELECT COUNT() FROM OpportunityContactRole WHERE OpportunityId = '{opp['Id']}'")[
        "totalSize"
    ] == len(roles)
    # restored: no longer in the deleted list
    now = world_now(api)
    r = api.get(
        "/sobjects/Opportunity/deleted/",
        params={"start": iso(now - timedelta(hours=1)), "end": iso(now + timedelta(hours=1))},
    )
    assert r.json()["deletedRecords"] == []


def test_system_modstamp_and_last_modified_move_on_every_write(sandbox, api):
    opp = new_opportunity(api)
    stamps = []

    def read() -> tuple[str, str]:
        row = requests.get(api.admin + f"/records/Opportunity/{opp}", timeout=10).json()
        return row["SystemModstamp"], row["LastModifiedDate"]

    stamps.append(read())
    for _ in range(3):
        assert api.send("PATCH", f"/sobjects/Opportunity/{opp}", {"Description": "x"}).status_code == 204
        stamps.append(read())
    api.send("DELETE", f"/sobjects/Opportunity/{opp}")
    stamps.append(read())
    api.admin_post(f"/records/Opportunity/{opp}/restore")
    stamps.append(read())
    modstamps = [s[0] for s in stamps]
    assert modstamps == sorted(modstamps) and len(set(modstamps)) == len(modstamps)
    assert all(s[0] == s[1] for s in stamps)


# ---- sObject Collections ------------------------------------------------------------------------------
def test_collections_limit_and_all_or_none_rollback(sandbox, api):
    opps = api.query("SELECT Id, Amount FROM Opportunity ORDER BY Name LIMIT 3")["records"]
    too_many = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Opportunity"}, "id": opps[0]["Id"], "Amount": 1}] * 201,
    }
    assert_error(api.send("PATCH", "/composite/sobjects", too_many), 400, "EXCEEDED_ID_LIMIT")

    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Opportunity"}, "id": opps[0]["Id"], "Amount": 111},
            {"attributes": {"type": "Opportunity"}, "id": opps[1]["Id"], "StageName": "No Such Stage"},
            {"attributes": {"type": "Opportunity"}, "id": opps[2]["Id"], "Amount": 333},
        ],
    }
    r = api.send("PATCH", "/composite/sobjects", body)
    assert r.status_code == 200
    results = r.json()
    assert [x["success"] for x in results] == [False, False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert results[2]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    after = {
        o["Id"]: o["Amount"] for o in api.query("SELECT Id, Amount FROM Opportunity ORDER BY Name LIMIT 3")["records"]
    }
    assert after == {o["Id"]: o["Amount"] for o in opps}

    body["allOrNone"] = False
    results = api.send("PATCH", "/composite/sobjects", body).json()
    assert [x["success"] for x in results] == [True, False, True]
    assert [x.get("id") for x in results] == [opps[0]["Id"], None, opps[2]["Id"]]
    assert api.get(f"/sobjects/Opportunity/{opps[2]['Id']}").json()["Amount"] == 333.0


def test_collections_create_and_delete(api):
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Acme Widgets"},
            {"attributes": {"type": "Account"}, "Name": "x" * 256},
            {"attributes": {"type": "Contact"}, "LastName": "Ng", "FirstName": "Lee"},
        ],
    }
    results = api.send("POST", "/composite/sobjects", body).json()
    assert [x["success"] for x in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert api.get(f"/sobjects/Contact/{results[2]['id']}").json()["Name"] == "Lee Ng"
    r = api.send(
        "DELETE",
        "/composite/sobjects",
        params={"ids": f"{results[0]['id']},{results[2]['id']},001bad", "allOrNone": "false"},
    )
    out = r.json()
    assert [x["success"] for x in out] == [True, True, False]
    assert out[2]["errors"][0]["statusCode"] == "MALFORMED_ID"


def test_collections_retrieve_limits_and_arguments(api):
    """2,000 ids in a POST body; a GET URL holds about 800; the object name is part of the URL."""
    opp = one_opportunity(api)["Id"]
    fields = ["Name"]
    ok = api.send("POST", "/composite/sobjects/Opportunity", {"ids": [opp] * 2000, "fields": fields})
    assert ok.status_code == 200 and len(ok.json()) == 2000
    assert_error(
        api.send("POST", "/composite/sobjects/Opportunity", {"ids": [opp] * 2001, "fields": fields}),
        400,
        "EXCEEDED_ID_LIMIT",
    )
    r = api.get("/composite/sobjects/Opportunity", params={"ids": ",".join([opp] * 801), "fields": "Name"})
    assert r.status_code == 414
    assert_error(api.send("POST", "/composite/sobjects/Opportunity", {"ids": [opp]}), 400, "MISSING_ARGUMENT")
    assert_error(
        api.send("POST", "/composite/sobjects/Opportunity", {"ids": opp, "fields": fields}), 400, "JSON_PARSER_ERROR"
    )
    untyped = api.get("/composite/sobjects", params={"ids": opp, "fields": "Name"})
    assert untyped.status_code == 405


# ---- validation ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fields, code, field",
    [
        ({"Name": "N" * 300}, "STRING_TOO_LONG", "Name"),
        ({"StageName": "Won Big"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "StageName"),
        ({"Amount": "a lot"}, "INVALID_TYPE_ON_FIELD_IN_RECORD", "Amount"),
        ({"CloseDate": "31/12/2027"}, "INVALID_TYPE_ON_FIELD_IN_RECORD", "CloseDate"),
        ({"IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", "IsWon"),
        ({"Bogus__c": 1}, "INVALID_FIELD", "Bogus__c"),
        ({"AccountId": "nonsense"}, "MALFORMED_ID", "AccountId"),
        ({"AccountId": MISSING_ACCOUNT}, "INVALID_CROSS_REFERENCE_KEY", "AccountId"),
        ({"Name": None}, "REQUIRED_FIELD_MISSING", "Name"),
    ],
)
def test_validation_errors_on_update_and_create(api, fields, code, field):
    opp = one_opportunity(api)
    before = api.get(f"/sobjects/Opportunity/{opp['Id']}").json()
    err = assert_error(api.send("PATCH", f"/sobjects/Opportunity/{opp['Id']}", fields), 400, code)
    assert err["fields"] == [field]
    assert api.get(f"/sobjects/Opportunity/{opp['Id']}").json() == before
    create = {"Name": "New", "StageName": "Prospecting", "CloseDate": "2027-01-01", **fields}
    err = assert_error(api.send("POST", "/sobjects/Opportunity", create), 400, code)
    assert err["fields"] == [field]


def test_string_too_long_message(api):
    err = assert_error(
        api.send(
            "POST", "/sobjects/Opportunity", {"Name": "N" * 300, "StageName": "Prospecting", "CloseDate": "2027-01-01"}
        ),
        400,
        "STRING_TOO_LONG",
    )
    assert err["message"].endswith("(max length=120)")


def test_get_with_fields_parameter(api):
    opp = one_opportunity(api)
    row = api.get(f"/sobjects/Opportunity/{opp['Id']}", params={"fields": "Name,StageName"}).json()
    assert set(row) == {"attributes", "Name", "StageName"}
    assert row["attributes"]["url"] == f"/services/data/v67.0/sobjects/Opportunity/{opp['Id']}"
    assert_error(api.get(f"/sobjects/Opportunity/{opp['Id']}", params={"fields": "Name,Nope"}), 400, "INVALID_FIELD")


def test_stage_rename_and_deactivation(sandbox, api):
    r = requests.post(api.admin + "/stages/Proposal/Price Quote", json={"label": "Proposal Sent"}, timeout=10)
    assert r.status_code == 200 and r.json()["MasterLabel"] == "Proposal Sent"
    rows = api.query(
        "SELECT ApiName, MasterLabel, IsActive FROM OpportunityStage WHERE ApiName = 'Proposal/Price Quote'"
    )["records"]
    assert (rows[0]["MasterLabel"], rows[0]["IsActive"]) == ("Proposal Sent", True)
    fields = api.get("/sobjects/Opportunity/describe").json()["fields"]
    picklist = {p["value"]: p for f in fields if f["name"] == "StageName" for p in f["picklistValues"]}
    assert picklist["Proposal/Price Quote"]["label"] == "Proposal Sent"

    requests.post(api.admin + "/stages/Negotiation%2FReview", json={"active": False}, timeout=10).raise_for_status()
    opp = one_opportunity(api)
    assert_error(
        api.send("PATCH", f"/sobjects/Opportunity/{opp['Id']}", {"StageName": "Negotiation/Review"}),
        400,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    )
    assert api.query("SELECT COUNT() FROM OpportunityStage WHERE IsActive = false")["totalSize"] == 1
    requests.post(api.admin + "/stages/Negotiation%2FReview", json={"active": True}, timeout=10).raise_for_status()
    assert (
        api.send("PATCH", f"/sobjects/Opportunity/{opp['Id']}", {"StageName": "Negotiation/Review"}).status_code == 204
    )
    assert requests.post(api.admin + "/stages/Nope", json={"active": True}, timeout=10).status_code == 404


# ---- faults and the request log ------------------------------------------------------------------------------
def add_fault(api: Api, fault: dict) -> None:
    r = requests.post(api.admin + "/faults", json=fault, timeout=10)
    assert r.status_code == 201, r.text


def test_fault_status_with_retry_after(api):
    add_fault(api, {"kind": "status", "status": 503, "retry_after": 7, "path": "/query", "count": 1})
    r = api.get("/query", params={"q": "SELECT Id FROM Account"})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "7"
    assert "Sforce-Limit-Info" in r.headers
    assert api.get("/query", params={"q": "SELECT Id FROM Account"}).status_code == 200


def test_fault_latency(api):
    add_fault(api, {"kind": "latency", "seconds": 0.3, "path": "/limits"})
    started = time.monotonic()
    r = api.get("/limits")
    assert r.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_hold_waits_until_released_then_does_the_work(api):
    """A handshake for tests across processes: the request waits, the test sees it waiting,
    and DELETE /faults lets it go on."""
    add_fault(api, {"kind": "hold", "path": "/limits", "count": 1})
    answers: list[int] = []
    caller = threading.Thread(target=lambda: answers.append(api.get("/limits").status_code))
    caller.start()
    deadline = time.monotonic() + 10
    while requests.get(api.admin + "/faults/held", timeout=10).json()["held"] != 1:
        assert time.monotonic() < deadline, "the request never reached the hold"
        time.sleep(0.01)
    assert answers == []  # still waiting
    requests.delete(api.admin + "/faults", timeout=10).raise_for_status()
    caller.join(10)
    assert answers == [200]
    assert requests.get(api.admin + "/faults/held", timeout=10).json()["held"] == 0


def test_fault_hold_gives_up_after_its_seconds(api):
    add_fault(api, {"kind": "hold", "seconds": 0.2, "path": "/limits", "count": 1})
    assert api.get("/limits").status_code == 200


def test_fault_drop_after_the_work_is_done(sandbox, api):
    opp = one_opportunity(api)
    add_fault(api, {"kind": "drop", "method": "PATCH", "path": "/sobjects/Opportunity/"})
    with pytest.raises(requests.exceptions.ConnectionError):
        api.send("PATCH", f"/sobjects/Opportunity/{opp['Id']}", {"NextStep": "Dropped but done"})
    assert api.get(f"/sobjects/Opportunity/{opp['Id']}").json()["NextStep"] == "Dropped but done"


def test_fault_html_error_page(api):
    add_fault(api, {"kind": "html", "status": 500, "path": "/sobjects"})
    r = api.get("/sobjects")
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html" in r.text
    assert api.get("/sobjects").status_code == 200


def test_request_log_counts_and_resets(sandbox, api):
    requests.delete(api.admin + "/log", timeout=10)
    api.get("/limits")
    api.get("/query", params={"q": "SELECT Id FROM Account"})
    api.get("/sobjects/Nope/describe")
    requests.get(api.admin + "/settings", timeout=10)  # admin calls are not logged
    log = requests.get(api.admin + "/log", timeout=10).json()
    assert log["count"] == 3
    assert [(e["method"], e["path"], e["status"]) for e in log["entries"]] == [
        ("GET", f"{V}/limits", 200),
        ("GET", f"{V}/query", 200),
        ("GET", f"{V}/sobjects/Nope/describe", 404),
    ]
    assert "q=SELECT" in log["entries"][1]["query"]
    requests.delete(api.admin + "/log", timeout=10)
    assert requests.get(api.admin + "/log", timeout=10).json()["count"] == 0


def test_query_locator_expires_after_15_minutes(sandbox, api):
    headers = {"Sforce-Query-Options": "batchSize=200"}
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        for i in range(200):
            data.insert("Account", {"Name": f"Bulk {i}"})
    first = api.get("/query", params={"q": "SELECT Id FROM Account"}, headers=headers).json()
    assert first["done"] is False
    api.admin_post("/clock", {"advance_seconds": 16 * 60})
    api.reauth()
    r = requests.get(sandbox.salesforce_url + first["nextRecordsUrl"], headers=api.headers, timeout=10)
    assert_error(r, 400, "INVALID_QUERY_LOCATOR")
