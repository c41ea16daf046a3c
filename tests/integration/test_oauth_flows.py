"""connectors.oauth against the sandbox: both sign-in flows driven like a browser, the token
exchange, refresh (rotation, one at a time, revoked grants, proactive expiry), revocation and the
loopback listener."""

from __future__ import annotations

import re
import socket
import threading
import time

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bigsync_gui.connectors.errors import AuthorizationFailed, RateLimited, ReconnectNeeded, UnexpectedResponse
from bigsync_gui.connectors.http import HttpPolicy, RetryPolicy
from bigsync_gui.connectors.oauth import (
    AuthorizationAttempt,
    LoopbackListener,
    OAuthEndpoints,
    TokenRefresher,
    TokenSet,
    bigtime_endpoints,
    revoke,
    run_loopback_flow,
    salesforce_endpoints,
)
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse, free_port

SF_TOKEN_PATH = "/services/oauth2/token"
BT_TOKEN_PATH = "/BigtimeData/api/v2/oauth2/accesstoken"


# ---- helpers -------------------------------------------------------------------------------------------------
def sf_endpoints(
    sandbox, redirect_uri: str = cred.SF_REDIRECT_URIS[0], key: str = cred.SF_CONSUMER_KEY
) -> OAuthEndpoints:
    return salesforce_endpoints(sandbox.salesforce_url, key, redirect_uri)


def register_bigtime_redirect(sandbox, uri: str) -> None:
    """A free port (workers run in parallel), registered as an admin registers the callback URL:
    the strict emulator accepts no other loopback port."""
    admin(sandbox.bigtime_admin_url, "POST", "/settings", json={"redirect_uris": [uri]})


def bt_endpoints(
    sandbox,
    redirect_uri: str = cred.BT_REDIRECT_URIS[0],
    client_id: str = cred.BT_CLIENT_ID,
    secret: str = cred.BT_CLIENT_SECRET,
) -> OAuthEndpoints:
    return bigtime_endpoints(sandbox.bigtime_url, client_id, secret, redirect_uri)


def policy(system: str) -> HttpPolicy:
    return HttpPolicy(system, policy=RetryPolicy(initial_wait=0.01, max_wait=0.05, jitter=0.0))


def sign_in(endpoints: OAuthEndpoints, http: HttpPolicy | None = None) -> TokenSet:
    attempt = AuthorizationAttempt(endpoints, http or policy(endpoints.system))
    return attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, endpoints.system)))


def admin(url: str, method: str, path: str, **kwargs) -> requests.Response:
    r = requests.request(method, url + path, timeout=10, **kwargs)
    assert r.status_code < 300, r.text
    return r


def token_calls(admin_url: str, path: str) -> list[dict]:
    entries = admin(admin_url, "GET", "/log").json()["entries"]
    return [e for e in entries if e["path"].lower() == path.lower()]


def sf_query(sandbox, access_token: str) -> requests.Response:
    return requests.get(
        sandbox.salesforce_url + "/services/data/v67.0/query",
        params={"q": "SELECT COUNT() FROM Opportunity"},
        headers={"Authorization": "Bearer " + access_token},
        timeout=10,
    )


