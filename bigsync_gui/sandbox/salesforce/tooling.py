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

A mixin of :class:`~.app.SalesforceApp` (``rules`` and ``admin_rules`` add the routes below).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ..web import json_response, read_json
from . import soql
from .data import SalesforceError
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

SETUP_OBJECTS = ("PermissionSet", "FieldPermissions", "PermissionSetAssignment")
NO_ACCESS = "INSUFFICIENT_ACCESS_OR_READONLY"
_FIELD_TYPES = ("Text", "Url", "Currency", "Number", "Percent", "DateTime", "Date", "Checkbox", "Lookup",
                "Email", "Phone", "TextArea", "LongTextArea")


def _tooling_schema() -> dict[str, ObjectDef]:
    """The Tooling API objects a query may name (the fields BigSync and admins select)."""
    def s(name: str) -> FieldDef:
        return FieldDef(name, "string", label=name, length=255, updateable=False, createable=False)
    objects = {
        "CustomField": [s("DeveloperName"), s("TableEnumOrId"), s("NamespacePrefix"), s("FullName")],
        "CustomObject": [s("DeveloperName"), s("NamespacePrefix")],
        "PlatformEventChannelMember": [s("DeveloperName"), s("MasterLabel"), s("EventChannel"), s("SelectedEntity"),
                                       s("FullName")],
    }
    out = {}
    for name, fields in objects.items():
        prefix = {"CustomField": CUSTOM_FIELD_PREFIX, "CustomObject": CUSTOM_OBJECT_PREFIX}.get(name, "0v8")
        obj = ObjectDef(name, name, prefix,
                        createable=False, updateable=False, deletable=False)
        for f in [FieldDef("Id", "id", label="ID", length=18, updateable=False, createable=False),
                  FieldDef("IsDeleted", "boolean", updateable=False, createable=False, nillable=False), *fields]:
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
            return [{"Id": e["Id"], "DeveloperName": n[:-3], "NamespacePrefix": None, "IsDeleted": False}
                    for n, e in meta.custom_objects.items()]
        if key == "customfield":
            return [{"Id": e["Id"], "DeveloperName": n.partition(".")[2][:-3], "NamespacePrefix": None,
                     "TableEnumOrId": e["TableEnumOrId"], "FullName": n, "IsDeleted": False}
                    for n, e in meta.custom_fields.items()]
        return []

    def get_record(self, object_name: str, record_id: str) -> dict[str, Any] | None:
        return next((r for r in self.all_records(object_name) if r["Id"] == record_id), None)


