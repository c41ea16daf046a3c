"""Create the Salesforce fields BigSync writes to, for the admin: what is missing (from describe),
then the Tooling API's ``CustomField`` / ``CustomObject`` creates, a permission set that lets the
connected user read and edit them (``PermissionSet``, ``FieldPermissions``, assigned), and
describe once more. The hand-made way (README, "The Salesforce fields BigTime's figures go to")
stays valid: nothing here is needed for the sync to run.

Why a permission set: a field created through the API is invisible to everyone until field-level
security grants it, so without one the next describe would still call it missing. Every step can
be repeated: a field that is already there (``DUPLICATE_DEVELOPER_NAME``, perhaps only hidden
from us) is granted all the same; the permission set, its grants and the assignment are looked
up before they are created.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..connectors.errors import PermissionDenied, RequestRejected
from ..connectors.salesforce import FieldInfo, SalesforceClient
from ..connectors.salesforce.tooling import create_metadata, user_rights
from ..connectors.soql import format_soql
from .settings import ACCOUNT_FIGURES, DEFAULT_FIELD_MAP, INVOICE_OBJECT

OPPORTUNITY = "Opportunity"
PERMISSION_SET = "BigSync_Fields"
PERMISSION_SET_LABEL = "BigSync fields"
# How each figure's field is created, in Salesforce's "New Custom Field" words (the wizard's Fields
# page shows the same words; tests/unit/test_field_setup.py keeps the two in step).
CREATE_AS: dict[str, str] = {
    "project_id": "Text(40), External ID",
    "project_url": "URL",
    "budget_fees": "Currency(16, 2)",
    "budget_hours": "Number(16, 2)",
    "budget_expenses": "Currency(16, 2)",
    "budget_total": "Currency(16, 2)",
    "hours_logged": "Number(16, 2)",
    "expenses_logged": "Currency(16, 2)",
    "wip": "Currency(16, 2)",
    "invoiced_to_date": "Currency(16, 2)",
    "paid_to_date": "Currency(16, 2)",
    "last_sync": "Date/Time",
    "client_id": "Text(40), External ID",  # on Account (ACCOUNT_FIGURES)
}
# The invoice rows object (README): its Name is the invoice number; the lookup's child
# relationship on Opportunity is BigTime_Invoices__r.
INVOICE_LABELS = ("BigTime Invoice", "BigTime Invoices", "Invoice Number")
INVOICE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Opportunity__c", "Lookup(Opportunity)"),
    ("BigTime_Invoice_Id__c", "Text(40), External ID"),
    ("Invoice_Date__c", "Date"),
    ("Amount__c", "Currency(16, 2)"),
    ("Paid__c", "Currency(16, 2)"),
    ("Status__c", "Text(40)"),
)
INVOICE_RELATIONSHIP = "BigTime_Invoices"
HAND_MADE = (
    "You can still create them by hand: Salesforce Setup › Object Manager › Opportunity › Fields & "
    "Relationships › New (the README lists each one)."
)
_WORDING = re.compile(
    r"(?P<kind>Text|Currency|Number|Lookup|URL|Date/Time|Date)"
    r"(?:\((?P<a>[A-Za-z0-9_]+)(?:,\s*(?P<b>\d+))?\))?(?P<ext>,\s*External ID)?"
)


class CannotCreateFields(Exception):
    """The connected user may not create fields (no Customize Application): said in one sentence."""


@dataclass(frozen=True)
class WantedField:
    sobject: str
    name: str
    create_as: str  # Salesforce's wording, e.g. "Currency(16, 2)"
    purpose: str  # what it holds, for the list the admin approves

    @property
    def full_name(self) -> str:
        return f"{self.sobject}.{self.name}"


@dataclass(frozen=True)
class FieldPlan:
    """What is missing, and whether the user may create it (None: could not be read)."""

    fields: list[WantedField]
    invoice_object: bool  # the invoice rows object is missing and will be created
    may_create: bool | None

    @property
    def empty(self) -> bool:
        return not self.fields and not self.invoice_object

    def lines(self) -> list[str]:
        """One line per thing to create, for the confirmation and the CLI."""
        out = [f"{f.full_name} — {f.create_as} ({f.purpose})" for f in self.fields if f.sobject != INVOICE_OBJECT]
        if self.invoice_object or any(f.sobject == INVOICE_OBJECT for f in self.fields):
            names = ", ".join(f.name for f in self.fields if f.sobject == INVOICE_OBJECT)
            made = "the custom object " + INVOICE_OBJECT if self.invoice_object else INVOICE_OBJECT
            out.append(f"{made} (one row per invoice){': ' + names if names else ''}")
        return out


@dataclass
class FieldSetupResult:
    created: list[str] = field(default_factory=list)  # "Object.Field__c" / object names
    already_there: list[str] = field(default_factory=list)  # existed, only hidden from us: now granted
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, Salesforce's reason)
    permission_set: str = ""
    still_missing: list[str] = field(default_factory=list)  # after the final describe

    @property
    def ok(self) -> bool:
        return not self.failed and not self.still_missing

    def summary(self, *, names: bool = True) -> str:
        """What happened; ``names=False`` counts instead of listing what was created (the page)."""
        parts = []
        if self.created and names:
            parts.append(f"Created {len(self.created)}: {', '.join(self.created)}.")
        elif self.created:
            fields = sum("." in name for name in self.created)
            objects = [name for name in self.created if "." not in name]
            made = [f"{fields} field{'s' if fields != 1 else ''}"] if fields else []
            made += [f"the object {name}" for name in objects]
            parts.append(f"Created {' and '.join(made)} in Salesforce.")
        if self.already_there:
            parts.append(f"Already there (now readable by BigSync): {', '.join(self.already_there)}.")
        if self.permission_set:
            parts.append(f"The permission set “{PERMISSION_SET_LABEL}” gives the connected user access to them.")
        for name, reason in self.failed:
            parts.append(f"{name} was not created: {reason.rstrip('.')}.")
        if self.still_missing:
            parts.append(f"Still missing: {', '.join(self.still_missing)}. {HAND_MADE}")
        return " ".join(parts) or "Nothing was missing."


# ---- the registry ---------------------------------------------------------------------------------
def _label(name: str) -> str:
    return name[:-3].replace("_", " ")[:40]


def wanted_fields(field_map: Mapping[str, str], create_as: Mapping[str, str] | None = None) -> list[WantedField]:
    """Every field BigSync writes to: each figure of the registry (``DEFAULT_FIELD_MAP``, mapped by
    the admin's ``field_map``; "" = not written) with the type it is created as (``create_as``
    overrides the built-in words, so a figure the registry gains is created as its page says),
    then the invoice object's fields."""
    words = {**CREATE_AS, **(create_as or {})}
    out = []
    for figure in dict.fromkeys([*DEFAULT_FIELD_MAP, *field_map]):
        target = (field_map.get(figure, DEFAULT_FIELD_MAP.get(figure, "")) or "").strip()
        if target and target.endswith("__c") and figure in words:
            sobject = "Account" if figure in ACCOUNT_FIGURES else OPPORTUNITY
            out.append(WantedField(sobject, target, words[figure], figure.replace("_", " ")))
    out += [WantedField(INVOICE_OBJECT, name, words_, "invoice rows") for name, words_ in INVOICE_FIELDS]
    return out


