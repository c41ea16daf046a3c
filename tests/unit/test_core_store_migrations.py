"""The state database's upgrade rules (core/store.py, core/store_schema.py): an old database is
upgraded in place, one version at a time, keeping its data; a newer or unreadable one is refused
and left for the admin.

``SCHEMAS`` holds each released schema *as it was written*, literally — not taken from MIGRATIONS —
so a migration that changes history, or a new version added without its schema here, fails.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bigsync_gui.core import cadence
from bigsync_gui.core import store as store_module
from bigsync_gui.core.cycle import Metadata
from bigsync_gui.core.store import ClientLink, Store, StoreError
from bigsync_gui.core.store_schema import MIGRATIONS

# Version 1 (5c356c5, "Core: sync settings ... and the SQLite store"): the first schema.
SCHEMA_1 = """
CREATE TABLE links (
    opportunity_id TEXT PRIMARY KEY,
    project_id INTEGER NOT NULL,
    client_id INTEGER,
    account_id TEXT,
    opportunity_name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('linked', 'severed')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    written_back INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX links_project ON links(project_id);
CREATE TABLE journal (
    opportunity_id TEXT PRIMARY KEY,
    project_code TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'created', 'failed')),
    project_id INTEGER,
    reason TEXT NOT NULL DEFAULT '',
    failed_modstamp TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE clients (
    account_id TEXT PRIMARY KEY,
    client_id INTEGER,
    client_code TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'linked')),
    updated_at TEXT NOT NULL
);
CREATE TABLE excluded (
    opportunity_id TEXT PRIMARY KEY,
    since TEXT NOT NULL
);
CREATE TABLE cursors (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE written (
    opportunity_id TEXT PRIMARY KEY,
    project_modified TEXT NOT NULL DEFAULT '',
    values_json TEXT NOT NULL DEFAULT '{}',
    written_at TEXT NOT NULL
);
CREATE TABLE api_usage (
    day TEXT NOT NULL,
    system TEXT NOT NULL,
    requests INTEGER NOT NULL,
    PRIMARY KEY (day, system)
);
CREATE TABLE cycles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    result TEXT NOT NULL DEFAULT 'running',
    message TEXT NOT NULL DEFAULT '',
    created INTEGER NOT NULL DEFAULT 0,
    linked INTEGER NOT NULL DEFAULT 0,
    severed INTEGER NOT NULL DEFAULT 0,
    restored INTEGER NOT NULL DEFAULT 0,
    written INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    salesforce_requests INTEGER NOT NULL DEFAULT 0,
    bigtime_requests INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cycle_id INTEGER REFERENCES cycles(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    opportunity_id TEXT,
    project_id INTEGER,
    message TEXT NOT NULL
);
CREATE INDEX events_cycle ON events(cycle_id);
"""

# Rows a version-1 database could hold, one or more per table, written with that version's columns.
DATA_1 = """
INSERT INTO links VALUES ('006A', 501, 301, '001A', 'Acme – Rollout', 'linked', '2024-05-01T12:00:00.000+00:00',
                          '2024-05-01T12:00:00.000+00:00', 1);
INSERT INTO links VALUES ('006B', 502, NULL, NULL, 'Deleted one', 'severed', '2024-05-01T12:00:00.000+00:00',
                          '2024-05-02T12:00:00.000+00:00', 0);
INSERT INTO journal VALUES ('006C', 'SF-006C', 'pending', NULL, '', '', 2, '2024-05-01T12:00:00.000+00:00',
                            '2024-05-01T12:00:00.000+00:00');
INSERT INTO journal VALUES ('006D', 'SF-006D', 'failed', NULL, 'no account', '2024-05-01T11:00:00.000+0000', 1,
                            '2024-05-01T12:00:00.000+00:00', '2024-05-01T12:00:00.000+00:00');
INSERT INTO clients VALUES ('001A', 301, 'SF-001A', 'linked', '2024-05-01T12:00:00.000+00:00');
INSERT INTO excluded VALUES ('006E', '2024-05-01T12:00:00.000+00:00');
INSERT INTO cursors VALUES ('opportunity_modstamp', '2024-05-01T12:00:00.000+00:00');
INSERT INTO written VALUES ('006A', '2024-05-01T12:30:00', '{"wip": 10.5}', '2024-05-01T12:31:00.000+00:00');
INSERT INTO api_usage VALUES ('2024-05-01', 'salesforce', 42);
INSERT INTO cycles (kind, started_at, ended_at, result, message, created) VALUES
    ('trigger', '2024-05-01T12:00:00.000+00:00', '2024-05-01T12:00:05.000+00:00', 'ok', '', 1);
INSERT INTO events (cycle_id, at, kind, opportunity_id, project_id, message) VALUES
    (1, '2024-05-01T12:00:04.000+00:00', 'created', '006A', 501, 'Created BigTime project 501 for Acme – Rollout.');
"""

# Version 2 (issue 12 item 4, the stage history): an excluded opportunity is released with the moment
# it went below the stage. The table as SQLite keeps it after ALTER TABLE … ADD COLUMN.
SCHEMA_2 = SCHEMA_1.replace(
    """CREATE TABLE excluded (
    opportunity_id TEXT PRIMARY KEY,
    since TEXT NOT NULL
);""",
    """CREATE TABLE excluded (
    opportunity_id TEXT PRIMARY KEY,
    since TEXT NOT NULL
, released_at TEXT);""",
)
DATA_2 = (
    DATA_1.replace(
        "INSERT INTO excluded VALUES ('006E', '2024-05-01T12:00:00.000+00:00');",
        """
INSERT INTO excluded VALUES ('006E', '2024-05-01T12:00:00.000+00:00', NULL);
INSERT INTO excluded VALUES ('006G', '2024-05-01T12:00:00.000+00:00', '2024-05-02T09:00:00.000+0000');""",
    )
    + """
INSERT INTO cursors VALUES ('stage_history_floor', '2024-05-01T11:00:00.000+00:00');
INSERT INTO cursors VALUES ('salesforce_daily_max', '15000');
INSERT INTO cursors VALUES ('bigtime_project_code_max', '20');
INSERT INTO cursors VALUES ('installation_id', '9f3a0c1e');
INSERT INTO cursors VALUES ('salesforce_metadata', '{"fetched_at": "2024-05-01T12:00:00+00:00",
                                                     "fields": ["amount", "name"], "stages": []}');
"""
)

# Version 3 (issue 12 item 7): what is not a cursor (learnt values, the installation id, the cached
# metadata) in a key-value table of JSON values; a failed cycle's problem code and system.
SCHEMA_3 = (
    SCHEMA_2.replace(
        """    salesforce_requests INTEGER NOT NULL DEFAULT 0,
    bigtime_requests INTEGER NOT NULL DEFAULT 0
);""",
        """    salesforce_requests INTEGER NOT NULL DEFAULT 0,
    bigtime_requests INTEGER NOT NULL DEFAULT 0
