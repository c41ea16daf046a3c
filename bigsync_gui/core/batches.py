"""What a cycle's creates cost Salesforce, in few requests (issue 19 item 8; docs/sync.md, "Claims in
batches"): before each batch of creates, one Composite request carries the batch's claims — the
opportunities' and those of the accounts whose clients are to be created (core.claims) — and, in
its last place, the ids owed from the batches before (the project id onto each linked opportunity,
the client id onto each account: an sObject Collections subrequest of up to 200). What is still
owed at the end of the cycle goes in collections of 200 (``write_project_ids``).

A batch is at most 25 creates and at most 24 claims, so the owed ids always find their place. A
request that fails as a whole stops the cycle, as a failed single claim does: what it claimed is
this installation's own claim next cycle, and ids not confirmed written are written then.
"""

from __future__ import annotations

from typing import Any

from ..connectors import errors as ce
from ..connectors.salesforce import COLLECTION_CHUNK, COMPOSITE_CHUNK, SaveResult
from . import claims
from .creation import client_id_field, existing_client, in_doubt, project_code
from .cycle import CycleState
from .errors import Transient

BATCH = COMPOSITE_CHUNK  # creates per batch
CLAIMS_PER_REQUEST = COMPOSITE_CHUNK - 1  # the last place is the owed ids'


def claim_ahead(c: CycleState, records: list[dict[str, Any]]) -> int:
    """Claim the next batch of ``records`` (the creates to come, in order) in one request, with the
    ids owed riding along; how many of ``records`` the batch covers (``create`` them next: each
    takes its claim from ``c.claims_ahead``). Claimed: the opportunities that name no project yet
    and have no create in doubt, and their accounts that have no client yet."""
    id_field = c.settings.sync.field_map.get("project_id", "")
    if not claims.claimable(c, id_field):
        return min(len(records), BATCH)
    field = client_id_field(c)
    due: list[tuple[dict[str, Any], str]] = []
    accounts: dict[str, dict[str, Any]] = {}
    covered = 0
    try:
        for record in records[:BATCH]:
            named = str(record.get(id_field) or "")
            earlier = c.store.intent(record["Id"])
            in_flight = earlier is not None and in_doubt(c, record, earlier)
            needed = (not named or named.startswith(claims.CLAIM_PREFIX)) and not in_flight
            account_id = str(record.get("AccountId") or "")
            new_account = (
                needed
                and bool(field)
                and bool(account_id)
                and account_id not in accounts
                and _client_to_create(c, account_id, record.get("Account") or {}, field)
            )
            if len(due) + len(accounts) + needed + new_account > CLAIMS_PER_REQUEST:
                break
            covered += 1
            if needed:
                due.append((record, project_code(record["Id"])))
            if new_account:
                accounts[account_id] = record.get("Account") or {}
        if due:
            rows = _owed_rows(c)[:COLLECTION_CHUNK]
            rode = claims.claim_many(c, due, id_field, accounts, field, rows)
            if rode is not None:
                _written(c, rows, rode)
            if accounts:
                c.clients = None  # read again after the claims: another's create shows
    except (Transient, ce.ConnectorError) as exc:
        c.stopped_by = c.stopped_by or exc
    return max(covered, 1)


def _client_to_create(c: CycleState, account_id: str, account: dict[str, Any], field: str) -> bool:
    """True when the account has no client linked nor found in BigTime (``_client_for`` would claim it)."""
    known = c.store.client_for_account(account_id)
    if known and known.status == "linked" and known.client_id is not None:
        return False
    return existing_client(c, account_id, account, str(account.get(field) or "")) is None


def write_project_ids(c: CycleState) -> None:
    """The ids still owed, 200 to an sObject Collections request, each request's results committed
    (a stop loses none)."""
    rows = _owed_rows(c)
    for start in range(0, len(rows), COLLECTION_CHUNK):
        chunk = rows[start : start + COLLECTION_CHUNK]
        try:
            results = c.sf.update_many("Opportunity", chunk)
        except Transient as exc:
            c.stopped_by = c.stopped_by or exc
            return
        _written(c, chunk, results)
    c.write_client_ids.clear()


def _owed_rows(c: CycleState) -> list[dict[str, Any]]:
    """The project id onto each newly linked opportunity (the link's second record, what another
    installation or a lost state file links from) and the client id onto each account whose client
    was created or found this cycle (what sales sees, and what ends the account's claim), as
    update rows (an account's names its type)."""
    assert c.metadata is not None
    for unwritten in c.store.links_not_written_back():
        if unwritten.opportunity_id not in c.written_ids_tried:
            c.write_project_ids.setdefault(unwritten.opportunity_id, unwritten.project_id)
    id_field, client_field = c.settings.sync.field_map.get("project_id", ""), client_id_field(c)
    if c.write_project_ids and (not id_field or id_field.lower() not in c.metadata.opportunity_fields):
        with c.store.transaction():
            c.store.mark_written_back(list(c.write_project_ids))
        c.write_project_ids.clear()
    rows: list[dict[str, Any]] = [
        {"attributes": {"type": "Account"}, "Id": aid, client_field: str(cid)}
        for aid, cid in c.write_client_ids.items()
        if client_field
    ]
    return rows + [{"Id": oid, id_field: str(pid)} for oid, pid in c.write_project_ids.items()]


def _written(c: CycleState, rows: list[dict[str, Any]], results: list[SaveResult] | ce.ConnectorError) -> None:
    """What an update of owed rows answered: each written opportunity marked (committed); a failure
    other than a record deleted meanwhile (the next read severs its link) is reported once. A
    rider refused as a whole leaves its rows owed, for the end of the cycle."""
    if isinstance(results, ce.ConnectorError):
        return
    with c.store.transaction():
        c.store.mark_written_back(
            [row["Id"] for row, res in zip(rows, results) if res.success and "attributes" not in row]
        )
        for row, res in zip(rows, results):
            if res.success or any(e.code == "ENTITY_IS_DELETED" for e in res.errors):
                continue
            errors = "; ".join(e.message for e in res.errors)
            if "attributes" in row:
                c.store.event(c.id, "warning", f"Could not write the BigTime client id onto the account: {errors}")
            else:
                c.store.event(
                    c.id, "warning", f"Could not write the BigTime project id onto the opportunity: {errors}", row["Id"]
                )
    for row in rows:
        if "attributes" in row:
            c.write_client_ids.pop(row["Id"], None)
        else:
            c.write_project_ids.pop(row["Id"], None)
            c.written_ids_tried.add(row["Id"])
