"""The emulated org's own setup, as the Tooling API changes it: custom fields and objects created
through it, and the BigSync fields an admin has not created yet (a fresh org). Which entities
Change Data Capture is selected for is the streaming emulation's setting (``cdc_entities``); this
module only shows it as the Tooling API's channel members.

The schema (``schema.py``) is the org as shipped with BigSync's fields in place; this state is
applied on top of it and saved with the data, so a field created through the Tooling API survives
a restart of ``bigsync-gui sandbox --state FILE`` and a reset brings the seed back.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from . import ids
from .schema import ChildRelationship, FieldDef, ObjectDef, build_schema

# Change Data Capture's standard channel and the member a selected entity becomes (the Tooling
# API's PlatformEventChannelMember: EventChannel = 'ChangeEvents', SelectedEntity = '<Entity>ChangeEvent').
CDC_CHANNEL = "ChangeEvents"
# What a fresh org lacks until the admin (or BigSync) creates it: every BigTime_ custom field and
# the invoice rows object.
BIGSYNC_FIELD_PREFIX = "BigTime_"
INVOICE_OBJECT = "BigTime_Invoice__c"
# Key prefixes of the setup records the Tooling API answers with.
CUSTOM_FIELD_PREFIX, CUSTOM_OBJECT_PREFIX, CHANNEL_MEMBER_PREFIX = "00N", "01I", "0v8"
_DEV_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|_(?!_))*")


def developer_name_problem(name: str, limit: int = 40) -> str | None:
    """Why ``name`` (without ``__c``) is not a valid API name, as Setup words it; None if valid."""
    if not name or len(name) > limit:
        return f"The API name must be 1 to {limit} characters long."
    if not _DEV_NAME.fullmatch(name) or name.endswith("_"):
        return (
            "The API name can only contain underscores and alphanumeric characters. It must be unique, begin "
            "with a letter, not include spaces, not end with an underscore, and not contain two consecutive "
            "underscores."
        )
    return None


class OrgTables(Protocol):
    """What the org's schema decides in its data (``SalesforceData``): the objects, the key prefixes
    that name them, and a table and a recycle-bin log per object."""

    schema: dict[str, ObjectDef]
    prefix_to_object: dict[str, str]
    records: dict[str, dict[str, dict[str, Any]]]
    deleted_log: dict[str, dict[str, str]]


class OrgMetadata:
    """What the Tooling API and the admin API changed in the org's setup."""

    def __init__(self) -> None:
        self.removed: list[str] = []  # "Object.Field" or "Object": taken out of the shipped schema
        self.custom_objects: dict[str, dict[str, Any]] = {}  # API name -> {Id, DeveloperName, Metadata}
        self.custom_fields: dict[str, dict[str, Any]] = {}  # "Object.Field__c" -> {Id, TableEnumOrId, ...}
        self.counter = 0

    # ---- persistence -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "removed": self.removed,
            "custom_objects": self.custom_objects,
            "custom_fields": self.custom_fields,
            "counter": self.counter,
        }

    @classmethod
    def from_json(cls, raw: Any) -> OrgMetadata:
        self = cls()
        if isinstance(raw, dict):
            self.removed = list(raw.get("removed", []))
            self.custom_objects = dict(raw.get("custom_objects", {}))
            self.custom_fields = dict(raw.get("custom_fields", {}))
            self.counter = int(raw.get("counter", 0))
        return self

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return ids.make_id(prefix, 5000 + self.counter)

    # ---- the schema the org has now ---------------------------------------------------------------
    def apply(self, data: OrgTables) -> None:
        """Rebuild ``data.schema`` from the shipped schema and this state (records are kept)."""
        schema = build_schema()
        for entry in self.removed:
            obj_name, _, field_name = entry.partition(".")
            obj = schema.get(obj_name.lower())
            if obj is None:
                continue
            if field_name:
                obj.fields.pop(field_name.lower(), None)
            else:
                del schema[obj_name.lower()]
        for obj in schema.values():  # relationships to objects the org no longer has
            for key in [k for k, rel in obj.child_relationships.items() if rel.child_object.lower() not in schema]:
                del obj.child_relationships[key]
        for name, entry in self.custom_objects.items():
            schema[name.lower()] = object_from_metadata(name, entry)
        for full_name, entry in self.custom_fields.items():
            obj = schema.get(entry["TableEnumOrId"].lower())
            if obj is not None:
                meta = entry["Metadata"]
                add_field(
                    schema,
                    obj,
                    field_from_metadata(full_name.partition(".")[2], meta),
                    f"{meta['relationshipName']}__r" if meta.get("relationshipName") else None,
                )
        data.schema = schema
        data.prefix_to_object = {o.key_prefix: key for key, o in schema.items()}
        for key in schema:
            data.records.setdefault(key, {})
            data.deleted_log.setdefault(key, {})

    def remove_bigsync_metadata(self, data: OrgTables) -> list[str]:
        """A fresh org: every BigTime_ custom field and the invoice object gone (and forgotten if
        they were created through the Tooling API). The names removed."""
        shipped = build_schema()
        gone = [
            f"{o.name}.{f.name}"
            for o in shipped.values()
            if o.name != INVOICE_OBJECT
            for f in o.fields.values()
            if f.custom and f.name.startswith(BIGSYNC_FIELD_PREFIX)
        ]
        gone.append(INVOICE_OBJECT)
        self.removed = sorted(set(self.removed) | set(gone))
        for full_name in [
            n
            for n in self.custom_fields
            if n.partition(".")[2].startswith(BIGSYNC_FIELD_PREFIX) or n.startswith(INVOICE_OBJECT + ".")
        ]:
            del self.custom_fields[full_name]
        self.custom_objects.pop(INVOICE_OBJECT, None)
        self.apply(data)
        return gone

    def restore_shipped(self, data: OrgTables) -> None:
        """Back to the shipped schema (BigSync's fields present); created fields are kept."""
        self.removed = []
        self.apply(data)


