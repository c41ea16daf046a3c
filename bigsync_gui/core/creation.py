"""Creating a project in BigTime for an opportunity that reached the trigger stage — or finding the
one that exists and linking it (the engine decides *whether*; this module does the *how*).

- **Found before created.** The project's code is derived from the opportunity id (``SF-<id>``,
  the longest form BigTime keeps: its limit is learnt and a cut code repaired); an unfinished or
  taken-over create looks the code up in BigTime's project list first.
- **Clients once per account.** An account's client is found by its code (15 characters made from
  the account id, or an earlier release's ``SF-<account id>``) or its name before one is created,
  and the account → client link is kept in the store. Names are cut to fit BigTime (core.bigtime_limits).
- **Across installations** (core.claims): the opportunity, and the account for a new client, are
  claimed in Salesforce before anything is created in BigTime.
- **Never sent twice while in doubt.** A create (or contact) sent without its answer seen — the
  app killed, the connection dropped — may still land. Until the longest a BigTime answer can take
  has passed since it was sent, the opportunity is not looked up nor sent again (``in_doubt``;
  the timing is an assumption: connectors/bigtime_assumptions.py):
  the cycle ends "waiting" and the next one settles it.
- **Linked twice.** The link is committed to the store, then the project id is written onto the
  opportunity (core.batches), which is what another installation, or a lost state file,
  links from.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timezone
from typing import Any

from ..connectors import bigtime as bt
from ..connectors import bigtime_assumptions as bt_assumptions
from ..connectors import errors as ce
from ..connectors.systems import label_of
from ..connectors.timestamps import parse_timestamp
from . import claims, client_lookup, contacts, where_to_act
from .bigtime_limits import client_code, fit_name, fit_name_apart, is_cut_of, notes_with_full_name
from .cycle import CycleState
from .errors import CreateInDoubt, Transient
from .settings import DEFAULT_FIELD_MAP
from .store import Intent

log = logging.getLogger(__name__)

RESUME_WITHIN = 180.0  # a create refused by a rate limit that asks for longer: the loop waits, not the cycle
CODE_MAX = "bigtime_project_code_max"  # the longest ProjectCode BigTime is known to keep (learnt)
PROJECT_CODE_PREFIX = "SF-"


def project_code(opportunity_id: str, max_length: int | None = None) -> str:
    """The code a new project gets: the longest form that fits ``max_length`` (see
    bigtime_assumptions: ProjectCode), else the shortest form."""
    forms = project_codes(opportunity_id)
    return next((code for code in forms if max_length is None or len(code) <= max_length), forms[-1])


def project_codes(opportunity_id: str) -> tuple[str, ...]:
    """Every code that identifies the opportunity's project, longest first."""
    return bt_assumptions.project_code_forms(PROJECT_CODE_PREFIX, opportunity_id)


def client_id_field(c: CycleState) -> str:
    """The Account field that holds the account's BigTime client id (and the claim while it is
    created), when it is mapped (a mapping saved before the field existed gets the default) and
    the connected user may edit it; else "" (docs/sync.md, "Two installations")."""
    name = c.settings.sync.field_map.get("client_id", DEFAULT_FIELD_MAP["client_id"])  # absent: saved before it
    return name if name and c.metadata is not None and name.lower() in c.metadata.account_fields else ""


def _projects(c: CycleState) -> tuple[dict[str, int], set[int]]:
    """BigTime's projects by exact (trimmed) code, and their ids: one list read per cycle."""
    if c.projects_by_code is None or c.project_ids is None:
        c.projects = [p for p in c.bigtime().projects(include_inactive=True) if p.id is not None]
        c.projects_by_code = {p.code.strip(): p.id for p in c.projects if p.code}  # type: ignore[misc]
        c.project_ids = {p.id for p in c.projects}  # type: ignore[misc]
    return c.projects_by_code, c.project_ids


