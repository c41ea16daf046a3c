"""SalesforceClient (connectors/salesforce/) against the Salesforce emulator: paging, token expiry
in the middle of a query, every failure the policy and the client must turn into a typed error,
metadata caching, collections, getUpdated/getDeleted windows and API usage."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bigsync_gui.connectors.errors import (
    ApiLimitReached,
    InsecureUrl,
    Offline,
    PermissionDenied,
    ReconnectNeeded,
    RequestRejected,
    ServiceUnavailable,
    UnexpectedResponse,
    WindowExceeded,
)
from bigsync_gui.connectors import oauth
from bigsync_gui.connectors.http import HttpPolicy, RequestCounter, RetryPolicy
from bigsync_gui.connectors.salesforce import (
    API_VERSION,
    SalesforceClient,
    StaticToken,
    UserPermissions,
)
from bigsync_gui.connectors.soql import format_soql
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import submit

DATA = f"/services/data/{API_VERSION}"
STAGE_ORDER = [
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


# ---- sandbox helpers ---------------------------------------------------------------------------------------
def admin(sandbox, method: str, path: str, body=None) -> requests.Response:
    r = requests.request(method, sandbox.salesforce_admin_url + path, json=body, timeout=10)
    assert r.status_code < 300, r.text
    return r


def api_log(sandbox) -> list[dict]:
    """The REST requests (under /services/data) the emulator answered, oldest first."""
    entries = admin(sandbox, "GET", "/log").json()["entries"]
    return [e for e in entries if e["path"].startswith("/services/data")]


def add_fault(sandbox, **fault) -> None:
    admin(sandbox, "POST", "/faults", fault)


def server_now(sandbox) -> datetime:
    return datetime.fromisoformat(admin(sandbox, "GET", "/clock").json()["now"]).astimezone(timezone.utc)


def password_grant(sandbox) -> dict:
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
    return r.json()


def code_flow(sandbox) -> dict:
    """The web server flow with PKCE, driven like a browser: the token response (with a refresh token)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect = cred.SF_REDIRECT_URIS[0]
    browser = requests.Session()
    login = browser.get(
        sandbox.salesforce_url + "/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": cred.SF_CONSUMER_KEY,
            "redirect_uri": redirect,
            "state": "s1",
            "scope": "api refresh_token",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        timeout=10,
    )
    assert login.status_code == 200, login.text
    consent = submit(browser, login, {"username": cred.SF_USERNAME, "pw": cred.SF_PASSWORD}, "Login")
    assert consent.status_code == 200 and "Allow Access?" in consent.text
    back = submit(browser, consent, {}, "oaapprove")
    assert back.status_code == 302
    query = parse_qs(urlsplit(back.headers["Location"]).query)
    assert query["state"] == ["s1"]
    r = requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "client_id": cred.SF_CONSUMER_KEY,
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["refresh_token"]
    return token


class RefreshGrantSource:
    """Test double of connectors.oauth.TokenRefresher: a real refresh-token grant on refresh()."""

    def __init__(self, sandbox, token: dict) -> None:
        self.token_url = sandbox.salesforce_url + "/services/oauth2/token"
        self.refresh_token = token["refresh_token"]
        self.raw = dict(token)
        self.refresh_calls = 0

    def access_token(self) -> str:
        return self.raw["access_token"]

    def current(self):
        return SimpleNamespace(access_token=self.raw["access_token"], raw=self.raw)

    def refresh(self, stale_access_token=None):
        self.refresh_calls += 1
        r = requests.post(
            self.token_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": cred.SF_CONSUMER_KEY,
            },
            timeout=10,
        )
        if r.status_code == 400 and r.json().get("error") == "invalid_grant":
            raise ReconnectNeeded("salesforce", "the saved sign-in was revoked")
        assert r.status_code == 200, r.text
        self.raw = {**self.raw, **r.json()}
        return self.current()


def fast_http() -> HttpPolicy:
    return HttpPolicy(
        "salesforce", counter=RequestCounter(), policy=RetryPolicy(initial_wait=0.01, max_wait=0.05, jitter=0.0)
    )


@pytest.fixture
def http() -> HttpPolicy:
    return fast_http()


@pytest.fixture
def grant(sandbox) -> dict:
    return password_grant(sandbox)


