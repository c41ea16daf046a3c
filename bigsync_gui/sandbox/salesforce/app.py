"""The Salesforce emulator's HTTP side: OAuth 2.0 (login form, consent, token, revoke, userinfo,
identity), the REST API under ``/services/data/`` and the sandbox admin API.

Wire formats follow ``docs/reference/salesforce.md``: REST errors are a JSON array of
``{"message", "errorCode", "fields"}``, OAuth errors ``{"error", "error_description"}``, every
REST response carries ``Sforce-Limit-Info``, token responses have no ``expires_in``.
"""

from __future__ import annotations

import base64
import email.utils
import functools
import hashlib
import hmac
import html
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .. import credentials as cred
from ..switches import Switches
from ..web import ApiError, ServiceApp, json_response, read_json
from . import composite, ids, soql
from .data import (
    DELETED_WINDOW_DAYS,
    UPDATED_WINDOW_DAYS,
    OAuthError,
    SalesforceData,
    SalesforceError,
    format_datetime,
    parse_datetime,
)
from .schema import FieldDef, ObjectDef
from .streaming import StreamingRoutes
from .tooling import ToolingRoutes

API_VERSION = "v67.0"
OLDEST_VERSION = 31
LATEST_VERSION = int(API_VERSION[1:].split(".")[0])
QUERY_BATCH_SIZE = 2000
QUERY_MIN_BATCH_SIZE = 200
QUERY_LOCATOR_TTL_SECONDS = 15 * 60
MAX_OPEN_CURSORS = 100
COLLECTION_LIMIT = 200
RETRIEVE_POST_LIMIT = 2000  # "retrieves up to 2,000 records" (Get Records With a Request Body)
RETRIEVE_GET_LIMIT = 800  # "approximately 800 IDs before … URI too long" (Get Records Using sObject Collections)
APP_NAME = "BigSync (sandbox External Client App)"
# Signs token responses like the real org's HMAC with the consumer secret (here a fixed sandbox key).
SIGNING_KEY = b"bigsync-sandbox-signing-key"
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
DEFAULT_SCOPE = "api refresh_token"
LOGIN_ERROR = ("Please check your username and password. If you still can't log in, contact your "
               "Salesforce administrator.")
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def release_label(version: int) -> str:
    """``67`` → ``Summer '26`` (three releases a year; v65 was Winter '26)."""
    season = ("Winter", "Spring", "Summer")[(version - 65) % 3]
    year = 26 + (version - 65) // 3
    return f"{season} '{year:02d}"


class SfApiError(ApiError):
    """A REST error with the fields it concerns (rendered as ``[{"message","errorCode","fields"}]``)."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(status, code, message, headers)
        self.fields = fields


class OAuthApiError(ApiError):
    """Rendered as ``{"error": code, "error_description": message}``."""


class HtmlApiError(ApiError):
    """An error shown as a page in the browser (never a redirect)."""


def _from_data_error(exc: SalesforceError) -> SfApiError:
    return SfApiError(exc.status, exc.error_code, exc.message, exc.fields)


def sf_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Turn the data layer's typed errors into the REST/OAuth error formats."""

    @functools.wraps(handler)
    def wrapper(self: SalesforceApp, request: Request, **kw: Any) -> Response:
        try:
            return handler(self, request, **kw)
        except SalesforceError as exc:
            raise _from_data_error(exc) from None
        except OAuthError as exc:
            raise OAuthApiError(exc.status, exc.error, exc.description) from None

    return wrapper


