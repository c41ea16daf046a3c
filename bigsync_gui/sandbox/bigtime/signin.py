"""The BigTime emulator's sign-in: the OAuth 2.0 login and consent pages, the token endpoint
(codes, rotating refresh tokens, PKCE) and ``/session`` user sessions. Given the
firm's data."""

from __future__ import annotations

import base64
import hashlib
import html
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .. import credentials as cred
from ..web import ApiError, Handler, json_response, read_json
from .handlers import API_PREFIX, arg, lower_keys

if TYPE_CHECKING:
    from .data import BigTimeData

# The client apps registered in the sandbox firm (BigTime: the admin registers the app, copies id + secret).
REGISTERED_APPS = {
    cred.BT_CLIENT_ID: {"name": "BigSync", "secret": cred.BT_CLIENT_SECRET, "redirect_uris": cred.BT_REDIRECT_URIS},
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class OAuthError(ApiError):
    """An OAuth token-endpoint error: RFC 6749 JSON (``error``, ``error_description``)."""


class SignInRoutes:
    """OAuth pages, the token endpoint, sessions."""

    def __init__(self, data: BigTimeData) -> None:
        self.data = data

    def rules(self) -> list[Rule]:
        def r(path: str, endpoint: Handler, *methods: str) -> Rule:
            return Rule(API_PREFIX.lower() + path, endpoint=endpoint, methods=list(methods))

        return [
            r("/oauth2/authorize", self.oauth_authorize, "GET"),
            r("/oauth2/authorize", self.oauth_authorize_post, "POST"),
            r("/oauth2/accesstoken", self.oauth_token, "POST"),
            r("/session", self.session_create, "POST"),
        ]

    def switch(self, name: str) -> bool:
        return bool(self.data.switches[name])

    # ---- OAuth 2.0 ---------------------------------------------------------------------------
    def _registered_uris(self, app: dict[str, Any]) -> list[str]:
        """The app's callback URLs: as registered, or as the admin API last set them (tests register
        a free port, as an admin registers the callback the wizard shows)."""
        return list(self.data.settings.get("redirect_uris") or app["redirect_uris"])

    def _redirect_ok(self, app: dict[str, Any], uri: str) -> bool:
        if uri in self._registered_uris(app):
            return True
        if not self.data.switches["loopback_any_port"]:
            return False
        # RFC 8252 §7.3: for a loopback redirect any port is accepted (whether BigTime does is unknown).
        try:
            got = urlsplit(uri)
            got_port = got.port
        except ValueError:
            return False
        for registered in self._registered_uris(app):
            reg = urlsplit(registered)
            if (
                got.hostname in LOOPBACK_HOSTS
                and reg.hostname == got.hostname
                and reg.scheme == got.scheme
                and reg.path == got.path
                and got_port is not None
                and not got.query
                and not got.fragment
            ):
                return True
        return False

    @staticmethod
    def _with_query(uri: str, params: dict[str, str | None]) -> str:
        parts = urlsplit(uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))

    def oauth_authorize(self, request: Request) -> Response:
        client_id = arg(request, "client_id") or ""
        redirect_uri = arg(request, "redirect_uri") or ""
        app = REGISTERED_APPS.get(client_id)
        if app is None:
            return self._page(
                "Application not recognised",
                f"<p class='err'>The application <b>{html.escape(client_id) or '(none)'}</b> "
                "is not registered with this BigTime firm. Ask your BigTime administrator to register it under "
                "<i>My Company › Integrations</i>.</p>",
                status=400,
            )
        if not self._redirect_ok(app, redirect_uri):
            return self._page(
                "Invalid redirect URI",
                f"<p class='err'>The redirect URI <b>{html.escape(redirect_uri) or '(none)'}</b> "
                f"is not registered for {html.escape(app['name'])}.</p>",
                status=400,
            )
        state = arg(request, "state") if self.switch("echo_state") else None
        response_type = arg(request, "response_type")
        if response_type not in (None, "", "code"):
            return self._redirect(
                self._with_query(redirect_uri, {"error": "unsupported_response_type", "state": state})
            )
        txn = self.data.auth.new_login_txn(
            client_id,
            redirect_uri,
            arg(request, "state"),
            arg(request, "code_challenge"),
            arg(request, "code_challenge_method"),
        )
        return self._login_page(txn)

    def oauth_authorize_post(self, request: Request) -> Response:
        form = request.form
        txn_id = form.get("txn", "")
        info = self.data.auth.login_txn(txn_id)
        if info is None:
            return self._page(
                "Sign-in expired",
                "<p class='err'>Your sign-in took too long or was already used. "
                "Go back to the application and start again.</p>",
                status=400,
            )
        step = form.get("step", "login")
        if step == "login":
            staff_id = self.data.directory.find_login(form.get("UserId", ""), form.get("Pwd", ""))
            if staff_id is None:
                return self._login_page(
                    txn_id, error="The user name or password you entered is incorrect.", user=form.get("UserId", "")
                )
            info["staff_id"] = staff_id
            return self._consent_page(txn_id, info)
        if step == "consent" and info.get("staff_id") is not None:
            decision = form.get("decision", "")
            # BigTime documents ``{redirect_uri}?code={code}``: the state comes back only with ``echo_state``.
            state = info["state"] if self.switch("echo_state") else None
            if decision == "allow":
                code = self.data.auth.issue_code(txn_id)
                return self._redirect(self._with_query(info["redirect_uri"], {"code": code, "state": state}))
            self.data.oauth_txns.pop(txn_id, None)
            return self._redirect(self._with_query(info["redirect_uri"], {"error": "access_denied", "state": state}))
        return self._login_page(txn_id)

    def oauth_token(self, request: Request) -> Response:
        params = self._token_params(request)
        basic_id = basic_secret = None
        auth = request.headers.get("Authorization", "")
        if auth[:6].lower() == "basic " and self.switch("token_basic_auth"):
            try:
                basic_id, _, basic_secret = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        client_id = params.get("client_id") or basic_id or ""
        secret = params.get("client_secret") or basic_secret or ""
        app = REGISTERED_APPS.get(client_id)
        if app is None or secret != app["secret"]:
            raise OAuthError(
                401, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret."
            )
        grant = params.get("grant_type", "")
        if grant == "authorization_code":
            info = self.data.auth.take_code(params.get("code", ""))
            if info is None or info["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "The authorization code is invalid, expired or already used.")
            if params.get("redirect_uri") and params["redirect_uri"] != info["redirect_uri"]:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match the one used to get the code.")
            verifier = params.get("code_verifier")
            if verifier and info.get("code_challenge"):
                if info.get("code_challenge_method", "plain") == "S256":
                    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                else:
                    digest = verifier
                if digest != info["code_challenge"]:
                    raise OAuthError(400, "invalid_grant", "code_verifier does not match the code_challenge.")
            tokens = self.data.auth.issue_tokens(info["staff_id"], client_id)
            info.setdefault("issued", []).extend([tokens["access_token"], tokens["refresh_token"]])
        elif grant == "refresh_token":
            tokens = self.data.auth.rotate_refresh(params.get("refresh_token", ""), client_id)
            if tokens is None:
                raise OAuthError(400, "invalid_grant", "The refresh token is invalid, revoked or already used.")
        elif not grant:
            raise OAuthError(400, "invalid_request", "grant_type is required.")
        else:
            raise OAuthError(400, "unsupported_grant_type", f"grant_type '{grant}' is not supported.")
        if self.switch("token_firm"):
            tokens = {**tokens, "firm": self.data.firm["Id"]}
        return json_response(tokens, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _token_params(self, request: Request) -> dict[str, str]:
        """The token request's fields: a JSON object (documented) unless ``token_json`` is off; a form
        only with ``token_form``. Any other body → 415."""
        if request.mimetype == "application/json" and self.switch("token_json"):
            return self._body_params(request)
        if request.mimetype == "application/x-www-form-urlencoded" and self.switch("token_form"):
            return {k.lower(): v for k, v in request.form.items()}
        accepted = (
            " or ".join(
                name
                for name, on in (("a JSON object", self.switch("token_json")), ("a form", self.switch("token_form")))
                if on
            )
            or "nothing"
        )
        raise OAuthError(
            415,
            "invalid_request",
            f"The token request body must be {accepted} (got {request.mimetype or 'no content type'}).",
        )

    @staticmethod
    def _body_params(request: Request) -> dict[str, str]:
        """Form-encoded or JSON body, names case-insensitive (lower-cased)."""
        if request.mimetype == "application/json" or request.get_data(as_text=True).lstrip().startswith("{"):
            data = read_json(request)
            if data is not None and not isinstance(data, dict):
                raise OAuthError(400, "invalid_request", "The body must be a JSON object or a form.")
            return {k: ("" if v is None else str(v)) for k, v in lower_keys(data or {}).items()}
        return {k.lower(): v for k, v in request.form.items()}

    @staticmethod
    def _redirect(location: str) -> Response:
        return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})

    def _login_page(self, txn: str, error: str = "", user: str = "") -> Response:
        err = f"<p class='err' id='error'>{html.escape(error)}</p>" if error else ""
        body = f"""
<h2>Sign in to BigTime</h2>{err}
<div class="hint" id="sandbox_hint">Sandbox demo login: <code>{html.escape(cred.BT_USERNAME)}</code>
/ <code>{html.escape(cred.BT_PASSWORD)}</code><br>
Firm id: <code>{html.escape(cred.BT_FIRM_ID)}</code></div>
<form method="post" action="{_P_ORIG}/oauth2/authorize" id="login">
  <input type="hidden" name="txn" value="{html.escape(txn)}">
  <input type="hidden" name="step" value="login">
  <label for="UserId">Email / user name</label>
  <input id="UserId" name="UserId" type="text" autocomplete="username" value="{html.escape(user)}" autofocus>
  <label for="Pwd">Password</label>
  <input id="Pwd" name="Pwd" type="password" autocomplete="current-password">
  <button type="submit" id="signin" class="primary">Sign In</button>
</form>"""
        return self._page("Sign in", body)

    def _consent_page(self, txn: str, info: dict[str, Any]) -> Response:
        app = REGISTERED_APPS[info["client_id"]]
        staff = self.data.records["staff"][info["staff_id"]]
        body = f"""
<h2>Allow {html.escape(app["name"])} to access your BigTime data?</h2>
<p>Signed in as <b>{html.escape(staff["FullName"])}</b> ({html.escape(staff["EMail"])})
at <b>{html.escape(self.data.firm["Nm"])}</b>.</p>
<p>{html.escape(app["name"])} will be able to read and update projects, clients and contacts, and read time, expenses,
invoices and budgets, with your rights.</p>
<form method="post" action="{_P_ORIG}/oauth2/authorize" id="consent">
  <input type="hidden" name="txn" value="{html.escape(txn)}">
  <input type="hidden" name="step" value="consent">
  <button type="submit" name="decision" value="allow" id="allow" class="primary">Allow</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>"""
        return self._page("Grant access", body)

    @staticmethod
    def _page(title: str, body: str, status: int = 200) -> Response:
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>BigTime - {html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{margin:0;font-family:"Segoe UI",Helvetica,Arial,sans-serif;background:#eef2f6;color:#1f2d3d}}
header{{background:#0b3b60;color:#fff;padding:14px 24px;font-size:22px;font-weight:600;letter-spacing:.5px}}
header span{{color:#6cc04a}}
main{{max-width:420px;margin:40px auto;background:#fff;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.12);
padding:28px 32px}}
h2{{font-size:19px;margin-top:0}} label{{display:block;margin:14px 0 4px;font-size:13px;color:#51606f}}
input[type=text],input[type=password]{{width:100%;box-sizing:border-box;padding:9px;border:1px solid #c5ced8;
border-radius:4px;font-size:15px}}
button{{margin-top:20px;margin-right:8px;padding:9px 22px;border-radius:4px;border:1px solid #9aa7b4;background:#fff;
font-size:15px;cursor:pointer}}
button.primary{{background:#6cc04a;border-color:#5aa83b;color:#fff}}
.err{{color:#b00020}}
.hint{{margin-bottom:16px;font-size:12px;color:#51606f;background:#f5f8fb;padding:8px;border-radius:4px}}
footer{{text-align:center;font-size:11px;color:#8593a1}}
</style></head>
<body><header>Big<span>Time</span> <small style="font-weight:400;font-size:13px">Sandbox</small></header>
<main>{body}</main><footer>BigTime Software emulator &middot; local sandbox</footer></body></html>"""
        return Response(page, status=status, mimetype="text/html")

    # ---- sessions ----------------------------------------------------------------------------
    def session_create(self, request: Request) -> Response:
        try:
            params = self._body_params(request)
        except OAuthError as exc:
            raise ApiError(400, "BAD_REQUEST", exc.message) from None
        user, pwd = params.get("userid", ""), params.get("pwd", "")
        if not user or not pwd:
            raise ApiError(400, "BAD_REQUEST", "UserId and Pwd are required.")
        firm = params.get("firm")
        staff_id = self.data.directory.find_login(user, pwd)
        if staff_id is None or (firm and firm != self.data.firm["Id"]):
            raise ApiError(401, "UNAUTHORIZED", "Invalid user id or password.")
        token = self.data.auth.new_session(staff_id)
        return json_response(
            {
                "firm": self.data.firm["Id"],
                **self.data.directory.staff_session_info(staff_id),
                "token": token,
                "firmname": self.data.firm["Nm"],
            }
        )


_P_ORIG = API_PREFIX  # form actions use BigTime's own spelling of the path