@pytest.fixture
def client(sandbox, http, grant) -> SalesforceClient:
    requests.delete(sandbox.salesforce_admin_url + "/log", timeout=10)
    return SalesforceClient(grant["instance_url"], StaticToken(grant["access_token"], grant), http)


@pytest.fixture
def refreshing(sandbox) -> RefreshGrantSource:
    return RefreshGrantSource(sandbox, code_flow(sandbox))


def insert_accounts(sandbox, n: int, prefix: str = "Bulk") -> list[str]:
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        return [data.insert("Account", {"Name": f"{prefix} {i:05d}"}, system=True) for i in range(n)]


BULK_SOQL = "SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk %' ORDER BY Name"


# ---- queries ----------------------------------------------------------------------------------------------
def test_query_follows_pages_over_2000_rows(sandbox, client):
    ids = insert_accounts(sandbox, 2345)
    admin(sandbox, "DELETE", "/log")
    rows = list(client.query(BULK_SOQL))
    assert [r["Name"] for r in rows] == [f"Bulk {i:05d}" for i in range(2345)]
    assert [r["Id"] for r in rows] == ids
    assert rows[0]["attributes"]["type"] == "Account"
    paths = [e["path"] for e in api_log(sandbox)]
    assert paths[0] == f"{DATA}/query" and len(paths) == 2 and paths[1].startswith(f"{DATA}/query/01g")

    admin(sandbox, "DELETE", "/log")
    assert sum(1 for _ in client.query(BULK_SOQL, batch_size=500)) == 2345
    assert len(api_log(sandbox)) == 5  # 500 + 500 + 500 + 500 + 345
    assert client.count("SELECT COUNT() FROM Account WHERE Name LIKE 'Bulk %'") == 2345
    with pytest.raises(ValueError):
        client.query(BULK_SOQL, batch_size=100)


def test_query_all_includes_deleted_rows(sandbox, client):
    ids = insert_accounts(sandbox, 3)
    admin(sandbox, "DELETE", f"/records/Account/{ids[1]}")
    live = [r["Id"] for r in client.query(BULK_SOQL)]
    assert live == [ids[0], ids[2]]
    everything = {
        r["Id"]: r["IsDeleted"] for r in client.query_all("SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Bulk %'")
    }
    assert everything == {ids[0]: False, ids[1]: True, ids[2]: False}


def test_format_soql_value_reaches_the_server_intact(sandbox, client):
    name = 'O\'Brien \\ Sons "Ltd" 🚀 עברית\n2'
    created = client.create("Account", {"Name": name})
    rows = list(client.query(format_soql("SELECT Id, Name FROM Account WHERE Name = {}", name)))
    assert rows == [{"attributes": rows[0]["attributes"], "Id": created, "Name": name}]
    assert list(client.query(format_soql("SELECT Id FROM Account WHERE Name = {}", "x' OR Name != '"))) == []


# ---- the session ------------------------------------------------------------------------------------------
def test_access_token_expires_mid_pagination_refresh_is_transparent(sandbox, http, refreshing):
    ids = insert_accounts(sandbox, 2100)
    client = SalesforceClient(refreshing.raw["instance_url"], refreshing, http)
    admin(sandbox, "DELETE", "/log")
    first_token = refreshing.access_token()
    seen = []
    for i, row in enumerate(client.query(BULK_SOQL)):
        seen.append(row["Id"])
        if i == 1999:  # page 1 consumed; page 2 not asked for yet
            assert admin(sandbox, "POST", "/tokens/expire", {}).json()["expired"] >= 1
    assert seen == ids
    assert refreshing.refresh_calls == 1 and refreshing.access_token() != first_token
    log = api_log(sandbox)
    assert [e["status"] for e in log] == [200, 401, 200]
    assert log[1]["path"] == log[2]["path"] and log[1]["path"].startswith(f"{DATA}/query/01g")