def find_project(c: CycleState, record: dict[str, Any]) -> int | None:
    """The opportunity's project, if BigTime has it: under any of its codes (the 18-character id
    form also ignoring case), or under a code BigTime cut — unique while it still holds the
    15-character id, else only with the opportunity's name and no other claim on it. A cut code
    found is made whole (the form that fits) and its length remembered."""
    oid = record["Id"]
    by_code, _ = _projects(c)
    forms = project_codes(oid)
    for code in forms:
        if code in by_code:
            return by_code[code]
    longest = forms[0].upper()
    for code, project_id in by_code.items():
        if code.upper() == longest:
            return project_id
    name = str(record.get("Name") or "")
    cut = [
        p
        for p in c.projects or []
        if p.code
        and forms[0].startswith(p.code.strip())
        and len(p.code.strip()) >= bt_assumptions.PROJECT_CODE_MIN_LENGTH
        and (
            len(p.code.strip()) >= len(PROJECT_CODE_PREFIX) + 15
            or is_cut_of(p.name or "", name, bt_assumptions.PROJECT_NAME_MAX)
        )
        and c.store.link_for_project(p.id) is None  # type: ignore[arg-type]
    ]
    if len(cut) != 1:
        return None
    _repair_code(c, record, cut[0].id, cut[0].code.strip())  # type: ignore[arg-type, union-attr]
    return cut[0].id


def _code_max(c: CycleState) -> int | None:
    value = c.store.get_meta(CODE_MAX)
    return int(value) if value else None


def _learn_code_max(c: CycleState, length: int) -> None:
    known = _code_max(c)
    if known is None or length < known:
        with c.store.transaction():
            c.store.set_meta(CODE_MAX, length)
        log.info(
            "BigTime keeps at most %d characters of a project code: new projects get the longest code "
            "with the opportunity id that fits.",
            length,
        )


def _repair_code(c: CycleState, record: dict[str, Any], project_id: int, kept: str) -> None:
    """BigTime cut the code it was sent to ``kept``: remember the length, and give the project the
    form that fits (an update, safe to repeat), so it is found by its code again."""
    _learn_code_max(c, len(kept))
    fitting = project_code(record["Id"], len(kept))
    if len(fitting) > len(kept):
        with c.store.transaction():
            c.store.event(
                c.id,
                "warning",
                f"BigTime keeps only {len(kept)} characters of a project code, too few to "
                f"identify the opportunity; project {project_id} is linked by its id only.",
                record["Id"],
                project_id,
            )
        return
    if fitting != kept:
        c.bigtime().update_project(project_id, {"ProjectCode": fitting})
    if c.projects_by_code is not None:
        c.projects_by_code[fitting] = project_id


def in_doubt(c: CycleState, record: dict[str, Any], intent: Intent) -> bool:
    """True (and the cycle set to end "waiting") while a write sent for this intent without an answer
    may still land in BigTime: looked up now, it might not show yet and be sent a second time."""
    if intent.state != "pending" or not intent.sent_at:
        return False
    left = c.answer_window - (c.now() - parse_timestamp(intent.sent_at)).total_seconds()
    if left <= 0:
        return False
    name = record.get("Name") or record["Id"]
    if c.waiting is None or left > c.waiting.retry_after:
        c.waiting = CreateInDoubt(
            f"BigTime may still be finishing a request for {name} that got no answer (the app "
            f"stopped or the connection dropped). It is checked again in {max(1, round(left))} s, "
            "so that nothing is created twice.",
            left,
        )
    return True


@contextmanager
def _sending(c: CycleState, oid: str) -> Iterator[None]:
    """Around BigTime writes for an intent: stamped as sent before, cleared once an answer is seen
    (any answer, a refusal too); left stamped when none came (Offline, a kill): ``in_doubt``."""
    with c.store.transaction():
        c.store.mark_sent(oid, c.now().astimezone(timezone.utc).isoformat(timespec="milliseconds"))
    try:
        yield
    except ce.Offline:
        raise
    except Exception:
        with c.store.transaction():
            c.store.mark_sent(oid, None)
        raise
    with c.store.transaction():
        c.store.mark_sent(oid, None)


