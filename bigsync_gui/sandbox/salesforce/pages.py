"""The pages the emulated org shows in the browser during a sign-in: the login form, the consent
page and the "Remote Access Error" page, in Salesforce's look."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.wrappers import Response

from .. import credentials as cred

APP_NAME = "BigSync (sandbox External Client App)"
KNOWN_SCOPES = {
    "api": "Manage user data via APIs (api)",
    "refresh_token": "Perform requests at any time (refresh_token, offline_access)",
    "offline_access": "Perform requests at any time (refresh_token, offline_access)",
    "openid": "Access unique user identifiers (openid)",
    "id": "Access the identity URL service (id, profile, email, address, phone)",
    "profile": "Access the identity URL service (id, profile, email, address, phone)",
    "email": "Access the identity URL service (id, profile, email, address, phone)",
    "address": "Access the identity URL service (id, profile, email, address, phone)",
    "phone": "Access the identity URL service (id, profile, email, address, phone)",
    "web": "Access the Salesforce API platform (web)",
    "full": "Full access (full)",
}


# ---- HTML pages -----------------------------------------------------------------------------------
_PAGE_CSS = """
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f5f8;color:#16325c}
.wrap{max-width:420px;margin:48px auto;padding:0 16px}
.brand{text-align:center;margin-bottom:20px}
.brand .logo{display:inline-block;background:#0176d3;color:#fff;font-weight:700;border-radius:50%;
 width:64px;height:44px;line-height:44px;font-size:15px}
.brand h1{font-size:20px;margin:12px 0 2px}
.brand .org{font-size:14px;color:#54698d}
.card{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:24px}
label{display:block;font-size:13px;margin:12px 0 4px;color:#3e3e3c}
input[type=text],input[type=password],input[type=email]{width:100%;box-sizing:border-box;padding:10px;
 font-size:15px;border:1px solid #c9c9c9;border-radius:4px}
.btn{display:inline-block;padding:10px 18px;font-size:15px;border-radius:4px;border:1px solid #0176d3;cursor:pointer}
.primary{background:#0176d3;color:#fff}
.secondary{background:#fff;color:#0176d3}
.full{width:100%;margin-top:18px}
.error{background:#fdecea;border:1px solid #ea001e;color:#ba0517;padding:10px;border-radius:4px;font-size:14px}
.hint{background:#fef7e5;border:1px solid #f4bc25;padding:10px 12px;border-radius:4px;font-size:13px;margin-bottom:18px}
.hint code{background:#fff;padding:1px 4px;border-radius:3px}
ul.scopes{padding-left:20px;font-size:14px}
.actions{display:flex;gap:12px;justify-content:flex-end;margin-top:20px}
.small{font-size:12px;color:#706e6b;margin-top:16px;word-break:break-all}
"""


def page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)}</title><style>{_PAGE_CSS}</style></head><body><div class="wrap">'
        '<div class="brand"><span class="logo">SF</span>'
        f'<h1>{html.escape(title)}</h1><div class="org">{html.escape(cred.SF_ORG_NAME)}</div></div>'
        f"{body}</div></body></html>"
    )
    response = Response(doc, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def error_page(error: str, description: str, status: int = 400) -> Response:
    body = (
        '<div class="card"><div class="error" id="error">'
        f"<strong>error={html.escape(error)}</strong><br>error_description={html.escape(description)}</div>"
        '<p class="small">The app that sent you here is not set up correctly, or this link has expired. '
        "Return to the app and start again.</p></div>"
    )
    return page("Remote Access Error", body, status)


def with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def redirect(location: str) -> Response:
    response = Response("", status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def login_page(tx: str, username: str = "", error: str | None = None) -> Response:
    err = f'<div class="error" id="error">{html.escape(error)}</div>' if error else ""
    body = (
        f'<div class="card">{err}'
        # Above the form: in the wizard's embedded browser a hint under it is below the fold.
        '<div class="hint" id="sandbox_hint"><strong>Sandbox</strong> — this is the local emulator, not '
        f"Salesforce. Log in with <code>{html.escape(cred.SF_USERNAME)}</code> / "
        f"<code>{html.escape(cred.SF_PASSWORD)}</code>.</div>"
        f'<form method="post" action="/services/oauth2/authorize/login" id="login_form" autocomplete="off">'
        f'<input type="hidden" name="tx" value="{html.escape(tx)}">'
        '<label for="username">Username</label>'
        f'<input type="email" id="username" name="username" value="{html.escape(username)}" autofocus>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="pw">'
        '<input type="submit" id="Login" name="Login" class="btn primary full" value="Log In">'
        "</form>"
        "</div>"
    )
    return page("Log In to Salesforce", body)


def consent_page(tx: str, params: dict[str, Any], user: dict[str, Any]) -> Response:
    seen: list[str] = []
    for scope in params["scope"].split():
        text = KNOWN_SCOPES.get(scope, scope)
        if text not in seen:
            seen.append(text)
    items = "".join(f"<li>{html.escape(s)}</li>" for s in seen)
    body = (
        '<div class="card">'
        f'<p><strong>{html.escape(APP_NAME)}</strong> is asking to:</p><ul class="scopes" id="scopes">{items}</ul>'
        f"<p>Do you want to allow access for <strong>{html.escape(user.get('Username', ''))}</strong>? "
        '(<a href="#" onclick="return false">Not you?</a>)</p>'
        '<form method="post" action="/services/oauth2/authorize/consent" id="consent_form">'
        f'<input type="hidden" name="tx" value="{html.escape(tx)}">'
        '<div class="actions">'
        '<input type="submit" id="oadeny" name="oadeny" class="btn secondary" value="Deny">'
        '<input type="submit" id="oaapprove" name="oaapprove" class="btn primary" value="Allow">'
        "</div></form>"
        f'<p class="small">Sends you back to {html.escape(params["redirect_uri"])}</p></div>'
    )
    return page("Allow Access?", body)
