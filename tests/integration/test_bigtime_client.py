"""The BigTime client against the sandbox emulator: three auth modes, token/session expiry, the
OAuth header fallback, errors (400/404/405/401/503/HTML/non-JSON/dropped connection), creates and
read-backs, and money figures that must equal what the emulator's data object computes."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bigsync_gui.connectors import bigtime_assumptions as A
from bigsync_gui.connectors import oauth
from bigsync_gui.connectors.bigtime import ApiKeyAuth, BigTimeClient, OAuthAuth, SessionAuth
from bigsync_gui.connectors.errors import (
    Offline,
    PermissionDenied,
    RateLimited,
    ReconnectNeeded,
    RequestRejected,
    UnexpectedResponse,
)
from bigsync_gui.connectors.http import HttpPolicy, RetryPolicy
from bigsync_gui.sandbox import credentials as cred

REALM = cred.BT_FIRM_ID
REDIRECT = cred.BT_REDIRECT_URIS[0]
FAST = RetryPolicy(initial_wait=0.01, max_wait=0.05, jitter=0.0)


# ---- helpers ----------------------------------------------------------------------------------
def admin(sandbox, method: str, path: str, **kwargs: Any) -> Any:
    response = requests.request(method, sandbox.bigtime_admin_url + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def api_log(sandbox) -> list[tuple[str, str, int]]:
    entries = admin(sandbox, "GET", "/log")["entries"]
    return [(e["method"], e["path"].lower().removeprefix("/bigtimedata/api/v2"), e["status"]) for e in entries]


def clear_log(sandbox) -> None:
    admin(sandbox, "DELETE", "/log")


def policy() -> HttpPolicy:
    return HttpPolicy("bigtime", policy=FAST)


def key_client(sandbox, http: HttpPolicy | None = None) -> BigTimeClient:
    return BigTimeClient(sandbox.bigtime_url, ApiKeyAuth(cred.BT_API_KEY, REALM), http or policy())


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def oauth_code_flow(base: str) -> dict[str, Any]:
    """Login + Allow pages driven like a browser, then the code exchanged: the token response."""
    browser = requests.Session()
    page = browser.get(
        base + A.AUTHORIZE_PATH,
        params={"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s-1", "response_type": "code"},
        timeout=10,
    )
    consent = browser.post(
        base + A.AUTHORIZE_PATH,
        data={"txn": _hidden(page.text, "txn"), "step": "login", "UserId": cred.BT_USERNAME, "Pwd": cred.BT_PASSWORD},
        timeout=10,
    )
    assert 'id="allow"' in consent.text
    final = browser.post(
        base + A.AUTHORIZE_PATH,
        data={"txn": _hidden(consent.text, "txn"), "step": "consent", "decision": "allow"},
        allow_redirects=False,
        timeout=10,
    )
    assert final.status_code == 302
    query = parse_qs(urlsplit(final.headers["Location"]).query)
    token = requests.post(
        base + A.TOKEN_PATH,
        json={
            "grant_type": "authorization_code",
            "client_id": cred.BT_CLIENT_ID,
            "client_secret": cred.BT_CLIENT_SECRET,
            "code": query["code"][0],
            "redirect_uri": REDIRECT,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    return token.json()


@dataclass
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    raw: dict[str, Any] = field(default_factory=dict)


class FakeRefresher:
    """Test double of ``connectors.oauth.TokenRefresher`` (same interface), refreshing against the
    sandbox's token endpoint with the field names from ``bigtime_assumptions``."""

    def __init__(self, base: str, tokens: dict[str, Any]) -> None:
        self.base = base
        self._tokens = self._set(tokens)
        self._lock = threading.Lock()
        self.refreshes = 0

    @staticmethod
    def _set(raw: dict[str, Any]) -> TokenSet:
        return TokenSet(raw["access_token"], raw.get("refresh_token"), time.time() + float(raw["expires_in"]), raw)

    def current(self) -> TokenSet | None:
        return self._tokens

    def access_token(self) -> str:
        if self._tokens.expires_at is not None and self._tokens.expires_at - time.time() < 60:
            self.refresh(self._tokens.access_token)
        return self._tokens.access_token

    def refresh(self, stale_access_token: str | None = None) -> TokenSet:
        with self._lock:
            if stale_access_token is not None and stale_access_token != self._tokens.access_token:
                return self._tokens
            body = {
                "grant_type": "refresh_token",
                "refresh_token": self._tokens.refresh_token or "",
                "client_id": cred.BT_CLIENT_ID,
                "client_secret": cred.BT_CLIENT_SECRET,
            }
            response = requests.post(self.base + A.TOKEN_PATH, json=body, timeout=10)
            if response.status_code == 400 and response.json().get("error") == "invalid_grant":
                raise ReconnectNeeded("bigtime", "the authorization was revoked or expired")
            response.raise_for_status()
            self.refreshes += 1
            self._tokens = self._set(response.json())
            return self._tokens