class ToolingRoutes:
    """Mixed into SalesforceApp: needs ``data``, ``world``, ``_rest`` and ``_object``."""

    data: SalesforceData
    world: Any

    def tooling_rules(self, d: str) -> list[Rule]:
        return [
            Rule(f"{d}/tooling/sobjects/CustomField", endpoint="tooling_create_field", methods=["POST"]),
            Rule(f"{d}/tooling/sobjects/CustomObject", endpoint="tooling_create_object", methods=["POST"]),
            Rule(f"{d}/tooling/query", endpoint="tooling_query", methods=["GET"]),
        ]

    def tooling_admin_rules(self) -> list[Rule]:
        return [
            Rule("/metadata", endpoint="admin_get_metadata", methods=["GET"]),
            Rule("/metadata", endpoint="admin_set_metadata", methods=["POST", "PATCH"]),
        ]

    # ---- who may do what ----------------------------------------------------------------------
    def user_permission(self, user_id: str, permission: str) -> bool:
        """True if any permission set assigned to the user (their profile included) has it."""
        sets = {a["PermissionSetId"] for a in self.data.all_records("PermissionSetAssignment")
                if a["AssigneeId"] == user_id and not a.get("IsDeleted")}
        return any(p.get(f"Permissions{permission}") for p in self.data.all_records("PermissionSet") if p["Id"] in sets)

    def _require(self, user_id: str, permission: str, what: str) -> None:
        if not self.user_permission(user_id, permission):
            raise SalesforceError(NO_ACCESS, f"insufficient access rights on object id: {what} needs the "
                                             f"{permission} user permission", status=403)

    def _field_grant(self, user_id: str, obj: ObjectDef, field_name: str) -> tuple[bool, bool]:
        """(read, edit) the user's permission sets give on ``obj.field_name``."""
        sets = {a["PermissionSetId"] for a in self.data.all_records("PermissionSetAssignment")
                if a["AssigneeId"] == user_id and not a.get("IsDeleted")}
        full = f"{obj.name}.{field_name}".lower()
        grants = [fp for fp in self.data.all_records("FieldPermissions")
                  if fp["ParentId"] in sets and str(fp["Field"]).lower() == full and not fp.get("IsDeleted")]
        return any(g["PermissionsRead"] for g in grants), any(g["PermissionsEdit"] for g in grants)

    def visible_fields(self, obj: ObjectDef, user_id: str) -> Iterable[FieldDef]:
        """The fields describe shows this user: fields created through the Tooling API only with a
        grant (read-only without PermissionsEdit); every other field as defined."""
        created = {n.partition(".")[2].lower() for n, e in self.data.org_metadata.custom_fields.items()
                   if e["TableEnumOrId"].lower() == obj.name.lower()}
        for f in obj.fields.values():
            if f.name.lower() not in created:
                yield f
                continue
            read, edit = self._field_grant(user_id, obj, f.name)
            if read:
                yield f if edit else dataclasses.replace(f, updateable=False, createable=False)

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
            raise SalesforceError("INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type "
                                                   f"{request.path.rsplit('/', 1)[-1]}", unknown)
        return full_name.strip(), meta

    def _created(self, new_id: str) -> Response:
        return json_response({"id": new_id, "success": True, "errors": [], "warnings": [], "infos": []}, status=201)

    def tooling_create_field(self, request: Request, version: str) -> Response:
        with self.world.lock:
            try:
                _, session = self._rest(request, version)  # type: ignore[attr-defined]
                self._require(session["user_id"], "CustomizeApplication", "creating a custom field")
                full_name, meta = self._metadata_body(request)
                new_id = self._create_field(full_name, meta)
            except SalesforceError as exc:
                return self._tooling_error(exc)
            self.world.changed()
        return self._created(new_id)

    def _create_field(self, full_name: str, meta: dict[str, Any]) -> str:
        obj_name, _, field_name = full_name.partition(".")
        obj = self.data.schema.get(obj_name.lower())
        if obj is None or not field_name:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", f"Cannot find the object {obj_name!r} of the field "
                                                                 f"{full_name!r}: use Object.Field__c", ["FullName"])
        if not field_name.endswith("__c") or developer_name_problem(field_name[:-3]):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"{full_name}: "
                                  + (developer_name_problem(field_name[:-3]) or "a custom field's name ends in __c"),
                                  ["FullName"])
        if obj.field(field_name) is not None:
            raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"There is already a field named {field_name[:-3]} on "
                                                              f"{obj.name}.", [])
        _check_field_metadata(self.data, meta)
        canonical = f"{obj.name}.{field_name}"
        entry = {"Id": self.data.org_metadata.new_id(CUSTOM_FIELD_PREFIX), "TableEnumOrId": obj.name,
                 "Metadata": dict(meta)}
        metadata = self.data.org_metadata
        metadata.custom_fields[canonical] = entry
        for row in self.data.records.get(obj.name.lower(), {}).values():
            row[field_name] = None  # a new field starts empty on every record
        metadata.apply(self.data)
        return str(entry["Id"])

    def tooling_create_object(self, request: Request, version: str) -> Response:
        with self.world.lock:
            try:
                _, session = self._rest(request, version)  # type: ignore[attr-defined]
                self._require(session["user_id"], "CustomizeApplication", "creating a custom object")
                full_name, meta = self._metadata_body(request)
                new_id = self._create_object(full_name, meta)
            except SalesforceError as exc:
                return self._tooling_error(exc)
            self.world.changed()
        return self._created(new_id)

    def _create_object(self, name: str, meta: dict[str, Any]) -> str:
        if not name.endswith("__c") or developer_name_problem(name[:-3]):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"{name}: "
                                  + (developer_name_problem(name[:-3]) or "a custom object's name ends in __c"),
                                  ["FullName"])
        if name.lower() in self.data.schema:
            raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"There is already an object named {name[:-3]}.", [])
        required = ("label", "pluralLabel", "nameField", "deploymentStatus", "sharingModel")
        missing = [k for k in required if not meta.get(k)]
        if missing:
            raise SalesforceError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                                  missing)
        name_field = meta["nameField"]
        if (not isinstance(name_field, dict) or name_field.get("type") not in ("Text", "AutoNumber")
                or not name_field.get("label")):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION",
                                  "nameField needs a label and the type Text or AutoNumber", ["nameField"])
        if meta["sharingModel"] not in ("Private", "Read", "ReadWrite", "ControlledByParent"):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"Bad value for sharingModel: {meta['sharingModel']}",
                                  ["sharingModel"])
        metadata = self.data.org_metadata
        entry = {"Id": metadata.new_id(CUSTOM_OBJECT_PREFIX), "Metadata": dict(meta)}
        metadata.custom_objects[name] = entry
        self.data.records[name.lower()] = {}  # a new object has no records
        self.data.deleted_log[name.lower()] = {}
        metadata.apply(self.data)
        return str(entry["Id"])

    def tooling_query(self, request: Request, version: str) -> Response:
        with self.world.lock:
            try:
                version, _ = self._rest(request, version)  # type: ignore[attr-defined]
                q = request.args.get("q", "")
                if not q.strip():
                    raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified")
                try:
                    records, total = soql.run(q, _tooling_schema(), _ToolingRows(self.data), include_deleted=False,
                                              api_version=version, today=self.data.now().date())
                except soql.SoqlError as exc:
                    raise SalesforceError(exc.error_code, exc.message) from None
            except SalesforceError as exc:
                return self._tooling_error(exc)
        for rec in records:
            attrs = rec.get("attributes")
            if isinstance(attrs, dict) and "url" in attrs:
                attrs["url"] = attrs["url"].replace("/sobjects/", "/tooling/sobjects/", 1)
        entity = records[0]["attributes"]["type"] if records else None
        return json_response({"size": total, "totalSize": total, "done": True, "queryLocator": None,
                              "entityTypeName": entity, "records": records})

    def _tooling_error(self, exc: SalesforceError) -> Response:
        return json_response([{"message": exc.message, "errorCode": exc.error_code, "fields": exc.fields}],
                             status=exc.status)

    # ---- setup sObjects (REST) ----------------------------------------------------------------
    def check_setup_create(self, obj: ObjectDef, body: dict[str, Any], user_id: str) -> None:
        """Salesforce's checks before a PermissionSet / FieldPermissions / PermissionSetAssignment
        is created through the REST API (the generic insert does the rest)."""
        if obj.name not in SETUP_OBJECTS:
            return
        values = {k.lower(): v for k, v in body.items()}
        if obj.name == "PermissionSet":
            self._require(user_id, "ManageProfilesPermissionsets", "creating a permission set")
            name = str(values.get("name") or "")
            problem = developer_name_problem(name, 80)
            if problem:
                raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"Name: {problem}", ["Name"])
            if any(str(p["Name"]).lower() == name.lower() for p in self.data.all_records("PermissionSet")):
                raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"The API name {name} is already in use.", ["Name"])
        elif obj.name == "FieldPermissions":
            self._require(user_id, "ManageProfilesPermissionsets", "changing field permissions")
            self._check_field_permission(values)
        else:
            self._require(user_id, "AssignPermissionSets", "assigning a permission set")
            if any(a["AssigneeId"][:15] == str(values.get("assigneeid"))[:15]
                   and a["PermissionSetId"][:15] == str(values.get("permissionsetid"))[:15]
                   for a in self.data.all_records("PermissionSetAssignment") if not a.get("IsDeleted")):
                raise SalesforceError("DUPLICATE_VALUE", "duplicate value found: AssigneeId, PermissionSetId "
                                                         "duplicates value on record", ["AssigneeId"])

    def _check_field_permission(self, values: dict[str, Any]) -> None:
        parent, field = str(values.get("parentid") or ""), str(values.get("field") or "")
        obj_name, _, field_name = field.partition(".")
        obj = self.data.schema.get(obj_name.lower())
        fdef = obj.field(field_name) if obj is not None else None
        if fdef is None or str(values.get("sobjecttype") or "").lower() != obj_name.lower():
            raise SalesforceError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f"Field Name: bad value for restricted "
                                                                             f"picklist field: {field}", ["Field"])
        if not fdef.custom or not fdef.nillable:  # describe's "permissionable"
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"Field {field} is not permissionable: its field "
                                                               "permissions cannot be set", ["Field"])
        if values.get("permissionsedit") and not values.get("permissionsread"):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", "Permission Edit depends on permission(s): Read",
                                  ["PermissionsEdit"])
        if any(fp["ParentId"][:15] == parent[:15] and str(fp["Field"]).lower() == field.lower()
               for fp in self.data.all_records("FieldPermissions") if not fp.get("IsDeleted")):
            raise SalesforceError("DUPLICATE_VALUE", "duplicate value found: Field duplicates value on record",
                                  ["Field"])

    # ---- admin API ----------------------------------------------------------------------------
    def _metadata_json(self) -> dict[str, Any]:
        meta = self.data.org_metadata
        admin = self.data.admin_user_id
        return {"removed": list(meta.removed), "custom_fields": sorted(meta.custom_fields),
                "custom_objects": sorted(meta.custom_objects),
                "customize_application": bool(admin and self.user_permission(admin, "CustomizeApplication"))}

    def admin_get_metadata(self, request: Request) -> Response:
        with self.world.lock:
            return json_response(self._metadata_json())

    def admin_set_metadata(self, request: Request) -> Response:
        body = read_json(request) or {}
        with self.world.lock:
            try:
                self._apply_admin_metadata(body)
            except SalesforceError as exc:
                return json_response({"error": exc.error_code, "message": exc.message, "fields": exc.fields},
                                     status=exc.status)
            self.world.changed()
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
            raise SalesforceError("INVALID_FIELD", "customize_application must be true or false",
                                  ["customize_application"])
        if fields == "absent":
            self.data.org_metadata.remove_bigsync_metadata(self.data)
        elif fields == "present":
            self.data.org_metadata.restore_shipped(self.data)
        if customize is not None:
            self._set_admin_customize(customize)

    def _set_admin_customize(self, allowed: bool) -> None:
        """The demo admin's profile with or without Customize Application."""
        admin = self.data.admin_user_id
        sets = {a["PermissionSetId"] for a in self.data.all_records("PermissionSetAssignment")
                if a["AssigneeId"] == admin}
        for row in self.data.all_records("PermissionSet"):
            if row["Id"] in sets and row.get("IsOwnedByProfile"):
                row["PermissionsCustomizeApplication"] = allowed


