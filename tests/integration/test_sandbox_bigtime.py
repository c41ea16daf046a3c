"""The BigTime emulator, driven over HTTP like the real service (requests, requests-oauthlib)."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests_oauthlib import OAuth2Session

from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred
from bigsync_gui.sandbox import story

REDIRECT = cred.BT_REDIRECT_URIS[0]
REALM = cred.BT_FIRM_ID
KEY_HEADERS = {
    "X-Auth-ApiToken": cred.BT_API_KEY,
    "X-Auth-Realm": REALM,
    "Accept": "application/json",
    "Content-Type": "application/json",
}


# ---- helpers ----------------------------------------------------------------------------------
def _hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no hidden field {name} in page"
    return match.group(1)


def browser_login(
    base: str,
    params: dict[str, str],
    decision: str = "allow",
    user: str = cred.BT_USERNAME,
    pwd: str = cred.BT_PASSWORD,
) -> requests.Response:
    """Drive the authorize pages like a browser; return the final (unfollowed) response."""
    browser = requests.Session()
    page = browser.get(base + "/oauth2/authorize", params=params, timeout=10)
    assert page.status_code == 200 and "Sign in to BigTime" in page.text
    consent = browser.post(
        base + "/oauth2/authorize",
        data={"txn": _hidden(page.text, "txn"), "step": "login", "UserId": user, "Pwd": pwd},
        timeout=10,
    )
    assert consent.status_code == 200
    assert "Allow BigSync to access your BigTime data?" in consent.text
    assert 'id="allow"' in consent.text and 'id="deny"' in consent.text
    return browser.post(
        base + "/oauth2/authorize",
        data={"txn": _hidden(consent.text, "txn"), "step": "consent", "decision": decision},
        allow_redirects=False,
        timeout=10,
    )


def get_code(base: str, state: str = "st-1") -> str:
    final = browser_login(base, {"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT, "state": state})
    assert final.status_code == 302
    return parse_qs(urlsplit(final.headers["Location"]).query)["code"][0]


def exchange(base: str, code: str, as_form: bool = False, **extra: str) -> requests.Response:
    """The token request, as a JSON object (BigTime's documented shape) unless ``as_form``."""
    body = {
        "grant_type": "authorization_code",
        "client_id": cred.BT_CLIENT_ID,
        "client_secret": cred.BT_CLIENT_SECRET,
        "code": code,
        "redirect_uri": REDIRECT,
        **extra,
    }
    if as_form:
        return requests.post(base + "/oauth2/accesstoken", data=body, timeout=10)
    return requests.post(base + "/oauth2/accesstoken", json=body, timeout=10)


def refresh(base: str, refresh_token: str) -> requests.Response:
    return requests.post(
        base + "/oauth2/accesstoken",
        json={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": cred.BT_CLIENT_ID,
            "client_secret": cred.BT_CLIENT_SECRET,
        },
        timeout=10,
    )


def oauth_headers(token: str) -> dict[str, str]:
    """An OAuth token the documented way: X-Auth-Token + X-Auth-Realm."""
    return {
        "X-Auth-Token": token,
        "X-Auth-Realm": REALM,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


def bearer(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "X-Auth-Realm": REALM,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }


def admin(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, sandbox.bigtime_admin_url + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response


DETAILED = {"View": "Detailed"}  # the detail answers the basic view unless asked (help/Project, help/Client)


def api(sandbox, method: str, path: str, headers: dict[str, str] | None = None, **kwargs) -> requests.Response:
    return requests.request(
        method, sandbox.bigtime_url + path, headers=KEY_HEADERS if headers is None else headers, timeout=10, **kwargs
    )


# ---- OAuth 2.0: strict by default (only what BigTime documents), lenient readings as switches ----------
def test_strict_default_is_what_bigtime_documents(sandbox):
    base = sandbox.bigtime_url
    final = browser_login(base, {"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "st-1"})
    assert final.status_code == 302
    query = parse_qs(urlsplit(final.headers["Location"]).query)
    assert list(query) == ["code"]  # Location: {redirect_uri}?code={code}, no state even though one was sent
    form = exchange(base, query["code"][0], as_form=True)
    assert form.status_code == 415 and form.json()["error"] == "invalid_request"
    tokens = exchange(base, query["code"][0])  # the form attempt did not burn the code: it was never read
    assert tokens.status_code == 200
    assert set(tokens.json()) == {"access_token", "refresh_token", "expires_in"}
    token = tokens.json()["access_token"]
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(token)).status_code == 200
    assert api(sandbox, "GET", "/staff", headers={"X-Auth-Token": token}).status_code == 401  # realm required
    assert api(sandbox, "GET", "/staff", headers={**oauth_headers(token), "X-Auth-Realm": "other"}).status_code == 401
    assert api(sandbox, "GET", "/staff", headers=bearer(token)).status_code == 401


def test_lenient_switches_each_add_one_reading(sandbox):
    base = sandbox.bigtime_url
    switches = admin(sandbox, "GET", "/switches").json()
    oauth = ("echo_state", "token_firm", "token_form", "oauth_bearer")
    assert {k: switches[k]["value"] for k in oauth} == {k: False for k in oauth}
    admin(sandbox, "POST", "/switches", json={"echo_state": True})
    final = browser_login(base, {"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "st-2"})
    assert parse_qs(urlsplit(final.headers["Location"]).query)["state"] == ["st-2"]
    admin(sandbox, "POST", "/switches", json={"token_form": True, "token_firm": True})
    tokens = exchange(base, parse_qs(urlsplit(final.headers["Location"]).query)["code"][0], as_form=True)
    assert tokens.status_code == 200 and tokens.json()["firm"] == REALM
    token = tokens.json()["access_token"]
    assert api(sandbox, "GET", "/staff", headers=bearer(token)).status_code == 401
    admin(sandbox, "POST", "/switches", json={"oauth_bearer": True})
    assert api(sandbox, "GET", "/staff", headers=bearer(token)).status_code == 200
    assert api(sandbox, "GET", "/staff", headers={**bearer(token), "X-Auth-Realm": ""}).status_code == 401
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(token)).status_code == 200
    # The other strict readings: Bearer only, form only.
    admin(sandbox, "POST", "/switches", json={"oauth_x_auth_token": False, "token_json": False})
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(token)).status_code == 401
    assert exchange(base, get_code(base)).status_code == 415
    bad = requests.post(sandbox.bigtime_admin_url + "/switches", json={"echo_state": "yes"}, timeout=10)
    assert bad.status_code == 400 and "true or false" in bad.text


def test_oauth_code_flow_with_requests_oauthlib(sandbox, monkeypatch):
    """An independent client, against the lenient readings it needs (it sends a form, expects state)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback http only
    admin(sandbox, "POST", "/switches", json={"preset": "lenient"})
    base = sandbox.bigtime_url
    oauth = OAuth2Session(cred.BT_CLIENT_ID, redirect_uri=REDIRECT, state="my-state-42")
    url, state = oauth.authorization_url(base + "/oauth2/authorize")
    assert state == "my-state-42"
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["response_type"] == "code"
    final = browser_login(base, params)
    assert final.status_code == 302
    location = final.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    assert parse_qs(urlsplit(location).query)["state"] == ["my-state-42"]

    token = oauth.fetch_token(
        base + "/oauth2/accesstoken",
        authorization_response=location,
        client_secret=cred.BT_CLIENT_SECRET,
        include_client_id=True,
    )
    assert token["expires_in"] == 264960
    assert token["firm"] == REALM
    assert token["refresh_token"] and token["access_token"]

    projects = oauth.get(
        base + "/project",
        headers={"Accept": "application/json", "Content-Type": "application/json", "X-Auth-Realm": REALM},
        timeout=10,
    )
    assert projects.status_code == 200
    assert "ERP Rollout Phase 1" in {p["Nm"] for p in projects.json()}
    staff = api(sandbox, "GET", "/staff", headers=oauth_headers(token["access_token"]))
    assert staff.status_code == 200
    assert staff.json()[0]["EMail"] == cred.BT_USERNAME


def test_oauth_deny_redirects_with_access_denied(sandbox):
    final = browser_login(
        sandbox.bigtime_url,
        {"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "deny-me"},
        decision="deny",
    )
    assert final.status_code == 302
    parts = urlsplit(final.headers["Location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    assert parse_qs(parts.query) == {"error": ["access_denied"]}
    admin(sandbox, "POST", "/switches", json={"echo_state": True})
    final = browser_login(
        sandbox.bigtime_url,
        {"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "deny-me"},
        decision="deny",
    )
    assert parse_qs(urlsplit(final.headers["Location"]).query) == {"error": ["access_denied"], "state": ["deny-me"]}


def test_oauth_without_state_redirects_with_code_only(sandbox):
    admin(sandbox, "POST", "/switches", json={"echo_state": True})
    final = browser_login(sandbox.bigtime_url, {"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT})
    query = parse_qs(urlsplit(final.headers["Location"]).query)
    assert list(query) == ["code"]


def test_oauth_unknown_client_or_redirect_shows_error_page_without_redirect(sandbox):
    base = sandbox.bigtime_url
    bad_client = requests.get(
        base + "/oauth2/authorize",
        params={"client_id": "nope", "redirect_uri": REDIRECT},
        allow_redirects=False,
        timeout=10,
    )
    assert bad_client.status_code == 400
    assert "Location" not in bad_client.headers
    assert "is not registered with this BigTime firm" in bad_client.text
    bad_uri = requests.get(
        base + "/oauth2/authorize",
        params={"client_id": cred.BT_CLIENT_ID, "redirect_uri": "https://evil.example/cb"},
        allow_redirects=False,
        timeout=10,
    )
    assert bad_uri.status_code == 400
    assert "Location" not in bad_uri.headers
    assert "https://evil.example/cb" in bad_uri.text and "is not registered" in bad_uri.text


def test_oauth_wrong_password_shows_the_login_again(sandbox):
    base = sandbox.bigtime_url
    browser = requests.Session()
    page = browser.get(
        base + "/oauth2/authorize", params={"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT}, timeout=10
    )
    assert cred.BT_FIRM_ID in page.text  # the demo firm id is shown with the demo login
    again = browser.post(
        base + "/oauth2/authorize",
        data={"txn": _hidden(page.text, "txn"), "step": "login", "UserId": cred.BT_USERNAME, "Pwd": "wrong"},
        timeout=10,
    )
    assert again.status_code == 200
    assert "The user name or password you entered is incorrect." in again.text
    assert 'id="allow"' not in again.text


def test_token_endpoint_single_use_codes_and_client_checks(sandbox):
    base = sandbox.bigtime_url
    code = get_code(base)
    bad_secret = requests.post(
        base + "/oauth2/accesstoken",
        json={
            "grant_type": "authorization_code",
            "client_id": cred.BT_CLIENT_ID,
            "client_secret": "wrong",
            "code": code,
        },
        timeout=10,
    )
    assert bad_secret.status_code == 401
    assert bad_secret.json()["error"] == "invalid_client"
    wrong_redirect = exchange(base, code, redirect_uri="http://localhost:7172/Other")
    assert wrong_redirect.status_code == 400 and wrong_redirect.json()["error"] == "invalid_grant"
    # the failed attempt above already used the code: it is gone
    reused = exchange(base, code)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    fresh = get_code(base)
    assert exchange(base, fresh).status_code == 200
    assert exchange(base, fresh).json()["error"] == "invalid_grant"
    unsupported = requests.post(
        base + "/oauth2/accesstoken",
        json={"grant_type": "password", "client_id": cred.BT_CLIENT_ID, "client_secret": cred.BT_CLIENT_SECRET},
        timeout=10,
    )
    assert unsupported.status_code == 400 and unsupported.json()["error"] == "unsupported_grant_type"


def test_expired_code_is_rejected(sandbox):
    base = sandbox.bigtime_url
    code = get_code(base)
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 601})
    response = exchange(base, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_refresh_rotates_and_the_old_refresh_token_dies(sandbox):
    base = sandbox.bigtime_url
    first = exchange(base, get_code(base)).json()
    refreshed = refresh(base, first["refresh_token"])
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"] and second["access_token"] != first["access_token"]
    assert "firm" not in second
    again = refresh(base, first["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(second["access_token"])).status_code == 200


def test_expired_access_token_gives_401_then_refresh_works(sandbox):
    base = sandbox.bigtime_url
    tokens = exchange(base, get_code(base)).json()
    assert api(sandbox, "GET", "/project", headers=oauth_headers(tokens["access_token"])).status_code == 200
    assert admin(sandbox, "POST", "/tokens/expire", json={"kind": "access"}).json()["expired"] >= 1
    expired = api(sandbox, "GET", "/project", headers=oauth_headers(tokens["access_token"]))
    assert expired.status_code == 401
    assert expired.json() == {"Message": "Authorization has been denied for this request."}
    new = refresh(base, tokens["refresh_token"]).json()
    assert new["access_token"] != tokens["access_token"]
    assert api(sandbox, "GET", "/project", headers=oauth_headers(new["access_token"])).status_code == 200


def test_access_token_lifetime_follows_the_clock_and_the_setting(sandbox):
    base = sandbox.bigtime_url
    admin(sandbox, "POST", "/settings", json={"access_token_ttl_seconds": 120})
    tokens = exchange(base, get_code(base)).json()
    assert tokens["expires_in"] == 120
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(tokens["access_token"])).status_code == 200
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 121})
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(tokens["access_token"])).status_code == 401


def test_revoked_tokens_are_refused(sandbox):
    base = sandbox.bigtime_url
    tokens = exchange(base, get_code(base)).json()
    admin(sandbox, "POST", "/tokens/revoke", json={"kind": "refresh"})
    again = refresh(base, tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(tokens["access_token"])).status_code == 200
    admin(sandbox, "POST", "/tokens/revoke", json={"kind": "access"})
    assert api(sandbox, "GET", "/staff", headers=oauth_headers(tokens["access_token"])).status_code == 401


# ---- session and API key ------------------------------------------------------------------------
def test_session_login_then_x_auth_token_and_expiry(sandbox):
    base = sandbox.bigtime_url
    login = requests.post(base + "/session", json={"UserId": cred.BT_USERNAME, "Pwd": cred.BT_PASSWORD}, timeout=10)
    assert login.status_code == 200
    body = login.json()
    assert body["firm"] == REALM
    assert (body["fname"], body["sname"]) == story.STAFF[0][:2]
    assert isinstance(body["staffsid"], int) and isinstance(body["userid"], int) and body["token"]
    headers = {"X-Auth-Token": body["token"], "X-Auth-Realm": body["firm"], "Content-Type": "application/json"}
    me = api(sandbox, "GET", f"/staff/detail/{body['staffsid']}", headers=headers)
    assert me.status_code == 200 and me.json()["EMail"] == cred.BT_USERNAME
    assert api(sandbox, "GET", "/staff", headers={"X-Auth-Token": body["token"]}).status_code == 401  # realm required
    assert api(sandbox, "GET", "/staff", headers={**headers, "X-Auth-Realm": "other-firm"}).status_code == 401
    # 24 hours by default (the shorter of the lifetimes BigTime's help has written); 7 days as a setting.
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 24 * 3600 - 60})
    assert api(sandbox, "GET", "/staff", headers=headers).status_code == 200
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 61})
    assert api(sandbox, "GET", "/staff", headers=headers).status_code == 401
    admin(sandbox, "POST", "/settings", json={"session_ttl_seconds": 7 * 24 * 3600})
    week = requests.post(base + "/session", json={"UserId": cred.BT_USERNAME, "Pwd": cred.BT_PASSWORD}, timeout=10)
    headers["X-Auth-Token"] = week.json()["token"]
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 6 * 24 * 3600})
    assert api(sandbox, "GET", "/staff", headers=headers).status_code == 200
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 24 * 3600 + 1})
    assert api(sandbox, "GET", "/staff", headers=headers).status_code == 401


def test_session_bad_credentials_and_firm(sandbox):
    base = sandbox.bigtime_url
    wrong = requests.post(base + "/session", json={"UserId": cred.BT_USERNAME, "Pwd": "nope"}, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["Message"] == "Invalid user id or password."
    other_firm = requests.post(
        base + "/session", json={"userid": cred.BT_USERNAME, "pwd": cred.BT_PASSWORD, "firm": "x"}, timeout=10
    )
    assert other_firm.status_code == 401
    missing = requests.post(base + "/session", json={"UserId": cred.BT_USERNAME}, timeout=10)
    assert missing.status_code == 400 and "Pwd" in missing.json()["Message"]
    named_firm = requests.post(
        base + "/session", data={"UserId": cred.BT_USERNAME, "Pwd": cred.BT_PASSWORD, "Firm": REALM}, timeout=10
    )
    # A form asks for no JSON: BigTime answers in XML then (it reads "the content-type header").
    assert named_firm.status_code == 200 and named_firm.headers["Content-Type"].startswith("application/xml")
    assert f"<firm>{REALM}</firm>" in named_firm.text


def test_api_key_auth(sandbox):
    assert api(sandbox, "GET", "/client").status_code == 200
    assert api(sandbox, "GET", "/client", headers={**KEY_HEADERS, "X-Auth-ApiToken": "wrong"}).status_code == 401
    assert api(sandbox, "GET", "/client", headers={**KEY_HEADERS, "X-Auth-Realm": "someone-else"}).status_code == 401
    assert api(sandbox, "GET", "/client", headers={"X-Auth-ApiToken": cred.BT_API_KEY}).status_code == 401
    assert api(sandbox, "GET", "/client", headers={}).status_code == 401
    admin(sandbox, "POST", "/tokens/revoke", json={"kind": "api_key"})
    revoked = api(sandbox, "GET", "/client")
    assert revoked.status_code == 401 and revoked.json()["Message"] == "Authorization has been denied for this request."


# ---- paths, fields, CRUD -----------------------------------------------------------------------
def test_paths_are_case_insensitive(sandbox):
    project_id = min(p["SystemId"] for p in api(sandbox, "GET", "/project").json())
    root = sandbox.bigtime_url[: -len("/BigtimeData/api/v2")]
    for path in (
        f"/BigtimeData/api/v2/PROJECT/Detail/{project_id}",
        f"/bigtimedata/API/V2/project/DETAIL/{project_id}",
    ):
        response = requests.get(root + path, headers=KEY_HEADERS, timeout=10)
        assert response.status_code == 200
        assert response.json()["SystemId"] == project_id
    status = requests.get(
        root + "/BIGTIMEDATA/api/v2/PickList/FieldValues/StatusProduction", headers=KEY_HEADERS, timeout=10
    )
    assert status.status_code == 200
    assert {s["Group"] for s in status.json()} == {"Active", "Inactive"}


def test_unknown_route_is_404(sandbox):
    response = api(sandbox, "GET", "/nothing/here")
    assert response.status_code == 404
    assert "does not exist" in response.json()["Message"]


def test_field_names_are_case_insensitive_and_read_only_fields_ignored(sandbox):
    created = api(
        sandbox,
        "POST",
        "/client/detail",
        json={
            "nm": "Lowercase Ltd",
            "CLIENTID": "LOW-1",
            "city": "Leeds",
            "SystemId": 4242,
            "DtCreated": "2001-01-01",
            "Bogus": 1,
        },
    )
    assert created.status_code == 200, created.text
    client = created.json()
    assert client["Nm"] == "Lowercase Ltd" and client["ClientId"] == "LOW-1" and client["City"] == "Leeds"
    assert client["SystemId"] != 4242 and not client["DtCreated"].startswith("2001") and "Bogus" not in client
    project = api(
        sandbox,
        "POST",
        "/project/detail",
        json={"nm": "Lowercase project", "projectcode": "LOW-P1", "clientid": client["SystemId"]},
    ).json()
    assert project["Nm"] == "Lowercase project"
    assert project["ClientId"] == client["SystemId"]
    assert project["DisplayName"] == "Lowercase Ltd:Lowercase project"


def test_create_client_project_contacts_and_read_them_back(sandbox):
    client = api(
        sandbox,
        "POST",
        "/client/detail",
        json={
            "Nm": "Hooli",
            "ClientId": "HOOLI",
            "Address": "1 Hacker Way",
            "City": "Palo Alto",
            "State": "CA",
            "Country": "United States",
            "MainPH": "(650) 555-0117",
        },
    ).json()
    cid = client["SystemId"]
    assert api(sandbox, "GET", f"/client/detail/{cid}", params=DETAILED).json()["MainPH"] == "(650) 555-0117"
    assert "Hooli" in {c["Nm"] for c in api(sandbox, "GET", "/client").json()}

    created = api(
        sandbox,
        "POST",
        "/project/detail",
        json={
            "Nm": "Hooli XYZ",
            "ProjectCode": "HOOLI-1",
            "ClientId": cid,
            "StartDt": "2026-12-01",
            "Notes": "From Salesforce",
            "BudgetFees": 12000,
        },
    )
    assert created.status_code == 200
    pid = created.json()["SystemId"]
    detail = api(sandbox, "GET", f"/project/detail/{pid}", params={"View": "Detailed"}).json()
    assert detail["StartDt"] == "2026-12-01T00:00:00"
    assert detail["BudgetFees"] == 12000.0 and detail["ProjectCode"] == "HOOLI-1" and detail["StatusProd"] == 1
    assert detail["InputHours"] == 0 and [u["Name"] for u in detail["UdfList"]][0] == "Salesforce Opportunity Id"
    basic = api(sandbox, "GET", f"/project/detail/{pid}", params={"view": "basic"}).json()
    assert "UdfList" not in basic and basic["Nm"] == "Hooli XYZ"

    primary = api(
        sandbox,
        "POST",
        "/project/Contact",
        params={"projectsid": pid},
        json={
            "Tag": "PRIMARY",
            "FName": "Gavin",
            "SName": "Belson",
            "Title": "CEO",
            "EMail": "gavin@hooli.example",
            "Address": {"address": "1 Hacker Way", "City": "Palo Alto"},
        },
    )
    assert primary.status_code == 200, primary.text
    contact = primary.json()
    assert contact["Address"]["Address"] == "1 Hacker Way" and contact["Tag"] == "PRIMARY"
    # Our old guess, with an id segment of 0, only under its switch (strict: there is no contact 0).
    refused = api(
        sandbox, "POST", "/project/contact/0", params={"ProjectSid": pid}, json={"fname": "Jared", "sname": "Dunn"}
    )
    assert refused.status_code == 404
    admin(sandbox, "POST", "/switches", json={"contact_create_with_id": True})
    other = api(
        sandbox, "POST", "/project/contact/0", params={"ProjectSid": pid}, json={"fname": "Jared", "sname": "Dunn"}
    ).json()
    assert other["Tag"] == "OTHER"
    updated = api(
        sandbox,
        "POST",
        f"/project/Contact/{other['SystemId']}",
        params={"projectsid": pid},
        json={"Tag": "BILLING", "Phone": "555"},
    )
    assert updated.json()["Tag"] == "BILLING"
    listed = api(sandbox, "GET", "/project/Contacts", params={"id": pid}).json()
    assert {(c["FName"], c["Tag"]) for c in listed} == {("Gavin", "PRIMARY"), ("Jared", "BILLING")}
    assert api(sandbox, "GET", f"/project/contacts/{pid}").json() == listed
    detail = api(sandbox, "GET", f"/project/detail/{pid}", params=DETAILED).json()
    assert detail["PrimaryContactId"] == contact["SystemId"] and detail["BillingContactId"] == other["SystemId"]

    renamed = api(sandbox, "POST", f"/project/detail/{pid}", json={"Nm": "Hooli XYZ (phase 1)", "Notes": "changed"})
    assert renamed.status_code == 200 and renamed.json()["DisplayName"] == "Hooli:Hooli XYZ (phase 1)"
    assert renamed.json()["BudgetFees"] == 12000.0  # untouched fields stay

    udf = api(
        sandbox,
        "POST",
        "/project/CustomFieldsByName",
        json={"ProjectSid": pid, "Name": "Salesforce Opportunity Id", "Value": "006000000000001AAA"},
    )
    assert udf.status_code == 200
    values = {u["Name"]: u["Value"] for u in api(sandbox, "GET", f"/project/CustomFields/{pid}").json()}
    assert values["Salesforce Opportunity Id"] == "006000000000001AAA"


def test_validation_errors_are_400_with_a_message(sandbox):
    before = len(api(sandbox, "GET", "/project", params={"ShowInactive": "true"}).json())
    missing = api(sandbox, "POST", "/project/detail", json={"ProjectCode": "X-1"})
    assert missing.status_code == 400
    assert missing.json() == {"Message": "The project name (Nm) is required."}
    unknown_client = api(
        sandbox, "POST", "/project/detail", json={"Nm": "Orphan", "ProjectCode": "ORPHAN", "ClientId": 999999}
    )
    assert unknown_client.status_code == 400
    assert unknown_client.json()["Message"] == "Invalid ClientId: there is no client with SystemId 999999."
    bad_date = api(
        sandbox, "POST", "/project/detail", json={"Nm": "Dated", "ProjectCode": "DATED", "StartDt": "31/31/2026"}
    )
    assert bad_date.status_code == 400 and "StartDt" in bad_date.json()["Message"]
    not_json = api(
        sandbox, "POST", "/project/detail", data="{nope", headers={**KEY_HEADERS, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert len(api(sandbox, "GET", "/project", params={"ShowInactive": "true"}).json()) == before
    assert api(sandbox, "GET", "/project/detail/201").status_code == 404  # a client id is not a project id


def test_405_when_the_user_lacks_the_right(sandbox):
    admin(sandbox, "POST", "/settings", json={"permissions": {"can_create_projects": False}})
    denied = api(sandbox, "POST", "/project/detail", json={"Nm": "Not allowed", "ProjectCode": "NOPE"})
    assert denied.status_code == 405
    assert denied.json() == {"Message": "You do not have rights to create projects"}
    assert "Not allowed" not in {p["Nm"] for p in api(sandbox, "GET", "/project").json()}
    settings = admin(sandbox, "GET", "/settings").json()
    first_staff = str(min(int(s) for s in settings["permissions"]))
    assert settings["permissions"][first_staff]["can_create_projects"] is False
    # other rights unaffected; and the right comes back
    assert (
        api(sandbox, "POST", "/client/detail", json={"Nm": "Allowed client", "ClientId": "ALLOWED"}).status_code == 200
    )
    admin(sandbox, "POST", "/settings", json={"permissions": {first_staff: {"can_create_projects": True}}})
    assert (
        api(sandbox, "POST", "/project/detail", json={"Nm": "Allowed now", "ProjectCode": "ALLOWED"}).status_code == 200
    )


def test_the_strict_rate_limit_is_the_default():
    with Sandbox() as fresh:
        assert requests.get(fresh.bigtime_admin_url + "/rate_limit", timeout=10).json() == {
            "requests": 30,
            "window_seconds": 60.0,
            "retry_after": False,
        }
        requests.post(fresh.bigtime_admin_url + "/reset", timeout=10).raise_for_status()
        assert requests.get(fresh.bigtime_admin_url + "/rate_limit", timeout=10).json()["requests"] == 30


def test_rate_limit_gives_503_html_without_retry_after(sandbox):
    admin(sandbox, "POST", "/rate_limit", json={"requests": 5, "window_seconds": 60})
    statuses = [api(sandbox, "GET", "/staff").status_code for _ in range(5)]
    assert statuses == [200] * 5
    limited = api(sandbox, "GET", "/staff")
    assert limited.status_code == 503
    assert "Retry-After" not in limited.headers
    assert limited.headers["Content-Type"].startswith("text/html")
    assert "too many requests" in limited.text and limited.text.lstrip().startswith("<!DOCTYPE html>")
    assert api(sandbox, "GET", "/staff").status_code == 503  # a refused request does not count, nor free a slot
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 59})
    assert api(sandbox, "GET", "/staff").status_code == 503  # rolling: still within the minute
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 2})
    assert api(sandbox, "GET", "/staff").status_code == 200


def test_rate_limit_switches(sandbox):
    admin(sandbox, "POST", "/rate_limit", json={"requests": 2, "window_seconds": 10, "retry_after": True})
    assert [api(sandbox, "GET", "/staff").status_code for _ in range(2)] == [200, 200]
    limited = api(sandbox, "GET", "/staff")
    assert limited.status_code == 503 and 1 <= int(limited.headers["Retry-After"]) <= 10
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 11})  # the window is 10 s now
    assert api(sandbox, "GET", "/staff").status_code == 200
    assert admin(sandbox, "POST", "/rate_limit", json={"requests": None}).json() == {
        "requests": None,
        "window_seconds": 10.0,
        "retry_after": True,
    }
    assert all(api(sandbox, "GET", "/staff").status_code == 200 for _ in range(8))
    for bad in ({"requests": 0}, {"requests": "30"}, {"window_seconds": 0}, {"per_minute": 30}):
        refused = requests.post(sandbox.bigtime_admin_url + "/rate_limit", json=bad, timeout=10)
        assert refused.status_code == 400, bad


def test_the_sign_in_pages_are_not_counted(sandbox):
    admin(sandbox, "POST", "/rate_limit", json={"requests": 1, "window_seconds": 60})
    page = requests.get(
        sandbox.bigtime_url + "/oauth2/authorize",
        params={"response_type": "code", "client_id": cred.BT_CLIENT_ID, "redirect_uri": cred.BT_REDIRECT_URIS[0]},
        timeout=10,
    )
    assert page.status_code == 200
    assert api(sandbox, "GET", "/staff").status_code == 200
    assert api(sandbox, "GET", "/staff").status_code == 503


# ---- picklists, status, staff -----------------------------------------------------------------------
def test_inactive_status_deactivates_a_project(sandbox):
    statuses = api(sandbox, "GET", "/picklist/FieldValues/StatusProduction").json()
    inactive = next(s["Id"] for s in statuses if s["Group"] == "Inactive")
    pid = api(sandbox, "POST", "/project/detail", json={"Nm": "Short-lived", "ProjectCode": "SHORT"}).json()["SystemId"]
    done = api(sandbox, "POST", f"/project/detail/{pid}", json={"StatusProd": inactive}).json()
    assert done["IsInactive"] is True and done["StatusProd"] == inactive
    assert pid not in {p["SystemId"] for p in api(sandbox, "GET", "/project").json()}
    assert pid in {p["SystemId"] for p in api(sandbox, "GET", "/project", params={"ShowInactive": "true"}).json()}
    assert api(sandbox, "POST", f"/project/detail/{pid}", json={"StatusProd": 77}).status_code == 400


def test_picklists(sandbox):
    for name in ("projects", "clients", "staff", "LaborCodes"):
        items = api(sandbox, "GET", f"/picklist/{name}").json()
        assert items and all({"Id", "Name"} <= set(i) for i in items), name
    staff = api(sandbox, "GET", "/picklist/staff").json()
    assert [s["Name"] for s in staff] == [f"{first} {last}" for first, last, _ in story.STAFF]
    assert api(sandbox, "GET", "/picklist/FieldValues/NoSuchField").status_code == 400


def test_seed_matches_the_story(sandbox):
    clients = {c["Nm"] for c in api(sandbox, "GET", "/client", params={"ShowInactive": "true"}).json()}
    shared = {name for name, *_rest, in_bt in story.CUSTOMERS if in_bt}
    assert shared <= clients
    assert not ({name for name, *_rest, in_bt in story.CUSTOMERS if not in_bt} & clients)
    assert len(clients - shared) == 2
    projects = api(sandbox, "GET", "/project", params={"ShowInactive": "true"}).json()
    assert len(projects) == 8
    invoices = api(sandbox, "GET", "/invoice/history", params={"startDt": "2000-01-01", "endDt": "2100-01-01"}).json()
    statuses = {i["StatusTxt"] for i in invoices}
    assert {"Paid", "Partially Paid", "Open"} <= statuses
    partial = next(i for i in invoices if i["StatusTxt"] == "Partially Paid")
    detail = api(sandbox, "GET", f"/invoice/detail/{partial['Sid']}").json()  # the simple view has no TotalAmt
    assert 0 < partial["PaidAmt"] == detail["PaidAmt"] < detail["TotalAmt"]


def test_seed_is_deterministic():
    from bigsync_gui.sandbox.bigtime.data import BigTimeData
    from bigsync_gui.sandbox.bigtime.seed import seed_bigtime

    class FixedClock:
        def now(self) -> datetime:
            return datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)

    one, two = BigTimeData(FixedClock()), BigTimeData(FixedClock())
    seed_bigtime(one, random.Random(7))
    seed_bigtime(two, random.Random(7))
    assert one.to_json() == two.to_json()
    assert len(one.records["time"]) > 100
    restored = BigTimeData.from_json(json.loads(json.dumps(one.to_json())), FixedClock())
    assert restored.to_json() == json.loads(json.dumps(one.to_json()))
    assert restored.ledger.budget_status(min(one.records["project"])) == one.ledger.budget_status(
        min(one.records["project"])
    )


# ---- time, expenses, invoices, budgets --------------------------------------------------------------
def _new_project_with_tasks(sandbox) -> tuple[int, int, int, int]:
    client = admin(sandbox, "POST", "/records/client", json={"Nm": "Budget Co"}).json()["SystemId"]
    project = admin(
        sandbox,
        "POST",
        "/records/project",
        json={
            "Nm": "Budgeted",
            "ClientId": client,
            "BillingRate": 100,
            "BudgetHours": 30,
            "BudgetFees": 3000,
            "Tasks": [
                {"TaskNm": "Design", "BudgetHours": 10, "BudgetFees": 1000, "BudgetExps": 200},
                {"TaskNm": "Build", "BudgetHours": 20, "BudgetFees": 2000},
            ],
        },
    ).json()
    tasks = api(sandbox, "GET", f"/task/ListByProject/{project['SystemId']}").json()
    staff = min(s["SystemId"] for s in api(sandbox, "GET", "/staff").json())
    return project["SystemId"], tasks[0]["TaskSid"], tasks[1]["TaskSid"], staff


def test_budget_status_is_consistent_with_time_expenses_and_invoices(sandbox):
    pid, design, build, staff = _new_project_with_tasks(sandbox)
    today = date.fromisoformat(admin(sandbox, "GET", "/clock").json()["now"][:10])
    d1, d2 = (today - timedelta(days=10)).isoformat(), (today - timedelta(days=3)).isoformat()
    logged = api(
        sandbox,
        "POST",
        "/time",
        json={"ProjectSID": pid, "Dt": d1, "TaskSID": design, "Hours_IN": 4, "Notes": "kickoff"},
    )
    assert logged.status_code == 200, logged.text
    assert logged.json()["ChargeBillable"] == 400.0 and logged.json()["StaffSID"] == staff
    api(
        sandbox,
        "POST",
        "/time/detail",
        json={"projectsid": pid, "dt": d1, "tasksid": build, "hours_in": 6, "hoursbillable": 5},
    )
    admin(
        sandbox,
        "POST",
        "/records/expense",
        json={"ProjectSID": pid, "StaffSID": staff, "Dt": d1, "CatSID": 41, "CostIN": 320, "TaskSID": design},
    )
    invoice = admin(
        sandbox,
        "POST",
        "/records/invoice",
        json={"ProjectSid": pid, "InvoiceDt": (today - timedelta(days=5)).isoformat()},
    ).json()
    assert invoice["InvoiceAmt"] == 400.0 + 500.0 + 320.0 and invoice["StatusTxt"] == "Open"
    api(
        sandbox, "POST", "/time", json={"ProjectSID": pid, "Dt": d2, "TaskSID": build, "Hours_IN": 2}
    )  # after the invoice: WIP
    paid = admin(sandbox, "POST", f"/invoices/{invoice['Sid']}/payments", json={"amount": 500}).json()
    assert paid["PaidAmt"] == 500.0 and paid["StatusTxt"] == "Partially Paid"

    strict = {r["TaskNm"]: r for r in api(sandbox, "GET", f"/task/BudgetStatusByProject/{pid}").json()}
    assert set(strict["Design"]) == {
        "TaskSid",
        "TaskNm",
        "EstTotal",
        "InvoicedToDate",
        "WipTotal",
        "HrsIn",
        "ChargeIn",
        "FeeCostIn",
        "ExpCostIn",
    }  # the live-checked names only
    admin(sandbox, "POST", "/switches", json={"budget_row_aliases": True})
    rows = {r["TaskNm"]: r for r in api(sandbox, "GET", f"/task/BudgetStatusByProject/{pid}").json()}
    assert set(rows) == {"Design", "Build"}
    assert all(rows[t][k] == v for t in rows for k, v in strict[t].items())
    d, b = rows["Design"], rows["Build"]
    assert (d["HoursInput"], d["HrsIn"], d["HoursBill"]) == (4.0, 4.0, 4.0)
    assert (d["FeesInput"], d["ChargeIn"]) == (400.0, 400.0)
    assert (d["ExpensesInput"], d["ExpCostIn"], d["ExpensesBillable"]) == (320.0, 320.0, 320.0)
    assert (d["InvoicedToDate"], d["TotalWip"], d["WipTotal"]) == (720.0, 0.0, 0.0)
    assert (d["BudgetHours"], d["BudgetFees"], d["EstTotal"]) == (10.0, 1000.0, 1200.0)
    assert (b["HoursInput"], b["HoursBill"], b["FeesInput"]) == (8.0, 7.0, 700.0)
    assert (b["InvoicedToDate"], b["TotalWip"], b["WipTotal"]) == (500.0, 200.0, 200.0)
    assert b["FeesCost"] == b["FeeCostIn"] > 0
    totals = admin(sandbox, "GET", f"/projects/{pid}/totals").json()
    assert totals["InvoicedToDate"] == 1220.0 and totals["TotalAmt"] == 1220.0 and totals["PaidAmt"] == 500.0
    assert totals["HrsIn"] == 12.0 and totals["BudgetExps"] == 200.0

    by_project = api(sandbox, "GET", f"/time/ByProject/{pid}", params={"StartDt": d1, "EndDt": d1}).json()
    assert sorted(e["Hours_IN"] for e in by_project) == [4.0, 6.0]
    assert all(e["IsInvoiced"] and e["InvoiceSID"] == invoice["Sid"] for e in by_project)
    sheet = api(sandbox, "GET", f"/time/Sheet/{staff}", params={"StartDt": d2, "EndDt": d2, "View": "Detailed"}).json()
    assert [(e["ProjectSID"], e["Hours_IN"]) for e in sheet if e["ProjectSID"] == pid] == [(pid, 2.0)]
    expenses = api(
        sandbox, "POST", "/expense/ReportByFilter", json={"mindate": d1, "maxdate": d2, "projectsids": [pid]}
    ).json()
    assert [(e["CostIN"], e["IsInvoiced"]) for e in expenses] == [(320.0, True)]
    detail = api(sandbox, "GET", f"/invoice/detail/{invoice['Sid']}").json()
    assert detail["PaidAmt"] == 500.0 and detail["ProjectSid"] == pid and len(detail["Lines"]) == 3


def test_invoice_history_needs_both_dates_and_drafts_are_apart(sandbox):
    only_start = api(sandbox, "GET", "/invoice/history", params={"startDt": "2026-01-01"})
    assert only_start.status_code == 400 and only_start.json()["Message"] == "Both startDt and endDt are required."
    assert api(sandbox, "GET", "/invoice/history").status_code == 400
    assert api(sandbox, "GET", "/invoice/history", params={"startDt": "2026-01-01", "endDt": "bad"}).status_code == 400
    window = api(sandbox, "GET", "/invoice/history", params={"StartDt": "2000-01-01", "EndDt": "2100-12-31"}).json()
    assert window and all(i["Status"] != 0 and i["InvoiceNbr"] for i in window)
    drafts = api(sandbox, "GET", "/invoice/drafts").json()
    assert drafts and all(d["StatusTxt"] == "Draft" for d in drafts)
    assert not {d["Sid"] for d in drafts} & {i["Sid"] for i in window}
    empty = api(sandbox, "GET", "/invoice/history", params={"startDt": "1990-01-01", "endDt": "1990-12-31"})
    assert empty.status_code == 200 and empty.json() == []
    admin(sandbox, "POST", "/settings", json={"permissions": {"can_view_invoices": False}})
    assert api(sandbox, "GET", "/invoice/drafts").status_code == 405


def test_payment_cannot_exceed_what_is_due(sandbox):
    pid, design, _build, _staff = _new_project_with_tasks(sandbox)
    invoice = admin(sandbox, "POST", "/records/invoice", json={"ProjectSid": pid, "InvoiceAmt": 1000}).json()
    over = requests.post(
        f"{sandbox.bigtime_admin_url}/invoices/{invoice['Sid']}/payments", json={"amount": 1000.01}, timeout=10
    )
    assert over.status_code == 400
    assert (
        admin(sandbox, "POST", f"/invoices/{invoice['Sid']}/payments", json={"amount": 1000}).json()["StatusTxt"]
        == "Paid"
    )


# ---- delete (exists; the app must never call it) ------------------------------------------------------
def test_delete_project_is_permanent_and_logged(sandbox):
    pid = api(sandbox, "POST", "/project/detail", json={"Nm": "Doomed", "ProjectCode": "DOOMED"}).json()["SystemId"]
    admin(sandbox, "DELETE", "/log")
    assert api(sandbox, "DELETE", f"/project/detail/{pid}").status_code == 200
    assert api(sandbox, "GET", f"/project/detail/{pid}").status_code == 404
    entries = admin(sandbox, "GET", "/log").json()["entries"]
    assert [(e["method"], e["status"]) for e in entries] == [("DELETE", 200), ("GET", 404)]


# ---- faults ----------------------------------------------------------------------------------------
def test_fault_status_with_retry_after(sandbox):
    admin(sandbox, "POST", "/faults", json={"kind": "status", "status": 503, "path": "/project$", "retry_after": 7})
    faulted = api(sandbox, "GET", "/project")
    assert faulted.status_code == 503 and faulted.headers["Retry-After"] == "7"
    assert faulted.json() == {"Message": "Injected fault: HTTP 503"}
    assert api(sandbox, "GET", "/project").status_code == 200


def test_fault_latency(sandbox):
    admin(sandbox, "POST", "/faults", json={"kind": "latency", "seconds": 0.4, "path": "/staff"})
    started = time.monotonic()
    response = api(sandbox, "GET", "/staff")
    assert response.status_code == 200 and time.monotonic() - started >= 0.4


def test_fault_drop_after_processing_creates_the_project(sandbox):
    admin(sandbox, "POST", "/faults", json={"kind": "drop", "method": "POST", "path": "/project/detail$"})
    with pytest.raises(requests.exceptions.ConnectionError):
        api(sandbox, "POST", "/project/detail", json={"Nm": "Lost reply project", "ProjectCode": "LOST-1"})
    names = [p["Nm"] for p in api(sandbox, "GET", "/project").json()]
    assert names.count("Lost reply project") == 1


def test_fault_html_error_page(sandbox):
    admin(sandbox, "POST", "/faults", json={"kind": "html", "status": 500, "path": "/client"})
    response = api(sandbox, "GET", "/client")
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text.lower()
    with pytest.raises(ValueError):
        response.json()


# ---- admin API ---------------------------------------------------------------------------------------
def test_admin_records_crud(sandbox):
    created = admin(sandbox, "POST", "/records/client", json={"Nm": "Admin Made"})
    assert created.status_code == 201
    cid = created.json()["SystemId"]
    patched = admin(sandbox, "PATCH", f"/records/client/{cid}", json={"City": "Oslo"}).json()
    assert patched["City"] == "Oslo"
    assert api(sandbox, "GET", f"/client/detail/{cid}").json()["City"] == "Oslo"
    contact = admin(
        sandbox,
        "POST",
        "/records/contact",
        json={"ProjectSid": min(p["SystemId"] for p in api(sandbox, "GET", "/project").json()), "FName": "Ada"},
    ).json()
    assert admin(sandbox, "GET", f"/records/contact/{contact['SystemId']}").json()["FName"] == "Ada"
    admin(sandbox, "DELETE", f"/records/client/{cid}")
    assert requests.get(f"{sandbox.bigtime_admin_url}/records/client/{cid}", timeout=10).status_code == 404
    bad = requests.post(f"{sandbox.bigtime_admin_url}/records/project", json={"ProjectCode": "no name"}, timeout=10)
    assert bad.status_code == 400 and "Nm" in bad.json()["message"]
    staff = admin(sandbox, "GET", "/records/staff").json()
    assert staff[0]["login"] == cred.BT_USERNAME and staff[0]["permissions"]["can_create_projects"] is True
    assert requests.get(f"{sandbox.bigtime_admin_url}/records/widgets", timeout=10).status_code == 404


# ---- redirect URIs and PKCE (unknowns: both readings accepted) ----------------------------------------
def test_loopback_redirect_only_on_the_registered_port_unless_switched(sandbox):
    base = sandbox.bigtime_url
    other_port = "http://127.0.0.1:53682/BigTimeRedirect"
    strict = requests.get(
        base + "/oauth2/authorize", params={"client_id": cred.BT_CLIENT_ID, "redirect_uri": other_port}, timeout=10
    )
    assert strict.status_code == 400 and "is not registered" in strict.text  # BigTime promises no RFC 8252 ports
    admin(sandbox, "POST", "/switches", json={"loopback_any_port": True})
    final = browser_login(base, {"client_id": cred.BT_CLIENT_ID, "redirect_uri": other_port, "state": "p"})
    assert final.headers["Location"].startswith(other_port + "?code=")
    wrong_path = requests.get(
        base + "/oauth2/authorize",
        params={"client_id": cred.BT_CLIENT_ID, "redirect_uri": "http://127.0.0.1:53682/elsewhere"},
        timeout=10,
    )
    assert wrong_path.status_code == 400


def test_pkce_is_checked_when_the_client_sends_a_verifier(sandbox):
    import base64
    import hashlib

    base = sandbox.bigtime_url
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": cred.BT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }

    def code() -> str:
        return parse_qs(urlsplit(browser_login(base, params).headers["Location"]).query)["code"][0]

    assert exchange(base, code(), code_verifier="x" * 50).json()["error"] == "invalid_grant"
    assert exchange(base, code(), code_verifier=verifier).status_code == 200
    assert exchange(base, code()).status_code == 200  # a client that does not do PKCE also works


def test_direct_calls_default_to_the_admin_and_today(sandbox):
    pid = min(p["SystemId"] for p in api(sandbox, "GET", "/project").json())
    entry = admin(sandbox, "POST", "/records/time", json={"ProjectSID": pid, "Hours_IN": 1.5}).json()
    today = admin(sandbox, "GET", "/clock").json()["now"][:10]
    assert entry["Dt"] == today + "T00:00:00"
    assert entry["StaffSID"] == min(s["SystemId"] for s in api(sandbox, "GET", "/staff").json())
    missing_date = api(sandbox, "POST", "/time", json={"ProjectSID": pid, "Hours_IN": 1})
    assert missing_date.status_code == 400 and missing_date.json()["Message"] == "Dt is required."


# ---- the strict reading and its switches ----------------------------------------------------------------
def test_switches_list_set_check_and_reset(sandbox):
    listed = admin(sandbox, "GET", "/switches").json()
    assert {k: listed["project_code_max"][k] for k in ("value", "strict", "lenient")} == {
        "value": 30,
        "strict": 30,
        "lenient": 30,
    }
    assert (listed["limit_overflow"]["value"], listed["limit_overflow"]["lenient"]) == ("refuse", "truncate")
    assert all(s["value"] == s["strict"] for s in listed.values())
    bad = requests.post(
        sandbox.bigtime_admin_url + "/switches", json={"budget_row_aliases": True, "nope": 1}, timeout=10
    )
    assert bad.status_code == 400 and "nope" in bad.json()["message"]
    assert admin(sandbox, "GET", "/switches").json()["budget_row_aliases"]["value"] is False  # nothing was set
    wrong = requests.post(sandbox.bigtime_admin_url + "/switches", json={"limit_overflow": "wrap"}, timeout=10)
    assert wrong.status_code == 400
    lenient = admin(sandbox, "POST", "/switches", json={"preset": "lenient", "project_code_max": 18}).json()
    assert lenient["project_code_max"]["value"] == 18 and lenient["budget_row_aliases"]["value"] is True
    admin(sandbox, "POST", "/reset")
    assert all(s["value"] == s["strict"] for s in admin(sandbox, "GET", "/switches").json().values())
    sf = requests.get(sandbox.salesforce_admin_url + "/switches", timeout=10)
    assert sf.status_code == 200 and set(sf.json()) >= {"empty_update_touches", "cdc_unselected_subscribe_refused"}
    assert sf.json()["empty_update_touches"]["value"] is False


def test_strict_list_view_and_entries_leave_the_project_alone(sandbox):
    pid, design, _build, _staff = _new_project_with_tasks(sandbox)
    listed = next(p for p in api(sandbox, "GET", "/project").json() if p["SystemId"] == pid)
    assert "DtModified" not in listed and "BudgetFees" not in listed and "BudgetHours" not in listed
    before = admin(sandbox, "GET", f"/records/project/{pid}").json()["DtModified"]
    admin(sandbox, "POST", "/clock", json={"advance_seconds": 60})
    today = admin(sandbox, "GET", "/clock").json()["now"][:10]
    logged = api(sandbox, "POST", "/time", json={"ProjectSID": pid, "Dt": today, "TaskSID": design, "Hours_IN": 2})
    assert logged.status_code == 200, logged.text
    assert admin(sandbox, "GET", f"/records/project/{pid}").json()["DtModified"] == before

    admin(sandbox, "POST", "/switches", json={"project_list_dt_modified": True, "entries_touch_project": True})
    assert (
        api(
            sandbox, "POST", "/time", json={"ProjectSID": pid, "Dt": today, "TaskSID": design, "Hours_IN": 2}
        ).status_code
        == 200
    )
    listed = next(p for p in api(sandbox, "GET", "/project").json() if p["SystemId"] == pid)
    assert listed["DtModified"] > before


def test_taxed_invoice_amounts_differ_unless_switched(sandbox):
    admin(sandbox, "POST", "/switches", json={"history_total_amt": True})
    history = api(sandbox, "GET", "/invoice/history", params={"startDt": "2000-01-01", "endDt": "2100-01-01"}).json()
    taxed = [i for i in history if i["TotalAmt"] != i["InvoiceAmt"]]
    assert taxed and all(i["TotalAmt"] > i["InvoiceAmt"] for i in taxed)
    assert any(i["TotalAmt"] == i["InvoiceAmt"] for i in history)  # fixed fees and retainers are not taxed
    assert all(i["Status"] != 0 for i in history)  # posted only
    admin(sandbox, "POST", "/switches", json={"invoice_amount_is_total": True})
    again = api(sandbox, "GET", "/invoice/history", params={"startDt": "2000-01-01", "endDt": "2100-01-01"}).json()
    assert all(i["InvoiceAmt"] == i["TotalAmt"] for i in again)


@pytest.mark.parametrize("limit, overflow", [(18, "truncate"), (15, "refuse"), (None, "truncate"), (18, "keep")])
def test_project_code_limit(sandbox, limit, overflow):
    admin(sandbox, "POST", "/switches", json={"project_code_max": limit, "limit_overflow": overflow})
    code = "SF-006Kx00000000G9IAI"
    answer = api(sandbox, "POST", "/project/detail", json={"Nm": "Coded", "ProjectCode": code, "ClientId": 201})
    if overflow == "refuse" and limit is not None:
        assert answer.status_code == 400 and "ProjectCode" in answer.json()["Message"]
        assert "too long" in answer.json()["Message"]
    else:
        assert answer.status_code == 200
        assert answer.json()["ProjectCode"] == (code[:limit] if limit and overflow == "truncate" else code)


# BigTime's help, "BigTime Character Limits": what each create and update is held to.
LIMITS = [
    ("/client/detail", "ClientId", 15, {"Nm": "Limited"}),
    ("/client/detail", "Nm", 50, {"ClientId": "LIM-1"}),
    ("/client/detail", "Notes", 500, {"Nm": "Limited", "ClientId": "LIM-2"}),
    ("/project/detail", "ProjectCode", 30, {"Nm": "Limited", "ClientId": 201}),
    ("/project/detail", "Nm", 500, {"ProjectCode": "LIM-1", "ClientId": 201}),
    ("/project/detail", "Notes", 8000, {"Nm": "Limited", "ProjectCode": "LIM-2", "ClientId": 201}),
]


@pytest.mark.parametrize("path, field, limit, others", LIMITS)
def test_documented_character_limits_are_refused_by_default(sandbox, path, field, limit, others):
    listing = "/" + path.split("/")[1]
    before = len(api(sandbox, "GET", listing, params={"ShowInactive": "true"}).json())
    fits = api(sandbox, "POST", path, json={**others, field: "x" * limit})
    assert fits.status_code == 200, fits.text
    over = api(sandbox, "POST", path, json={**others, field: "y" * (limit + 1)})
    assert over.status_code == 400 and over.json()["Message"] == (
        f"{field} is too long: at most {limit} characters are allowed."
    )
    assert len(api(sandbox, "GET", listing, params={"ShowInactive": "true"}).json()) == before + 1  # nothing made
    update = api(sandbox, "POST", f"{path}/{fits.json()['SystemId']}", json={field: "z" * (limit + 1)})
    assert update.status_code == 400 and field in update.json()["Message"]
    assert (
        api(sandbox, "GET", f"{path}/{fits.json()['SystemId']}", params=DETAILED).json()[field] == "x" * limit
    )  # unchanged


def test_client_codes_are_unique_ignoring_case_unless_switched(sandbox):
    """ "BigTime requires every client in the system to have a unique Id" (its help)."""
    first = api(sandbox, "POST", "/client/detail", json={"Nm": "One", "ClientId": "ACME-1"})
    assert first.status_code == 200
    again = api(sandbox, "POST", "/client/detail", json={"Nm": "Two", "ClientId": " acme-1 "})
    assert again.status_code == 400 and again.json()["Message"].startswith("ClientId must be unique")
    other = api(sandbox, "POST", "/client/detail", json={"Nm": "Three", "ClientId": "ACME-2"}).json()["SystemId"]
    assert api(sandbox, "POST", f"/client/detail/{other}", json={"ClientId": "Acme-1"}).status_code == 400
    mine = first.json()["SystemId"]
    assert api(sandbox, "POST", f"/client/detail/{mine}", json={"ClientId": "ACME-1", "Nm": "One"}).status_code == 200
    admin(sandbox, "POST", "/switches", json={"client_id_unique": False})
    assert api(sandbox, "POST", "/client/detail", json={"Nm": "Two", "ClientId": "ACME-1"}).status_code == 200


def test_character_limits_count_utf16_units(sandbox):
    """The strict count: .NET's, in UTF-16 code units, where an emoji is two."""
    over = api(sandbox, "POST", "/client/detail", json={"Nm": "🚀" * 26, "ClientId": "EMOJI"})
    assert over.status_code == 400 and "Nm is too long" in over.json()["Message"]
    assert api(sandbox, "POST", "/client/detail", json={"Nm": "🚀" * 25, "ClientId": "EMOJI"}).status_code == 200
    admin(sandbox, "POST", "/switches", json={"limit_overflow": "truncate"})
    cut = api(sandbox, "POST", "/client/detail", json={"Nm": "a" + "🚀" * 25, "ClientId": "EMOJI-2"})
    assert cut.status_code == 200 and cut.json()["Nm"] == "a" + "🚀" * 24  # never half an emoji


@pytest.mark.parametrize("path, field, limit, others", LIMITS)
@pytest.mark.parametrize("overflow", ["truncate", "keep"])
def test_character_limits_cut_or_keep_under_the_switch(sandbox, path, field, limit, others, overflow):
    admin(sandbox, "POST", "/switches", json={"limit_overflow": overflow})
    value = "".join(chr(ord("a") + i % 26) for i in range(limit + 7))
    answer = api(sandbox, "POST", path, json={**others, field: value})
    assert answer.status_code == 200, answer.text
    kept = api(sandbox, "GET", f"{path}/{answer.json()['SystemId']}", params=DETAILED).json()[field]
    assert kept == (value[:limit] if overflow == "truncate" else value)


def test_token_endpoint_takes_the_client_in_the_body_only_unless_switched(sandbox):
    """BigTime documents client_id and client_secret in the token request's body; HTTP Basic is a lenient reading."""
    base = sandbox.bigtime_url
    basic = (cred.BT_CLIENT_ID, cred.BT_CLIENT_SECRET)
    body = {"grant_type": "authorization_code", "code": get_code(base), "redirect_uri": REDIRECT}
    refused = requests.post(base + "/oauth2/accesstoken", json=body, auth=basic, timeout=10)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    admin(sandbox, "POST", "/switches", json={"token_basic_auth": True})
    body["code"] = get_code(base)
    assert requests.post(base + "/oauth2/accesstoken", json=body, auth=basic, timeout=10).status_code == 200


# ---- the strict readings of figures: invoice history's simple view, a task-budgeted project's detail ----
HISTORY_WINDOW = {"startDt": "2000-01-01", "endDt": "2100-01-01"}


@pytest.mark.parametrize("switched", [False, True])
def test_invoice_history_simple_view_has_total_only_when_switched_and_detail_always(sandbox, switched):
    admin(sandbox, "POST", "/switches", json={"history_total_amt": switched})
    history = api(sandbox, "GET", "/invoice/history", params=HISTORY_WINDOW).json()
    assert history and all(("TotalAmt" in i) is switched for i in history)
    assert all("Lines" not in i and {"Sid", "ProjectSid", "InvoiceAmt", "PaidAmt", "Status"} <= set(i) for i in history)
    for simple in history:
        detail = api(sandbox, "GET", f"/invoice/detail/{simple['Sid']}")
        assert detail.status_code == 200, detail.text
        body = detail.json()
        assert {
            "Sid",
            "ProjectSid",
            "ClientSid",
            "InvoiceNbr",
            "InvoiceDt",
            "InvoiceDtDue",
            "InvoiceAmt",
            "TotalAmt",
            "PaidAmt",
            "Status",
            "StatusTxt",
            "Lines",
        } <= set(body)
        assert {k: v for k, v in body.items() if k in simple} == simple  # the same invoice, more fields
        assert body["TotalAmt"] >= body["InvoiceAmt"] > 0
        assert sum(line["Amount"] for line in body["Lines"]) == pytest.approx(body["InvoiceAmt"])
    assert api(sandbox, "GET", "/invoice/detail/999999").status_code == 404


@pytest.mark.parametrize("switched", [False, True])
def test_task_budgeted_project_detail_has_project_budget_only_when_switched(sandbox, switched):
    admin(sandbox, "POST", "/switches", json={"task_budget_on_detail": switched})
    pid, *_ = _new_project_with_tasks(sandbox)
    detail = api(sandbox, "GET", f"/project/detail/{pid}", params={"View": "Detailed"}).json()
    if switched:
        assert (detail["BudgetFees"], detail["BudgetHours"]) == (3000.0, 30.0)
    else:
        assert "BudgetFees" not in detail and "BudgetHours" not in detail
    rows = api(sandbox, "GET", f"/task/BudgetStatusByProject/{pid}").json()
    assert sum(r["EstTotal"] for r in rows) == 3200.0  # the budget is there either way, on the rows
    client = admin(sandbox, "POST", "/records/client", json={"Nm": "Flat Co"}).json()["SystemId"]
    flat = api(
        sandbox,
        "POST",
        "/project/detail",
        json={"Nm": "Flat", "ProjectCode": "FLAT", "ClientId": client, "BudgetFees": 900, "BudgetHours": 9},
    ).json()
    assert (flat["BudgetFees"], flat["BudgetHours"]) == (900.0, 9.0)  # not budgeted by task: always there


def test_the_demo_login_comes_before_the_form(sandbox):
    """In the wizard's embedded browser a hint under the Sign In button was below the fold (as on
    Salesforce's page, tests/unit/test_sandbox_login_hint.py): it comes first."""
    page = requests.get(
        sandbox.bigtime_url + "/oauth2/authorize",
        params={"client_id": cred.BT_CLIENT_ID, "redirect_uri": REDIRECT},
        timeout=10,
    ).text
    hint, form = page.index('id="sandbox_hint"'), page.index('id="login"')
    assert hint < form < page.index('id="UserId"')
    assert all(value in page[hint:form] for value in (cred.BT_USERNAME, cred.BT_PASSWORD, cred.BT_FIRM_ID))