, error_code TEXT, error_system TEXT);""",
    )
    + """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
)
DATA_3 = (
    DATA_1.replace(
        "INSERT INTO excluded VALUES ('006E', '2024-05-01T12:00:00.000+00:00');",
        """
INSERT INTO excluded VALUES ('006E', '2024-05-01T12:00:00.000+00:00', NULL);""",
    )
    + """
INSERT INTO cursors VALUES ('stage_history_floor', '2024-05-01T11:00:00.000+00:00');
INSERT INTO meta VALUES ('salesforce_daily_max', '15000');
INSERT INTO meta VALUES ('installation_id', '"9f3a0c1e"');
INSERT INTO cycles (kind, started_at, ended_at, result, message, error_code, error_system) VALUES
    ('writeback', '2024-05-01T12:10:00.000+00:00', '2024-05-01T12:10:01.000+00:00', 'failed', 'Offline.', 'Offline',
     'bigtime');
"""
)

# Version 4: when an intent's last BigTime write was sent without its answer seen (a create in doubt).
SCHEMA_4 = SCHEMA_3.replace(
    """    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE clients (""",
    """    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
, sent_at TEXT);
CREATE TABLE clients (""",
)
DATA_4 = DATA_3.replace(
    """'2024-05-01T12:00:00.000+00:00',
                            '2024-05-01T12:00:00.000+00:00');""",
    """'2024-05-01T12:00:00.000+00:00',
                            '2024-05-01T12:00:00.000+00:00', '2024-05-01T12:00:01.000+00:00');""",
).replace(
    """'2024-05-01T12:00:00.000+00:00', '2024-05-01T12:00:00.000+00:00');""",
    """'2024-05-01T12:00:00.000+00:00', '2024-05-01T12:00:00.000+00:00', NULL);""",
)

