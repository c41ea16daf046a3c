"""Opportunity contact roles → BigTime project contacts: at a project's creation (the engine) and,
for roles added later, on the write-back's cadence (:func:`sync_new_roles`).

Why the write-back and not the trigger cycle: Salesforce documents ``SystemModstamp`` as each
``OpportunityContactRole``'s own field and nowhere says that adding a role touches its
opportunity, so the trigger cycle's read (opportunities changed since the cursor) cannot see a
role added later. Reading roles in every trigger cycle would make the idle cycle two requests;
once per write-back run it is one getUpdated for every linked opportunity (core/role_changes.py).

Rules: contacts are only added, never changed or deleted (a removed role leaves BigTime alone); a
person the project already has — same e-mail and name, ignoring case and spacing — is not added
again; a primary role becomes BigTime's PRIMARY contact only while the project has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from ..connectors import errors as ce
from ..connectors.bigtime import BigTimeClient
from ..connectors.salesforce import SalesforceClient
from ..connectors.wording import plural
from . import role_changes
from .store import Store

CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Phone", "Title")

Warn = Callable[[str], None]


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def person_key(email: str | None, first: str | None, last: str | None) -> tuple[str, str]:
    return (email or "").casefold(), _norm(f"{first or ''} {last or ''}")


def add_roles(
    bt: BigTimeClient, project_id: int, roles: Iterable[dict[str, Any]], warn: Warn, *, check_existing: bool
) -> int:
    """Add the roles' contacts the project lacks (primary first); the number added. A contact
    BigTime refuses is warned about and skipped: the others still go on."""
    roles = sorted(roles, key=lambda r: not r.get("IsPrimary"))
    existing: set[tuple[str, str]] = set()
    primary_done = False
    if check_existing and roles:
        current = bt.project_contacts(project_id)
        existing = {person_key(ct.email, ct.first_name, ct.last_name) for ct in current}
        primary_done = any((ct.tag or "").upper() == "PRIMARY" for ct in current)
    added = 0
    for role in roles:
        contact = role.get("Contact") or {}
        first, last = contact.get("FirstName") or "", contact.get("LastName") or ""
        key = person_key(contact.get("Email"), first, last)
        if key in existing:
            continue
        tag = "PRIMARY" if role.get("IsPrimary") and not primary_done else "OTHER"
        primary_done = primary_done or tag == "PRIMARY"
        fields = {
            "FName": first,
            "SName": last or "(no last name)",
            "EMail": contact.get("Email") or "",
            "Phone": contact.get("Phone") or "",
            "Title": contact.get("Title") or "",
            "Tag": tag,
        }
        try:
            bt.add_project_contact(project_id, fields)
        except ce.RequestRejected as exc:
            if isinstance(exc, ce.PermissionDenied):
                raise
            warn(f"BigTime refused contact {first} {last} on project {project_id}: {exc.message}")
            continue
        existing.add(key)
        added += 1
    return added


def sync_new_roles(
    store: Store, sf: SalesforceClient, bt: BigTimeClient, cycle_id: int, floor: str | None, now: datetime | None = None
) -> int:
    """Add to each linked project the contacts of roles changed since the last poll (core/role_changes.py:
    one getUpdated, plus one query of the changed roles when there are any), and per opportunity with
    changed roles one BigTime read plus one request per contact added. The poll's position moves only
    when every project was done. ``floor``: the setup's read (roles older than a project went with
    its creation)."""
    start = role_changes.start_of_next_poll(store, floor)
    if start is None:
        return 0
    fields = ["OpportunityId", "IsPrimary", "Role", "SystemModstamp", *(f"Contact.{f}" for f in CONTACT_FIELDS)]
    rows, position, full = role_changes.changed_roles(store, sf, fields, start, now or datetime.now(timezone.utc))
    if full:
        with store.transaction():
            store.event(
                cycle_id,
                "warning",
                "BigSync had not checked for new contact roles in over 30 days, longer "
                "than Salesforce keeps track of changes: it read the roles of every "
                "linked opportunity again (contacts already in BigTime are not added twice).",
            )
    by_opportunity: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_opportunity.setdefault(row["OpportunityId"], []).append(row)
    added = 0
    for oid, roles in by_opportunity.items():
        link = store.link(oid)
        if link is None or link.status != "linked":
            continue  # not created yet (its roles go with the project) or severed (left alone)

        def warn(message: str, oid: str = oid, project_id: int = link.project_id) -> None:
            with store.transaction():
                store.event(cycle_id, "warning", message, oid, project_id)

        count = add_roles(bt, link.project_id, roles, warn, check_existing=True)
        if count:
            with store.transaction():
                store.event(
                    cycle_id,
                    "contacts",
                    f"Added {plural(count, 'contact')} from {link.opportunity_name or oid}'s new "
                    f"contact roles to BigTime project {link.project_id}.",
                    oid,
                    link.project_id,
                )
        added += count
    with store.transaction():
        store.set_cursor(role_changes.COVERED_CURSOR, position)
    return added
