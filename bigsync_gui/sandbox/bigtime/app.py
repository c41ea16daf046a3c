"""The BigTime emulator: API v2 under ``/BigtimeData/api/v2`` (paths case-insensitive).

What it speaks (see ``docs/_sandbox_bigtime.md`` and ``reference/bigtime.md``):
- OAuth 2.0 authorization code: an HTML login page, a consent page with Allow/Deny, then a 302 to
  the registered redirect URI; ``/oauth2/accesstoken`` for codes and (rotating) refresh tokens;
- ``/session`` user sessions, and the firm API key;
- projects, clients, project contacts, custom fields, staff, picklists, time, expenses, invoices,
  budget status; 400 validation / 401 auth / 405 rights / 404 unknown / 503 rate limit.

Errors are ASP.NET Web API-shaped JSON, ``{"Message": "..."}`` (BigTime runs on ASP.NET; its
error bodies are not documented — and the ``html`` fault gives the whole-HTML-page variant).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import math
import threading
from collections import deque
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .. import credentials as cred
from ..switches import Switches
from ..web import ApiError, ServiceApp, json_response, read_json
from .data import (
    PERMISSIONS,
    RATE_LIMIT_WINDOW_SECONDS,
    BigTimeData,
    BigTimeError,
    ValidationError,
    parse_date,
)
from .schema import pick

API_PREFIX = "/BigtimeData/api/v2"
_P = API_PREFIX.lower()

# The client apps registered in the sandbox firm (BigTime: the admin registers the app, copies id + secret).
REGISTERED_APPS = {
    cred.BT_CLIENT_ID: {"name": "BigSync for Salesforce", "secret": cred.BT_CLIENT_SECRET, "redirect_uris": cred.BT_REDIRECT_URIS},
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
UNAUTHORIZED = "Authorization has been denied for this request."


class OAuthError(ApiError):
    """An OAuth token-endpoint error: RFC 6749 JSON (``error``, ``error_description``)."""


def _lower_keys(data: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in data.items()} if isinstance(data, dict) else {}


def _arg(request: Request, *names: str) -> str | None:
    """A query parameter by any of ``names``, case-insensitively."""
    wanted = {n.lower() for n in names}
    for key, value in request.args.items(multi=True):
        if key.lower() in wanted:
            return value
    return None


def _bool_arg(request: Request, name: str, default: bool = False) -> bool:
    value = _arg(request, name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("true", "1", "yes")


def api(permission: str | None = None, auth: bool = True) -> Callable[..., Any]:
    """Wrap a handler: authenticate, check the right, translate data errors, render JSON."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Response]:
        @functools.wraps(fn)
        def wrapper(self: BigTimeApp, request: Request, **values: Any) -> Response:
            try:
                with self.world.lock:
                    staff_id = self._authenticate(request) if auth else None
                    if permission:
                        self.data.require(staff_id, permission)
                    result = fn(self, request, staff_id, **values)
            except BigTimeError as exc:
                raise ApiError(exc.status, type(exc).__name__, exc.message) from None
            return result if isinstance(result, Response) else json_response(result)

        return wrapper

    return deco


def admin(fn: Callable[..., Any]) -> Callable[..., Response]:
    """Wrap an admin handler: hold the lock, persist after changes, admin-format errors."""

    @functools.wraps(fn)
    def wrapper(self: BigTimeApp, request: Request, **values: Any) -> Response:
        try:
            with self.world.lock:
                result = fn(self, request, **values)
                if request.method != "GET":
                    self.world.changed()
        except BigTimeError as exc:
            raise ApiError(exc.status, type(exc).__name__.upper(), exc.message) from None
        return result if isinstance(result, Response) else json_response(result)

    return wrapper