def oauth_client(sandbox, **auth_kwargs: Any) -> tuple[BigTimeClient, OAuthAuth, FakeRefresher]:
    refresher = FakeRefresher(sandbox.bigtime_url, oauth_code_flow(sandbox.bigtime_url))
    auth = OAuthAuth(refresher, REALM, **auth_kwargs)
    clear_log(sandbox)  # forget the login pages and the code exchange
    return BigTimeClient(sandbox.bigtime_url, auth, policy()), auth, refresher


class SandboxSleep:
    """The policy's sleep: a wait moves the sandbox clock (the rate limit's time) instead of the test."""

    def __init__(self, sandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        admin(self.sandbox, "POST", "/clock", json={"advance_seconds": seconds})


# ---- the three ways to sign in ------------------------------------------------------------------
def test_api_key_auth_end_to_end(sandbox):
    client = key_client(sandbox)
    who = client.whoami()
    assert (who.auth_mode, who.firm_id) == ("api_key", REALM)
    names = {p.name for p in client.projects()}
    assert "ERP Rollout Phase 1" in names
    assert len(names) == len(sandbox.world.bigtime.directory.project_list(show_inactive=True))


def test_session_auth_end_to_end(sandbox):
    auth = SessionAuth(cred.BT_USERNAME, cred.BT_PASSWORD)
    client = BigTimeClient(sandbox.bigtime_url, auth, policy())
    who = client.whoami()
    admin_staff = sandbox.world.bigtime.directory.get_staff(min(sandbox.world.bigtime.records["staff"]))
    assert who.auth_mode == "session"
    assert who.firm_id == REALM and who.firm_name == cred.BT_FIRM_NAME
    assert who.staff_id == admin_staff["SystemId"]
    assert who.email == cred.BT_USERNAME and who.name == admin_staff["FullName"]
    assert [c.name for c in client.clients()][:1] == ["Globex Corporation"]
    assert [e for e in api_log(sandbox) if e[:2] == ("POST", "/session")] == [("POST", "/session", 200)]
    assert api_log(sandbox)[0] == ("POST", "/session", 200)


def test_oauth_code_flow_end_to_end_with_the_typed_firm(sandbox, bigtime_reading):
    client, auth, refresher = oauth_client(sandbox)
    assert ("firm" in refresher.current().raw) == (bigtime_reading == "lenient")  # never read as the realm
    who = client.whoami()
    assert (who.auth_mode, who.firm_id) == ("oauth", REALM)
    assert auth.firm_id == REALM
    # X-Auth-Token + realm first: every reading takes it, so it works the first time
    assert auth.header_mode == A.OAUTH_HEADER_X_AUTH_TOKEN and auth.header_mode_confirmed
    assert "ERP Rollout Phase 1" in {p.name for p in client.projects()}
    assert refresher.refreshes == 0
    assert all(status == 200 for _, _, status in api_log(sandbox))


def test_oauth_expired_access_token_refreshes_and_retries_transparently(sandbox, bigtime_reading):
    client, auth, refresher = oauth_client(sandbox)
    client.projects()
    old = refresher.current().access_token
    assert admin(sandbox, "POST", "/tokens/expire", json={"kind": "access"})["expired"] >= 1
    clear_log(sandbox)
    staff = client.staff()
    assert staff[0].email == cred.BT_USERNAME
    assert refresher.refreshes == 1 and refresher.current().access_token != old
    assert api_log(sandbox) == [("GET", "/staff", 401), ("POST", "/oauth2/accesstoken", 200), ("GET", "/staff", 200)]


# The emulator's readings of the OAuth header: the strict default, both (lenient), Bearer only.
HEADER_READINGS = {
    "x-auth-token": {},
    "both": {"oauth_bearer": True},
    "bearer": {"oauth_bearer": True, "oauth_x_auth_token": False},
}


@pytest.mark.parametrize("reading", list(HEADER_READINGS))
def test_oauth_header_fallback_and_memory(sandbox, reading):
    client, auth, refresher = oauth_client(sandbox)
    remembered: list[str] = []
    auth._on_header_mode = remembered.append
    admin(sandbox, "POST", "/switches", json=HEADER_READINGS[reading])
    clear_log(sandbox)
    assert client.project(1001).name == "ERP Rollout Phase 1"
    first = api_log(sandbox)
    mode = "bearer" if reading == "bearer" else "x-auth-token"
    if mode == "bearer":  # X-Auth-Token refused once, then Bearer, no refresh
        assert first == [("GET", "/project/detail/1001", 401), ("GET", "/project/detail/1001", 200)]
    else:
        assert first == [("GET", "/project/detail/1001", 200)]
    assert auth.header_mode == mode and remembered == [mode]
    assert refresher.refreshes == 0
    # Remembered: the next calls go straight to the form that worked.
    clear_log(sandbox)
    client.clients()
    assert api_log(sandbox) == [("GET", "/client", 200)]
    # And an expiry now costs a refresh, not another header experiment.
    admin(sandbox, "POST", "/tokens/expire", json={"kind": "access"})
    clear_log(sandbox)
    client.clients()
    assert api_log(sandbox) == [("GET", "/client", 401), ("POST", "/oauth2/accesstoken", 200), ("GET", "/client", 200)]
    assert auth.header_mode == mode and refresher.refreshes == 1


def test_oauth_remembered_header_mode_is_used_from_the_start(sandbox):
    admin(sandbox, "POST", "/switches", json=HEADER_READINGS["bearer"])
    client, auth, _ = oauth_client(sandbox, header_mode="bearer")
    clear_log(sandbox)
    client.staff()
    assert api_log(sandbox) == [("GET", "/staff", 200)]


def test_oauth_revoked_grant_needs_reconnect_without_leaking_tokens(sandbox, bigtime_reading):
    client, auth, refresher = oauth_client(sandbox)
    client.staff()
    tokens = (refresher.current().access_token, refresher.current().refresh_token)
    admin(sandbox, "POST", "/tokens/revoke", json={"kind": "all"})
    with pytest.raises(ReconnectNeeded) as caught:
        client.staff()
    assert caught.value.system == "bigtime"
    assert all(t not in str(caught.value) for t in tokens)


def test_session_expiry_reposts_session_and_retries(sandbox):
    auth = SessionAuth(cred.BT_USERNAME, cred.BT_PASSWORD)
    client = BigTimeClient(sandbox.bigtime_url, auth, policy())
    client.staff()
    admin(sandbox, "POST", "/tokens/expire", json={"kind": "session"})
    clear_log(sandbox)
    assert client.project(1002).id == 1002
    assert api_log(sandbox) == [
        ("GET", "/project/detail/1002", 401),
        ("POST", "/session", 200),
        ("GET", "/project/detail/1002", 200),
    ]


def test_session_bad_password_needs_reconnect_and_hides_the_password(sandbox):
    client = BigTimeClient(sandbox.bigtime_url, SessionAuth(cred.BT_USERNAME, "wrong-Pa55word!"), policy())
    with pytest.raises(ReconnectNeeded) as caught:
        client.projects()
    assert "Invalid user id or password" in str(caught.value)
    assert "wrong-Pa55word!" not in str(caught.value)
    assert api_log(sandbox) == [("POST", "/session", 401)]


def test_session_refused_after_repost_stops_instead_of_looping(sandbox):
    auth = SessionAuth(cred.BT_USERNAME, cred.BT_PASSWORD, firm="acme-sbx-0001")
    client = BigTimeClient(sandbox.bigtime_url, auth, policy())
    client.staff()
    # The session is refused, and so is the fresh one /session hands out next.
    admin(
        sandbox,
        "POST",
        "/faults",
        json={
            "kind": "status",
            "status": 401,
            "path": "/staff$",
            "count": 2,
            "body": {"Message": "Authorization has been denied for this request."},
        },
    )
    with pytest.raises(ReconnectNeeded):
        client.staff()
    assert [e[:2] for e in api_log(sandbox)].count(("POST", "/session")) == 2  # one re-post, not a loop


def test_api_key_revoked_or_wrong_needs_reconnect(sandbox):
    client = key_client(sandbox)
    client.staff()
    admin(sandbox, "POST", "/tokens/revoke", json={"kind": "api_key"})
    with pytest.raises(ReconnectNeeded) as caught:
        client.staff()
    assert "API key was refused" in str(caught.value) and "revoked" in str(caught.value)
    assert cred.BT_API_KEY not in str(caught.value)
    wrong = BigTimeClient(sandbox.bigtime_url, ApiKeyAuth("not-the-key-at-all-123", REALM), policy())
    admin(sandbox, "POST", "/settings", json={"api_key": cred.BT_API_KEY})  # un-revoke the real one
    with pytest.raises(ReconnectNeeded):
        wrong.staff()
    assert key_client(sandbox).staff()[0].email == cred.BT_USERNAME


# ---- creates and read-backs -----------------------------------------------------------------------
def test_create_client_project_contact_and_read_back(sandbox):
    client = key_client(sandbox)
    cid = client.create_client({"Nm": "Hooli", "ClientId": "HOOLI-1", "City": "Palo Alto", "MainPH": "555-0100"})
    hooli = client.client(cid)
    assert (hooli.id, hooli.name, hooli.code, hooli.city, hooli.phone) == (
        cid,
        "Hooli",
        "HOOLI-1",
        "Palo Alto",
        "555-0100",
    )
    assert [c.id for c in client.clients() if c.name == "Hooli"] == [cid]

    pid = client.create_project(
        {
            "Nm": "Nucleus rollout",
            "ProjectCode": "006Kx00000000G9IAI",
            "ClientId": cid,
            "StartDt": "2026-12-01",
            "Notes": "from the opportunity",
        }
    )
    project = client.project(pid)
    assert (project.name, project.code, project.client_id) == ("Nucleus rollout", "006Kx00000000G9IAI", cid)
    assert project.display_name == "Hooli:Nucleus rollout"
    assert project.start_date == date(2026, 12, 1) and project.notes == "from the opportunity"
    assert "Salesforce Opportunity Id" in project.custom_fields

    contact_id = client.add_project_contact(
        pid, {"FName": "Gavin", "SName": "Belson", "EMail": "gavin@hooli.example", "Tag": "PRIMARY", "Title": "CEO"}
    )
    contacts = client.project_contacts(pid)
    assert [(c.id, c.first_name, c.last_name, c.email, c.tag, c.title) for c in contacts] == [
        (contact_id, "Gavin", "Belson", "gavin@hooli.example", "PRIMARY", "CEO")
    ]
    assert client.project(pid).primary_contact_id == contact_id

    updated = client.update_project(pid, {"Nm": "Nucleus rollout (phase 1)"})
    assert updated.name == "Nucleus rollout (phase 1)" and updated.code == "006Kx00000000G9IAI"
    assert [p.id for p in client.projects() if p.code == "006Kx00000000G9IAI"] == [pid]
    assert sandbox.world.bigtime.directory.get_project(pid)["Nm"] == "Nucleus rollout (phase 1)"


def test_client_has_no_delete_method():
    assert not [name for name in dir(BigTimeClient) if "delete" in name.lower() or "remove" in name.lower()]


# ---- errors -----------------------------------------------------------------------------------------
def test_validation_error_is_rejected_with_bigtimes_message(sandbox):
    client = key_client(sandbox)
    before = len(sandbox.world.bigtime.records["project"])
    with pytest.raises(RequestRejected) as caught:
        client.create_project({"ProjectCode": "NO-NAME", "ClientId": 201})
    assert caught.value.status == 400
    assert caught.value.message == "The project name (Nm) is required."
    with pytest.raises(RequestRejected) as bad_client:
        client.create_project({"Nm": "Orphan", "ProjectCode": "ORPHAN", "ClientId": 999999})
    assert bad_client.value.status == 400 and "999999" in bad_client.value.message
    assert len(sandbox.world.bigtime.records["project"]) == before


def test_not_found_is_rejected_404(sandbox):
    with pytest.raises(RequestRejected) as caught:
        key_client(sandbox).project(999999)
    assert caught.value.status == 404 and "999999 was not found" in caught.value.message


def test_missing_right_is_permission_denied(sandbox):
    admin(sandbox, "POST", "/settings", json={"permissions": {"can_create_projects": False}})
    client = key_client(sandbox)
    before = len(client.projects())
    with pytest.raises(PermissionDenied) as caught:
        client.create_project({"Nm": "Not allowed", "ClientId": 201})
    assert caught.value.status == 405
    assert caught.value.message.startswith("The BigTime user lacks the right to create projects")
    assert "You do not have rights to create projects" in caught.value.message
    assert len(client.projects()) == before


# Without a limiter, under the lenient reading (503 with Retry-After). With one, and the strict
# reading: tests/integration/test_bigtime_rate_limit.py.
def test_rate_limit_503_is_waited_for_on_a_read(sandbox):
    sleeper = SandboxSleep(sandbox)
    client = key_client(sandbox, HttpPolicy("bigtime", sleep=sleeper.sleep))  # default policy: waits ≤ 30 s inline
    admin(sandbox, "POST", "/rate_limit", json={"requests": 2, "window_seconds": 60, "retry_after": True})
    client.projects()
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 50})
    client.clients()
    staff = client.staff()  # third in the minute: 503 + Retry-After ≈ 10 s, waited, retried
    assert staff[0].email == cred.BT_USERNAME
    assert len(sleeper.waits) == 1 and 9 <= sleeper.waits[0] <= 10
    assert api_log(sandbox)[-2:] == [("GET", "/staff", 503), ("GET", "/staff", 200)]
    assert client.http.counter.snapshot()["bigtime"] == {"200": 3, "503": 1}


