"""What a cycle reads from Salesforce: the org's metadata (stages and fields, cached for 15 min),
the trigger stage (gone or deactivated: pick it again), and the opportunities — changed since the
cursor, all at or past the trigger (the daily full reconcile), or by id — each with its account,
contact roles and, when asked, the stages it passed since the last read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ..connectors import soql
from ..connectors.salesforce import Stage
from . import creation
from .cycle import CycleState, Metadata
from .errors import PickStageAgain

LOOKBACK = timedelta(minutes=5)
METADATA_MAX_AGE = timedelta(minutes=15)
ID_CHUNK = 200  # ids per "Id IN (...)" query: keeps the SOQL well under its length limit
METADATA = "salesforce_metadata"

ACCOUNT_FIELDS = (
    "Name",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "Phone",
    "Fax",
    "Description",
)
CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Phone", "Title")


# ---- metadata ---------------------------------------------------------------------------------
def metadata(c: CycleState, force: bool = False) -> Metadata:
    cached = c.store.get_meta(METADATA)
    if cached and not force:
        meta = Metadata.from_dict(cached)
        if c.started - meta.fetched_at < METADATA_MAX_AGE:
            return meta
    c.sf.new_cycle()  # drop the client's describe cache: fields added in Salesforce are seen
    stages = c.sf.stages()
    fields = {name.lower() for name in c.sf.fields("Opportunity")}
    account = {name.lower() for name, info in c.sf.fields("Account").items() if info.updateable}  # claims write there
    meta = Metadata(stages, fields, c.started, account)
    with c.store.transaction():
        c.store.set_meta(METADATA, meta.to_dict())
    return meta


def trigger_stage(c: CycleState) -> Stage:
    assert c.metadata is not None
    wanted = c.settings.sync.trigger_stage
    stage = next((s for s in c.metadata.stages if s.api_name == wanted), None)
    if stage is None or not stage.is_active:
        fresh = metadata(c, force=True)
        c.metadata = fresh
        stage = next((s for s in fresh.stages if s.api_name == wanted), None)
    label = c.settings.sync.trigger_stage_label or wanted
    if stage is None:
        raise PickStageAgain(
            f"The trigger stage {label!r} no longer exists in Salesforce. Pick the stage again "
            "(Settings… or `bigsync-gui configure --trigger-stage`); nothing is synced until then."
        )
    if not stage.is_active:
        raise PickStageAgain(
            f"The trigger stage {label!r} was deactivated in Salesforce. Pick the stage again; "
            "nothing is synced until then."
        )
    return stage


# ---- reading ---------------------------------------------------------------------------------
def select(c: CycleState) -> str:
    assert c.metadata is not None
    fields = [
        "Id",
        "Name",
        "StageName",
        "IsDeleted",
        "AccountId",
        "CloseDate",
        "Amount",
        "Description",
        "SystemModstamp",
        "LastModifiedDate",
    ]
    client_field = creation.client_id_field(c)
    account = (*ACCOUNT_FIELDS, "LastModifiedDate", *([client_field] if client_field else []))
    fields += [f"Account.{f}" for f in account]
    id_field = c.settings.sync.field_map.get("project_id")
    if id_field and id_field.lower() in c.metadata.opportunity_fields:
        fields.append(id_field)
    roles = ", ".join(["ContactId", "Role", "IsPrimary", *(f"Contact.{f}" for f in CONTACT_FIELDS)])
    history = ""
    if c.history_since is not None:  # the stages passed since the last read, in the same request
        history = soql.format_soql(
            ", (SELECT StageName, CreatedDate FROM OpportunityHistories WHERE CreatedDate >= {} ORDER BY CreatedDate)",
            c.history_since,
        )
    return f"SELECT {', '.join(fields)}, (SELECT {roles} FROM OpportunityContactRoles){history} FROM Opportunity"


def read_changes(c: CycleState, cursor: datetime) -> dict[str, dict[str, Any]]:
    since = cursor - LOOKBACK
    query = select(c) + soql.format_soql(" WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id", since)
    rows = c.sf.query_all(query)  # the first page is fetched here: Salesforce's time of the read
    c.read_at = c.sf.server_time
    return {r["Id"]: r for r in rows}


def read_full(c: CycleState, triggering: set[str], cursor: datetime | None) -> dict[str, dict[str, Any]]:
    """Every opportunity at or past the trigger, those changed since the cursor (a stage passed
    since then shows in their history only), and the linked ones."""
    where = soql.format_soql(" WHERE StageName IN {}", sorted(triggering))
    if cursor is not None:
        where = soql.format_soql(
            " WHERE (StageName IN {} OR SystemModstamp >= {})", sorted(triggering), cursor - LOOKBACK
        )
    rows = c.sf.query(select(c) + where + " ORDER BY SystemModstamp, Id")
    c.read_at = c.sf.server_time
    records = {r["Id"]: r for r in rows}
    linked = [link.opportunity_id for link in c.store.links()]
    records.update(read_ids(c, [i for i in linked if i not in records], sever_missing=True))
    return records


def read_unfinished(c: CycleState, exclude: set[str]) -> dict[str, dict[str, Any]]:
    """Opportunities whose create was left unfinished are read again, whatever the cursor says; so
    are those refused for having no account once a client for them is chosen (core/creation.py)."""
    answered = [i.opportunity_id for i in c.store.intents("failed") if creation.answered_since(c, i)]
    again = [i.opportunity_id for i in c.store.intents("pending")] + answered
    found = read_ids(c, [oid for oid in again if oid not in exclude], sever_missing=False)
    gone = [oid for oid in answered if oid not in found and oid not in exclude]  # deleted for good
    if gone:
        with c.store.transaction():
            for oid in gone:
                c.store.drop_refusal(oid)
    return found


def read_ids(c: CycleState, ids: list[str], sever_missing: bool) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        found.update({r["Id"]: r for r in c.sf.query_all(select(c) + soql.format_soql(" WHERE Id IN {}", chunk))})
    if sever_missing:  # gone from the recycle bin too (hard-deleted): the link is severed
        for missing in (i for i in ids if i not in found):
            link = c.store.link(missing)
            if link and link.status == "linked":
                with c.store.transaction():
                    c.store.set_link_status(missing, "severed")
                    c.store.event(
                        c.id,
                        "severed",
                        f"{link.opportunity_name} was deleted for good in Salesforce; the BigTime project stays.",
                        missing,
                        link.project_id,
                    )
    return found
