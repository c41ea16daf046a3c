"""The BigTime emulator: API v2 under ``/BigtimeData/api/v2`` (paths case-insensitive).

What it speaks (see ``docs/sandbox.md`` and ``docs/reference/bigtime.md``):
- OAuth 2.0 authorization code: an HTML login page, a consent page with Allow/Deny, then a 302 to
  the registered redirect URI; ``/oauth2/accesstoken`` for codes and (rotating) refresh tokens;
- ``/session`` user sessions, and the firm API key;
- projects, clients, project contacts, custom fields, staff, picklists, time, expenses, invoices,
  budget status; 400 validation / 401 auth / 405 rights / 404 unknown / 503 rate limit.

Errors are ASP.NET Web API-shaped JSON, ``{"Message": "..."}`` (BigTime runs on ASP.NET; its
error bodies are not documented — and the ``html`` fault gives the whole-HTML-page variant).

The app is :class:`BigTimeApp` (routing, the error format, the rate limit, authentication) with
three mixins: :mod:`.signin` (OAuth pages, tokens, sessions), :mod:`.rest` (the API) and
:mod:`.admin_api`; what they share is in :mod:`.handlers`.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..switches import Switches
from ..web import ApiError, ServiceApp, json_response
from .admin_api import AdminApiMixin
from .data import RATE_LIMIT_WINDOW_SECONDS, BigTimeData
from .handlers import API_PREFIX
from .rest import RestApiMixin
from .signin import REGISTERED_APPS, OAuthError, SignInMixin

_P = API_PREFIX.lower()
UNAUTHORIZED = "Authorization has been denied for this request."


class BigTimeApp(SignInMixin, RestApiMixin, AdminApiMixin, ServiceApp):
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


__all__ = ["API_PREFIX", "BigTimeApp", "REGISTERED_APPS"]