SCHEMAS = {1: SCHEMA_1, 2: SCHEMA_2, 3: SCHEMA_3, 4: SCHEMA_4}  # version → its schema, literally
DATA = {1: DATA_1, 2: DATA_2, 3: DATA_3, 4: DATA_4}  # version → rows written with that version's columns
CURRENT = len(MIGRATIONS)


def build(path: Path, version: int) -> None:
    """A database exactly as ``version`` of bigsync-gui left it (0: the empty file a first start creates)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    if version:
        db = sqlite3.connect(path)
        db.executescript(SCHEMAS[version] + DATA[version] + f"PRAGMA user_version = {version};")
        db.close()


def schema_of(path: Path) -> tuple[int, set[tuple[str, str, str]]]:
    db = sqlite3.connect(path)
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        rows = db.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    finally:
        db.close()
    return version, {(kind, name, " ".join(sql.split())) for kind, name, sql in rows}


def expected_schema(tmp_path: Path, version: int) -> set[tuple[str, str, str]]:
    path = tmp_path / f"expected-{version}.db"
    build(path, version)
    return schema_of(path)[1]


def assert_version_1_data_kept(store: Store) -> None:
    link = store.link("006A")
    assert link is not None and (link.project_id, link.client_id, link.status, link.written_back) == (
        501,
        301,
        "linked",
        True,
    )
    assert store.link("006B").status == "severed"  # type: ignore[union-attr]
    pending = store.intent("006C")
    assert pending is not None and (pending.state, pending.project_code, pending.attempts) == ("pending", "SF-006C", 2)
    failed = store.intent("006D")
    assert failed is not None and (failed.state, failed.reason) == ("failed", "no account")
    assert store.client_for_account("001A") == ClientLink(client_id=301, client_code="SF-001A", status="linked")
    assert store.released_at("006E") == ""  # left alone at set-up, not released since
    assert store.cursor("opportunity_modstamp") == "2024-05-01T12:00:00.000+00:00"
    assert store.written("006A") == ("2024-05-01T12:30:00", {"wip": 10.5})
    cycle = store.cycles()[-1]
    assert (cycle.kind, cycle.result, cycle.created, cycle.error_code) == ("trigger", "ok", 1, None)
    assert [e.message for e in store.events()] == ["Created BigTime project 501 for Acme – Rollout."]


def test_every_schema_version_is_written_down_here() -> None:
    """Adding a migration means adding the new version's schema (and sample rows) to this file."""
    assert sorted(SCHEMAS) == sorted(DATA) == list(range(1, CURRENT + 1))


@pytest.mark.parametrize("version", range(CURRENT))
def test_each_version_migrates_to_exactly_the_next_schema(
    tmp_path: Path, version: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    build(path, version)
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[: version + 1])  # a bigsync-gui one version newer
    Store(path).close()
    assert schema_of(path) == (version + 1, expected_schema(tmp_path, version + 1))


@pytest.mark.parametrize("version", range(CURRENT + 1))
def test_each_version_migrates_to_the_current_schema(tmp_path: Path, version: int) -> None:
    path = tmp_path / "state.db"
    build(path, version)
    Store(path).close()
    assert schema_of(path) == (CURRENT, expected_schema(tmp_path, CURRENT))


