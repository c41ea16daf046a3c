"""OAuth URL and state logic, no network."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from urllib.parse import parse_qs, urlsplit

import pytest

from bigsync_gui.connectors import bigtime_assumptions as A
from bigsync_gui.connectors.errors import AuthorizationFailed, InsecureUrl
from bigsync_gui.connectors.http import HttpPolicy
from bigsync_gui.connectors.oauth import (
    BIGTIME_DEFAULT_REDIRECT_URI,
    SALESFORCE_DEFAULT_REDIRECT_URI,
    SALESFORCE_LOGIN_URLS,
    AuthorizationAttempt,
    LoopbackListener,
    OAuthEndpoints,
    TokenRefresher,
    TokenSet,
    bigtime_endpoints,
    normalise_my_domain,
    salesforce_endpoints,
)
from bigsync_gui.connectors.oauth.session import oauthlib_allows

SF = salesforce_endpoints(SALESFORCE_LOGIN_URLS["production"], "3MVGtestKey")
BT = bigtime_endpoints("https://iq.bigtime.net/BigtimeData/api/v2/", "bt-client", "bt-secret")


def attempt(endpoints: OAuthEndpoints = SF, **kw) -> AuthorizationAttempt:
    return AuthorizationAttempt(endpoints, HttpPolicy(endpoints.system), **kw)


# ---- endpoints -------------------------------------------------------------------------------------------
def test_salesforce_endpoints():
    ep = salesforce_endpoints("https://acme.my.salesforce.com/", " 3MVGkey ")
    assert ep == OAuthEndpoints(
        system="salesforce",
        authorize_url="https://acme.my.salesforce.com/services/oauth2/authorize",
        token_url="https://acme.my.salesforce.com/services/oauth2/token",
        client_id="3MVGkey",
        redirect_uri="http://localhost:7171/OauthRedirect",
        client_secret=None,
        revoke_url="https://acme.my.salesforce.com/services/oauth2/revoke",
        scope=("api", "refresh_token"),
        pkce=True,
    )
    assert SALESFORCE_LOGIN_URLS == {
        "production": "https://login.salesforce.com",
        "sandbox": "https://test.salesforce.com",
    }


def test_bigtime_endpoints_and_secret_not_in_repr():
    assert BT.authorize_url == "https://iq.bigtime.net/BigtimeData/api/v2/oauth2/authorize"
    assert BT.token_url == "https://iq.bigtime.net/BigtimeData/api/v2/oauth2/accesstoken"
    assert BT.redirect_uri == BIGTIME_DEFAULT_REDIRECT_URI == "http://localhost:7172/BigTimeRedirect"
    assert (BT.client_secret, BT.revoke_url, BT.scope, BT.pkce) == ("bt-secret", None, (), True)
    assert BT.token_bodies == ("json", "form") and SF.token_bodies == ("form",)
    pinned = bigtime_endpoints("https://iq.bigtime.net/BigtimeData/api/v2", "c", "s", token_body="form")
    assert pinned.token_bodies == ("form",)
    with pytest.raises(ValueError):
        bigtime_endpoints("https://iq.bigtime.net/BigtimeData/api/v2", "c", "s", token_body="xml")
    assert "bt-secret" not in repr(BT)


# ---- the authorization URL ------------------------------------------------------------------------------
def test_authorization_url_has_pkce_state_scope_and_redirect():
    a = attempt()
    parts = urlsplit(a.authorization_url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://login.salesforce.com/services/oauth2/authorize"
    q = parse_qs(parts.query)
    assert q["response_type"] == ["code"]
    assert q["client_id"] == ["3MVGtestKey"]
    assert q["redirect_uri"] == [SALESFORCE_DEFAULT_REDIRECT_URI]
    assert q["scope"] == ["api refresh_token"]
    assert q["state"] == [a.state] and len(a.state) >= 40
    assert q["code_challenge_method"] == ["S256"]
    verifier = a._session._code_verifier
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert q["code_challenge"] == [expected]
    assert "prompt" not in q


def test_each_attempt_has_its_own_state_and_verifier_and_prompt_is_passed():
    a, b = attempt(), attempt(prompt="login")
    assert a.state != b.state
    assert a._session._code_verifier != b._session._code_verifier
    assert parse_qs(urlsplit(b.authorization_url).query)["prompt"] == ["login"]


def test_bigtime_authorization_url_has_no_scope_but_pkce():
    q = parse_qs(urlsplit(attempt(BT).authorization_url).query)
    assert "scope" not in q
    assert q["client_id"] == ["bt-client"] and q["code_challenge_method"] == ["S256"]
    assert "client_secret" not in q and "bt-secret" not in attempt(BT).authorization_url


def test_pkce_off_sends_no_challenge():
    ep = OAuthEndpoints("bigtime", BT.authorize_url, BT.token_url, "c", BT.redirect_uri, "s", pkce=False)
    q = parse_qs(urlsplit(attempt(ep).authorization_url).query)
    assert "code_challenge" not in q and "code_challenge_method" not in q


def test_http_to_another_host_is_refused_but_loopback_allowed_without_touching_the_env():
    before = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
    with pytest.raises(InsecureUrl) as err:
        attempt(salesforce_endpoints("http://login.salesforce.com", "k"))
    assert "http://login.salesforce.com/services/oauth2/authorize uses http://" in str(err.value)
    evil_token = OAuthEndpoints(
        "salesforce",
        "https://login.salesforce.com/services/oauth2/authorize",
        "http://evil.example/token",
        "k",
        SALESFORCE_DEFAULT_REDIRECT_URI,
    )
    with pytest.raises(InsecureUrl):
        attempt(evil_token)
    local = attempt(salesforce_endpoints("http://127.0.0.1:8700", "k"))
    assert local.authorization_url.startswith("http://127.0.0.1:8700/services/oauth2/authorize?")
    assert (os.environ.get("OAUTHLIB_INSECURE_TRANSPORT") or None) == (before or None)  # only set during the call


def test_oauthlib_transport_env_is_scoped_and_refcounted(monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    with oauthlib_allows("https://login.salesforce.com/x"):
        assert not os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
    with oauthlib_allows("http://evil.example/x"):
        assert not os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
    with oauthlib_allows("http://127.0.0.1:1/x"):
        with oauthlib_allows("http://localhost:2/y"):
            assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "1"
        assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "1"
    assert os.environ.get("OAUTHLIB_INSECURE_TRANSPORT") == ""  # emptied (oauthlib: unset), never deleted
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "yes")
    with oauthlib_allows("http://127.0.0.1:1/x"):
        assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "1"
    assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "yes"


def test_the_scoped_env_never_breaks_a_thread_reading_the_environment(monkeypatch):
    """requests reads the proxies from os.environ on every request (another thread's sync, the GUI's
    stage load): a key deleted while it iterates raised KeyError there ("Something unexpected")."""
    import threading

    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                dict(os.environ.items())
            except KeyError as exc:
                errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(5000):
            with oauthlib_allows("http://127.0.0.1:1/x"):
                pass
    finally:
        done.set()
        reader.join()
    assert errors == []


# ---- is_redirect -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://localhost:7171/OauthRedirect", True),
        ("http://localhost:7171/OauthRedirect?code=abc&state=x", True),
        ("HTTP://LOCALHOST:7171/OauthRedirect?x=1", True),  # scheme and host are case-insensitive
        ("http://localhost:7171/OauthRedirect#frag", True),
        ("http://localhost:7171/OauthRedirect/", False),  # trailing slash differs
        ("http://localhost:7171/oauthredirect", False),  # path is case-sensitive
        ("http://127.0.0.1:7171/OauthRedirect", False),  # not interchangeable with localhost
        ("https://localhost:7171/OauthRedirect", False),
        ("http://localhost:7172/OauthRedirect", False),
        ("http://localhost/OauthRedirect", False),
        ("http://localhost:7171/OauthRedirectX", False),
        ("http://localhost.evil.example:7171/OauthRedirect", False),
        ("http://localhost:notaport/OauthRedirect", False),
        ("/OauthRedirect?code=1", False),
        ("", False),
    ],
)
def test_is_redirect_exact_match(url, expected):
    assert attempt().is_redirect(url) is expected


def test_is_redirect_127_and_default_port():
    a = attempt(salesforce_endpoints("https://login.salesforce.com", "k", "http://127.0.0.1:7171/OauthRedirect"))
    assert a.is_redirect("http://127.0.0.1:7171/OauthRedirect?code=1")
    assert not a.is_redirect("http://localhost:7171/OauthRedirect?code=1")
    b = attempt(salesforce_endpoints("https://login.salesforce.com", "k", "https://app.example/cb"))
    assert b.is_redirect("https://app.example:443/cb")
    assert not b.is_redirect("https://app.example:8443/cb")


# ---- code_from_redirect --------------------------------------------------------------------------------
def redirect(a: AuthorizationAttempt, **params: str) -> str:
    from urllib.parse import urlencode

    return a.endpoints.redirect_uri + "?" + urlencode(params)


def test_code_from_redirect_success():
    a = attempt()
    assert a.code_from_redirect(redirect(a, code="aPrx123", state=a.state)) == "aPrx123"


@pytest.mark.parametrize("spelling", ["access_denied", "access-denied"])
def test_code_from_redirect_denied_both_spellings(spelling):
    a = attempt()
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect(
            redirect(a, error=spelling, error_description="end-user denied authorization", state=a.state)
        )
    assert err.value.error == "access_denied"
    assert err.value.system == "salesforce"
    assert str(err.value).startswith("You clicked Deny, so Salesforce did not give BigSync access.")


def test_code_from_redirect_state_mismatch_and_missing():
    a = attempt()
    for url in (
        redirect(a, code="c1", state="someone-else"),
        redirect(a, code="c1"),
        redirect(a, code="c1", state=a.state) + "&state=other",
        redirect(a, error="access_denied", state="someone-else"),
    ):
        with pytest.raises(AuthorizationFailed) as err:
            a.code_from_redirect(url)
        assert err.value.error == "state_mismatch"
        assert str(err.value).startswith("The sign-in answer did not match this attempt")
        assert str(err.value).endswith("please try again.")


def test_bigtime_redirect_without_state_is_taken_once_by_the_pending_attempt():
    a = attempt(BT)
    assert parse_qs(urlsplit(a.authorization_url).query)["state"] == [a.state]  # still sent
    # BigTime's documented redirect: ?code=... and nothing else.
    assert a.code_from_redirect(redirect(a, code="bt-code")) == "bt-code"
    with pytest.raises(AuthorizationFailed) as err:  # once only: the attempt is no longer pending
        a.code_from_redirect(redirect(a, code="bt-code-2"))
    assert err.value.error == "not_pending" and "start again" in str(err.value)
    # a state, when BigTime does send one, must still be ours
    b = attempt(BT)
    with pytest.raises(AuthorizationFailed) as err:
        b.code_from_redirect(redirect(b, code="c1", state="someone-else"))
    assert err.value.error == "state_mismatch"
    assert b.code_from_redirect(redirect(b, code="c2", state=b.state)) == "c2"


def test_bigtime_stateless_redirect_only_for_the_newest_attempt_on_that_exact_address():
    older, newer = attempt(BT), attempt(BT)
    with pytest.raises(AuthorizationFailed) as err:
        older.code_from_redirect(redirect(older, code="c1"))
    assert err.value.error == "not_pending"
    # another redirect address has its own pending attempt
    other = attempt(
        bigtime_endpoints(
            "https://iq.bigtime.net/BigtimeData/api/v2",
            "bt-client",
            "bt-secret",
            "http://127.0.0.1:7172/BigTimeRedirect",
        )
    )
    assert other.code_from_redirect("http://127.0.0.1:7172/BigTimeRedirect?code=c3") == "c3"
    with pytest.raises(AuthorizationFailed) as err:  # same path on another host is not its address
        newer.code_from_redirect("http://127.0.0.1:7172/BigTimeRedirect?code=c4")
    assert err.value.error == "wrong_redirect"
    assert newer.code_from_redirect(redirect(newer, code="c2")) == "c2"


def test_bigtime_stateless_redirect_expires():
    a = attempt(BT)
    a._started -= A.STATELESS_REDIRECT_MAX_SECONDS + 1  # as if started 15 minutes ago
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect(redirect(a, code="late"))
    assert err.value.error == "expired" and str(err.value).startswith("The sign-in took longer than 15 min")


def test_salesforce_still_requires_state():
    assert SF.state_required and not BT.state_required
    a = attempt()
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect(redirect(a, code="c1"))
    assert err.value.error == "state_mismatch"


def test_code_from_redirect_other_error_and_missing_code():
    a = attempt(BT)
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect(redirect(a, error="invalid_scope", error_description="bad scope x", state=a.state))
    assert err.value.error == "invalid_scope"
    assert (
        str(err.value)
        == "BigTime refused the permissions BigSync asks for (bad scope x). Check the app's OAuth scopes."
    )
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect(redirect(a, error="server_error", state=a.state))
    assert err.value.error == "server_error" and "Try again in a few minutes" in str(err.value)
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect(redirect(a, state=a.state))
    assert err.value.error == "missing_code"
    with pytest.raises(AuthorizationFailed) as err:
        a.code_from_redirect("http://localhost:9999/else?code=1&state=" + a.state)
    assert err.value.error == "wrong_redirect"


def test_failure_from_page():
    a = attempt()
    f = a.failure_from_page(
        "https://login.salesforce.com/services/oauth2/authorize?x", "<strong>error=invalid_client_id</strong>", 400
    )
    assert f is not None and f.error == "invalid_client_id"
    assert str(f).startswith("The consumer key is not known to Salesforce — check")
    f = a.failure_from_page(
        "https://login.salesforce.com/setup/secur/RemoteAccessErrorPage.apexp?error=redirect_uri_mismatch"
    )
    assert f is not None and f.error == "redirect_uri_mismatch"
    assert "register exactly http://localhost:7171/OauthRedirect as the callback URL" in str(f)
    assert a.failure_from_page("https://login.salesforce.com/", "<form id=login>", 200) is None
    f = attempt(BT).failure_from_page("https://iq.bigtime.net/x", "<p>Application not recognised</p>", 400)
    assert f is not None and f.error == "authorize_refused" and "HTTP 400" in str(f) and "client id" in str(f)


# ---- normalise_my_domain -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("acme", "https://acme.my.salesforce.com"),
        ("  Acme  ", "https://acme.my.salesforce.com"),
        ("acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://acme.my.salesforce.com/", "https://acme.my.salesforce.com"),
        ("https://acme.my.salesforce.com/home/home.jsp?x=1", "https://acme.my.salesforce.com"),
        ("http://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://acme.lightning.force.com/lightning/page/home", "https://acme.my.salesforce.com"),
        ("acme--uat", "https://acme--uat.sandbox.my.salesforce.com"),
        ("acme--uat.sandbox.my.salesforce.com", "https://acme--uat.sandbox.my.salesforce.com"),
        ("https://acme--uat.sandbox.lightning.force.com/", "https://acme--uat.sandbox.my.salesforce.com"),
        ("acme-corp2", "https://acme-corp2.my.salesforce.com"),
    ],
)
def test_normalise_my_domain(text, expected):
    assert normalise_my_domain(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "The My Domain is empty."),
        ("   ", "The My Domain is empty."),
        ("acme corp", "is not a My Domain name"),
        ("acme_corp", "is not a My Domain name"),
        ("-acme", "is not a My Domain name"),
        ("ftp://acme.my.salesforce.com", "is not a web address"),
        ("https://example.com", "should end in .my.salesforce.com"),
        ("acme.my.salesforce.com.evil.example", "should end in .my.salesforce.com"),
        ("https://acme.my.salesforce.com:8443", "is not a My Domain address"),
        ("https://user@acme.my.salesforce.com", "is not a My Domain address"),
        ("login.salesforce.com", "choose Production instead"),
        ("https://test.salesforce.com", "choose Sandbox instead"),
    ],
)
def test_normalise_my_domain_junk(text, fragment):
    with pytest.raises(ValueError) as err:
        normalise_my_domain(text)
    assert fragment in str(err.value)
    if text.strip():
        assert "Setup › My Domain" in str(err.value) or "instead" in str(err.value)


# ---- secrets stay hidden -----------------------------------------------------------------------------------
def test_tokenset_repr_hides_tokens():
    t = TokenSet(
        "00Dsecret!AR.access",
        "5AepSecretRefresh",
        1_800_000_000.4,
        {"access_token": "00Dsecret!AR.access", "refresh_token": "5AepSecretRefresh", "instance_url": "https://x"},
    )
    for text in (repr(t), str(t), f"{t}", repr([t])):
        assert "00Dsecret" not in text and "5AepSecret" not in text
    assert repr(t) == (
        "TokenSet(access_token=<hidden>, refresh_token=<hidden>, expires_at=1800000000, "
        "raw_keys=['access_token', 'instance_url', 'refresh_token'])"
    )
    assert (
        repr(TokenSet("a", None, None, {}))
        == "TokenSet(access_token=<hidden>, refresh_token=None, expires_at=None, raw_keys=[])"
    )


def test_requests_oauthlib_debug_records_are_dropped(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("requests_oauthlib.oauth2_session").debug("Obtained token %s.", {"access_token": "SECRET"})
    logging.getLogger("requests_oauthlib.oauth2_session").warning("kept")
    messages = [r.getMessage() for r in caplog.records]
    assert "kept" in messages and not any("SECRET" in m for m in messages)


# ---- loopback listener, pure checks ---------------------------------------------------------------------
def test_loopback_listener_refuses_non_loopback_redirects():
    for uri in ("https://app.example/cb", "http://app.example:7171/cb", "http://localhost/cb"):
        with pytest.raises(ValueError):
            LoopbackListener(uri)
    listener = LoopbackListener("http://localhost:7171/OauthRedirect")
    assert listener.port == 7171


def test_oauth_module_imports_no_qt_and_nothing_of_ours_outside_connectors():
    import subprocess
    import sys

    code = (
        "import sys, bigsync_gui.connectors.oauth; "
        "mods = [m for m in sys.modules if m.startswith(('PySide6', 'PyQt', 'shiboken')) or "
        "(m.startswith('bigsync_gui.') and not m.startswith('bigsync_gui.connectors'))]; print(mods)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_a_bigtime_refresh_posts_the_assumed_body():
    """What connectors/bigtime_assumptions.py infers for a refresh: grant_type=refresh_token, the
    refresh token, client id and secret in the body, as a JSON object first. The request the real
    refresher sends is held to it."""
    import json

    import requests

    sent: list[tuple[str, str, dict]] = []

    class Recorder(HttpPolicy):
        def request(self, method, url, **kw):  # type: ignore[override]
            sent.append((method, url, kw))
            response = requests.Response()
            response.status_code, response.url = 200, url
            response.headers["Content-Type"] = "application/json"
            response._content = json.dumps({"access_token": "fresh", "expires_in": 3600}).encode()
            return response

    refresher = TokenRefresher(BT, Recorder("bigtime"), "the-refresh-token", on_rotated=lambda token: None)
    assert refresher.refresh().access_token == "fresh"
    [(method, url, kw)] = sent
    assert (method, url) == ("POST", "https://iq.bigtime.net/BigtimeData/api/v2" + A.TOKEN_PATH)
    assert kw["json"] == {
        "grant_type": "refresh_token",
        "refresh_token": "the-refresh-token",
        "client_id": "bt-client",
        "client_secret": "bt-secret",
    }
    assert kw["idempotent"] is False  # a rotated refresh token dies on first use: never retried blindly