def channel_members(entities: list[str]) -> list[dict[str, Any]]:
    """The PlatformEventChannelMember rows of the ChangeEvents channel for the selected entities."""
    rows = []
    for n, entity in enumerate(entities):
        selected = f"{entity[:-3]}__ChangeEvent" if entity.endswith("__c") else f"{entity}ChangeEvent"
        rows.append(
            {
                "Id": ids.make_id(CHANNEL_MEMBER_PREFIX, 100 + n),
                "DeveloperName": f"{CDC_CHANNEL}_{selected}",
                "MasterLabel": selected,
                "FullName": f"{CDC_CHANNEL}_{selected}",
                "EventChannel": CDC_CHANNEL,
                "SelectedEntity": selected,
                "IsDeleted": False,
            }
        )
    return rows


# ---- Tooling Metadata -> the schema's definitions ----------------------------------------------------
_TYPES = {
    "Text": "string",
    "Url": "url",
    "Currency": "currency",
    "Number": "double",
    "Percent": "percent",
    "DateTime": "datetime",
    "Date": "date",
    "Checkbox": "boolean",
    "Lookup": "reference",
    "Email": "email",
    "Phone": "phone",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
}


def field_from_metadata(name: str, meta: dict[str, Any]) -> FieldDef:
    """The describe-level definition of a custom field created with ``meta`` (already checked)."""
    kind = _TYPES[meta["type"]]
    kw: dict[str, Any] = {
        "label": meta["label"],
        "custom": True,
        "external_id": bool(meta.get("externalId")),
        "nillable": not meta.get("required") and kind != "boolean",
    }
    if kind in ("string", "textarea"):
        kw["length"] = int(meta.get("length") or 255)
    elif kind in ("url", "email", "phone"):
        kw["length"] = {"url": 255, "email": 80, "phone": 40}[kind]
    elif kind in ("currency", "double", "percent"):
        kw["precision"], kw["scale"] = int(meta["precision"]), int(meta["scale"])
    elif kind == "reference":
        kw.update(reference_to=meta["referenceTo"], relationship_name=name[:-3] + "__r", length=18)
    return FieldDef(name, kind, **kw)


def add_field(schema: dict[str, ObjectDef], obj: ObjectDef, fdef: FieldDef, child_name: str | None = None) -> None:
    obj.fields[fdef.name.lower()] = fdef
    if fdef.type == "reference" and fdef.reference_to:
        parent = schema.get(fdef.reference_to.lower())
        rel = child_name or fdef.name[:-3] + "s__r"
        if parent is not None:
            parent.child_relationships[rel.lower()] = ChildRelationship(rel, obj.name, fdef.name)


def object_from_metadata(name: str, entry: dict[str, Any]) -> ObjectDef:
    meta = entry["Metadata"]
    name_field = meta.get("nameField") or {}
    shipped = build_schema().get(name.lower())
    prefix = shipped.key_prefix if shipped is not None else entry.get("KeyPrefix", "a09")
    obj = ObjectDef(name, meta["label"], prefix, custom=True)
    for f in shipped.fields.values() if shipped is not None else []:
        if not f.custom or f.name == "Name":
            obj.fields[f.name.lower()] = f
    if shipped is None:
        from .schema import _system_fields  # the same audit fields every object has

        for f in _system_fields():
            obj.fields[f.name.lower()] = f
    obj.fields["name"] = FieldDef("Name", "string", label=name_field.get("label") or "Name", length=80, nillable=False)
    return obj


__all__ = ["CDC_CHANNEL", "OrgMetadata", "channel_members", "developer_name_problem", "field_from_metadata"]
