"""Benchmark plumbing: a profile connected to the in-process sandbox the way an admin connects one
(OAuth code flow with PKCE, the sign-in pages answered by `requests`, tokens saved through
``Connector``), a keyring in a plain file, and the sandbox's admin API (latency, request logs).

Nothing here imports from ``tests/``: the form-driving is reimplemented (a few lines of HTMLParser).
"""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import keyring
import requests
from keyrings.alt.file import PlaintextKeyring

from bigsync_gui.connectors import oauth
from bigsync_gui.connectors.http import RequestCounter
from bigsync_gui.core.connections import Connector
from bigsync_gui.core.profile import Profile
from bigsync_gui.core.settings import Settings
from bigsync_gui.sandbox import Sandbox
from bigsync_gui.sandbox import credentials as cred

# Registered in the sandbox by default (docs/sandbox.md); the redirect is never followed here.
SF_REDIRECT = "http://localhost:7171/OauthRedirect"
BT_REDIRECT = "http://localhost:7172/BigTimeRedirect"


# ---- keyring ---------------------------------------------------------------------------------------
def use_file_keyring(path: str | Path) -> None:
    """Secrets of this process go to ``path`` (keyrings.alt's plaintext file): benchmarks only."""
    ring = PlaintextKeyring()
    ring.file_path = str(path)  # an instance-level override keyrings.alt allows
    keyring.set_keyring(ring)


# ---- the sign-in pages, as a browser would answer them ---------------------------------------------
class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.forms.append(
                {"action": a.get("action") or "", "method": (a.get("method") or "get").lower(), "fields": []}
            )
        elif tag in ("input", "button") and self.forms:
            a.setdefault("type", "text" if tag == "input" else "submit")
            self.forms[-1]["fields"].append(a)


def _submit(
    browser: requests.Session, page: requests.Response, values: dict[str, str], button: str
) -> requests.Response:
    """Post the page's one form as if the button with id ``button`` was clicked."""
    parser = _Forms()
    parser.feed(page.text)
    if len(parser.forms) != 1:
        raise RuntimeError(f"expected one form on {page.url}, found {len(parser.forms)}")
    form = parser.forms[0]
    data: dict[str, str] = {}
    for f in form["fields"]:
        if f["type"] == "submit":
            if f.get("id") == button and f.get("name"):
                data[f["name"]] = f.get("value") or ""
        elif f.get("name"):
            data[f["name"]] = f.get("value") or ""
    data.update(values)
    return browser.post(urljoin(page.url, form["action"]), data=data, allow_redirects=False, timeout=30)


def _sign_in(authorization_url: str, system: str) -> str:
    """Log in with the demo user, click Allow; the redirect's Location (not followed)."""
    browser = requests.Session()
    page = browser.get(authorization_url, timeout=30)
    page.raise_for_status()
    if system == "salesforce":
        consent = _submit(browser, page, {"username": cred.SF_USERNAME, "pw": cred.SF_PASSWORD}, "Login")
        final = _submit(browser, consent, {}, "oaapprove")
    else:
        consent = _submit(browser, page, {"UserId": cred.BT_USERNAME, "Pwd": cred.BT_PASSWORD}, "signin")
        final = _submit(browser, consent, {}, "allow")
    if final.status_code != 302:
        raise RuntimeError(f"{system} sign-in did not redirect (HTTP {final.status_code})")
    return final.headers["Location"]