def test_rate_limit_503_is_not_retried_for_a_create(sandbox):
    sleeper = SandboxSleep(sandbox)
    client = key_client(sandbox, HttpPolicy("bigtime", sleep=sleeper.sleep))
    before = len(sandbox.world.bigtime.records["project"])
    admin(sandbox, "POST", "/rate_limit", json={"requests": 1, "window_seconds": 60, "retry_after": True})
    client.projects()
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 50})
    with pytest.raises(RateLimited) as caught:
        client.create_project({"Nm": "Rate limited", "ClientId": 201, "ProjectCode": "RL-1"})
    assert 9 <= caught.value.retry_after <= 10
    assert sleeper.waits == []
    posts = [entry for entry in api_log(sandbox) if entry[0] == "POST"]
    assert posts == [("POST", "/project/detail", 503)]
    assert len(sandbox.world.bigtime.records["project"]) == before


def test_html_error_page_becomes_a_short_sentence(sandbox):
    admin(
        sandbox, "POST", "/faults", json={"kind": "html", "status": 400, "path": "/project/detail$", "method": "POST"}
    )
    with pytest.raises(RequestRejected) as caught:
        key_client(sandbox).create_project({"Nm": "x", "ClientId": 201})
    message = caught.value.message
    assert "<" not in message and ">" not in message and "DOCTYPE" not in message
    assert "Server Error in '/' Application." in message and len(message) < 200