class BigTimeApp(ServiceApp):
    name = "bigtime"
    case_insensitive_paths = True

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._hits: deque[float] = deque()
        self._rate_lock = threading.Lock()

    @property
    def data(self) -> BigTimeData:
        return self.world.bigtime

    def switches(self) -> Switches:
        return self.data.switches

    # ---- routing -----------------------------------------------------------------------------
    def rules(self) -> list[Rule]:
        def r(path: str, endpoint: str, *methods: str) -> Rule:
            return Rule(_P + path, endpoint=endpoint, methods=list(methods))

        return [
            r("/oauth2/authorize", "oauth_authorize", "GET"),
            r("/oauth2/authorize", "oauth_authorize_post", "POST"),
            r("/oauth2/accesstoken", "oauth_token", "POST"),
            r("/session", "session_create", "POST"),
            r("/project", "project_list", "GET"),
            r("/project/detail", "project_create", "POST"),
            r("/project/detail/<int:pid>", "project_get", "GET"),
            r("/project/detail/<int:pid>", "project_update", "POST"),
            r("/project/detail/<int:pid>", "project_delete", "DELETE"),
            r("/project/contacts", "project_contacts", "GET"),
            r("/project/contacts/<int:pid>", "project_contacts", "GET"),
            r("/project/contact/<int:cid>", "project_contact_get", "GET"),
            r("/project/contact/<int:cid>", "project_contact_post", "POST"),
            r("/project/contact", "project_contact_post", "POST"),
            r("/project/customfields/<int:pid>", "project_custom_fields", "GET"),
            r("/project/customfields", "project_custom_fields_post", "POST"),
            r("/project/customfieldsbyname", "project_custom_fields_by_name", "POST"),
            r("/client", "client_list", "GET"),
            r("/client/detail", "client_create", "POST"),
            r("/client/detail/<int:cid>", "client_get", "GET"),
            r("/client/detail/<int:cid>", "client_update", "POST"),
            r("/staff", "staff_list", "GET"),
            r("/staff/detail/<int:sid>", "staff_get", "GET"),
            r("/picklist/fieldvalues/<field>", "picklist_field_values", "GET"),
            r("/picklist/<name>", "picklist", "GET"),
            r("/time/sheet/<int:sid>", "time_sheet", "GET"),
            r("/time/byproject/<int:pid>", "time_by_project", "GET"),
            r("/time", "time_create", "POST"),
            r("/time/detail", "time_create", "POST"),
            r("/time/detail/<int:tid>", "time_get", "GET"),
            r("/expense/reportbyfilter", "expense_report", "POST"),
            r("/expense/detail", "expense_create", "POST"),
            r("/expense/detail/<int:eid>", "expense_get", "GET"),
            r("/invoice/history", "invoice_history", "GET"),
            r("/invoice/drafts", "invoice_drafts", "GET"),
            r("/invoice/detail/<int:iid>", "invoice_get", "GET"),
            r("/task/budgetstatusbyproject/<int:pid>", "budget_status", "GET"),
            r("/task/listbyproject/<int:pid>", "task_list", "GET"),
        ]

    def admin_rules(self) -> list[Rule]:
        return [
            Rule("/records/<kind>", endpoint="admin_records_list", methods=["GET"]),
            Rule("/records/<kind>", endpoint="admin_records_create", methods=["POST"]),
            Rule("/records/<kind>/<int:rid>", endpoint="admin_record_get", methods=["GET"]),
            Rule("/records/<kind>/<int:rid>", endpoint="admin_record_patch", methods=["PATCH"]),
            Rule("/records/<kind>/<int:rid>", endpoint="admin_record_delete", methods=["DELETE"]),
            Rule("/invoices/<int:iid>/payments", endpoint="admin_invoice_payment", methods=["POST"]),
            Rule("/invoices/<int:iid>/post", endpoint="admin_invoice_post", methods=["POST"]),
            Rule("/projects/<int:pid>/totals", endpoint="admin_project_totals", methods=["GET"]),
            Rule("/tokens", endpoint="admin_tokens", methods=["GET"]),
            Rule("/tokens/expire", endpoint="admin_tokens_expire", methods=["POST"]),
            Rule("/tokens/revoke", endpoint="admin_tokens_revoke", methods=["POST"]),
            Rule("/settings", endpoint="admin_settings_get", methods=["GET"]),
            Rule("/settings", endpoint="admin_settings_post", methods=["POST", "PATCH"]),
            Rule("/rate_limit", endpoint="admin_rate_limit_get", methods=["GET"]),
            Rule("/rate_limit", endpoint="admin_rate_limit_post", methods=["POST"]),
        ]

    # ---- the service's error format, rate limit ----------------------------------------------
    def error_response(self, error: ApiError) -> Response:
        if isinstance(error, OAuthError):
            return json_response({"error": error.code, "error_description": error.message}, status=error.status,
                                 headers={"Cache-Control": "no-store", **error.headers})
        return json_response({"Message": error.message}, status=error.status, headers=error.headers)

    def _default_fault_body(self, status: int) -> Any:
        return {"Message": f"Injected fault: HTTP {status}"}

    def admin_info(self) -> dict[str, Any]:
        return {**super().admin_info(), "firm_id": self.data.firm["Id"], "api_prefix": API_PREFIX}

    def _dispatch(self, url_map: Any, request: Request, admin: bool) -> Response:  # noqa: D401 - rate limit first
        if not admin and not request.path.lower().startswith(_P + "/oauth2/authorize"):  # browser pages: not the API
            limited = self._rate_limited()
            if limited is not None:
                return self._rate_limit_page(limited)
        return super()._dispatch(url_map, request, admin)

    def _rate_limited(self) -> int | None:
        """The firm's rolling window (the sandbox has one firm): None while under the limit, else
        the seconds until a slot frees (the request is refused and not counted)."""
        settings = self.data.settings
        limit = settings.get("rate_limit_requests")
        if not limit:
            return None
        window = float(settings.get("rate_limit_window_seconds") or RATE_LIMIT_WINDOW_SECONDS)
        now = self.world.clock.now().timestamp()
        with self._rate_lock:
            if self._hits and self._hits[-1] > now:  # the clock was moved back: start afresh
                self._hits.clear()
            while self._hits and self._hits[0] <= now - window:
                self._hits.popleft()
            if len(self._hits) >= int(limit):
                return max(1, math.ceil(self._hits[0] + window - now))
            self._hits.append(now)
        return None

    def _rate_limit_page(self, retry_after: int) -> Response:
        """BigTime's refusal: 503 with an HTML page (its error bodies are sometimes HTML), and
        ``Retry-After`` only under the lenient switch."""
        headers = {"Retry-After": str(retry_after)} if self.data.settings.get("rate_limit_retry_after") else {}
        page = ("<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
                "<h1>Service Unavailable</h1><p>The service is temporarily unavailable: too many requests. "
                "Try again later.</p></body></html>")
        return Response(page, status=503, mimetype="text/html", headers=headers)

    # ---- authentication ----------------------------------------------------------------------
    def _switch(self, name: str) -> bool:
        return bool(self.data.switches[name])

    def _authenticate(self, request: Request) -> int:
        """The staff member behind the request, from any of BigTime's three credentials, always with
        the firm's ``X-Auth-Realm`` (every documented call carries it); else 401."""
        headers = request.headers
        staff_id: int | None = None
        authorization = headers.get("Authorization", "")
        if headers.get("X-Auth-Realm") != self.data.firm["Id"]:
            staff_id = None
        elif authorization[:7].lower() == "bearer ":
            if self._switch("oauth_bearer"):
                staff_id = self.data.check_access_token(authorization[7:].strip())
        elif headers.get("X-Auth-ApiToken"):
            staff_id = self.data.check_api_key(headers["X-Auth-ApiToken"].strip())
        elif headers.get("X-Auth-Token"):
            token = headers["X-Auth-Token"].strip()
            staff_id = self.data.check_session_token(token)
            if staff_id is None and self._switch("oauth_x_auth_token"):
                staff_id = self.data.check_access_token(token)
        if staff_id is None or staff_id not in self.data.records["staff"]:
            raise ApiError(401, "UNAUTHORIZED", UNAUTHORIZED)
        return staff_id

    # ---- OAuth 2.0 ---------------------------------------------------------------------------
    def _redirect_ok(self, app: dict[str, Any], uri: str) -> bool:
        if uri in app["redirect_uris"]:
            return True
        if not self.data.settings.get("loopback_any_port", True):
            return False
        # RFC 8252 §7.3: for a loopback redirect any port is accepted (whether BigTime does is unknown).
        try:
            got = urlsplit(uri)
            got_port = got.port
        except ValueError:
            return False
        for registered in app["redirect_uris"]:
            reg = urlsplit(registered)
            if got.hostname in LOOPBACK_HOSTS and reg.hostname == got.hostname and reg.scheme == got.scheme \
                    and reg.path == got.path and got_port is not None and not got.query and not got.fragment:
                return True
        return False

    @staticmethod
    def _with_query(uri: str, params: dict[str, str | None]) -> str:
        parts = urlsplit(uri)
        query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))

    def oauth_authorize(self, request: Request) -> Response:
        client_id = _arg(request, "client_id") or ""
        redirect_uri = _arg(request, "redirect_uri") or ""
        app = REGISTERED_APPS.get(client_id)
        if app is None:
            return self._page("Application not recognised", f"<p class='err'>The application <b>{html.escape(client_id) or '(none)'}</b> "
                              "is not registered with this BigTime firm. Ask your BigTime administrator to register it under "
                              "<i>My Company › Integrations</i>.</p>", status=400)
        if not self._redirect_ok(app, redirect_uri):
            return self._page("Invalid redirect URI", f"<p class='err'>The redirect URI <b>{html.escape(redirect_uri) or '(none)'}</b> "
                              f"is not registered for {html.escape(app['name'])}.</p>", status=400)
        state = _arg(request, "state") if self._switch("echo_state") else None
        response_type = _arg(request, "response_type")
        if response_type not in (None, "", "code"):
            return self._redirect(self._with_query(redirect_uri, {"error": "unsupported_response_type", "state": state}))
        with self.world.lock:
            txn = self.data.new_login_txn(client_id, redirect_uri, _arg(request, "state"), _arg(request, "code_challenge"),
                                          _arg(request, "code_challenge_method"))
        return self._login_page(txn)

    def oauth_authorize_post(self, request: Request) -> Response:
        form = request.form
        txn_id = form.get("txn", "")
        info = self.data.login_txn(txn_id)
        if info is None:
            return self._page("Sign-in expired", "<p class='err'>Your sign-in took too long or was already used. "
                              "Go back to the application and start again.</p>", status=400)
        step = form.get("step", "login")
        if step == "login":
            staff_id = self.data.find_login(form.get("UserId", ""), form.get("Pwd", ""))
            if staff_id is None:
                return self._login_page(txn_id, error="The user name or password you entered is incorrect.",
                                        user=form.get("UserId", ""))
            info["staff_id"] = staff_id
            return self._consent_page(txn_id, info)
        if step == "consent" and info.get("staff_id") is not None:
            decision = form.get("decision", "")
            # BigTime documents ``{redirect_uri}?code={code}``: the state comes back only with ``echo_state``.
            state = info["state"] if self._switch("echo_state") else None
            if decision == "allow":
                code = self.data.issue_code(txn_id)
                return self._redirect(self._with_query(info["redirect_uri"], {"code": code, "state": state}))
            self.data.oauth_txns.pop(txn_id, None)
            return self._redirect(self._with_query(info["redirect_uri"], {"error": "access_denied", "state": state}))
        return self._login_page(txn_id)

    def oauth_token(self, request: Request) -> Response:
        params = self._token_params(request)
        basic_id = basic_secret = None
        auth = request.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                basic_id, _, basic_secret = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        client_id = params.get("client_id") or basic_id or ""
        secret = params.get("client_secret") or basic_secret or ""
        app = REGISTERED_APPS.get(client_id)
        if app is None or secret != app["secret"]:
            raise OAuthError(401, "invalid_client", "Client authentication failed: unknown client_id or wrong client_secret.")
        grant = params.get("grant_type", "")
        if grant == "authorization_code":
            info = self.data.take_code(params.get("code", ""))
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
            tokens = self.data.issue_tokens(info["staff_id"], client_id)
            info.setdefault("issued", []).extend([tokens["access_token"], tokens["refresh_token"]])
        elif grant == "refresh_token":
            tokens = self.data.rotate_refresh(params.get("refresh_token", ""), client_id)
            if tokens is None:
                raise OAuthError(400, "invalid_grant", "The refresh token is invalid, revoked or already used.")
        elif not grant:
            raise OAuthError(400, "invalid_request", "grant_type is required.")
        else:
            raise OAuthError(400, "unsupported_grant_type", f"grant_type '{grant}' is not supported.")
        if self._switch("token_firm"):
            tokens = {**tokens, "firm": self.data.firm["Id"]}
        return json_response(tokens, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _token_params(self, request: Request) -> dict[str, str]:
        """The token request's fields: a JSON object (documented) unless ``token_json`` is off; a form
        only with ``token_form``. Any other body → 415."""
        if request.mimetype == "application/json" and self._switch("token_json"):
            return self._body_params(request)
        if request.mimetype == "application/x-www-form-urlencoded" and self._switch("token_form"):
            return {k.lower(): v for k, v in request.form.items()}
        accepted = " or ".join(name for name, on in (("a JSON object", self._switch("token_json")),
                                                      ("a form", self._switch("token_form"))) if on) or "nothing"
        raise OAuthError(415, "invalid_request", f"The token request body must be {accepted} "
                                                 f"(got {request.mimetype or 'no content type'}).")

    @staticmethod
    def _body_params(request: Request) -> dict[str, str]:
        """Form-encoded or JSON body, names case-insensitive (lower-cased)."""
        if request.mimetype == "application/json" or request.get_data(as_text=True).lstrip().startswith("{"):
            data = read_json(request)
            if data is not None and not isinstance(data, dict):
                raise OAuthError(400, "invalid_request", "The body must be a JSON object or a form.")
            return {k: ("" if v is None else str(v)) for k, v in _lower_keys(data or {}).items()}
        return {k.lower(): v for k, v in request.form.items()}

    @staticmethod
    def _redirect(location: str) -> Response:
        return Response("", status=302, headers={"Location": location, "Cache-Control": "no-store"})

    def _login_page(self, txn: str, error: str = "", user: str = "") -> Response:
        err = f"<p class='err' id='error'>{html.escape(error)}</p>" if error else ""
        body = f"""
<h2>Sign in to BigTime</h2>{err}
<form method="post" action="{_P_ORIG}/oauth2/authorize" id="login">
  <input type="hidden" name="txn" value="{html.escape(txn)}">
  <input type="hidden" name="step" value="login">
  <label for="UserId">Email / user name</label>
  <input id="UserId" name="UserId" type="text" autocomplete="username" value="{html.escape(user)}" autofocus>
  <label for="Pwd">Password</label>
  <input id="Pwd" name="Pwd" type="password" autocomplete="current-password">
  <button type="submit" id="signin" class="primary">Sign In</button>
</form>
<div class="hint">Sandbox demo login: <code>{html.escape(cred.BT_USERNAME)}</code> / <code>{html.escape(cred.BT_PASSWORD)}</code><br>
Firm id: <code>{html.escape(cred.BT_FIRM_ID)}</code></div>"""
        return self._page("Sign in", body)

    def _consent_page(self, txn: str, info: dict[str, Any]) -> Response:
        app = REGISTERED_APPS[info["client_id"]]
        staff = self.data.records["staff"][info["staff_id"]]
        body = f"""
<h2>Allow {html.escape(app['name'])} to access your BigTime data?</h2>
<p>Signed in as <b>{html.escape(staff['FullName'])}</b> ({html.escape(staff['EMail'])}) at <b>{html.escape(self.data.firm['Nm'])}</b>.</p>
<p>{html.escape(app['name'])} will be able to read and update projects, clients and contacts, and read time, expenses,
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
main{{max-width:420px;margin:40px auto;background:#fff;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.12);padding:28px 32px}}
h2{{font-size:19px;margin-top:0}} label{{display:block;margin:14px 0 4px;font-size:13px;color:#51606f}}
input[type=text],input[type=password]{{width:100%;box-sizing:border-box;padding:9px;border:1px solid #c5ced8;border-radius:4px;font-size:15px}}
button{{margin-top:20px;margin-right:8px;padding:9px 22px;border-radius:4px;border:1px solid #9aa7b4;background:#fff;font-size:15px;cursor:pointer}}
button.primary{{background:#6cc04a;border-color:#5aa83b;color:#fff}}
.err{{color:#b00020}} .hint{{margin-top:22px;font-size:12px;color:#51606f;background:#f5f8fb;padding:8px;border-radius:4px}}
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
        with self.world.lock:
            staff_id = self.data.find_login(user, pwd)
            if staff_id is None or (firm and firm != self.data.firm["Id"]):
                raise ApiError(401, "UNAUTHORIZED", "Invalid user id or password.")
            token = self.data.new_session(staff_id)
            return json_response({"firm": self.data.firm["Id"], **self.data.staff_session_info(staff_id), "token": token,
                                  "firmname": self.data.firm["Nm"]})

    # ---- projects ----------------------------------------------------------------------------
    def _body(self, request: Request) -> dict[str, Any]:
        data = read_json(request)
        if data is None:
            data = {k: v for k, v in request.form.items()}
        if not isinstance(data, dict):
            raise ApiError(400, "BAD_REQUEST", "The request body must be a JSON object.")
        return data

    @api()
    def project_list(self, request: Request, staff: int) -> Any:
        return self.data.project_list(show_inactive=_bool_arg(request, "ShowInactive"))

    @api()
    def project_get(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.get_project(pid, view=_arg(request, "View") or "Detailed")

    @api("can_create_projects")
    def project_create(self, request: Request, staff: int) -> Any:
        pid = self.data.create_project(self._body(request))
        return self.data.get_project(pid)

    @api("can_edit_projects")
    def project_update(self, request: Request, staff: int, pid: int) -> Any:
        self.data.update_project(pid, self._body(request))
        return self.data.get_project(pid)

    @api("can_delete_projects")
    def project_delete(self, request: Request, staff: int, pid: int) -> Any:
        self.data.delete_project(pid)
        return True

    @api()
    def project_contacts(self, request: Request, staff: int, pid: int | None = None) -> Any:
        if pid is None:
            raw = _arg(request, "id", "projectsid", "projectid")
            if not raw or not raw.strip().isdigit():
                raise ApiError(400, "BAD_REQUEST", "The project id (id) is required.")
            pid = int(raw)
        return self.data.project_contacts(pid)

    @api()
    def project_contact_get(self, request: Request, staff: int, cid: int) -> Any:
        return self.data.get_contact(cid)

    @api("can_edit_contacts")
    def project_contact_post(self, request: Request, staff: int, cid: int | None = None) -> Any:
        """``POST /project/Contact?projectsid=`` adds a contact (pybt); ``/project/Contact/{id}``
        updates one — and ``/project/Contact/0`` adds one only under the switch
        ``contact_create_with_id`` (otherwise contact 0 is not found)."""
        body = self._body(request)
        raw = _arg(request, "projectsid", "projectid", "id")
        project = int(raw) if raw and raw.strip().isdigit() else pick(body, "ProjectSid", "ProjectId")
        if cid is None or (cid == 0 and self.data.switches["contact_create_with_id"]):
            if project in (None, ""):
                raise ApiError(400, "BAD_REQUEST", "projectsid is required to add a contact.")
            cid = self.data.add_project_contact(int(project), body)
        else:
            self.data.update_project_contact(cid, body, project_id=int(project) if project not in (None, "") else None)
        return self.data.get_contact(cid)

    @api()
    def project_custom_fields(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.custom_fields(pid)

    def _custom_items(self, request: Request) -> list[dict[str, Any]]:
        data = read_json(request)
        items = data if isinstance(data, list) else [data] if isinstance(data, dict) else None
        if not items:
            raise ApiError(400, "BAD_REQUEST", "The body must be a custom field value or a list of them.")
        return items

    def _set_custom(self, request: Request, by_name: bool) -> Any:
        raw = _arg(request, "projectsid", "projectid", "id")
        touched = []
        for item in self._custom_items(request):
            project = pick(item, "ProjectSid", "ProjectId") or raw
            if project in (None, ""):
                raise ValidationError("ProjectSid is required.")
            value = pick(item, "Value")
            if by_name:
                self.data.set_custom_field(int(project), value, name=pick(item, "Name"))
            else:
                self.data.set_custom_field(int(project), value, sid=pick(item, "Sid"), name=pick(item, "Name"))
            touched.append(int(project))
        return [row for pid in dict.fromkeys(touched) for row in self.data.custom_fields(pid)]

    @api("can_edit_projects")
    def project_custom_fields_post(self, request: Request, staff: int) -> Any:
        return self._set_custom(request, by_name=False)

    @api("can_edit_projects")
    def project_custom_fields_by_name(self, request: Request, staff: int) -> Any:
        return self._set_custom(request, by_name=True)

    # ---- clients, staff, picklists -----------------------------------------------------------
    @api()
    def client_list(self, request: Request, staff: int) -> Any:
        return self.data.client_list(show_inactive=_bool_arg(request, "ShowInactive"))

    @api()
    def client_get(self, request: Request, staff: int, cid: int) -> Any:
        return self.data.get_client(cid)

    @api("can_create_clients")
    def client_create(self, request: Request, staff: int) -> Any:
        return self.data.get_client(self.data.create_client(self._body(request)))

    @api("can_edit_clients")
    def client_update(self, request: Request, staff: int, cid: int) -> Any:
        self.data.update_client(cid, self._body(request))
        return self.data.get_client(cid)

    @api()
    def staff_list(self, request: Request, staff: int) -> Any:
        return self.data.staff_list(show_inactive=_bool_arg(request, "ShowInactive"))

    @api()
    def staff_get(self, request: Request, staff: int, sid: int) -> Any:
        return self.data.get_staff(sid)

    @api()
    def picklist(self, request: Request, staff: int, name: str) -> Any:
        return self.data.picklist(name)

    @api()
    def picklist_field_values(self, request: Request, staff: int, field: str) -> Any:
        return self.data.field_values(field)

    # ---- time, expenses ----------------------------------------------------------------------
    def _dates(self, request: Request, start_names: tuple[str, ...], end_names: tuple[str, ...]) -> tuple[Any, Any]:
        start, end = _arg(request, *start_names), _arg(request, *end_names)
        return (parse_date(start, start_names[0]) if start else None, parse_date(end, end_names[0]) if end else None)

    @api()
    def time_sheet(self, request: Request, staff: int, sid: int) -> Any:
        start, end = self._dates(request, ("StartDt",), ("EndDt",))
        return self.data.time_entries(staff_id=sid, start=start, end=end)

    @api()
    def time_by_project(self, request: Request, staff: int, pid: int) -> Any:
        start, end = self._dates(request, ("StartDt",), ("EndDt",))
        return self.data.time_entries(project_id=pid, start=start, end=end)

    @api()
    def time_get(self, request: Request, staff: int, tid: int) -> Any:
        return self.data.get_time(tid)

    @api("can_log_time")
    def time_create(self, request: Request, staff: int) -> Any:
        data = read_json(request)
        if isinstance(data, list):
            return [self.data.get_time(self.data.log_time(item, staff_id=staff)) for item in data]
        if not isinstance(data, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a time entry or a list of them.")
        return self.data.get_time(self.data.log_time(data, staff_id=staff))

    @api()
    def expense_report(self, request: Request, staff: int) -> Any:
        body = _lower_keys(read_json(request) or {})
        start = parse_date(body["mindate"], "mindate") if body.get("mindate") else None
        end = parse_date(body["maxdate"], "maxdate") if body.get("maxdate") else None

        def ids(value: Any, name: str) -> list[int] | None:
            if value in (None, "", []):
                return None
            items = value if isinstance(value, list) else str(value).split(",")
            try:
                return [int(str(v).strip()) for v in items if str(v).strip()]
            except ValueError:
                raise ValidationError(f"{name} must be a list of numeric ids.") from None

        return self.data.expenses(start, end, project_ids=ids(body.get("projectsids"), "projectsids"),
                                  staff_ids=ids(body.get("staffsids"), "staffsids"))

    @api("can_log_time")
    def expense_create(self, request: Request, staff: int) -> Any:
        return self.data.get_expense(self.data.log_expense(self._body(request), staff_id=staff))

    @api()
    def expense_get(self, request: Request, staff: int, eid: int) -> Any:
        return self.data.get_expense(eid)

    # ---- invoices, budgets -------------------------------------------------------------------
    @api("can_view_invoices")
    def invoice_history(self, request: Request, staff: int) -> Any:
        start, end = self._dates(request, ("startDt",), ("endDt",))
        if start is None or end is None:
            raise ApiError(400, "BAD_REQUEST", "Both startDt and endDt are required.")
        return self.data.invoice_history(start, end)

    @api("can_view_invoices")
    def invoice_drafts(self, request: Request, staff: int) -> Any:
        return self.data.invoice_drafts()

    @api("can_view_invoices")
    def invoice_get(self, request: Request, staff: int, iid: int) -> Any:
        return self.data.get_invoice(iid)

    @api()
    def budget_status(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.budget_status(pid)

    @api()
    def task_list(self, request: Request, staff: int, pid: int) -> Any:
        return self.data.project_tasks(pid)

    # ---- admin API ---------------------------------------------------------------------------
    _ADMIN_KINDS = ("client", "project", "staff", "contact", "time", "expense", "invoice", "task")

    def _kind(self, kind: str) -> str:
        kind = kind.lower().rstrip("s") if kind.lower() not in ("staff",) else "staff"
        if kind == "expens":
            kind = "expense"
        if kind not in self._ADMIN_KINDS:
            raise ApiError(404, "NOT_FOUND", f"Unknown record kind '{kind}'. Known: {', '.join(self._ADMIN_KINDS)}")
        return kind

    @admin
    def admin_records_list(self, request: Request, kind: str) -> Any:
        return self.data.list_kind(self._kind(kind))

    @admin
    def admin_records_create(self, request: Request, kind: str) -> Any:
        kind = self._kind(kind)
        body = read_json(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
        rid = self.data.create_kind(kind, body)
        return json_response(self.data.get_kind(kind, rid), status=201)

    @admin
    def admin_record_get(self, request: Request, kind: str, rid: int) -> Any:
        return self.data.get_kind(self._kind(kind), rid)

    @admin
    def admin_record_patch(self, request: Request, kind: str, rid: int) -> Any:
        kind = self._kind(kind)
        body = read_json(request)
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
        self.data.update_kind(kind, rid, body)
        return self.data.get_kind(kind, rid)

    @admin
    def admin_record_delete(self, request: Request, kind: str, rid: int) -> Any:
        self.data.delete_kind(self._kind(kind), rid)
        return {"ok": True}

    @admin
    def admin_invoice_payment(self, request: Request, iid: int) -> Any:
        body = _lower_keys(read_json(request) or {})
        if "amount" not in body:
            raise ApiError(400, "BAD_REQUEST", "amount is required.")
        self.data.record_payment(iid, body["amount"], body.get("date"))
        return self.data.get_invoice(iid)

    @admin
    def admin_invoice_post(self, request: Request, iid: int) -> Any:
        self.data.post_invoice(iid)
        return self.data.get_invoice(iid)

    @admin
    def admin_project_totals(self, request: Request, pid: int) -> Any:
        return self.data.project_totals(pid)

    @admin
    def admin_tokens(self, request: Request) -> Any:
        def rows(store: dict[str, Any]) -> list[dict[str, Any]]:
            return [{"token": k, **{f: v for f, v in info.items() if f != "issued"}} for k, info in store.items()]

        return {"access": rows(self.data.access_tokens), "refresh": rows(self.data.refresh_tokens),
                "session": rows(self.data.session_tokens), "api_key_revoked": bool(self.data.settings.get("api_key_revoked"))}

    @admin
    def admin_tokens_expire(self, request: Request) -> Any:
        body = _lower_keys(read_json(request) or {})
        kind = str(body.get("kind", "all")).lower()
        if kind not in ("all", "access", "session", "code"):
            raise ApiError(400, "BAD_REQUEST", "kind must be all, access, session or code.")
        return {"expired": self.data.expire_tokens(kind, body.get("token"))}

    @admin
    def admin_tokens_revoke(self, request: Request) -> Any:
        body = _lower_keys(read_json(request) or {})
        kind = str(body.get("kind", "all")).lower()
        if kind not in ("all", "access", "refresh", "session", "api_key"):
            raise ApiError(400, "BAD_REQUEST", "kind must be all, access, refresh, session or api_key.")
        return {"revoked": self.data.revoke_tokens(kind, body.get("token"))}

    def _settings_view(self) -> dict[str, Any]:
        settings = {k: v for k, v in self.data.settings.items()}
        settings.setdefault("loopback_any_port", True)
        settings["permissions"] = {str(sid): self.data.permissions(sid) for sid in self.data.records["staff"]}
        settings["permission_names"] = dict(PERMISSIONS)
        return settings

    def _rate_limit_view(self) -> dict[str, Any]:
        settings = self.data.settings
        return {"requests": settings.get("rate_limit_requests"), "window_seconds": settings.get("rate_limit_window_seconds"),
                "retry_after": bool(settings.get("rate_limit_retry_after"))}

    @admin
    def admin_rate_limit_get(self, request: Request) -> Any:
        return self._rate_limit_view()

    @admin
    def admin_rate_limit_post(self, request: Request) -> Any:
        """``{"requests": N or null (off), "window_seconds": S, "retry_after": bool}`` (each optional);
        the window starts empty."""
        body = read_json(request) or {}
        if not isinstance(body, dict) or set(body) - {"requests", "window_seconds", "retry_after"}:
            raise ApiError(400, "BAD_REQUEST", "The body is an object with requests, window_seconds and retry_after.")
        requests_, window = body.get("requests", self.data.settings.get("rate_limit_requests")), \
            body.get("window_seconds", self.data.settings.get("rate_limit_window_seconds"))
        if requests_ is not None and (not isinstance(requests_, int) or isinstance(requests_, bool) or requests_ < 1):
            raise ApiError(400, "BAD_REQUEST", "requests must be a positive integer, or null for no limit.")
        if not isinstance(window, (int, float)) or isinstance(window, bool) or window <= 0:
            raise ApiError(400, "BAD_REQUEST", "window_seconds must be a positive number.")
        self.data.settings.update(rate_limit_requests=requests_, rate_limit_window_seconds=float(window))
        if "retry_after" in body:
            self.data.settings["rate_limit_retry_after"] = bool(body["retry_after"])
        with self._rate_lock:
            self._hits.clear()
        return self._rate_limit_view()

    @admin
    def admin_settings_get(self, request: Request) -> Any:
        return self._settings_view()

    @admin
    def admin_settings_post(self, request: Request) -> Any:
        body = read_json(request) or {}
        if not isinstance(body, dict):
            raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
        settings = self.data.settings
        for key, value in body.items():
            if key in ("access_token_ttl_seconds", "session_ttl_seconds"):
                if not isinstance(value, int) or value < 1:
                    raise ApiError(400, "BAD_REQUEST", f"{key} must be a positive integer.")
                settings[key] = value
            elif key in ("api_key_revoked", "loopback_any_port"):
                settings[key] = bool(value)
            elif key == "api_key":
                settings[key] = str(value)
                settings["api_key_revoked"] = False
            elif key == "permissions":
                if not isinstance(value, dict):
                    raise ApiError(400, "BAD_REQUEST", "permissions must be an object.")
                if all(isinstance(v, dict) for v in value.values()) and value:
                    for sid, changes in value.items():
                        self.data.set_permissions(int(sid), changes)
                else:
                    target = body.get("staff_id") or min(self.data.records["staff"])
                    self.data.set_permissions(int(target), value)
            elif key == "staff_id":
                continue
            else:
                raise ApiError(400, "BAD_REQUEST", f"Unknown setting '{key}'.")
        return self._settings_view()


_P_ORIG = API_PREFIX  # form actions use BigTime's own spelling of the path

__all__ = ["API_PREFIX", "BigTimeApp", "REGISTERED_APPS"]
