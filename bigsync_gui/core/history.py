"""Keeps the activity history (cycles, events, daily request counts) bounded.

A loop at its shortest interval records ~2,880 cycles a day, and Activity and `status` read them:
without pruning the state database only grows. What is kept (docs/sync.md, "History"):

- nothing older than ``history_days`` (90 by default);
- at most ``history_max_cycles`` cycles: past the cap the oldest *quiet* cycles go first (a cycle
  that ended well and recorded no event: nothing happened to any deal), then the oldest of any kind.

Pruning runs inside a cycle (the loop's worker thread, never the GUI's), at most once an hour, and
an occasional ``VACUUM`` gives the freed pages back to the disk. The journal, the links and the
cursors are never touched here: they are the sync's memory, not its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ..connectors.timestamps import parse_timestamp
from .store import Store

PRUNED_AT = "history_pruned_at"
VACUUMED_AT = "history_vacuumed_at"
PRUNE_EVERY = timedelta(hours=1)
VACUUM_EVERY = timedelta(days=7)
VACUUM_FREE_SHARE = 0.25  # vacuum once a quarter of the file is free pages


@dataclass(frozen=True)
class Pruned:
    cycles: int
    events: int
    vacuumed: bool


def prune_if_due(store: Store, now: datetime, keep_days: int, max_cycles: int) -> Pruned | None:
    """Prune when the last pruning is an hour old (or never ran, or the clock went back)."""
    last = store.get_meta(PRUNED_AT)
    if last:
        try:
            since = now - parse_timestamp(last)
        except (TypeError, ValueError):
            since = PRUNE_EVERY
        if timedelta(0) <= since < PRUNE_EVERY:
            return None
    return prune(store, now, keep_days, max_cycles)


def prune(store: Store, now: datetime, keep_days: int, max_cycles: int) -> Pruned:
    """Delete what falls outside the bounds; ``VACUUM`` when much of the file is free and the last
    one is a week old. Returns what went."""
    now = now.astimezone(timezone.utc)
    cutoff = (now - timedelta(days=keep_days)).isoformat(timespec="milliseconds")
    db = store.db
    with store.transaction():
        events = db.execute("DELETE FROM events WHERE at < ?", (cutoff,)).rowcount
        events += db.execute(
            "DELETE FROM events WHERE cycle_id IN (SELECT id FROM cycles WHERE started_at < ?)", (cutoff,)
        ).rowcount
        cycles = db.execute("DELETE FROM cycles WHERE started_at < ? AND result <> 'running'", (cutoff,)).rowcount
        db.execute("DELETE FROM api_usage WHERE day < ?", (cutoff[:10],))
        over = int(db.execute("SELECT COUNT(*) FROM cycles").fetchone()[0]) - max_cycles
        if over > 0:
            cycles += db.execute(
                "DELETE FROM cycles WHERE id IN (SELECT id FROM cycles c WHERE result = 'ok' AND NOT EXISTS"
                " (SELECT 1 FROM events e WHERE e.cycle_id = c.id) ORDER BY id LIMIT ?)",
                (over,),
            ).rowcount
            over = int(db.execute("SELECT COUNT(*) FROM cycles").fetchone()[0]) - max_cycles
        if over > 0:
            oldest = [
                r[0] for r in db.execute("SELECT id FROM cycles WHERE result <> 'running' ORDER BY id LIMIT ?", (over,))
            ]
            for start in range(0, len(oldest), 500):
                chunk = oldest[start : start + 500]
                marks = ",".join("?" * len(chunk))
                events += db.execute(f"DELETE FROM events WHERE cycle_id IN ({marks})", chunk).rowcount
                cycles += db.execute(f"DELETE FROM cycles WHERE id IN ({marks})", chunk).rowcount
        store.set_meta(PRUNED_AT, now.isoformat())
    return Pruned(cycles, events, _vacuum_if_due(store, now))


def _vacuum_if_due(store: Store, now: datetime) -> bool:
    pages = int(store.db.execute("PRAGMA page_count").fetchone()[0])
    free = int(store.db.execute("PRAGMA freelist_count").fetchone()[0])
    if not pages or free / pages < VACUUM_FREE_SHARE:
        return False
    last = store.get_meta(VACUUMED_AT)
    if last:
        try:
            if timedelta(0) <= now - parse_timestamp(last) < VACUUM_EVERY:
                return False
        except (TypeError, ValueError):
            pass
    store.db.execute("VACUUM")  # outside any transaction; rewrites the file without the free pages
    store.set_meta(VACUUMED_AT, now.isoformat())
    return True