def test_non_json_success_is_unexpected(sandbox):
    admin(
        sandbox,
        "POST",
        "/faults",
        json={"kind": "status", "status": 200, "body": "Welcome to BigTime", "path": "/staff$"},
    )
    with pytest.raises(UnexpectedResponse) as caught:
        key_client(sandbox).staff()
    assert "not JSON" in str(caught.value)


def test_dropped_create_is_offline_and_found_by_code_afterwards(sandbox):
    client = key_client(sandbox)
    admin(sandbox, "POST", "/faults", json={"kind": "drop", "method": "POST", "path": "/project/detail$"})
    with pytest.raises(Offline):
        client.create_project({"Nm": "Lost reply", "ClientId": 202, "ProjectCode": "006LOSTREPLY"})
    assert [e for e in api_log(sandbox) if e[0] == "POST"] == [("POST", "/project/detail", 200)]  # sent once
    found = [p for p in client.projects() if p.code == "006LOSTREPLY"]
    assert [(p.name, p.client_id) for p in found] == [("Lost reply", 202)]


def test_transient_500_on_a_read_is_retried(sandbox):
    admin(sandbox, "POST", "/faults", json={"kind": "html", "status": 500, "path": "/client$", "count": 2})
    assert "Initech" in {c.name for c in key_client(sandbox).clients()}
    assert [s for m, p, s in api_log(sandbox) if p == "/client"] == [500, 500, 200]


