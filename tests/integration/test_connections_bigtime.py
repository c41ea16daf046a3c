"""core.connections for BigTime OAuth: what BigTime accepted (the header carrying the token, the
token request body) is kept in the profile's settings, and later clients start with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import requests

from bigsync_gui.connectors import oauth
from bigsync_gui.connectors.errors import AuthorizationFailed
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.secrets import MemoryKeyring
from bigsync_gui.core.settings import Settings
from bigsync_gui.sandbox import credentials as cred
from sandbox_browser import browse

# The other strict readings: the token in Authorization: Bearer only, the token request as a form only.
BEARER_AND_FORM_ONLY = {"oauth_bearer": True, "oauth_x_auth_token": False, "token_form": True, "token_json": False}


@pytest.fixture
def connector(tmp_path: Path) -> Iterator[Connector]:
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield Connector(Profile.at(tmp_path / "profile"))
    keyring.set_keyring(previous)


def admin(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    response = requests.request(method, sandbox.bigtime_admin_url + path, timeout=10, **kwargs)
    assert response.status_code < 300, response.text
    return response


def api_log(sandbox) -> list[tuple[str, str, int]]:
    entries = admin(sandbox, "GET", "/log").json()["entries"]
    return [(e["method"], e["path"].lower().removeprefix("/bigtimedata/api/v2"), e["status"]) for e in entries]


def sign_in(sandbox, connector: Connector, firm: str = cred.BT_FIRM_ID):
    endpoints = oauth.bigtime_endpoints(
        sandbox.bigtime_url, cred.BT_CLIENT_ID, cred.BT_CLIENT_SECRET, cred.BT_REDIRECT_URIS[0]
    )
    attempt = oauth.AuthorizationAttempt(endpoints, connector.http["bigtime"])
    tokens = attempt.exchange(attempt.code_from_redirect(browse(attempt.authorization_url, "bigtime")))
    return connector.save_bigtime_oauth(endpoints, sandbox.bigtime_url, tokens, firm)


def test_what_bigtime_accepted_is_kept_and_used_from_the_start(sandbox, connector):
    admin(sandbox, "POST", "/switches", json=BEARER_AND_FORM_ONLY)
    # BigTime's documented token answer names no user: the sentence names the firm only
    assert sign_in(sandbox, connector).sentence() == f"Connected to BigTime: firm {cred.BT_FIRM_ID}."
    saved = connector.settings().bigtime
    assert (saved.firm_id, saved.oauth_header, saved.token_body) == (cred.BT_FIRM_ID, "bearer", "form")

    client = Connector(connector.profile).bigtime()  # a later run
    admin(sandbox, "DELETE", "/log")
    client.staff()  # refreshes first (no access token is stored): straight to the form, then Bearer
    assert api_log(sandbox) == [("POST", "/oauth2/accesstoken", 200), ("GET", "/staff", 200)]
    assert client.auth.header_mode == "bearer" and client.auth.header_mode_confirmed


def test_a_profile_that_does_not_know_yet_learns_and_keeps_it(sandbox, connector):
    sign_in(sandbox, connector)  # strict reading: X-Auth-Token, JSON
    settings = connector.settings()
    settings.bigtime.oauth_header = settings.bigtime.token_body = ""  # as saved before this was kept
    settings.save(connector.profile)
    admin(sandbox, "POST", "/switches", json=BEARER_AND_FORM_ONLY)

    Connector(connector.profile).bigtime().staff()
    kept = Settings.load(connector.profile).bigtime
    assert (kept.oauth_header, kept.token_body) == ("bearer", "form")


def test_a_token_answer_naming_another_firm_stops_before_saving(sandbox, connector):
    admin(sandbox, "POST", "/switches", json={"token_firm": True})
    with pytest.raises(AuthorizationFailed) as err:
        sign_in(sandbox, connector, firm="typo-firm")
    assert err.value.error == "firm_mismatch"
    assert str(err.value).startswith(
        f"BigTime signed you in to firm {cred.BT_FIRM_ID}, but the firm id entered is typo-firm"
    )
    assert not connector.settings().bigtime.connected