def bt_projects(sandbox, access_token: str) -> requests.Response:
    """The OAuth token the documented way (X-Auth-Token + X-Auth-Realm): every reading accepts it."""
    return requests.get(
        sandbox.bigtime_url + "/project",
        headers={
            "X-Auth-Token": access_token,
            "X-Auth-Realm": cred.BT_FIRM_ID,
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
        timeout=10,
    )


def raw_refresh(sandbox, system: str, refresh_token: str) -> requests.Response:
    if system == "salesforce":
        return requests.post(
            sandbox.salesforce_url + SF_TOKEN_PATH,
            data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": cred.SF_CONSUMER_KEY},
            timeout=10,
        )
    return requests.post(
        sandbox.bigtime_url + "/oauth2/accesstoken",
        json={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": cred.BT_CLIENT_ID,
            "client_secret": cred.BT_CLIENT_SECRET,
        },
        timeout=10,
    )


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


# ---- the two sign-in flows -----------------------------------------------------------------------------------
def test_salesforce_sign_in_then_rest_call(sandbox):
    http = policy("salesforce")
    attempt = AuthorizationAttempt(sf_endpoints(sandbox), http)
    location = browse(attempt.authorization_url, "salesforce")
    assert attempt.is_redirect(location)
    assert parse_qs(urlsplit(location).query)["state"] == [attempt.state]
    code = attempt.code_from_redirect(location)
    assert code.startswith("aPrx")

    tokens = attempt.exchange(code)
    assert re.fullmatch(r"00DKx000000ACME!AR[\w.]+", tokens.access_token)
    assert tokens.refresh_token is not None and tokens.refresh_token.startswith("5Aep")
    assert tokens.expires_at is None  # Salesforce sends no expires_in
    assert tokens.raw["instance_url"] == sandbox.salesforce_url
    assert tokens.raw["id"].startswith(sandbox.salesforce_url + "/id/00DKx000000ACMEMA4/005")
    assert tokens.raw["scope"] == "api refresh_token"  # the raw response, not oauthlib's list
    assert tokens.access_token not in repr(tokens)
    # the exchange went through the policy: one counted request (the sandbox requires the PKCE verifier)
    assert http.counter.snapshot() == {"salesforce": {"200": 1}}
    calls = token_calls(sandbox.salesforce_admin_url, SF_TOKEN_PATH)
    assert [(c["method"], c["status"]) for c in calls] == [("POST", 200)]

    r = sf_query(sandbox, tokens.access_token)
    assert r.status_code == 200 and r.json()["totalSize"] == 41


def test_bigtime_sign_in_then_api_call(sandbox, bigtime_reading):
    http = policy("bigtime")
    attempt = AuthorizationAttempt(bt_endpoints(sandbox), http)
    assert "code_challenge_method=S256" in attempt.authorization_url
    before = time.time()
    location = browse(attempt.authorization_url, "bigtime")
    assert ("state" in parse_qs(urlsplit(location).query)) == (bigtime_reading == "lenient")
    tokens = attempt.exchange(attempt.code_from_redirect(location))
    assert tokens.token_body == "json"  # the documented body, first
    assert ("firm" in tokens.raw) == (bigtime_reading == "lenient")
    assert tokens.raw["expires_in"] == 264960
    assert before + 264960 - 1 <= tokens.expires_at <= time.time() + 264960 + 1
    assert tokens.refresh_token and tokens.refresh_token != tokens.access_token
    assert http.counter.snapshot() == {"bigtime": {"200": 1}}

    r = bt_projects(sandbox, tokens.access_token)
    assert r.status_code == 200 and len(r.json()) == 7 and r.json()[0]["SystemId"] == 1001  # active projects


def test_bigtime_form_only_token_endpoint_falls_back_once_and_remembers(sandbox):
    admin(sandbox.bigtime_admin_url, "POST", "/switches", json={"token_json": False, "token_form": True})
    http = policy("bigtime")
    attempt = AuthorizationAttempt(bt_endpoints(sandbox), http)
    tokens = attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "bigtime")))
    assert tokens.token_body == "form"
    assert http.counter.snapshot() == {"bigtime": {"415": 1, "200": 1}}  # JSON refused, then the form once
    learnt: list[str] = []
    refresher = TokenRefresher(
        bt_endpoints(sandbox), http, tokens.refresh_token, lambda _t: None, tokens=tokens, on_token_body=learnt.append
    )
    assert bt_projects(sandbox, refresher.refresh().access_token).status_code == 200
    assert http.counter.snapshot() == {"bigtime": {"415": 1, "200": 2}}  # the refresh went straight to the form
    # A refresher that does not know the shape yet learns it, says so once, and keeps it.
    fresh = TokenRefresher(
        bt_endpoints(sandbox), http, refresher.current().refresh_token, lambda _t: None, on_token_body=learnt.append
    )
    fresh.refresh()
    fresh.refresh()
    assert learnt == ["form"] and http.counter.snapshot() == {"bigtime": {"415": 2, "200": 4}}