def _create_project(c: CycleState, record: dict[str, Any], fields: dict[str, Any]) -> tuple[int, bool]:
    """Create the project under the longest code that fits what is known of BigTime's limit; a
    400 about the code's length (nothing created) tries the next shorter form, a code that
    comes back cut is repaired (see ``_repair_code``). Any other 400 may be BigTime refusing a code
    another project already has (codes are unique, BigTime's help says; the refusal's wording is
    not documented): the list is read afresh and a project found under the opportunity's code is
    linked instead. The project's id, and whether it existed already."""
    limit = _code_max(c)
    forms = [code for code in project_codes(record["Id"]) if limit is None or len(code) <= limit]
    forms = forms or [project_codes(record["Id"])[-1]]
    for index, code in enumerate(forms):
        fields["ProjectCode"] = code
        try:
            with _sending(c, record["Id"]):
                created = c.bigtime().create_project_record(fields)
        except ce.RequestRejected as exc:
            shorter = index + 1 < len(forms)
            if exc.status == 400 and shorter and bt_assumptions.refuses_code_length(exc.message):
                _learn_code_max(c, len(code) - 1)
                continue
            if exc.status == 400:
                c.projects_by_code = c.project_ids = None  # made since this cycle read the list?
                found = find_project(c, record)
                if found is not None:
                    return found, True
            raise
        project_id = created.id or 0
        kept = (created.code or "").strip()
        if c.projects_by_code is not None and c.project_ids is not None:
            c.projects_by_code[kept or code] = project_id
            c.project_ids.add(project_id)
        if kept and kept != code and code.startswith(kept):
            _repair_code(c, record, project_id, kept)
        return project_id, False
    raise AssertionError("unreachable")


def _clients(c: CycleState) -> list[bt.Client]:
    """BigTime's clients: one list read per cycle, read again after an account claim (core.claims)."""
    if c.clients is None:
        c.clients = [cl for cl in c.bigtime().clients(include_inactive=True) if cl.id is not None]
    return c.clients


def _projects_per_client(c: CycleState) -> dict[int, int]:
    """How many projects each client has (the cycle's project list): picks between twin clients."""
    _projects(c)
    return dict(Counter(p.client_id for p in c.projects or [] if p.client_id is not None))


def answered_since(c: CycleState, intent: Intent | None) -> bool:
    """A refusal for having no account, with a client for such opportunities chosen since: the
    opportunity is tried again (read by id, changed or not), as the refusal told the admin it would.
    Once tried, any other outcome is stored in its place, so it is tried once."""
    return bool(
        intent is not None
        and intent.state == "failed"
        and c.settings.sync.default_client_id
        and where_to_act.is_no_account(intent.reason)
    )


def settle_unfinished(c: CycleState, record: dict[str, Any]) -> Any:
    """A create left unfinished by a failed cycle, for an opportunity that is not to be created now
    (deleted, back below the stage): the request may have reached BigTime, so look the project up —
    found, it is linked (it exists and belongs to this opportunity); not found, the intent is dropped.
    Without this the intent stayed pending (re-read every cycle) and a project whose answer was
    lost stayed unknown to the store."""
    oid = record["Id"]
    intent = c.store.intent(oid)
    if answered_since(c, intent):  # tried again for the chosen client, and not to be created now
        with c.store.transaction():
            c.store.drop_refusal(oid)  # else read again at every cycle; reaching the stage decides anew
        return None
    if intent is None or intent.state != "pending" or in_doubt(c, record, intent):
        return None
    try:
        project_id = find_project(c, record)
        if project_id is None:
            with c.store.transaction():
                c.store.drop_intent(oid)
            return None
        if not record.get("IsDeleted"):
            attach_contacts(c, record, project_id, check_existing=True)
        link(c, record, project_id, None, "created")
    except (Transient, ce.ReconnectNeeded, ce.NotConnected, ce.UnexpectedResponse, ce.RequestRejected) as exc:
        c.stopped_by = c.stopped_by or exc  # still pending: the next cycle tries again
        return None
    return c.store.link(oid)