def test_real_token_refresher_works_with_the_client(sandbox, http):
    token = code_flow(sandbox)
    endpoints = oauth.salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY)
    rotated: list[str] = []
    tokens = oauth.TokenRefresher(
        endpoints,
        http,
        token["refresh_token"],
        rotated.append,
        tokens=oauth.TokenSet(token["access_token"], token["refresh_token"], None, token),
    )
    ids = insert_accounts(sandbox, 2050)
    client = SalesforceClient(token["instance_url"], tokens, http)
    seen = []
    for i, row in enumerate(client.query(BULK_SOQL)):
        seen.append(row["Id"])
        if i == 0:
            admin(sandbox, "POST", "/tokens/expire", {})
    assert seen == ids
    assert tokens.current().access_token != token["access_token"]


def test_expired_session_without_refresh_token_is_reconnect_needed(sandbox, client, grant):
    admin(sandbox, "POST", "/tokens/expire", {})
    with pytest.raises(ReconnectNeeded) as info:
        client.count("SELECT COUNT() FROM Opportunity")
    assert "no refresh token" in str(info.value) and grant["access_token"] not in str(info.value)
    assert [e["status"] for e in api_log(sandbox)] == [401]


def test_revoked_refresh_token_is_reconnect_needed(sandbox, http, refreshing):
    client = SalesforceClient(refreshing.raw["instance_url"], refreshing, http)
    assert client.count("SELECT COUNT() FROM Opportunity") == 41
    admin(sandbox, "POST", "/tokens/revoke", {})
    admin(sandbox, "DELETE", "/log")
    with pytest.raises(ReconnectNeeded):
        client.count("SELECT COUNT() FROM Opportunity")
    assert refreshing.refresh_calls == 1
    assert [e["status"] for e in api_log(sandbox)] == [401]


def test_second_401_after_refresh_is_reconnect_needed_not_a_loop(sandbox, http, grant):
    class Useless:
        calls = 0

        def access_token(self):
            return grant["access_token"]

        def refresh(self, stale=None):
            Useless.calls += 1
            return SimpleNamespace(access_token="00DKx000000ACME!ARnot-a-real-session", raw={})

    client = SalesforceClient(grant["instance_url"], Useless(), http)
    admin(sandbox, "POST", "/tokens/expire", {})
    admin(sandbox, "DELETE", "/log")
    with pytest.raises(ReconnectNeeded) as info:
        client.count("SELECT COUNT() FROM Opportunity")
    assert "not-a-real-session" not in str(info.value)
    assert Useless.calls == 1 and [e["status"] for e in api_log(sandbox)] == [401, 401]


def test_session_not_valid_for_rest_api_is_not_refreshed(sandbox, http, refreshing):
    client = SalesforceClient(refreshing.raw["instance_url"], refreshing, http)
    add_fault(
        sandbox,
        kind="status",
        status=401,
        path="/query",
        count=3,
        body=[{"message": "This session is not valid for use with the REST API", "errorCode": "INVALID_SESSION_ID"}],
    )
    with pytest.raises(ReconnectNeeded, match="REST API"):
        client.count("SELECT COUNT() FROM Opportunity")
    assert refreshing.refresh_calls == 0
    assert len(api_log(sandbox)) == 1


def test_identity_refreshes_on_bad_oauth_token(sandbox, http, refreshing):
    client = SalesforceClient(refreshing.raw["instance_url"], refreshing, http)
    admin(sandbox, "POST", "/tokens/expire", {})
    me = client.identity()
    assert refreshing.refresh_calls == 1
    assert me.username == cred.SF_USERNAME and me.org_id == "00DKx000000ACMEMA4"
    assert me.user_id == refreshing.raw["id"].rsplit("/", 1)[1]


# ---- transient failures and odd answers --------------------------------------------------------------------
def test_503_with_retry_after_is_waited_and_counted(sandbox, client, http):
    add_fault(sandbox, kind="status", status=503, retry_after=1, path="/query", count=1)
    started = time.monotonic()
    assert client.count("SELECT COUNT() FROM Opportunity") == 41
    assert time.monotonic() - started >= 0.95
    assert http.counter.snapshot() == {"salesforce": {"503": 1, "200": 1}}
    assert [e["status"] for e in api_log(sandbox)] == [503, 200]


def test_html_500_pages_give_service_unavailable_after_retries(sandbox, client, http):
    add_fault(sandbox, kind="html", status=500, path="/query", count=10)
    with pytest.raises(ServiceUnavailable) as info:
        client.count("SELECT COUNT() FROM Opportunity")
    assert info.value.status == 500
    assert [e["status"] for e in api_log(sandbox)] == [500] * http.policy.attempts
    assert http.counter.snapshot() == {"salesforce": {"500": 4}}


