"""The sync engine: one cycle turns opportunities that reached the trigger stage into BigTime
projects — exactly once — and keeps the links in step with deletes and restores.

The contract is DESIGN §2. How each promise is kept:

- **Exactly once.** Before a project is created, an intent row is committed to the journal
  (``store.begin_intent``); the project carries a code derived from the opportunity id
  (``SF-<18-char id>``). An intent left unfinished (crash, dropped connection, timeout) is
  reconciled next time by looking the code up in BigTime's project list before creating again.
  A cross-process lock (``sync.lock``) keeps two copies from working at once, and the project id
  is written back onto the opportunity as a second record of the link.
- **No missed trigger.** One ``queryAll`` per cycle reads opportunities changed since the cursor
  minus a lookback overlap, ordered by (SystemModstamp, Id), deduplicated by id; deletes and
  restores arrive in the same read (``IsDeleted``), and so does each one's stage history since then
  (``OpportunityHistories``): a stage reached and left between two cycles counts (reaching it
  triggers, whatever came after). The cursor never moves past the cycle's start,
  and does not move at all when the cycle failed. A gap longer than the recycle bin keeps deleted
  rows (15 days), or a day since the last one, runs a full reconcile instead.
- **Cheap when idle.** An idle cycle is that one query; stage and field metadata are refreshed at
  most every 15 minutes (or when an unknown stage appears); BigTime is not called at all.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ..connectors import bigtime as bt
from ..connectors import bigtime_assumptions as bt_assumptions
from ..connectors import errors as ce
from ..connectors import soql
from ..connectors.salesforce import COLLECTION_CHUNK, SalesforceClient, Stage
from . import cadence, contacts, writeback
from .connections import Connector
from .cycle import CycleReport, CycleRunner, WaitCallback, hours
from .errors import ConfigInvalid, PickStageAgain, Transient
from .settings import Settings
from .store import Store

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=5)
METADATA_MAX_AGE = timedelta(minutes=15)
FULL_RECONCILE_EVERY = timedelta(hours=24)
DELETED_RETENTION = timedelta(days=15)  # Salesforce's recycle bin / getDeleted window
AUTOMATIC = 0  # update_settings(interval_seconds=AUTOMATIC): the interval follows the budget (core.cadence)
RESUME_WITHIN = 180.0  # a create refused by a rate limit that asks for longer: the loop waits, not the cycle
ID_CHUNK = 200  # ids per "Id IN (...)" query: keeps the SOQL well under its length limit

CURSOR = "opportunity_modstamp"
LAST_FULL = "last_full_reconcile"
LAST_READ = "last_read"  # when the last cycle that read everything changed (start time, engine clock)
METADATA = "salesforce_metadata"
CODE_MAX = "bigtime_project_code_max"  # the longest ProjectCode BigTime is known to keep (learnt)
HISTORY_FLOOR = "stage_history_floor"  # the setup's read (Salesforce's time): stage changes before it were its to judge
INSTALLATION = "installation_id"  # random, per profile: tells this installation's claims from another's
CLAIM_PREFIX = "claim:"  # claim:<installation id>:<Unix seconds> in the project id field while a project is being created
CLAIM_LEASE = timedelta(minutes=10)  # a claim older than this was left by a crashed installation: it may be taken over

PROJECT_CODE_PREFIX = "SF-"
CLIENT_CODE_PREFIX = "SF-"

ACCOUNT_FIELDS = ("Name", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry",
                  "Phone", "Fax", "Description")
CONTACT_FIELDS = ("FirstName", "LastName", "Email", "Phone", "Title")


@dataclass(frozen=True)
class AlreadyPast:
    """One read of the opportunities at or past a trigger stage (``Engine.already_past``)."""

    stage: Stage
    rows: dict[str, str]  # opportunity id → its stage at the read (at or past the new or the old stage)
    new: frozenset[str]  # the stage names that trigger under ``stage``
    old_stage: str  # the saved stage the read also covered ("" when it changes none)
    old: frozenset[str]  # the stage names that trigger under ``old_stage``
    read_at: datetime  # Salesforce's time of the read

    @property
    def ids(self) -> list[str]:
        """Open-or-won opportunities at or past ``stage``."""
        return [oid for oid, name in self.rows.items() if name in self.new]


@dataclass
class _Metadata:
    stages: list[Stage]
    opportunity_fields: set[str]  # updateable or readable field names on Opportunity (lower-case)
    fetched_at: datetime

    def to_json(self) -> str:
        return json.dumps({"stages": [asdict(s) for s in self.stages], "fields": sorted(self.opportunity_fields),
                           "fetched_at": self.fetched_at.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> _Metadata:
        data = json.loads(text)
        return cls([Stage(**s) for s in data["stages"]], set(data["fields"]), datetime.fromisoformat(data["fetched_at"]))


@dataclass
class _Cycle:
    """What one cycle carries around."""

    id: int
    settings: Settings
    store: Store
    sf: SalesforceClient
    started: datetime
    cancel: threading.Event
    progress: Callable[[int, int], None] | None
    metadata: _Metadata | None = None
    bt_client: bt.BigTimeClient | None = None
    projects_by_code: dict[str, int] | None = None
    projects: list[bt.Project] | None = None
    project_ids: set[int] | None = None
    clients_by_code: dict[str, int] | None = None
    clients_by_name: dict[str, int] | None = None
    write_project_ids: dict[str, int] = field(default_factory=dict)
    written_ids_tried: set[str] = field(default_factory=set)  # sent once this cycle: not again
    read_at: datetime | None = None  # Salesforce's time when this cycle's read ran (HTTP Date)
    history_since: datetime | None = None  # stage changes from then on are read with each opportunity
    stopped_by: Exception | None = None
    settled_second: datetime | None = None  # Salesforce's clock is known to be past this second (claims)


def project_code(opportunity_id: str, max_length: int | None = None) -> str:
    """The code a new project gets: the longest form that fits ``max_length`` (see
    bigtime_assumptions: ProjectCode), else the shortest form."""
    forms = project_codes(opportunity_id)
    return next((code for code in forms if max_length is None or len(code) <= max_length), forms[-1])


def project_codes(opportunity_id: str) -> tuple[str, ...]:
    """Every code that identifies the opportunity's project, longest first."""
    return bt_assumptions.project_code_forms(PROJECT_CODE_PREFIX, opportunity_id)


