"""A ladder run that survives a kill: its settings on record, and the rungs it finished read
back from their reports instead of trained again.

``OUT/settings.json`` holds the run's settings; a folder holding a run with other settings is
refused (its rungs would not be comparable). A rung counts as finished when its report says the
same configuration and notes; ``OUT/NN-name/rung.json`` keeps how long it took.

Usage::

    check_settings(out, settings)                  # once, before the rungs
    earlier = finished_rung(out, index, rung, notes)
    if earlier is None:
        result = run_the_rung(...)
        record_finished(result)
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from backend.cliutil import UserError
from backend.eval.ladder import AblationSettings, Rung, RungResult, rung_folder

SETTINGS_FILE = "settings.json"
RUNG_FILE = "rung.json"


def check_settings(out: str | Path, settings: AblationSettings) -> None:
    """Record the run's settings in ``out/settings.json``, or refuse a folder that holds a run
    with other settings.

    Raises:
        UserError: the settings that differ, and what to do.
    """
    path = Path(out) / SETTINGS_FILE
    now = json.loads(json.dumps(dataclasses.asdict(settings)))  # tuples as JSON lists
    if path.is_file():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"{path} is unreadable ({exc}); remove it to start the ladder "
                            "again in this folder") from None
        differ = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k)
                        and k != "out")
        if differ:
            said = "; ".join(f"{k}: {before.get(k)!r} then, {now.get(k)!r} now" for k in differ)
            raise UserError(f"{out} holds a ladder run with other settings ({said}); give "
                            "another --out, or the same settings to go on with that run")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(now, indent=2) + "\n", encoding="utf-8")


def record_finished(result: RungResult) -> None:
    """Keep how long a rung took beside its report (read back by :func:`finished_rung`)."""
    (Path(result.folder) / RUNG_FILE).write_text(
        json.dumps({"seconds": round(result.seconds, 2)}) + "\n", encoding="utf-8")


def finished_rung(out: str | Path, index: int, rung: Rung,
                  notes: list[str]) -> RungResult | None:
    """The result of a rung that an earlier run of the same ladder finished (its report
    says the same configuration and notes), read back from its report; None otherwise."""
    from backend.eval.metrics import MetricReport
    from backend.eval.paired import read_column

    folder = rung_folder(out, index, rung)
    summary, preds = folder / "report" / "summary.json", folder / "report" / "predictions.csv"
    if not (summary.is_file() and preds.is_file()):
        return None
    try:
        doc = json.loads(summary.read_text(encoding="utf-8"))
        params = doc["params"]
        if params.get("rung") != dataclasses.asdict(rung):
            return None
        said = list(params.get("notes") or [])
        if said[:len(notes)] != notes:
            return None
        report = MetricReport.from_dict(doc["metrics"])
        scores = read_column(preds, "score")
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable or partial: the rung runs again
    seconds = 0.0
    if (folder / RUNG_FILE).is_file():
        try:
            seconds = float(json.loads((folder / RUNG_FILE).read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return RungResult(index, rung, report=report, notes=said, scores=scores,
                      seconds=seconds, folder=str(folder))
