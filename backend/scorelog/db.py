"""The score log: every round the bot played, in one SQLite file (WAL, one transaction a round).

Shared by the server (``pigeon serve --db``), the arena and the screen bot. A round is written
in two steps: :meth:`ScoreLog.log_guess` when the bot answers, :meth:`ScoreLog.log_result` when
the round's outcome is known (it completes the same row). WAL mode plus one committed
transaction per call means a crash (even SIGKILL) loses at most the call in progress.

Usage::

    from backend.scorelog import ScoreLog
    with ScoreLog("scores.sqlite") as log:
        sid = log.start_session(client_kind="screen", model_id="tiny-1")
        log.log_guess(round_id="g1:1", source="screen", lat=48.85, lng=2.35, session_id=sid)
        log.log_result("g1:1", truth_lat=48.0, truth_lng=2.0, score=4200)
        print(log.summary())

The default file is ``$PIGEON_SCORES_DB`` or ``~/.local/share/pigeon-bot/scores.sqlite``.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Self

from backend.core.geodesy import CoordinateError, haversine_km, validate_latlng
from backend.core.protocol import SOURCES
from backend.scorelog.schema import SchemaError, migrate

DB_ENV = "PIGEON_SCORES_DB"
DISTANCE_BANDS_KM = (1.0, 25.0, 200.0, 750.0, 2500.0)


def default_db_path() -> Path:
    """``$PIGEON_SCORES_DB`` if set, else ``~/.local/share/pigeon-bot/scores.sqlite``."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "pigeon-bot" / "scores.sqlite"


class UnknownRoundError(LookupError):
    """A result for a round id that has no logged guess."""


class ResultConflictError(Exception):
    """A second result for a round that would change a value its first result stored."""


RESULT_FIELDS = ("truth_lat", "truth_lng", "distance_km", "score", "opponent_lat",
                 "opponent_lng", "opponent_score")


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class RoundRecord:
    """One row of the ``rounds`` table."""

    id: int
    session_id: int | None
    round_id: str
    game_id: str | None
    round_number: int | None
    created_at: float
    source: str
    mode: str | None
    map: str | None
    guess_lat: float
    guess_lng: float
    projected_score: float | None
    confidence: float | None
    country: str | None
    latency_ms: float | None
    model_id: str | None
    n_views: int | None
    result_at: float | None
    truth_lat: float | None
    truth_lng: float | None
    distance_km: float | None
    score: float | None
    opponent_lat: float | None
    opponent_lng: float | None
    opponent_score: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ROUND_COLUMNS = tuple(f.name for f in fields(RoundRecord))


def _point(lat: Any, lng: Any, what: str) -> tuple[float, float]:
    try:
        la, ln = validate_latlng(lat, lng)
    except CoordinateError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return float(la), float(ln)


def _opt_float(value: Any, name: str, lo: float = -math.inf, hi: float = math.inf
               ) -> float | None:
    if value is None:
        return None
    x = float(value)
    if not math.isfinite(x) or not lo <= x <= hi:
        raise ValueError(f"{name} must be a finite number in [{lo}, {hi}], got {value!r}")
    return x