def _usable_stage(stages: list[Stage], api_name: str) -> Stage:
    """The stage a trigger can be: it exists, is active and is not closed-lost."""
    stage = next((s for s in stages if s.api_name == api_name), None)
    if stage is None:
        raise ConfigInvalid("sync.trigger_stage", f"There is no opportunity stage with the API name {api_name!r}. "
                                                  "Run `bigsync-gui stages` to see the org's stages.")
    if stage.is_closed_lost:
        raise ConfigInvalid("sync.trigger_stage", f"{stage.label!r} is a closed-lost stage: it never creates projects. Pick another.")
    if not stage.is_active:
        raise ConfigInvalid("sync.trigger_stage", f"{stage.label!r} is not an active stage in Salesforce. Pick an active one.")
    return stage


def _check_interval(name: str, seconds: int) -> int:
    if seconds < 60:
        what = "write-back interval" if "writeback" in name else "sync interval"
        raise ConfigInvalid(name, f"The {what} must be at least 60 seconds.")
    return seconds


def client_code(account_id: str) -> str:
    return CLIENT_CODE_PREFIX + account_id


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":  # Salesforce's +0000
        value = datetime.fromisoformat(text[:-2] + ":" + text[-2:])
    return value


class Engine:
    """Runs cycles for one profile. Thread-safe to call from one worker thread at a time."""

    def __init__(self, connector: Connector, *, now: Callable[[], datetime] | None = None) -> None:
        self.connector = connector
        self.profile = connector.profile
        self._now = now or (lambda: datetime.now(timezone.utc))
        self.cycles = CycleRunner(connector, self._now)

    def open_store(self) -> Store:
        return self.cycles.open_store()

    # ---- configure (the wizard's Save and `configure` both end here) ------------------------------
    def triggering_stages(self, stages: list[Stage], trigger: str) -> list[Stage]:
        by_name = {s.api_name: s for s in stages}
        chosen = by_name[trigger]
        return [s for s in stages if s.sort_order >= chosen.sort_order and not s.is_closed_lost]

    def stages(self) -> list[Stage]:
        """The org's opportunity stages in pipeline order (the stage pickers read them here)."""
        return self.salesforce_client().stages()

    def already_past(self, trigger_stage: str) -> AlreadyPast:
        """One read of the opportunities at or past ``trigger_stage`` (and, when it would change the
        saved stage, of those at or past the saved one): the count the stage page shows and what
        ``configure``/``save_setup`` decide with, so the Save does not read again."""
        sync = self.connector.settings().sync
        old_stage = sync.trigger_stage if sync.configured and sync.trigger_stage != trigger_stage else ""
        sf = self.salesforce_client()
        stages = sf.stages()
        stage = _usable_stage(stages, trigger_stage)
        new = {s.api_name for s in self.triggering_stages(stages, trigger_stage)}
        old = ({s.api_name for s in self.triggering_stages(stages, old_stage)}
               if any(s.api_name == old_stage for s in stages) else set())
        query = soql.format_soql("SELECT Id, StageName FROM Opportunity WHERE StageName IN {}", sorted(new | old))
        rows = {r["Id"]: r["StageName"] for r in sf.query(query)}
        return AlreadyPast(stage, rows, frozenset(new), old_stage, frozenset(old), sf.server_time or self._now())

    def count_already_past(self, trigger_stage: str) -> tuple[Stage, list[str]]:
        """The chosen stage and the ids of open-or-won opportunities already at or past it."""
        past = self.already_past(trigger_stage)
        return past.stage, past.ids

    def save_setup(self, trigger_stage: str, interval_seconds: int, backfill: bool, field_map: dict[str, str],
                   already_past: AlreadyPast | None = None) -> tuple[Stage, int]:
        """The wizard's Save: stage, interval, backfill and field map, the settings file written once.
        ``already_past``: the stage page's read, reused when it still fits (same stage, same saved
        stage); "already past" is then decided as of that read, which is also where the cursor starts."""
        return self.configure(trigger_stage, interval_seconds=interval_seconds, backfill=backfill,
                              field_map=field_map, already_past=already_past)

    def configure(self, trigger_stage: str, *, interval_seconds: int | None = None, backfill: bool = False,
                  field_map: dict[str, str] | None = None, already_past: AlreadyPast | None = None) -> tuple[Stage, int]:
        """Save the trigger; the count returned is of the opportunities already past it. Only the first
        setup, a real change of stage or ``backfill`` touch what is "already past" (docs/sync.md,
        "Configure rules"); the same stage again only saves the interval (and ``field_map``)."""
        settings = self.connector.settings()
        sync = settings.sync
        if interval_seconds == AUTOMATIC:  # the interval follows the org's allowance (core.cadence)
            sync.interval_explicit = False
        elif interval_seconds is not None:  # the admin's choice: it wins over the derived interval
            sync.interval_seconds = _check_interval("sync.interval_seconds", interval_seconds)
            sync.interval_explicit = True
        if field_map is not None:
            sync.field_map = dict(field_map)
        if sync.configured and sync.trigger_stage == trigger_stage and not backfill:
            fits = already_past is not None and already_past.stage.api_name == trigger_stage
            stage = already_past.stage if fits else _usable_stage(self.stages(), trigger_stage)  # type: ignore[union-attr]
            sync.trigger_stage_label = stage.label
            settings.save(self.profile)
            store = self.open_store()
            try:
                return stage, len(store.excluded_ids())
            finally:
                store.close()
        old_stage = sync.trigger_stage if sync.configured and sync.trigger_stage != trigger_stage else ""
        past = already_past
        if past is None or past.stage.api_name != trigger_stage or past.old_stage != old_stage:
            past = self.already_past(trigger_stage)
        if old_stage:
            return self._change_stage(settings, past, backfill)
        stage = past.stage
        sync.trigger_stage, sync.trigger_stage_label, sync.backfill = stage.api_name, stage.label, backfill
        now = self._now()
        # The cursor is on Salesforce's clock (the HTTP Date of the read that counted what is
        # already past), as every later cycle's is: a machine whose clock is off would otherwise
        # skip, or re-read, the changes made between this read and the first cycle.
        read_at = past.read_at
        sync.configured_at = _iso(now)
        store = self.open_store()
        try:
            with store.transaction():
                store.clear_excluded()
                left_alone = [] if backfill else [i for i in past.ids if store.link(i) is None]
                store.exclude(left_alone)
                store.set_cursor(CURSOR, _iso(read_at))
                store.set_cursor(HISTORY_FLOOR, _iso(read_at))
                store.set_cursor(LAST_FULL, _iso(now))
                if backfill:  # the backfill happens in the next cycle's full read
                    store.set_cursor(LAST_FULL, _iso(now - FULL_RECONCILE_EVERY * 2))
        finally:
            store.close()
        settings.save(self.profile)
        return stage, len(past.ids)

    def _change_stage(self, settings: Settings, past: AlreadyPast, backfill: bool) -> tuple[Stage, int]:
        """A real change of stage: "already past" is recomputed for the new stage, except that an
        opportunity that reached the old stage after setup and has no project yet keeps its right to
        one; the cursor stays, and the next cycle reads in full so such wins are found."""
        stage, new, old = past.stage, past.new, past.old
        now = self._now()
        read_at = past.read_at  # stage changes before this read are judged by it, as at setup
        store = self.open_store()
        try:
            with store.transaction():
                was_excluded = set(store.excluded_ids())
                owed = {oid for oid, name in past.rows.items() if name in old and oid not in was_excluded}
                left_alone = [] if backfill else [oid for oid, name in past.rows.items() if name in new
                                                  and oid not in owed and store.link(oid) is None]
                store.clear_excluded()
                store.exclude(left_alone)
                store.set_cursor(HISTORY_FLOOR, _iso(read_at))
                store.set_cursor(LAST_FULL, _iso(now - FULL_RECONCILE_EVERY * 2))
        finally:
            store.close()
        sync = settings.sync
        sync.trigger_stage, sync.trigger_stage_label, sync.backfill = stage.api_name, stage.label, backfill
        sync.configured_at = _iso(now)
        settings.save(self.profile)
        return stage, len(past.ids)

    def update_settings(self, *, interval_seconds: int | None = None, writeback_interval_seconds: int | None = None,
                        api_budget_percent: float | None = None, field_map: dict[str, str] | None = None) -> Settings:
        """Change how often and how much the sync runs, or where figures are written, never what is
        "already past" (the GUI's Settings and `configure --interval` alone end here).
        ``interval_seconds=AUTOMATIC`` (0) gives the choice back to core.cadence; any other value is
        the admin's and wins."""
        settings = self.connector.settings()
        sync = settings.sync
        if interval_seconds == AUTOMATIC:
            sync.interval_explicit = False
        elif interval_seconds is not None:
            sync.interval_seconds = _check_interval("sync.interval_seconds", interval_seconds)
            sync.interval_explicit = True
        if writeback_interval_seconds is not None:
            sync.writeback_interval_seconds = _check_interval("sync.writeback_interval_seconds", writeback_interval_seconds)
        if api_budget_percent is not None:
            if not 0 < api_budget_percent <= 100:
                raise ConfigInvalid("sync.api_budget_percent", "The API budget is a share of the org's daily "
                                                               "allowance: more than 0 and at most 100 percent.")
            sync.api_budget_percent = float(api_budget_percent)
        if field_map is not None:
            sync.field_map = dict(field_map)
        settings.save(self.profile)
        return settings

    def trigger_interval(self) -> cadence.TriggerInterval:
        """Seconds between trigger cycles now: the admin's, or derived from the org's allowance."""
        return cadence.effective_interval(self.profile, self.connector.settings())

    # ---- one cycle -------------------------------------------------------------------------------
    def run_cycle(self, *, cancel: threading.Event | None = None, progress: Callable[[int, int], None] | None = None,
                  full: bool = False, wait_for_lock: float = 60.0, on_wait: WaitCallback | None = None) -> CycleReport:
        """One trigger cycle under the shared harness (core.cycle): raises only for "cannot even
        start" problems (not configured, another copy running); everything else is in the report."""
        cancel = cancel or threading.Event()

        def work(cycle_id: int, settings: Settings, store: Store) -> str:
            c = _Cycle(cycle_id, settings, store, self.salesforce_client(), self._now(), cancel, progress)
            return self._work(c, full)

        return self.cycles.run("trigger", work, cancel=cancel, wait_for_lock=wait_for_lock, on_wait=on_wait)

    def run_writeback_cycle(self, *, cancel: threading.Event | None = None, wait_for_lock: float = 60.0,
                            on_wait: WaitCallback | None = None) -> CycleReport:
        """BigTime's figures for the linked projects that changed, into Salesforce (core.writeback)."""
        return writeback.run_cycle(self.cycles, HISTORY_FLOOR, cancel=cancel, wait_for_lock=wait_for_lock,
                                   on_wait=on_wait)

    # ---- clients, kept across cycles (core.cycle) ---------------------------------------------------
    def salesforce_client(self) -> SalesforceClient:
        return self.cycles.salesforce()

    def bigtime_client(self) -> bt.BigTimeClient:
        return self.cycles.bigtime()

    def _work(self, c: _Cycle, full: bool) -> str:
        cached = c.store.cursor(METADATA)
        if cached and c.store.links_not_written_back():
            # Resume first what an earlier cycle left (stopped by the budget, or offline): the project
            # ids owed. The cached field list of any age will do for that, so a tight budget is spent
            # on finishing work before reading more.
            c.metadata = _Metadata.from_json(cached)
            self._write_project_ids(c)
            if c.stopped_by is not None:
                raise c.stopped_by
        c.metadata = self._metadata(c)
        trigger = self._trigger_stage(c)
        triggering = {s.api_name for s in self.triggering_stages(c.metadata.stages, trigger.api_name)}

        cursor_text = c.store.cursor(CURSOR)
        last_full_text = c.store.cursor(LAST_FULL)
        cursor = _parse(cursor_text) if cursor_text else None
        # The gap that matters is the time since we last read, not since the last change: the cursor
        # stays at the newest change, so in a quiet org it would make every cycle a full one.
        last_read_text = c.store.cursor(LAST_READ) or cursor_text
        last_read = _parse(last_read_text) if last_read_text else None
        due_full = (full or cursor is None or last_read is None or c.started - last_read > DELETED_RETENTION
                    or not last_full_text or c.started - _parse(last_full_text) > FULL_RECONCILE_EVERY)

        # Stage history from where this read starts, never before the set-up's read (what was past
        # the stage then is "already past"; what came and went before it is not replayed).
        floor_text = c.store.cursor(HISTORY_FLOOR)
        starts = ([cursor - LOOKBACK] if cursor else []) + ([_parse(floor_text)] if floor_text else [])
        c.history_since = max(starts, default=None)
        records = self._read_full(c, triggering, cursor) if due_full else self._read_changes(c, cursor)  # type: ignore[arg-type]
        records.update(self._read_unfinished(c, exclude=set(records)))
        newest = max((r.get("SystemModstamp") or "" for r in records.values()), default="")

        total = len(records)
        for done, record in enumerate(sorted(records.values(), key=lambda r: (r.get("SystemModstamp") or "", r["Id"])), 1):
            if c.cancel.is_set() or c.stopped_by is not None:
                break
            self._handle(c, record, triggering)
            if c.progress:
                c.progress(done, total)
        self._write_project_ids(c)

        if c.stopped_by is not None:
            raise c.stopped_by
        if c.cancel.is_set():
            return "Stopped before the end; the next cycle picks up where this one left off."
        with c.store.transaction():
            # Everything committed before the read started has been seen (late commits: the
            # lookback), so the next read starts there — by Salesforce's clock when it told us,
            # else by the newest row seen, never past our own start.
            if c.read_at is not None:
                reached = c.read_at
            elif newest:
                reached = min(_parse(newest), c.started)
            else:
                reached = c.started
            if cursor is None or reached > cursor:
                c.store.set_cursor(CURSOR, _iso(reached))
            if due_full:
                c.store.set_cursor(LAST_FULL, _iso(c.started))
            c.store.set_cursor(LAST_READ, _iso(c.started))
        return "Full reconcile done." if due_full else ""

    # ---- metadata ---------------------------------------------------------------------------------
    def _metadata(self, c: _Cycle, force: bool = False) -> _Metadata:
        cached = c.store.cursor(METADATA)
        if cached and not force:
            meta = _Metadata.from_json(cached)
            if c.started - meta.fetched_at < METADATA_MAX_AGE:
                return meta
        c.sf.new_cycle()  # drop the client's describe cache: fields added in Salesforce are seen
        stages = c.sf.stages()
        fields = {name.lower() for name in c.sf.fields("Opportunity")}
        meta = _Metadata(stages, fields, c.started)
        with c.store.transaction():
            c.store.set_cursor(METADATA, meta.to_json())
        return meta

    def _trigger_stage(self, c: _Cycle) -> Stage:
        assert c.metadata is not None
        wanted = c.settings.sync.trigger_stage
        stage = next((s for s in c.metadata.stages if s.api_name == wanted), None)
        if stage is None or not stage.is_active:
            fresh = self._metadata(c, force=True)
            c.metadata = fresh
            stage = next((s for s in fresh.stages if s.api_name == wanted), None)
        label = c.settings.sync.trigger_stage_label or wanted
        if stage is None:
            raise PickStageAgain(f"The trigger stage {label!r} no longer exists in Salesforce. Pick the stage again "
                                 "(Settings… or `bigsync-gui configure --trigger-stage`); nothing is synced until then.")
        if not stage.is_active:
            raise PickStageAgain(f"The trigger stage {label!r} was deactivated in Salesforce. Pick the stage again; "
                                 "nothing is synced until then.")
        return stage

    # ---- reading ---------------------------------------------------------------------------------
    def _select(self, c: _Cycle) -> str:
        assert c.metadata is not None
        fields = ["Id", "Name", "StageName", "IsDeleted", "AccountId", "CloseDate", "Amount", "Description", "SystemModstamp",
                  "LastModifiedDate"]
        fields += [f"Account.{f}" for f in (*ACCOUNT_FIELDS, "LastModifiedDate")]
        id_field = c.settings.sync.field_map.get("project_id")
        if id_field and id_field.lower() in c.metadata.opportunity_fields:
            fields.append(id_field)
        roles = ", ".join(["ContactId", "Role", "IsPrimary", *(f"Contact.{f}" for f in CONTACT_FIELDS)])
        history = ""
        if c.history_since is not None:  # the stages passed since the last read, in the same request
            history = soql.format_soql(", (SELECT StageName, CreatedDate FROM OpportunityHistories "
                                       "WHERE CreatedDate >= {} ORDER BY CreatedDate)", c.history_since)
        return f"SELECT {', '.join(fields)}, (SELECT {roles} FROM OpportunityContactRoles){history} FROM Opportunity"

    def _read_changes(self, c: _Cycle, cursor: datetime) -> dict[str, dict[str, Any]]:
        since = cursor - LOOKBACK
        query = self._select(c) + soql.format_soql(" WHERE SystemModstamp >= {} ORDER BY SystemModstamp, Id", since)
        rows = c.sf.query_all(query)  # the first page is fetched here: Salesforce's time of the read
        c.read_at = c.sf.server_time
        return {r["Id"]: r for r in rows}

    def _read_full(self, c: _Cycle, triggering: set[str], cursor: datetime | None) -> dict[str, dict[str, Any]]:
        """Every opportunity at or past the trigger, those changed since the cursor (a stage passed
        since then shows in their history only), and the linked ones."""
        where = soql.format_soql(" WHERE StageName IN {}", sorted(triggering))
        if cursor is not None:
            where = soql.format_soql(" WHERE (StageName IN {} OR SystemModstamp >= {})", sorted(triggering), cursor - LOOKBACK)
        rows = c.sf.query(self._select(c) + where + " ORDER BY SystemModstamp, Id")
        c.read_at = c.sf.server_time
        records = {r["Id"]: r for r in rows}
        linked = [link.opportunity_id for link in c.store.links()]
        records.update(self._read_ids(c, [i for i in linked if i not in records], sever_missing=True))
        return records

    def _read_unfinished(self, c: _Cycle, exclude: set[str]) -> dict[str, dict[str, Any]]:
        """Opportunities whose create was left unfinished are read again, whatever the cursor says."""
        pending = [i.opportunity_id for i in c.store.intents("pending") if i.opportunity_id not in exclude]
        return self._read_ids(c, pending, sever_missing=False)

    def _read_ids(self, c: _Cycle, ids: list[str], sever_missing: bool) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start:start + ID_CHUNK]
            found.update({r["Id"]: r for r in c.sf.query_all(self._select(c) + soql.format_soql(" WHERE Id IN {}", chunk))})
        if sever_missing:  # gone from the recycle bin too (hard-deleted): the link is severed
            for missing in (i for i in ids if i not in found):
                link = c.store.link(missing)
                if link and link.status == "linked":
                    with c.store.transaction():
                        c.store.set_link_status(missing, "severed")
                        c.store.event(c.id, "severed", f"{link.opportunity_name} was deleted for good in Salesforce; "
                                                       "the BigTime project stays.", missing, link.project_id)
        return found

    # ---- deciding ---------------------------------------------------------------------------------
    def _handle(self, c: _Cycle, record: dict[str, Any], triggering: set[str]) -> None:
        assert c.metadata is not None
        oid, name = record["Id"], str(record.get("Name") or record["Id"])
        link = c.store.link(oid)
        if record.get("IsDeleted"):
            if link is None:
                link = self._settle_unfinished(c, record)
            if link and link.status == "linked":
                with c.store.transaction():
                    c.store.set_link_status(oid, "severed")
                    c.store.event(c.id, "severed", f"{name} was deleted in Salesforce; the link to BigTime project "
                                                   f"{link.project_id} is severed and the project stays.", oid, link.project_id)
                c.write_project_ids.pop(oid, None)  # written when it is restored
            return
        if link and link.status == "severed":
            with c.store.transaction():
                c.store.set_link_status(oid, "linked")
                c.store.event(c.id, "restored", f"{name} was restored in Salesforce; its link to BigTime project "
                                                f"{link.project_id} is back.", oid, link.project_id)
            return
        path = _stage_path(record)
        known = {s.api_name for s in c.metadata.stages}
        if any(stage not in known for _, stage in path):
            c.metadata = self._metadata(c, force=True)
            triggering.clear()
            triggering.update(s.api_name for s in self.triggering_stages(c.metadata.stages, self._trigger_stage(c).api_name))
        reached = self._reached(c, oid, path, triggering)
        if reached is None:
            if link is None:
                self._settle_unfinished(c, record)
            return
        if link is not None:
            return
        intent = c.store.intent(oid)
        if intent and intent.state == "failed" and intent.failed_modstamp == (record.get("SystemModstamp") or ""):
            return  # refused before and unchanged since
        if intent and intent.state == "created" and intent.project_id:
            self._link(c, record, intent.project_id, None, "linked")  # the link row was lost: restore it
            return
        self._create(c, record)
        now_at = record.get("StageName")
        created = c.store.link(oid)
        if now_at not in triggering and created is not None:
            labels = {s.api_name: s.label for s in c.metadata.stages}
            with c.store.transaction():
                c.store.event(c.id, "warning", f"{name} reached {labels.get(reached, reached)!r} and was at "
                                               f"{labels.get(now_at, now_at)!r} by the time it was read. Reaching the "
                                               f"trigger stage creates the project, so BigTime project {created.project_id} "
                                               "stays; if the win was a mistake, close the project in BigTime.",
                              oid, created.project_id)

    def _reached(self, c: _Cycle, oid: str, path: list[tuple[str, str]], triggering: set[str]) -> str | None:
        """The last trigger-or-later stage the opportunity was at since the last read (None: none
        that counts). Walked in order: one left alone at set-up ("already past") is released when it
        is below the stage (closed-lost is not below), and only reaching it after that counts — also
        when the same history is read again (the lookback, a failed cycle)."""
        assert c.metadata is not None
        closed = {s.api_name for s in c.metadata.stages if s.is_closed}
        released = c.store.released_at(oid)  # None: never left alone; "": still left alone
        reached = None
        for at, stage in path:
            if stage in triggering:
                if released is None or (released and at > released):
                    reached = stage
            elif released == "" and stage not in closed:
                released = at
                with c.store.transaction():
                    c.store.release(oid, at)
        return reached

    def _settle_unfinished(self, c: _Cycle, record: dict[str, Any]) -> Any:
        """A create left unfinished by a failed cycle, for an opportunity that is not to be created now
        (deleted, back below the stage): the request may have reached BigTime, so look the project up —
        found, it is linked (it exists and belongs to this opportunity); not found, the intent is dropped.
        Without this the intent stayed pending (re-read every cycle) and a project whose answer was
        lost stayed unknown to the store."""
        oid = record["Id"]
        intent = c.store.intent(oid)
        if intent is None or intent.state != "pending":
            return None
        try:
            project_id = self._find_project(c, record)
            if project_id is None:
                with c.store.transaction():
                    c.store.drop_intent(oid)
                return None
            if not record.get("IsDeleted"):
                self._attach_contacts(c, record, project_id, check_existing=True)
            self._link(c, record, project_id, None, "created")
        except (Transient, ce.ReconnectNeeded, ce.NotConnected, ce.UnexpectedResponse, ce.RequestRejected) as exc:
            c.stopped_by = c.stopped_by or exc  # still pending: the next cycle tries again
            return None
        return c.store.link(oid)

    # ---- BigTime side ------------------------------------------------------------------------------
    def _bigtime(self, c: _Cycle) -> bt.BigTimeClient:
        if c.bt_client is None:
            c.bt_client = self.bigtime_client()
        return c.bt_client

    def _projects(self, c: _Cycle) -> tuple[dict[str, int], set[int]]:
        """BigTime's projects by exact (trimmed) code, and their ids: one list read per cycle."""
        if c.projects_by_code is None or c.project_ids is None:
            c.projects = [p for p in self._bigtime(c).projects(include_inactive=True) if p.id is not None]
            c.projects_by_code = {p.code.strip(): p.id for p in c.projects if p.code}  # type: ignore[misc]
            c.project_ids = {p.id for p in c.projects}  # type: ignore[misc]
        return c.projects_by_code, c.project_ids

    def _find_project(self, c: _Cycle, record: dict[str, Any]) -> int | None:
        """The opportunity's project, if BigTime has it: under any of its codes (the 18-character id
        form also ignoring case), or under a code BigTime cut — unique while it still holds the
        15-character id, else only with the opportunity's name and no other claim on it. A cut code
        found is made whole (the form that fits) and its length remembered."""
        oid = record["Id"]
        by_code, _ = self._projects(c)
        forms = project_codes(oid)
        for code in forms:
            if code in by_code:
                return by_code[code]
        longest = forms[0].upper()
        for code, project_id in by_code.items():
            if code.upper() == longest:
                return project_id
        name = _norm(str(record.get("Name") or ""))
        cut = [p for p in c.projects or [] if p.code and forms[0].startswith(p.code.strip())
               and len(p.code.strip()) >= bt_assumptions.PROJECT_CODE_MIN_LENGTH
               and (len(p.code.strip()) >= len(PROJECT_CODE_PREFIX) + 15 or _norm(p.name or "") == name)
               and c.store.link_for_project(p.id) is None]  # type: ignore[arg-type]
        if len(cut) != 1:
            return None
        self._repair_code(c, record, cut[0].id, cut[0].code.strip())  # type: ignore[arg-type, union-attr]
        return cut[0].id

    def _code_max(self, c: _Cycle) -> int | None:
        value = c.store.cursor(CODE_MAX)
        return int(value) if value else None

    def _learn_code_max(self, c: _Cycle, length: int) -> None:
        known = self._code_max(c)
        if known is None or length < known:
            with c.store.transaction():
                c.store.set_cursor(CODE_MAX, str(length))
            log.info("BigTime keeps at most %d characters of a project code: new projects get the longest code "
                     "with the opportunity id that fits.", length)

    def _repair_code(self, c: _Cycle, record: dict[str, Any], project_id: int, kept: str) -> None:
        """BigTime cut the code it was sent to ``kept``: remember the length, and give the project the
        form that fits (an update, safe to repeat), so it is found by its code again."""
        self._learn_code_max(c, len(kept))
        fitting = project_code(record["Id"], len(kept))
        if len(fitting) > len(kept):
            with c.store.transaction():
                c.store.event(c.id, "warning", f"BigTime keeps only {len(kept)} characters of a project code, too few to "
                                               f"identify the opportunity; project {project_id} is linked by its id only.",
                              record["Id"], project_id)
            return
        if fitting != kept:
            self._bigtime(c).update_project(project_id, {"ProjectCode": fitting})
        if c.projects_by_code is not None:
            c.projects_by_code[fitting] = project_id

    def _create_project(self, c: _Cycle, record: dict[str, Any], fields: dict[str, Any]) -> int:
        """Create the project under the longest code that fits what is known of BigTime's limit; a
        400 about the code's length (nothing created) tries the next shorter form, a code that
        comes back cut is repaired (see ``_repair_code``)."""
        limit = self._code_max(c)
        forms = [code for code in project_codes(record["Id"]) if limit is None or len(code) <= limit]
        forms = forms or [project_codes(record["Id"])[-1]]
        for index, code in enumerate(forms):
            fields["ProjectCode"] = code
            try:
                created = self._bigtime(c).create_project_record(fields)
            except ce.RequestRejected as exc:
                shorter = index + 1 < len(forms)
                if exc.status == 400 and shorter and bt_assumptions.refuses_code_length(exc.message):
                    self._learn_code_max(c, len(code) - 1)
                    continue
                raise
            project_id = created.id or 0
            kept = (created.code or "").strip()
            if c.projects_by_code is not None and c.project_ids is not None:
                c.projects_by_code[kept or code] = project_id
                c.project_ids.add(project_id)
            if kept and kept != code and code.startswith(kept):
                self._repair_code(c, record, project_id, kept)
            return project_id
        raise AssertionError("unreachable")

    def _clients(self, c: _Cycle) -> tuple[dict[str, int], dict[str, int]]:
        if c.clients_by_code is None or c.clients_by_name is None:
            clients = self._bigtime(c).clients(include_inactive=True)
            c.clients_by_code = {cl.code.strip().upper(): cl.id for cl in clients if cl.code and cl.id is not None}
            c.clients_by_name = {}
            for cl in sorted(clients, key=lambda cl: (bool(cl.is_inactive), cl.id or 0)):
                if cl.name and cl.id is not None:
                    c.clients_by_name.setdefault(_norm(cl.name), cl.id)
        return c.clients_by_code, c.clients_by_name

    def _reject(self, c: _Cycle, record: dict[str, Any], reason: str) -> None:
        oid = record["Id"]
        stamp = record.get("SystemModstamp") or ""
        if record.get("_claimed"):  # our claim moved the stamp: "unchanged since" is judged from after it
            stamp = c.sf.get("Opportunity", oid, ["SystemModstamp"]).get("SystemModstamp") or stamp
        with c.store.transaction():
            if c.store.intent(oid) is None:
                c.store.begin_intent(oid, project_code(oid))
            c.store.fail_intent(oid, reason, stamp)
            c.store.event(c.id, "rejected", f"{record.get('Name') or oid}: {reason}", oid)

    def _create(self, c: _Cycle, record: dict[str, Any], resumed: bool = False) -> None:
        """Create (or find and link) the opportunity's project. A create refused by BigTime's rate
        limit (for at most ``RESUME_WITHIN`` s) is resumed once in this cycle, after the limiter's
        hold, the way an unfinished one is: BigTime's lists are read afresh and what exists is
        linked, not sent again."""
        oid, code = record["Id"], project_code(record["Id"])
        name = str(record.get("Name") or "").strip()
        id_field = c.settings.sync.field_map.get("project_id", "")
        named = record.get(id_field) if id_field else None
        try:
            if (not named or str(named).startswith(CLAIM_PREFIX)) and self._claimable(c, id_field):
                record = self._claim(c, record, id_field)
                if record is None:
                    return  # another installation creates it; linked when its project id is written
                named = record.get(id_field)
                if str(named).startswith(CLAIM_PREFIX):
                    named = None
            if named:  # the opportunity already names its project (another installation's, or the state file was lost)
                _, ids = self._projects(c)
                project_id = int(str(named)) if str(named).isdigit() else None
                if project_id not in ids and project_id is not None:
                    c.projects_by_code = c.project_ids = None  # created since this cycle read BigTime's list
                    _, ids = self._projects(c)
                if project_id in ids:
                    self._link(c, record, project_id, None, "linked")  # type: ignore[arg-type]
                    c.write_project_ids.pop(oid, None)  # the opportunity names it already
                    with c.store.transaction():
                        c.store.mark_written_back([oid])
                    return
                self._reject(c, record, f"it names BigTime project {named}, which does not exist. Clear the "
                                        f"{id_field} field to have a new project created.")
                return
            with c.store.transaction():
                intent = c.store.begin_intent(oid, code)  # committed before anything is sent
            if intent.attempts > 1 or record.get("_took_over"):  # an earlier attempt may have worked: look first
                if record.get("_took_over"):
                    c.projects_by_code = c.project_ids = None  # another installation's create may be newer than the list
                found = self._find_project(c, record)
                if found is not None:
                    self._attach_contacts(c, record, found, check_existing=True)
                    self._link(c, record, found, None, "created")
                    return
            if not name:
                self._reject(c, record, "the opportunity has no name.")
                return
            client_id = self._client_for(c, record)
            if client_id is None:
                return
            fields: dict[str, Any] = {"Nm": name, "ClientId": client_id, "ProjectCode": code}
            if record.get("CloseDate"):
                fields["StartDt"] = record["CloseDate"]
            if record.get("Description"):
                fields["Notes"] = record["Description"]
            if isinstance(record.get("Amount"), (int, float)) and "budget_fees" in c.settings.sync.field_map:
                fields["BudgetFees"] = record["Amount"]
            project_id = self._create_project(c, record, fields)
            self._attach_contacts(c, record, project_id, check_existing=False)
            self._link(c, record, project_id, client_id, "created")
        except ce.PermissionDenied as exc:  # not this record's fault: stop, and retry once the right is granted
            c.stopped_by = exc
        except ce.RequestRejected as exc:
            self._reject(c, record, f"BigTime refused it: {exc.message}")
        except ce.RateLimited as exc:
            if resumed or c.cancel.is_set() or exc.retry_after > RESUME_WITHIN:
                c.stopped_by = exc  # still limited: the loop waits; the intent stays pending
                return
            c.projects_by_code = c.project_ids = c.clients_by_code = c.clients_by_name = None
            self._create(c, record, resumed=True)
        except (Transient, ce.ReconnectNeeded, ce.NotConnected, ce.UnexpectedResponse) as exc:
            c.stopped_by = exc  # the intent stays pending; the next cycle reconciles it

    # ---- claims: exactly once across installations (docs/sync.md, "Two installations") ---------------
    def _installation(self, c: _Cycle) -> str:
        mine = c.store.cursor(INSTALLATION)
        if not mine:
            mine = secrets.token_hex(4)
            with c.store.transaction():
                c.store.set_cursor(INSTALLATION, mine)
        return mine

    def _claimable(self, c: _Cycle, id_field: str) -> bool:
        return bool(id_field) and c.metadata is not None and id_field.lower() in c.metadata.opportunity_fields

    def _settle(self, c: _Cycle, modified: datetime) -> None:
        """If-Unmodified-Since has whole seconds: a claim is sent only once Salesforce's clock has left
        the second of the stamp it is conditioned on, so any other claim is stamped later and refused.
        At most one second's wait, and only for a record changed in the second of our last answer."""
        second = modified.replace(microsecond=0)
        server = c.sf.server_time
        if c.settled_second is not None and second <= c.settled_second:
            return
        if server is None or second >= server.replace(microsecond=0):
            c.cancel.wait(1.0)
        c.settled_second = max(second, (server or second).replace(microsecond=0))

    def _claim(self, c: _Cycle, record: dict[str, Any], id_field: str) -> dict[str, Any] | None:
        """Claim the opportunity before creating its project: ``claim:<installation>:<time>`` written into
        the project id field with If-Unmodified-Since its LastModifiedDate (Salesforce answers 412 when
        another wrote it since). Returns the record as claimed (or naming its project: the caller links
        it), or None when another installation holds a live claim (the intent stays pending, re-read)."""
        oid, mine = record["Id"], self._installation(c)
        for _ in range(2):
            value = str(record.get(id_field) or "")
            if value and not value.startswith(CLAIM_PREFIX):
                return record
            held = _claim_of(value)
            now = c.sf.server_time or self._now()
            took_over = held is not None and held[0] != mine
            if took_over and now - held[1] < CLAIM_LEASE:  # type: ignore[index]
                self._defer(c, record, held[0])  # type: ignore[index]
                return None
            modified = _parse(record["LastModifiedDate"])
            self._settle(c, modified)
            claim = f"{CLAIM_PREFIX}{mine}:{int((c.sf.server_time or now).timestamp())}"  # fits a 40-character field
            if c.sf.update_if_unmodified("Opportunity", oid, {id_field: claim}, modified):
                if took_over:
                    with c.store.transaction():
                        c.store.event(c.id, "warning", f"Another bigsync-gui installation ({held[0]}) claimed "  # type: ignore[index]
                                      f"{record.get('Name') or oid} more than {hours(CLAIM_LEASE.total_seconds())} ago "
                                      "and did not finish; this installation took it over.", oid)
                return {**record, id_field: claim, "_took_over": took_over, "_claimed": True}
            fresh = c.sf.get("Opportunity", oid, [id_field, "LastModifiedDate"])
            record = {**record, id_field: fresh.get(id_field), "LastModifiedDate": fresh["LastModifiedDate"]}
        held = _claim_of(str(record.get(id_field) or ""))
        if held is not None and held[0] == mine:
            return {**record, "_took_over": False, "_claimed": True}
        self._defer(c, record, held[0] if held else "unknown")
        return None

    def _defer(self, c: _Cycle, record: dict[str, Any], other: str) -> None:
        """Another installation is creating this project: keep a pending intent so the opportunity is
        read again each cycle until its project id is written (then linked) or the claim expires."""
        oid = record["Id"]
        with c.store.transaction():
            first = c.store.intent(oid) is None
            c.store.begin_intent(oid, project_code(oid))
            if first:
                c.store.event(c.id, "warning", f"Another bigsync-gui installation ({other}) is syncing this Salesforce org "
                                               f"and is creating the project for {record.get('Name') or oid}; this "
                                               "installation links to it instead of creating a second one.", oid)

    def _claim_account(self, c: _Cycle, account_id: str, account: dict[str, Any]) -> bool:
        """The right to create the account's client: an empty update of the Account with
        If-Unmodified-Since its LastModifiedDate (the Account has no field of ours to hold a claim
        value; the update only moves its stamp). Refused (412): another installation is creating it."""
        stamp = account.get("LastModifiedDate")
        if not stamp:
            return True
        modified = _parse(stamp)
        self._settle(c, modified)
        if not c.sf.update_if_unmodified("Account", account_id, {}, modified):
            return False
        c.clients_by_code = c.clients_by_name = None
        return True

    def _client_for(self, c: _Cycle, record: dict[str, Any]) -> int | None:
        account_id = record.get("AccountId")
        account = record.get("Account") or {}
        if not account_id:
            if c.settings.sync.default_client_id:
                return c.settings.sync.default_client_id
            self._reject(c, record, "the opportunity has no account, so there is no BigTime client to put the project under. "
                                    "Give it an account (or set a default client).")
            return None
        known = c.store.client_for_account(account_id)
        if known and known[2] == "linked" and known[0] is not None:
            return known[0]
        by_code, by_name = self._clients(c)
        code = client_code(account_id)
        if code.upper() in by_code:  # created by an earlier attempt whose answer was lost
            client_id = by_code[code.upper()]
        elif account.get("Name") and _norm(account["Name"]) in by_name:
            client_id = by_name[_norm(account["Name"])]
        else:
            if not self._claim_account(c, account_id, account):
                return None  # another installation is creating it: this opportunity waits a cycle (pending)
            by_code, by_name = self._clients(c)  # read again after the claim: another's create shows now
            if code.upper() in by_code:
                client_id = by_code[code.upper()]
                with c.store.transaction():
                    c.store.link_client(account_id, client_id, code)
                return client_id
            with c.store.transaction():
                c.store.begin_client(account_id, code)
            client_id = self._bigtime(c).create_client(_client_fields(account, code))
            by_code[code.upper()] = client_id
            by_name.setdefault(_norm(account.get("Name") or code), client_id)
            with c.store.transaction():
                c.store.event(c.id, "client", f"Created BigTime client {account.get('Name') or code}.", record["Id"])
        with c.store.transaction():
            c.store.link_client(account_id, client_id, code)
        return client_id

    def _attach_contacts(self, c: _Cycle, record: dict[str, Any], project_id: int, check_existing: bool) -> None:
        """The opportunity's contact roles onto its new project (core.contacts). A refused contact
        must not leave the project unlinked (and the opportunity "refused"): it is reported."""
        def warn(message: str) -> None:
            with c.store.transaction():
                c.store.event(c.id, "warning", message, record["Id"], project_id)

        roles = (record.get("OpportunityContactRoles") or {}).get("records") or []
        contacts.add_roles(self._bigtime(c), project_id, roles, warn, check_existing=check_existing)

    def _link(self, c: _Cycle, record: dict[str, Any], project_id: int, client_id: int | None, how: str) -> None:
        oid, name = record["Id"], str(record.get("Name") or record["Id"])
        with c.store.transaction():
            c.store.finish_intent(oid, project_id) if c.store.intent(oid) else None
            c.store.add_link(oid, project_id, client_id, record.get("AccountId"), name)
            message = (f"Created BigTime project {project_id} for {name}." if how == "created"
                       else f"Linked {name} to its existing BigTime project {project_id}.")
            c.store.event(c.id, how, message, oid, project_id)
        c.write_project_ids[oid] = project_id

    def _write_project_ids(self, c: _Cycle) -> None:
        """The project id (and page URL) onto each newly linked opportunity: the link's second record."""
        assert c.metadata is not None
        for link in c.store.links_not_written_back():
            if link.opportunity_id not in c.written_ids_tried:
                c.write_project_ids.setdefault(link.opportunity_id, link.project_id)
        if not c.write_project_ids:
            return
        id_field = c.settings.sync.field_map.get("project_id", "")
        if not id_field or id_field.lower() not in c.metadata.opportunity_fields:
            with c.store.transaction():
                c.store.mark_written_back(list(c.write_project_ids))
            return
        rows = [{"Id": oid, id_field: str(pid)} for oid, pid in c.write_project_ids.items()]
        for start in range(0, len(rows), COLLECTION_CHUNK):  # each chunk's marks committed: a stop loses none
            chunk = rows[start:start + COLLECTION_CHUNK]
            try:
                results = c.sf.update_many("Opportunity", chunk)
            except Transient as exc:
                c.stopped_by = c.stopped_by or exc
                return
            with c.store.transaction():
                c.store.mark_written_back([row["Id"] for row, res in zip(chunk, results) if res.success])
                for row, res in zip(chunk, results):
                    if not res.success:
                        deleted = any(e.code == "ENTITY_IS_DELETED" for e in res.errors)
                        if not deleted:  # deleted meanwhile: the next read severs the link; written when restored
                            c.store.event(c.id, "warning", "Could not write the BigTime project id onto the opportunity: "
                                          + "; ".join(e.message for e in res.errors), row["Id"])
            for row in chunk:
                c.write_project_ids.pop(row["Id"], None)
                c.written_ids_tried.add(row["Id"])