def test_version_1_exclusions_are_still_in_force_and_a_release_keeps_its_moment(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    build(path, 1)
    store = Store(path)
    try:
        assert store.released_at("006E") == "" and store.released_at("006X") is None
        with store.transaction():
            store.release("006E", "2024-05-03T08:00:00.000+0000")
            store.release("006E", "2024-05-04T08:00:00.000+0000")  # the first release stays
        assert store.released_at("006E") == "2024-05-03T08:00:00.000+0000"
    finally:
        store.close()


def test_version_2_values_that_are_not_cursors_move_to_the_key_value_table(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    build(path, 2)
    store = Store(path)
    try:
        assert cadence.stored_daily_max(store) == 15000  # read where the interval and the budget read it
        assert store.get_meta("bigtime_project_code_max") == 20
        assert store.get_meta("installation_id") == "9f3a0c1e"
        assert Metadata.from_dict(store.get_meta("salesforce_metadata")).opportunity_fields == {"amount", "name"}
        for moved in ("salesforce_daily_max", "bigtime_project_code_max", "installation_id", "salesforce_metadata"):
            assert store.cursor(moved) is None, moved
        assert store.cursor("stage_history_floor") == "2024-05-01T11:00:00.000+00:00"  # a cursor stays one
        (cycle,) = store.cycles()
        assert (cycle.error_code, cycle.error_system) == (None, None)  # nothing recorded before version 3
    finally:
        store.close()


def test_unreadable_values_are_left_behind_not_moved(tmp_path: Path) -> None:
    """What the old code ignored (a daily maximum that is not a number) is not carried over as one."""
    path = tmp_path / "state.db"
    build(path, 2)
    db = sqlite3.connect(path)
    db.executescript("UPDATE cursors SET value = 'lots' WHERE name = 'salesforce_daily_max';")
    db.close()
    store = Store(path)
    try:
        assert cadence.stored_daily_max(store) is None and store.get_meta("salesforce_daily_max") is None
        assert store.cursor("salesforce_daily_max") is None
    finally:
        store.close()


def test_a_failed_cycle_keeps_its_problem_code_and_system(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.db")
    try:
        with store.transaction():
            failed, ok = store.start_cycle("trigger"), store.start_cycle("trigger")
            store.end_cycle(failed, "failed", "Salesforce could not be reached.", 1, 0, "Offline", "salesforce")
            store.end_cycle(ok, "ok", "", 1, 0)
        rows = {c.id: c for c in store.cycles()}
        assert (rows[failed].error_code, rows[failed].error_system) == ("Offline", "salesforce")
        assert (rows[ok].error_code, rows[ok].error_system) == (None, None)
    finally:
        store.close()


def test_an_intent_from_before_version_4_is_not_in_doubt_and_a_stamp_is_kept_until_answered(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    build(path, 3)
    store = Store(path)
    try:
        assert store.intent("006C").sent_at is None  # type: ignore[union-attr]
        with store.transaction():
            store.mark_sent("006C", "2024-05-02T09:00:00.000+00:00")
        assert store.intent("006C").sent_at == "2024-05-02T09:00:00.000+00:00"  # type: ignore[union-attr]
        with store.transaction():
            store.begin_intent("006C", "SF-006C")  # another attempt does not forget the doubt
        assert store.intent("006C").sent_at == "2024-05-02T09:00:00.000+00:00"  # type: ignore[union-attr]
        with store.transaction():
            store.finish_intent("006C", 777)
        assert store.intent("006C").sent_at is None  # type: ignore[union-attr]
    finally:
        store.close()


@pytest.mark.parametrize("version", range(1, CURRENT + 1))
def test_upgrading_keeps_the_data(tmp_path: Path, version: int) -> None:
    path = tmp_path / "state.db"
    build(path, version)
    store = Store(path)
    try:
        assert_version_1_data_kept(store)  # every later version must still answer for version-1 rows
        store.add_link("006F", 503, None, None, "After the upgrade")  # and the upgraded file takes new rows
        assert store.link("006F") is not None
    finally:
        store.close()


def test_opening_the_current_version_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    build(path, CURRENT)
    before = schema_of(path)
    Store(path).close()
    Store(path).close()
    assert schema_of(path) == before


def test_a_failing_step_leaves_the_previous_version_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One transaction per step: the schema change and its version number land together or not at all."""
    path = tmp_path / "state.db"
    build(path, CURRENT)
    broken = "ALTER TABLE links ADD COLUMN note TEXT; ALTER TABLE no_such_table ADD COLUMN x TEXT;"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert str(path) in caught.value.message and "no_such_table" in caught.value.message
    assert schema_of(path) == (CURRENT, expected_schema(tmp_path, CURRENT))  # no 'note' column, version unchanged


def test_a_database_from_a_newer_version_is_refused_and_its_data_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    build(path, CURRENT)
    db = sqlite3.connect(path)
    db.executescript(
        f"CREATE TABLE from_the_future (x TEXT); INSERT INTO from_the_future VALUES ('kept'); "
        f"PRAGMA user_version = {CURRENT + 1};"
    )
    db.close()
    with pytest.raises(StoreError) as caught:
        Store(path)
    assert caught.value.message == f"The sync state database {path} was written by a newer version of bigsync-gui."
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == CURRENT + 1
        assert db.execute("SELECT x FROM from_the_future").fetchall() == [("kept",)]
    finally:
        db.close()


def valid_header_then_garbage(tmp_path: Path) -> bytes:
    build(tmp_path / "source.db", CURRENT)
    return (tmp_path / "source.db").read_bytes()[:100] + b"\x00garbage" * 1000


@pytest.mark.parametrize(
    "content",
    [
        lambda tmp: b"this is not a database " * 200,
        valid_header_then_garbage,
    ],
    ids=["not-sqlite", "damaged-sqlite"],
)
def test_a_corrupt_file_is_refused_clearly_and_not_overwritten(tmp_path: Path, content) -> None:
    path = tmp_path / "data" / "state.db"
    path.parent.mkdir()
    data = content(tmp_path)
    path.write_bytes(data)
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = caught.value.message
    assert str(path) in message and "cannot be used" in message and "left as it is" in message
    assert path.read_bytes() == data


def test_a_new_database_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state.db"
    store = Store(path)
    try:
        store.set_cursor("x", "y")  # the WAL files exist while it is open
        for suffix in ("", "-wal", "-shm"):
            assert Path(str(path) + suffix).stat().st_mode & 0o777 == 0o600, suffix
    finally:
        store.close()


def test_an_existing_database_readable_by_others_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    build(path, CURRENT)
    path.chmod(0o644)
    Store(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


def newer_database(path: Path) -> None:
    build(path, CURRENT)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {CURRENT + 1}")
    db.close()


def failing_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(path, CURRENT)
    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, "ALTER TABLE no_such_table ADD COLUMN x TEXT;"])


def test_a_failing_step_releases_the_database_and_says_it_is_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The step's transaction must not outlive the refusal: the next open would wait 30 s on its lock."""
    path = tmp_path / "state.db"
    failing_step(path, monkeypatch)
    with pytest.raises(StoreError) as caught:
        Store(path)
    message = caught.value.message
    assert "bug" in message and "report" in message and "move it away" not in message
    probe = sqlite3.connect(path, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # "database is locked" while the failed step still holds it
        probe.execute("ROLLBACK")
    finally:
        probe.close()
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS)
    Store(path).close()


@pytest.mark.parametrize("refusal", ["failing step", "newer version", "not a database"])
def test_every_refusal_closes_the_connection_it_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    path = tmp_path / "state.db"
    if refusal == "failing step":
        failing_step(path, monkeypatch)
    elif refusal == "newer version":
        newer_database(path)
    else:
        path.write_bytes(b"this is not a database " * 200)
    opened: list[sqlite3.Connection] = []
    connect = sqlite3.connect

    def recording_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(store_module.sqlite3, "connect", recording_connect)
    with pytest.raises(StoreError):
        Store(path)
    assert opened
    for db in opened:
        with pytest.raises(sqlite3.ProgrammingError):  # "Cannot operate on a closed database."
            db.execute("SELECT 1")


def test_a_newer_database_is_refused_before_its_journal_mode_is_changed(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    newer_database(path)
    with pytest.raises(StoreError):
        Store(path)
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    finally:
        db.close()
