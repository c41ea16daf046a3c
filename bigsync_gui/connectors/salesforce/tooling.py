"""The Salesforce calls that change or read the org's setup rather than its records: Tooling API
creates (``CustomField``, ``CustomObject``), the Tooling query (``PlatformEventChannelMember``:
is Change Data Capture on for an entity?), and the connected user's permissions that decide
whether BigSync may create fields for the admin or subscribe to change events.

Wire format (docs/reference/salesforce.md, docs/sandbox.md): ``POST …/tooling/sobjects/<Type>``
with ``{"FullName", "Metadata"}`` answers ``{"id", "success", "errors"}``; errors are the REST
API's array. A create is never retried (after a lost answer the caller reads describe again: a
second create answers ``DUPLICATE_DEVELOPER_NAME``, which the caller treats as "already there").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import soql
from ..errors import RequestRejected, UnexpectedResponse
from .client import SalesforceClient
from .wire import SYSTEM, checked_name

CDC_CHANNEL = "ChangeEvents"
# The Permissions… flags of PermissionSet this module reads (profiles are permission sets too).
RIGHTS = (
    "CustomizeApplication",
    "ManageProfilesPermissionsets",
    "AssignPermissionSets",
    "ViewAllData",
    "ModifyAllData",
    "ApiEnabled",
)


@dataclass(frozen=True)
class UserRights:
    """What the connected user's permission sets allow; None per flag when it could not be read."""

    user_id: str
    flags: dict[str, bool | None]
    permission_set_ids: tuple[str, ...] = ()  # the sets assigned to the user (their profile's included)

    def has(self, name: str) -> bool | None:
        return self.flags.get(name)


def create_metadata(client: SalesforceClient, tooling_type: str, full_name: str, metadata: dict[str, Any]) -> str:
    """Create a ``CustomField`` or ``CustomObject`` through the Tooling API; its id. Raises the
    client's typed errors (``RequestRejected`` with ``code`` ``DUPLICATE_DEVELOPER_NAME`` for a
    name taken, ``PermissionDenied`` without Customize Application)."""
    target = f"tooling/sobjects/{checked_name(tooling_type)}"
    response = client._request(
        "POST", target, idempotent=False, json_body={"FullName": full_name, "Metadata": metadata}
    )
    body = client._json(response, "POST", target)
    if not isinstance(body, dict) or not body.get("id"):
        raise UnexpectedResponse(SYSTEM, f"Creating {full_name} through the Tooling API gave no id.")
    if body.get("success") is False:
        errors = body.get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        raise RequestRejected(
            SYSTEM,
            response.status_code,
            str(first.get("message") or "not created"),
            str(first.get("statusCode") or first.get("errorCode") or ""),
        )
    return str(body["id"])


def tooling_query(client: SalesforceClient, soql_text: str) -> list[dict[str, Any]]:
    """The records of a Tooling API query (setup objects answer in one page)."""
    body = client._get_object("tooling/query", params={"q": soql_text})
    records = body.get("records")
    if not isinstance(records, list):
        raise UnexpectedResponse(SYSTEM, "Salesforce's Tooling query answer has no records list.")
    return [r for r in records if isinstance(r, dict)]


def change_event_entity(sobject: str) -> str:
    """``Opportunity`` → ``OpportunityChangeEvent``; ``X__c`` → ``X__ChangeEvent``."""
    return f"{sobject[:-3]}__ChangeEvent" if sobject.endswith("__c") else f"{sobject}ChangeEvent"


def cdc_selected(client: SalesforceClient, sobject: str) -> bool:
    """Whether the org selected ``sobject`` for Change Data Capture (a PlatformEventChannelMember
    of the ChangeEvents channel). Raises when the Tooling API cannot be read (the caller says
    "unknown", never "off")."""
    rows = tooling_query(
        client,
        soql.format_soql(
            "SELECT Id, SelectedEntity FROM PlatformEventChannelMember WHERE EventChannel = {} AND SelectedEntity = {}",
            CDC_CHANNEL,
            change_event_entity(sobject),
        ),
    )
    return bool(rows)


def user_rights(client: SalesforceClient) -> UserRights | None:
    """The connected user's rights from their permission sets (``PermissionSetAssignment`` with
    its ``PermissionSet``); None when they cannot be read (no View Setup, or no such object)."""
    try:
        identity = client.identity()
        select = ", ".join(["PermissionSetId", *(f"PermissionSet.Permissions{name}" for name in RIGHTS)])
        rows = list(
            client.query(
                soql.format_soql(
                    f"SELECT {select} FROM PermissionSetAssignment WHERE AssigneeId = {{}}", identity.user_id
                )
            )
        )
    except (RequestRejected, UnexpectedResponse):
        return None
    sets = [r["PermissionSet"] for r in rows if isinstance(r.get("PermissionSet"), dict)]
    if not sets:
        return None
    flags: dict[str, bool | None] = {}
    for name in RIGHTS:
        values = [s.get(f"Permissions{name}") for s in sets if isinstance(s.get(f"Permissions{name}"), bool)]
        flags[name] = any(values) if values else None
    ids = tuple(str(r["PermissionSetId"]) for r in rows if r.get("PermissionSetId"))
    return UserRights(identity.user_id, flags, ids)


def can_view_all(client: SalesforceClient, rights: UserRights | None, sobject: str) -> bool | None:
    """Whether the user may read every ``sobject`` record, as Change Data Capture requires: View
    All Data / Modify All Data, or the object's *View All* (``ObjectPermissions``). None if unknown."""
    if rights is not None and (rights.has("ViewAllData") or rights.has("ModifyAllData")):
        return True
    if rights is None or not rights.permission_set_ids:
        return None
    try:
        rows = list(
            client.query(
                soql.format_soql(
                    "SELECT PermissionsViewAllRecords FROM ObjectPermissions WHERE SobjectType = {} AND ParentId IN {}",
                    sobject,
                    list(rights.permission_set_ids),
                )
            )
        )
    except (RequestRejected, UnexpectedResponse):
        return None
    return any(r.get("PermissionsViewAllRecords") is True for r in rows)


__all__ = [
    "CDC_CHANNEL",
    "UserRights",
    "can_view_all",
    "cdc_selected",
    "change_event_entity",
    "create_metadata",
    "tooling_query",
    "user_rights",
]
