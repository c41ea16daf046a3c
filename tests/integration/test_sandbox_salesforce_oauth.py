"""The Salesforce emulator's OAuth 2.0 web server flow with PKCE, driven by requests-oauthlib and a
form-posting "browser" made of plain requests."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
from requests_oauthlib import OAuth2Session

from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import submit

REDIRECT = cred.SF_REDIRECT_URIS[0]


@pytest.fixture(autouse=True)
def _loopback_http(monkeypatch):
    # oauthlib refuses http:// unless told; the sandbox is plain HTTP on 127.0.0.1.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def log_in(browser: requests.Session, url: str, password: str = cred.SF_PASSWORD) -> requests.Response:
    page = browser.get(url, timeout=10)
    assert page.status_code == 200, page.text
    assert "Log In to Salesforce" in page.text and cred.SF_ORG_NAME in page.text
    return submit(browser, page, {"username": cred.SF_USERNAME, "pw": password}, button="Login")


def authorize(url: str, approve: bool = True) -> str:
    """Log in, answer the consent page, return the redirect's Location (not followed)."""
    browser = requests.Session()
    consent = log_in(browser, url)
    assert consent.status_code == 200, consent.text
    assert "Allow Access?" in consent.text
    redirect = submit(browser, consent, {}, button="oaapprove" if approve else "oadeny")
    assert redirect.status_code == 302
    return redirect.headers["Location"]


def new_session(scope=("api", "refresh_token")) -> OAuth2Session:
    return OAuth2Session(cred.SF_CONSUMER_KEY, redirect_uri=REDIRECT, scope=list(scope), pkce="S256")


def token_url(sandbox) -> str:
    return sandbox.salesforce_url + "/services/oauth2/token"


def connect(sandbox, scope=("api", "refresh_token")) -> tuple[OAuth2Session, dict]:
    oauth = new_session(scope)
    url, _state = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    token = oauth.fetch_token(token_url(sandbox), authorization_response=authorize(url), include_client_id=True)
    return oauth, token


def rest(sandbox, access_token: str) -> requests.Response:
    return requests.get(
        sandbox.salesforce_url + "/services/data/v67.0/query",
        params={"q": "SELECT COUNT() FROM Opportunity"},
        headers={"Authorization": "Bearer " + access_token},
        timeout=10,
    )


def raw_token(sandbox, **form) -> requests.Response:
    return requests.post(token_url(sandbox), data={"client_id": cred.SF_CONSUMER_KEY, **form}, timeout=10)


def code_and_verifier(sandbox) -> tuple[str, OAuth2Session]:
    oauth = new_session()
    url, state = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    query = parse_qs(urlsplit(authorize(url)).query)
    assert query["state"] == [state]
    return query["code"][0], oauth


# ---- the happy path --------------------------------------------------------------------------------------
def test_pkce_flow_token_shape_and_api_call(sandbox):
    oauth = new_session()
    url, state = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    assert "code_challenge_method=S256" in url
    location = authorize(url)
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT
    assert parse_qs(parts.query)["state"] == [state]

    token = oauth.fetch_token(token_url(sandbox), authorization_response=location, include_client_id=True)
    assert re.fullmatch(r"00DKx000000ACME!AR[\w.]+", token["access_token"])
    assert token["refresh_token"].startswith("5Aep")
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == sandbox.salesforce_url
    assert re.fullmatch(re.escape(sandbox.salesforce_url) + r"/id/00D\w{15}/005\w{15}", token["id"])
    assert token["issued_at"].isdigit() and len(token["issued_at"]) == 13
    assert set(token["scope"]) == {"api", "refresh_token"}
    assert "expires_in" not in token and "signature" in token

    r = rest(sandbox, token["access_token"])
    assert r.status_code == 200 and r.json()["totalSize"] == 41
    identity = oauth.get(token["id"]).json()
    assert identity["username"] == cred.SF_USERNAME
    assert identity["organization_id"] == token["id"].split("/")[-2]
    assert identity["urls"]["rest"].endswith("/services/data/v{version}/")
    info = oauth.get(sandbox.salesforce_url + "/services/oauth2/userinfo").json()
    assert info["preferred_username"] == cred.SF_USERNAME
    assert info["user_id"] == token["id"].split("/")[-1]