def test_bigtime_json_refusal_that_is_not_about_the_body_is_reported(sandbox):
    """Strict reading, expired code: JSON gets invalid_grant, the form 415; the user hears invalid_grant."""
    http = policy("bigtime")
    attempt = AuthorizationAttempt(bt_endpoints(sandbox), http)
    code = attempt.code_from_redirect(browse(attempt.authorization_url, "bigtime"))
    admin(sandbox.bigtime_admin_url, "POST", "/clock", json={"advance_seconds": 601})
    with pytest.raises(AuthorizationFailed) as err:
        attempt.exchange(code)
    assert err.value.error == "invalid_grant"
    assert http.counter.snapshot() == {"bigtime": {"400": 1, "415": 1}}


@pytest.mark.parametrize("system", ["salesforce", "bigtime"])
def test_deny_is_access_denied(sandbox, system):
    endpoints = sf_endpoints(sandbox) if system == "salesforce" else bt_endpoints(sandbox)
    http = policy(system)
    attempt = AuthorizationAttempt(endpoints, http)
    location = browse(attempt.authorization_url, system, allow=False)
    with pytest.raises(AuthorizationFailed) as err:
        attempt.code_from_redirect(location)
    assert err.value.error == "access_denied" and err.value.system == system
    label = "Salesforce" if system == "salesforce" else "BigTime"
    assert str(err.value).startswith(f"You clicked Deny, so {label} did not give BigSync access.")
    assert http.counter.total() == 0  # nothing was exchanged


def test_wrong_consumer_key_is_an_error_page_the_attempt_explains(sandbox):
    attempt = AuthorizationAttempt(sf_endpoints(sandbox, key="3MVGnotOurApp"), policy("salesforce"))
    page = requests.get(attempt.authorization_url, allow_redirects=False, timeout=10)
    assert page.status_code == 400 and "Location" not in page.headers  # no redirect: the browser shows the page
    failure = attempt.failure_from_page(page.url, page.text, page.status_code)
    assert failure is not None and failure.error == "invalid_client_id"
    assert str(failure).startswith("The consumer key is not known to Salesforce — check")
    with pytest.raises(AuthorizationFailed) as err:
        attempt.preflight()
    assert err.value.error == "invalid_client_id"


def test_unregistered_redirect_uri_preflight_says_what_to_register(sandbox):
    attempt = AuthorizationAttempt(
        sf_endpoints(sandbox, redirect_uri="http://localhost:7999/OauthRedirect"), policy("salesforce")
    )
    with pytest.raises(AuthorizationFailed) as err:
        attempt.preflight()
    assert err.value.error == "redirect_uri_mismatch"
    assert "register exactly http://localhost:7999/OauthRedirect as the callback URL" in str(err.value)
    # BigTime's error pages carry no OAuth code: the status says it
    bt = AuthorizationAttempt(bt_endpoints(sandbox, client_id="nope"), policy("bigtime"))
    with pytest.raises(AuthorizationFailed) as err:
        bt.preflight()
    assert err.value.error == "authorize_refused" and "HTTP 400" in str(err.value)
    # a good attempt passes preflight (the login page loads)
    AuthorizationAttempt(sf_endpoints(sandbox), policy("salesforce")).preflight()
    AuthorizationAttempt(bt_endpoints(sandbox), policy("bigtime")).preflight()


def test_reused_code_is_invalid_grant(sandbox):
    attempt = AuthorizationAttempt(sf_endpoints(sandbox), policy("salesforce"))
    code = attempt.code_from_redirect(browse(attempt.authorization_url, "salesforce"))
    first = attempt.exchange(code)
    assert sf_query(sandbox, first.access_token).status_code == 200
    with pytest.raises(AuthorizationFailed) as err:
        attempt.exchange(code)
    assert err.value.error == "invalid_grant"
    assert str(err.value).startswith("Salesforce refused the sign-in code")
    assert first.access_token not in str(err.value) and code not in str(err.value)