def _reject(c: CycleState, record: dict[str, Any], reason: str) -> None:
    oid = record["Id"]
    stamp = record.get("SystemModstamp") or ""
    if record.get("_claimed"):  # our claim moved the stamp: "unchanged since" is judged from after it
        stamp = c.sf.get("Opportunity", oid, ["SystemModstamp"]).get("SystemModstamp") or stamp
    with c.store.transaction():
        if c.store.intent(oid) is None:
            c.store.begin_intent(oid, project_code(oid))
        c.store.fail_intent(oid, reason, stamp)
        c.store.event(c.id, "rejected", f"{record.get('Name') or oid}: {reason}", oid)


def create(c: CycleState, record: dict[str, Any], resumed: bool = False) -> None:
    """Create (or find and link) the opportunity's project. A create refused by BigTime's rate
    limit (for at most ``RESUME_WITHIN`` s) is resumed once in this cycle, after the limiter's
    hold, the way an unfinished one is: BigTime's lists are read afresh and what exists is
    linked, not sent again."""
    oid, code = record["Id"], project_code(record["Id"])
    name = str(record.get("Name") or "").strip()
    id_field = c.settings.sync.field_map.get("project_id", "")
    named = record.get(id_field) if id_field else None
    earlier = c.store.intent(oid)
    if earlier is not None and in_doubt(c, record, earlier):
        return  # read again next cycle (pending)
    try:
        if (not named or str(named).startswith(claims.CLAIM_PREFIX)) and claims.claimable(c, id_field):
            claimed = claims.claim(c, record, id_field, code)
            if claimed is None:
                return  # another installation creates it; linked when its project id is written
            record = claimed
            named = record.get(id_field)
            if str(named).startswith(claims.CLAIM_PREFIX):
                named = None
        if named:  # the opportunity already names its project (another installation's, or the state file was lost)
            _, ids = _projects(c)
            project_id = int(str(named)) if str(named).isdigit() else None
            if project_id not in ids and project_id is not None:
                c.projects_by_code = c.project_ids = None  # created since this cycle read BigTime's list
                _, ids = _projects(c)
            if project_id in ids:
                link(c, record, project_id, None, "linked")
                c.write_project_ids.pop(oid, None)  # the opportunity names it already
                with c.store.transaction():
                    c.store.mark_written_back([oid])
                return
            _reject(
                c,
                record,
                f"it names BigTime project {named}, which does not exist. Clear the "
                f"{id_field} field to have a new project created.",
            )
            return
        with c.store.transaction():
            intent = c.store.begin_intent(oid, code)  # committed before anything is sent
        if intent.attempts > 1 or record.get("_took_over"):  # an earlier attempt may have worked: look first
            if record.get("_took_over"):
                c.projects_by_code = c.project_ids = None  # another installation's create may be newer than the list
            found = find_project(c, record)
            if found is not None:
                attach_contacts(c, record, found, check_existing=True)
                link(c, record, found, None, "created")
                return
        if not name:
            _reject(c, record, "the opportunity has no name.")
            return
        client_id = _client_for(c, record)
        if client_id is None:
            return
        fields: dict[str, Any] = {
            "Nm": fit_name(name, bt_assumptions.PROJECT_NAME_MAX),
            "ClientId": client_id,
            "ProjectCode": code,
        }
        if record.get("CloseDate"):
            fields["StartDt"] = record["CloseDate"]
        notes = notes_with_full_name(
            "Opportunity",
            name,
            bt_assumptions.PROJECT_NAME_MAX,
            record.get("Description"),
            bt_assumptions.PROJECT_NOTES_MAX,
        )
        if notes:
            fields["Notes"] = notes
        if isinstance(record.get("Amount"), (int, float)) and "budget_fees" in c.settings.sync.field_map:
            fields["BudgetFees"] = record["Amount"]
        project_id, existed = _create_project(c, record, fields)
        attach_contacts(c, record, project_id, check_existing=existed)
        link(c, record, project_id, None if existed else client_id, "linked" if existed else "created")
    except ce.PermissionDenied as exc:  # not this record's fault: stop, and retry once the right is granted
        c.stopped_by = exc
    except ce.RequestRejected as exc:
        _reject(c, record, f"{label_of(exc.system)} refused it: {exc.message}")  # a claim is Salesforce's
    except ce.RateLimited as exc:
        if resumed or c.cancel.is_set() or exc.retry_after > RESUME_WITHIN:
            c.stopped_by = exc  # still limited: the loop waits; the intent stays pending
            return
        c.projects_by_code = c.project_ids = c.clients = None
        create(c, record, resumed=True)
    except (Transient, ce.ReconnectNeeded, ce.NotConnected, ce.UnexpectedResponse) as exc:
        c.stopped_by = exc  # the intent stays pending; the next cycle reconciles it


