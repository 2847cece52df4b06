"""The score log's SQLite schema and its migrations.

The schema version lives in ``PRAGMA user_version``. ``MIGRATIONS[i]`` takes a database from
version ``i`` to ``i + 1``; :func:`migrate` applies the missing ones in one transaction each,
so a database is always at some whole version. Never edit a released migration: append one.

Usage::

    import sqlite3
    from backend.scorelog.schema import migrate, SCHEMA_VERSION
    conn = sqlite3.connect("scores.sqlite", isolation_level=None)
    migrate(conn)   # -> SCHEMA_VERSION
"""

from __future__ import annotations

import sqlite3

FORMAT = "pigeon-scorelog"
"""Written into the ``meta`` table: what kind of file this is."""

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1: sessions, games, rounds, meta
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id             INTEGER PRIMARY KEY,
        started_at     REAL NOT NULL,           -- unix seconds
        client_kind    TEXT NOT NULL,           -- extension / arena / screen / test / cli
        client_version TEXT,
        model_id       TEXT,
        note           TEXT
    );
    CREATE TABLE games (
        id         INTEGER PRIMARY KEY,
        source     TEXT NOT NULL,               -- geoguessr / arena / screen / test
        game_id    TEXT NOT NULL,               -- the game's own id
        mode       TEXT,
        map        TEXT,
        first_seen REAL NOT NULL,
        UNIQUE (source, game_id)
    );
    CREATE TABLE rounds (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER REFERENCES sessions(id),
        game_row        INTEGER REFERENCES games(id),
        round_id        TEXT NOT NULL,          -- the client's round id
        game_id         TEXT,
        round_number    INTEGER,
        created_at      REAL NOT NULL,          -- when the guess was logged (unix seconds)
        source          TEXT NOT NULL,
        mode            TEXT,
        map             TEXT,
        guess_lat       REAL NOT NULL,
        guess_lng       REAL NOT NULL,
        projected_score REAL,
        confidence      REAL,
        country         TEXT,
        latency_ms      REAL,
        model_id        TEXT,
        n_views         INTEGER,
        result_at       REAL,                   -- when the result arrived (NULL: not yet)
        truth_lat       REAL,
        truth_lng       REAL,
        distance_km     REAL,
        score           REAL,
        opponent_lat    REAL,
        opponent_lng    REAL,
        opponent_score  REAL
    );
    CREATE INDEX rounds_round_id ON rounds (round_id);
    CREATE INDEX rounds_created_at ON rounds (created_at);
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(RuntimeError):
    """The database file is from a newer pigeon-bot, or is not a score log."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0 for a new file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, *, made_by: str = "pigeon-bot") -> int:
    """Bring a score-log database up to :data:`SCHEMA_VERSION`.

    Args:
        conn: a connection opened with ``isolation_level=None`` (explicit transactions).
        made_by: written into ``meta`` when the file is created.

    Returns:
        The schema version after migrating.

    Raises:
        SchemaError: the file's version is newer than this code knows, or a version-0 file
            already holds unrelated tables.
    """
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaError(f"the score log has schema version {version}, this pigeon-bot "
                          f"knows up to {SCHEMA_VERSION}; upgrade pigeon-bot")
    if version == 0:
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        if tables:
            raise SchemaError("this SQLite file already holds other tables "
                              f"({', '.join(t[0] for t in tables[:5])}); it is not a score log")
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # user_version is re-read inside the lock: another process may have migrated
            if schema_version(conn) == version:
                for statement in _statements(MIGRATIONS[version]):
                    conn.execute(statement)
                if version == 0:
                    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                     [("format", FORMAT), ("made_by", made_by)])
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = schema_version(conn)
    return version


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would COMMIT on its own)."""
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line.split("--", 1)[0])
        text = "\n".join(buf).strip()
        if text.endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out
