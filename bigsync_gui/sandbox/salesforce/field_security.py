"""Field-level security on the fields created through the Tooling API, as a real org applies it:
such a field is visible to no one until a FieldPermissions row on a permission set assigned to the
user grants it. Describe (permissions.py), SOQL (query_routes.py) and API writes (data.py) all
read it from here. Fields shipped with the schema are visible to everyone.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

from .errors import SalesforceError
from .org_metadata import OrgMetadata
from .schema import ObjectDef


class Org(Protocol):
    """What field-level security reads of the org's data (``SalesforceData``)."""

    schema: dict[str, ObjectDef]
    org_metadata: OrgMetadata

    def all_records(self, object_name: str) -> list[dict[str, Any]]: ...


def field_grants(data: Org, user_id: str | None, obj: ObjectDef) -> dict[str, tuple[bool, bool]]:
    """For each field of ``obj`` created through the Tooling API (lower-cased name): (read, edit)
    as the user's permission sets grant them. Every other field is not listed: visible to all."""
    created = [
        n.partition(".")[2].lower()
        for n, e in data.org_metadata.custom_fields.items()
        if e["TableEnumOrId"].lower() == obj.name.lower()
    ]
    if not created:
        return {}
    sets = {
        a["PermissionSetId"]
        for a in data.all_records("PermissionSetAssignment")
        if a["AssigneeId"] == user_id and not a.get("IsDeleted")
    }
    out = {name: (False, False) for name in created}
    for fp in data.all_records("FieldPermissions"):
        obj_name, _, field = str(fp["Field"]).lower().partition(".")
        if fp["ParentId"] in sets and obj_name == obj.name.lower() and field in out and not fp.get("IsDeleted"):
            read, edit = out[field]
            out[field] = (read or bool(fp["PermissionsRead"]), edit or bool(fp["PermissionsEdit"]))
    return out


def check_field_security(data: Org, obj: ObjectDef, names: list[str], user_id: str | None) -> None:
    """A write naming a created field the user may not see is refused as if it did not exist; one
    they may only read, as not writable (the REST API's answers)."""
    grants = field_grants(data, user_id, obj)
    if not grants:
        return
    hidden = [n for n in names if grants.get(n.lower(), (True, True))[0] is False]
    if hidden:
        raise SalesforceError("INVALID_FIELD", f"No such column '{hidden[0]}' on sobject of type {obj.name}", hidden)
    locked = [n for n in names if grants.get(n.lower(), (True, True))[1] is False]
    if locked:
        raise SalesforceError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(locked)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
            locked,
        )


def schema_for(data: Org, user_id: str | None) -> dict[str, ObjectDef]:
    """The schema as this user sees it (for SOQL): created fields without a read grant left out."""
    if not data.org_metadata.custom_fields:
        return data.schema
    view = dict(data.schema)
    for key, obj in data.schema.items():
        hidden = {n for n, (read, _edit) in field_grants(data, user_id, obj).items() if not read}
        if hidden:
            view[key] = dataclasses.replace(obj, fields={k: f for k, f in obj.fields.items() if k not in hidden})
    return view


__all__ = ["check_field_security", "field_grants", "schema_for"]
