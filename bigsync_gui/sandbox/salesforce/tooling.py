"""The Salesforce emulator's Tooling API and setup objects: what BigSync needs to create the fields
it writes to and to find out whether Change Data Capture is on (docs/sandbox.md, "Tooling API").

- ``POST …/tooling/sobjects/CustomField`` and ``…/CustomObject`` with ``{"FullName", "Metadata"}``
  answer ``201 {"id", "success": true, "errors": []}``; a taken name is ``DUPLICATE_DEVELOPER_NAME``,
  a user without *Customize Application* gets ``INSUFFICIENT_ACCESS_OR_READONLY`` (403).
- ``GET …/tooling/query?q=`` answers CustomField, CustomObject and PlatformEventChannelMember.
- ``PermissionSet``, ``FieldPermissions`` and ``PermissionSetAssignment`` are ordinary REST sObjects
  (the object reference); creating them is checked here (names, duplicates, the right to manage
  permission sets) before the generic insert.
- Field-level security: a field created through the Tooling API is visible to no one until a
  FieldPermissions row on a permission set assigned to the user grants it; describe shows only
  what the caller may read (and ``updateable`` only what they may edit).

Who may do what is :mod:`.permissions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response, read_json
from . import soql
from .errors import SalesforceError
from .org_metadata import (
    CUSTOM_FIELD_PREFIX,
    CUSTOM_OBJECT_PREFIX,
    channel_members,
    developer_name_problem,
    field_from_metadata,
)
from .schema import FieldDef, ObjectDef

if TYPE_CHECKING:
    from .data import SalesforceData
    from .permissions import Permissions
    from .rest import RestAuth

_FIELD_TYPES = (
    "Text",
    "Url",
    "Currency",
    "Number",
    "Percent",
    "DateTime",
    "Date",
    "Checkbox",
    "Lookup",
    "Email",
    "Phone",
    "TextArea",
    "LongTextArea",
)


def _tooling_schema() -> dict[str, ObjectDef]:
    """The Tooling API objects a query may name (the fields BigSync and admins select)."""

    def s(name: str) -> FieldDef:
        return FieldDef(name, "string", label=name, length=255, updateable=False, createable=False)

    objects = {
        "CustomField": [s("DeveloperName"), s("TableEnumOrId"), s("NamespacePrefix"), s("FullName")],
        "CustomObject": [s("DeveloperName"), s("NamespacePrefix")],
        "PlatformEventChannelMember": [
            s("DeveloperName"),
            s("MasterLabel"),
            s("EventChannel"),
            s("SelectedEntity"),
            s("FullName"),
        ],
    }
    out = {}
    for name, fields in objects.items():
        prefix = {"CustomField": CUSTOM_FIELD_PREFIX, "CustomObject": CUSTOM_OBJECT_PREFIX}.get(name, "0v8")
        obj = ObjectDef(name, name, prefix, createable=False, updateable=False, deletable=False)
        for f in [
            FieldDef("Id", "id", label="ID", length=18, updateable=False, createable=False),
            FieldDef("IsDeleted", "boolean", updateable=False, createable=False, nillable=False),
            *fields,
        ]:
            obj.fields[f.name.lower()] = f
        out[name.lower()] = obj
    return out


class _ToolingRows:
    """The RecordSource the tooling query reads: rows built from the org's setup state."""

    def __init__(self, data: SalesforceData) -> None:
        self.data = data

    def all_records(self, object_name: str) -> list[dict[str, Any]]:
        meta = self.data.org_metadata
        key = object_name.lower()
        if key == "platformeventchannelmember":
            return channel_members(list(self.data.settings.get("cdc_entities", [])))
        if key == "customobject":
            return [
                {"Id": e["Id"], "DeveloperName": n[:-3], "NamespacePrefix": None, "IsDeleted": False}
                for n, e in meta.custom_objects.items()
            ]
        if key == "customfield":
            return [
                {
                    "Id": e["Id"],
                    "DeveloperName": n.partition(".")[2][:-3],
                    "NamespacePrefix": None,
                    "TableEnumOrId": e["TableEnumOrId"],
                    "FullName": n,
                    "IsDeleted": False,
                }
                for n, e in meta.custom_fields.items()
            ]
        return []

    def get_record(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.all_records(object_name) if r["Id"] == record_id), None)