def metadata_for(wanted: WantedField) -> dict[str, Any]:
    """Tooling API ``Metadata`` for Salesforce's wording: ``Currency(16, 2)`` is 16 digits before
    the point and 2 after (precision 18, scale 2), as Setup's "Length" and "Decimal Places"."""
    match = _WORDING.fullmatch(wanted.create_as.strip())
    if match is None:
        raise ValueError(f"no field type reads {wanted.create_as!r}")
    kind, a, b = match.group("kind"), match.group("a"), match.group("b")
    meta: dict[str, Any] = {"label": _label(wanted.name), "required": False}
    if kind == "Text":
        meta.update(type="Text", length=int(a or 255))
    elif kind in ("Currency", "Number"):
        scale = int(b or 0)
        meta.update(type=kind, precision=int(a or 16) + scale, scale=scale)
    elif kind == "Lookup":
        meta.update(type="Lookup", referenceTo=a, relationshipName=INVOICE_RELATIONSHIP, deleteConstraint="SetNull")
    else:
        meta["type"] = {"URL": "Url", "Date/Time": "DateTime", "Date": "Date"}[kind]
    if match.group("ext"):
        meta["externalId"] = True
    return meta


# ---- what is missing ------------------------------------------------------------------------------
def _described(sf: SalesforceClient, sobject: str) -> dict[str, FieldInfo] | None:
    """The object's fields (lower-cased names), or None when the org has no such object."""
    try:
        return {n.lower(): f for n, f in sf.fields(sobject).items()}
    except RequestRejected as exc:
        if exc.status == 404 or exc.code in ("NOT_FOUND", "INVALID_TYPE"):
            return None
        raise


def plan_fields(
    sf: SalesforceClient, field_map: Mapping[str, str], create_as: Mapping[str, str] | None = None
) -> FieldPlan:
    """What describe says is missing (a field hidden from us by field-level security looks missing:
    creating it answers that it exists, and it is granted all the same)."""
    wanted = wanted_fields(field_map, create_as)
    sf.new_cycle()  # what the org has now, not a describe cached before someone changed it
    described: dict[str, dict[str, FieldInfo] | None] = {}
    for sobject in dict.fromkeys(w.sobject for w in wanted):
        described[sobject] = _described(sf, sobject)
    missing = [w for w in wanted if w.name.lower() not in (described[w.sobject] or {})]
    rights = user_rights(sf)
    return FieldPlan(
        missing, described.get(INVOICE_OBJECT) is None, rights.has("CustomizeApplication") if rights else None
    )