def _check_field_metadata(data: SalesforceData, meta: dict[str, Any]) -> None:
    """What Setup's New Custom Field refuses: an unknown type, a missing label, lengths and digits
    out of range, a lookup without a target or a relationship name."""
    kind = meta.get("type")
    if kind not in _FIELD_TYPES:
        raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"Bad value for field type: {kind!r}", ["type"])
    label = meta.get("label")
    if not isinstance(label, str) or not label.strip() or len(label) > 40:
        raise SalesforceError("REQUIRED_FIELD_MISSING" if not label else "FIELD_INTEGRITY_EXCEPTION",
                              "Field Label: a label of 1 to 40 characters is required", ["label"])
    if kind == "Text":
        length = meta.get("length")
        if not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= 255:
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", "Length: a Text field's length must be 1 to 255",
                                  ["length"])
    if kind in ("Currency", "Number", "Percent"):
        precision, scale = meta.get("precision"), meta.get("scale")
        if (not isinstance(precision, int) or not isinstance(scale, int) or not 1 <= precision <= 18
                or not 0 <= scale <= precision):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", "Length and Decimal Places: precision 1 to 18 and a "
                                                               "scale no larger", ["precision", "scale"])
    if kind == "Lookup":
        target = data.schema.get(str(meta.get("referenceTo") or "").lower())
        if target is None:
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"referenceTo: no object {meta.get('referenceTo')!r}",
                                  ["referenceTo"])
        rel = meta.get("relationshipName")
        if not isinstance(rel, str) or developer_name_problem(rel):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", "relationshipName: a valid Child Relationship Name is "
                                                               "required", ["relationshipName"])
        if target.child_relationship(rel + "__r") is not None:
            raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"There is already a Child Relationship named {rel} on "
                                                              f"{target.name}.", ["relationshipName"])
    field_from_metadata("Check__c", meta)  # the definition can be built


__all__ = ["SETUP_OBJECTS", "ToolingRoutes"]