class ToolingRoutes:
    """``…/tooling/sobjects/CustomField`` and ``CustomObject``, ``…/tooling/query``, and the admin
    API's ``/metadata``."""

    def __init__(self, data: SalesforceData, auth: RestAuth, permissions: Permissions) -> None:
        self.data = data
        self.auth = auth
        self.permissions = permissions

    def rules(self, d: str) -> list[Rule]:
        return [
            Rule(f"{d}/tooling/sobjects/CustomField", endpoint=self.tooling_create_field, methods=["POST"]),
            Rule(f"{d}/tooling/sobjects/CustomObject", endpoint=self.tooling_create_object, methods=["POST"]),
            Rule(f"{d}/tooling/query", endpoint=self.tooling_query, methods=["GET"]),
        ]

    def admin_rules(self) -> list[Rule]:
        return [
            Rule("/metadata", endpoint=self.admin_get_metadata, methods=["GET"]),
            Rule("/metadata", endpoint=self.admin_set_metadata, methods=["POST", "PATCH"]),
        ]

    # ---- Tooling API --------------------------------------------------------------------------
    def _metadata_body(self, request: Request) -> tuple[str, dict[str, Any]]:
        body = read_json(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        full_name, meta = body.get("FullName"), body.get("Metadata")
        if not isinstance(full_name, str) or not full_name.strip():
            raise SalesforceError("REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName]", ["FullName"])
        if not isinstance(meta, dict):
            raise SalesforceError("REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", ["Metadata"])
        unknown = sorted(set(body) - {"FullName", "Metadata"})
        if unknown:
            raise SalesforceError(
                "INVALID_FIELD",
                f"No such column '{unknown[0]}' on sobject of type {request.path.rsplit('/', 1)[-1]}",
                unknown,
            )
        return full_name.strip(), meta

    def _created(self, new_id: str) -> Response:
        return json_response({"id": new_id, "success": True, "errors": [], "warnings": [], "infos": []}, status=201)

    def tooling_create_field(self, request: Request, version: str) -> Response:
        _, session = self.auth.rest(request, version)
        self.permissions.require(session["user_id"], "CustomizeApplication", "creating a custom field")
        full_name, meta = self._metadata_body(request)
        return self._created(self._create_field(full_name, meta))

    def _create_field(self, full_name: str, meta: dict[str, Any]) -> str:
        obj_name, _, field_name = full_name.partition(".")
        obj = self.data.schema.get(obj_name.lower())
        if obj is None or not field_name:
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"Cannot find the object {obj_name!r} of the field {full_name!r}: use Object.Field__c",
                ["FullName"],
            )
        if not field_name.endswith("__c") or developer_name_problem(field_name[:-3]):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{full_name}: " + (developer_name_problem(field_name[:-3]) or "a custom field's name ends in __c"),
                ["FullName"],
            )
        if obj.field(field_name) is not None:
            raise SalesforceError(
                "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {field_name[:-3]} on {obj.name}.", []
            )
        _check_field_metadata(self.data, meta)
        canonical = f"{obj.name}.{field_name}"
        entry = {
            "Id": self.data.org_metadata.new_id(CUSTOM_FIELD_PREFIX),
            "TableEnumOrId": obj.name,
            "Metadata": dict(meta),
        }
        metadata = self.data.org_metadata
        metadata.custom_fields[canonical] = entry
        for row in self.data.records.get(obj.name.lower(), {}).values():
            row[field_name] = None  # a new field starts empty on every record
        metadata.apply(self.data)
        return str(entry["Id"])

    def tooling_create_object(self, request: Request, version: str) -> Response:
        _, session = self.auth.rest(request, version)
        self.permissions.require(session["user_id"], "CustomizeApplication", "creating a custom object")
        full_name, meta = self._metadata_body(request)
        return self._created(self._create_object(full_name, meta))

    def _create_object(self, name: str, meta: dict[str, Any]) -> str:
        if not name.endswith("__c") or developer_name_problem(name[:-3]):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{name}: " + (developer_name_problem(name[:-3]) or "a custom object's name ends in __c"),
                ["FullName"],
            )
        if name.lower() in self.data.schema:
            raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"There is already an object named {name[:-3]}.", [])
        required = ("label", "pluralLabel", "nameField", "deploymentStatus", "sharingModel")
        missing = [k for k in required if not meta.get(k)]
        if missing:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )
        name_field = meta["nameField"]
        if (
            not isinstance(name_field, dict)
            or name_field.get("type") not in ("Text", "AutoNumber")
            or not name_field.get("label")
        ):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION", "nameField needs a label and the type Text or AutoNumber", ["nameField"]
            )
        if meta["sharingModel"] not in ("Private", "Read", "ReadWrite", "ControlledByParent"):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION", f"Bad value for sharingModel: {meta['sharingModel']}", ["sharingModel"]
            )
        metadata = self.data.org_metadata
        entry = {"Id": metadata.new_id(CUSTOM_OBJECT_PREFIX), "Metadata": dict(meta)}
        metadata.custom_objects[name] = entry
        self.data.records[name.lower()] = {}  # a new object has no records
        self.data.deleted_log[name.lower()] = {}
        metadata.apply(self.data)
        return str(entry["Id"])

    def tooling_query(self, request: Request, version: str) -> Response:
        version, _ = self.auth.rest(request, version)
        q = request.args.get("q", "")
        if not q.strip():
            raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified")
        try:
            records, total = soql.run(
                q,
                _tooling_schema(),
                _ToolingRows(self.data),
                include_deleted=False,
                api_version=version,
                today=self.data.now().date(),
            )
        except soql.SoqlError as exc:
            raise SalesforceError(exc.error_code, exc.message) from None
        for rec in records:
            attrs = rec.get("attributes")
            if isinstance(attrs, dict) and "url" in attrs:
                attrs["url"] = attrs["url"].replace("/sobjects/", "/tooling/sobjects/", 1)
        entity = records[0]["attributes"]["type"] if records else None
        return json_response(
            {
                "size": total,
                "totalSize": total,
                "done": True,
                "queryLocator": None,
                "entityTypeName": entity,
                "records": records,
            }
        )

    # ---- admin API ----------------------------------------------------------------------------
    def _metadata_json(self) -> dict[str, Any]:
        meta = self.data.org_metadata
        admin = self.data.admin_user_id
        return {
            "removed": list(meta.removed),
            "custom_fields": sorted(meta.custom_fields),
            "custom_objects": sorted(meta.custom_objects),
            "customize_application": bool(admin and self.permissions.user_permission(admin, "CustomizeApplication")),
        }

    def admin_get_metadata(self, request: Request) -> Response:
        return json_response(self._metadata_json())

    def admin_set_metadata(self, request: Request) -> Response:
        self._apply_admin_metadata(read_json(request) or {})
        return json_response(self._metadata_json())

    def _apply_admin_metadata(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "The request body must be a JSON object")
        unknown = sorted(set(body) - {"bigsync_fields", "customize_application"})
        if unknown:
            raise SalesforceError("INVALID_FIELD", f"Unknown settings: {', '.join(unknown)}", unknown)
        fields, customize = body.get("bigsync_fields"), body.get("customize_application")
        if fields not in (None, "present", "absent"):
            raise SalesforceError("INVALID_FIELD", "bigsync_fields must be 'present' or 'absent'", ["bigsync_fields"])
        if customize is not None and not isinstance(customize, bool):
            raise SalesforceError(
                "INVALID_FIELD", "customize_application must be true or false", ["customize_application"]
            )
        if fields == "absent":
            self.data.org_metadata.remove_bigsync_metadata(self.data)
        elif fields == "present":
            self.data.org_metadata.restore_shipped(self.data)
        if customize is not None:
            self.permissions.set_admin_customize(customize)