def _client_for(c: CycleState, record: dict[str, Any]) -> int | None:
    account_id = record.get("AccountId")
    account = record.get("Account") or {}
    if not account_id:
        if c.settings.sync.default_client_id:
            return c.settings.sync.default_client_id
        _reject(c, record, where_to_act.no_account())  # stored in the CLI's words; Activity shows its own
        return None
    known = c.store.client_for_account(account_id)
    field = client_id_field(c)
    named = str(account.get(field) or "") if field else ""
    if known and known.status == "linked" and known.client_id is not None:
        if field and named != str(known.client_id):  # e.g. a claim left by a cycle that stopped before writing it
            c.write_client_ids[account_id] = known.client_id
        return known.client_id
    try:
        code = client_code(account_id)
    except ValueError:
        _reject(
            c,
            record,
            f"its account id {account_id} is not a Salesforce Account id, so no BigTime client "
            "code can be made for it.",
        )
        return None
    found = existing_client(c, account_id, account, named)  # e.g. made by an earlier attempt whose answer was lost
    if found is not None:
        client_id = found
    else:
        if not claims.claim_account(c, account_id, account, field):
            return None  # another installation is creating it: this opportunity waits a cycle (pending)
        found = existing_client(c, account_id, account, "")  # read again after the claim: another's create shows now
        if found is not None:
            client_id = found
            with c.store.transaction():
                c.store.link_client(account_id, client_id, code)
            if field:
                c.write_client_ids[account_id] = client_id
            return client_id
        with c.store.transaction():
            c.store.begin_client(account_id, code)
        try:
            created = c.bigtime().create_client(_client_fields(account, code, [cl.name or "" for cl in _clients(c)]))
        except ce.RequestRejected:
            taken = _taken(c, account_id)  # BigTime keeps codes unique: another installation's landed first
            if taken is None:
                raise  # the refusal stands: the opportunity is refused with BigTime's reason
            client_id = taken
        else:
            with c.store.transaction():
                c.store.event(c.id, "client", f"Created BigTime client {account.get('Name') or code}.", record["Id"])
            client_id = _twin_in_use(c, account_id, account, created)
    with c.store.transaction():
        c.store.link_client(account_id, client_id, code)
    if field and named != str(client_id):
        c.write_client_ids[account_id] = client_id  # shown to sales; ends the claim (core.batches)
    return client_id


def existing_client(c: CycleState, account_id: str, account: dict[str, Any], named: str) -> int | None:
    """The account's client in BigTime: the one the account names (its client id field), else by
    its code, today's or an earlier release's (an earlier attempt whose answer was lost), else by its
    name (core.client_lookup)."""
    clients = _clients(c)
    if named.isdigit() and int(named) in {cl.id for cl in clients}:
        return int(named)
    return client_lookup.find(
        clients,
        account_id,
        str(account.get("Name") or ""),
        lambda: _projects_per_client(c),
        c.store.clients_of_other_accounts(account_id),
    )