def test_bigtime_wrong_secret_at_exchange(sandbox):
    attempt = AuthorizationAttempt(bt_endpoints(sandbox, secret="wrong-secret"), policy("bigtime"))
    code = attempt.code_from_redirect(browse(attempt.authorization_url, "bigtime"))
    with pytest.raises(AuthorizationFailed) as err:
        attempt.exchange(code)
    assert err.value.error == "invalid_client"
    assert str(err.value).startswith("The client id or client secret is not known to BigTime — check")


def test_html_answer_from_token_endpoint_is_unexpected_response(sandbox):
    attempt = AuthorizationAttempt(bt_endpoints(sandbox), policy("bigtime"))
    code = attempt.code_from_redirect(browse(attempt.authorization_url, "bigtime"))
    admin(
        sandbox.bigtime_admin_url,
        "POST",
        "/faults",
        json={"kind": "html", "status": 400, "path": "/oauth2/accesstoken"},
    )
    with pytest.raises(UnexpectedResponse) as err:
        attempt.exchange(code)
    assert "answered HTTP 400 with something that is not a JSON object (text/html)" in str(err.value)


# ---- refresh ---------------------------------------------------------------------------------------------------
def test_salesforce_refresh_with_rotation(sandbox):
    admin(sandbox.salesforce_admin_url, "POST", "/settings", json={"rotate_refresh_tokens": True})
    first = sign_in(sf_endpoints(sandbox))
    rotated: list[str] = []
    http = policy("salesforce")
    refresher = TokenRefresher(sf_endpoints(sandbox), http, first.refresh_token, rotated.append, tokens=first)
    assert refresher.access_token() == first.access_token  # no expiry known: no request
    assert http.counter.total() == 0

    new = refresher.refresh()
    assert new.access_token != first.access_token and refresher.current() is new
    assert len(rotated) == 1 and rotated[0].startswith("5Aep") and rotated[0] != first.refresh_token
    assert new.refresh_token == rotated[0]
    assert sf_query(sandbox, new.access_token).status_code == 200
    dead = raw_refresh(sandbox, "salesforce", first.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    # the rotated token is used from then on
    newer = refresher.refresh()
    assert len(rotated) == 2 and rotated[1] != rotated[0] and newer.refresh_token == rotated[1]
    assert http.counter.snapshot() == {"salesforce": {"200": 2}}


def test_salesforce_refresh_without_rotation_keeps_the_refresh_token(sandbox):
    first = sign_in(sf_endpoints(sandbox))
    rotated: list[str] = []
    refresher = TokenRefresher(sf_endpoints(sandbox), policy("salesforce"), first.refresh_token, rotated.append)
    assert refresher.current() is None
    token = refresher.access_token()  # none yet: refreshes first
    assert token != first.access_token and sf_query(sandbox, token).status_code == 200
    assert rotated == [] and refresher.current().refresh_token == first.refresh_token
    assert refresher.current().raw["instance_url"] == sandbox.salesforce_url


def test_concurrent_refresh_of_the_same_stale_token_makes_one_request(sandbox):
    first = sign_in(sf_endpoints(sandbox))
    admin(sandbox.salesforce_admin_url, "DELETE", "/log")
    admin(
        sandbox.salesforce_admin_url,
        "POST",
        "/faults",
        json={"kind": "latency", "seconds": 0.3, "path": "/oauth2/token$"},
    )
    http = policy("salesforce")
    refresher = TokenRefresher(sf_endpoints(sandbox), http, first.refresh_token, lambda _t: None, tokens=first)
    barrier = threading.Barrier(8)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            results.append(refresher.refresh(first.access_token).access_token)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(results) == 8 and len(set(results)) == 1 and results[0] != first.access_token
    assert http.counter.total("salesforce") == 1
    assert [(c["method"], c["status"]) for c in token_calls(sandbox.salesforce_admin_url, SF_TOKEN_PATH)] == [
        ("POST", 200)
    ]


def test_revoked_refresh_token_needs_reconnect_and_never_loops(sandbox):
    first = sign_in(sf_endpoints(sandbox))
    admin(sandbox.salesforce_admin_url, "POST", "/tokens/revoke", json={})
    http = policy("salesforce")
    refresher = TokenRefresher(sf_endpoints(sandbox), http, first.refresh_token, lambda _t: None, tokens=first)
    with pytest.raises(ReconnectNeeded) as err:
        refresher.refresh(first.access_token)
    assert err.value.system == "salesforce"
    assert str(err.value) == (
        "Salesforce needs you to sign in again: the saved sign-in was revoked, expired or "
        "replaced (for example an administrator revoked the app's access)."
    )
    assert first.refresh_token not in str(err.value)
    with pytest.raises(ReconnectNeeded):
        refresher.refresh()
    assert http.counter.snapshot() == {"salesforce": {"400": 1}}  # the second call made no request


def test_bigtime_unknown_client_on_refresh_needs_reconnect(sandbox):
    first = sign_in(bt_endpoints(sandbox))
    refresher = TokenRefresher(
        bt_endpoints(sandbox, secret="rotated-by-admin"), policy("bigtime"), first.refresh_token, lambda _t: None
    )
    with pytest.raises(ReconnectNeeded) as err:
        refresher.access_token()
    assert err.value.system == "bigtime"
    assert "BigTime needs you to sign in again: the app's client id or secret is no longer accepted" in str(err.value)


def test_transient_failure_propagates_and_does_not_kill_the_grant(sandbox):
    first = sign_in(sf_endpoints(sandbox))
    admin(
        sandbox.salesforce_admin_url,
        "POST",
        "/faults",
        json={"kind": "status", "status": 503, "retry_after": 120, "path": "/oauth2/token$"},
    )
    refresher = TokenRefresher(sf_endpoints(sandbox), policy("salesforce"), first.refresh_token, lambda _t: None)
    with pytest.raises(RateLimited) as err:
        refresher.refresh()
    assert err.value.retry_after == 120
    assert sf_query(sandbox, refresher.refresh().access_token).status_code == 200  # the fault was for one request


def test_bigtime_refresh_always_rotates(sandbox, bigtime_reading):
    first = sign_in(bt_endpoints(sandbox))
    rotated: list[str] = []
    refresher = TokenRefresher(
        bt_endpoints(sandbox), policy("bigtime"), first.refresh_token, rotated.append, tokens=first
    )
    new = refresher.refresh(first.access_token)
    assert len(rotated) == 1 and rotated[0] != first.refresh_token and new.refresh_token == rotated[0]
    assert bt_projects(sandbox, new.access_token).status_code == 200
    dead = raw_refresh(sandbox, "bigtime", first.refresh_token)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def grant_holder(sandbox, first: TokenSet, vault: dict[str, str], **extra) -> TokenRefresher:
    """One holder of a BigTime grant whose refresh token is stored in ``vault`` (as the keyring does)."""
    return TokenRefresher(
        bt_endpoints(sandbox),
        policy("bigtime"),
        vault["refresh"],
        lambda new: vault.update(refresh=new),
        tokens=first,
        stored=lambda: vault["refresh"],
        **extra,
    )


def test_a_grant_rotated_by_another_holder_is_taken_from_the_store(sandbox, bigtime_reading):
    """Two holders of one BigTime grant (the tray's sync process and a Settings window): one refreshes
    and BigTime rotates the refresh token, killing the other's copy. The other then takes the stored
    token instead of telling the admin to sign in again; a grant really gone still needs a reconnect."""
    first = sign_in(bt_endpoints(sandbox))
    vault = {"refresh": first.refresh_token}

    def holder() -> TokenRefresher:
        return grant_holder(sandbox, first, vault)

    sync_process, settings_window = holder(), holder()
    settings_window.refresh()  # rotates: sync_process's copy is dead now
    assert vault["refresh"] != first.refresh_token
    renewed = sync_process.refresh()
    assert bt_projects(sandbox, renewed.access_token).status_code == 200
    assert vault["refresh"] == renewed.refresh_token  # and its own rotation is stored in turn

    # Nothing newer stored, or a stored token that is dead too: the refusal stands (one more try, no loop).
    for stored in (first.refresh_token, "5AepRevokedToo"):
        vault["refresh"] = first.refresh_token
        stale = holder()  # holds the rotated-away first token
        vault["refresh"] = stored
        with pytest.raises(ReconnectNeeded):
            stale.refresh()


def test_bigtime_expiry_is_honoured_proactively(sandbox, bigtime_reading):
    first = sign_in(bt_endpoints(sandbox))
    rotated: list[str] = []
    http = policy("bigtime")
    refresher = TokenRefresher(bt_endpoints(sandbox), http, first.refresh_token, rotated.append, tokens=first)
    assert refresher.access_token() == first.access_token  # three days left: no request
    assert http.counter.total() == 0

    admin(sandbox.bigtime_admin_url, "POST", "/settings", json={"access_token_ttl_seconds": 30})
    short = refresher.refresh()
    assert short.raw["expires_in"] == 30 and short.expires_at - time.time() == pytest.approx(30, abs=2)
    # within 60 s of expiry: access_token() refreshes before answering
    token = refresher.access_token()
    assert token != short.access_token and token == refresher.current().access_token
    assert http.counter.snapshot() == {"bigtime": {"200": 2}}
    assert len(rotated) == 2
    assert bt_projects(sandbox, token).status_code == 200


# ---- revoke ----------------------------------------------------------------------------------------------------
def test_revoke(sandbox):
    tokens = sign_in(sf_endpoints(sandbox))
    http = policy("salesforce")
    assert revoke(sf_endpoints(sandbox), http, tokens.refresh_token) is True
    assert sf_query(sandbox, tokens.access_token).status_code == 401  # its access tokens died with it
    assert revoke(sf_endpoints(sandbox), http, "5AepNeverIssued") is False  # unknown: 400 invalid_token
    assert http.counter.snapshot() == {"salesforce": {"200": 1, "400": 1}}
    with pytest.raises(ReconnectNeeded):
        TokenRefresher(sf_endpoints(sandbox), http, tokens.refresh_token, lambda _t: None).refresh()
    bt_http = policy("bigtime")
    assert revoke(bt_endpoints(sandbox), bt_http, "anything") is False  # BigTime has no revocation endpoint
    assert bt_http.counter.total() == 0


# ---- the loopback listener -------------------------------------------------------------------------------------
class BrowserThread:
    """open_url for run_loopback_flow: a thread that signs in like a browser, then loads the redirect
    (which lands on the listener), recording what the listener answered."""

    def __init__(self, system: str, allow: bool = True, extra_requests: tuple[str, ...] = ()) -> None:
        self.system, self.allow, self.extra = system, allow, extra_requests
        self.pages: list[requests.Response] = []
        self.thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def __call__(self, url: str) -> None:
        self.thread = threading.Thread(target=self._run, args=(url,), daemon=True)
        self.thread.start()

    def _run(self, url: str) -> None:
        try:
            location = browse(url, self.system, self.allow)
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(location))
            for path in self.extra:
                self.pages.append(requests.get(origin + path, timeout=10))
            self.pages.append(requests.get(location, timeout=10))
        except BaseException as exc:  # pragma: no cover
            self.errors.append(exc)

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(10)
        assert self.errors == []