def test_malformed_json_200_is_unexpected_response(sandbox, client):
    add_fault(sandbox, kind="status", status=200, body='{"totalSize": 41, "done": tru', path="/query")
    with pytest.raises(UnexpectedResponse, match="not JSON"):
        client.count("SELECT COUNT() FROM Opportunity")
    assert len(api_log(sandbox)) == 1


def test_html_200_and_wrong_shapes_are_unexpected_response(sandbox, client):
    add_fault(sandbox, kind="html", status=200, path="/query")
    with pytest.raises(UnexpectedResponse, match="web page"):
        client.count("SELECT COUNT() FROM Opportunity")
    add_fault(sandbox, kind="status", status=200, body={"totalSize": 3, "done": True}, path="/query")
    with pytest.raises(UnexpectedResponse, match="records"):
        list(client.query("SELECT Id FROM Opportunity"))


def test_dropped_patch_is_offline_but_was_applied(sandbox, client):
    opp = next(client.query("SELECT Id FROM Opportunity WHERE StageName = 'Prospecting' ORDER BY Name LIMIT 1"))
    add_fault(sandbox, kind="drop", method="PATCH", path="/sobjects/Opportunity/", count=None)
    with pytest.raises(Offline):
        client.update("Opportunity", opp["Id"], {"NextStep": "Call back on Monday"})
    admin(sandbox, "DELETE", "/faults")
    patches = [e for e in api_log(sandbox) if e["method"] == "PATCH"]
    assert len(patches) == 4  # idempotent: the policy retried, every answer was lost
    assert sandbox.world.salesforce.get("Opportunity", opp["Id"])["NextStep"] == "Call back on Monday"


def test_one_dropped_patch_is_retried_transparently(sandbox, client):
    opp = next(client.query("SELECT Id FROM Opportunity WHERE StageName = 'Qualification' ORDER BY Name LIMIT 1"))
    add_fault(sandbox, kind="drop", method="PATCH", path="/sobjects/Opportunity/", count=1)
    client.update("Opportunity", opp["Id"], {"BigTime_Hours_Logged__c": 12.5})
    assert len([e for e in api_log(sandbox) if e["method"] == "PATCH"]) == 2
    assert client.get("Opportunity", opp["Id"], ["BigTime_Hours_Logged__c"])["BigTime_Hours_Logged__c"] == 12.5


def test_dropped_create_is_offline_without_retry(sandbox, client):
    add_fault(sandbox, kind="drop", method="POST", path="/sobjects/Account/", count=5)
    with pytest.raises(Offline):
        client.create("Account", {"Name": "Lost Reply Inc"})
    posts = [e for e in api_log(sandbox) if e["method"] == "POST"]
    assert len(posts) == 1
    made = [r for r in sandbox.world.salesforce.all_records("Account") if r["Name"] == "Lost Reply Inc"]
    assert len(made) == 1  # it happened once; the engine finds it by lookup, not by sending it again


def test_daily_limit_spent_is_api_limit_reached_without_retry(sandbox, client, http):
    admin(sandbox, "POST", "/settings", {"daily_api_limit": 200, "api_usage": 200})
    with pytest.raises(ApiLimitReached, match="allowance"):
        list(client.query("SELECT Id FROM Opportunity"))
    assert [e["status"] for e in api_log(sandbox)] == [403]
    assert http.counter.total("salesforce") == 1


