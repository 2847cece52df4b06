"""``pigeon scores report``: adds ``report`` to the score log's ``pigeon scores`` group.

Usage::

    pigeon scores report --out reports/ --source arena
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cliutil import UserError, add_command, add_group, output_dir


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.choices.get("scores")
    if group is None:   # the score log's commands are not registered: a group of our own
        inner = add_group(subparsers, "scores", help="score log reports",
                            example="pigeon scores report --out reports/")
    else:
        inner = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
    p = add_command(inner, "report", help="figures with 95 %% intervals and a PNG plot",
                    example="pigeon scores report --out reports/ --source arena")
    p.add_argument("--db", help="score log file (default $PIGEON_SCORES_DB or "
                   "~/.local/share/pigeon-bot/scores.sqlite)")
    p.add_argument("--source", choices=("geoguessr", "arena", "screen", "test"),
                   help="only rounds from this source")
    p.add_argument("--out", type=Path, default=Path("reports"), help="output directory")
    p.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from backend.scorelog import SchemaError, ScoreLog, default_db_path
    from bot.reports.scores import build_scores_report, write_scores_report

    db = Path(args.db) if args.db else default_db_path()
    if not db.is_file():
        raise UserError(f"no score log at {db}; pass --db (the file `pigeon serve --db` wrote)")
    output_dir(args.out)
    try:
        log = ScoreLog(db, readonly=True)
    except SchemaError as exc:
        raise UserError(str(exc)) from None
    with log:
        records = log.rounds(source=args.source)
    if not records:
        raise UserError(f"{db} has no rounds{f' from {args.source}' if args.source else ''}")
    paths = write_scores_report(build_scores_report(records, source=args.source, db=str(db)),
                                args.out)
    print("wrote " + ", ".join(map(str, paths)))
    return 0
