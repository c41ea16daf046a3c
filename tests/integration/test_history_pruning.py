"""A real cycle keeps the history bounded (core.history through core.cycle): what is older than the
kept days is gone after the next cycle, the cycle itself and the links stay, and a second cycle within
the hour does not prune again."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine_fixtures import Connected

from bigsync_gui.core import history


def test_a_cycle_prunes_the_old_history_and_keeps_its_own(connected_engine: Connected) -> None:
    env = connected_engine
    store = env.store()
    old = (datetime.now(timezone.utc) - timedelta(days=120)).isoformat(timespec="milliseconds")  # the store's clock
    with store.transaction():
        for _ in range(3):
            cur = store.db.execute(
                "INSERT INTO cycles (kind, started_at, ended_at, result) VALUES ('trigger', ?, ?, 'ok')", (old, old)
            )
            store.db.execute(
                "INSERT INTO events (cycle_id, at, kind, message) VALUES (?, ?, 'warning', 'old')", (cur.lastrowid, old)
            )
    store.close()

    report = env.cycle()
    store = env.store()
    try:
        kept = store.cycles(100)
        assert report.cycle_id in [c.id for c in kept]
        assert all(c.started_at > old for c in kept)
        assert [e for e in store.events(limit=100) if e.message == "old"] == []
        pruned_at = store.get_meta(history.PRUNED_AT)
    finally:
        store.close()
    assert pruned_at

    env.cycle()
    store = env.store()
    try:
        assert store.get_meta(history.PRUNED_AT) == pruned_at  # within the hour: not again
    finally:
        store.close()
