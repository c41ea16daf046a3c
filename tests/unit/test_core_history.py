"""The activity history stays bounded (core/history.py): old cycles and events go, the cap drops
quiet cycles before ones where something happened, the sync's memory (links, journal) is never
touched, pruning runs at most hourly, and freed pages are given back by an occasional VACUUM."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from bigsync_gui.core import history
from bigsync_gui.core.store import Store

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)  # pinned: nothing here reads the wall clock


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def add_cycle(store: Store, at: datetime, result: str = "ok", events: int = 0) -> int:
    cur = store.db.execute(
        "INSERT INTO cycles (kind, started_at, ended_at, result) VALUES ('trigger', ?, ?, ?)",
        (stamp(at), stamp(at), result),
    )
    cycle_id = int(cur.lastrowid or 0)
    for n in range(events):
        store.db.execute(
            "INSERT INTO events (cycle_id, at, kind, opportunity_id, message) VALUES (?, ?, 'created', ?, ?)",
            (cycle_id, stamp(at), f"006{n:015d}", "Project made"),
        )
    return cycle_id


def count(store: Store, table: str) -> int:
    return int(store.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_what_is_older_than_the_kept_days_goes_and_the_rest_stays(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    old = add_cycle(store, NOW - timedelta(days=91), events=2)
    edge = add_cycle(store, NOW - timedelta(days=89), events=1)
    store.add_usage("salesforce", 40, (NOW - timedelta(days=120)).date().isoformat())
    store.add_usage("salesforce", 7, NOW.date().isoformat())
    pruned = history.prune(store, NOW, keep_days=90, max_cycles=1000)
    assert (pruned.cycles, pruned.events) == (1, 2)
    assert [c.id for c in store.cycles(10)] == [edge]
    assert {e.cycle_id for e in store.events()} == {edge}
    assert old not in {c.id for c in store.cycles(10)}
    assert store.usage_today("salesforce", NOW.date().isoformat()) == 7
    assert count(store, "api_usage") == 1


def test_past_the_cap_quiet_cycles_go_first_and_what_happened_to_deals_stays(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    start = NOW - timedelta(days=2)
    busy = [add_cycle(store, start + timedelta(minutes=10 * i), events=1) for i in range(5)]
    failed = add_cycle(store, start + timedelta(minutes=55), result="failed")
    quiet = [add_cycle(store, start + timedelta(minutes=60 + i)) for i in range(300)]
    history.prune(store, NOW, keep_days=90, max_cycles=200)
    kept = {c.id for c in store.cycles(1000)}
    assert len(kept) == 200
    assert set(busy) <= kept and failed in kept  # nothing that told something was dropped
    assert set(quiet[-194:]) <= kept  # the newest quiet ones stay
    assert count(store, "events") == 5


def test_when_every_cycle_told_something_the_oldest_go_with_their_events(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    ids = [add_cycle(store, NOW - timedelta(hours=300 - i), events=2) for i in range(150)]
    history.prune(store, NOW, keep_days=90, max_cycles=100)
    assert [c.id for c in store.cycles(1000)] == sorted(ids[50:], reverse=True)
    assert count(store, "events") == 200
    assert {e.cycle_id for e in store.events(limit=1000)} == set(ids[50:])


def test_the_sync_memory_is_never_pruned(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    with store.transaction():
        store.add_link("006000000000001AAA", 41, 7, "001000000000001AAA", "Old deal")
        store.begin_intent("006000000000002AAA", "SF-CODE")
        store.set_cursor("opportunities", stamp(NOW - timedelta(days=400)))
    add_cycle(store, NOW - timedelta(days=400), events=1)
    history.prune(store, NOW, keep_days=1, max_cycles=100)
    assert store.link("006000000000001AAA") is not None
    assert store.intent("006000000000002AAA") is not None
    assert store.cursor("opportunities") == stamp(NOW - timedelta(days=400))
    assert count(store, "cycles") == 0


def test_pruning_runs_at_most_hourly_and_again_when_the_clock_went_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    assert history.prune_if_due(store, NOW, 90, 1000) is not None
    add_cycle(store, NOW - timedelta(days=200))
    assert history.prune_if_due(store, NOW + timedelta(minutes=59), 90, 1000) is None
    assert count(store, "cycles") == 1
    assert history.prune_if_due(store, NOW - timedelta(days=1), 90, 1000) is not None  # clock moved back
    assert count(store, "cycles") == 0
    add_cycle(store, NOW - timedelta(days=200))
    assert history.prune_if_due(store, NOW + timedelta(hours=1), 90, 1000) is not None


def test_freed_pages_are_given_back_at_most_weekly(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = Store(path)
    with store.transaction():
        for i in range(4000):
            add_cycle(store, NOW - timedelta(days=120, minutes=i), events=1)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = path.stat().st_size
    first = history.prune(store, NOW, keep_days=90, max_cycles=1000)
    assert first.vacuumed and first.cycles == 4000
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size < before / 4
    with store.transaction():
        for i in range(4000):
            add_cycle(store, NOW - timedelta(days=120, minutes=i), events=1)
    again = history.prune(store, NOW + timedelta(days=2), keep_days=90, max_cycles=1000)
    assert again.cycles == 4000 and not again.vacuumed  # compacted two days ago: not yet
    later = history.prune(store, NOW + timedelta(days=8), keep_days=90, max_cycles=1000)
    assert later.vacuumed