def test_loopback_flow_salesforce_end_to_end(sandbox):
    port = free_port()
    redirect_uri = f"http://127.0.0.1:{port}/OauthRedirect"
    admin(
        sandbox.salesforce_admin_url,
        "POST",
        "/settings",
        json={"redirect_uris": [*cred.SF_REDIRECT_URIS, redirect_uri]},
    )
    attempt = AuthorizationAttempt(sf_endpoints(sandbox, redirect_uri=redirect_uri), policy("salesforce"))
    browser = BrowserThread("salesforce", extra_requests=("/favicon.ico", "/OauthRedirect?code=forged&state=not-yours"))
    tokens = run_loopback_flow(attempt, open_url=browser, timeout=20)
    browser.join()
    favicon, forged, final = browser.pages
    assert favicon.status_code == 404
    assert forged.status_code == 400 and "does not belong to the sign-in" in forged.text  # ignored: the wait went on
    assert final.status_code == 200
    assert "Signed in" in final.text and "You can close this tab and return to BigSync" in final.text
    assert final.headers["Cache-Control"] == "no-store"
    assert sf_query(sandbox, tokens.access_token).status_code == 200
    # the port is released: the next sign-in can listen there at once (despite TIME_WAIT connections)
    with LoopbackListener(redirect_uri) as again:
        assert again.port == port