class ScoreLog:
    """A score-log database: open (create or migrate), write rounds, query them.

    Args:
        path: the SQLite file; its folder is created when missing.
        busy_timeout_s: how long a write waits for another process's write to finish.
        readonly: open without creating or migrating (for ``pigeon scores list``).

    Raises:
        SchemaError: the file is from a newer pigeon-bot or is not a score log.
        FileNotFoundError: ``readonly`` and the file does not exist.

    Thread-safe: one connection guarded by a lock, so the server's threads can share it.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 10.0,
                 readonly: bool = False) -> None:
        self.path = Path(path).expanduser()
        if readonly and not self.path.exists():
            raise FileNotFoundError(f"no score log at {self.path}")
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # a file: URI (percent-encoded, so '?' or '#' in a name stay part of the path)
        uri = self.path.resolve().as_uri() + ("?mode=ro" if readonly else "")
        self._conn = sqlite3.connect(uri, uri=True, isolation_level=None,
                                     check_same_thread=False,
                                     timeout=busy_timeout_s)
        self._lock = threading.Lock()
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            if not readonly:
                mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise SchemaError(f"could not switch {self.path} to WAL mode (got {mode})")
                # NORMAL in WAL: a committed round survives a crash of the process
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute("PRAGMA foreign_keys = ON")
                migrate(self._conn)
            else:
                from backend.scorelog.schema import SCHEMA_VERSION, schema_version
                found = schema_version(self._conn)
                if found == 0 or found > SCHEMA_VERSION:
                    raise SchemaError(f"{self.path} is not a score log this pigeon-bot can "
                                      f"read (schema version {found})")
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise SchemaError(f"{self.path} is not a readable SQLite score log: {exc}") from None
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ writing

    def _write(self, fn, *args: Any) -> Any:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(*args)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:   # a failed COMMIT may have ended it already
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass    # the original error says more than the rollback's
                raise
            return out

    def start_session(self, *, client_kind: str, client_version: str | None = None,
                      model_id: str | None = None, note: str | None = None) -> int:
        """Record a client session (one websocket connection, one arena run, ...).

        Returns:
            The session's id, to pass to :meth:`log_guess`.
        """
        if not client_kind:
            raise ValueError("client_kind must not be empty")

        def insert() -> int:
            cur = self._conn.execute(
                "INSERT INTO sessions (started_at, client_kind, client_version, model_id, note)"
                " VALUES (?, ?, ?, ?, ?)", (time.time(), client_kind, client_version, model_id,
                                            note))
            return int(cur.lastrowid)
        return self._write(insert)

    def log_guess(self, *, round_id: str, source: str, lat: float, lng: float,
                  session_id: int | None = None, mode: str | None = None,
                  map: str | None = None, game_id: str | None = None,
                  round_number: int | None = None, projected_score: float | None = None,
                  confidence: float | None = None, country: str | None = None,
                  latency_ms: float | None = None, model_id: str | None = None,
                  n_views: int | None = None, created_at: float | None = None) -> int:
        """Write the bot's guess for a round (one transaction).

        Args:
            round_id: the client's id of the round (e.g. ``<game id>:<round number>``).
            source: ``geoguessr`` / ``arena`` / ``screen`` / ``test``.
            lat, lng: the guess, decimal degrees.
            the rest: what is known about the round and the prediction.

        Returns:
            The new row's id.

        Raises:
            ValueError: an unknown source, bad coordinates, or an out-of-range number.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        if not round_id:
            raise ValueError("round_id must not be empty")
        glat, glng = _point(lat, lng, "guess")
        values = (session_id, round_id, game_id, round_number,
                  time.time() if created_at is None else float(created_at), source, mode, map,
                  glat, glng, _opt_float(projected_score, "projected_score", 0, 5000),
                  _opt_float(confidence, "confidence", 0, 1), country,
                  _opt_float(latency_ms, "latency_ms", 0), model_id, n_views)

        def insert() -> int:
            game_row = None
            if game_id is not None:
                self._conn.execute(
                    "INSERT OR IGNORE INTO games (source, game_id, mode, map, first_seen) "
                    "VALUES (?, ?, ?, ?, ?)", (source, game_id, mode, map, time.time()))
                game_row = self._conn.execute(
                    "SELECT id FROM games WHERE source = ? AND game_id = ?",
                    (source, game_id)).fetchone()[0]
            cur = self._conn.execute(
                "INSERT INTO rounds (session_id, round_id, game_id, round_number, created_at,"
                " source, mode, map, guess_lat, guess_lng, projected_score, confidence, country,"
                " latency_ms, model_id, n_views, game_row)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, game_row))
            return int(cur.lastrowid)
        return self._write(insert)

    def log_result(self, round_id: str, *, truth_lat: float | None = None,
                   truth_lng: float | None = None, score: float | None = None,
                   distance_km: float | None = None, opponent_lat: float | None = None,
                   opponent_lng: float | None = None, opponent_score: float | None = None,
                   source: str | None = None) -> int:
        """Complete the latest round row with this ``round_id`` with its outcome.

        When the truth is known and ``distance_km`` is not, the distance is computed
        (haversine, mean Earth radius). Fields left ``None`` keep what the row had. Sending
        the same result again is harmless (a client that lost the ack resends it); a result
        may fill fields the row lacks but never change a stored value: the fields that
        would change keep their value, the others are stored, and then
        ``ResultConflictError`` says which fields conflicted.

        Returns:
            The id of the completed row.

        Raises:
            UnknownRoundError: no guess was logged for this round id (and source, if given).
            ResultConflictError: the row already holds a different value for a field (the
                rest of this result is stored all the same).
            ValueError: bad coordinates or an out-of-range number.
            sqlite3.Error: the file could not be written (locked beyond the busy timeout,
                disk full, read-only); nothing was stored.
        """
        truth = None
        if truth_lat is not None or truth_lng is not None:
            truth = _point(truth_lat, truth_lng, "truth")
        opp = None
        if opponent_lat is not None or opponent_lng is not None:
            opp = _point(opponent_lat, opponent_lng, "opponent")
        score = _opt_float(score, "score", 0, 5000)
        opponent_score = _opt_float(opponent_score, "opponent_score", 0, 5000)
        distance_km = _opt_float(distance_km, "distance_km", 0, 20_100)

        def update() -> int:
            sql = ("SELECT id, guess_lat, guess_lng, " + ", ".join(RESULT_FIELDS) +
                   " FROM rounds WHERE round_id = ?")
            args: list[Any] = [round_id]
            if source is not None:
                sql += " AND source = ?"
                args.append(source)
            row = self._conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
            if row is None:
                raise UnknownRoundError(f"no guess was logged for round {round_id!r}")
            row_id, glat, glng = row[:3]
            dist = distance_km
            if dist is None and truth is not None:
                dist = float(haversine_km(glat, glng, truth[0], truth[1]))
            new = dict(zip(RESULT_FIELDS, (*(truth or (None, None)), dist, score,
                                           *(opp or (None, None)), opponent_score)))
            changed = [k for k, old in zip(RESULT_FIELDS, row[3:])
                       if old is not None and new[k] is not None and not _same(old, new[k])]
            for pair in (("truth_lat", "truth_lng"), ("opponent_lat", "opponent_lng")):
                if any(k in changed for k in pair):    # a point is kept or changed whole
                    changed += [k for k in pair if k not in changed]
            for k in changed:                          # the stored value stays
                new[k] = None
            self._conn.execute(
                "UPDATE rounds SET result_at = ?,"
                " truth_lat = COALESCE(?, truth_lat), truth_lng = COALESCE(?, truth_lng),"
                " distance_km = COALESCE(?, distance_km), score = COALESCE(?, score),"
                " opponent_lat = COALESCE(?, opponent_lat),"
                " opponent_lng = COALESCE(?, opponent_lng),"
                " opponent_score = COALESCE(?, opponent_score) WHERE id = ?",
                (time.time(), *(new[k] for k in RESULT_FIELDS), row_id))
            return int(row_id), changed
        row_id, changed = self._write(update)
        if changed:    # raised after the commit: the fields that did not conflict are stored
            raise ResultConflictError(
                f"round {round_id!r} already has a result with other "
                f"{', '.join(k for k in RESULT_FIELDS if k in changed)}; a stored value is "
                "never overwritten (the other fields of this result were stored)")
        return row_id

    # ------------------------------------------------------------------ reading

    def rounds(self, *, source: str | None = None, model_id: str | None = None,
               game_id: str | None = None, session_id: int | None = None,
               since: float | None = None, until: float | None = None,
               with_result: bool | None = None, limit: int | None = None,
               newest_first: bool = False) -> list[RoundRecord]:
        """Query rounds; every filter is optional and they combine with AND.

        Args:
            since, until: unix-second bounds on ``created_at`` (inclusive, exclusive).
            with_result: True for rounds whose result arrived, False for those still open.
            limit: the most rows to return; ``newest_first`` picks the order.
        """
        return list(self.iter_rounds(source=source, model_id=model_id, game_id=game_id,
                                     session_id=session_id, since=since, until=until,
                                     with_result=with_result, limit=limit,
                                     newest_first=newest_first))

    def iter_rounds(self, **filters: Any) -> Iterator[RoundRecord]:
        """Like :meth:`rounds` but lazily (for exports of large logs)."""
        where, args = [], []
        for key in ("source", "model_id", "game_id", "session_id"):
            if filters.get(key) is not None:
                where.append(f"{key} = ?")
                args.append(filters[key])
        if filters.get("since") is not None:
            where.append("created_at >= ?")
            args.append(float(filters["since"]))
        if filters.get("until") is not None:
            where.append("created_at < ?")
            args.append(float(filters["until"]))
        if filters.get("with_result") is not None:
            where.append("result_at IS NOT NULL" if filters["with_result"]
                         else "result_at IS NULL")
        sql = f"SELECT {', '.join(ROUND_COLUMNS)} FROM rounds"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC" if filters.get("newest_first") else " ORDER BY id"
        if filters.get("limit") is not None:
            sql += f" LIMIT {int(filters['limit'])}"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        for row in rows:
            yield RoundRecord(*row)

    def count(self) -> int:
        """How many rounds the log holds."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM rounds").fetchone()[0])

    def sessions(self) -> list[dict[str, Any]]:
        """Every session as a dict (id, started_at, client_kind, client_version, model_id)."""
        with self._lock:
            cur = self._conn.execute("SELECT * FROM sessions ORDER BY id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when the file is sound)."""
        with self._lock:
            return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens when the last one closes)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
