"""The Salesforce emulator's HTTP side: OAuth 2.0 (login form, consent, token, revoke, userinfo,
identity), the REST API under ``/services/data/``, the Tooling and Streaming APIs and the sandbox
admin API.

Wire formats follow ``docs/reference/salesforce.md``: REST errors are a JSON array of
``{"message", "errorCode", "fields"}``, OAuth errors ``{"error", "error_description"}``, every
REST response carries ``Sforce-Limit-Info``, token responses have no ``expires_in``.

:class:`SalesforceApp` holds one object per group of routes, each given the org's data and the
REST authenticator (:mod:`.rest`): :mod:`.oauth_routes`, :mod:`.describe_routes`,
:mod:`.query_routes`, :mod:`.record_routes`, :mod:`.collection_routes` (with :mod:`.composite`),
:mod:`.tooling`, :mod:`.streaming` and :mod:`.admin_routes`. Every handler runs in the one wrapper
of :class:`~..web.ServiceApp` (the world's lock, the data layer's errors, saving the world).
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .. import credentials as cred
from ..switches import Switches
from ..web import ApiError, ServiceApp
from . import composite, ids, request_size
from .admin_routes import AdminRoutes
from .api_errors import from_data_error, render
from .auth_store import OAuthError
from .collection_routes import CollectionRoutes
from .data import SalesforceData
from .describe_routes import DescribeRoutes
from .errors import SalesforceError
from .oauth_routes import OAuthRoutes
from .permissions import Permissions
from .query_routes import QueryRoutes
from .record_routes import RecordRoutes
from .rest import API_VERSION, RestAuth
from .streaming import StreamingRoutes
from .tooling import ToolingRoutes

DATA_PATH = "/services/data/<version>"


class SalesforceApp(ServiceApp):
    name = "salesforce"
    data_errors = (SalesforceError, OAuthError)

    def __init__(self, world: Any) -> None:
        self.data: SalesforceData = world.salesforce
        auth = RestAuth(self.data)
        permissions = Permissions(self.data)
        self.routes = [
            OAuthRoutes(self.data, auth, world.changed),
            DescribeRoutes(self.data, auth, permissions),
            QueryRoutes(self.data, auth),
            RecordRoutes(self.data, auth, permissions),
            CollectionRoutes(self.data, auth, self._subrequest),
            ToolingRoutes(self.data, auth, permissions),
            StreamingRoutes(self.data, world.lock),
        ]
        self.admin = [AdminRoutes(self.data), *[r for r in self.routes if hasattr(r, "admin_rules")]]
        super().__init__(world)

    def switches(self) -> Switches:
        return self.data.switches

    def rules(self) -> list[Rule]:
        return [rule for routes in self.routes for rule in routes.rules(DATA_PATH)]

    def admin_rules(self) -> list[Rule]:
        return [rule for routes in self.admin for rule in routes.admin_rules()]

    def admin_info(self) -> dict[str, Any]:
        info = super().admin_info()
        info.update(
            {
                "api_version": API_VERSION,
                "org_id": ids.ORG_ID,
                "org_name": cred.SF_ORG_NAME,
                "username": cred.SF_USERNAME,
                "consumer_key": cred.SF_CONSUMER_KEY,
            }
        )
        return info

    def _subrequest(self, request: Request) -> Response:
        """A composite subrequest, answered through the same routes as a direct request."""
        return self._dispatch(self.url_map, request, admin=False)

    def _dispatch(self, url_map: Any, request: Request, admin: bool) -> Response:
        """A REST call larger than Salesforce takes is refused before any route sees it (a composite's
        subrequests are inside the call already checked)."""
        if not admin and request.path.startswith("/services/data") and not composite.inside_subrequest():
            refused = request_size.refusal(request)
            if refused is not None:
                return self.error_response(refused)
        return super()._dispatch(url_map, request, admin)

    # ---- rendering ------------------------------------------------------------------------------
    def data_error(self, exc: Exception, admin: bool) -> ApiError:
        return from_data_error(exc)

    def error_response(self, error: ApiError) -> Response:
        return render(error)

    def after_request(self, request: Request, response: Response) -> None:
        if request.path.startswith("/services/data"):
            data = self.data
            limit = data.settings["daily_api_limit"]
            response.headers["Sforce-Limit-Info"] = f"api-usage={data.auth.api_used()}/{limit}"
