"""Instant triggers: the one thread that listens to Salesforce's Change Data Capture stream for
Opportunity and wakes the loop (docs/sync.md, "Instant triggers").

An event only *wakes* the engine. The listener gathers what the events name — record ids, or "sweep"
(a GAP overflow, a replay position Salesforce no longer keeps, every (re)subscribe) — into one
:class:`StreamBatch` and sets the loop's ``wake``; the loop takes the batch, runs a cycle that reads
those records (core/engine.py, ``StreamWork``), and only that cycle's commit stores the batch's
replay id. So a kill at any moment replays events from the last committed position: each is then
read again and finds its project already linked (no second action).

Every failure has its planned path (connectors/cometd.py's kinds): an unknown client handshakes and
resubscribes from the newest event received; a refused session refreshes the token, then
handshakes; a position past the 72-hour retention subscribes for new events and asks for a sweep;
the spent daily event allocation, a refused subscription or a stream that cannot be reached puts
the loop back on its adaptive polling (``up`` False, ``reason`` says why) and tries again later,
with backoff; a connect held past its timeout or dropped handshakes again and resubscribes from the
newest event received (its lost answer may have carried events); redelivered events are dropped by
replay id. No Qt here; the thread is the loop's (and the tray's runner's).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..connectors import errors as ce
from ..connectors.cometd import ChangeEvent, CometdSession, StreamFailure, channel_for
from ..connectors.salesforce.tooling import cdc_selected
from .errors import CoreError
from .store import Store

if TYPE_CHECKING:
    from ..connectors.salesforce import SalesforceClient
    from .connections import Connector


class Engine(Protocol):
    """What the listener needs of the engine it wakes (core.engine.Engine): the profile's
    connector, a Salesforce client and the store."""

    connector: Connector

    def salesforce_client(self) -> SalesforceClient: ...

    def open_store(self) -> Store: ...


log = logging.getLogger(__name__)

ENTITY = "Opportunity"
_RECORD_ID = re.compile(r"006[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")  # an Opportunity id; anything else is not read
RETRY_SECONDS = (2, 5, 15, 30, 60, 120, 300)  # transport failures in a row
REFUSED_RETRY_SECONDS = 30 * 60  # subscription refused (Change Data Capture off): look again
ALLOCATION_RETRY_SECONDS = (15 * 60, 30 * 60, 60 * 60, 2 * 3600, 4 * 3600)
DOWN_AFTER_FAILURES = 2  # a single dropped connect that reconnects at once does not leave instant mode
FIRST_SUBSCRIBE_WAIT = 8.0  # the loop's first cycle waits this long for the first subscribe
# Fields our own writes set (claims, project ids, write-back figures): an update that changed only
# these cannot reach the trigger, so its event wakes nobody (its position is still kept).
SYSTEM_FIELDS = frozenset({"LastModifiedDate", "LastModifiedById", "SystemModstamp"})


@dataclass
class StreamBatch:
    """What the events since the last take ask of the engine."""

    record_ids: set[str] = field(default_factory=set)
    sweep: bool = False  # read everything changed (the polled read), not only ``record_ids``
    position: int | None = None  # the newest replay id covered; stored once the cycle committed
    events: int = 0

    @property
    def wants_cycle(self) -> bool:
        return self.sweep or bool(self.record_ids)

    def merge(self, other: StreamBatch) -> None:
        self.record_ids |= other.record_ids
        self.sweep = self.sweep or other.sweep
        if other.position is not None:
            self.position = max(self.position or other.position, other.position)
        self.events += other.events


class TriggerStream:
    """The listener. ``start(wake)`` runs its thread; ``take()``/``put_back()`` hand batches to the
    loop; ``up`` and ``reason`` say whether triggers are instant now and why not."""

    def __init__(
        self,
        session: Callable[[], CometdSession],
        refresh_token: Callable[[], None],
        position: int | None,
        ignore_fields: frozenset[str] = frozenset(),
        *,
        cdc_selected: Callable[[], bool | None] | None = None,
        sleep: Callable[[threading.Event, float], bool] | None = None,
    ) -> None:
        """``cdc_selected()`` (optional: the Tooling API's answer, None when it cannot tell) is asked
        after each subscribe: Salesforce may accept a subscription for an entity not selected for
        Change Data Capture and then send nothing (docs/sandbox.md, switch
        ``cdc_unselected_subscribe_refused``), so "subscribed" alone is not "instant"."""
        self._new_session = session
        self._cdc_selected = cdc_selected
        self._refresh_token = refresh_token
        self._received = position  # the newest replay id taken in (committed or pending)
        self._ignore = SYSTEM_FIELDS | ignore_fields
        self._lock = threading.Lock()
        self._pending = StreamBatch()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._sleep = sleep or (lambda stop, seconds: stop.wait(seconds))
        self._thread: threading.Thread | None = None
        self._wake: threading.Event | None = None
        self.up = False
        self.reason = "connecting to Salesforce's change stream"
        self.events_received = 0
        self.on_mode: Callable[[bool, str], None] | None = None  # told each change (the CLI prints it)

    # ---- the loop's side --------------------------------------------------------------------------
    def start(self, wake: threading.Event) -> None:
        self._wake = wake
        self._thread = threading.Thread(target=self._run, name="bigsync-stream", daemon=True)
        self._thread.start()

    def wait_subscribed(self, stop: threading.Event, seconds: float = FIRST_SUBSCRIBE_WAIT) -> bool:
        """Wait a little for the first subscribe (then the loop's first sweep covers what came before);
        a stop (Ctrl-C, SIGTERM, Quit) ends the wait at once."""
        deadline = time.monotonic() + seconds
        while not self._subscribed.is_set() and not stop.is_set() and time.monotonic() < deadline:
            self._subscribed.wait(0.1)
        return self._subscribed.is_set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)  # a held connect is abandoned with the daemon thread

    def take(self) -> StreamBatch:
        with self._lock:
            batch, self._pending = self._pending, StreamBatch()
            return batch

    def put_back(self, batch: StreamBatch) -> None:
        """A cycle that failed or stopped: its batch waits for the next one (and its position too)."""
        with self._lock:
            batch.merge(self._pending)
            self._pending = batch

    # ---- the thread ---------------------------------------------------------------------------------
    def _set_mode(self, up: bool, reason: str) -> None:
        changed = up != self.up
        self.up, self.reason = up, reason
        if changed:
            log.info("triggers: %s", "instant (Change Data Capture stream)" if up else f"polling: {reason}")
            if self.on_mode is not None:
                self.on_mode(up, reason)
            if self._wake is not None:
                self._wake.set()  # the loop picks its new wait and says so in Activity

    def _settle(self, up: bool, reason: str) -> None:
        """The first answer the loop waits for: the mode (and its wake) is set *before* the loop is
        let go, so its first round reads the settled mode and spends that wake. In the other order the
        wake lands inside the first cycle and runs a needless second sweep."""
        self._set_mode(up, reason)
        self._subscribed.set()

    def _add(self, batch: StreamBatch) -> None:
        with self._lock:
            self._pending.merge(batch)
            wanted = self._pending.wants_cycle
        if wanted and self._wake is not None:
            self._wake.set()

    def _accept(self, events: list[ChangeEvent]) -> None:
        batch = StreamBatch()
        for event in events:
            if self._received is not None and event.replay_id <= self._received:
                continue  # redelivered: already taken in
            self._received = event.replay_id
            batch.position, batch.events = event.replay_id, batch.events + 1
            if event.is_overflow:
                batch.sweep = True
            elif event.entity == ENTITY and not (
                event.change_type == "UPDATE" and event.changed_fields and set(event.changed_fields) <= self._ignore
            ):
                batch.record_ids.update(i for i in event.record_ids if _RECORD_ID.fullmatch(i))
        self.events_received += batch.events
        if batch.events:
            self._add(batch)

    def _subscribe(self, session: CometdSession) -> None:
        session.handshake()
        start = self._received if self._received is not None else -1
        try:
            session.subscribe(channel_for(ENTITY), start)
        except StreamFailure as failure:
            if failure.kind != "replay_invalid":
                raise
            log.info("the saved stream position is past Salesforce's retention: new events only, and a sweep")
            self._received = None
            session.subscribe(channel_for(ENTITY), -1)
        if self._cdc_selected is not None and self._cdc_selected() is False:
            raise StreamFailure("refused", "Change Data Capture is not on for Opportunity in this org.")
        self._add(StreamBatch(sweep=True))  # whatever happened while not subscribed: the polled read finds it
        self._settle(True, "")

    def _run(self) -> None:
        session: CometdSession | None = None
        failures = 0
        allocation_failures = 0
        while not self._stop.is_set():
            try:
                if session is None:
                    session = self._new_session()
                    self._subscribe(session)
                    failures = 0
                self._accept(session.connect())
                failures, allocation_failures = 0, 0
            except StreamFailure as failure:
                if self._stop.is_set():
                    break
                try:
                    wait, session = self._failed(failure, session, failures, allocation_failures)
                except ce.ConnectorError as exc:
                    wait, session = self._unavailable(exc, failures)
                failures += 1
                allocation_failures += failure.kind == "allocation"
                if wait and self._sleep(self._stop, wait):
                    break
            except ce.ConnectorError as exc:  # the token could not be refreshed (sign in again), offline...
                wait, session = self._unavailable(exc, failures)
                failures += 1
                if self._stop.is_set() or self._sleep(self._stop, wait):
                    break
            except Exception:  # a bug: said in the log, the loop polls, the stream tries again later
                log.exception("the change stream failed unexpectedly")
                session = None
                self._set_mode(False, "Salesforce's change stream stopped unexpectedly (see the log)")
                if self._sleep(self._stop, REFUSED_RETRY_SECONDS):
                    break
        if session is not None:
            session.disconnect()

    def _unavailable(self, exc: ce.ConnectorError, failures: int) -> tuple[float, None]:
        """Not a stream failure: the token could not be renewed (sign in again), Salesforce offline."""
        self._settle(False, f"Salesforce's change stream is not available ({exc.message})")
        return float(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)] * 10), None

    def _failed(
        self, failure: StreamFailure, session: CometdSession | None, failures: int, allocation_failures: int
    ) -> tuple[float, CometdSession | None]:
        """The planned path of each failure: (seconds to wait first, the session to go on with)."""
        log.info("change stream: %s (%s)", failure.kind, failure.message)
        if failure.kind == "unknown_client":
            if failures >= DOWN_AFTER_FAILURES:
                self._set_mode(False, "Salesforce's change stream keeps dropping this client")
            return (0.0 if failures == 0 else RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]), None
        if failure.kind == "auth":
            self._refresh_token()  # ReconnectNeeded when the grant is gone: the handler above says so
            return (0.0 if failures == 0 else RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]), None
        if failure.kind == "allocation":
            taken = "concurrent user limit" in failure.error.lower()  # the org's streaming clients, not its events
            self._settle(
                False,
                "the org's streaming connections are all taken by other clients"
                if taken
                else "the org's daily allowance of streaming events is used up",
            )
            return float(ALLOCATION_RETRY_SECONDS[min(allocation_failures, len(ALLOCATION_RETRY_SECONDS) - 1)]), None
        if failure.kind == "refused" and failure.error.startswith("403"):
            # a 403 on a subscribe: the user may not receive the events (CDC asks View All on the object)
            self._settle(
                False, "the connected Salesforce user lacks View All on Opportunities, which instant triggers need"
            )
            return float(REFUSED_RETRY_SECONDS), None
        if failure.kind in ("refused", "replay_invalid"):
            self._settle(False, "Change Data Capture is not on for Opportunity in this org")
            return float(REFUSED_RETRY_SECONDS), None
        # transport: a hung or dropped connect. Its answer may have carried events the server now
        # counts as delivered, so a new handshake resubscribes from the newest event received.
        if failures + 1 >= DOWN_AFTER_FAILURES:
            self._set_mode(False, "Salesforce's change stream cannot be reached")
        wait = 0.0 if failures == 0 else float(RETRY_SECONDS[min(failures - 1, len(RETRY_SECONDS) - 1)])
        return wait, None


POSITION_CURSOR = "stream_replay_id"  # the newest replay id whose cycle committed (the state database)


@dataclass(frozen=True)
class StreamWork:
    """What the loop asks of one trigger cycle on behalf of the stream: read only ``record_ids``
    (None: the usual polled read, a sweep) and, once the cycle committed, store ``position``."""

    record_ids: tuple[str, ...] | None
    position: int | None


def stored_position(store: Store) -> int | None:
    value = store.cursor(POSITION_CURSOR)
    return int(value) if value and value.lstrip("-").isdigit() else None


def for_engine(engine: Engine) -> TriggerStream:
    """The listener for an engine's profile: its Salesforce org and token, the position its last
    committed cycle stored, and the fields of its field map (our own writes) to ignore. The client
    is asked of the engine at each handshake, so a Salesforce reconnected in Settings is used from
    the next one on. Raises NotConnected when Salesforce is not connected."""
    engine.salesforce_client()
    store = engine.open_store()
    try:
        position = stored_position(store)
    finally:
        store.close()
    ours = frozenset(v for v in engine.connector.settings().sync.field_map.values() if v)

    def session() -> CometdSession:
        sf = engine.salesforce_client()
        return CometdSession(sf.instance_url, sf.tokens.access_token)

    def refresh() -> None:
        tokens = engine.salesforce_client().tokens
        tokens.refresh(tokens.access_token())

    def selected() -> bool | None:  # one Tooling API query per (re)subscribe
        try:
            return cdc_selected(engine.salesforce_client(), ENTITY)
        except ce.ConnectorError:
            return None  # cannot tell: the subscription's answer stands

    return TriggerStream(session, refresh, position, ours, cdc_selected=selected)


def optional_for(engine: Engine) -> TriggerStream | None:
    """The listener, or None when Salesforce is not connected yet (the loop then polls)."""
    try:
        return for_engine(engine)
    except (ce.ConnectorError, CoreError) as exc:
        log.info("no change stream: %s", exc)
        return None
