"""The state database's schema, as the migrations that build it: step N takes a database at
``PRAGMA user_version`` N-1 to N (``core/store.py`` runs them, one transaction each). A released
step is never edited — a change is a new step at the end — so every older database upgrades in place.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
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
    """,
    # 2: an opportunity left alone at set-up is released (not forgotten) when it goes below the
    # stage, with the moment, so a stage history read again never counts what came before it
    """
    ALTER TABLE excluded ADD COLUMN released_at TEXT
    """,
    # 3: what the sync learnt or keeps that is not a position in a stream (the org's daily allowance,
    # BigTime's code length, the installation id, the cached Salesforce metadata) moves from cursors
    # to a key-value table of JSON values; a failed cycle keeps its problem's stable code and system.
    # Plain SQL, no JSON functions (not every SQLite has them): the numbers are digits, the id is hex,
    # the metadata was written as JSON.
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO meta (key, value) SELECT name, CAST(CAST(value AS INTEGER) AS TEXT) FROM cursors
        WHERE name IN ('salesforce_daily_max', 'bigtime_project_code_max') AND value <> ''
          AND value NOT GLOB '*[^0-9]*';
    INSERT INTO meta (key, value) SELECT name, '"' || value || '"' FROM cursors
        WHERE name = 'installation_id' AND value <> '' AND value NOT GLOB '*[^0-9A-Za-z]*';
    INSERT INTO meta (key, value) SELECT name, value FROM cursors
        WHERE name = 'salesforce_metadata' AND value LIKE '{%}';
    DELETE FROM cursors WHERE name IN ('salesforce_daily_max', 'bigtime_project_code_max', 'installation_id',
                                       'salesforce_metadata');
    ALTER TABLE cycles ADD COLUMN error_code TEXT;
    ALTER TABLE cycles ADD COLUMN error_system TEXT
    """,
    # 4: when an intent's last BigTime write was sent without an answer seen (core.creation.in_doubt)
    """
    ALTER TABLE journal ADD COLUMN sent_at TEXT
    """,
]
