"""Score log: schema and migrations, guess/result rows, queries, summary, bad input, the CLI."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from backend.scorelog import (
    SCHEMA_VERSION,
    SchemaError,
    ScoreLog,
    UnknownRoundError,
    default_db_path,
    summarize,
)
from backend.scorelog import schema as schema_mod
from bot.cli import main as pigeon


@pytest.fixture()
def log(tmp_path):
    with ScoreLog(tmp_path / "s.sqlite") as db:
        yield db


def test_new_file_is_wal_and_versioned(tmp_path):
    path = tmp_path / "sub" / "scores.sqlite"
    ScoreLog(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    assert meta["format"] == "pigeon-scorelog"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "games", "rounds", "meta"} <= tables
    conn.close()
    ScoreLog(path).close()  # reopening migrates nothing and keeps the data


def test_migration_list_applies_in_order(tmp_path, monkeypatch):
    path = tmp_path / "m.sqlite"
    ScoreLog(path).close()
    extra = "ALTER TABLE rounds ADD COLUMN note TEXT;"
    monkeypatch.setattr(schema_mod, "MIGRATIONS", schema_mod.MIGRATIONS + (extra,))
    monkeypatch.setattr(schema_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    conn = sqlite3.connect(path, isolation_level=None)
    assert schema_mod.migrate(conn) == SCHEMA_VERSION + 1
    cols = [r[1] for r in conn.execute("PRAGMA table_info(rounds)")]
    assert "note" in cols
    conn.close()


def test_newer_or_foreign_files_are_refused(tmp_path):
    newer = tmp_path / "newer.sqlite"
    conn = sqlite3.connect(newer)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaError, match="upgrade pigeon-bot"):
        ScoreLog(newer)
    foreign = tmp_path / "foreign.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE photos (x)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="not a score log"):
        ScoreLog(foreign)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(SchemaError):
        ScoreLog(junk)


def test_guess_then_result_completes_the_row(log):
    sid = log.start_session(client_kind="test", client_version="1", model_id="m1")
    rid = log.log_guess(round_id="g1:1", source="geoguessr", lat=48.8566, lng=2.3522,
                        session_id=sid, mode="duels", map="world", game_id="g1",
                        round_number=1, projected_score=3000, confidence=0.5, country="FR",
                        latency_ms=120.0, model_id="m1", n_views=4)
    (row,) = log.rounds()
    assert row.id == rid and row.result_at is None and row.truth_lat is None
    log.log_result("g1:1", truth_lat=51.5072, truth_lng=-0.1276, score=4100,
                   opponent_lat=50.0, opponent_lng=0.0, opponent_score=3900)
    (row,) = log.rounds()
    assert row.result_at is not None
    assert row.distance_km == pytest.approx(343.9, abs=0.5)  # computed from the truth
    assert (row.score, row.opponent_score) == (4100, 3900)
    assert log.sessions()[0]["client_kind"] == "test"
    # the game row exists once, however many rounds it has
    log.log_guess(round_id="g1:2", source="geoguessr", lat=0, lng=0, game_id="g1")
    conn = sqlite3.connect(log.path)
    assert conn.execute("SELECT COUNT(*) FROM games").fetchone()[0] == 1
    conn.close()


def test_result_goes_to_the_latest_row_and_keeps_known_fields(log):
    log.log_guess(round_id="r", source="test", lat=1, lng=1)
    second = log.log_guess(round_id="r", source="test", lat=2, lng=2)
    assert log.log_result("r", score=100) == second
    assert log.log_result("r", distance_km=5.0) == second
    row = log.rounds()[-1]
    assert (row.score, row.distance_km) == (100, 5.0)
    assert log.rounds()[0].result_at is None


def test_result_for_unknown_round(log):
    with pytest.raises(UnknownRoundError, match="nope"):
        log.log_result("nope", score=1)
    log.log_guess(round_id="x", source="arena", lat=0, lng=0)
    with pytest.raises(UnknownRoundError):
        log.log_result("x", source="screen", score=1)


@pytest.mark.parametrize("kwargs,match", [
    ({"source": "myspace"}, "source"),
    ({"lat": 95.0}, "guess"),
    ({"lng": float("nan")}, "guess"),
    ({"projected_score": 6000}, "projected_score"),
    ({"confidence": -0.1}, "confidence"),
    ({"round_id": ""}, "round_id"),
])
def test_bad_guesses_are_refused_and_nothing_is_written(log, kwargs, match):
    args = {"round_id": "r", "source": "test", "lat": 0.0, "lng": 0.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        log.log_guess(**args)
    assert log.count() == 0


def test_bad_results_are_refused(log):
    log.log_guess(round_id="r", source="test", lat=0, lng=0)
    with pytest.raises(ValueError, match="truth"):
        log.log_result("r", truth_lat=10.0)  # half a point
    with pytest.raises(ValueError, match="score"):
        log.log_result("r", score=9999)
    assert log.rounds()[0].result_at is None


def test_queries_filter(log):
    for i in range(6):
        log.log_guess(round_id=f"r{i}", source="arena" if i % 2 else "screen", lat=i, lng=i,
                      model_id="a" if i < 3 else "b", created_at=1000.0 + i)
    log.log_result("r1", score=10)
    assert [r.round_id for r in log.rounds(source="arena")] == ["r1", "r3", "r5"]
    assert [r.round_id for r in log.rounds(model_id="b")] == ["r3", "r4", "r5"]
    assert [r.round_id for r in log.rounds(since=1002, until=1004)] == ["r2", "r3"]
    assert [r.round_id for r in log.rounds(with_result=True)] == ["r1"]
    assert len(log.rounds(with_result=False)) == 5
    assert [r.round_id for r in log.rounds(limit=2, newest_first=True)] == ["r5", "r4"]


def test_summary_figures(log):
    for i, (dist, score, proj, opp) in enumerate([(10, 4900, 4000, 3000), (300, 3000, 3500, 4000),
                                                  (3000, 500, 1000, None)]):
        log.log_guess(round_id=f"r{i}", source="arena", lat=0, lng=0, projected_score=proj,
                      latency_ms=100 + i)
        log.log_result(f"r{i}", distance_km=dist, score=score, opponent_score=opp)
    log.log_guess(round_id="open", source="screen", lat=0, lng=0)
    s = summarize(log.rounds())
    assert s["rounds"] == 4 and s["with_result"] == 3
    assert s["distance_km"]["median"] == 300
    assert s["within_km"]["25"] == pytest.approx(1 / 3)
    assert s["within_km"]["2500"] == pytest.approx(2 / 3)
    assert s["projected_minus_actual"] == pytest.approx((-900 + 500 + 500) / 3)
    assert s["vs_opponent"] == {"wins": 1, "losses": 1, "ties": 0}
    assert s["by_source"] == {"arena": 3, "screen": 1}
    assert summarize([])["distance_km"] is None


def test_default_path_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PIGEON_SCORES_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("PIGEON_SCORES_DB")
    assert default_db_path().parts[-3:] == ("share", "pigeon-bot", "scores.sqlite")


def test_odd_file_names(tmp_path):
    path = tmp_path / "my scores #1?%.sqlite"
    with ScoreLog(path) as log:
        log.log_guess(round_id="r", source="test", lat=0, lng=0)
    assert path.exists()
    with ScoreLog(path, readonly=True) as log:
        assert log.count() == 1
    # no file under a cut name (a bare file: URI would stop at '?' or '#')
    assert all(p.name.startswith(path.name) for p in tmp_path.iterdir())


def test_two_connections_share_the_file(tmp_path):
    path = tmp_path / "shared.sqlite"
    a, b = ScoreLog(path), ScoreLog(path)
    a.log_guess(round_id="x", source="arena", lat=0, lng=0)
    b.log_result("x", score=5)  # the arena completes a round the server logged
    assert a.rounds()[0].score == 5
    a.close()
    b.close()


# ---------------------------------------------------------------- CLI

@pytest.fixture()
def filled(tmp_path):
    path = tmp_path / "cli.sqlite"
    with ScoreLog(path) as db:
        for i in range(5):
            db.log_guess(round_id=f"g:{i}", source="arena", lat=10 + i, lng=20, model_id="m",
                         projected_score=2000, latency_ms=50)
            db.log_result(f"g:{i}", truth_lat=10, truth_lng=20, score=4000 - 100 * i)
    return path


def test_cli_list_summary_export(filled, tmp_path, capsys):
    assert pigeon(["scores", "list", "--db", str(filled), "--last", "3"]) == 0
    out = capsys.readouterr().out
    assert "g:4" in out and "g:1" not in out
    assert pigeon(["scores", "summary", "--db", str(filled), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rounds"] == 5 and summary["score"]["mean"] == 3800
    assert pigeon(["scores", "summary", "--db", str(filled)]) == 0
    assert "rounds: 5" in capsys.readouterr().out
    out_csv = tmp_path / "r.csv"
    assert pigeon(["scores", "export", "--db", str(filled), "--csv", str(out_csv)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 5 and float(rows[2]["guess_lat"]) == 12.0
    meta = json.loads((tmp_path / "r.csv.meta.json").read_text())
    assert meta["rounds"] == 5 and meta["source_db"] == str(filled)
    assert meta["format"] == "pigeon-scorelog-rounds/1" and meta["columns"][0] == "id"


def test_cli_user_errors(filled, tmp_path, capsys):
    assert pigeon(["scores", "list", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no score log" in capsys.readouterr().err
    assert pigeon(["scores", "list", "--db", str(filled), "--since", "yesterday"]) == 2
    assert "ISO" in capsys.readouterr().err
    assert pigeon(["scores", "export", "--db", str(filled)]) == 2
    assert "exactly one" in capsys.readouterr().err
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert pigeon(["scores", "export", "--db", str(filled), "--parquet",
                       str(tmp_path / "x.parquet")]) == 2
        assert "pyarrow" in capsys.readouterr().err
    else:
        assert pigeon(["scores", "export", "--db", str(filled), "--parquet",
                       str(tmp_path / "x.parquet")]) == 0


def test_cli_reads_a_log_another_process_is_writing(filled, capsys):
    writer = ScoreLog(filled)  # open writer: -wal and -shm files exist
    writer.log_guess(round_id="live", source="arena", lat=0, lng=0)
    assert pigeon(["scores", "list", "--db", str(filled), "--json"]) == 0
    assert any(r["round_id"] == "live" for r in json.loads(capsys.readouterr().out))
    writer.close()


def test_parquet_export_when_pyarrow_is_there(filled, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet",
                             reason="pyarrow is not installed (optional: only --parquet needs it)")
    out = tmp_path / "r.parquet"
    assert pigeon(["scores", "export", "--db", str(filled), "--parquet", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 5 and table.column("score").to_pylist()[0] == 4000
    assert json.loads(table.schema.metadata[b"rounds"]) == 5
    empty = tmp_path / "e.parquet"
    assert pigeon(["scores", "export", "--db", str(filled), "--parquet", str(empty),
                   "--source", "screen"]) == 0
    assert str(pq.read_table(empty).schema.field("guess_lat").type) == "double"


def test_a_second_result_never_changes_a_stored_value_but_may_add_to_it(log):
    from backend.scorelog import ResultConflictError

    log.log_guess(round_id="r", source="test", lat=1, lng=1)
    log.log_result("r", score=145)                       # read early (say, a counter)
    assert log.log_result("r", score=145) == log.rounds()[0].id   # the same again: fine
    with pytest.raises(ResultConflictError, match="score"):
        log.log_result("r", truth_lat=10.0, truth_lng=20.0, score=1, opponent_score=300)
    row = log.rounds()[0]
    assert row.score == 145                              # kept
    assert (row.truth_lat, row.truth_lng, row.opponent_score) == (10.0, 20.0, 300)   # added
    assert row.distance_km == pytest.approx(2327, abs=1)          # from (1, 1) to the truth
    with pytest.raises(ResultConflictError, match="truth_lat, truth_lng"):
        log.log_result("r", truth_lat=10.0, truth_lng=21.0)   # a point changes whole or not
    assert (log.rounds()[0].truth_lat, log.rounds()[0].truth_lng) == (10.0, 20.0)
