"""Exactly once across installations (issue 12 item 3; docs/sync.md, "Two installations"): two
profiles on one org cannot see each other's lock, so each claims in Salesforce what it is about
to create in BigTime. The opportunity: ``claim:<installation>:<time>`` written into its project id
field, conditioned on its LastModifiedDate (If-Unmodified-Since: one writer wins, the other gets
412 and defers). The account, for a new client: an empty conditional update. A claim older than
``CLAIM_LEASE`` was left by a crashed installation and may be taken over.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import duration
from .cycle import CycleState

INSTALLATION = "installation_id"  # random, per profile: tells this installation's claims from another's
CLAIM_PREFIX = "claim:"  # claim:<installation id>:<Unix seconds> in the project id field while a project is being created
CLAIM_LEASE = timedelta(minutes=10)  # a claim older than this was left by a crashed installation: it may be taken over


def _installation(c: CycleState) -> str:
    mine = c.store.get_meta(INSTALLATION)
    if not mine:
        mine = secrets.token_hex(4)
        with c.store.transaction():
            c.store.set_meta(INSTALLATION, mine)
    return mine


def claimable(c: CycleState, id_field: str) -> bool:
    return bool(id_field) and c.metadata is not None and id_field.lower() in c.metadata.opportunity_fields


def _settle(c: CycleState, modified: datetime) -> None:
    """If-Unmodified-Since has whole seconds: a claim is sent only once Salesforce's clock has left
    the second of the stamp it is conditioned on, so any other claim is stamped later and refused.
    At most one second's wait, and only for a record changed in the second of our last answer."""
    second = modified.replace(microsecond=0)
    if c.settled_second is not None and second <= c.settled_second:
        return
    server = c.sf.server_time.replace(microsecond=0) if c.sf.server_time else None
    if server is None or second >= server:
        c.cancel.wait(1.0)  # the answer came during `server`: a second later the clock has left it
        settled = max(second, server or second)
    else:  # the clock was at `server` at the last answer: every second before it is past, not `server` itself
        settled = server - timedelta(seconds=1)
    c.settled_second = max(settled, c.settled_second or settled)


def claim(c: CycleState, record: dict[str, Any], id_field: str, code: str) -> dict[str, Any] | None:
    """Claim the opportunity before creating its project: ``claim:<installation>:<time>`` written into
    the project id field with If-Unmodified-Since its LastModifiedDate (Salesforce answers 412 when
    another wrote it since). Returns the record as claimed (or naming its project: the caller links
    it), or None when another installation holds a live claim (the intent, under ``code``, stays
    pending: the opportunity is read again)."""
    oid, mine = record["Id"], _installation(c)
    for _ in range(2):
        value = str(record.get(id_field) or "")
        if value and not value.startswith(CLAIM_PREFIX):
            return record
        held = _claim_of(value)
        now = c.sf.server_time or c.now()
        took_over = held is not None and held[0] != mine
        if took_over and now - held[1] < CLAIM_LEASE:  # type: ignore[index]
            _defer(c, record, held[0], code)  # type: ignore[index]
            return None
        modified = parse_timestamp(record["LastModifiedDate"])
        _settle(c, modified)
        claimed = f"{CLAIM_PREFIX}{mine}:{int((c.sf.server_time or now).timestamp())}"  # fits a 40-character field
        if c.sf.update_if_unmodified("Opportunity", oid, {id_field: claimed}, modified):
            if took_over:
                with c.store.transaction():
                    c.store.event(c.id, "warning", f"Another BigSync installation ({held[0]}) claimed "  # type: ignore[index]
                                  f"{record.get('Name') or oid} more than {duration(CLAIM_LEASE.total_seconds())} ago "
                                  "and did not finish; this installation took it over.", oid)
            return {**record, id_field: claimed, "_took_over": took_over, "_claimed": True}
        fresh = c.sf.get("Opportunity", oid, [id_field, "LastModifiedDate"])
        record = {**record, id_field: fresh.get(id_field), "LastModifiedDate": fresh["LastModifiedDate"]}
    held = _claim_of(str(record.get(id_field) or ""))
    if held is not None and held[0] == mine:
        return {**record, "_took_over": False, "_claimed": True}
    _defer(c, record, held[0] if held else "unknown", code)
    return None


def _defer(c: CycleState, record: dict[str, Any], other: str, code: str) -> None:
    """Another installation is creating this project: keep a pending intent so the opportunity is
    read again each cycle until its project id is written (then linked) or the claim expires."""
    oid = record["Id"]
    with c.store.transaction():
        first = c.store.intent(oid) is None
        c.store.begin_intent(oid, code)
        if first:
            c.store.event(c.id, "warning", f"Another BigSync installation ({other}) is syncing this Salesforce org "
                                           f"and is creating the project for {record.get('Name') or oid}; this "
                                           "installation links to it instead of creating a second one.", oid)


def claim_account(c: CycleState, account_id: str, account: dict[str, Any]) -> bool:
    """The right to create the account's client: an empty update of the Account with
    If-Unmodified-Since its LastModifiedDate (the Account has no field of ours to hold a claim
    value; the update only moves its stamp). Refused (412): another installation is creating it."""
    stamp = account.get("LastModifiedDate")
    if not stamp:
        return True
    modified = parse_timestamp(stamp)
    _settle(c, modified)
    if not c.sf.update_if_unmodified("Account", account_id, {}, modified):
        return False
    c.clients_by_code = c.clients_by_name = None
    return True


def _claim_of(value: str) -> tuple[str, datetime] | None:
    """(installation, when) of a ``claim:<installation>:<Unix seconds>`` value, else None."""
    if not value.startswith(CLAIM_PREFIX):
        return None
    who, _, when = value[len(CLAIM_PREFIX):].partition(":")
    try:
        return who, datetime.fromtimestamp(int(when), timezone.utc)
    except (ValueError, OverflowError):
        return who, datetime.min.replace(tzinfo=timezone.utc)  # unreadable: treated as expired