def test_error_shapes_become_typed_errors(sandbox, client, grant):
    with pytest.raises(RequestRejected) as info:
        client.get("Opportunity", "006Kx00000ZZZZZZZZ")
    assert info.value.status in (400, 404) and info.value.code in ("NOT_FOUND", "MALFORMED_ID")
    with pytest.raises(RequestRejected) as info:
        list(client.query("SELECT Nope__c FROM Opportunity"))
    assert info.value.status == 400 and info.value.code == "INVALID_FIELD"
    with pytest.raises(RequestRejected) as info:
        client.create("Opportunity", {"Name": "No stage"})
    assert info.value.code == "REQUIRED_FIELD_MISSING" and "StageName" in info.value.fields

    add_fault(
        sandbox,
        kind="status",
        status=403,
        path="/query",
        body=[{"message": "insufficient access rights on object id", "errorCode": "INSUFFICIENT_ACCESS_OR_READONLY"}],
    )
    with pytest.raises(PermissionDenied) as info:
        client.count("SELECT COUNT() FROM Opportunity")
    assert info.value.code == "INSUFFICIENT_ACCESS_OR_READONLY" and "insufficient access" in str(info.value)

    add_fault(sandbox, kind="status", status=400, path="/query", body={"message": "odd object", "errorCode": "ODD"})
    with pytest.raises(RequestRejected) as info:
        client.count("SELECT COUNT() FROM Opportunity")
    assert (info.value.code, info.value.message) == ("ODD", "odd object")

    add_fault(sandbox, kind="status", status=400, path="/query", body="plain text trouble")
    with pytest.raises(RequestRejected, match="plain text trouble"):
        client.count("SELECT COUNT() FROM Opportunity")

    add_fault(sandbox, kind="html", status=404, path="/query")
    with pytest.raises(UnexpectedResponse, match="web page"):
        client.count("SELECT COUNT() FROM Opportunity")

    token = grant["access_token"]
    add_fault(
        sandbox,
        kind="status",
        status=400,
        path="/query",
        body=[{"message": f"bad session {token} in Authorization: Bearer {token}", "errorCode": "X"}],
    )
    with pytest.raises(RequestRejected) as info:
        client.count("SELECT COUNT() FROM Opportunity")
    assert token not in str(info.value) and "[hidden]" in str(info.value)


# ---- metadata ---------------------------------------------------------------------------------------------
def test_stages_in_order_with_flags_and_a_deactivated_one(sandbox, client):
    admin(sandbox, "POST", "/stages/Negotiation%2FReview", {"active": False})
    admin(sandbox, "POST", "/stages/Closed%20Won", {"label": "Won – signed"})
    stages = client.stages()
    assert [s.api_name for s in stages] == STAGE_ORDER
    assert [s.sort_order for s in stages] == list(range(1, 11))
    by = {s.api_name: s for s in stages}
    assert not by["Negotiation/Review"].is_active and all(
        s.is_active for s in stages if s.api_name != "Negotiation/Review"
    )
    won, lost = by["Closed Won"], by["Closed Lost"]
    assert (won.label, won.is_closed, won.is_won, won.is_closed_lost, won.probability) == (
        "Won – signed",
        True,
        True,
        False,
        100.0,
    )
    assert (lost.is_closed, lost.is_won, lost.is_closed_lost, lost.probability) == (True, False, True, 0.0)
    assert [s.api_name for s in stages if s.is_closed_lost] == ["Closed Lost"]
    assert by["Value Proposition"].probability == 50.0 and not by["Value Proposition"].is_closed
    with pytest.raises(AttributeError):
        won.label = "x"  # frozen


def test_describe_is_cached_until_new_cycle(sandbox, client):
    first = client.describe("Opportunity")
    assert client.describe("Opportunity") is first and client.describe("opportunity") is first
    fields = client.fields("Opportunity")
    describes = [e for e in api_log(sandbox) if e["path"].endswith("/describe")]
    assert len(describes) == 1
    hours = fields["BigTime_Hours_Logged__c"]
    assert (hours.type, hours.custom, hours.updateable, hours.createable) == ("double", True, True, True)
    assert fields["Name"].length == 120 and not fields["IsWon"].updateable and not fields["Name"].custom
    assert "Nope__c" not in fields
    client.new_cycle()
    client.describe("Opportunity")
    assert len([e for e in api_log(sandbox) if e["path"].endswith("/describe")]) == 2
    with pytest.raises(RequestRejected) as info:
        client.describe("NoSuchObject__c")
    assert info.value.status == 404


def test_limits_versions_and_api_usage(sandbox, client):
    assert client.api_usage is None
    admin(sandbox, "POST", "/settings", {"api_usage": 1234})
    limits = client.limits()
    assert limits["DailyApiRequests"]["Max"] == 15000 and limits["DailyApiRequests"]["Remaining"] == 15000 - 1235
    assert client.api_usage == (1235, 15000)
    client.count("SELECT COUNT() FROM Account")
    assert client.api_usage == (1236, 15000)
    versions = client.versions()
    assert versions[-1]["version"] == "67.0" and versions[-1]["url"] == DATA
    assert client.api_usage == (1236, 15000)  # the version list is free and unauthenticated


