"""A browser made of `requests`, for the sandbox's sign-in pages: log in, click Allow or Deny,
stop at the redirect (as the app's embedded browser or the system browser would)."""

from __future__ import annotations

import socket
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

from bigsync_gui.sandbox import credentials as cred


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": []})
        elif tag in ("input", "button") and self.forms:
            a.setdefault("type", "text" if tag == "input" else "submit")
            self.forms[-1]["fields"].append(a)


def submit(browser: requests.Session, page: requests.Response, values: dict, button: str) -> requests.Response:
    """Post the page's one form as a browser would when ``button`` (an id) is clicked."""
    parser = _Forms()
    parser.feed(page.text)
    (form,) = parser.forms
    data = {}
    for f in form["fields"]:
        if f["type"] == "submit":
            if f.get("id") == button and f.get("name"):
                data[f["name"]] = f.get("value", "")
        elif f.get("name"):
            data[f["name"]] = f.get("value") or ""
    data.update(values)
    assert form["method"] == "post"
    return browser.post(urljoin(page.url, form["action"]), data=data, allow_redirects=False, timeout=10)


def browse(authorization_url: str, system: str, allow: bool = True) -> str:
    """Log in, answer the consent page, return the redirect's Location (not followed)."""
    browser = requests.Session()
    page = browser.get(authorization_url, timeout=10)
    assert page.status_code == 200, page.text
    if system == "salesforce":
        consent = submit(browser, page, {"username": cred.SF_USERNAME, "pw": cred.SF_PASSWORD}, "Login")
        assert "Allow Access?" in consent.text
        final = submit(browser, consent, {}, "oaapprove" if allow else "oadeny")
    else:
        consent = submit(browser, page, {"UserId": cred.BT_USERNAME, "Pwd": cred.BT_PASSWORD}, "signin")
        assert "Allow BigSync to access your BigTime data?" in consent.text
        final = submit(browser, consent, {}, "allow" if allow else "deny")
    assert final.status_code == 302, final.text
    return final.headers["Location"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