# ---- reads and money ---------------------------------------------------------------------------------
def test_picklists_staff_time_expenses_invoices(sandbox):
    client = key_client(sandbox)
    data = sandbox.world.bigtime
    status = client.field_values("StatusProduction")
    assert [(s.id, s.name, s.group) for s in status][:1] == [(1, "Not Started", "Active")]
    assert {s.id for s in status if s.group == "Inactive"} == {4, 5}
    active = {pid for pid, p in data.records["project"].items() if not p["IsInactive"]}
    assert {p.id for p in client.picklist("projects")} == active != set(data.records["project"])  # help/Picklist

    today = date.fromisoformat(admin(sandbox, "GET", "/clock")["now"][:10])  # other tests move the sandbox clock
    start, end = today - timedelta(days=400), today + timedelta(days=1)
    entries = client.time_by_project(1001, start, end)
    expected = data.ledger.time_entries(project_id=1001)
    assert len(entries) == len(expected) > 0
    assert round(sum(e.hours for e in entries), 2) == round(sum(e["Hours_IN"] for e in expected), 2)

    expenses = client.expenses(start, end, [1001])
    expected_exp = data.ledger.expenses(None, None, project_ids=[1001])
    assert len(expenses) == len(expected_exp) > 0
    assert round(sum(e.cost for e in expenses), 2) == round(sum(e["CostIN"] for e in expected_exp), 2)
    assert {e.project_id for e in expenses} == {1001}

    invoices = client.all_invoices()
    assert invoices and all(i.status != 0 for i in invoices)
    one = client.invoice(invoices[0].id)
    assert (one.number, one.paid) == (invoices[0].number, invoices[0].paid)
    assert invoices[0].total is None and one.total > 0  # strict: the history's simple view has no TotalAmt
    assert one.raw.get("Lines") is not None


