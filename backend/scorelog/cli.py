"""``pigeon scores``: read the score log — list rounds, summarise them, export them.

Usage::

    pigeon scores list --last 20
    pigeon scores summary --source arena
    pigeon scores export --csv rounds.csv
    pigeon scores export --parquet rounds.parquet     # needs pyarrow

Every command takes ``--db FILE`` (default ``$PIGEON_SCORES_DB`` or
``~/.local/share/pigeon-bot/scores.sqlite``) and the filters ``--source``, ``--model``,
``--since``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from backend.cliutil import UserError, add_command, add_group, positive_int, progress
from backend.core.protocol import SOURCES
from backend.scorelog.db import ROUND_COLUMNS, RoundRecord, ScoreLog, default_db_path
from backend.scorelog.schema import SchemaError
from backend.scorelog.summary import summarize


def _open(args: argparse.Namespace) -> ScoreLog:
    path = Path(args.db) if args.db else default_db_path()
    try:
        return ScoreLog(path, readonly=True)
    except FileNotFoundError:
        raise UserError(f"no score log at {path}; play some rounds with `pigeon serve --db "
                        f"{path}` or pass --db FILE") from None
    except SchemaError as exc:
        raise UserError(f"{exc}; pass --db with a score log written by pigeon-bot") from None


def _since(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"--since {text!r} is not a date; use ISO form, e.g. 2026-11-23 or "
                        "2026-11-23T10:00") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"source": args.source, "model_id": args.model, "since": _since(args.since)}


def _fmt(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _cmd_list(args: argparse.Namespace) -> int:
    with _open(args) as log:
        rows = log.rounds(**_filters(args), limit=args.last, newest_first=True)[::-1]
    if args.json:
        json.dump([r.to_dict() for r in rows], sys.stdout, indent=1)
        print()
        return 0
    if not rows:
        print("no rounds match")
        return 0
    print(f"{'time (UTC)':19}  {'source':9} {'round':24} {'guess':>17} {'proj':>5} "
          f"{'score':>5} {'km':>7} {'opp':>5} {'ms':>6}")
    for r in rows:
        when = dt.datetime.fromtimestamp(r.created_at, dt.UTC).strftime(
            "%Y-%m-%d %H:%M:%S")
        print(f"{when:19}  {r.source:9} {r.round_id[:24]:24} "
              f"{r.guess_lat:8.3f},{r.guess_lng:8.3f} {_fmt(r.projected_score):>5} "
              f"{_fmt(r.score):>5} {_fmt(r.distance_km, 1):>7} {_fmt(r.opponent_score):>5} "
              f"{_fmt(r.latency_ms):>6}")
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    with _open(args) as log:
        summary = summarize(log.iter_rounds(**_filters(args)))
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    print(f"rounds: {summary['rounds']}  with result: {summary['with_result']}")
    for key, unit in (("distance_km", "km"), ("score", "points"),
                      ("projected_score", "points"), ("latency_ms", "ms")):
        s = summary[key]
        if s:
            print(f"{key:16} mean {s['mean']:9.1f}  median {s['median']:9.1f}  "
                  f"p95 {s['p95']:9.1f} {unit}")
    if summary["within_km"]:
        print("within km:       " + "  ".join(f"{k}: {100 * v:.1f}%"
                                              for k, v in summary["within_km"].items()))
    if summary["projected_minus_actual"] is not None:
        print(f"projected - actual score: {summary['projected_minus_actual']:+.1f}")
    if summary["vs_opponent"]:
        v = summary["vs_opponent"]
        print(f"vs opponent: {v['wins']} won, {v['losses']} lost, {v['ties']} tied")
    print("by source: " + ", ".join(f"{k} {v}" for k, v in summary["by_source"].items()))
    return 0


def _export_meta(args: argparse.Namespace, db: Path, n: int) -> dict[str, Any]:
    return {"format": "pigeon-scorelog-rounds/1", "made_by": "pigeon scores export",
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source_db": str(db), "filters": {"source": args.source, "model": args.model,
                                              "since": args.since},
            "rounds": n, "columns": list(ROUND_COLUMNS)}


def _cmd_export(args: argparse.Namespace) -> int:
    if bool(args.csv) == bool(args.parquet):
        raise UserError("give exactly one of --csv FILE or --parquet FILE")
    if args.parquet:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UserError("--parquet needs pyarrow, which is not installed; "
                            "`pip install pyarrow`, or use --csv FILE") from None
    with _open(args) as log:
        filters = _filters(args)
        total = None if any(v is not None for v in filters.values()) else log.count()
        rows = progress(log.iter_rounds(**filters), total=total, desc="export", unit="round")
        out = Path(args.csv or args.parquet)
        if out.parent and not out.parent.exists():
            raise UserError(f"folder {out.parent} does not exist; create it first")
        n = 0
        if args.csv:
            with open(out, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(ROUND_COLUMNS)
                for r in rows:
                    writer.writerow(["" if v is None else v for v in r.to_dict().values()])
                    n += 1
        else:
            records = [r.to_dict() for r in rows]
            n = len(records)
            # typed columns even for an empty export; "float | None" -> float64
            types = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
            schema = pa.schema([(f.name, types[str(f.type).split("|")[0].strip()])
                                for f in dataclasses.fields(RoundRecord)])
            table = pa.Table.from_pylist(records, schema=schema)
            table = table.replace_schema_metadata(
                {k: json.dumps(v) for k, v in _export_meta(args, log.path, n).items()})
            pq.write_table(table, out)
    if args.csv:   # CSV has no place for metadata: a sidecar file carries it
        meta_path = out.with_name(out.name + ".meta.json")
        meta_path.write_text(json.dumps(_export_meta(args, log.path, n), indent=1) + "\n")
    print(f"wrote {n} rounds to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pigeon scores list | summary | export``."""
    inner = add_group(sub, "scores", help="read the score log (list, summary, export)",
                        example="pigeon scores summary --source arena")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="score log file (default $PIGEON_SCORES_DB or "
                       "~/.local/share/pigeon-bot/scores.sqlite)")
        p.add_argument("--source", choices=SOURCES, help="only rounds from this source")
        p.add_argument("--model", help="only rounds answered by this model id")
        p.add_argument("--since", help="only rounds since this ISO date/time (UTC)")

    p = add_command(inner, "list", help="list rounds, oldest first",
                    example="pigeon scores list --last 20 --source geoguessr")
    common(p)
    p.add_argument("--last", type=positive_int, default=50,
                   help="how many of the newest rounds")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")
    p.set_defaults(func=_cmd_list)

    p = add_command(inner, "summary", help="distances, scores, projected vs actual, latency",
                    example="pigeon scores summary --since 2026-11-01")
    common(p)
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.set_defaults(func=_cmd_summary)

    p = add_command(inner, "export", help="write every matching round to CSV or Parquet",
                    example="pigeon scores export --csv rounds.csv")
    common(p)
    p.add_argument("--csv", help="CSV file to write")
    p.add_argument("--parquet", help="Parquet file to write (needs pyarrow)")
    p.set_defaults(func=_cmd_export)
