"""What every cycle shares, the trigger cycle (core.engine) and the write-back (core.writeback):
one at a time per profile, also across processes (``sync.lock``); a row in the activity with what
it did and the requests it made; the Salesforce API budget checked before each request, inside the
cycle (issue 12 item 2); and the API clients, kept across cycles (an access token lives in memory:
no refresh per cycle). Also what one trigger cycle carries around (``CycleState``), which the
engine reads and decides with and core.creation / core.claims create with.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from filelock import FileLock, Timeout

from ..connectors import bigtime as bt
from ..connectors import errors as ce
from ..connectors.http import requests_guarded, waits_reported
from ..connectors.salesforce import SalesforceClient, Stage
from ..connectors.timestamps import parse_timestamp
from ..connectors.wording import duration
from . import cadence, history
from .connections import Connector
from .errors import AlreadyRunning, ApiBudgetSpent, ConfigInvalid, CoreError, CreateInDoubt, Transient
from .cycle_report import CycleReport
from .problems import UNEXPECTED, describe
from .settings import Settings
from .store import Store

log = logging.getLogger(__name__)

DAILY_MAX = cadence.DAILY_MAX_KEY

WaitCallback = Callable[[str, float], None]
Work = Callable[[int, Settings, Store], str]  # (cycle id, settings, store) → the cycle's message


@dataclass
class Metadata:
    """The org's opportunity stages and fields, cached between cycles (core.engine refreshes it)."""

    stages: list[Stage]
    opportunity_fields: set[str]  # updateable or readable field names on Opportunity (lower-case)
    fetched_at: datetime
    account_fields: set[str] = field(default_factory=set)  # the updateable ones on Account (lower-case)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": [asdict(s) for s in self.stages],
            "fields": sorted(self.opportunity_fields),
            "account_fields": sorted(self.account_fields),
            "fetched_at": self.fetched_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Metadata:
        return cls(
            [Stage(**s) for s in data["stages"]],
            set(data["fields"]),
            parse_timestamp(data["fetched_at"]),
            set(data.get("account_fields", ())),
        )


Waiter = Callable[[threading.Event, float], bool]  # (cancel, seconds) -> cancelled


def wait_on(cancel: threading.Event, seconds: float) -> bool:
    """A cycle's pause: ``seconds`` of real time, cut short (True) when the cycle is cancelled."""
    return cancel.wait(seconds)


@dataclass
class CycleState:
    """What one trigger cycle carries around."""

    id: int
    settings: Settings
    store: Store
    sf: SalesforceClient
    started: datetime
    cancel: threading.Event
    progress: Callable[[int, int], None] | None
    now: Callable[[], datetime]  # the engine's clock
    bigtime_client: Callable[[], bt.BigTimeClient]  # asked only when BigTime is needed (an idle cycle never is)
    metadata: Metadata | None = None
    bt_client: bt.BigTimeClient | None = None
    projects_by_code: dict[str, int] | None = None
    projects: list[bt.Project] | None = None
    project_ids: set[int] | None = None
    clients: list[bt.Client] | None = None  # BigTime's clients, read once a cycle (core.creation._clients)
    write_project_ids: dict[str, int] = field(default_factory=dict)
    written_ids_tried: set[str] = field(default_factory=set)  # sent once this cycle: not again
    read_at: datetime | None = None  # Salesforce's time when this cycle's read ran (HTTP Date)
    history_since: datetime | None = None  # stage changes from then on are read with each opportunity
    stopped_by: Exception | None = None
    answer_window: float = 0.0  # the longest one BigTime answer can take (Connector.bigtime_answer_window)
    waiting: CreateInDoubt | None = None  # a create held back (core.creation.in_doubt): the cycle ends "waiting"
    settled_second: datetime | None = None  # Salesforce's clock is known to be past this second (claims)
    claims_ahead: dict[str, Any] = field(default_factory=dict)  # claims.claim_many's outcomes, taken by claims.claim
    account_claims_ahead: dict[str, Any] = field(default_factory=dict)  # the same for accounts (claims.claim_account)
    write_client_ids: dict[str, int] = field(default_factory=dict)  # account → its client's id, owed to the account
    wait: Waiter = wait_on  # how the cycle pauses (Engine's ``wait``)

    def bigtime(self) -> bt.BigTimeClient:
        if self.bt_client is None:
            self.bt_client = self.bigtime_client()
        return self.bt_client


