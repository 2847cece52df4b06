"""``pigeon experiment create|report``: blind human-vs-bot experiments in the arena.

Usage::

    pigeon experiment create --out runs/exp1 --participants 12 --opponents bot,replay
    pigeon arena --data synth/test.csv --model bundles/tiny --experiment runs/exp1
    pigeon experiment report runs/exp1 --logs arena-logs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from backend.cliutil import UserError, add_command, add_group


def register(subparsers: argparse._SubParsersAction) -> None:
    sub = add_group(subparsers, "experiment", help="blind human-vs-bot experiments",
                        example="pigeon experiment create --out runs/exp1 --participants 12")
    c = add_command(sub, "create", help="make a counterbalanced design with participant codes",
                    example="pigeon experiment create --out runs/exp1 --participants 12 "
                            "--opponents bot,replay --games-per-opponent 2")
    c.add_argument("--out", type=Path, required=True, help="experiment directory to create")
    c.add_argument("--participants", type=int, required=True)
    c.add_argument("--opponents", default="bot,replay",
                   help="comma list of bot, baseline, replay (default bot,replay)")
    c.add_argument("--games-per-opponent", type=int, default=1)
    c.add_argument("--mode", choices=("duel", "classic"), default="duel")
    c.add_argument("--name", default="experiment")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--consent-file", type=Path, default=None,
                   help="your own consent text (default: a short generic one)")
    c.set_defaults(func=_create)
    r = add_command(sub, "report", help="statistics and a plot from the arena's game logs",
                    example="pigeon experiment report runs/exp1 --logs arena-logs")
    r.add_argument("experiment", type=Path, help="the experiment directory")
    r.add_argument("--logs", type=Path, action="append", default=[],
                   help="arena log directory or file (repeatable; default ./arena-logs)")
    r.add_argument("--out", type=Path, default=None, help="default: EXPERIMENT/report")
    r.set_defaults(func=_report)


def _create(args: argparse.Namespace) -> int:
    from bot.experiment.design import DEFAULT_CONSENT, ExperimentError, create_experiment

    if (args.out / "experiment.json").exists():
        raise UserError(f"{args.out} already holds an experiment; pick another --out")
    consent = DEFAULT_CONSENT
    if args.consent_file is not None:
        if not args.consent_file.is_file():
            raise UserError(f"--consent-file {args.consent_file}: no such file")
        consent = args.consent_file.read_text(encoding="utf-8").strip()
    try:
        exp = create_experiment(args.out, participants=args.participants, name=args.name,
                                opponents=tuple(o.strip() for o in args.opponents.split(",")
                                                if o.strip()),
                                games_per_opponent=args.games_per_opponent, mode=args.mode,
                                seed=args.seed, consent=consent)
    except ExperimentError as exc:
        raise UserError(str(exc)) from None
    print(f"experiment {exp.id} in {args.out}/experiment.json; participant codes:")
    for code in exp.participants:
        print(f"  {code}")
    print(f"run it: pigeon arena --data DATA --model BUNDLE --experiment {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from bot.experiment.design import Experiment, ExperimentError
    from bot.experiment.report import build_report, write_report

    try:
        exp = Experiment.load(args.experiment)
    except ExperimentError as exc:
        raise UserError(str(exc)) from None
    logs = args.logs or [Path("arena-logs")]
    missing = [str(p) for p in logs if not p.exists()]
    if missing:
        raise UserError(f"no such log path(s): {', '.join(missing)}; pass the arena's --log-dir")
    report = build_report(exp, logs)
    if report["games"] == 0:
        raise UserError(f"no game of experiment {exp.id} in {', '.join(map(str, logs))}")
    paths = write_report(report, args.out or args.experiment / "report")
    print(json.dumps({a: {k: v for k, v in x.items() if k in ("games", "person_win_rate",
                                                              "said_bot_rate")}
                      for a, x in report["arms"].items()}, indent=1))
    print("wrote " + ", ".join(map(str, paths)))
    return 0