# ---- creating them ----------------------------------------------------------------------------------
def _no_right(exc: Exception | None = None) -> CannotCreateFields:
    why = f" (Salesforce said: {exc})" if exc else ""
    return CannotCreateFields(
        "The connected Salesforce user lacks the Customize Application permission, which "
        f"creating fields needs{why}. Sign in to Salesforce with an administrator, or ask one "
        f"to create them. {HAND_MADE}"
    )


def create_fields(
    sf: SalesforceClient,
    plan: FieldPlan,
    field_map: Mapping[str, str],
    create_as: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FieldSetupResult:
    """Create what ``plan`` lists, grant it to the connected user, read describe again. Raises
    :class:`CannotCreateFields` when the user may not (before anything is sent, when the rights
    say so). Other refusals are reported per field in the result; the rest goes on."""
    say = progress or (lambda _text: None)
    if plan.may_create is False:
        raise _no_right()
    result = FieldSetupResult()
    grant: list[WantedField] = []
    object_ok = not plan.invoice_object
    if plan.invoice_object:
        say(f"Creating the object {INVOICE_OBJECT}…")
        object_ok = _create(sf, "CustomObject", INVOICE_OBJECT, _invoice_object_metadata(), result)
    for wanted in plan.fields:
        if wanted.sobject == INVOICE_OBJECT and not object_ok:
            result.failed.append((wanted.full_name, f"its object {INVOICE_OBJECT} could not be created"))
            continue
        say(f"Creating {wanted.full_name}…")
        if _create(sf, "CustomField", wanted.full_name, metadata_for(wanted), result):
            grant.append(wanted)
    if grant:
        say("Giving the connected user access to them…")
        result.permission_set = _grant(sf, grant)
    say("Reading the fields again…")
    after = plan_fields(sf, field_map, create_as)
    result.still_missing = [w.full_name for w in after.fields]
    return result


def _create(
    sf: SalesforceClient, kind: str, full_name: str, metadata: dict[str, Any], result: FieldSetupResult
) -> bool:
    """One Tooling create: True if the thing now exists (created, or it was already there)."""
    try:
        create_metadata(sf, kind, full_name, metadata)
    except PermissionDenied as exc:
        raise _no_right(exc) from None
    except RequestRejected as exc:
        if exc.code == "DUPLICATE_DEVELOPER_NAME":
            result.already_there.append(full_name)
            return True
        result.failed.append((full_name, exc.message))
        return False
    result.created.append(full_name)
    return True


def _invoice_object_metadata() -> dict[str, Any]:
    label, plural, name_label = INVOICE_LABELS
    return {
        "label": label,
        "pluralLabel": plural,
        "nameField": {"type": "Text", "label": name_label},
        "deploymentStatus": "Deployed",
        "sharingModel": "ReadWrite",
    }


def _grant(sf: SalesforceClient, fields: list[WantedField]) -> str:
    """Read and edit on ``fields`` through BigSync's permission set, assigned to the connected user
    (each piece looked up first, so a second run adds only what is missing). Its id."""
    rows = list(sf.query(format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET)))
    if rows:
        set_id = str(rows[0]["Id"])
    else:
        set_id = sf.create(
            "PermissionSet",
            {
                "Name": PERMISSION_SET,
                "Label": PERMISSION_SET_LABEL,
                "Description": "Lets BigSync read and write the fields it created.",
            },
        )
    granted = {
        str(r.get("Field") or "").lower()
        for r in sf.query(format_soql("SELECT Field FROM FieldPermissions WHERE ParentId = {}", set_id))
    }
    for wanted in fields:
        if wanted.full_name.lower() in granted:
            continue
        _create_once(
            sf,
            "FieldPermissions",
            {
                "ParentId": set_id,
                "SobjectType": wanted.sobject,
                "Field": wanted.full_name,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            },
        )
    user = sf.identity().user_id
    assigned = list(
        sf.query(
            format_soql(
                "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} AND PermissionSetId = {}", user, set_id
            )
        )
    )
    if not assigned:
        _create_once(sf, "PermissionSetAssignment", {"AssigneeId": user, "PermissionSetId": set_id})
    return set_id


def _create_once(sf: SalesforceClient, sobject: str, values: dict[str, Any]) -> None:
    """Create a grant or an assignment; one that exists already (DUPLICATE_VALUE) is fine."""
    try:
        sf.create(sobject, values)
    except PermissionDenied as exc:
        raise CannotCreateFields(
            "The connected Salesforce user may not manage or assign permission sets, so the "
            f"new fields stay hidden from BigSync ({exc}). Give the user access to them in Setup "
            "› Permission Sets, or sign in with an administrator and try again."
        ) from None
    except RequestRejected as exc:
        if exc.code != "DUPLICATE_VALUE":
            raise


__all__ = [
    "CREATE_AS",
    "CannotCreateFields",
    "FieldPlan",
    "FieldSetupResult",
    "WantedField",
    "create_fields",
    "metadata_for",
    "plan_fields",
    "wanted_fields",
]