class CycleRunner:
    """Runs one cycle's work for one profile under the lock, recorded and within the budget."""

    def __init__(self, connector: Connector, now: Callable[[], datetime]) -> None:
        self.connector = connector
        self.profile = connector.profile
        self.now = now
        self.lock_path = self.profile.data_dir / "sync.lock"
        self.db_path = self.profile.data_dir / "state.db"
        self._sf: tuple[str, SalesforceClient] | None = None
        self._bt: tuple[str, bt.BigTimeClient] | None = None

    def open_store(self) -> Store:
        self.profile.ensure_dirs()
        return Store(self.db_path)

    def salesforce(self) -> SalesforceClient:
        key = repr(self.connector.settings().salesforce)
        if self._sf is None or self._sf[0] != key:
            self._sf = (key, self.connector.salesforce())
        return self._sf[1]

    def bigtime(self) -> bt.BigTimeClient:
        key = repr(self.connector.settings().bigtime)
        if self._bt is None or self._bt[0] != key:
            self._bt = (key, self.connector.bigtime())
        return self._bt[1]

    def run(
        self,
        kind: str,
        work: Work,
        *,
        cancel: threading.Event | None,
        wait_for_lock: float,
        on_wait: WaitCallback | None,
    ) -> CycleReport:
        """One cycle of ``kind``. Raises only for "cannot even start" problems (not configured,
        another copy running); what ``work`` raises of ours is recorded and returned as the report.
        ``on_wait(system, seconds)``: a rate-limit wait starts (seconds > 0) or ends (0)."""
        with waits_reported(cancel, on_wait):
            settings = self.connector.settings()
            if not settings.sync.configured:
                raise ConfigInvalid(
                    "sync.trigger_stage",
                    "No trigger stage is set yet: run `bigsync-gui configure "
                    "--trigger-stage API_NAME` or the setup wizard.",
                )
            self.profile.ensure_dirs()
            lock = FileLock(str(self.lock_path))
            try:
                lock.acquire(timeout=wait_for_lock)
            except Timeout:
                raise AlreadyRunning(
                    "Another copy of BigSync is syncing this setup right now; "
                    f"it did not finish within {wait_for_lock:.0f} s. Try again later."
                ) from None
            store = self.open_store()
            try:
                return self._record(kind, settings, store, work)
            finally:
                store.close()
                lock.release()

    def _record(self, kind: str, settings: Settings, store: Store, work: Work) -> CycleReport:
        store.close_interrupted_cycles()
        cycle_id = store.start_cycle(kind)
        before = {s: self.connector.counter.total(s) for s in ("salesforce", "bigtime")}
        day = self.now().astimezone(timezone.utc).date().isoformat()
        result, message, error, system, retry_after = "ok", "", "", "", 0.0
        try:
            with requests_guarded(self._budget_guard(store, settings, day, before["salesforce"])):
                message = work(cycle_id, settings, store)
        except (ce.ConnectorError, CoreError) as exc:
            problem = describe(exc)
            result, message, error, system = "failed", exc.message, problem.code, problem.system or ""
            retry_after = exc.retry_after if isinstance(exc, Transient) else 0.0
        except Exception as exc:  # a bug: recorded as a failed cycle (never "ok"), then raised for the caller's log
            result, error = "failed", UNEXPECTED
            message = f"An unexpected error stopped the cycle ({type(exc).__name__}); see the log."
            raise
        finally:
            used = {s: self.connector.counter.total(s) - before[s] for s in before}
            with store.transaction():
                store.add_usage("salesforce", used["salesforce"], day)
                store.add_usage("bigtime", used["bigtime"], day)
                if self._sf is not None and self._sf[1].api_usage:
                    store.set_meta(DAILY_MAX, self._sf[1].api_usage[1])
                store.end_cycle(cycle_id, result, message, used["salesforce"], used["bigtime"], error, system)
        last = store.cycles(1)[0]
        log.info(
            "%s cycle %d: %s; created %d, linked %d, severed %d, restored %d, rejected %d, written %d; "
            "requests: Salesforce %d, BigTime %d%s",
            kind,
            cycle_id,
            result,
            last.created,
            last.linked,
            last.severed,
            last.restored,
            last.rejected,
            last.written,
            used["salesforce"],
            used["bigtime"],
            f"; {message}" if message else "",
        )
        if result == "ok" and last.rejected:
            result = "partial"
            with store.transaction():
                store.end_cycle(cycle_id, result, message, used["salesforce"], used["bigtime"])
        self._prune(store, settings)
        return CycleReport(
            cycle_id,
            kind,
            result,
            message,
            last.created,
            last.linked,
            last.severed,
            last.restored,
            last.rejected,
            last.written,
            used["salesforce"],
            used["bigtime"],
            error,
            retry_after,
            system,
        )

    def _prune(self, store: Store, settings: Settings) -> None:
        """Keep the history bounded (core.history); a busy or failing prune never fails the cycle."""
        try:
            # the store stamps cycles and events with this machine's clock (store.utcnow), so that clock,
            # not the engine's (moved in tests), says what is old
            pruned = history.prune_if_due(
                store, datetime.now(timezone.utc), settings.sync.history_days, settings.sync.history_max_cycles
            )
        except sqlite3.Error as exc:
            log.warning("pruning the activity history failed (%s); it is tried again in an hour", exc)
            return
        if pruned and (pruned.cycles or pruned.vacuumed):
            log.info(
                "history pruned: %d cycles, %d events%s",
                pruned.cycles,
                pruned.events,
                "; database compacted" if pruned.vacuumed else "",
            )

    def _budget_guard(self, store: Store, settings: Settings, day: str, counted: int) -> Callable[[str], None]:
        """Asked before every request of the cycle (connectors.http.requests_guarded): a Salesforce
        request that would pass today's budget is not sent. Every attempt counts (token refreshes,
        describes, retries), so our count is never below the org's count of our requests."""
        earlier = store.usage_today("salesforce", day)

        def guard(system: str) -> None:
            if system != "salesforce":
                return
            live = self._sf[1].api_usage if self._sf is not None else None
            maximum = live[1] if live else int(store.get_meta(DAILY_MAX) or 0)
            if not maximum:
                return  # learnt from Sforce-Limit-Info on the first request
            budget = int(maximum * settings.sync.api_budget_percent / 100)
            used = earlier + self.connector.counter.total("salesforce") - counted
            if used >= budget:
                now = self.now().astimezone(timezone.utc)
                midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
                wait = (midnight - now).total_seconds()
                raise ApiBudgetSpent(
                    f"Today's Salesforce API budget is used up ({used} of {budget} requests, "
                    f"{settings.sync.api_budget_percent:g}% of the org's {maximum}). What was done so far is kept; "
                    f"syncing resumes at midnight UTC (in {duration(wait)}) where it stopped.",
                    wait,
                )

        return guard