def test_budget_status_and_totals_equal_the_sandbox_figures(sandbox):
    client = key_client(sandbox)
    data = sandbox.world.bigtime
    invoices = client.all_invoices()
    checked_money = checked_rows = False
    for project in client.projects():
        rows = client.budget_status(project.id)
        assert len(rows) == len(data.ledger.budget_status(project.id))
        totals = client.project_totals(project.id, invoices=invoices)
        want, f = data.ledger.project_totals(project.id), totals.figures
        if data.directory.budgeted_by_task(
            project.id
        ):  # strict: no project-level budget on its detail; the total has it
            assert f["budget_hours"] is None and f["budget_fees"] is None
            assert "budget_hours" in totals.missing
        else:
            assert f["budget_hours"] == want["BudgetHours"] and f["budget_fees"] == want["BudgetFees"]
        assert (
            f["budget_total"] == want["EstTotal"]
            and totals.sources["budget_total"] == "sum of EstTotal on budget-status rows"
        )
        if rows:
            assert (f["hours_logged"], f["expenses_logged"], f["wip"]) == (
                want["HrsIn"],
                want["ExpCostIn"],
                want["WipTotal"],
            )
            checked_rows = True
        assert f["budget_expenses"] is None  # the strict emulator has no BudgetExps on rows
        assert f["invoiced_to_date"] == want["TotalAmt"] and f["paid_to_date"] == want["PaidAmt"]
        if totals.invoices:  # strict: each total from the invoice's detail; paid from the history
            assert totals.sources["invoiced_to_date"] == "TotalAmt from invoice details"
            assert totals.sources["paid_to_date"] == "PaidAmt in the invoice history"
        checked_money |= want["TotalAmt"] > 0 and 0 < want["PaidAmt"] < want["TotalAmt"]
    assert checked_money, "the seed should have a partly paid project"
    assert checked_rows, "the seed should have a project with budget rows"
    # Without pre-fetched invoices the client reads them itself (3 requests), and each invoice's detail.
    clear_log(sandbox)
    assert client.project_totals(1001).figures["paid_to_date"] == data.ledger.project_totals(1001)["PaidAmt"]
    posted = [i for i in invoices if i.project_id == 1001]
    assert posted and len(api_log(sandbox)) == 3 + len(posted)


def test_totals_follow_a_new_payment(sandbox):
    client = key_client(sandbox)
    data = sandbox.world.bigtime
    open_invoice = next(
        i
        for i in map(client.invoice, (i.id for i in client.all_invoices()))
        if i.invoiced is not None and i.paid is not None and i.invoiced - i.paid > 100
    )
    before = client.project_totals(open_invoice.project_id)
    admin(sandbox, "POST", f"/invoices/{open_invoice.id}/payments", json={"amount": 100})
    after = client.project_totals(open_invoice.project_id)
    assert after.figures["paid_to_date"] == round(before.figures["paid_to_date"] + 100, 2)
    assert after.figures["paid_to_date"] == data.ledger.project_totals(open_invoice.project_id)["PaidAmt"]


