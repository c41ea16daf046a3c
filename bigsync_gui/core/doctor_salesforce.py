"""doctor's Salesforce checks: the identity, the user's API right, the mapped fields the admin was
asked to create and the optional invoice object, each a small function returning a :class:`Check`
with field names and types seen, never values. ``core/doctor.py`` runs them, reads only."""

from __future__ import annotations

from collections.abc import Mapping

from ..connectors.errors import RequestRejected
from ..connectors.salesforce import SalesforceClient
from .doctor_report import CONFIRMED, DIFFERENT, NOT_CHECKED, Check
from .settings import ACCOUNT_FIGURES, DEFAULT_FIELD_MAP, INVOICE_OBJECT

# Opportunity field types that can hold each kind of figure (describe's ``type``).
_NUMBER_TYPES = {"currency", "double", "percent", "int", "long"}
_FIGURE_TYPES = {
    "project_id": {"string", "textarea"} | _NUMBER_TYPES,
    "project_url": {"url", "string", "textarea"},
    "last_sync": {"datetime"},
    "client_id": {"string"},
}
_INVOICE_ROW_REQUIRED = ("Name", "Opportunity__c", "BigTime_Invoice_Id__c")


def check_identity(sf: SalesforceClient) -> Check:
    ident = sf.identity()
    return Check(
        "salesforce",
        "salesforce.identity",
        "Salesforce's identity service names the user and the org",
        CONFIRMED,
        True,
        seen=("organization_id: text", "user_id: text") + (("username: text",) if ident.username else ()),
    )


def check_rights(sf: SalesforceClient) -> Check:
    title = "The connected Salesforce user may use the API"
    perms = sf.user_permissions()
    if perms is None or perms.api_enabled is None:
        return Check(
            "salesforce",
            "salesforce.rights",
            title,
            NOT_CHECKED,
            True,
            "The user's permission sets cannot be read (that needs View Setup); the calls above worked.",
        )
    seen = tuple(
        f"{name}: boolean"
        for name, value in (
            ("PermissionsApiEnabled", perms.api_enabled),
            ("PermissionsViewSetup", perms.view_setup),
            ("PermissionsModifyAllData", perms.modify_all_data),
        )
        if value is not None
    )
    if not perms.api_enabled:
        return Check(
            "salesforce",
            "salesforce.rights",
            title,
            DIFFERENT,
            True,
            "The user lacks 'API Enabled': give it in their profile or a permission set.",
            seen,
        )
    note = "" if perms.view_setup else "Without View Setup BigSync cannot read the org's API allowance."
    return Check("salesforce", "salesforce.rights", title, CONFIRMED, True, note, seen)


def check_opportunity_fields(sf: SalesforceClient, field_map: Mapping[str, str]) -> list[Check]:
    """Each mapped field exists on its object (the Account for ACCOUNT_FIGURES, else the Opportunity)."""
    field_map = {**{f: DEFAULT_FIELD_MAP[f] for f in ACCOUNT_FIGURES}, **field_map}  # saved before: the default
    described = {
        obj: {name.lower(): info for name, info in sf.fields(obj).items()}
        for obj in ("Opportunity", *(["Account"] if any(field_map.get(f) for f in ACCOUNT_FIGURES) else []))
    }
    out = []
    for figure, target in field_map.items():
        target = (target or "").strip()
        if not target:
            continue
        obj = "Account" if figure in ACCOUNT_FIGURES else "Opportunity"
        title = f"{obj}.{target} exists and can be edited (for {figure})"
        key = f"salesforce.{obj.lower()}.{figure}"
        info = described[obj].get(target.lower())
        seen: tuple[str, ...] = ()
        if info is None:
            without = (
                "two installations on one org may both create its client"
                if obj == "Account"
                else f"{figure} is not written"
            )
            problem = f"{obj} has no field {target}: create it (or change the mapping), else {without}."
        else:
            seen = (f"{info.name}: {info.type}" + ("" if info.updateable else ", read-only"),)
            allowed = _FIGURE_TYPES.get(figure, _NUMBER_TYPES)
            if not info.updateable:
                problem = f"{info.name} cannot be edited by this user: make it editable, else {figure} is not written."
            elif info.type not in allowed:
                problem = f"{info.name} is a {info.type} field; {figure} needs one of {', '.join(sorted(allowed))}."
            else:
                problem = ""
        out.append(Check("salesforce", key, title, DIFFERENT if problem else CONFIRMED, True, problem, seen))
    return out


def check_invoice_object(sf: SalesforceClient) -> Check:
    title = f"The org has {INVOICE_OBJECT} with {', '.join(_INVOICE_ROW_REQUIRED)} (optional: one row per invoice)"
    try:
        fields = {name.lower(): info for name, info in sf.fields(INVOICE_OBJECT).items()}
    except RequestRejected as exc:
        if exc.status == 404 or exc.code in ("NOT_FOUND", "INVALID_TYPE"):
            return Check(
                "salesforce",
                "salesforce.invoice_object",
                title,
                DIFFERENT,
                False,
                f"The org has no {INVOICE_OBJECT}: invoice rows are not written (the totals still are).",
            )
        raise
    seen = tuple(
        f"{fields[n.lower()].name}: {fields[n.lower()].type}" for n in _INVOICE_ROW_REQUIRED if n.lower() in fields
    )
    lacking = [n for n in _INVOICE_ROW_REQUIRED if n.lower() not in fields or not fields[n.lower()].createable]
    if lacking:
        return Check(
            "salesforce",
            "salesforce.invoice_object",
            title,
            DIFFERENT,
            False,
            f"{INVOICE_OBJECT} lacks {', '.join(lacking)} (or they cannot be set): invoice rows are not written.",
            seen,
        )
    return Check("salesforce", "salesforce.invoice_object", title, CONFIRMED, False, seen=seen)
