"""Who may do what in the emulated org: user permissions from the permission sets assigned to a user
(their profile is one), field-level security on fields created through the Tooling API, and
Salesforce's checks before a setup object (PermissionSet, FieldPermissions,
PermissionSetAssignment) is created through REST."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .errors import SalesforceError
from .field_security import field_grants
from .org_metadata import developer_name_problem
from .schema import FieldDef, ObjectDef

if TYPE_CHECKING:
    from .data import SalesforceData

SETUP_OBJECTS = ("PermissionSet", "FieldPermissions", "PermissionSetAssignment")
NO_ACCESS = "INSUFFICIENT_ACCESS_OR_READONLY"


class Permissions:
    """The org's rights, read from its permission-set records."""

    def __init__(self, data: SalesforceData) -> None:
        self.data = data

    def user_permission(self, user_id: str, permission: str) -> bool:
        """True if any permission set assigned to the user (their profile included) has it."""
        sets = {
            a["PermissionSetId"]
            for a in self.data.all_records("PermissionSetAssignment")
            if a["AssigneeId"] == user_id and not a.get("IsDeleted")
        }
        return any(p.get(f"Permissions{permission}") for p in self.data.all_records("PermissionSet") if p["Id"] in sets)

    def view_all(self, user_id: str, sobject: str) -> bool:
        """View All Data, or the object's View All Records: what Change Data Capture asks of a subscriber
        (the CDC guide, *Required Permissions for Change Event Subscribers*)."""
        if self.user_permission(user_id, "ViewAllData") or self.user_permission(user_id, "ModifyAllData"):
            return True
        sets = {
            a["PermissionSetId"]
            for a in self.data.all_records("PermissionSetAssignment")
            if a["AssigneeId"] == user_id and not a.get("IsDeleted")
        }
        return any(
            o.get("PermissionsViewAllRecords")
            and o["ParentId"] in sets
            and str(o.get("SobjectType")).lower() == sobject.lower()
            for o in self.data.all_records("ObjectPermissions")
            if not o.get("IsDeleted")
        )

    def require(self, user_id: str, permission: str, what: str) -> None:
        if not self.user_permission(user_id, permission):
            raise SalesforceError(
                NO_ACCESS,
                f"insufficient access rights on object id: {what} needs the {permission} user permission",
                status=403,
            )

    def set_admin_customize(self, allowed: bool) -> None:
        """The demo admin's profile with or without Customize Application (the sandbox's switch)."""
        admin = self.data.admin_user_id
        sets = {
            a["PermissionSetId"] for a in self.data.all_records("PermissionSetAssignment") if a["AssigneeId"] == admin
        }
        for row in self.data.all_records("PermissionSet"):
            if row["Id"] in sets and row.get("IsOwnedByProfile"):
                row["PermissionsCustomizeApplication"] = allowed

    def visible_fields(self, obj: ObjectDef, user_id: str) -> Iterable[FieldDef]:
        """The fields describe shows this user: fields created through the Tooling API only with a
        grant (read-only without PermissionsEdit); every other field as defined."""
        grants = field_grants(self.data, user_id, obj)
        for f in obj.fields.values():
            read, edit = grants.get(f.name.lower(), (True, True))
            if read:
                yield f if edit else dataclasses.replace(f, updateable=False, createable=False)

    def check_setup_create(self, obj: ObjectDef, body: dict[str, Any], user_id: str) -> None:
        """Salesforce's checks before a PermissionSet / FieldPermissions / PermissionSetAssignment
        is created through the REST API (the generic insert does the rest)."""
        if obj.name not in SETUP_OBJECTS:
            return
        values = {k.lower(): v for k, v in body.items()}
        if obj.name == "PermissionSet":
            self.require(user_id, "ManageProfilesPermissionsets", "creating a permission set")
            name = str(values.get("name") or "")
            problem = developer_name_problem(name, 80)
            if problem:
                raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", f"Name: {problem}", ["Name"])
            if any(str(p["Name"]).lower() == name.lower() for p in self.data.all_records("PermissionSet")):
                raise SalesforceError("DUPLICATE_DEVELOPER_NAME", f"The API name {name} is already in use.", ["Name"])
        elif obj.name == "FieldPermissions":
            self.require(user_id, "ManageProfilesPermissionsets", "changing field permissions")
            self._check_field_permission(values)
        else:
            self.require(user_id, "AssignPermissionSets", "assigning a permission set")
            if any(
                a["AssigneeId"][:15] == str(values.get("assigneeid"))[:15]
                and a["PermissionSetId"][:15] == str(values.get("permissionsetid"))[:15]
                for a in self.data.all_records("PermissionSetAssignment")
                if not a.get("IsDeleted")
            ):
                raise SalesforceError(
                    "DUPLICATE_VALUE",
                    "duplicate value found: AssigneeId, PermissionSetId duplicates value on record",
                    ["AssigneeId"],
                )

    def _check_field_permission(self, values: dict[str, Any]) -> None:
        parent, field = str(values.get("parentid") or ""), str(values.get("field") or "")
        obj_name, _, field_name = field.partition(".")
        obj = self.data.schema.get(obj_name.lower())
        fdef = obj.field(field_name) if obj is not None else None
        if fdef is None or str(values.get("sobjecttype") or "").lower() != obj_name.lower():
            raise SalesforceError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Field Name: bad value for restricted picklist field: {field}",
                ["Field"],
            )
        if not fdef.custom or not fdef.nillable:  # describe's "permissionable"
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Field {field} is not permissionable: its field permissions cannot be set",
                ["Field"],
            )
        if values.get("permissionsedit") and not values.get("permissionsread"):
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION", "Permission Edit depends on permission(s): Read", ["PermissionsEdit"]
            )
        if any(
            fp["ParentId"][:15] == parent[:15] and str(fp["Field"]).lower() == field.lower()
            for fp in self.data.all_records("FieldPermissions")
            if not fp.get("IsDeleted")
        ):
            raise SalesforceError(
                "DUPLICATE_VALUE", "duplicate value found: Field duplicates value on record", ["Field"]
            )
