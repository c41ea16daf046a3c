"""Sync state in SQLite: links, the journal of intents, cursors, metadata, last written values,
activity.

Why SQLite: one file, transactions, WAL (a reader such as ``status`` never blocks the writer),
and a crash at any point leaves either the old or the new state. The schema is versioned with
``PRAGMA user_version`` and upgraded by the migrations in ``store_schema.py``; an existing
database is never recreated. The file is created with mode 0600.

The journal is what makes "at most one project per opportunity" hold across crashes: an intent
row is committed *before* the create request is sent, and an unfinished intent is reconciled by
looking the project up in BigTime before anything is created again.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from .errors import CoreError
from .store_schema import MIGRATIONS

EVENT_KINDS = (
    "created",
    "linked",
    "severed",
    "restored",
    "written",
    "rejected",
    "client",
    "contacts",
    "warning",
    "mode",
)  # mode: how triggers arrive changed (core/trigger_timing.py)
COUNTED = {"created", "linked", "severed", "restored", "written", "rejected"}


class StoreError(CoreError):
    """The state database cannot be used (unreadable, newer than this version, locked)."""

    problem_code = "StoreError"


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Link:
    opportunity_id: str
    project_id: int
    client_id: int | None
    account_id: str | None
    opportunity_name: str
    status: str
    created_at: str
    updated_at: str
    written_back: bool


@dataclass(frozen=True)
class Intent:
    opportunity_id: str
    project_code: str
    state: str
    project_id: int | None
    reason: str
    failed_modstamp: str
    attempts: int
    sent_at: str | None  # a BigTime write for it was sent then and its answer never seen (None: none in doubt)


@dataclass(frozen=True)
class Cycle:
    id: int
    kind: str
    started_at: str
    ended_at: str | None
    result: str
    message: str
    created: int
    linked: int
    severed: int
    restored: int
    written: int
    rejected: int
    salesforce_requests: int
    bigtime_requests: int
    error_code: str | None = None  # a failed cycle's stable problem code (core/problems.py), e.g. "Offline"
    error_system: str | None = None  # the service that problem is about ("salesforce", "bigtime"), if one


class ClientLink(NamedTuple):
    """An account's BigTime client as the store knows it."""

    client_id: int | None  # None while ``status`` is "pending" (the create's answer not seen yet)
    client_code: str
    status: str  # "pending" | "linked"


@dataclass(frozen=True)
class Event:
    id: int
    cycle_id: int | None
    at: str
    kind: str
    opportunity_id: str | None
    project_id: int | None
    message: str