def test_loopback_flow_bigtime_end_to_end(sandbox, bigtime_reading):
    port = free_port()
    register_bigtime_redirect(sandbox, f"http://127.0.0.1:{port}/BigTimeRedirect")
    attempt = AuthorizationAttempt(
        bt_endpoints(sandbox, redirect_uri=f"http://127.0.0.1:{port}/BigTimeRedirect"), policy("bigtime")
    )
    browser = BrowserThread(
        "bigtime", extra_requests=("/BigTimeRedirect", "/BigTimeRedirect?code=forged&state=not-yours")
    )
    tokens = run_loopback_flow(attempt, open_url=browser, timeout=20)
    browser.join()
    bare, forged, final = browser.pages
    assert bare.status_code == 400 and "only used to finish a sign-in" in bare.text  # no code: the wait went on
    assert forged.status_code == 400 and "does not belong to the sign-in" in forged.text
    assert bt_projects(sandbox, tokens.access_token).status_code == 200
    assert final.status_code == 200 and "Signed in" in final.text


def test_loopback_flow_deny_shows_the_error_and_raises(sandbox):
    port = free_port()
    register_bigtime_redirect(sandbox, f"http://127.0.0.1:{port}/BigTimeRedirect")
    attempt = AuthorizationAttempt(
        bt_endpoints(sandbox, redirect_uri=f"http://127.0.0.1:{port}/BigTimeRedirect"), policy("bigtime")
    )
    browser = BrowserThread("bigtime", allow=False)
    with pytest.raises(AuthorizationFailed) as err:
        run_loopback_flow(attempt, open_url=browser, timeout=20)
    browser.join()
    assert err.value.error == "access_denied"
    page = browser.pages[-1]
    assert page.status_code == 200 and "Sign-in did not complete" in page.text
    assert "You clicked Deny, so BigTime did not give BigSync access." in page.text
    assert "You can close this tab and return to BigSync" in page.text


