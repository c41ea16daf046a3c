"""Exactly once across installations (issue 12 item 3; docs/sync.md, "Two installations"): two
profiles on one org cannot see each other's lock, so each claims in Salesforce what it is about
to create in BigTime. The opportunity: ``claim:<installation>:<time>`` written into its project id
field, conditioned on its LastModifiedDate (If-Unmodified-Since: one writer wins, the other gets
412 and defers). The account, for a new client: the same in its client id field when the org has
it, else an empty conditional update (docs/sync.md says what that leaves open). A claim older than
``CLAIM_LEASE`` was left by a crashed installation and may be taken over.

Claims go in batches (``claim_many``): up to 25 conditional PATCHes in one Composite request, each
with its own If-Unmodified-Since, and one settle for the batch; a subrequest's 412 is a lost claim,
handled as a lost single claim is (the records read again, in one query, and claimed once more).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..connectors import soql
from ..connectors.errors import ConnectorError, RequestRejected
from ..connectors.salesforce import ConditionalUpdate, SaveResult
from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import duration
from .cycle import CycleState

INSTALLATION = "installation_id"  # random, per profile: tells this installation's claims from another's
CLAIM_PREFIX = (
    "claim:"  # claim:<installation id>:<Unix seconds> in the project id field while a project is being created
)
CLAIM_LEASE = timedelta(minutes=10)  # a claim older than this was left by a crashed installation: it may be taken over
READ_CHUNK = 200  # ids per "Id IN (...)" query when lost claims are read again
GONE = ("ENTITY_IS_DELETED", "NOT_FOUND")  # a claim refused because the record is no more: nothing to create


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
        c.wait(c.cancel, 1.0)  # the answer came during `server`: a second later the clock has left it
        settled = max(second, server or second)
    else:  # the clock was at `server` at the last answer: every second before it is past, not `server` itself
        settled = server - timedelta(seconds=1)
    c.settled_second = max(settled, c.settled_second or settled)


def claim(c: CycleState, record: dict[str, Any], id_field: str, code: str) -> dict[str, Any] | None:
    """Claim the opportunity before creating its project: ``claim:<installation>:<time>`` written into
    the project id field with If-Unmodified-Since its LastModifiedDate (Salesforce answers 412 when
    another wrote it since). Returns the record as claimed (or naming its project: the caller links
    it), or None when another installation holds a live claim (the intent, under ``code``, stays
    pending: the opportunity is read again) or the record is gone. A claim made ahead in a batch
    (``claim_many``) is taken from there; an error its subrequest answered is raised here."""
    oid = record["Id"]
    if oid not in c.claims_ahead:
        claim_many(c, [(record, code)], id_field)
    outcome = c.claims_ahead.pop(oid)
    if isinstance(outcome, ConnectorError):
        raise outcome
    return outcome


def claim_many(
    c: CycleState,
    records: Sequence[tuple[dict[str, Any], str]],
    id_field: str,
    accounts: dict[str, dict[str, Any]] | None = None,
    account_field: str = "",
    rider: Sequence[dict[str, Any]] = (),
) -> list[SaveResult] | ConnectorError | None:
    """Claim each opportunity (with the code its intent takes) as ``claim`` does, 25 to a request;
    each outcome is kept in ``c.claims_ahead`` for ``claim`` to take. Two rounds, as a single claim
    has: the lost ones are read again (one query) and claimed once more where no other
    installation's live claim holds them; then they are deferred, or ours after all. ``accounts``
    (id → the account as read) whose clients are to be created are claimed in the same requests
    through their ``account_field`` (``claim_account`` takes the outcome); one whose opportunities
    all went to another installation is released at once. ``rider``: records to update in the
    first request too (core.batches); their results are returned (None: nothing was sent)."""
    mine = _installation(c)
    rode: list[SaveResult] | ConnectorError | None = None
    pending = {record["Id"]: (record, code) for record, code in records}
    account_claims = _account_claims(c, accounts or {}, account_field, mine)
    for _ in range(2):
        sending: list[tuple[dict[str, Any], str, bool]] = []
        for oid, (record, code) in list(pending.items()):
            value = str(record.get(id_field) or "")
            if value and not value.startswith(CLAIM_PREFIX):
                c.claims_ahead[oid] = record  # it names its project: linked, not claimed
                del pending[oid]
                continue
            held = _claim_of(value)
            took_over = held is not None and held[0] != mine
            if took_over and (c.sf.server_time or c.now()) - held[1] < CLAIM_LEASE:  # type: ignore[index]
                _defer(c, record, held[0], code)  # type: ignore[index]
                c.claims_ahead[oid] = None
                del pending[oid]
                continue
            sending.append((record, code, took_over))
        if not sending and not account_claims:
            break
        stamps = [parse_timestamp(r["LastModifiedDate"]) for r, _, _ in sending] + [u.since for u in account_claims]
        _settle(c, max(stamps))  # one settle per batch
        claimed = f"{CLAIM_PREFIX}{mine}:{int((c.sf.server_time or c.now()).timestamp())}"  # fits a 40-character field
        answers, rode_now = c.sf.update_many_if_unmodified_with(
            [
                ConditionalUpdate("Opportunity", r["Id"], {id_field: claimed}, parse_timestamp(r["LastModifiedDate"]))
                for r, _, _ in sending
            ]
            + [ConditionalUpdate("Account", u.record_id, {account_field: claimed}, u.since) for u in account_claims],
            "Opportunity",
            rider if rode is None else (),
        )
        rode = rode if rode is not None else rode_now
        for update, answer in zip(account_claims, answers[len(sending) :]):
            c.account_claims_ahead[update.record_id] = answer
        account_claims = []  # one round: a lost account claim waits a cycle, as a single one does
        for (record, code, took_over), answer in zip(sending, answers):
            oid = record["Id"]
            if answer is True:
                _won(c, record, id_field, took_over)
                c.claims_ahead[oid] = {**record, id_field: claimed, "_took_over": took_over, "_claimed": True}
                del pending[oid]
            elif answer is not False:  # refused for another reason than a newer write
                gone = isinstance(answer, RequestRejected) and answer.code in GONE
                c.claims_ahead[oid] = None if gone else answer
                del pending[oid]
        if pending:
            _read_again(c, pending, id_field)
    for oid, (record, code) in pending.items():
        held = _claim_of(str(record.get(id_field) or ""))
        if held is not None and held[0] == mine:
            c.claims_ahead[oid] = {**record, "_took_over": False, "_claimed": True}
        else:
            _defer(c, record, held[0] if held else "unknown", code)
            c.claims_ahead[oid] = None
    if accounts:
        _release_unused(c, records, accounts, account_field)
    return rode


def _account_claims(
    c: CycleState, accounts: dict[str, dict[str, Any]], field: str, mine: str
) -> list[ConditionalUpdate]:
    """The account claims to send (their values are set when sent); an account another installation
    holds a live claim on is not claimed (False: its opportunities wait a cycle)."""
    out = []
    for account_id, account in accounts.items():
        held = _claim_of(str(account.get(field) or ""))
        if held is not None and held[0] != mine and (c.sf.server_time or c.now()) - held[1] < CLAIM_LEASE:
            c.account_claims_ahead[account_id] = False
        elif account.get("LastModifiedDate"):
            out.append(ConditionalUpdate("Account", account_id, {}, parse_timestamp(account["LastModifiedDate"])))
    return out


def _release_unused(
    c: CycleState, records: Sequence[tuple[dict[str, Any], str]], accounts: dict[str, dict[str, Any]], field: str
) -> None:
    """An account claimed for opportunities that all went to another installation: its field back
    as it was (one request for all), so that installation creates the client now, not after the lease."""
    used = {record.get("AccountId") for record, _ in records if c.claims_ahead.get(record["Id"])}
    unused = [aid for aid, won in c.account_claims_ahead.items() if won is True and aid in accounts and aid not in used]
    if not unused:
        return
    c.sf.update_many("Account", [{"Id": aid, field: accounts[aid].get(field) or None} for aid in unused])
    for aid in unused:
        c.account_claims_ahead.pop(aid, None)


def _read_again(c: CycleState, pending: dict[str, tuple[dict[str, Any], str]], id_field: str) -> None:
    """Lost claims: the opportunities' project id field and stamp as they are now (one query per
    200); one no longer there (deleted meanwhile) is dropped: nothing to create."""
    ids = list(pending)
    fresh: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), READ_CHUNK):
        query = soql.format_soql(
            f"SELECT Id, {id_field}, LastModifiedDate FROM Opportunity WHERE Id IN {{}}",
            ids[start : start + READ_CHUNK],
        )
        fresh.update({row["Id"]: row for row in c.sf.query(query)})
    for oid in ids:
        record, code = pending[oid]
        row = fresh.get(oid)
        if row is None:
            c.claims_ahead[oid] = None
            del pending[oid]
        else:
            pending[oid] = ({**record, id_field: row.get(id_field), "LastModifiedDate": row["LastModifiedDate"]}, code)


def _won(c: CycleState, record: dict[str, Any], id_field: str, took_over: bool) -> None:
    if not took_over:
        return
    held = _claim_of(str(record.get(id_field) or ""))
    with c.store.transaction():
        c.store.event(
            c.id,
            "warning",
            f"Another BigSync installation ({held[0] if held else 'unknown'}) claimed "
            f"{record.get('Name') or record['Id']} more than "
            f"{duration(CLAIM_LEASE.total_seconds())} ago and did not finish; this "
            "installation took it over.",
            record["Id"],
        )


def _defer(c: CycleState, record: dict[str, Any], other: str, code: str) -> None:
    """Another installation is creating this project: keep a pending intent so the opportunity is
    read again each cycle until its project id is written (then linked) or the claim expires."""
    oid = record["Id"]
    with c.store.transaction():
        first = c.store.intent(oid) is None
        c.store.begin_intent(oid, code)
        if first:
            c.store.event(
                c.id,
                "warning",
                f"Another BigSync installation ({other}) is syncing this Salesforce org "
                f"and is creating the project for {record.get('Name') or oid}; this "
                "installation links to it instead of creating a second one.",
                oid,
            )


def claim_account(c: CycleState, account_id: str, account: dict[str, Any], field: str = "") -> bool:
    """The right to create the account's client: ``claim:<installation>:<time>`` written into the
    Account's client id ``field`` with If-Unmodified-Since its LastModifiedDate, as for an
    opportunity; a live claim of another installation there, or a 412, means another installation
    is creating it (False: the opportunity waits a cycle). Without the field, an update naming no
    field (which no source says moves the stamp: docs/sync.md, "Two installations")."""
    if account_id in c.account_claims_ahead:  # claimed in a batch (claim_many): the client list is read afresh
        outcome = c.account_claims_ahead.pop(account_id)
        if isinstance(outcome, ConnectorError):
            raise outcome
        return bool(outcome)
    stamp = account.get("LastModifiedDate")
    if not stamp:
        return True
    values: dict[str, Any] = {}
    if field:
        mine = _installation(c)
        held = _claim_of(str(account.get(field) or ""))
        if held is not None and held[0] != mine and (c.sf.server_time or c.now()) - held[1] < CLAIM_LEASE:
            return False
    modified = parse_timestamp(stamp)
    _settle(c, modified)
    if field:
        values[field] = f"{CLAIM_PREFIX}{_installation(c)}:{int((c.sf.server_time or c.now()).timestamp())}"
    if not c.sf.update_if_unmodified("Account", account_id, values, modified):
        return False
    c.clients = None
    return True


def _claim_of(value: str) -> tuple[str, datetime] | None:
    """(installation, when) of a ``claim:<installation>:<Unix seconds>`` value, else None."""
    if not value.startswith(CLAIM_PREFIX):
        return None
    who, _, when = value[len(CLAIM_PREFIX) :].partition(":")
    try:
        return who, datetime.fromtimestamp(int(when), timezone.utc)
    except (ValueError, OverflowError):
        return who, datetime.min.replace(tzinfo=timezone.utc)  # unreadable: treated as expired