def _check_field_metadata(data: SalesforceData, meta: dict[str, Any]) -> None:
    """What Setup's New Custom Field refuses: an unknown type, a missing label, lengths and digits
    out of range, a lookup without a target or a relationship name."""
    kind = meta.get("type")
    if kind not in _FIELD_TYPES:
        raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"Bad value for field type: {kind!r}", ["type"])
    label = meta.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 40:
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING" if not label else "FIELD_INTEGRITY_EXCEPTION",
            "Field Label: a label of 1 to 40 characters is required",
            ["label"],
        )
    if kind == "Text":
        length = meta.get("length")
        if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 255:
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION", "Length: a Text field's length must be 1 to 255", ["length"]
            )
    if kind in ("Currency", "Number", "Percent"):
        precision, scale = meta.get("precision"), meta.get("scale")
        if (
            not isinstance(precision, int)
            or not isinstance(scale, int)
            or not 1 <= precision <= 18
            or not 0 <= scale <= precision
        ):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                "Length and Decimal Places: precision 1 to 18 and a scale no larger",
                ["precision", "scale"],
            )
    if kind == "Lookup":
        target = data.schema.get(str(meta.get("referenceTo") or "").lower())
        if target is None:
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION", f"referenceTo: no object {meta.get('referenceTo')!r}", ["referenceTo"]
            )
        rel = meta.get("relationshipName")
        if not isinstance(rel, str) or developer_name_problem(rel):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                "relationshipName: a valid Child Relationship Name is required",
                ["relationshipName"],
            )
        if target.child_relationship(rel + "__r") is not None:
            raise SalesforceError(
                "DUPLICATE_DEVELOPER_NAME",
                f"There is already a Child Relationship named {rel} on {target.name}.",
                ["relationshipName"],
            )
    field_from_metadata("Check__c", meta)  # the definition can be built
