"""Many records in one call: sObject Collections (create, update, delete, retrieve; ``allOrNone``)
and the Composite resource (``composite.py``), each counted as one API request."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response, read_json
from . import composite, ids
from .api_errors import SfApiError
from .errors import SalesforceError
from .rest import shape, sobject_def
from .schema import ObjectDef
from .transactions import roll_back, take_savepoint

if TYPE_CHECKING:
    from .data import SalesforceData
    from .rest import RestAuth

COLLECTION_LIMIT = 200
RETRIEVE_POST_LIMIT = 2000  # "retrieves up to 2,000 records" (Get Records With a Request Body)
RETRIEVE_GET_LIMIT = 800  # "approximately 800 IDs before … URI too long" (Get Records Using sObject Collections)


class CollectionRoutes:
    """sObject Collections and Composite; ``dispatch`` runs a composite subrequest through the app's routes."""

    def __init__(self, data: SalesforceData, auth: RestAuth, dispatch: Callable[[Request], Response]) -> None:
        self.data = data
        self.auth = auth
        self.dispatch = dispatch

    def rules(self, d: str) -> list[Rule]:
        return [
            Rule(f"{d}/composite", endpoint=self.composite, methods=["POST"]),
            Rule(f"{d}/composite/sobjects/<sobject>", endpoint=self.collection_get, methods=["GET"]),
            Rule(f"{d}/composite/sobjects/<sobject>", endpoint=self.collection_get_by_body, methods=["POST"]),
            Rule(f"{d}/composite/sobjects", endpoint=self.collection_create, methods=["POST"]),
            Rule(f"{d}/composite/sobjects", endpoint=self.collection_update, methods=["PATCH"]),
            Rule(f"{d}/composite/sobjects", endpoint=self.collection_delete, methods=["DELETE"]),
        ]

    def composite(self, request: Request, version: str) -> Response:
        version, _ = self.auth.rest(request, version)
        return json_response(composite.run(request, version, self.data, self.dispatch))

    # ---- sObject Collections --------------------------------------------------------------------
    def _collection_body(self, request: Request) -> tuple[bool, list[Any]]:
        body = read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be an object with a records array")
        records = body["records"]
        if len(records) > COLLECTION_LIMIT:
            raise SfApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )
        return bool(body.get("allOrNone", False)), records

    def _run_collection(self, items: list[Any], all_or_none: bool, op: Callable[[Any], str]) -> Response:
        savepoint = take_savepoint(self.data) if all_or_none else None
        results: list[dict[str, Any]] = []
        failed = False
        for item in items:
            try:
                rid = op(item)
                results.append({"id": rid, "success": True, "errors": []})
            except SalesforceError as exc:
                failed = True
                results.append(
                    {
                        "success": False,
                        "errors": [{"statusCode": exc.error_code, "message": exc.message, "fields": list(exc.fields)}],
                    }
                )
        if failed and savepoint is not None:
            roll_back(self.data, savepoint)
            rolled = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was "
                "using AllOrNone header",
                "fields": [],
            }
            results = [
                r
                if not r["success"]
                else {
                    "id": r["id"] if r["id"] in savepoint["existing"] else None,
                    "success": False,
                    "errors": [dict(rolled)],
                }
                for r in results
            ]
            for r in results:
                if r.get("id") is None:
                    r.pop("id", None)
        return json_response(results, status=200)

    @staticmethod
    def _item_type(item: Any) -> str:
        if not isinstance(item, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Each record must be a JSON object")
        attrs = item.get("attributes")
        type_ = attrs.get("type") if isinstance(attrs, dict) else None
        if not type_:
            raise SalesforceError("INVALID_TYPE", "Must send a concrete entity type.")
        return str(type_)

    def collection_create(self, request: Request, version: str) -> Response:
        version, session = self.auth.rest(request, version)
        all_or_none, items = self._collection_body(request)

        def create(item: Any) -> str:
            type_ = self._item_type(item)
            if type_.lower() not in self.data.schema:
                raise SalesforceError("INVALID_TYPE", f"sObject type '{type_}' is not supported.")
            return self.data.insert(type_, item, user_id=session["user_id"])

        return self._run_collection(items, all_or_none, create)

    def collection_update(self, request: Request, version: str) -> Response:
        version, session = self.auth.rest(request, version)
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

    def collection_delete(self, request: Request, version: str) -> Response:
        version, session = self.auth.rest(request, version)
        raw = [x.strip() for x in request.args.get("ids", "").split(",") if x.strip()]
        if not raw:
            raise SfApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(raw) > COLLECTION_LIMIT:
            raise SfApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
            )
        all_or_none = request.args.get("allOrNone", "false").lower() == "true"

        def delete(rid: str) -> str:
            norm = ids.normalize(rid)
            obj = self.data.object_for_id(norm) if norm else None
            if norm is None or obj is None:
                raise SalesforceError("MALFORMED_ID", f"malformed id {rid}")
            self.data.delete(obj.name, norm, user_id=session["user_id"])
            return norm

        return self._run_collection(raw, all_or_none, delete)

    def collection_get(self, request: Request, version: str, sobject: str) -> Response:
        """Retrieve records of one type by id: ``GET …/composite/sobjects/{sObject}?ids=a,b&fields=F1,F2``."""
        version, _ = self.auth.rest(request, version)
        raw = [x.strip() for x in request.args.get("ids", "").split(",") if x.strip()]
        names = [x.strip() for x in request.args.get("fields", "").split(",") if x.strip()]
        if len(raw) > RETRIEVE_GET_LIMIT:
            raise SfApiError(414, "URI_TOO_LONG", "URI Too Long: send more ids with a POST body")
        return self._retrieve(sobject_def(self.data, sobject), raw, names, version)

    def collection_get_by_body(self, request: Request, version: str, sobject: str) -> Response:
        """The same with ``{"ids": [...], "fields": [...]}`` in a POST body, for up to 2,000 ids."""
        version, _ = self.auth.rest(request, version)
        body = read_json(request)
        if not isinstance(body, dict):
            raise SfApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        raw, names = body.get("ids", []), body.get("fields", [])
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in (raw, names)):
            raise SfApiError(400, "JSON_PARSER_ERROR", "ids and fields must be arrays of strings")
        if len(raw) > RETRIEVE_POST_LIMIT:
            raise SfApiError(
                400, "EXCEEDED_ID_LIMIT", f"cannot retrieve more than {RETRIEVE_POST_LIMIT} records in one call"
            )
        return self._retrieve(sobject_def(self.data, sobject), raw, names, version)

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
        for rid in raw:
            norm = ids.normalize(rid)
            row = self.data.get(obj.name, norm) if norm else None
            out.append(None if row is None else shape(obj, row, version, fields))
        return json_response(out)
