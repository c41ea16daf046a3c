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
The app is :class:`BigTimeApp` (the error format, the rate limit) holding its routes, each given the
firm's data (and the authenticator, :mod:`.auth`, where it needs one): :mod:`.signin` (OAuth pages,
tokens, sessions), :mod:`.rest` (the API) and :mod:`.admin_api`; what they share is in
:mod:`.handlers`, the rate limit in :mod:`.rate_limit`. Every handler runs in the one wrapper of
:class:`~..web.ServiceApp` (the world's lock, the data layer's errors, saving the world).
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..switches import Switches
from ..web import ApiError, ServiceApp, json_response
from .admin_api import AdminRoutes
from .auth import BigTimeAuth
from .data import BigTimeData
from .formats import JSON, as_xml, wants_json
from .handlers import API_PREFIX
from .rate_limit import RateLimit
from .rest import RestRoutes
from .schema import BigTimeError
from .signin import REGISTERED_APPS, OAuthError, SignInRoutes


class BigTimeApp(ServiceApp):
    name = "bigtime"
    case_insensitive_paths = True
    data_errors = (BigTimeError,)

    def __init__(self, world: Any) -> None:
        self.data: BigTimeData = world.bigtime
        self.rate_limit = RateLimit(self.data)
        auth = BigTimeAuth(self.data)
        self.routes = [SignInRoutes(self.data), RestRoutes(self.data, auth)]
        self.admin = AdminRoutes(self.data, self.rate_limit)
        super().__init__(world)

    def switches(self) -> Switches:
        return self.data.switches

    def rules(self) -> list[Rule]:
        return [rule for routes in self.routes for rule in routes.rules()]

    def admin_rules(self) -> list[Rule]:
        return self.admin.admin_rules()

    # ---- the service's error format, rate limit ----------------------------------------------
    def data_error(self, exc: Exception, admin: bool) -> ApiError:
        """The data layer's refusal; its code is the class name (upper case in the admin API)."""
        assert isinstance(exc, BigTimeError)
        code = type(exc).__name__
        return ApiError(exc.status, code.upper() if admin else code, exc.message)

    def error_response(self, error: ApiError) -> Response:
        if isinstance(error, OAuthError):
            return json_response(
                {"error": error.code, "error_description": error.message},
                status=error.status,
                headers={"Cache-Control": "no-store", **error.headers},
            )
        return json_response({"Message": error.message}, status=error.status, headers=error.headers)

    def _default_fault_body(self, status: int) -> Any:
        return {"Message": f"Injected fault: HTTP {status}"}

    def admin_info(self) -> dict[str, Any]:
        return {**super().admin_info(), "firm_id": self.data.firm["Id"], "api_prefix": API_PREFIX}

    def _dispatch(self, url_map: Any, request: Request, admin: bool) -> Response:  # noqa: D401 - rate limit first
        if not admin and not request.path.lower().startswith(API_PREFIX.lower() + "/oauth2/authorize"):
            limited = self.rate_limit.take()  # browser pages above: not the API
            if limited is not None:
                return self._rate_limit_page(limited)
        response = super()._dispatch(url_map, request, admin)
        oauth = request.path.lower().startswith(API_PREFIX.lower() + "/oauth2/")  # OAuth's own JSON and pages
        if admin or oauth or response.mimetype != JSON or wants_json(request, self.data.switches["json_by_accept"]):
            return response
        return as_xml(response)

    def _rate_limit_page(self, retry_after: int) -> Response:
        """BigTime's refusal: 503 with an HTML page (its error bodies are sometimes HTML), and
        ``Retry-After`` only under the lenient switch."""
        headers = {"Retry-After": str(retry_after)} if self.data.settings.get("rate_limit_retry_after") else {}
        page = (
            "<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body>"
            "<h1>Service Unavailable</h1><p>The service is temporarily unavailable: too many requests. "
            "Try again later.</p></body></html>"
        )
        return Response(page, status=503, mimetype="text/html", headers=headers)


__all__ = ["API_PREFIX", "BigTimeApp", "REGISTERED_APPS"]
