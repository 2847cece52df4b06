"""The files of an evaluation report: summary JSON/CSV, per-location CSV, table, plots.

Written by ``pigeon eval`` and by each rung of ``pigeon ablate``:

- ``summary.json`` — format ``pigeon-eval/1``: what made it (the model bundle's summary),
  from what data (file, layout, bad rows), with which parameters, every metric with its
  interval, the calibration bins and the timing;
- ``summary.csv`` — one line per metric; ``predictions.csv`` — one line per location;
- ``table.txt`` — the printed table; ``error_cdf.png``, ``calibration.png``, ``error_map.png``.

Usage::

    meta = eval_metadata(dataset, preds, model=bundle_summary(path), params={...})
    write_reports("reports/demo", preds, report, meta=meta)
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backend.eval.datasets import Dataset
from backend.eval.metrics import MetricReport, format_report

if TYPE_CHECKING:
    from backend.eval.evaluate import Predictions

EVAL_FORMAT = "pigeon-eval/1"


def write_reports(out_dir: str | Path, preds: Predictions, report: MetricReport, *,
                  meta: dict[str, Any], plots: bool = True) -> list[Path]:
    """Write summary.json/.csv, predictions.csv, table.txt and the plots; return the paths."""
    from backend.core.metrics import calibration_bins

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    items = report.items
    bins = None
    if "projected_mean" in report:
        b = calibration_bins(preds.projected, items["score"])
        bins = {k: [None if not np.isfinite(x) else float(x) for x in v] for k, v in b.items()}
    summary = {"format": EVAL_FORMAT, **meta, "metrics": report.to_dict(),
               "calibration_bins": bins,
               "skipped_unreadable": [str(b) for b in preds.skipped]}
    p = out / "summary.json"
    p.write_text(json.dumps(summary, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    written.append(p)
    p = out / "summary.csv"
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["metric", "label", "value", "low", "high", "n", "unit"])
        for m in report.metrics.values():
            w.writerow([m.key, m.label, *[_num(x) for x in (m.value, m.low, m.high)], m.n, m.unit])
    written.append(p)
    p = out / "predictions.csv"
    extra = [k for k in items if k not in ("distance_km", "score")]
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "line_no", "true_lat", "true_lng", "pred_lat", "pred_lng",
                    "distance_km", "score", "projected_score", "guess_country", *extra])
        for i, loc in enumerate(preds.locations):
            w.writerow([loc.id, loc.line_no, loc.lat, loc.lng, _num(preds.lat[i]),
                        _num(preds.lng[i]), _num(items["distance_km"][i]),
                        _num(items["score"][i]), _num(preds.projected[i]),
                        preds.guess_country[i] or "", *[_num(items[k][i]) for k in extra]])
    written.append(p)
    p = out / "table.txt"
    p.write_text(format_report(report) + "\n", encoding="utf-8")
    written.append(p)
    if plots:
        from backend.eval.plots import plot_calibration, plot_error_cdf, plot_error_map

        t_lat = np.array([loc.lat for loc in preds.locations])
        t_lng = np.array([loc.lng for loc in preds.locations])
        written.append(plot_error_cdf(items["distance_km"], out / "error_cdf.png"))
        if "projected_mean" in report:
            written.append(plot_calibration(preds.projected, items["score"],
                                            out / "calibration.png"))
        written.append(plot_error_map(t_lat, t_lng, preds.lat, preds.lng, items["distance_km"],
                                      out / "error_map.png"))
    return written


def _num(x: Any) -> str:
    x = float(x)
    return "" if not np.isfinite(x) else repr(round(x, 6))


def eval_metadata(dataset: Dataset, preds: Predictions, *, model: dict[str, Any],
                  params: dict[str, Any]) -> dict[str, Any]:
    """What made a report, from what data, with which parameters."""
    return {
        "made_by": "pigeon eval (backend.eval.evaluate)",
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "model": model,
        "data": {**dataset.describe(), "evaluated": len(preds.locations),
                 "bad_rows": [str(b) for b in dataset.bad_rows]},
        "params": params,
        "timing": {"seconds": round(preds.seconds, 3),
                   "locations_per_s": round(len(preds.locations) / max(preds.seconds, 1e-9), 2)},
    }
