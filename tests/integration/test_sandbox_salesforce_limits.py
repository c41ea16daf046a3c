"""The written limits of Salesforce's APIs as the emulator enforces them by default, and the client
(connectors/salesforce/) against each: the size of a REST call, SOQL's lengths and OFFSET, query
cursors, OAuth approvals per user and app (docs/reference/salesforce.md, section 7)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bigsync_gui.connectors import oauth
from bigsync_gui.connectors.errors import (
    ApiLimitReached,
    ReconnectNeeded,
    RequestRejected,
    ServiceUnavailable,
    WindowExceeded,
)
from bigsync_gui.connectors.salesforce import SalesforceClient
from bigsync_gui.sandbox import credentials as cred
from bigsync_gui.connectors.soql import format_soql
from bigsync_gui.sandbox.salesforce import record_routes
from bigsync_gui.sandbox.salesforce.ids import make_id
from test_salesforce_client import DATA, admin, client, code_flow, grant, http, password_grant  # noqa: F401


def rest_get(sandbox, grant, path: str, **kw) -> requests.Response:
    headers = {"Authorization": "Bearer " + grant["access_token"], **kw.pop("headers", {})}
    return requests.get(sandbox.salesforce_url + DATA + path, headers=headers, timeout=10, **kw)


# ---- the size of a REST call: 16,384 bytes of URI and headers -------------------------------------------
def test_uri_over_16384_bytes_is_414_and_uri_plus_headers_over_it_is_431(sandbox, grant):
    soql = "SELECT Id FROM Account WHERE Name = 'x'"
    assert rest_get(sandbox, grant, "/query", params={"q": soql}).status_code == 200
    long_uri = rest_get(sandbox, grant, "/query", params={"q": soql, "pad": "p" * 16_400})
    assert long_uri.status_code == 414
    assert long_uri.json()[0]["errorCode"] == "URI_TOO_LONG"
    # a URI that fits, but not with the headers
    fat_headers = rest_get(sandbox, grant, "/query", params={"q": soql}, headers={"X-Pad": "h" * 16_300})
    assert fat_headers.status_code == 431
    assert "16384" in fat_headers.json()[0]["message"]
    # refused before any work: not counted against the daily allowance, but answered like the API
    assert "Sforce-Limit-Info" in fat_headers.headers


def test_client_gets_a_clear_rejection_for_a_query_too_long_for_a_url(sandbox, client):
    ids = [make_id("001", n) for n in range(1, 801)]
    with pytest.raises(RequestRejected) as exc:
        list(client.query(format_soql("SELECT Id FROM Account WHERE Id IN {}", ids)))
    assert exc.value.status == 414


def test_the_engines_id_chunks_fit_in_one_url(sandbox, client):
    """The engine reads linked records by id 200 at a time (core/reads.py, core/claims.py,
    core/role_changes.py): such a query, with a wide field list, stays within the limit."""
    from bigsync_gui.core import claims, reads, role_changes

    assert reads.ID_CHUNK == claims.READ_CHUNK == role_changes.CHUNK == 200
    fields = (
        "Id, Name, StageName, IsDeleted, AccountId, CloseDate, Amount, Description, SystemModstamp, "
        "LastModifiedDate, Account.Name, Account.BillingCity, Account.LastModifiedDate, "
        "(SELECT ContactId, Role, IsPrimary, Contact.FirstName, Contact.LastName, Contact.Email "
        "FROM OpportunityContactRoles), "
        "(SELECT StageName, CreatedDate FROM OpportunityHistories WHERE CreatedDate >= 2026-01-01T00:00:00Z "
        "ORDER BY CreatedDate)"
    )
    ids = [make_id("006", n) for n in range(1, 201)]
    soql = f"SELECT {fields} FROM Opportunity" + format_soql(" WHERE Id IN {} ORDER BY SystemModstamp, Id", ids)
    assert list(client.query(soql)) == []


# ---- OAuth: five approvals per user and app ---------------------------------------------------------------
def refresh(sandbox, refresh_token: str) -> requests.Response:
    return requests.post(
        sandbox.salesforce_url + "/services/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": cred.SF_CONSUMER_KEY},
        timeout=10,
    )


def test_a_sixth_approval_revokes_the_oldest_and_its_client_must_reconnect(sandbox, http):
    """Help: "each connected app allows five unique approvals per user; a sixth revokes the oldest": the
    installation holding that oldest grant learns it at its next refresh, as a reconnect."""
    grants = [code_flow(sandbox) for _ in range(5)]
    assert all(refresh(sandbox, g["refresh_token"]).status_code == 200 for g in grants)
    first = grants[0]
    endpoints = oauth.salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY)
    tokens = oauth.TokenRefresher(
        endpoints,
        http,
        first["refresh_token"],
        lambda _: None,
        tokens=oauth.TokenSet(first["access_token"], first["refresh_token"], None, first),
    )
    client = SalesforceClient(first["instance_url"], tokens, http)
    assert client.count("SELECT COUNT() FROM Opportunity") == 41

    grants.append(code_flow(sandbox))  # the sixth, e.g. a second computer connected
    dead = refresh(sandbox, first["refresh_token"])
    assert (dead.status_code, dead.json()["error"]) == (400, "invalid_grant")
    assert all(refresh(sandbox, g["refresh_token"]).status_code == 200 for g in grants[1:])
    with pytest.raises(ReconnectNeeded):  # its access token went with the refresh token
        client.count("SELECT COUNT() FROM Opportunity")


def test_refreshing_is_not_a_new_approval(sandbox):
    grant_ = code_flow(sandbox)
    for _ in range(7):
        assert refresh(sandbox, grant_["refresh_token"]).status_code == 200
    others = [code_flow(sandbox) for _ in range(4)]
    assert refresh(sandbox, grant_["refresh_token"]).status_code == 200
    assert all(refresh(sandbox, g["refresh_token"]).status_code == 200 for g in others)


# ---- query cursors (nextRecordsUrl): 15 minutes idle and 10 per user, or 2 days and no limit -------------
@pytest.fixture(params=["strict", "lenient"])
def salesforce_reading(request: pytest.FixtureRequest, sandbox) -> str:
    """Run a test against the emulator's strict default and with every lenient switch on."""
    admin(sandbox, "POST", "/switches", {"preset": request.param})
    return request.param


