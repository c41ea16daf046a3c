"""One record at a time over REST (read, create, update with If-Unmodified-Since, delete) and the
replication windows ``updated``/``deleted``."""

from __future__ import annotations

import email.utils
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response, read_json
from .api_errors import SfApiError
from .data import DELETED_WINDOW_DAYS, UPDATED_WINDOW_DAYS
from .formats import format_datetime, parse_datetime
from .rest import shape, sobject_def
from .schema import ObjectDef

if TYPE_CHECKING:
    from .data import SalesforceData
    from .permissions import Permissions
    from .rest import RestAuth

UPDATED_ID_LIMIT = 600_000  # REST guide, "Get Updated": more ids than this → EXCEEDED_ID_LIMIT


class RecordRoutes:
    """sObject rows and the getUpdated/getDeleted windows."""

    def __init__(self, data: SalesforceData, auth: RestAuth, permissions: Permissions) -> None:
        self.data = data
        self.auth = auth
        self.permissions = permissions

    def rules(self, d: str) -> list[Rule]:
        return [
            Rule(f"{d}/sobjects/<sobject>", endpoint=self.sobject_create, methods=["POST"]),
            Rule(f"{d}/sobjects/<sobject>/updated", endpoint=self.sobject_updated, methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/deleted", endpoint=self.sobject_deleted, methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/<record_id>", endpoint=self.record_get, methods=["GET"]),
            Rule(f"{d}/sobjects/<sobject>/<record_id>", endpoint=self.record_update, methods=["PATCH"]),
            Rule(f"{d}/sobjects/<sobject>/<record_id>", endpoint=self.record_delete, methods=["DELETE"]),
        ]

    def record_get(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        version, _ = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
        row = self.data.fetch(obj.name, record_id)
        fields = None
        if request.args.get("fields"):
            fields = []
            for name in (n.strip() for n in request.args["fields"].split(",")):
                if not name:
                    continue
                fdef = obj.field(name)
                if fdef is None:
                    raise SfApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name}' on entity '{obj.name}'. "
                        "If you are attempting to use a custom field, be sure to append the '__c' "
                        "after the custom field name. Please reference your WSDL or the describe "
                        "call for the appropriate names.",
                    )
                fields.append(fdef)
        return json_response(shape(obj, row, version, fields))

    def sobject_create(self, request: Request, version: str, sobject: str) -> Response:
        version, session = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        self.permissions.check_setup_create(obj, body, session["user_id"])
        new_id = self.data.insert(obj.name, body, user_id=session["user_id"])
        response = json_response({"id": new_id, "success": True, "errors": []}, status=201)
        response.headers["Location"] = f"/services/data/{version}/sobjects/{obj.name}/{new_id}"
        return response

    def record_update(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        version, session = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
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
            raise SfApiError(
                412,
                "PRECONDITION_FAILED",
                f"The requested resource has been modified since {raw}; the request was not processed",
            )

    def record_delete(self, request: Request, version: str, sobject: str, record_id: str) -> Response:
        version, session = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
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

    def sobject_updated(self, request: Request, version: str, sobject: str) -> Response:
        version, _ = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
        start, end, now = self._replication_window(request, UPDATED_WINDOW_DAYS)
        latest = min(end, now.replace(second=0, microsecond=0))
        found = self.data.updated_ids(obj.name, start, latest)
        if len(found) > UPDATED_ID_LIMIT:
            raise SfApiError(400, "EXCEEDED_ID_LIMIT", "ID limit exceeded")
        return json_response({"ids": found, "latestDateCovered": format_datetime(latest)})

    def sobject_deleted(self, request: Request, version: str, sobject: str) -> Response:
        version, _ = self.auth.rest(request, version)
        obj = sobject_def(self.data, sobject)
        start, end, now = self._replication_window(request, DELETED_WINDOW_DAYS)
        latest = min(end, now.replace(second=0, microsecond=0))
        found = self.data.deleted_records(obj.name, start, latest)
        earliest = (now - timedelta(days=DELETED_WINDOW_DAYS)).replace(second=0, microsecond=0)
        return json_response(
            {
                "deletedRecords": found,
                "earliestDateAvailable": format_datetime(earliest),
                "latestDateCovered": format_datetime(latest),
            }
        )