def connect_profile(
    sandbox: Sandbox, directory: str | Path, *, bigtime_auth: str = "oauth", requests_per_minute: int = 1_000_000
) -> Profile:
    """A new profile under ``directory`` connected to both emulators (needs ``use_file_keyring`` first).

    Salesforce: authorization code + PKCE, as `bigsync-gui connect salesforce`. BigTime: OAuth code
    flow (``bigtime_auth="oauth"``) or the firm's API key (``"api_key"``). BigTime's pace is
    ``requests_per_minute``: by default high enough not to matter (the benchmarks of the engine
    measure requests, not the limit; benchmarks/bigtime_rate_limit.py measures that)."""
    profile = Profile.at(directory)
    settings = Settings()
    settings.bigtime.requests_per_minute = requests_per_minute
    settings.save(profile)
    connector = Connector(profile, RequestCounter())

    sf_endpoints = oauth.salesforce_endpoints(sandbox.salesforce_url, cred.SF_CONSUMER_KEY, SF_REDIRECT)
    attempt = oauth.AuthorizationAttempt(sf_endpoints, connector.http["salesforce"])
    code = attempt.code_from_redirect(_sign_in(attempt.authorization_url, "salesforce"))
    connector.save_salesforce(sf_endpoints, sandbox.salesforce_url, attempt.exchange(code))

    if bigtime_auth == "api_key":
        connector.save_bigtime_key(sandbox.bigtime_url, cred.BT_API_KEY, cred.BT_FIRM_ID)
    else:
        bt_endpoints = oauth.bigtime_endpoints(
            sandbox.bigtime_url, cred.BT_CLIENT_ID, cred.BT_CLIENT_SECRET, BT_REDIRECT
        )
        attempt = oauth.AuthorizationAttempt(bt_endpoints, connector.http["bigtime"])
        code = attempt.code_from_redirect(_sign_in(attempt.authorization_url, "bigtime"))
        connector.save_bigtime_oauth(bt_endpoints, sandbox.bigtime_url, attempt.exchange(code), cred.BT_FIRM_ID)
    return profile


# ---- the admin API --------------------------------------------------------------------------------
def admin(url: str, method: str, path: str, body: Any = None) -> Any:
    r = requests.request(method, url + path, json=body, timeout=120)
    if r.status_code >= 300:
        raise RuntimeError(f"{method} {url}{path}: HTTP {r.status_code} {r.text[:300]}")
    return r.json() if r.content else None


def set_bigtime_rate_limit(sandbox: Sandbox, requests: int | None, window_seconds: float = 60.0) -> None:
    """The BigTime emulator's limit per firm (None: off); it answers 503 without Retry-After."""
    admin(sandbox.bigtime_admin_url, "POST", "/rate_limit", {"requests": requests, "window_seconds": window_seconds})


def set_latency(sandbox: Sandbox, seconds: float) -> None:
    """Every API request of both emulators waits ``seconds`` first (admin calls never do)."""
    for url in (sandbox.salesforce_admin_url, sandbox.bigtime_admin_url):
        admin(url, "DELETE", "/faults")
        if seconds > 0:
            admin(url, "POST", "/faults", {"kind": "latency", "seconds": seconds, "count": None})


def clear_logs(sandbox: Sandbox) -> None:
    admin(sandbox.salesforce_admin_url, "DELETE", "/log")
    admin(sandbox.bigtime_admin_url, "DELETE", "/log")


def logged(sandbox: Sandbox) -> dict[str, list[dict[str, Any]]]:
    """The API requests each emulator answered since the last ``clear_logs``."""
    return {
        "salesforce": admin(sandbox.salesforce_admin_url, "GET", "/log")["entries"],
        "bigtime": admin(sandbox.bigtime_admin_url, "GET", "/log")["entries"],
    }


def kinds(entries: list[dict[str, Any]], system: str) -> Counter[str]:
    """Requests grouped by what they are (method + path with ids folded), for the breakdown lines."""
    out: Counter[str] = Counter()
    for e in entries:
        path = e["path"]
        if system == "bigtime":
            path = path.lower().removeprefix("/bigtimedata/api/v2")
        parts = []
        for part in path.strip("/").split("/"):
            if part.isdigit() or (
                len(part) in (15, 18)
                and part[:3].isalnum()
                and any(ch.isdigit() for ch in part)
                and not part.startswith("v")
            ):
                part = "{id}"
            elif part.startswith("01g") and "-" in part:  # a query locator
                part = "{locator}"
            parts.append(part)
        out[f"{e['method']} /{'/'.join(parts)}"] += 1
    return out
