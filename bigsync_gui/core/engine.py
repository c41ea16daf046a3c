"""The sync engine: one cycle turns opportunities that reached the trigger stage into BigTime
projects — exactly once — and keeps the links in step with deletes and restores.

The contract is docs/design.md, "Sync semantics". How each promise is kept:

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

This module reads and decides (configure, the read, which opportunity gets a project);
core.creation creates and links (core.claims across installations); core.cycle is the harness
every cycle runs under, shared with the write-back (core.writeback).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..connectors import bigtime as bt
from ..connectors import soql
from ..connectors.salesforce import SalesforceClient, Stage
from ..connectors.timestamps import parse_timestamp
from . import batches, cadence, creation, reads, writeback
from .connections import Connector
from .cycle import CycleRunner, CycleState, Metadata, WaitCallback, Waiter, wait_on
from .cycle_report import CycleReport
from .errors import ConfigInvalid
from .settings import Settings
from .store import Store
from .streaming import POSITION_CURSOR, StreamWork

FULL_RECONCILE_EVERY = timedelta(hours=24)
DELETED_RETENTION = timedelta(days=15)  # Salesforce's recycle bin / getDeleted window
AUTOMATIC = 0  # update_settings(interval_seconds=AUTOMATIC): the interval follows the budget (core.cadence)

CURSOR = "opportunity_modstamp"
LAST_FULL = "last_full_reconcile"
LAST_READ = "last_read"  # when the last cycle that read everything changed (start time, engine clock)
HISTORY_FLOOR = "stage_history_floor"  # the setup's read (Salesforce's time): stage changes before it were its to judge


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


def _usable_stage(stages: list[Stage], api_name: str) -> Stage:
    """The stage a trigger can be: it exists, is active and is not closed-lost."""
    stage = next((s for s in stages if s.api_name == api_name), None)
    if stage is None:
        raise ConfigInvalid(
            "sync.trigger_stage",
            f"There is no opportunity stage with the API name {api_name!r}. "
            "Run `bigsync-gui stages` to see the org's stages.",
        )
    if stage.is_closed_lost:
        raise ConfigInvalid(
            "sync.trigger_stage", f"{stage.label!r} is a closed-lost stage: it never creates projects. Pick another."
        )
    if not stage.is_active:
        raise ConfigInvalid(
            "sync.trigger_stage", f"{stage.label!r} is not an active stage in Salesforce. Pick an active one."
        )
    return stage


def _check_interval(name: str, seconds: int) -> int:
    if seconds < 60:
        what = "write-back interval" if "writeback" in name else "sync interval"
        raise ConfigInvalid(name, f"The {what} must be at least 60 seconds.")
    return seconds


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


class Engine:
    """Runs cycles for one profile. Thread-safe to call from one worker thread at a time."""

    def __init__(
        self, connector: Connector, *, now: Callable[[], datetime] | None = None, wait: Waiter = wait_on
    ) -> None:
        """``wait``: how a cycle pauses for Salesforce's clock (core.claims); tests move the sandbox's clock instead."""
        self.connector = connector
        self.profile = connector.profile
        self._now = now or (lambda: datetime.now(timezone.utc))
        self._wait = wait
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
        old = (
            {s.api_name for s in self.triggering_stages(stages, old_stage)}
            if any(s.api_name == old_stage for s in stages)
            else set()
        )
        query = soql.format_soql("SELECT Id, StageName FROM Opportunity WHERE StageName IN {}", sorted(new | old))
        rows = {r["Id"]: r["StageName"] for r in sf.query(query)}
        return AlreadyPast(stage, rows, frozenset(new), old_stage, frozenset(old), sf.server_time or self._now())

    def save_setup(
        self,
        trigger_stage: str,
        interval_seconds: int,
        backfill: bool,
        field_map: dict[str, str],
        already_past: AlreadyPast | None = None,
    ) -> tuple[Stage, int]:
        """The wizard's Save: stage, interval, backfill and field map, the settings file written once.
        ``already_past``: the stage page's read, reused when it still fits (same stage, same saved
        stage); "already past" is then decided as of that read, which is also where the cursor starts."""
        return self.configure(
            trigger_stage,
            interval_seconds=interval_seconds,
            backfill=backfill,
            field_map=field_map,
            already_past=already_past,
        )

    def configure(
        self,
        trigger_stage: str,
        *,
        interval_seconds: int | None = None,
        backfill: bool = False,
        field_map: dict[str, str] | None = None,
        already_past: AlreadyPast | None = None,
    ) -> tuple[Stage, int]:
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
                self._remember_allowance(store)
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
            self._remember_allowance(store)
        finally:
            store.close()
        settings.save(self.profile)
        return stage, len(past.ids)

    def _remember_allowance(self, store: Store) -> None:
        """The allowance the set-up's reads saw: the interval after Save is the one shown before it."""
        usage = self.salesforce_client().api_usage
        if usage:
            with store.transaction():
                store.set_meta(cadence.DAILY_MAX_KEY, usage[1])

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
                left_alone = (
                    []
                    if backfill
                    else [
                        oid
                        for oid, name in past.rows.items()
                        if name in new and oid not in owed and store.link(oid) is None
                    ]
                )
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

    def update_settings(
        self,
        *,
        interval_seconds: int | None = None,
        writeback_interval_seconds: int | None = None,
        api_budget_percent: float | None = None,
        field_map: dict[str, str] | None = None,
    ) -> Settings:
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
            sync.writeback_interval_seconds = _check_interval(
                "sync.writeback_interval_seconds", writeback_interval_seconds
            )
        if api_budget_percent is not None:
            if not 0 < api_budget_percent <= 100:
                raise ConfigInvalid(
                    "sync.api_budget_percent",
                    "The API budget is a share of the org's daily allowance: more than 0 and at most 100 percent.",
                )
            sync.api_budget_percent = float(api_budget_percent)
        if field_map is not None:
            sync.field_map = dict(field_map)
        settings.save(self.profile)
        return settings

    def trigger_interval(self) -> cadence.TriggerInterval:
        """Seconds between trigger cycles now: the admin's, or derived from the org's allowance."""
        return cadence.effective_interval(self.profile, self.connector.settings())

    # ---- one cycle -------------------------------------------------------------------------------
    def run_cycle(
        self,
        *,
        cancel: threading.Event | None = None,
        progress: Callable[[int, int], None] | None = None,
        full: bool = False,
        wait_for_lock: float = 60.0,
        on_wait: WaitCallback | None = None,
        stream: StreamWork | None = None,
    ) -> CycleReport:
        """One trigger cycle under the shared harness (core.cycle): raises only for "cannot even
        start" problems (not configured, another copy running); everything else is in the report.
        ``stream`` (core.streaming): read only the records change events named, and store the
        stream's position with the cycle's commit."""
        cancel = cancel or threading.Event()

        def work(cycle_id: int, settings: Settings, store: Store) -> str:
            c = CycleState(
                cycle_id,
                settings,
                store,
                self.salesforce_client(),
                self._now(),
                cancel,
                progress,
                now=self._now,
                bigtime_client=self.bigtime_client,
                answer_window=self.connector.bigtime_answer_window(),
                wait=self._wait,
            )
            return self._work(c, full, stream)

        return self.cycles.run("trigger", work, cancel=cancel, wait_for_lock=wait_for_lock, on_wait=on_wait)

    def run_writeback_cycle(
        self, *, cancel: threading.Event | None = None, wait_for_lock: float = 60.0, on_wait: WaitCallback | None = None
    ) -> CycleReport:
        """BigTime's figures for the linked projects that changed, into Salesforce (core.writeback)."""
        return writeback.run_cycle(
            self.cycles, HISTORY_FLOOR, cancel=cancel, wait_for_lock=wait_for_lock, on_wait=on_wait
        )

    # ---- clients, kept across cycles (core.cycle) ---------------------------------------------------
    def salesforce_client(self) -> SalesforceClient:
        return self.cycles.salesforce()

    def bigtime_client(self) -> bt.BigTimeClient:
        return self.cycles.bigtime()

    def _work(self, c: CycleState, full: bool, stream: StreamWork | None = None) -> str:
        cached = c.store.get_meta(reads.METADATA)
        if cached and c.store.links_not_written_back():
            # Resume first what an earlier cycle left (stopped by the budget, or offline): the project
            # ids owed. The cached field list of any age will do for that, so a tight budget is spent
            # on finishing work before reading more.
            c.metadata = Metadata.from_dict(cached)
            batches.write_project_ids(c)
            if c.stopped_by is not None:
                raise c.stopped_by
        c.metadata = reads.metadata(c)
        trigger = reads.trigger_stage(c)
        triggering = {s.api_name for s in self.triggering_stages(c.metadata.stages, trigger.api_name)}

        cursor_text = c.store.cursor(CURSOR)
        last_full_text = c.store.cursor(LAST_FULL)
        cursor = parse_timestamp(cursor_text) if cursor_text else None
        # The gap that matters is the time since we last read, not since the last change: the cursor
        # stays at the newest change, so in a quiet org it would make every cycle a full one.
        last_read_text = c.store.cursor(LAST_READ) or cursor_text
        last_read = parse_timestamp(last_read_text) if last_read_text else None
        due_full = (
            full
            or cursor is None
            or last_read is None
            or c.started - last_read > DELETED_RETENTION
            or not last_full_text
            or c.started - parse_timestamp(last_full_text) > FULL_RECONCILE_EVERY
        )

        # Stage history from where this read starts, never before the set-up's read (what was past
        # the stage then is "already past"; what came and went before it is not replayed).
        floor_text = c.store.cursor(HISTORY_FLOOR)
        starts = ([cursor - reads.LOOKBACK] if cursor else []) + ([parse_timestamp(floor_text)] if floor_text else [])
        c.history_since = max(starts, default=None)
        # Streamed: only what the events named, in one query (the polled read's select and stage
        # history), and no cursor moved — the backstop sweep reads everything changed.
        named = stream.record_ids if stream is not None and not due_full else None
        streamed = named is not None
        records = (
            reads.read_ids(c, sorted(named), sever_missing=False)
            if named is not None
            else reads.read_full(c, triggering, cursor)
            if due_full
            else reads.read_changes(c, cursor)  # type: ignore[arg-type]
        )
        records.update(reads.read_unfinished(c, exclude=set(records)))
        newest = max((r.get("SystemModstamp") or "" for r in records.values()), default="")

        total, done = len(records), 0
        creates: list[tuple[dict[str, Any], str]] = []  # decided first, then created claim batch by claim batch
        for record in sorted(records.values(), key=lambda r: (r.get("SystemModstamp") or "", r["Id"])):
            if c.cancel.is_set() or c.stopped_by is not None:
                break
            reached = self._handle(c, record, triggering)
            if reached is not None:
                creates.append((record, reached))
                continue
            done += 1
            if c.progress:
                c.progress(done, total)
        start = 0
        while start < len(creates) and not (c.cancel.is_set() or c.stopped_by is not None):
            covered = batches.claim_ahead(c, [record for record, _ in creates[start:]])  # one request: claims, ids owed
            for record, reached in creates[start : start + covered]:
                if c.cancel.is_set() or c.stopped_by is not None:
                    break
                self._create(c, record, reached, triggering)
                done += 1
                if c.progress:
                    c.progress(done, total)
            start += covered
        batches.write_project_ids(c)

        if c.stopped_by is not None:
            raise c.stopped_by
        if c.cancel.is_set():
            return "Stopped before the end; the next cycle picks up where this one left off."
        with c.store.transaction():
            if stream is not None and stream.position is not None:
                c.store.set_cursor(POSITION_CURSOR, str(stream.position))  # only with the commit of its work
            if not streamed:
                self._advance(c, cursor, newest, due_full)
        if c.waiting is not None:
            raise c.waiting  # the rest is done and the cursor kept; the held-back create is read again
        return "Full reconcile done." if due_full else ""

    @staticmethod
    def _advance(c: CycleState, cursor: datetime | None, newest: str, due_full: bool) -> None:
        """Everything committed before the read started has been seen (late commits: the lookback),
        so the next read starts there — by Salesforce's clock when it told us, else by the newest
        row seen, never past our own start."""
        if c.read_at is not None:
            reached = c.read_at
        elif newest:
            reached = min(parse_timestamp(newest), c.started)
        else:
            reached = c.started
        if cursor is None or reached > cursor:
            c.store.set_cursor(CURSOR, _iso(reached))
        if due_full:
            c.store.set_cursor(LAST_FULL, _iso(c.started))
        c.store.set_cursor(LAST_READ, _iso(c.started))

    # ---- deciding ---------------------------------------------------------------------------------
    def _handle(self, c: CycleState, record: dict[str, Any], triggering: set[str]) -> str | None:
        """What the opportunity's change calls for, done now, except a create: the stage reached
        that calls for one is returned (``_create`` does it, claimed in a batch with others)."""
        assert c.metadata is not None
        oid, name = record["Id"], str(record.get("Name") or record["Id"])
        link = c.store.link(oid)
        if record.get("IsDeleted"):
            if link is None:
                link = creation.settle_unfinished(c, record)
            if link and link.status == "linked":
                with c.store.transaction():
                    c.store.set_link_status(oid, "severed")
                    c.store.event(
                        c.id,
                        "severed",
                        f"{name} was deleted in Salesforce; the link to BigTime project "
                        f"{link.project_id} is severed and the project stays.",
                        oid,
                        link.project_id,
                    )
                c.write_project_ids.pop(oid, None)  # written when it is restored
            return None
        if link and link.status == "severed":
            with c.store.transaction():
                c.store.set_link_status(oid, "linked")
                c.store.event(
                    c.id,
                    "restored",
                    f"{name} was restored in Salesforce; its link to BigTime project {link.project_id} is back.",
                    oid,
                    link.project_id,
                )
            return None
        path = _stage_path(record)
        known = {s.api_name for s in c.metadata.stages}
        if any(stage not in known for _, stage in path):
            c.metadata = reads.metadata(c, force=True)
            triggering.clear()
            triggering.update(
                s.api_name for s in self.triggering_stages(c.metadata.stages, reads.trigger_stage(c).api_name)
            )
        reached = self._reached(c, oid, path, triggering)
        if reached is None:
            if link is None:
                creation.settle_unfinished(c, record)
            return None
        if link is not None:
            return None
        intent = c.store.intent(oid)
        unchanged = intent and intent.failed_modstamp == (record.get("SystemModstamp") or "")
        if intent and intent.state == "failed" and unchanged and not creation.answered_since(c, intent):
            return None  # refused before and unchanged since
        if intent and intent.state == "created" and intent.project_id:
            creation.link(c, record, intent.project_id, None, "linked")  # the link row was lost: restore it
            return None
        return reached

    def _create(self, c: CycleState, record: dict[str, Any], reached: str, triggering: set[str]) -> None:
        assert c.metadata is not None
        oid, name = record["Id"], str(record.get("Name") or record["Id"])
        creation.create(c, record)
        now_at = str(record.get("StageName") or "")
        created = c.store.link(oid)
        if now_at not in triggering and created is not None:
            labels = {s.api_name: s.label for s in c.metadata.stages}
            with c.store.transaction():
                c.store.event(
                    c.id,
                    "warning",
                    f"{name} reached {labels.get(reached, reached)!r} and was at "
                    f"{labels.get(now_at or '', now_at)!r} by the time it was read. Reaching the "
                    f"trigger stage creates the project, so BigTime project {created.project_id} "
                    "stays; if the win was a mistake, close the project in BigTime.",
                    oid,
                    created.project_id,
                )

    def _reached(self, c: CycleState, oid: str, path: list[tuple[str, str]], triggering: set[str]) -> str | None:
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


def _stage_path(record: dict[str, Any]) -> list[tuple[str, str]]:
    """(when, stage): the stages an opportunity was at since the history's start, oldest first, then
    its stage now (when: its SystemModstamp, the latest it can have changed). Salesforce's stamps,
    all in one format, so they compare as text."""
    rows = (record.get("OpportunityHistories") or {}).get("records") or []
    path = sorted((r.get("CreatedDate") or "", r["StageName"]) for r in rows if r.get("StageName"))
    if record.get("StageName"):
        path.append((record.get("SystemModstamp") or "", record["StageName"]))
    return path