def _claim_of(value: str) -> tuple[str, datetime] | None:
    """(installation, when) of a ``claim:<installation>:<Unix seconds>`` value, else None."""
    if not value.startswith(CLAIM_PREFIX):
        return None
    who, _, when = value[len(CLAIM_PREFIX):].partition(":")
    try:
        return who, datetime.fromtimestamp(int(when), timezone.utc)
    except (ValueError, OverflowError):
        return who, datetime.min.replace(tzinfo=timezone.utc)  # unreadable: treated as expired


def _stage_path(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(when, stage): the stages an opportunity was at since the history's start, oldest first, then
    its stage now (when: its SystemModstamp, the latest it can have changed). Salesforce's stamps,
    all in one format, so they compare as text."""
    rows = (record.get("OpportunityHistories") or {}).get("records") or []
    path = sorted((r.get("CreatedDate") or "", r["StageName"]) for r in rows if r.get("StageName"))
    if record.get("StageName"):
        path.append((record.get("SystemModstamp") or "", record["StageName"]))
    return path


def _client_fields(account: dict[str, Any], code: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"Nm": (account.get("Name") or code).strip(), "ClientId": code}
    for sf_name, bt_name in (("BillingStreet", "Address"), ("BillingCity", "City"), ("BillingState", "State"),
                             ("BillingPostalCode", "Zip"), ("BillingCountry", "Country"), ("Phone", "MainPH"),
                             ("Fax", "MainFX"), ("Description", "Notes")):
        if account.get(sf_name):
            fields[bt_name] = account[sf_name]
    return fields