def admin_errors(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Admin handlers: hold the world lock, persist after success, report data errors with fields."""

    @functools.wraps(handler)
    def wrapper(self: SalesforceApp, request: Request, **kw: Any) -> Response:
        with self.world.lock:
            try:
                response = handler(self, request, **kw)
            except SalesforceError as exc:
                return json_response({"error": exc.error_code, "message": exc.message, "fields": exc.fields},
                                     status=exc.status)
            if request.method != "GET" and response.status_code < 400:
                self.world.changed()
            return response

    return wrapper


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
.hint{background:#fef7e5;border:1px solid #f4bc25;padding:10px 12px;border-radius:4px;font-size:13px;margin-top:18px}
.hint code{background:#fff;padding:1px 4px;border-radius:3px}
ul.scopes{padding-left:20px;font-size:14px}
.actions{display:flex;gap:12px;justify-content:flex-end;margin-top:20px}
.small{font-size:12px;color:#706e6b;margin-top:16px;word-break:break-all}
"""


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{_PAGE_CSS}</style></head><body><div class=\"wrap\">"
        "<div class=\"brand\"><span class=\"logo\">SF</span>"
        f"<h1>{html.escape(title)}</h1><div class=\"org\">{html.escape(cred.SF_ORG_NAME)}</div></div>"
        f"{body}</div></body></html>"
    )
    response = Response(doc, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def _error_page(error: str, description: str, status: int = 400) -> Response:
    body = (
        "<div class=\"card\"><div class=\"error\" id=\"error\">"
        f"<strong>error={html.escape(error)}</strong><br>error_description={html.escape(description)}</div>"
        "<p class=\"small\">The app that sent you here is not set up correctly, or this link has expired. "
        "Return to the app and start again.</p></div>"
    )
    return _page("Remote Access Error", body, status)


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _redirect(location: str) -> Response:
    response = Response("", status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "currency": "xsd:double",
    "double": "xsd:double", "percent": "xsd:double", "int": "xsd:int", "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


class SalesforceApp(StreamingRoutes, ToolingRoutes, ServiceApp):
    name = "salesforce"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self._cursors: dict[str, dict[str, Any]] = {}

    @property
    def data(self) -> SalesforceData:
        return self.world.salesforce

    def switches(self) -> Switches:
        return self.data.switches

    # ---- routing ------------------------------------------------------------------------------
    def rules(self) -> list[Rule]:
        d = "/services/data/<version>"
        return [
            Rule("/services/oauth2/authorize", endpoint="oauth_authorize", methods=["GET"]),
            Rule("/services/oauth2/authorize/login", endpoint="oauth_login", methods=["POST"]),
            Rule("/services/oauth2/authorize/consent", endpoint="oauth_consent", methods=["POST"]),
            Rule("/services/oauth2/token", endpoint="oauth_token", methods=["POST"]),
            Rule("/services/oauth2/revoke", endpoint="oauth_revoke", methods=["GET", "POST"]),
            Rule("/services/oauth2/userinfo", endpoint="oauth_userinfo", methods=["GET", "POST"]),
            Rule("/id/<org_id>/<user_id>", endpoint="identity", methods=["GET", "POST"]),
            Rule("/.well-known/openid-configuration", endpoint="openid_configuration", methods=["GET"]),
            Rule("/services/data", endpoint="versions", methods=["GET"]),
            Rule(f"{d}", endpoint="resources", methods=["GET"]),
            Rule(f"{d}/query", endpoint="query", methods=["GET"]),
            Rule(f"{d}/query/<locator>", endpoint="query_more", methods=["GET"]),
            Rule(f"{d}/queryAll", endpoint="query_all", methods=["GET"]),
            Rule(f"{d}/queryAll/<locator>", endpoint="query_more", methods=["GET"]),
            Rule(f"{d}/limits", endpoint="limits", methods=["GET"]),
            Rule(f"{d}/sobjects", endpoint="describe_global", methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>", endpoint="sobject_info", methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>", endpoint="sobject_create", methods=["POST"]),
            Rule(f"{d}/sobjects/<sobject>/describe", endpoint="sobject_describe", methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/updated", endpoint="sobject_updated", methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/deleted", endpoint="sobject_deleted", methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/<record_id>", endpoint="record_get", methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/<record_id>", endpoint="record_update", methods=["PATCH"]),
            Rule(f"{d}/sobjects/<sobject>/<record_id>", endpoint="record_delete", methods=["DELETE"]),
            Rule(f"{d}/composite", endpoint="composite", methods=["POST"]),
            Rule(f"{d}/composite/sobjects/<sobject>", endpoint="collection_get", methods=["GET"]),
            Rule(f"{d}/composite/sobjects/<sobject>", endpoint="collection_get_by_body", methods=["POST"]),
            Rule(f"{d}/composite/sobjects", endpoint="collection_create", methods=["POST"]),
            Rule(f"{d}/composite/sobjects", endpoint="collection_update", methods=["PATCH"]),
            Rule(f"{d}/composite/sobjects", endpoint="collection_delete", methods=["DELETE"]),
            *self.streaming_rules(),
            *self.tooling_rules(d),
        ]

    def admin_rules(self) -> list[Rule]:
        return [
            Rule("/records/<sobject>", endpoint="admin_list_records", methods=["GET"]),
            Rule("/records/<sobject>", endpoint="admin_create_record", methods=["POST"]),
            Rule("/records/<sobject>/<record_id>", endpoint="admin_get_record", methods=["GET"]),
            Rule("/records/<sobject>/<record_id>", endpoint="admin_update_record", methods=["PATCH"]),
            Rule("/records/<sobject>/<record_id>", endpoint="admin_delete_record", methods=["DELETE"]),
            Rule("/records/<sobject>/<record_id>/restore", endpoint="admin_restore_record", methods=["POST"]),
            Rule("/stages", endpoint="admin_list_stages", methods=["GET"]),
            Rule("/stages/<path:api_name>", endpoint="admin_change_stage", methods=["POST"]),
            Rule("/tokens", endpoint="admin_list_tokens", methods=["GET"]),
            Rule("/tokens/expire", endpoint="admin_expire_tokens", methods=["POST"]),
            Rule("/tokens/revoke", endpoint="admin_revoke_tokens", methods=["POST"]),
            Rule("/settings", endpoint="admin_get_settings", methods=["GET"]),
            Rule("/settings", endpoint="admin_set_settings", methods=["POST", "PATCH"]),
            *self.streaming_admin_rules(),
            *self.tooling_admin_rules(),
        ]

    def admin_info(self) -> dict[str, Any]:
        info = super().admin_info()
        info.update({"api_version": API_VERSION, "org_id": ids.ORG_ID, "org_name": cred.SF_ORG_NAME,
                     "username": cred.SF_USERNAME, "consumer_key": cred.SF_CONSUMER_KEY})
        return info

    # ---- rendering ------------------------------------------------------------------------------
    def error_response(self, error: ApiError) -> Response:
        if isinstance(error, HtmlApiError):
            response = _error_page(error.code, error.message, error.status)
        elif isinstance(error, OAuthApiError):
            response = json_response({"error": error.code, "error_description": error.message}, status=error.status)
        else:
            item: dict[str, Any] = {"message": error.message, "errorCode": error.code}
            fields = getattr(error, "fields", None)
            if fields is not None:
                item["fields"] = fields
            response = json_response([item], status=error.status)
        for key, value in error.headers.items():
            response.headers[key] = value
        return response

    def after_request(self, request: Request, response: Response) -> None:
        if request.path.startswith("/services/data"):
            data = self.data
            response.headers["Sforce-Limit-Info"] = f"api-usage={data.api_used()}/{data.settings['daily_api_limit']}"

    def _base(self, request: Request) -> str:
        return request.host_url.rstrip("/")

    # ---- REST plumbing ----------------------------------------------------------------------------
    def _version(self, version: str) -> str:
        match = re.fullmatch(r"v(\d+)\.0", version)
        if not match or not (OLDEST_VERSION <= int(match.group(1)) <= LATEST_VERSION):
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return version

    def _session(self, request: Request) -> dict[str, Any]:
        """The caller's session (bearer token) after counting the call against the daily allowance."""
        header = request.headers.get("Authorization", "")
        token = ""
        if header[:7].lower() == "bearer ":
            token = header[7:].strip()
        elif header[:6].lower() == "oauth ":
            token = header[6:].strip()
        session = self.data.check_access_token(token) if token else None
        if session is None:
            raise SfApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if not composite.inside_subrequest() and not self.data.count_api_call():  # a composite counts once
            raise SfApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return session

    def _rest(self, request: Request, version: str) -> tuple[str, dict[str, Any]]:
        with self.world.lock:
            return self._version(version), self._session(request)

    def _object(self, sobject: str) -> ObjectDef:
        obj = self.data.schema.get(sobject.lower())
        if obj is None:
            raise SfApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    def _shape(self, obj: ObjectDef, row: dict[str, Any], version: str, fields: list[FieldDef] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": obj.name, "url": f"/services/data/{version}/sobjects/{obj.name}/{row['Id']}"}}
        for f in fields if fields is not None else obj.fields.values():
            out[f.name] = row.get(f.name)
        return out

    # ---- versions and resources -------------------------------------------------------------------
    def versions(self, request: Request) -> Response:
        return json_response([
            {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(OLDEST_VERSION, LATEST_VERSION + 1)
        ])

    @sf_errors
    def resources(self, request: Request, version: str) -> Response:
        version, _ = self._rest(request, version)
        base = f"/services/data/{version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite", "search", "tooling", "ui-api",
                 "recent", "connect", "analytics", "jobs", "actions", "support")
        return json_response({name: f"{base}/{name}" for name in names})

    @sf_errors
    def limits(self, request: Request, version: str) -> Response:
        self._rest(request, version)
        with self.world.lock:
            limit = int(self.data.settings["daily_api_limit"])
            used = self.data.api_used()
        return json_response({
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 5, "Remaining": 4},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
            "HourlyPublishedPlatformEvents": {"Max": 50000, "Remaining": 50000},
            "SingleEmail": {"Max": 15, "Remaining": 15},
        })

    # ---- query ----------------------------------------------------------------------------------
    def _batch_size(self, request: Request) -> int:
        options = request.headers.get("Sforce-Query-Options", "")
        match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
        if not match:
            return QUERY_BATCH_SIZE
        return max(QUERY_MIN_BATCH_SIZE, min(QUERY_BATCH_SIZE, int(match.group(1))))

    @sf_errors
    def query(self, request: Request, version: str) -> Response:
        return self._run_query(request, version, include_deleted=False)

    @sf_errors
    def query_all(self, request: Request, version: str) -> Response:
        return self._run_query(request, version, include_deleted=True)

    def _run_query(self, request: Request, version: str, include_deleted: bool) -> Response:
        version, _ = self._rest(request, version)
        q = request.args.get("q", "")
        if not q.strip():
            raise SfApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        with self.world.lock:
            try:
                selection = soql.select(soql.parse(q, self.data.schema), self.data, include_deleted=include_deleted,
                                        api_version=version, today=self.data.now().date())
            except soql.SoqlError as exc:
                raise SfApiError(400, exc.error_code, exc.message) from None
            batch = self._batch_size(request)
            if len(selection.rows) <= batch:
                return json_response({"totalSize": selection.total_size, "done": True, "records": selection.records()})
            locator = self._new_cursor(selection, batch)
            return json_response(self._page(locator, 0, version))

    def _new_cursor(self, selection: soql.Selection, batch: int) -> str:
        """Keep the query's selected rows server-side; pages are shaped only when asked for."""
        now = self.data.now().timestamp()
        for key in [k for k, c in self._cursors.items() if now - c["last_used"] > QUERY_LOCATOR_TTL_SECONDS]:
            del self._cursors[key]
        while len(self._cursors) >= MAX_OPEN_CURSORS:
            oldest = min(self._cursors, key=lambda k: self._cursors[k]["last_used"])
            del self._cursors[oldest]
        locator = ids.to18("01g" + ids.POD + secrets.token_hex(5).upper())
        self._cursors[locator] = {"selection": selection, "batch": batch, "last_used": now}
        return locator

    def _page(self, locator: str, offset: int, version: str) -> dict[str, Any]:
        """One page of a cursor. ``nextRecordsUrl`` always says ``/query/``, for queryAll too (as
        Salesforce's does); the cursor remembers whether it includes deleted rows."""
        cursor = self._cursors[locator]
        cursor["last_used"] = self.data.now().timestamp()
        batch = cursor["batch"]
        selection: soql.Selection = cursor["selection"]
        records = selection.records(offset, offset + batch)
        nxt = offset + batch
        done = nxt >= len(selection.rows)
        body: dict[str, Any] = {"totalSize": selection.total_size, "done": done}
        if done:
            del self._cursors[locator]
        else:
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{nxt}"
        body["records"] = records
        return body

    @sf_errors
    def query_more(self, request: Request, version: str, locator: str) -> Response:
        version, _ = self._rest(request, version)
        match = re.fullmatch(r"(01g[A-Za-z0-9]{12,15})-(\d+)", locator)
        with self.world.lock:
            cursor = self._cursors.get(match.group(1)) if match else None
            now = self.data.now().timestamp()
            if cursor is None or now - cursor["last_used"] > QUERY_LOCATOR_TTL_SECONDS:
                if match and cursor is not None:
                    del self._cursors[match.group(1)]
                raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            assert match is not None
            offset = int(match.group(2))
            if offset >= len(cursor["selection"].rows):
                raise SfApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return json_response(self._page(match.group(1), offset, version))

    # ---- describe -------------------------------------------------------------------------------
    def _object_urls(self, obj: ObjectDef, version: str) -> dict[str, str]:
        base = f"/services/data/{version}/sobjects/{obj.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def _object_summary(self, obj: ObjectDef, version: str) -> dict[str, Any]:
        plural = obj.label + ("es" if obj.label.endswith("s") else "s")
        if obj.label.endswith("y") and not obj.label.endswith("ay"):
            plural = obj.label[:-1] + "ies"
        return {
            "activateable": False, "createable": obj.createable, "custom": obj.custom,
            "customSetting": False, "deepCloneable": False, "deletable": obj.deletable,
            "deprecatedAndHidden": False, "feedEnabled": False, "hasSubtypes": False,
            "isInterface": False, "isSubtype": False, "keyPrefix": obj.key_prefix, "label": obj.label,
            "labelPlural": plural, "layoutable": obj.createable, "mergeable": False, "mruEnabled": True,
            "name": obj.name, "queryable": True, "replicateable": True, "retrieveable": True,
            "searchable": obj.name != "OpportunityStage", "triggerable": obj.createable,
            "undeletable": obj.deletable, "updateable": obj.updateable,
            "urls": self._object_urls(obj, version),
        }

    def _picklist_values(self, obj: ObjectDef, f: FieldDef) -> list[dict[str, Any]]:
        if obj.name == "Opportunity" and f.name == "StageName":
            return [{"active": bool(s["IsActive"]), "defaultValue": False, "label": s["MasterLabel"],
                     "validFor": None, "value": s["ApiName"]} for s in self.data.stages_in_order()]
        return [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v} for v in f.picklist]

    def _describe_field(self, obj: ObjectDef, f: FieldDef) -> dict[str, Any]:
        is_text = f.type in ("string", "textarea", "picklist", "email", "phone", "url", "id", "reference")
        return {
            "aggregatable": f.type not in ("textarea",), "autoNumber": False,
            "byteLength": f.length * 3 if is_text else 0, "calculated": False, "cascadeDelete": False,
            "caseSensitive": False, "createable": f.createable, "custom": f.custom,
            "defaultValue": None, "defaultedOnCreate": f.name in ("Id", "IsDeleted", "CreatedDate", "CreatedById",
                                                                 "LastModifiedDate", "LastModifiedById",
                                                                 "SystemModstamp", "OwnerId", "IsPrimary"),
            "dependentPicklist": False, "deprecatedAndHidden": False,
            "digits": 9 if f.type == "int" else 0, "externalId": f.external_id,
            "filterable": f.type != "textarea", "groupable": f.type not in ("textarea", "currency", "double", "percent"),
            "htmlFormatted": False, "idLookup": f.name == "Id" or f.external_id,
            "label": f.label or f.name, "length": f.length if is_text else 0, "name": f.name,
            "nameField": f.name == "Name", "namePointing": False, "nillable": f.nillable,
            "permissionable": f.nillable and f.custom, "picklistValues": self._picklist_values(obj, f) if f.type == "picklist" else [],
            "polymorphicForeignKey": False, "precision": f.precision if f.type in ("currency", "double", "percent") else 0,
            "referenceTo": [f.reference_to] if f.reference_to else [],
            "relationshipName": f.relationship_name, "relationshipOrder": None,
            "restrictedPicklist": (obj.name, f.name) == ("Opportunity", "StageName"),
            "scale": f.scale if f.type in ("currency", "double", "percent") else 0,
            "soapType": _SOAP_TYPES.get(f.type, "xsd:string"), "sortable": f.type != "textarea",
            "type": f.type, "unique": f.name == "Username", "updateable": f.updateable,
        }

    @sf_errors
    def describe_global(self, request: Request, version: str) -> Response:
        version, _ = self._rest(request, version)
        objects = sorted(self.data.schema.values(), key=lambda o: o.name)
        return json_response({"encoding": "UTF-8", "maxBatchSize": 200,
                              "sobjects": [self._object_summary(o, version) for o in objects]})

    @sf_errors
    def sobject_info(self, request: Request, version: str, sobject: str) -> Response:
        version, _ = self._rest(request, version)
        obj = self._object(sobject)
        with self.world.lock:
            rows = [r for r in self.data.all_records(obj.name) if not r.get("IsDeleted")][-3:]
            recent = [{"attributes": {"type": obj.name, "url": f"/services/data/{version}/sobjects/{obj.name}/{r['Id']}"},
                       "Id": r["Id"], **({"Name": r.get("Name")} if obj.field("Name") else {})} for r in rows]
        return json_response({"objectDescribe": self._object_summary(obj, version), "recentItems": recent})

    @sf_errors
    def sobject_describe(self, request: Request, version: str, sobject: str) -> Response:
        version, session = self._rest(request, version)
        obj = self._object(sobject)
        with self.world.lock:
            body = self._object_summary(obj, version)
            body["fields"] = [self._describe_field(obj, f) for f in self.visible_fields(obj, session["user_id"])]
        children = []
        for rel in obj.child_relationships.values():
            children.append({"cascadeDelete": rel.child_object in ("OpportunityContactRole", "OpportunityHistory") or obj.name == "Account",
                             "childSObject": rel.child_object, "deprecatedAndHidden": False, "field": rel.field,
                             "junctionIdListNames": [], "junctionReferenceTo": [], "relationshipName": rel.name,
                             "restrictedDelete": False})
        body["childRelationships"] = children
        body["recordTypeInfos"] = []
        body["urls"] = {**body["urls"], "uiEditTemplate": f"{self._base(request)}/{{ID}}/e",
                        "uiDetailTemplate": f"{self._base(request)}/{{ID}}", "uiNewRecord": f"{self._base(request)}/{obj.key_prefix}/e"}
        body["actionOverrides"], body["supportedScopes"] = [], [{"label": "All", "name": "everything"}]
        return json_response(body)

    # ---- records --------------------------------------------------------------------------------
    @sf_errors
    def record_get(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        version, _ = self._rest(request, version)
        obj = self._object(sobject)
        with self.world.lock:
            row = self.data.fetch(obj.name, record_id)
            fields = None
            if request.args.get("fields"):
                fields = []
                for name in (n.strip() for n in request.args["fields"].split(",")):
                    if not name:
                        continue
                    fdef = obj.field(name)
                    if fdef is None:
                        raise SfApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'. "
                                         "If you are attempting to use a custom field, be sure to append the '__c' "
                                         "after the custom field name. Please reference your WSDL or the describe "
                                         "call for the appropriate names.")
                    fields.append(fdef)
            return json_response(self._shape(obj, row, version, fields))

    @sf_errors
    def sobject_create(self, request: Request, version: str, sobject: str) -> Response:
        version, session = self._rest(request, version)
        obj = self._object(sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        with self.world.lock:
            self.check_setup_create(obj, body, session["user_id"])
            new_id = self.data.insert(obj.name, body, user_id=session["user_id"])
        response = json_response({"id": new_id, "success": True, "errors": []}, status=201)
        response.headers["Location"] = f"/services/data/{version}/sobjects/{obj.name}/{new_id}"
        return response

    @sf_errors
    def record_update(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        version, session = self._rest(request, version)
        obj = self._object(sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        self._check_unmodified_since(request, obj, record_id)
        self.data.update(obj.name, record_id, body, user_id=session["user_id"])
        return Response(status=204)

    def _check_unmodified_since(self, request: Request, obj: ObjectDef, record_id: str) -> None:
        """Conditional Request Headers: If-Unmodified-Since on a PATCH compares the date (an HTTP-date,
        whole seconds) with the row's LastModifiedDate: modified after it → 412, nothing written; an
        invalid value → 400. Runs under the world lock with the write (a mutating request)."""
        raw = request.headers.get("If-Unmodified-Since")
        if raw is None:
            return
        try:
            since = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            since = None
        if since is None or since.tzinfo is None:
            raise SfApiError(400, "INVALID_HEADER_VALUE", f"Invalid If-Unmodified-Since header: {raw}")
        modified = parse_datetime(self.data.fetch(obj.name, record_id).get("LastModifiedDate"))
        if modified is not None and modified.replace(microsecond=0) > since:
            raise SfApiError(412, "PRECONDITION_FAILED", "The requested resource has been modified since "
                                                         f"{raw}; the request was not processed")

    @sf_errors
    def record_delete(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        version, session = self._rest(request, version)
        obj = self._object(sobject)
        self.data.delete(obj.name, record_id, user_id=session["user_id"])
        return Response(status=204)

    # ---- getUpdated / getDeleted ----------------------------------------------------------------
    def _replication_window(self, request: Request, days: int) -> tuple[datetime, datetime, datetime]:
        """(start, end, now), seconds dropped; start before the window → INVALID_REPLICATION_DATE."""
        raw_start, raw_end = request.args.get("start"), request.args.get("end")
        if not raw_start or not raw_end:
            missing = "start" if not raw_start else "end"
            raise SfApiError(400, "MISSING_ARGUMENT", f"{missing} is required")
        start, end = parse_datetime(raw_start), parse_datetime(raw_end)
        if start is None or end is None:
            bad = raw_start if start is None else raw_end
            raise SfApiError(400, "INVALID_REPLICATION_DATE", f"Invalid date format: {bad}")
        start = start.replace(second=0, microsecond=0)
        end = end.replace(second=0, microsecond=0)
        now = self.data.now().astimezone(timezone.utc)
        floor = (now - timedelta(days=days)).replace(second=0, microsecond=0)
        if start < floor:
            raise SfApiError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")
        if end < start:
            raise SfApiError(400, "INVALID_REPLICATION_DATE", "EndDate can not be before StartDate")
        return start, end, now

    @sf_errors
    def sobject_updated(self, request: Request, version: str, sobject: str) -> Response:
        version, _ = self._rest(request, version)
        obj = self._object(sobject)
        with self.world.lock:
            start, end, now = self._replication_window(request, UPDATED_WINDOW_DAYS)
            latest = min(end, now.replace(second=0, microsecond=0))
            found = self.data.updated_ids(obj.name, start, latest)
        if len(found) > 600_000:
            raise SfApiError(400, "EXCEEDED_ID_LIMIT", "ID limit exceeded")
        return json_response({"ids": found, "latestDateCovered": format_datetime(latest)})

    @sf_errors
    def sobject_deleted(self, request: Request, version: str, sobject: str) -> Response:
        version, _ = self._rest(request, version)
        obj = self._object(sobject)
        with self.world.lock:
            start, end, now = self._replication_window(request, DELETED_WINDOW_DAYS)
            latest = min(end, now.replace(second=0, microsecond=0))
            found = self.data.deleted_records(obj.name, start, latest)
            earliest = (now - timedelta(days=DELETED_WINDOW_DAYS)).replace(second=0, microsecond=0)
        return json_response({"deletedRecords": found, "earliestDateAvailable": format_datetime(earliest),
                              "latestDateCovered": format_datetime(latest)})

    # ---- Composite (sandbox/salesforce/composite.py) ----------------------------------------------
    @sf_errors
    def composite(self, request: Request, version: str) -> Response:
        version, _ = self._rest(request, version)
        return json_response(composite.run(self, request, version))

    # ---- sObject Collections --------------------------------------------------------------------
    def _collection_body(self, request: Request) -> tuple[bool, list[Any]]:
        body = read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a records array")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise SfApiError(400, "EXCEEDED_ID_LIMIT",
                             f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")
        return bool(body.get("allOrNone", False)), records

    def _run_collection(self, items: list[Any], all_or_none: bool, op: Callable[[Any], str]) -> Response:
        with self.world.lock:
            savepoint = self._savepoint() if all_or_none else None
            results: list[dict[str, Any]] = []
            failed = False
            for item in items:
                try:
                    rid = op(item)
                    results.append({"id": rid, "success": True, "errors": []})
                except SalesforceError as exc:
                    failed = True
                    results.append({"success": False, "errors": [
                        {"statusCode": exc.error_code, "message": exc.message, "fields": list(exc.fields)}]})
            if failed and savepoint is not None:
                self._rollback(savepoint)
                rolled = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                          "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                          "fields": []}
                results = [r if not r["success"] else {"id": r["id"] if r["id"] in savepoint["existing"] else None,
                                                       "success": False, "errors": [dict(rolled)]}
                           for r in results]
                for r in results:
                    if r.get("id") is None:
                        r.pop("id", None)
        return json_response(results, status=200)

    def _savepoint(self) -> dict[str, Any]:
        data = self.data
        existing = {rid for table in data.records.values() for rid in table}
        return {
            "records": {k: {rid: dict(row) for rid, row in t.items()} for k, t in data.records.items()},
            "deleted_log": {k: dict(v) for k, v in data.deleted_log.items()},
            "cascaded_by": dict(data.cascaded_by),
            "existing": existing,
            "events": data.change_events.mark(),
        }

    def _rollback(self, savepoint: dict[str, Any]) -> None:
        data = self.data
        for key, table in savepoint["records"].items():
            live = data.records[key]
            for rid in [r for r in live if r not in table]:
                del live[rid]
            for rid, row in table.items():
                live[rid].clear()
                live[rid].update(row)
        data.deleted_log = savepoint["deleted_log"]
        data.cascaded_by = savepoint["cascaded_by"]
        data.change_events.discard_from(savepoint["events"])

    @staticmethod
    def _item_type(item: Any) -> str:
        if not isinstance(item, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Each record must be a JSON object")
        attrs = item.get("attributes")
        type_ = attrs.get("type") if isinstance(attrs, dict) else None
        if not type_:
            raise SalesforceError("INVALID_TYPE", "Must send a concrete entity type.")
        return str(type_)

    @sf_errors
    def collection_create(self, request: Request, version: str) -> Response:
        version, session = self._rest(request, version)
        all_or_none, items = self._collection_body(request)

        def create(item: Any) -> str:
            type_ = self._item_type(item)
            if type_.lower() not in self.data.schema:
                raise SalesforceError("INVALID_TYPE", f"sObject type '{type_}' is not supported.")
            return self.data.insert(type_, item, user_id=session["user_id"])

        return self._run_collection(items, all_or_none, create)

    @sf_errors
    def collection_update(self, request: Request, version: str) -> Response:
        version, session = self._rest(request, version)
        all_or_none, items = self._collection_body(request)

        def update(item: Any) -> str:
            type_ = self._item_type(item)
            if type_.lower() not in self.data.schema:
                raise SalesforceError("INVALID_TYPE", f"sObject type '{type_}' is not supported.")
            rid = item.get("id") or item.get("Id")
            if not rid:
                raise SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            fields = {k: v for k, v in item.items() if k.lower() != "id"}
            self.data.update(type_, rid, fields, user_id=session["user_id"])
            return ids.normalize(rid) or rid

        return self._run_collection(items, all_or_none, update)

    @sf_errors
    def collection_delete(self, request: Request, version: str) -> Response:
        version, session = self._rest(request, version)
        raw = [x.strip() for x in request.args.get("ids", "").split(",") if x.strip()]
        if not raw:
            raise SfApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(raw) > COLLECTION_LIMIT:
            raise SfApiError(400, "EXCEEDED_ID_LIMIT",
                             f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call")
        all_or_none = request.args.get("allOrNone", "false").lower() == "true"

        def delete(rid: str) -> str:
            norm = ids.normalize(rid)
            obj = self.data.object_for_id(norm) if norm else None
            if norm is None or obj is None:
                raise SalesforceError("MALFORMED_ID", f"malformed id {rid}")
            self.data.delete(obj.name, norm, user_id=session["user_id"])
            return norm

        return self._run_collection(raw, all_or_none, delete)

    @sf_errors
    def collection_get(self, request: Request, version: str, sobject: str) -> Response:
        """Retrieve records of one type by id: ``GET …/composite/sobjects/{sObject}?ids=a,b&fields=F1,F2``."""
        version, _ = self._rest(request, version)
        raw = [x.strip() for x in request.args.get("ids", "").split(",") if x.strip()]
        names = [x.strip() for x in request.args.get("fields", "").split(",") if x.strip()]
        if len(raw) > RETRIEVE_GET_LIMIT:
            raise SfApiError(414, "URI_TOO_LONG", "URI Too Long: send more ids with a POST body")
        return self._retrieve(self._object(sobject), raw, names, version)

    @sf_errors
    def collection_get_by_body(self, request: Request, version: str, sobject: str) -> Response:
        """The same with ``{"ids": [...], "fields": [...]}`` in a POST body, for up to 2,000 ids."""
        version, _ = self._rest(request, version)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        raw, names = body.get("ids", []), body.get("fields", [])
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (raw, names)):
            raise SfApiError(400, "JSON_PARSER_ERROR", "ids and fields must be arrays of strings")
        if len(raw) > RETRIEVE_POST_LIMIT:
            raise SfApiError(400, "EXCEEDED_ID_LIMIT",
                             f"cannot retrieve more than {RETRIEVE_POST_LIMIT} records in one call")
        return self._retrieve(self._object(sobject), raw, names, version)

    def _retrieve(self, obj: ObjectDef, raw: list[str], names: list[str], version: str) -> Response:
        """One entry per id, in request order: the record with the asked fields, or null when the id is
        not a live record of ``obj``. An unknown field fails the whole call, as documented."""
        if not raw or not names:
            raise SfApiError(400, "MISSING_ARGUMENT", "ids and fields are required")
        fields = []
        for name in names:
            fdef = obj.field(name)
            if fdef is None:
                raise SfApiError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{obj.name}'.")
            fields.append(fdef)
        out: list[Any] = []
        with self.world.lock:
            for rid in raw:
                norm = ids.normalize(rid)
                row = self.data.get(obj.name, norm) if norm else None
                out.append(None if row is None else self._shape(obj, row, version, fields))
        return json_response(out)

    # ---- OAuth: authorize, login, consent -------------------------------------------------------------
    def oauth_authorize(self, request: Request) -> Response:
        args = request.args
        client_id = args.get("client_id", "")
        redirect_uri = args.get("redirect_uri", "")
        if client_id != cred.SF_CONSUMER_KEY:
            return _error_page("invalid_client_id", "client identifier invalid")
        with self.world.lock:
            registered = list(self.data.settings["redirect_uris"])
        if redirect_uri not in registered:
            return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
        state = args.get("state")

        def fail(error: str, description: str) -> Response:
            return _redirect(_with_query(redirect_uri, {"error": error, "error_description": description, "state": state}))

        if args.get("response_type") != "code":
            return fail("unsupported_response_type", "response type not supported")
        # Salesforce documents code_challenge only as base64url(SHA-256(verifier)): an absent method is
        # S256, and "plain" (or anything else) is refused.
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method") or ("S256" if challenge else None)
        if challenge is not None:
            if method != "S256":
                return fail("invalid_request", "invalid code challenge method")
            if not _CHALLENGE_RE.match(challenge):
                return fail("invalid_request", "invalid code challenge")
        scopes = (args.get("scope") or DEFAULT_SCOPE).replace("+", " ").split()
        unknown = [s for s in scopes if s not in KNOWN_SCOPES]
        if unknown:
            return fail("invalid_scope", "the requested scope is not allowed")
        params = {"client_id": client_id, "redirect_uri": redirect_uri, "state": state, "scope": " ".join(scopes),
                  "code_challenge": challenge, "prompt": args.get("prompt", "")}
        with self.world.lock:
            tx = self.data.new_login_transaction(params)
            self.world.changed()
        return self._login_page(tx, username=args.get("login_hint", ""))

    def _login_page(self, tx: str, username: str = "", error: str | None = None) -> Response:
        err = f"<div class=\"error\" id=\"error\">{html.escape(error)}</div>" if error else ""
        body = (
            f"<div class=\"card\">{err}"
            f"<form method=\"post\" action=\"/services/oauth2/authorize/login\" id=\"login_form\" autocomplete=\"off\">"
            f"<input type=\"hidden\" name=\"tx\" value=\"{html.escape(tx)}\">"
            "<label for=\"username\">Username</label>"
            f"<input type=\"email\" id=\"username\" name=\"username\" value=\"{html.escape(username)}\" autofocus>"
            "<label for=\"password\">Password</label>"
            "<input type=\"password\" id=\"password\" name=\"pw\">"
            "<input type=\"submit\" id=\"Login\" name=\"Login\" class=\"btn primary full\" value=\"Log In\">"
            "</form>"
            "<div class=\"hint\" id=\"sandbox_hint\"><strong>Sandbox</strong> — this is the local emulator, not "
            f"Salesforce. Log in with <code>{html.escape(cred.SF_USERNAME)}</code> / "
            f"<code>{html.escape(cred.SF_PASSWORD)}</code>.</div></div>"
        )
        return _page("Log In to Salesforce", body)

    def oauth_login(self, request: Request) -> Response:
        form = request.form
        tx = form.get("tx", "")
        with self.world.lock:
            entry = self.data.login_transaction(tx)
            if entry is None:
                return _error_page("invalid_request", "the login session expired; start again from the app")
            user = self.data.check_password(form.get("username", ""), form.get("pw", form.get("password", "")))
            if user is None:
                return self._login_page(tx, username=form.get("username", ""), error=LOGIN_ERROR)
            entry["user_id"] = user["Id"]
            params = entry["params"]
            remembered = (self.data.settings.get("remember_approvals")
                          and params["client_id"] in self.data.approvals.get(user["Id"], [])
                          and "consent" not in params.get("prompt", ""))
            if remembered:
                return self._finish_authorize(tx, entry, approve=True)
        return self._consent_page(tx, params, user)

    def _consent_page(self, tx: str, params: dict[str, Any], user: dict[str, Any]) -> Response:
        seen: list[str] = []
        for scope in params["scope"].split():
            text = KNOWN_SCOPES.get(scope, scope)
            if text not in seen:
                seen.append(text)
        items = "".join(f"<li>{html.escape(s)}</li>" for s in seen)
        body = (
            "<div class=\"card\">"
            f"<p><strong>{html.escape(APP_NAME)}</strong> is asking to:</p><ul class=\"scopes\" id=\"scopes\">{items}</ul>"
            f"<p>Do you want to allow access for <strong>{html.escape(user.get('Username', ''))}</strong>? "
            "(<a href=\"#\" onclick=\"return false\">Not you?</a>)</p>"
            "<form method=\"post\" action=\"/services/oauth2/authorize/consent\" id=\"consent_form\">"
            f"<input type=\"hidden\" name=\"tx\" value=\"{html.escape(tx)}\">"
            "<div class=\"actions\">"
            "<input type=\"submit\" id=\"oadeny\" name=\"oadeny\" class=\"btn secondary\" value=\"Deny\">"
            "<input type=\"submit\" id=\"oaapprove\" name=\"oaapprove\" class=\"btn primary\" value=\"Allow\">"
            "</div></form>"
            f"<p class=\"small\">Sends you back to {html.escape(params['redirect_uri'])}</p></div>"
        )
        return _page("Allow Access?", body)

    def oauth_consent(self, request: Request) -> Response:
        form = request.form
        tx = form.get("tx", "")
        with self.world.lock:
            entry = self.data.login_transaction(tx)
            if entry is None or not entry.get("user_id"):
                return _error_page("invalid_request", "the login session expired; start again from the app")
            approve = "oaapprove" in form and "oadeny" not in form
            return self._finish_authorize(tx, entry, approve=approve)

    def _finish_authorize(self, tx: str, entry: dict[str, Any], approve: bool) -> Response:
        params = entry["params"]
        self.data.end_login_transaction(tx)
        if not approve:
            self.world.changed()
            return _redirect(_with_query(params["redirect_uri"], {
                "error": "access_denied", "error_description": "end-user denied authorization", "state": params["state"]}))
        approved = self.data.approvals.setdefault(entry["user_id"], [])
        if params["client_id"] not in approved:
            approved.append(params["client_id"])
        code = self.data.new_auth_code(
            client_id=params["client_id"], redirect_uri=params["redirect_uri"], user_id=entry["user_id"],
            scope=params["scope"], code_challenge=params["code_challenge"])
        self.world.changed()
        return _redirect(_with_query(params["redirect_uri"], {"code": code, "state": params["state"]}))

    # ---- OAuth: token, revoke, userinfo, identity -------------------------------------------------------
    def _param(self, request: Request, name: str) -> str:
        return request.form.get(name) or request.args.get(name) or ""

    def _client_id(self, request: Request) -> str:
        client_id = self._param(request, "client_id")
        auth = request.authorization
        if not client_id and auth is not None and auth.type == "basic" and auth.username:
            client_id = auth.username
        return client_id

    def _token_body(self, request: Request, user_id: str, scope: str, access: str, refresh: str | None) -> dict[str, Any]:
        base = self._base(request)
        identity = f"{base}/id/{ids.ORG_ID}/{user_id}"
        issued_at = str(int(self.data.now().timestamp() * 1000))
        signature = base64.b64encode(hmac.new(SIGNING_KEY, (identity + issued_at).encode(), hashlib.sha256).digest()).decode()
        body: dict[str, Any] = {"access_token": access}
        if refresh:
            body["refresh_token"] = refresh
        body.update({"signature": signature, "scope": scope, "instance_url": base, "id": identity,
                     "token_type": "Bearer", "issued_at": issued_at})
        return body

    @sf_errors
    def oauth_token(self, request: Request) -> Response:
        grant = self._param(request, "grant_type")
        client_id = self._client_id(request)
        data = self.data
        if grant not in ("authorization_code", "refresh_token", "password"):
            raise OAuthApiError(400, "unsupported_grant_type", "grant type not supported")
        if grant == "authorization_code":
            if not self._param(request, "code"):
                raise OAuthApiError(400, "invalid_request", "missing required code parameter")
            if client_id != cred.SF_CONSUMER_KEY:
                raise OAuthApiError(400, "invalid_client_id", "client identifier invalid")
            entry = data.redeem_auth_code(self._param(request, "code"), client_id=client_id,
                                          redirect_uri=self._param(request, "redirect_uri"),
                                          code_verifier=self._param(request, "code_verifier") or None)
            scope = entry["scope"]
            wants_refresh = bool({"refresh_token", "offline_access"} & set(scope.split()))
            access, refresh = data.issue_tokens(user_id=entry["user_id"], client_id=client_id, scope=scope,
                                                with_refresh=wants_refresh)
            body = self._token_body(request, entry["user_id"], scope, access, refresh)
        elif grant == "refresh_token":
            token = self._param(request, "refresh_token")
            if not token:
                raise OAuthApiError(400, "invalid_request", "missing required refresh_token parameter")
            if client_id != cred.SF_CONSUMER_KEY:
                raise OAuthApiError(400, "invalid_client_id", "client identifier invalid")
            entry = data.refresh_grant(token, client_id)
            rotate = bool(data.settings["rotate_refresh_tokens"])
            access, new_refresh = data.issue_tokens(user_id=entry["user_id"], client_id=client_id,
                                                    scope=entry["scope"], with_refresh=rotate,
                                                    refresh_token=None if rotate else token)
            if rotate:
                entry["revoked"] = True  # the old refresh token dies; access tokens already issued live on
                data.access_tokens[access]["refresh_token"] = new_refresh
            body = self._token_body(request, entry["user_id"], entry["scope"], access, new_refresh)
        else:
            if client_id != cred.SF_CONSUMER_KEY:
                raise OAuthApiError(400, "invalid_client_id", "client identifier invalid")
            user = data.check_password(self._param(request, "username"), self._param(request, "password"))
            if user is None:
                raise OAuthApiError(400, "invalid_grant", "authentication failure")
            scope = "api"  # the username-password flow never returns a refresh token
            access, _ = data.issue_tokens(user_id=user["Id"], client_id=client_id, scope=scope, with_refresh=False)
            body = self._token_body(request, user["Id"], scope, access, None)
        response = json_response(body)
        response.headers["Cache-Control"] = "no-cache, no-store"
        response.headers["Pragma"] = "no-cache"
        return response

    def oauth_revoke(self, request: Request) -> Response:
        token = self._param(request, "token")
        with self.world.lock:
            if not token:
                raise OAuthApiError(400, "unsupported_token_type", "unsupported token type")
            if not self.data.revoke_token(token):
                raise OAuthApiError(400, "invalid_token", "invalid token")
            self.world.changed()
        return Response("", status=200)

    def _bearer_session(self, request: Request) -> dict[str, Any] | None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else request.args.get("oauth_token", "")
        with self.world.lock:
            return self.data.check_access_token(token) if token else None

    def _identity_body(self, request: Request, user: dict[str, Any]) -> dict[str, Any]:
        base = self._base(request)
        uid = user["Id"]
        return {
            "id": f"{base}/id/{ids.ORG_ID}/{uid}", "asserted_user": True, "user_id": uid,
            "organization_id": ids.ORG_ID, "username": user["Username"], "nick_name": user["Username"].split("@")[0],
            "display_name": user.get("Name"), "email": user.get("Email"), "email_verified": True,
            "first_name": user.get("FirstName"), "last_name": user.get("LastName"), "timezone": "GMT",
            "photos": {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"},
            "addr_street": None, "addr_city": None, "addr_state": None, "addr_country": None, "addr_zip": None,
            "mobile_phone": None, "mobile_phone_verified": False, "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": {
                "enterprise": f"{base}/services/Soap/c/{{version}}/{ids.ORG_ID[:15]}",
                "metadata": f"{base}/services/Soap/m/{{version}}/{ids.ORG_ID[:15]}",
                "partner": f"{base}/services/Soap/u/{{version}}/{ids.ORG_ID[:15]}",
                "rest": f"{base}/services/data/v{{version}}/",
                "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
                "search": f"{base}/services/data/v{{version}}/search/",
                "query": f"{base}/services/data/v{{version}}/query/",
                "recent": f"{base}/services/data/v{{version}}/recent/",
                "tooling_soap": f"{base}/services/Soap/T/{{version}}/{ids.ORG_ID[:15]}",
                "tooling_rest": f"{base}/services/data/v{{version}}/tooling/",
                "profile": f"{base}/{uid}",
                "feeds": f"{base}/services/data/v{{version}}/chatter/feeds",
                "groups": f"{base}/services/data/v{{version}}/chatter/groups",
                "users": f"{base}/services/data/v{{version}}/chatter/users",
                "feed_items": f"{base}/services/data/v{{version}}/chatter/feed-items",
                "feed_elements": f"{base}/services/data/v{{version}}/chatter/feed-elements",
                "custom_domain": base,
            },
            "active": bool(user.get("IsActive")), "user_type": "STANDARD", "language": "en_US",
            "locale": "en_US", "utcOffset": 0, "last_modified_date": user.get("LastModifiedDate"),
            "is_app_installed": True,
        }

    def oauth_userinfo(self, request: Request) -> Response:
        session = self._bearer_session(request)
        if session is None:
            return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
        with self.world.lock:
            user = self.data.records["user"][session["user_id"]]
            ident = self._identity_body(request, user)
        return json_response({
            "sub": ident["id"], "user_id": ident["user_id"], "organization_id": ids.ORG_ID,
            "preferred_username": ident["username"], "nickname": ident["nick_name"], "name": ident["display_name"],
            "email": ident["email"], "email_verified": True, "given_name": ident["first_name"],
            "family_name": ident["last_name"], "zoneinfo": "GMT", "photos": ident["photos"],
            "profile": ident["urls"]["profile"], "picture": ident["photos"]["picture"], "address": {},
            "is_salesforce_integration_user": False, "urls": ident["urls"], "active": ident["active"],
            "user_type": "STANDARD", "language": "en_US", "locale": "en_US", "utcOffset": 0,
            "updated_at": ident["last_modified_date"], "is_app_installed": True,
        })

    def identity(self, request: Request, org_id: str, user_id: str) -> Response:
        session = self._bearer_session(request)
        if session is None:
            return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
        if ids.normalize(org_id) != ids.ORG_ID:
            return Response("Bad_Id", status=404, mimetype="text/plain")
        with self.world.lock:
            user = self.data.get("User", user_id)
            if user is None:
                return Response("Bad_Id", status=404, mimetype="text/plain")
            return json_response(self._identity_body(request, user))

    def openid_configuration(self, request: Request) -> Response:
        base = self._base(request)
        return json_response({
            "issuer": base,
            "authorization_endpoint": f"{base}/services/oauth2/authorize",
            "token_endpoint": f"{base}/services/oauth2/token",
            "revocation_endpoint": f"{base}/services/oauth2/revoke",
            "userinfo_endpoint": f"{base}/services/oauth2/userinfo",
            "introspection_endpoint": f"{base}/services/oauth2/introspect",
            "jwks_uri": f"{base}/id/keys",
            "scopes_supported": sorted(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "display_values_supported": ["page", "popup", "touch"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code", "refresh_token", "password"],
            "claims_supported": ["active", "address", "email", "email_verified", "family_name", "given_name",
                                 "is_app_installed", "language", "locale", "name", "nickname", "organization_id",
                                 "phone_number", "photos", "picture", "preferred_username", "profile", "sub",
                                 "updated_at", "urls", "user_id", "user_type", "zoneinfo"],
        })

    # ---- admin API ------------------------------------------------------------------------------------
    def _admin_object(self, sobject: str) -> ObjectDef:
        obj = self.data.schema.get(sobject.lower())
        if obj is None:
            raise SalesforceError("NOT_FOUND", f"No sObject type {sobject}", status=404)
        return obj

    @admin_errors
    def admin_list_records(self, request: Request, sobject: str) -> Response:
        obj = self._admin_object(sobject)
        mode = request.args.get("deleted", "0").lower()
        rows = self.data.all_records(obj.name)
        if mode in ("only",):
            rows = [r for r in rows if r.get("IsDeleted")]
        elif mode not in ("1", "true", "yes", "all"):
            rows = [r for r in rows if not r.get("IsDeleted")]
        return json_response({"count": len(rows), "records": [dict(r) for r in rows]})

    @admin_errors
    def admin_create_record(self, request: Request, sobject: str) -> Response:
        obj = self._admin_object(sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        new_id = self.data.insert(obj.name, body, system=True)
        return json_response({"id": new_id, "record": self.data.get(obj.name, new_id)}, status=201)

    @admin_errors
    def admin_get_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        row = self.data.get(obj.name, record_id, include_deleted=True)
        if row is None:
            raise SalesforceError("NOT_FOUND", f"No {obj.name} with id {record_id}", status=404)
        return json_response(row)

    @admin_errors
    def admin_update_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        self.data.update(obj.name, record_id, body, system=True)
        return json_response(self.data.get(obj.name, record_id))

    @admin_errors
    def admin_delete_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        self.data.delete(obj.name, record_id, system=True)
        return json_response(self.data.get(obj.name, record_id, include_deleted=True))

    @admin_errors
    def admin_restore_record(self, request: Request, sobject: str, record_id: str) -> Response:
        obj = self._admin_object(sobject)
        self.data.undelete(obj.name, record_id)
        return json_response(self.data.get(obj.name, record_id))

    @admin_errors
    def admin_list_stages(self, request: Request) -> Response:
        return json_response([dict(s) for s in self.data.stages_in_order()])

    @admin_errors
    def admin_change_stage(self, request: Request, api_name: str) -> Response:
        body = read_json(request) or {}
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        label = body.get("label", body.get("MasterLabel"))
        active = body.get("active", body.get("IsActive"))
        if active is not None and not isinstance(active, bool):
            raise SalesforceError("INVALID_TYPE_ON_FIELD_IN_RECORD", "active must be true or false", ["IsActive"])
        return json_response(self.data.change_stage(api_name, label=label, active=active))

    @admin_errors
    def admin_list_tokens(self, request: Request) -> Response:
        now = self.data.now().timestamp()
        ttl = float(self.data.settings["access_token_ttl_seconds"])
        access = [{"token": t[:20] + "…", "user_id": e["user_id"], "scope": e["scope"], "revoked": e["revoked"],
                   "expired": now - e["last_used"] > ttl} for t, e in self.data.access_tokens.items()]
        refresh = [{"token": t[:12] + "…", "user_id": e["user_id"], "scope": e["scope"], "revoked": e["revoked"]}
                   for t, e in self.data.refresh_tokens.items()]
        return json_response({"access_tokens": access, "refresh_tokens": refresh})

    @admin_errors
    def admin_expire_tokens(self, request: Request) -> Response:
        body = read_json(request) or {}
        token = body.get("token") if isinstance(body, dict) else None
        return json_response({"expired": self.data.expire_access_tokens(token)})

    @admin_errors
    def admin_revoke_tokens(self, request: Request) -> Response:
        body = read_json(request) or {}
        token = body.get("token") if isinstance(body, dict) else None
        if token:
            return json_response({"revoked": 1 if self.data.revoke_token(token) else 0})
        return json_response({"revoked": self.data.revoke_all_refresh_tokens()})

    def _settings_json(self) -> dict[str, Any]:
        s = self.data.settings
        return {
            "daily_api_limit": int(s["daily_api_limit"]),
            "api_usage": self.data.api_used(),
            "rotate_refresh_tokens": bool(s["rotate_refresh_tokens"]),
            "access_token_ttl_seconds": float(s["access_token_ttl_seconds"]),
            "redirect_uris": list(s["redirect_uris"]),
            "remember_approvals": bool(s.get("remember_approvals", False)),
        }

    @admin_errors
    def admin_get_settings(self, request: Request) -> Response:
        return json_response(self._settings_json())

    @admin_errors
    def admin_set_settings(self, request: Request) -> Response:
        body = read_json(request) or {}
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        s = self.data.settings
        unknown = set(body) - {"daily_api_limit", "api_usage", "rotate_refresh_tokens", "access_token_ttl_seconds",
                               "redirect_uris", "remember_approvals"}
        if unknown:
            raise SalesforceError("INVALID_FIELD", f"Unknown settings: {', '.join(sorted(unknown))}", sorted(unknown))

        def integer(name: str, minimum: int) -> int:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
                raise SalesforceError("INVALID_FIELD", f"{name} must be a number >= {minimum}", [name])
            return int(value)

        if "daily_api_limit" in body:
            s["daily_api_limit"] = integer("daily_api_limit", 0)
        if "access_token_ttl_seconds" in body:
            s["access_token_ttl_seconds"] = integer("access_token_ttl_seconds", 1)
        for flag in ("rotate_refresh_tokens", "remember_approvals"):
            if flag in body:
                if not isinstance(body[flag], bool):
                    raise SalesforceError("INVALID_FIELD", f"{flag} must be true or false", [flag])
                s[flag] = body[flag]
        if "redirect_uris" in body:
            uris = body["redirect_uris"]
            if not isinstance(uris, list) or not all(isinstance(u, str) and u for u in uris):
                raise SalesforceError("INVALID_FIELD", "redirect_uris must be a list of URLs", ["redirect_uris"])
            s["redirect_uris"] = list(uris)
        if "api_usage" in body:
            self.data.set_api_used(integer("api_usage", 0))
        return json_response(self._settings_json())