def test_identity_org_name_and_permissions(sandbox, client, grant, http):
    me = client.identity()
    assert me.username == cred.SF_USERNAME and me.org_id == "00DKx000000ACMEMA4"
    assert me.user_id == grant["id"].rsplit("/", 1)[1] and me.email and me.display_name
    assert api_log(sandbox) == []  # the identity URL is not a REST API call
    # without the token response: userinfo
    bare = SalesforceClient(grant["instance_url"], StaticToken(grant["access_token"]), http)
    assert bare.identity() == me
    assert client.org_name() == cred.SF_ORG_NAME  # SELECT Name FROM Organization
    assert client.org_name() == cred.SF_ORG_NAME
    assert len([e for e in api_log(sandbox) if "Organization" in e["query"]]) == 1  # cached
    # the demo admin's profile (a permission set owned by the profile) is a System Administrator's
    assert client.user_permissions() == UserPermissions(modify_all_data=True, view_setup=True, api_enabled=True)
    add_fault(
        sandbox,
        kind="status",
        status=400,
        path="/query",
        body=[{"message": "sObject type 'PermissionSetAssignment' is not supported.", "errorCode": "INVALID_TYPE"}],
    )
    assert client.user_permissions() is None  # unknown is not "False"


# ---- records ----------------------------------------------------------------------------------------------
def test_get_create_update(sandbox, client):
    new_id = client.create("Account", {"Name": "Hooli", "BillingCity": "Palo Alto"})
    assert new_id.startswith("001") and len(new_id) == 18
    assert [e["method"] for e in api_log(sandbox)] == ["POST"]
    client.update("Account", new_id, {"BillingCity": "Mountain View"})
    row = client.get("Account", new_id, ["Name", "BillingCity"])
    assert (row["Name"], row["BillingCity"]) == ("Hooli", "Mountain View")
    with pytest.raises(ValueError):
        client.get("Account", "../limits")
    with pytest.raises(ValueError):
        client.update("Account; DROP", new_id, {})


def test_update_many_450_records_in_three_calls_with_a_failure(sandbox, client):
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        ids = [
            data.insert(
                "Opportunity",
                {"Name": f"Bulk deal {i:03d}", "StageName": "Closed Won", "CloseDate": "2026-01-15"},
                system=True,
            )
            for i in range(600)
        ]
    extra, ids = ids[450:], ids[:450]
    admin(sandbox, "DELETE", "/log")
    records = [{"Id": rid, "BigTime_Hours_Logged__c": float(i)} for i, rid in enumerate(ids)]
    records[250]["Name"] = "x" * 121  # too long: this one item fails
    results = client.update_many("Opportunity", records)
    calls = api_log(sandbox)
    assert [(e["method"], e["path"]) for e in calls] == [("PATCH", f"{DATA}/composite/sobjects")] * 3
    assert [r.id for r in results] == ids
    assert [i for i, r in enumerate(results) if not r.success] == [250]
    (err,) = results[250].errors
    assert err.code == "STRING_TOO_LONG" and err.fields == ["Name"] and "too large" in err.message
    code, message, fields = err  # a plain tuple too
    assert code == "STRING_TOO_LONG"
    assert data.get("Opportunity", ids[0])["BigTime_Hours_Logged__c"] == 0.0
    assert data.get("Opportunity", ids[449])["BigTime_Hours_Logged__c"] == 449.0
    assert data.get("Opportunity", ids[201])["BigTime_Hours_Logged__c"] == 201.0
    assert data.get("Opportunity", ids[250])["BigTime_Hours_Logged__c"] is None
    # 600 records: still 3 calls, so the chunks are full 200s (the emulator refuses more than 200)
    admin(sandbox, "DELETE", "/log")
    assert all(
        r.success for r in client.update_many("Opportunity", [{"Id": rid, "BigTime_WIP__c": 1} for rid in ids + extra])
    )
    assert len(api_log(sandbox)) == 3
    assert client.update_many("Opportunity", []) == []
    with pytest.raises(ValueError):
        client.update_many("Opportunity", [{"Name": "no id"}])


