"""The Salesforce REST client: :class:`SalesforceClient`, one per connected org."""

from __future__ import annotations

import email.utils
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import requests

from .. import soql
from ..errors import (
    ConnectorError,
    ReconnectNeeded,
    RequestRejected,
    UnexpectedResponse,
    WindowExceeded,
)
from ..http import HttpPolicy, require_secure_url
from ..timestamps import timestamp_or_none
from . import composite
from .composite import ConditionalUpdate, Rode
from .models import (
    FieldInfo,
    Identity,
    SaveError,
    SaveResult,
    Stage,
    UpdatedResult,
    UserPermissions,
    save_errors,
)
from .rest_errors import rest_error
from .tokens import AccessTokenSource
from .wire import (
    API_VERSION,
    COLLECTION_CHUNK,
    LOCATOR_GONE,
    MAX_BATCH_SIZE,
    MIN_BATCH_SIZE,
    NOT_FOR_REST,
    SYSTEM,
    UPDATED_WINDOW_DAYS,
    USAGE_RE,
    checked_name,
    checked_record_id,
    iso_utc,
    looks_html,
    my_domain_name,
)


class SalesforceClient:
    """REST calls against one org. Thread-safe for one caller at a time per request; the describe
    cache and usage figures are guarded by a lock."""

    API_VERSION = API_VERSION

    def __init__(
        self,
        instance_url: str,
        tokens: AccessTokenSource,
        http: HttpPolicy,
        *,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._instance_url = self._checked_base(instance_url)
        self.tokens = tokens
        self.http = http
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._lock = threading.Lock()
        self._describe_cache: dict[str, dict[str, Any]] = {}
        self._org_name: tuple[str | None] | None = None
        self._api_usage: tuple[int, int] | None = None
        # Salesforce's clock at its last answer (the HTTP Date header): the engine anchors its
        # change cursor to the server's time, not ours, so a skewed local clock cannot skip rows.
        self.server_time: datetime | None = None

    def __repr__(self) -> str:
        return f"SalesforceClient({self._instance_url!r})"

    # ---- state -----------------------------------------------------------------------------
    @property
    def instance_url(self) -> str:
        return self._instance_url

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` from the last ``Sforce-Limit-Info`` seen, or None before any."""
        with self._lock:
            return self._api_usage

    def new_cycle(self) -> None:
        """Forget cached metadata (describe, org name): the next cycle sees the org's changes."""
        with self._lock:
            self._describe_cache.clear()
            self._org_name = None

    @staticmethod
    def _checked_base(url: str) -> str:
        if not isinstance(url, str) or not url.strip():
            raise ValueError("the Salesforce instance URL is empty")
        url = url.strip().rstrip("/")
        require_secure_url(SYSTEM, url)
        return url

    def _adopt(self, token_set: Any) -> None:
        """Take a new ``instance_url`` from a refreshed token set (it can change)."""
        raw = getattr(token_set, "raw", None)
        url = raw.get("instance_url") if isinstance(raw, dict) else None
        if url:
            self._instance_url = self._checked_base(url)

    # ---- the request pipeline ------------------------------------------------------------------
    def _url(self, target: str) -> str:
        if target.startswith(("https://", "http://")):
            return target
        if target.startswith("/"):
            return self._instance_url + target
        return f"{self._instance_url}/services/data/{API_VERSION}/{target}"

    def _send(
        self,
        method: str,
        target: str,
        token: str | None,
        *,
        idempotent: bool,
        params: dict[str, Any] | None,
        json_body: Any,
        headers: dict[str, str] | None,
    ) -> requests.Response:
        sent = {"Accept": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = "Bearer " + token
        kwargs: dict[str, Any] = {"headers": sent}
        if params is not None:
            kwargs["params"] = params
        if json_body is not None:
            kwargs["json"] = json_body
        response = self.http.request(method, self._url(target), idempotent=idempotent, **kwargs)
        self._track_usage(response)
        return response

    def _track_usage(self, response: requests.Response) -> None:
        match = USAGE_RE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            with self._lock:
                self._api_usage = (int(match.group(1)), int(match.group(2)))

    @staticmethod
    def _session_refused(response: requests.Response) -> bool:
        if response.status_code == 401:
            return True
        # The identity service answers an invalid token with a bare 403 "Bad_OAuth_Token".
        return response.status_code == 403 and response.text.strip() == "Bad_OAuth_Token"

    def _request(
        self,
        method: str,
        target: str,
        *,
        idempotent: bool,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
    ) -> requests.Response:
        """Send with the bearer token; on a refused session refresh once and resend once."""
        token = self.tokens.access_token() if authenticated else None
        response = self._send(
            method, target, token, idempotent=idempotent, params=params, json_body=json_body, headers=headers
        )
        if not authenticated or not self._session_refused(response):
            return self._checked(response, method, target)
        if NOT_FOR_REST in response.text.lower():
            raise ReconnectNeeded(
                SYSTEM,
                "the session is not valid for the REST API (the connected app needs the 'api' scope); connect again",
            )
        fresh = self.tokens.refresh(token)
        self._adopt(fresh)
        token = getattr(fresh, "access_token", None) or self.tokens.access_token()
        response = self._send(
            method, target, token, idempotent=idempotent, params=params, json_body=json_body, headers=headers
        )
        if self._session_refused(response):
            raise ReconnectNeeded(SYSTEM, "Salesforce refused the session even after it was renewed")
        return self._checked(response, method, target)

    def _where(self, method: str, target: str) -> str:
        path = urlsplit(self._url(target)).path
        return f"{method} {path}"

    def _checked(self, response: requests.Response, method: str, target: str) -> requests.Response:
        stamp = response.headers.get("Date")
        if stamp:
            try:
                self.server_time = email.utils.parsedate_to_datetime(stamp)
            except (TypeError, ValueError):
                pass
        if 200 <= response.status_code < 300:
            return response
        raise rest_error(response, self._where(method, target))

    def _json(self, response: requests.Response, method: str, target: str) -> Any:
        where = self._where(method, target)
        if looks_html(response):
            raise UnexpectedResponse(SYSTEM, f"Salesforce answered {where} with a web page instead of JSON.")
        try:
            return response.json()
        except ValueError:
            raise UnexpectedResponse(
                SYSTEM, f"Salesforce answered {where} with HTTP {response.status_code} but the body is not JSON."
            ) from None

    def _get_json(
        self,
        target: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        authenticated: bool = True,
    ) -> Any:
        response = self._request(
            "GET", target, idempotent=True, params=params, headers=headers, authenticated=authenticated
        )
        return self._json(response, "GET", target)

    def _get_object(self, target: str, **kwargs: Any) -> dict[str, Any]:
        body = self._get_json(target, **kwargs)
        if not isinstance(body, dict):
            raise UnexpectedResponse(
                SYSTEM,
                f"Salesforce answered {self._where('GET', target)} with "
                f"{type(body).__name__} where an object was expected.",
            )
        return body

    # ---- query -------------------------------------------------------------------------------------
    def query(self, soql_text: str, *, batch_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every record of the query, page after page (``nextRecordsUrl``), lazily."""
        return self._paged("query", soql_text, batch_size)

    def query_all(self, soql_text: str, *, batch_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Like :meth:`query`, including deleted (recycle bin) rows (``IsDeleted = true``)."""
        return self._paged("queryAll", soql_text, batch_size)

    def count(self, soql_count_query: str) -> int:
        """``totalSize`` of a ``SELECT COUNT() FROM ...`` query."""
        body = self._query_page("query", soql_count_query, None)
        total = body.get("totalSize")
        if not isinstance(total, int) or isinstance(total, bool):
            raise UnexpectedResponse(SYSTEM, "Salesforce's query answer has no totalSize.")
        return total

    @staticmethod
    def _query_headers(batch_size: int | None) -> dict[str, str] | None:
        if batch_size is None:
            return None
        if not MIN_BATCH_SIZE <= batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch_size must be between {MIN_BATCH_SIZE} and {MAX_BATCH_SIZE}")
        return {"Sforce-Query-Options": f"batchSize={batch_size}"}

    def _query_page(self, endpoint: str, soql_text: str, batch_size: int | None) -> dict[str, Any]:
        if not isinstance(soql_text, str) or not soql_text.strip():
            raise ValueError("empty SOQL query")
        return self._get_object(endpoint, params={"q": soql_text}, headers=self._query_headers(batch_size))

    def _paged(self, endpoint: str, soql_text: str, batch_size: int | None) -> Iterator[dict[str, Any]]:
        headers = self._query_headers(batch_size)  # validate now, not on first next()
        first = self._query_page(endpoint, soql_text, batch_size)
        return self._pages(first, headers)

    def _pages(self, body: dict[str, Any], headers: dict[str, str] | None) -> Iterator[dict[str, Any]]:
        while True:
            records = body.get("records")
            if not isinstance(records, list):
                raise UnexpectedResponse(SYSTEM, "Salesforce's query answer has no records list.")
            yield from records
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url:
                return
            if not isinstance(next_url, str) or not next_url.startswith("/services/data/"):
                raise UnexpectedResponse(SYSTEM, "Salesforce's query answer has an unusable nextRecordsUrl.")
            try:
                body = self._get_object(next_url, headers=headers)
            except RequestRejected as exc:
                if exc.code != "INVALID_QUERY_LOCATOR":
                    raise
                raise RequestRejected(SYSTEM, exc.status, LOCATOR_GONE, exc.code) from None

    # ---- stages ------------------------------------------------------------------------------------
    STAGES_SOQL = (
        "SELECT ApiName, MasterLabel, IsActive, IsClosed, IsWon, SortOrder, DefaultProbability "
        "FROM OpportunityStage ORDER BY SortOrder"
    )

    def stages(self) -> list[Stage]:
        """Every opportunity stage by SortOrder, inactive ones included (the caller decides)."""
        out = []
        for row in self.query(self.STAGES_SOQL):
            api_name = row.get("ApiName")
            if not isinstance(api_name, str) or not api_name:
                raise UnexpectedResponse(SYSTEM, "An OpportunityStage came back without ApiName.")
            probability = row.get("DefaultProbability")
            out.append(
                Stage(
                    api_name=api_name,
                    label=str(row.get("MasterLabel") or api_name),
                    is_active=bool(row.get("IsActive")),
                    is_closed=bool(row.get("IsClosed")),
                    is_won=bool(row.get("IsWon")),
                    sort_order=int(row.get("SortOrder") or 0),
                    probability=float(probability) if isinstance(probability, (int, float)) else None,
                )
            )
        out.sort(key=lambda s: s.sort_order)
        return out

    # ---- metadata ----------------------------------------------------------------------------------
    def describe(self, sobject: str) -> dict[str, Any]:
        """``sobjects/{sobject}/describe``, cached until :meth:`new_cycle`."""
        key = checked_name(sobject).lower()
        with self._lock:
            cached = self._describe_cache.get(key)
        if cached is not None:
            return cached
        body = self._get_object(f"sobjects/{sobject}/describe")
        if not isinstance(body.get("fields"), list):
            raise UnexpectedResponse(SYSTEM, f"The describe of {sobject} has no fields list.")
        with self._lock:
            self._describe_cache[key] = body
        return body

    def fields(self, sobject: str) -> dict[str, FieldInfo]:
        """The object's fields by API name (from the cached describe)."""
        out = {}
        for f in self.describe(sobject)["fields"]:
            if not isinstance(f, dict) or not f.get("name"):
                continue
            length = f.get("length")
            out[f["name"]] = FieldInfo(
                name=f["name"],
                type=str(f.get("type", "")),
                label=str(f.get("label") or f["name"]),
                updateable=bool(f.get("updateable")),
                createable=bool(f.get("createable")),
                custom=bool(f.get("custom")),
                length=length if isinstance(length, int) and length > 0 else None,
            )
        return out

    def limits(self) -> dict[str, Any]:
        """``limits/`` (``DailyApiRequests {Max, Remaining}``...); needs "View Setup"."""
        return self._get_object("limits/")

    def versions(self) -> list[dict[str, Any]]:
        """The API versions the instance serves (``/services/data/``, no authentication)."""
        body = self._get_json("/services/data/", authenticated=False)
        if not isinstance(body, list):
            raise UnexpectedResponse(SYSTEM, "Salesforce's version list is not a list.")
        return body

    # ---- getUpdated -------------------------------------------------------------------
    def _window(self, kind: str, days: int, sobject: str, start: datetime, end: datetime) -> dict[str, Any]:
        checked_name(sobject)
        start_text, end_text = iso_utc(start), iso_utc(end)  # ValueError for naive datetimes
        if end < start:
            raise ValueError("end is before start")
        if start < (self.server_time or self._now()) - timedelta(days=days):  # the window is by Salesforce's clock
            raise WindowExceeded(kind, days, start)
        try:
            return self._get_object(f"sobjects/{sobject}/{kind}/", params={"start": start_text, "end": end_text})
        except RequestRejected as exc:
            if exc.code == "EXCEEDED_ID_LIMIT":  # getUpdated: more than 600,000 ids in the window
                raise WindowExceeded(
                    kind,
                    days,
                    start,
                    f"Salesforce has too many {kind} records since {start_text} to list ({exc.message}); "
                    "a full comparison is needed.",
                ) from None
            if exc.code == "INVALID_REPLICATION_DATE":
                raise WindowExceeded(
                    kind,
                    days,
                    start,
                    f"Salesforce refused the window for {kind} records starting {start_text}: {exc.message}",
                ) from None
            raise

    def updated(self, sobject: str, start: datetime, end: datetime) -> UpdatedResult:
        """Ids changed (SystemModstamp) in [start, end); start at most 30 days back."""
        body = self._window("updated", UPDATED_WINDOW_DAYS, sobject, start, end)
        ids = body.get("ids")
        latest = timestamp_or_none(body.get("latestDateCovered"))
        if not isinstance(ids, list) or latest is None:
            raise UnexpectedResponse(SYSTEM, f"The updated list of {sobject} is not in the documented shape.")
        return UpdatedResult(ids=[str(i) for i in ids], latest_date_covered=latest)

    # ---- records -----------------------------------------------------------------------------------
    def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """One record (404 → RequestRejected with code NOT_FOUND / ENTITY_IS_DELETED)."""
        params = None
        if fields:
            params = {"fields": ",".join(checked_name(f, "field") for f in fields)}
        return self._get_object(f"sobjects/{checked_name(sobject)}/{checked_record_id(record_id)}", params=params)

    def create(self, sobject: str, values: dict[str, Any]) -> str:
        """Create a record; its id. Never retried: after Offline, whether it exists is unknown."""
        target = f"sobjects/{checked_name(sobject)}/"
        response = self._request("POST", target, idempotent=False, json_body=values)
        body = self._json(response, "POST", target)
        if not isinstance(body, dict) or not body.get("id"):
            raise UnexpectedResponse(SYSTEM, f"Creating a {sobject} gave no id.")
        if body.get("success") is False:
            errors = save_errors(body.get("errors"))
            first = errors[0] if errors else SaveError("", "the record was not created", [])
            raise RequestRejected(SYSTEM, response.status_code, first.message, first.code, first.fields)
        return str(body["id"])

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        """PATCH one record (204). Safe to repeat, so the policy may retry it."""
        self._request(
            "PATCH",
            f"sobjects/{checked_name(sobject)}/{checked_record_id(record_id)}",
            idempotent=True,
            json_body=values,
        )

    def update_if_unmodified(self, sobject: str, record_id: str, values: dict[str, Any], since: datetime) -> bool:
        """PATCH one record only if it was not modified after ``since`` (If-Unmodified-Since, whole
        seconds): True when written, False on Salesforce's 412 (someone wrote it since). Not retried
        blindly: a lost answer is settled by reading the record again."""
        try:
            self._request(
                "PATCH",
                f"sobjects/{checked_name(sobject)}/{checked_record_id(record_id)}",
                idempotent=False,
                json_body=values,
                headers={"If-Unmodified-Since": composite.http_date(since)},
            )
        except RequestRejected as exc:
            if exc.status == 412:
                return False
            raise
        return True

    def update_many_if_unmodified_with(
        self, updates: Sequence[ConditionalUpdate], sobject: str, rider: Sequence[dict[str, Any]]
    ) -> tuple[list[bool | ConnectorError], Rode]:
        """Each update as ``update_if_unmodified`` would do it, 25 to one request (Composite, see
        .composite), and ``rider`` (records to update as ``update_many`` does, at most 200) in the
        last request when it has room for one subrequest more. Returns the updates' outcomes — per
        update, in order: True written, False refused with 412, or the error its subrequest answered
        (not raised: the others stand) — and the rider's per-record results or the error it answered
        as a whole (None when it did not ride). Never retried blindly: a lost answer propagates, and
        the caller settles it by reading the records again; the calls before a failed one were applied."""
        results: list[bool | ConnectorError] = []
        rode: Rode = None
        items = composite.update_bodies(sobject, rider) if rider else []
        for start in range(0, max(len(updates), 1), composite.COMPOSITE_CHUNK):
            chunk = list(updates[start : start + composite.COMPOSITE_CHUNK])
            last = start + composite.COMPOSITE_CHUNK >= len(updates)
            body = composite.request_body(
                chunk, start, items if last and len(chunk) < composite.COMPOSITE_CHUNK else None
            )
            if not body["compositeRequest"]:
                break
            response = self._request("POST", "composite", idempotent=False, json_body=body)
            answer = self._json(response, "POST", "composite")
            results += composite.outcomes(answer, body)
            if len(body["compositeRequest"]) > len(chunk):
                rode = composite.rider_results(answer, body)
        return results, rode

    def update_many(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Update records (each a dict with ``Id`` and the fields to set) through sObject
        Collections, 200 per call, ``allOrNone: false``: one result per record, in order. A record
        that fails does not stop the others. If a whole call fails, the exception propagates; the
        chunks before it were applied (repeating them is harmless). A record may name another type
        (``"attributes": {"type": ...}``): one call updates several types."""
        return self._collection("PATCH", composite.update_bodies(sobject, records), "update")

    def create_many(self, sobject: str, records: Sequence[dict[str, Any]]) -> list[SaveResult]:
        """Create records through sObject Collections (``POST composite/sobjects``), 200 per call,
        ``allOrNone: false``: one result per record, in order (``id`` is the new record's id when it
        succeeded). **Never retried**: after :class:`Offline` the chunk may or may not exist, so the
        caller must look the records up (by an external key) before creating them again. If a call
        fails, the exception propagates; the chunks before it were created."""
        checked_name(sobject)
        bodies = []
        for rec in records:
            if not isinstance(rec, dict):
                raise ValueError("every record to create must be a dict of fields")
            if rec.get("Id") or rec.get("id"):
                raise ValueError("a record to create cannot carry an Id")
            bodies.append({"attributes": {"type": sobject}, **{k: v for k, v in rec.items() if k != "attributes"}})
        return self._collection("POST", bodies, "create")

    def _collection(self, method: str, bodies: list[dict[str, Any]], what: str) -> list[SaveResult]:
        """sObject Collections in chunks of 200, ``allOrNone: false``: one result per record, in
        order. PATCH (update) may be retried by the policy; POST (create) never is."""
        results: list[SaveResult] = []
        for start in range(0, len(bodies), COLLECTION_CHUNK):
            chunk = bodies[start : start + COLLECTION_CHUNK]
            response = self._request(
                method,
                "composite/sobjects",
                idempotent=method == "PATCH",
                json_body={"allOrNone": False, "records": chunk},
            )
            results += composite.collection_results(self._json(response, method, "composite/sobjects"), chunk, what)
        return results

    # ---- who and where -------------------------------------------------------------------------------
    def _identity_url(self) -> str:
        current = getattr(self.tokens, "current", None)
        token_set = current() if callable(current) else None
        raw = getattr(token_set, "raw", None)
        url = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            return url
        return "/services/oauth2/userinfo"

    def identity(self) -> Identity:
        """The connected user and org, from the token's identity URL (or ``userinfo``)."""
        target = self._identity_url()
        body = self._get_object(target)
        org_id = body.get("organization_id")
        user_id = body.get("user_id")
        if not org_id or not user_id:
            raise UnexpectedResponse(SYSTEM, "Salesforce's identity answer has no user or org id.")
        username = body.get("username") or body.get("preferred_username") or ""
        return Identity(
            org_id=str(org_id),
            user_id=str(user_id),
            username=str(username),
            display_name=str(body.get("display_name") or body.get("name") or username),
            email=str(body.get("email") or ""),
        )

    def org_name(self) -> str | None:
        """The org's name from ``SELECT Name FROM Organization``, cached until :meth:`new_cycle`.

        Fallback when the object cannot be queried (``INVALID_TYPE``: the sandbox emulator has no
        Organization object; ``INSUFFICIENT_ACCESS``...): the My Domain name from the instance URL
        (``acme`` for ``https://acme.my.salesforce.com``), else None — the identity service has no
        org name, so the caller shows the org id instead."""
        with self._lock:
            if self._org_name is not None:
                return self._org_name[0]
        name: str | None
        try:
            rows = list(self.query("SELECT Name FROM Organization"))
            name = str(rows[0]["Name"]) if rows and rows[0].get("Name") else None
        except (RequestRejected, UnexpectedResponse):
            name = None
        if name is None:
            name = my_domain_name(self._instance_url)
        with self._lock:
            self._org_name = (name,)
        return name

    def user_permissions(self) -> UserPermissions | None:
        """Whether the connected user can modify all data / view setup / use the API, from
        ``PermissionSetAssignment`` (profiles are permission sets too, so this covers both).

        None when it cannot be read: the user may not query permission sets (it needs View Setup),
        or the org (the sandbox emulator) has no such object. Unknown is never reported as False."""
        try:
            identity = self.identity()
            rows = list(
                self.query(
                    soql.format_soql(
                        "SELECT PermissionSet.PermissionsModifyAllData, PermissionSet.PermissionsViewSetup, "
                        "PermissionSet.PermissionsApiEnabled FROM PermissionSetAssignment WHERE AssigneeId = {}",
                        identity.user_id,
                    )
                )
            )
        except (RequestRejected, UnexpectedResponse):
            return None
        sets: list[dict[str, Any]] = [r["PermissionSet"] for r in rows if isinstance(r.get("PermissionSet"), dict)]
        if not sets:
            return None

        def any_of(name: str) -> bool | None:
            values = [s.get(name) for s in sets if isinstance(s.get(name), bool)]
            return any(values) if values else None

        return UserPermissions(
            modify_all_data=any_of("PermissionsModifyAllData"),
            view_setup=any_of("PermissionsViewSetup"),
            api_enabled=any_of("PermissionsApiEnabled"),
        )