def test_refresh_without_rotation_returns_no_new_refresh_token(sandbox):
    oauth, token = connect(sandbox)
    refreshed = oauth.refresh_token(
        token_url(sandbox), refresh_token=token["refresh_token"], client_id=cred.SF_CONSUMER_KEY
    )
    assert refreshed["access_token"] != token["access_token"]
    assert rest(sandbox, refreshed["access_token"]).status_code == 200
    raw = raw_token(sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert raw.status_code == 200
    assert "refresh_token" not in raw.json() and "expires_in" not in raw.json()
    assert raw.json()["instance_url"] == sandbox.salesforce_url
    # the old access token still works: refreshing does not end other sessions
    assert rest(sandbox, token["access_token"]).status_code == 200


def test_refresh_with_rotation(sandbox):
    requests.post(
        sandbox.salesforce_admin_url + "/settings", json={"rotate_refresh_tokens": True}, timeout=10
    ).raise_for_status()
    _oauth, token = connect(sandbox)
    first = raw_token(sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != token["refresh_token"]
    old = raw_token(sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert old.status_code == 400
    assert old.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    again = raw_token(sandbox, grant_type="refresh_token", refresh_token=rotated)
    assert again.status_code == 200 and again.json()["refresh_token"] not in (rotated, token["refresh_token"])


def test_session_timeout_then_refresh(sandbox):
    oauth, token = connect(sandbox)
    requests.post(sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": 2 * 3600 + 60}, timeout=10)
    r = rest(sandbox, token["access_token"])
    assert r.status_code == 401 and r.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    refreshed = oauth.refresh_token(
        token_url(sandbox), refresh_token=token["refresh_token"], client_id=cred.SF_CONSUMER_KEY
    )
    assert rest(sandbox, refreshed["access_token"]).status_code == 200


def test_revoke_then_refresh_is_invalid_grant(sandbox):
    oauth, token = connect(sandbox)
    r = requests.post(
        sandbox.salesforce_url + "/services/oauth2/revoke", data={"token": token["refresh_token"]}, timeout=10
    )
    assert r.status_code == 200
    assert rest(sandbox, token["access_token"]).status_code == 401  # its access tokens die with it
    with pytest.raises(InvalidGrantError):
        oauth.refresh_token(token_url(sandbox), refresh_token=token["refresh_token"], client_id=cred.SF_CONSUMER_KEY)
    r = requests.post(sandbox.salesforce_url + "/services/oauth2/revoke", data={"token": "nonsense"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_token"


def test_admin_revokes_all_refresh_tokens(sandbox):
    _oauth, token = connect(sandbox)
    r = requests.post(sandbox.salesforce_admin_url + "/tokens/revoke", json={}, timeout=10)
    assert r.json()["revoked"] == 1
    raw = raw_token(sandbox, grant_type="refresh_token", refresh_token=token["refresh_token"])
    assert raw.status_code == 400 and raw.json()["error"] == "invalid_grant"


def test_refresh_token_only_when_asked_for(sandbox):
    _oauth, token = connect(sandbox, scope=("api",))
    assert "refresh_token" not in token
    assert rest(sandbox, token["access_token"]).status_code == 200


# ---- refusals ---------------------------------------------------------------------------------------------
def test_deny_redirects_with_access_denied_and_state(sandbox):
    oauth = new_session()
    url, state = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    query = parse_qs(urlsplit(authorize(url, approve=False)).query)
    assert query == {
        "error": ["access_denied"],
        "error_description": ["end-user denied authorization"],
        "state": [state],
    }


def test_wrong_password_shows_the_form_again(sandbox):
    oauth = new_session()
    url, _ = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    browser = requests.Session()
    page = log_in(browser, url, password="wrong")
    assert page.status_code == 200
    assert "Please check your username and password" in page.text
    assert "Allow Access?" not in page.text
    consent = submit(browser, page, {"username": cred.SF_USERNAME, "pw": cred.SF_PASSWORD}, button="Login")
    assert "Allow Access?" in consent.text
    redirect = submit(browser, consent, {}, button="oaapprove")
    assert "code" in parse_qs(urlsplit(redirect.headers["Location"]).query)
    # the login transaction is single use
    again = submit(browser, consent, {}, button="oaapprove")
    assert again.status_code == 400 and "Location" not in again.headers


def test_wrong_verifier_missing_verifier_and_reused_code(sandbox):
    code, oauth = code_and_verifier(sandbox)
    r = raw_token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier="x" * 50)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    code, oauth = code_and_verifier(sandbox)
    r = raw_token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    code, oauth = code_and_verifier(sandbox)
    ok = raw_token(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=oauth._code_verifier
    )
    assert ok.status_code == 200, ok.text
    reused = raw_token(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=oauth._code_verifier
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"


def test_expired_code_and_wrong_redirect_uri(sandbox):
    """Help's web server flow: the authorization code expires after 15 minutes."""
    code, oauth = code_and_verifier(sandbox)
    requests.post(sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": 14 * 60}, timeout=10)
    r = raw_token(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=oauth._code_verifier
    )
    assert r.status_code == 200, r.text
    code, oauth = code_and_verifier(sandbox)
    requests.post(sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": 901}, timeout=10).raise_for_status()
    r = raw_token(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=oauth._code_verifier
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"

    code, oauth = code_and_verifier(sandbox)
    r = raw_token(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=cred.SF_REDIRECT_URIS[1],
        code_verifier=oauth._code_verifier,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # the clock back where the other tests expect it (a reset keeps the clock)
    requests.post(sandbox.salesforce_admin_url + "/clock", json={"advance_seconds": -(14 * 60 + 901)}, timeout=10)


def test_unregistered_redirect_uri_is_an_error_page_not_a_redirect(sandbox):
    oauth = OAuth2Session(cred.SF_CONSUMER_KEY, redirect_uri="http://localhost:9999/evil", scope=["api"], pkce="S256")
    url, _ = oauth.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 400
    assert "Location" not in r.headers
    assert "redirect_uri_mismatch" in r.text and "<form" not in r.text

    bad_client = OAuth2Session("not-our-app", redirect_uri=REDIRECT, scope=["api"], pkce="S256")
    url, _ = bad_client.authorization_url(sandbox.salesforce_url + "/services/oauth2/authorize")
    r = requests.get(url, allow_redirects=False, timeout=10)
    assert r.status_code == 400 and "Location" not in r.headers and "invalid_client_id" in r.text


def test_bad_challenge_method_redirects_with_invalid_request(sandbox):
    r = requests.get(
        sandbox.salesforce_url + "/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": cred.SF_CONSUMER_KEY,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "code_challenge": "a" * 43,
            "code_challenge_method": "S512",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query) == {
        "error": ["invalid_request"],
        "error_description": ["invalid code challenge method"],
        "state": ["s1"],
    }


def authorize_url(sandbox, **params) -> str:
    query = {
        "response_type": "code",
        "client_id": cred.SF_CONSUMER_KEY,
        "redirect_uri": REDIRECT,
        "state": "s1",
        "scope": "api",
        **params,
    }
    return requests.Request("GET", sandbox.salesforce_url + "/services/oauth2/authorize", params=query).prepare().url


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_challenge_without_method_is_s256(sandbox):
    """Salesforce defines code_challenge as base64url(SHA-256(verifier)); no method is needed."""
    verifier = "v" * 43 + "-._~0123456789"
    code = parse_qs(urlsplit(authorize(authorize_url(sandbox, code_challenge=s256(verifier)))).query)["code"][0]
    ok = raw_token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert ok.status_code == 200, ok.text
    # a client reading an absent method as "plain" (challenge == verifier) is refused
    code = parse_qs(urlsplit(authorize(authorize_url(sandbox, code_challenge=verifier))).query)["code"][0]
    r = raw_token(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier)
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}


def test_plain_challenge_method_is_refused(sandbox):
    """The docs know only the SHA-256 challenge, so ``plain`` is an invalid request."""
    r = requests.get(
        authorize_url(sandbox, code_challenge="p" * 43, code_challenge_method="plain"),
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query) == {
        "error": ["invalid_request"],
        "error_description": ["invalid code challenge method"],
        "state": ["s1"],
    }


def test_token_endpoint_errors_and_password_grant(sandbox):
    r = raw_token(sandbox, grant_type="client_magic")
    assert r.status_code == 400 and r.json() == {
        "error": "unsupported_grant_type",
        "error_description": "grant type not supported",
    }
    r = requests.post(
        token_url(sandbox),
        data={
            "grant_type": "password",
            "client_id": "nope",
            "username": cred.SF_USERNAME,
            "password": cred.SF_PASSWORD,
        },
        timeout=10,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_id"
    r = raw_token(sandbox, grant_type="password", username=cred.SF_USERNAME, password="bad")
    assert r.status_code == 400 and r.json() == {
        "error": "invalid_grant",
        "error_description": "authentication failure",
    }
    r = raw_token(sandbox, grant_type="password", username=cred.SF_USERNAME, password=cred.SF_PASSWORD)
    assert r.status_code == 200 and "refresh_token" not in r.json()
    r = raw_token(sandbox, grant_type="refresh_token", refresh_token="5AepNotAToken")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_openid_configuration(sandbox):
    conf = requests.get(sandbox.salesforce_url + "/.well-known/openid-configuration", timeout=10).json()
    assert conf["token_endpoint"] == sandbox.salesforce_url + "/services/oauth2/token"
    assert conf["code_challenge_methods_supported"] == ["S256"]


def test_a_sixth_approval_revokes_the_oldest_for_requests_oauthlib_too(sandbox):
    """Help, "Manage OAuth Access for Your Connected Apps": five approvals per user and app."""
    grants = [connect(sandbox) for _ in range(6)]
    oldest_session, oldest = grants[0]
    assert rest(sandbox, oldest["access_token"]).status_code == 401
    with pytest.raises(InvalidGrantError):
        oldest_session.refresh_token(
            token_url(sandbox), refresh_token=oldest["refresh_token"], client_id=cred.SF_CONSUMER_KEY
        )
    session, token = grants[1]
    fresh = session.refresh_token(
        token_url(sandbox), refresh_token=token["refresh_token"], client_id=cred.SF_CONSUMER_KEY
    )
    assert rest(sandbox, fresh["access_token"]).status_code == 200