def test_oauth_with_the_real_token_refresher(sandbox, bigtime_reading):
    """The same transparent refresh with ``connectors.oauth.TokenRefresher`` instead of the double."""
    raw = oauth_code_flow(sandbox.bigtime_url)
    http = policy()
    rotated: list[str] = []
    tokens = oauth.TokenSet(
        access_token=raw["access_token"],
        refresh_token=raw["refresh_token"],
        expires_at=time.time() + raw["expires_in"],
        raw=raw,
    )
    refresher = oauth.TokenRefresher(
        oauth.bigtime_endpoints(sandbox.bigtime_url, cred.BT_CLIENT_ID, cred.BT_CLIENT_SECRET, REDIRECT),
        http,
        raw["refresh_token"],
        rotated.append,
        tokens=tokens,
    )
    client = BigTimeClient(sandbox.bigtime_url, OAuthAuth(refresher, REALM), http)
    assert client.whoami().firm_id == REALM
    admin(sandbox, "POST", "/tokens/expire", json={"kind": "access"})
    clear_log(sandbox)
    assert client.project(1001).code == "GLOBEX-001"
    assert api_log(sandbox) == [
        ("GET", "/project/detail/1001", 401),
        ("POST", "/oauth2/accesstoken", 200),
        ("GET", "/project/detail/1001", 200),
    ]
    assert len(rotated) == 1 and rotated[0] != raw["refresh_token"]


# ---- contacts: pybt's path first, our old guess as a fallback ----------------------------------------
def contact_posts(sandbox) -> list[tuple[str, int]]:
    return [
        (path.lower(), status)
        for method, path, status in api_log(sandbox)
        if method == "POST" and "/contact" in path.lower()
    ]


def test_contact_is_added_at_pybts_path_and_the_client_keeps_it(sandbox):
    client = key_client(sandbox)
    clear_log(sandbox)
    first = client.add_project_contact(1001, {"FName": "Ann", "SName": "One"})
    second = client.add_project_contact(1001, {"FName": "Bob", "SName": "Two"})
    assert first != second and client.contact_create_path == A.CONTACT_CREATE_PATHS[0] == "/project/Contact"
    assert [p for p, _ in contact_posts(sandbox)] == ["/project/contact"] * 2


def test_contact_falls_back_to_the_id_path_on_404_and_remembers_it(sandbox):
    """A BigTime that only knows ``/project/Contact/0``: pybt's path is 404, nothing is created there."""
    admin(sandbox, "POST", "/switches", json={"contact_create_with_id": True})
    admin(
        sandbox,
        "POST",
        "/faults",
        json={
            "kind": "status",
            "status": 404,
            "method": "POST",
            "path": "/project/contact$",
            "count": None,
            "body": {"Message": "No HTTP resource was found"},
        },
    )
    client = key_client(sandbox)
    clear_log(sandbox)
    before = len(sandbox.world.bigtime.directory.project_contacts(1001))
    client.add_project_contact(1001, {"FName": "Ann", "SName": "One"})
    client.add_project_contact(1001, {"FName": "Bob", "SName": "Two"})
    assert len(sandbox.world.bigtime.directory.project_contacts(1001)) == before + 2
    assert client.contact_create_path == "/project/Contact/0"
    assert contact_posts(sandbox) == [
        ("/project/contact", 404),
        ("/project/contact/0", 200),
        ("/project/contact/0", 200),
    ]  # remembered: no second 404


def test_contact_refused_at_both_paths_raises_the_last_answer(sandbox):
    client = key_client(sandbox)  # strict: /project/Contact/0 is contact 0, which does not exist
    admin(
        sandbox,
        "POST",
        "/faults",
        json={
            "kind": "status",
            "status": 405,
            "method": "POST",
            "path": "/project/contact$",
            "count": 1,
            "body": {"Message": "The requested resource does not support http method 'POST'."},
        },
    )
    with pytest.raises(RequestRejected) as raised:
        client.add_project_contact(1001, {"FName": "Ann", "SName": "One"})
    assert raised.value.status == 404 and client.contact_create_path is None