def _taken(c: CycleState, account_id: str) -> int | None:
    """After BigTime refused to create the account's client: the client another installation created
    under the account's code meanwhile (BigTime requires unique client codes; one list read)."""
    c.clients = None
    twins = client_lookup.coded_for(_clients(c), account_id)
    return client_lookup.pick(twins, lambda: _projects_per_client(c)).id if twins else None


def _twin_in_use(c: CycleState, account_id: str, account: dict[str, Any], created: int) -> int:
    """BigTime's list read again after a client is created (one request): where Salesforce does not
    move an Account's stamp on an update naming no field (docs/sync.md), another installation may
    have created the same client at the same moment. Everyone then uses the one the stable rule
    picks (core.client_lookup.pick), so no project lands under the other; the admin is told the
    other one is an unused duplicate."""
    c.clients = None
    twins = client_lookup.coded_for(_clients(c), account_id)
    kept = client_lookup.pick(twins, lambda: _projects_per_client(c)).id if twins else created
    if kept is not None and kept != created:
        with c.store.transaction():
            c.store.event(
                c.id,
                "warning",
                f"Another BigSync installation created the BigTime client for "
                f"{account.get('Name') or account_id} at the same moment (client {kept}). "
                f"Its projects go under that one; client {created} is an unused duplicate "
                "that can be deleted in BigTime.",
            )
    return kept if kept is not None else created


def attach_contacts(c: CycleState, record: dict[str, Any], project_id: int, check_existing: bool) -> None:
    """The opportunity's contact roles onto its new project (core.contacts). A refused contact
    must not leave the project unlinked (and the opportunity "refused"): it is reported."""

    def warn(message: str) -> None:
        with c.store.transaction():
            c.store.event(c.id, "warning", message, record["Id"], project_id)

    roles = (record.get("OpportunityContactRoles") or {}).get("records") or []
    with _sending(c, record["Id"]):
        contacts.add_roles(c.bigtime(), project_id, roles, warn, check_existing=check_existing)


def link(c: CycleState, record: dict[str, Any], project_id: int, client_id: int | None, how: str) -> None:
    oid, name = record["Id"], str(record.get("Name") or record["Id"])
    with c.store.transaction():
        c.store.finish_intent(oid, project_id) if c.store.intent(oid) else None
        c.store.add_link(oid, project_id, client_id, record.get("AccountId"), name)
        message = (
            f"Created BigTime project {project_id} for {name}."
            if how == "created"
            else f"Linked {name} to its existing BigTime project {project_id}."
        )
        c.store.event(c.id, how, message, oid, project_id)
    c.write_project_ids[oid] = project_id


def _client_fields(account: dict[str, Any], code: str, names: list[str]) -> dict[str, Any]:
    """A new client: the account's name cut to fit, apart from the other clients' ``names`` (the
    whole name then heads its notes), its description in the notes' room."""
    name = str(account.get("Name") or code)
    fields: dict[str, Any] = {"Nm": fit_name_apart(name, bt_assumptions.CLIENT_NAME_MAX, names), "ClientId": code}
    for sf_name, bt_name in (
        ("BillingStreet", "Address"),
        ("BillingCity", "City"),
        ("BillingState", "State"),
        ("BillingPostalCode", "Zip"),
        ("BillingCountry", "Country"),
        ("Phone", "MainPH"),
        ("Fax", "MainFX"),
    ):
        if account.get(sf_name):
            fields[bt_name] = account[sf_name]
    notes = notes_with_full_name(
        "Account", name, bt_assumptions.CLIENT_NAME_MAX, account.get("Description"), bt_assumptions.CLIENT_NOTES_MAX
    )
    if notes:
        fields["Notes"] = notes
    return fields