# ---- getUpdated ------------------------------------------------------------------------------
def test_updated_within_the_window(sandbox, http, grant):
    client = SalesforceClient(
        grant["instance_url"], StaticToken(grant["access_token"], grant), http, now=lambda: server_now(sandbox)
    )
    opps = list(client.query("SELECT Id FROM Opportunity WHERE StageName = 'Prospecting' ORDER BY Name"))
    changed, removed = opps[0]["Id"], opps[1]["Id"]
    start = server_now(sandbox) - timedelta(minutes=5)
    admin(sandbox, "PATCH", f"/records/Opportunity/{changed}", {"NextStep": "Send the proposal"})
    admin(sandbox, "DELETE", f"/records/Opportunity/{removed}")
    admin(sandbox, "POST", "/clock", {"advance_seconds": 120})  # changes are listed once their minute is over
    end = server_now(sandbox)
    admin(sandbox, "DELETE", "/log")

    updated = client.updated("Opportunity", start, end)
    assert changed in updated.ids and removed not in updated.ids
    assert updated.latest_date_covered == end.replace(second=0, microsecond=0)

    (call,) = api_log(sandbox)
    assert call["path"] == f"{DATA}/sobjects/Opportunity/updated/"
    query = parse_qs(call["query"])
    assert query["start"] == [start.strftime("%Y-%m-%dT%H:%M:%S+00:00")]
    assert "%2B00%3A00" in call["query"]  # the + is encoded, not turned into a space


def test_window_exceeded_is_raised_before_calling(sandbox, client):
    now = datetime.now(timezone.utc)
    with pytest.raises(WindowExceeded) as info:
        client.updated("Opportunity", now - timedelta(days=31), now)
    assert info.value.days == 30 and info.value.kind == "updated"
    assert api_log(sandbox) == []
    with pytest.raises(ValueError):
        client.updated("Opportunity", datetime(2026, 1, 1), now)  # naive
    with pytest.raises(ValueError):
        client.updated("Opportunity", now, now - timedelta(hours=1))


def test_window_exceeded_when_the_server_says_so(sandbox, http, grant):
    # This client's clock runs two days behind the org's: its own check passes, the server refuses.
    client = SalesforceClient(
        grant["instance_url"],
        StaticToken(grant["access_token"], grant),
        http,
        now=lambda: server_now(sandbox) - timedelta(days=2),
    )
    end = server_now(sandbox)
    with pytest.raises(WindowExceeded, match="INVALID_REPLICATION_DATE|days ago|window"):
        client.updated("Opportunity", end - timedelta(days=31), end)
    with pytest.raises(WindowExceeded):
        client.updated("Opportunity", end - timedelta(days=30, seconds=60), end)
    # The refusal's Date header told the client Salesforce's clock: the second window is judged by it, unsent.
    assert [e["status"] for e in api_log(sandbox)] == [400]


# ---- URL safety and instance changes ----------------------------------------------------------------------
def test_http_instance_url_off_this_machine_is_refused(sandbox, http, grant):
    with pytest.raises(InsecureUrl):
        SalesforceClient("http://acme.my.salesforce.com", StaticToken("x"), http)

    class MovesToPlainHttp:
        def access_token(self):
            return "00DKx000000ACME!ARexpired"

        def refresh(self, stale=None):
            return SimpleNamespace(access_token=grant["access_token"], raw={"instance_url": "http://evil.example.com"})

    client = SalesforceClient(grant["instance_url"], MovesToPlainHttp(), http)
    with pytest.raises(InsecureUrl):
        client.count("SELECT COUNT() FROM Opportunity")
    assert [e["status"] for e in api_log(sandbox)] == [401]  # nothing was sent to the http:// host


def test_instance_url_from_refresh_is_honoured(sandbox, http, refreshing):
    # Start on "localhost"; the refresh answers with instance_url 127.0.0.1 (same server, other name).
    port = urlsplit(sandbox.salesforce_url).port
    client = SalesforceClient(f"http://localhost:{port}", refreshing, http)
    assert client.instance_url == f"http://localhost:{port}"
    admin(sandbox, "POST", "/tokens/expire", {})
    assert client.count("SELECT COUNT() FROM Opportunity") == 41
    assert client.instance_url == sandbox.salesforce_url
