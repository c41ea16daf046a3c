"""What a write must be before the org stores it: the fields it may name (createable, updateable,
the audit fields a system write may set) and each value in its field's stored form (lengths,
numbers in range, dates, ids of live records, the restricted StageName picklist), or the
:class:`~.errors.SalesforceError` the real org gives."""

from __future__ import annotations

import math
import re
from typing import Any, Protocol

from . import ids
from .errors import SalesforceError
from .formats import format_datetime, parse_date, parse_datetime
from .schema import FieldDef, ObjectDef

AUDIT_FIELDS = ("createddate", "createdbyid", "lastmodifieddate", "lastmodifiedbyid")
STRING_TYPES = ("string", "textarea", "picklist", "email", "phone", "url", "combobox", "multipicklist")
NUMBER_TYPES = ("currency", "double", "percent", "int")
# Picklists the org restricts to their defined values (StageName: to the active OpportunityStages).
RESTRICTED_PICKLISTS = {("opportunity", "stagename")}


class Org(Protocol):
    """What validation reads of the org's data (``SalesforceData``)."""

    records: dict[str, dict[str, dict[str, Any]]]

    def active_stage(self, api_name: str) -> dict[str, Any] | None: ...

    def object_for_id(self, record_id: str) -> ObjectDef | None: ...


def coerce(org: Org, obj: ObjectDef, fdef: FieldDef, value: Any) -> Any:
    """The stored form of ``value`` for ``fdef``, or the error the org gives for it."""
    label = fdef.label or fdef.name
    if value is None or (value == "" and fdef.type not in STRING_TYPES):
        return None
    if value == "" and fdef.type in STRING_TYPES:
        return None  # Salesforce stores an empty string as null
    t = fdef.type
    if t in STRING_TYPES:
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
            )
        text = value if isinstance(value, str) else str(value)
        if fdef.length and len(text) > fdef.length:
            raise SalesforceError(
                "STRING_TOO_LONG", f"{label}: data value too large: {text} (max length={fdef.length})", [fdef.name]
            )
        if (obj.name.lower(), fdef.name.lower()) in RESTRICTED_PICKLISTS and fdef.name == "StageName":
            if org.active_stage(text) is None:
                raise SalesforceError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{label}: bad value for restricted picklist field: {text}",
                    [fdef.name],
                )
        if t == "email" and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", text):
            raise SalesforceError("INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {text}", [fdef.name])
        return text
    if t == "boolean":
        if not isinstance(value, bool):
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
            )
        return value
    if t in NUMBER_TYPES:
        number: float
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
            )
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise SalesforceError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
                ) from None
        else:
            number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
            )
        if t == "int":
            if number != int(number):
                raise SalesforceError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
                )
            return int(number)
        if fdef.precision and abs(number) >= 10 ** (fdef.precision - fdef.scale):
            raise SalesforceError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{label}: value outside of valid range on numeric field: {value}",
                [fdef.name],
            )
        return round(number, fdef.scale) if fdef.scale else float(round(number))
    if t == "date":
        text = parse_date(value)
        if text is None:
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
            )
        return text
    if t == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise SalesforceError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{label}: value not of required type: {value}", [fdef.name]
            )
        return format_datetime(parsed)
    if t in ("reference", "id"):
        rid = ids.normalize(value) if isinstance(value, str) else None
        if rid is None:
            raise SalesforceError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", [fdef.name])
        target = org.object_for_id(rid)
        row = org.records[target.name.lower()].get(rid) if target else None
        if (
            row is None
            or row.get("IsDeleted")
            or target is None
            or (fdef.reference_to and target.name != fdef.reference_to)
        ):
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [fdef.name])
        return rid
    return value


def clean_fields(org: Org, obj: ObjectDef, fields: dict[str, Any], *, creating: bool, system: bool) -> dict[str, Any]:
    if not isinstance(fields, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "The record must be a JSON object")
    clean: dict[str, Any] = {}
    not_writable: list[str] = []
    for name, value in fields.items():
        if name == "attributes":
            continue
        fdef = obj.field(name)
        if fdef is None:
            raise SalesforceError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name])
        allowed = fdef.createable if creating else fdef.updateable
        if not allowed and system and creating and fdef.name.lower() in AUDIT_FIELDS:
            allowed = True  # "Set Audit Fields upon Record Creation"
        if fdef.name == "Id" and not creating:
            continue  # the id in an update body is the record's own (composite sends it)
        if not allowed:
            not_writable.append(fdef.name)
            continue
        clean[fdef.name] = coerce(org, obj, fdef, value)
    if not_writable:
        raise SalesforceError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(not_writable)}. "
            "Please check the security settings of this field "
            "and verify that it is read/write for your profile or permission set.",
            not_writable,
        )
    for fname, value in clean.items():
        fdef = obj.field(fname)
        if value is None and fdef is not None and not fdef.nillable and fdef.type != "boolean":
            raise SalesforceError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{fname}]", [fname])
    return clean