def test_loopback_timeout(sandbox):
    port = free_port()
    attempt = AuthorizationAttempt(
        sf_endpoints(sandbox, redirect_uri=f"http://127.0.0.1:{port}/OauthRedirect"), policy("salesforce")
    )
    opened: list[str] = []
    started = time.monotonic()
    with pytest.raises(AuthorizationFailed) as err:
        run_loopback_flow(attempt, open_url=opened.append, timeout=0.3)
    assert time.monotonic() - started < 3
    assert opened == [attempt.authorization_url]
    assert err.value.error == "timeout" and err.value.system == "salesforce"
    assert str(err.value).startswith("No answer came from the browser within 1 s")
    with socket.socket() as s:  # released
        s.bind(("127.0.0.1", port))


def test_loopback_cancel(sandbox):
    port = free_port()
    attempt = AuthorizationAttempt(
        sf_endpoints(sandbox, redirect_uri=f"http://127.0.0.1:{port}/OauthRedirect"), policy("salesforce")
    )
    cancel = threading.Event()
    timer = threading.Timer(0.2, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(AuthorizationFailed) as err:
        run_loopback_flow(attempt, open_url=lambda _url: None, timeout=60, cancel=cancel)
    assert time.monotonic() - started < 3
    assert err.value.error == "cancelled" and str(err.value) == "The sign-in was cancelled."


def test_loopback_port_in_use():
    port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(AuthorizationFailed) as err:
            LoopbackListener(f"http://127.0.0.1:{port}/OauthRedirect", system="salesforce").start()
    assert err.value.error == "port_in_use" and err.value.system == "salesforce"
    assert str(err.value).startswith(f"Port {port} on this computer is already in use")
    assert "Another sign-in may still be running" in str(err.value)
    # two sign-ins at once: the second one is told
    with LoopbackListener(f"http://127.0.0.1:{port}/OauthRedirect"):
        with pytest.raises(AuthorizationFailed) as err:
            LoopbackListener(f"http://127.0.0.1:{port}/OauthRedirect").start()
        assert err.value.error == "port_in_use"


def test_loopback_listener_returns_the_first_redirect_with_its_own_origin():
    port = free_port()
    with LoopbackListener(f"http://localhost:{port}/cb") as listener:
        assert requests.get(f"http://127.0.0.1:{port}/cb/", timeout=5).status_code == 404  # exact path only
        r = requests.get(f"http://127.0.0.1:{port}/cb?code=c1&state=s1", timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
        requests.get(f"http://127.0.0.1:{port}/cb?code=c2&state=s2", timeout=5)
        assert listener.wait(1) == f"http://localhost:{port}/cb?code=c1&state=s1"
        if ipv6_loopback():  # "localhost" may resolve to ::1 in the browser: the listener holds that too
            assert requests.get(f"http://[::1]:{port}/favicon.ico", timeout=5).status_code == 404


def test_holders_of_one_grant_refresh_one_at_a_time_from_the_stored_token(sandbox, bigtime_reading, tmp_path):
    """Through the profile (core.connections): each refresh runs under the profile's refresh lock and
    starts from the stored token, so the holder whose copy was rotated away spends no request on
    the dead one; and many refreshes racing from two holders (threads here, processes in the app)
    all succeed."""
    import threading

    from bigsync_gui.core.connections import refresh_lock

    first = sign_in(bt_endpoints(sandbox))
    vault = {"refresh": first.refresh_token}
    lock_file = tmp_path / "bigtime-refresh.lock"

    def holder() -> TokenRefresher:
        return grant_holder(sandbox, first, vault, shared_lock=lambda: refresh_lock(lock_file))

    sync_process, settings_window = holder(), holder()
    settings_window.refresh()
    path = urlsplit(bt_endpoints(sandbox).token_url).path
    admin(sandbox.bigtime_admin_url, "DELETE", "/log")
    sync_process.refresh()
    assert [c["status"] for c in token_calls(sandbox.bigtime_admin_url, path)] == [200]  # no try with the dead copy

    failures: list[BaseException] = []

    def refresh_often(who: TokenRefresher) -> None:
        for _ in range(8):
            try:
                who.refresh()
            except BaseException as exc:  # noqa: BLE001 - counted, then asserted
                failures.append(exc)

    threads = [threading.Thread(target=refresh_often, args=(h,)) for h in (sync_process, settings_window)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert bt_projects(sandbox, sync_process.current().access_token).status_code == 200


ANSWER_THEN_EXIT = r"""
import http.server, sys, time
slow = http.server.BaseHTTPRequestHandler.end_headers
def end_headers(self):  # a slow write: the page goes out after the answer is recorded
    time.sleep(0.5)
    slow(self)
http.server.BaseHTTPRequestHandler.end_headers = end_headers
from bigsync_gui.connectors.oauth import LoopbackListener
with LoopbackListener(sys.argv[1], system="salesforce") as listener:
    print("ready", flush=True)
    listener.wait(20)
"""


def test_the_browser_gets_the_whole_page_even_when_the_program_exits_at_once() -> None:
    """A denied sign-in ends `connect` at once: the process exits right after the wait. The browser
    must still get the answer page whole, not headers and a broken connection."""
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redirect = f"http://127.0.0.1:{port}/OauthRedirect"
    proc = subprocess.Popen([sys.executable, "-c", ANSWER_THEN_EXIT, redirect], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        page = requests.get(redirect + "?error=access_denied&error_description=end-user+denied", timeout=10)
        assert page.status_code == 200 and "Sign-in did not complete" in page.text
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