@pytest.fixture
def clock(sandbox):
    """Moves the sandbox's clock; taken back afterwards (the clock survives a reset)."""
    moved = []

    def advance(seconds: float) -> None:
        admin(sandbox, "POST", "/clock", {"advance_seconds": seconds})
        moved.append(seconds)

    yield advance
    if moved:
        admin(sandbox, "POST", "/clock", {"advance_seconds": -sum(moved)})


def open_cursor(sandbox, access_token: str) -> str:
    r = requests.get(
        sandbox.salesforce_url + DATA + "/query",
        params={"q": "SELECT Id FROM Opportunity ORDER BY Name"},
        headers={"Authorization": "Bearer " + access_token, "Sforce-Query-Options": "batchSize=200"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()["nextRecordsUrl"]


def more(sandbox, access_token: str, next_url: str) -> requests.Response:
    headers = {"Authorization": "Bearer " + access_token}
    return requests.get(sandbox.salesforce_url + next_url, headers=headers, timeout=10)


@pytest.fixture
def opportunities_over_one_page(sandbox) -> None:
    data = sandbox.world.salesforce
    with sandbox.world.lock:
        for i in range(260):
            data.insert(
                "Opportunity",
                {"Name": f"Paged {i:04d}", "StageName": "Prospecting", "CloseDate": "2027-01-01"},
                system=True,
            )


def test_client_pages_through_under_both_readings(sandbox, client, salesforce_reading, opportunities_over_one_page):
    rows = list(
        client.query("SELECT Id, Name FROM Opportunity WHERE Name LIKE 'Paged %' ORDER BY Name", batch_size=200)
    )
    assert [r["Name"] for r in rows] == [f"Paged {i:04d}" for i in range(260)]


def test_an_eleventh_cursor_releases_the_oldest_unless_cursors_are_unlimited(
    sandbox, grant, client, salesforce_reading, opportunities_over_one_page
):
    token = grant["access_token"]
    first = open_cursor(sandbox, token)
    rest = [open_cursor(sandbox, token) for _ in range(10)]
    answer = more(sandbox, token, first)
    if salesforce_reading == "strict":
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    else:
        assert answer.status_code == 200
    assert all(more(sandbox, token, url).status_code == 200 for url in rest)
    # the client reads its pages back to back: a new query pages through whatever was opened before
    rows = client.query("SELECT Id FROM Opportunity ORDER BY Name", batch_size=200)
    assert sum(1 for _ in rows) == 41 + 260


def test_an_idle_cursor_expires_after_15_minutes_or_2_days(
    sandbox, grant, client, clock, salesforce_reading, opportunities_over_one_page
):
    token = grant["access_token"]
    url = open_cursor(sandbox, token)
    clock(16 * 60)
    answer = more(sandbox, token, url)
    if salesforce_reading == "strict":
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
        rows = iter(client.query("SELECT Id FROM Opportunity ORDER BY Name", batch_size=200))
        assert len(list(itertools.islice(rows, 200))) == 200  # the first page
        clock(16 * 60)
        with pytest.raises(RequestRejected) as exc:  # the next page is gone: a clear error, not a short read
            next(rows)
        assert exc.value.code == "INVALID_QUERY_LOCATOR"
        return
    assert answer.status_code == 200
    url = answer.json()["nextRecordsUrl"] if "nextRecordsUrl" in answer.json() else open_cursor(sandbox, token)
    clock(2 * 24 * 3600 + 60)
    fresh = password_grant(sandbox)["access_token"]  # the session itself timed out meanwhile
    answer = more(sandbox, fresh, url)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# ---- getUpdated: at most 600,000 ids ------------------------------------------------------------------------
def test_too_many_updated_ids_is_exceeded_id_limit_and_the_client_says_compare_everything(
    sandbox, grant, client, clock, monkeypatch
):
    """The REST guide's Get Updated: more than 600,000 ids → EXCEEDED_ID_LIMIT (the limit lowered here
    to the seed's accounts minus one). The client turns it into WindowExceeded, on which the engine
    compares everything (core/role_changes.py) instead of failing every cycle on the same window."""
    now = datetime.fromisoformat(admin(sandbox, "GET", "/clock").json()["now"]).astimezone(timezone.utc)
    start, end = now - timedelta(minutes=10), now + timedelta(minutes=2)
    clock(180)
    client.count("SELECT COUNT() FROM Account")  # the client learns Salesforce's time (the Date header)
    changed = len(client.updated("Account", start, end).ids)
    assert changed > 1
    monkeypatch.setattr(record_routes, "UPDATED_ID_LIMIT", changed)  # "more than": exactly the limit passes
    assert len(client.updated("Account", start, end).ids) == changed
    monkeypatch.setattr(record_routes, "UPDATED_ID_LIMIT", changed - 1)
    params = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}
    answer = rest_get(sandbox, grant, "/sobjects/Account/updated/", params=params)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    with pytest.raises(WindowExceeded) as exc:
        client.updated("Account", start, end)
    assert "too many" in str(exc.value)


# ---- REQUEST_LIMIT_EXCEEDED: the day's allowance, or too many long requests at once ------------------------
def test_concurrent_long_requests_are_a_busy_org_not_the_days_allowance(sandbox, client):
    """ "API Request Limits and Allocations": past 25 concurrent calls of 20 s or more the API answers
    REQUEST_LIMIT_EXCEEDED until fewer run. No call of the emulator runs that long, so the answer is
    injected (its text as Salesforce words it); the client must not take it for the day's allowance."""
    busy = [
        {
            "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]
    admin(sandbox, "POST", "/faults", {"kind": "status", "status": 403, "body": busy, "path": "/query", "count": 1})
    with pytest.raises(ServiceUnavailable) as exc:
        client.count("SELECT COUNT() FROM Opportunity")
    assert "too many long requests" in str(exc.value)
    assert client.count("SELECT COUNT() FROM Opportunity") == 41  # the next try goes through
    admin(sandbox, "POST", "/settings", {"daily_api_limit": 100, "api_usage": 100})
    with pytest.raises(ApiLimitReached):
        client.count("SELECT COUNT() FROM Opportunity")


# ---- a nextRecordsUrl is used once (strict) or may be asked again (query_locator_reusable) -----------------
def test_a_page_asked_twice_and_a_retry_after_a_lost_answer(
    sandbox, grant, client, salesforce_reading, opportunities_over_one_page
):
    data = sandbox.world.salesforce
    with sandbox.world.lock:  # 41 + 260 + 200 opportunities: three pages of 200
        for i in range(200):
            data.insert(
                "Opportunity", {"Name": f"Extra {i:03d}", "StageName": "Prospecting", "CloseDate": "2027-01-01"}
            )
    token = grant["access_token"]
    url = open_cursor(sandbox, token)
    assert more(sandbox, token, url).status_code == 200
    again = more(sandbox, token, url)
    if salesforce_reading == "strict":
        assert again.status_code == 400 and again.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    else:
        assert again.status_code == 200
    # the answer to the second page is lost on the way: the client's retry asks the same URL again
    admin(sandbox, "POST", "/faults", {"kind": "drop", "method": "GET", "path": "/query/01g", "count": 1})
    soql = "SELECT Id, Name FROM Opportunity WHERE Name LIKE 'Paged %' ORDER BY Name"
    if salesforce_reading == "strict":
        with pytest.raises(RequestRejected) as exc:
            list(client.query(soql, batch_size=200))
        assert exc.value.code == "INVALID_QUERY_LOCATOR" and "the next sync reads it again" in str(exc.value)
    else:
        assert len(list(client.query(soql, batch_size=200))) == 260