class Store:
    """One profile's state database. Not shared between threads: open one per thread."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:
            self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise self._unusable(exc) from None
        try:  # every refusal closes the connection: a failed step's open transaction would keep its lock
            self._open()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise self._unusable(exc) from None
        except BaseException:
            self.db.close()
            raise

    def _unusable(self, exc: sqlite3.DatabaseError) -> StoreError:
        return StoreError(
            f"The sync state database {self.path} cannot be used ({exc}). It was left as it is; "
            "move it away to start over (links and history would be lost)."
        )

    def close(self) -> None:
        self.db.close()

    def _open(self) -> None:
        self.db.row_factory = sqlite3.Row
        # The version first: a newer database is refused before anything about it changes (WAL mode
        # is kept in the file and would leave -wal/-shm files next to it).
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"The sync state database {self.path} was written by a newer version of bigsync-gui.")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate(version)

    def _migrate(self, version: int) -> None:
        for number in range(version, len(MIGRATIONS)):
            # One transaction per step: the schema change and its version number land together.
            try:
                self.db.executescript(
                    "BEGIN IMMEDIATE;" + MIGRATIONS[number] + f"; PRAGMA user_version={number + 1}; COMMIT;"
                )
            except sqlite3.DatabaseError as exc:
                if ((getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF) not in (
                    sqlite3.SQLITE_ERROR,
                    sqlite3.SQLITE_CONSTRAINT,
                ):
                    raise  # busy, damaged, full disk …: the database, not the step
                raise StoreError(
                    f"Upgrading the sync state database {self.path} to version {number + 1} failed ({exc}). "
                    f"This is a bug in bigsync-gui: please report it. The database was left whole, "
                    f"at version {number}."
                ) from None
        for suffix in ("", "-wal", "-shm"):
            extra = Path(str(self.path) + suffix)
            if extra.exists():
                os.chmod(extra, 0o600)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT: the unit of durability (committed before a request is sent)."""
        if self.db.in_transaction:
            yield self.db
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- links ---------------------------------------------------------------------------------
    def link(self, opportunity_id: str) -> Link | None:
        row = self.db.execute("SELECT * FROM links WHERE opportunity_id = ?", (opportunity_id,)).fetchone()
        return _link(row) if row else None

    def link_for_project(self, project_id: int) -> Link | None:
        row = self.db.execute("SELECT * FROM links WHERE project_id = ?", (project_id,)).fetchone()
        return _link(row) if row else None

    def links(self, status: str | None = None) -> list[Link]:
        if status:
            rows = self.db.execute("SELECT * FROM links WHERE status = ? ORDER BY created_at", (status,))
        else:
            rows = self.db.execute("SELECT * FROM links ORDER BY created_at")
        return [_link(r) for r in rows]

    def count_links(self) -> dict[str, int]:
        rows = self.db.execute("SELECT status, COUNT(*) FROM links GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

    def add_link(
        self,
        opportunity_id: str,
        project_id: int,
        client_id: int | None,
        account_id: str | None,
        name: str,
        written_back: bool = False,
    ) -> None:
        now = utcnow()
        self.db.execute(
            "INSERT INTO links (opportunity_id, project_id, client_id, account_id, opportunity_name, status,"
            " created_at, updated_at, written_back)"
            " VALUES (?, ?, ?, ?, ?, 'linked', ?, ?, ?)"
            " ON CONFLICT(opportunity_id) DO UPDATE SET project_id = excluded.project_id, status = 'linked',"
            " updated_at = excluded.updated_at",
            (opportunity_id, project_id, client_id, account_id, name, now, now, int(written_back)),
        )

    def set_link_status(self, opportunity_id: str, status: str) -> None:
        self.db.execute(
            "UPDATE links SET status = ?, updated_at = ? WHERE opportunity_id = ?", (status, utcnow(), opportunity_id)
        )

    def mark_written_back(self, opportunity_ids: list[str]) -> None:
        self.db.executemany(
            "UPDATE links SET written_back = 1 WHERE opportunity_id = ?", [(i,) for i in opportunity_ids]
        )

    def links_not_written_back(self) -> list[Link]:
        return [_link(r) for r in self.db.execute("SELECT * FROM links WHERE status = 'linked' AND written_back = 0")]

    # ---- journal -------------------------------------------------------------------------------
    def intent(self, opportunity_id: str) -> Intent | None:
        row = self.db.execute("SELECT * FROM journal WHERE opportunity_id = ?", (opportunity_id,)).fetchone()
        return _intent(row) if row else None

    def intents(self, state: str) -> list[Intent]:
        return [
            _intent(r) for r in self.db.execute("SELECT * FROM journal WHERE state = ? ORDER BY created_at", (state,))
        ]

    def begin_intent(self, opportunity_id: str, project_code: str) -> Intent:
        """Record "about to create a project for this opportunity" (commit before sending!)."""
        now = utcnow()
        self.db.execute(
            "INSERT INTO journal (opportunity_id, project_code, state, created_at, updated_at, attempts)"
            " VALUES (?, ?, 'pending', ?, ?, 1)"
            " ON CONFLICT(opportunity_id) DO UPDATE SET state = 'pending', reason = '', attempts = attempts + 1,"
            " updated_at = excluded.updated_at",
            (opportunity_id, project_code, now, now),
        )
        intent = self.intent(opportunity_id)
        assert intent is not None
        return intent

    def mark_sent(self, opportunity_id: str, at: str | None) -> None:
        """A BigTime write for this intent is about to be sent (``at``), or its answer came (None)."""
        self.db.execute("UPDATE journal SET sent_at = ? WHERE opportunity_id = ?", (at, opportunity_id))

    def finish_intent(self, opportunity_id: str, project_id: int) -> None:
        self.db.execute(
            "UPDATE journal SET state = 'created', project_id = ?, reason = '', sent_at = NULL, updated_at = ?"
            " WHERE opportunity_id = ?",
            (project_id, utcnow(), opportunity_id),
        )

    def fail_intent(self, opportunity_id: str, reason: str, modstamp: str) -> None:
        """BigTime refused this record; tried again only once the opportunity changes."""
        self.db.execute(
            "UPDATE journal SET state = 'failed', reason = ?, failed_modstamp = ?, sent_at = NULL, updated_at = ?"
            " WHERE opportunity_id = ?",
            (reason, modstamp, utcnow(), opportunity_id),
        )

    def drop_intent(self, opportunity_id: str) -> None:
        """Forget a pending intent whose create never reached BigTime (the opportunity left the stage)."""
        self.db.execute("DELETE FROM journal WHERE opportunity_id = ? AND state = 'pending'", (opportunity_id,))

    def drop_refusal(self, opportunity_id: str) -> None:
        """Forget a refusal that no longer applies (tried again, and no longer to be created)."""
        self.db.execute("DELETE FROM journal WHERE opportunity_id = ? AND state = 'failed'", (opportunity_id,))

    # ---- clients (account → BigTime client) -----------------------------------------------------
    def client_for_account(self, account_id: str) -> ClientLink | None:
        row = self.db.execute(
            "SELECT client_id, client_code, state FROM clients WHERE account_id = ?", (account_id,)
        ).fetchone()
        return ClientLink(row[0], row[1], row[2]) if row else None

    def begin_client(self, account_id: str, client_code: str) -> None:
        self.db.execute(
            "INSERT INTO clients (account_id, client_code, state, updated_at) VALUES (?, ?, 'pending', ?)"
            " ON CONFLICT(account_id) DO UPDATE SET state = 'pending', updated_at = excluded.updated_at",
            (account_id, client_code, utcnow()),
        )

    def clients_of_other_accounts(self, account_id: str) -> set[int]:
        rows = self.db.execute(
            "SELECT client_id FROM clients WHERE account_id <> ? AND client_id IS NOT NULL", (account_id,)
        ).fetchall()
        return {int(row[0]) for row in rows}

    def link_client(self, account_id: str, client_id: int, client_code: str = "") -> None:
        self.db.execute(
            "INSERT INTO clients (account_id, client_id, client_code, state, updated_at) VALUES (?, ?, ?, 'linked', ?)"
            " ON CONFLICT(account_id) DO UPDATE SET client_id = excluded.client_id, state = 'linked',"
            " updated_at = excluded.updated_at",
            (account_id, client_id, client_code, utcnow()),
        )

    # ---- opportunities already past the stage when the sync was set up ----------------------------
    def exclude(self, opportunity_ids: list[str]) -> None:
        now = utcnow()
        self.db.executemany(
            "INSERT OR IGNORE INTO excluded (opportunity_id, since) VALUES (?, ?)", [(i, now) for i in opportunity_ids]
        )

    def released_at(self, opportunity_id: str) -> str | None:
        """None: never left alone; "": left alone still; else when it went below the stage (Salesforce's stamp)."""
        row = self.db.execute("SELECT released_at FROM excluded WHERE opportunity_id = ?", (opportunity_id,)).fetchone()
        return None if row is None else row[0] or ""

    def release(self, opportunity_id: str, at: str) -> None:
        """It went below the stage at ``at``: reaching the stage after that counts (the first release stays)."""
        self.db.execute(
            "UPDATE excluded SET released_at = ? WHERE opportunity_id = ? AND released_at IS NULL", (at, opportunity_id)
        )

    def excluded_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT opportunity_id FROM excluded ORDER BY opportunity_id")]

    def clear_excluded(self) -> None:
        self.db.execute("DELETE FROM excluded")

    # ---- cursors -------------------------------------------------------------------------------
    def cursor(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_cursor(self, name: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO cursors (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    # ---- metadata: what the sync learnt or keeps, as JSON values -------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, json.dumps(value, sort_keys=True)),
        )

    # ---- last written values (write-back only sends what changed) ---------------------------------
    def written(self, opportunity_id: str) -> tuple[str, dict[str, Any]] | None:
        row = self.db.execute(
            "SELECT project_modified, values_json FROM written WHERE opportunity_id = ?", (opportunity_id,)
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def all_written(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {
            r[0]: (r[1], json.loads(r[2]))
            for r in self.db.execute("SELECT opportunity_id, project_modified, values_json FROM written")
        }

    def set_written(self, opportunity_id: str, project_modified: str, values: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO written (opportunity_id, project_modified, values_json, written_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(opportunity_id) DO UPDATE SET project_modified = excluded.project_modified,"
            " values_json = excluded.values_json, written_at = excluded.written_at",
            (opportunity_id, project_modified, json.dumps(values, sort_keys=True), utcnow()),
        )

    # ---- API usage per UTC day ------------------------------------------------------------------
    def add_usage(self, system: str, requests: int, day: str | None = None) -> None:
        if requests <= 0:
            return
        day = day or datetime.now(timezone.utc).date().isoformat()
        self.db.execute(
            "INSERT INTO api_usage (day, system, requests) VALUES (?, ?, ?)"
            " ON CONFLICT(day, system) DO UPDATE SET requests = requests + excluded.requests",
            (day, system, requests),
        )

    def usage_today(self, system: str, day: str | None = None) -> int:
        """Requests counted on ``day`` (ISO date, UTC; default: today by this machine's clock)."""
        day = day or datetime.now(timezone.utc).date().isoformat()
        row = self.db.execute("SELECT requests FROM api_usage WHERE day = ? AND system = ?", (day, system)).fetchone()
        return int(row[0]) if row else 0

    # ---- activity --------------------------------------------------------------------------------
    def start_cycle(self, kind: str) -> int:
        cur = self.db.execute("INSERT INTO cycles (kind, started_at) VALUES (?, ?)", (kind, utcnow()))
        return int(cur.lastrowid or 0)

    def end_cycle(
        self,
        cycle_id: int,
        result: str,
        message: str,
        salesforce_requests: int,
        bigtime_requests: int,
        error_code: str = "",
        error_system: str = "",
    ) -> None:
        """``error_code``/``error_system``: the problem a failed cycle ended with (kept as NULL when none)."""
        counts = {k: 0 for k in COUNTED}
        for kind, n in self.db.execute(
            "SELECT kind, COUNT(*) FROM events WHERE cycle_id = ? GROUP BY kind", (cycle_id,)
        ):
            if kind in counts:
                counts[kind] = n
        self.db.execute(
            "UPDATE cycles SET ended_at = ?, result = ?, message = ?, created = ?, linked = ?, severed = ?,"
            " restored = ?, written = ?, rejected = ?, salesforce_requests = ?, bigtime_requests = ?, error_code = ?,"
            " error_system = ?"
            " WHERE id = ?",
            (
                utcnow(),
                result,
                message,
                counts["created"],
                counts["linked"],
                counts["severed"],
                counts["restored"],
                counts["written"],
                counts["rejected"],
                salesforce_requests,
                bigtime_requests,
                error_code or None,
                error_system or None,
                cycle_id,
            ),
        )

    def event(
        self,
        cycle_id: int | None,
        kind: str,
        message: str,
        opportunity_id: str | None = None,
        project_id: int | None = None,
    ) -> None:
        assert kind in EVENT_KINDS, kind
        self.db.execute(
            "INSERT INTO events (cycle_id, at, kind, opportunity_id, project_id, message) VALUES (?, ?, ?, ?, ?, ?)",
            (cycle_id, utcnow(), kind, opportunity_id, project_id, message),
        )

    def cycles(self, limit: int = 20) -> list[Cycle]:
        return [Cycle(**dict(r)) for r in self.db.execute("SELECT * FROM cycles ORDER BY id DESC LIMIT ?", (limit,))]

    def events(self, cycle_id: int | None = None, limit: int = 200) -> list[Event]:
        if cycle_id is None:
            rows = self.db.execute("SELECT * FROM events ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self.db.execute("SELECT * FROM events WHERE cycle_id = ? ORDER BY id", (cycle_id,))
        return [Event(**dict(r)) for r in rows]

    def recent_activity(self, cycles: int = 200) -> tuple[list[Cycle], list[Event]]:
        """The Activity window's data: the last ``cycles`` cycles (newest first) and every event of
        them (newest first), in one read transaction so both come from the same moment. Events of no
        cycle (a change of how triggers arrive) are read too, from the oldest shown cycle's start on."""
        self.db.execute("BEGIN")  # a read snapshot (WAL): never waits for, nor blocks, a running cycle
        try:
            shown = self.cycles(cycles)
            # While every cycle is shown, every event of none is too (the stream connects before the first).
            since = shown[-1].started_at if len(shown) == cycles else ""
            rows = (
                self.db.execute(
                    "SELECT * FROM events WHERE cycle_id >= ? OR (cycle_id IS NULL AND at >= ?) ORDER BY id DESC",
                    (shown[-1].id, since),
                )
                if shown
                else self.db.execute("SELECT * FROM events WHERE cycle_id IS NULL ORDER BY id DESC LIMIT 200")
            )
            return shown, [Event(**dict(r)) for r in rows]
        finally:
            self.db.execute("COMMIT")

    def close_interrupted_cycles(self) -> int:
        """Cycles a crash left 'running' are recorded as interrupted (the journal made them safe)."""
        cur = self.db.execute(
            "UPDATE cycles SET result = 'interrupted', ended_at = COALESCE(ended_at, ?) WHERE result = 'running'",
            (utcnow(),),
        )
        return cur.rowcount


def _link(row: sqlite3.Row) -> Link:
    data = dict(row)
    data["written_back"] = bool(data["written_back"])
    return Link(**data)


def _intent(row: sqlite3.Row) -> Intent:
    data = dict(row)
    data.pop("created_at")
    data.pop("updated_at")
    return Intent(**data)
