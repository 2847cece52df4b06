"""The paper's metric table with bootstrap 95 % intervals, computed on plain arrays.

Metrics (keys of :class:`MetricReport`): the share of guesses within 1 / 25 / 200 / 750 /
2500 km (``acc_1km`` .. ``acc_2500km``, street / city / region / country / continent),
``country_acc`` (country of guess == country of truth, from polygons; items whose true
country is unknown do not count), ``mean_km``, ``median_km``, ``mean_score`` (GeoGuessr
world-map points), ``cell_top1`` / ``cell_top5`` when cell logits are given, auxiliary-task
errors when given (``elevation_mae`` m, ``population_density_mae``, ``temperature_mae`` °C,
``precipitation_mae`` mm/day, ``climate_zone_acc``, ``month_acc``, ``season_acc``), and
for a projected score ``projected_mean``, ``projected_bias`` (projected - actual) and
``calibration_error`` (binned). Shares and accuracies are in percent.

No I/O here: ``backend.eval.evaluate`` gathers the arrays; this module only does the math,
so it is tested on arrays with hand-computed answers.

Usage::

    from backend.eval.metrics import compute_metrics, format_report
    rep = compute_metrics(true_lat, true_lng, pred_lat, pred_lng, n_boot=1000, seed=0)
    print(format_report(rep)); rep["median_km"].value
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backend.core import metrics as core
from backend.core.geodesy import EARTH_RADIUS_KM
from backend.core.scoring import geoguessr_score
from backend.eval.bootstrap import DEFAULT_N_BOOT, bootstrap_intervals

REPORT_FORMAT = "pigeon-eval-metrics/1"
THRESHOLD_KEYS: dict[str, str] = {
    name: f"acc_{km:g}km" for name, km in core.DISTANCE_THRESHOLDS_KM.items()}
"""threshold name (street, city, ...) → metric key (acc_1km, ...)."""
PAPER_COLUMNS: tuple[str, ...] = (*THRESHOLD_KEYS.values(), "country_acc", "mean_km",
                                  "median_km", "mean_score")
"""Columns of the paper's Tables 1 and 2, in order."""


@dataclass(frozen=True)
class Metric:
    """One number of the table with its bootstrap interval (NaN bounds when none)."""

    key: str
    label: str
    value: float
    low: float
    high: float
    n: int
    unit: str


@dataclass
class MetricReport:
    """Every metric for one set of predictions, plus the per-item columns behind them."""

    metrics: dict[str, Metric]
    n_items: int
    params: dict[str, Any]
    items: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> Metric:
        try:
            return self.metrics[key]
        except KeyError:
            raise KeyError(f"no metric {key!r}; have {', '.join(self.metrics)}") from None

    def __contains__(self, key: str) -> bool:
        return key in self.metrics

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (format ``pigeon-eval-metrics/1``)."""
        return {"format": REPORT_FORMAT, "n_items": self.n_items, "params": dict(self.params),
                "metrics": {k: {kk: _json_float(vv) for kk, vv in asdict(m).items()}
                            for k, m in self.metrics.items()}}


    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MetricReport:
        """The report :meth:`to_dict` wrote (its missing bounds back as NaN), without the
        per-item columns.

        Raises:
            KeyError, TypeError, ValueError: not a :meth:`to_dict` document.
        """
        metrics = {k: Metric(**{kk: float("nan") if vv is None else vv for kk, vv in v.items()})
                   for k, v in doc["metrics"].items()}
        return cls(metrics=metrics, n_items=int(doc["n_items"]),
                   params=dict(doc.get("params") or {}))


def _json_float(x: Any) -> Any:
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _labels() -> dict[str, tuple[str, str]]:
    lab = {key: (f"{name} {core.DISTANCE_THRESHOLDS_KM[name]:g} km", "%")
           for name, key in THRESHOLD_KEYS.items()}
    lab.update({
        "country_acc": ("country (polygon)", "%"), "mean_km": ("mean error", "km"),
        "median_km": ("median error", "km"), "mean_score": ("GeoGuessr score", "points"),
        "cell_top1": ("geocell top-1", "%"), "cell_top5": ("geocell top-5", "%"),
        "projected_mean": ("projected score", "points"),
        "projected_bias": ("projected - actual", "points"),
        "calibration_error": ("calibration error", "points"),
    })
    for task, unit in core.REGRESSION_TASKS.items():
        lab[f"{task}_mae"] = (f"{task.replace('_', ' ')} MAE", unit)
    for task in core.CLASSIFICATION_TASKS:
        lab[f"{task}_acc"] = (f"{task.replace('_', ' ')} accuracy", "%")
    return lab


METRIC_LABELS: dict[str, tuple[str, str]] = _labels()
"""metric key → (label, unit)."""


def _aux_columns(aux_true: Mapping[str, Any], aux_pred: Mapping[str, Any], true_lat: np.ndarray,
                 n: int) -> dict[str, np.ndarray]:
    known = set(core.REGRESSION_TASKS) | set(core.CLASSIFICATION_TASKS)
    unknown = (set(aux_true) | set(aux_pred)) - known
    if unknown:
        raise ValueError(f"unknown auxiliary task(s) {sorted(unknown)}; known: {sorted(known)}")
    truth, pred = dict(aux_true), dict(aux_pred)
    if "month" in truth and "month" in pred and "season" not in truth:
        # season follows from month and hemisphere (the guess is judged at the true place)
        truth["season"] = core.month_to_season(truth["month"], true_lat)
        pred["season"] = core.month_to_season(pred["month"], true_lat)
    cols: dict[str, np.ndarray] = {}
    for task, t in truth.items():
        if task not in pred:
            continue
        p = pred[task]
        if len(t) != n or len(p) != n:
            raise ValueError(f"auxiliary task {task!r}: need {n} values each, got "
                             f"{len(t)} true and {len(p)} predicted")
        if task in core.REGRESSION_TASKS:
            cols[f"{task}_mae"] = core.absolute_errors(t, p)
        else:
            cols[f"{task}_acc"] = core.label_match(t, p) * 100.0
    return cols


def compute_metrics(true_lat: Any, true_lng: Any, pred_lat: Any, pred_lng: Any, *,
                    true_country: Sequence[Any] | None = None,
                    pred_country: Sequence[Any] | None = None,
                    cell_logits: Any = None, true_cells: Any = None,
                    aux_true: Mapping[str, Any] | None = None,
                    aux_pred: Mapping[str, Any] | None = None,
                    projected_score: Any = None,
                    n_boot: int = DEFAULT_N_BOOT, seed: int = 0, ci: float = 0.95,
                    radius_km: float = EARTH_RADIUS_KM) -> MetricReport:
    """Compute the metric table for ``n`` predictions.

    Args:
        true_lat, true_lng, pred_lat, pred_lng: ``(n,)`` degrees.
        true_country, pred_country: ISO-2 codes (or any labels) per item; both or neither.
        cell_logits, true_cells: ``(n, C)`` cell scores and ``(n,)`` true cell ids;
            both or neither.
        aux_true, aux_pred: task → ``(n,)`` values (tasks in
            ``backend.core.metrics.REGRESSION_TASKS`` / ``CLASSIFICATION_TASKS``); a task is
            reported when both sides have it. ``season`` is derived from ``month``.
        projected_score: ``(n,)`` the predictor's projected GeoGuessr score.
        n_boot, seed, ci: bootstrap resamples, seed, interval coverage.
        radius_km: Earth radius for the haversine distance.

    Returns:
        A :class:`MetricReport`; per-item columns in ``report.items``.

    Raises:
        ValueError: mismatched lengths, bad coordinates, one of a required pair missing.
    """
    dist = core.distance_errors_km(true_lat, true_lng, pred_lat, pred_lng, radius_km=radius_km)
    n = len(dist)
    t_lat = np.atleast_1d(np.asarray(true_lat, dtype=np.float64))
    score = geoguessr_score(dist)
    cols: dict[str, np.ndarray] = {"mean_km": dist, "mean_score": score}
    for name, hit in core.within_thresholds(dist).items():
        cols[THRESHOLD_KEYS[name]] = hit * 100.0
    if (true_country is None) != (pred_country is None):
        raise ValueError("give both true_country and pred_country, or neither")
    if true_country is not None:
        cols["country_acc"] = core.label_match(list(true_country), list(pred_country)) * 100.0
    if (cell_logits is None) != (true_cells is None):
        raise ValueError("give both cell_logits and true_cells, or neither")
    if cell_logits is not None:
        hits = core.topk_hits(cell_logits, true_cells, ks=(1, 5))
        cols["cell_top1"], cols["cell_top5"] = hits[1] * 100.0, hits[5] * 100.0
    cols.update(_aux_columns(aux_true or {}, aux_pred or {}, t_lat, n))
    ece = None
    if projected_score is not None:
        proj = np.asarray(projected_score, dtype=np.float64).ravel()
        if proj.shape != (n,):
            raise ValueError(f"projected_score needs {n} values, got {proj.shape[0]}")
        cols["projected_mean"] = proj
        cols["projected_bias"] = proj - score
        ok = np.isfinite(proj)
        ece = core.expected_calibration_error(proj[ok], score[ok]) if ok.any() else float("nan")

    intervals = bootstrap_intervals(cols, {"median_km": (dist, 0.5)}, n_boot=n_boot,
                                    seed=seed, ci=ci)
    metrics: dict[str, Metric] = {}
    order = [*THRESHOLD_KEYS.values(), "country_acc", "mean_km", "median_km", "mean_score"]
    order += [k for k in cols if k not in order]
    for key in order:
        if key == "median_km":
            value, count = float(np.median(dist)), n
        elif key in cols:
            col = cols[key]
            count = int(np.isfinite(col).sum())
            value = float(np.nanmean(col)) if count else float("nan")
        else:
            continue
        label, unit = METRIC_LABELS[key]
        lo, hi = intervals[key]
        metrics[key] = Metric(key, label, value, lo, hi, count, unit)
    if ece is not None:
        label, unit = METRIC_LABELS["calibration_error"]
        metrics["calibration_error"] = Metric("calibration_error", label, ece, float("nan"),
                                              float("nan"), n, unit)
    items = {"distance_km": dist, "score": score,
             **{k: v for k, v in cols.items() if k not in ("mean_km", "mean_score")}}
    params = {"n_boot": n_boot, "seed": seed, "ci": ci, "radius_km": radius_km,
              "thresholds_km": dict(core.DISTANCE_THRESHOLDS_KM),
              "score_formula": "5000*exp(-d_km/1492.7)"}
    return MetricReport(metrics, n, params, items)


def _fmt(value: float, unit: str) -> str:
    if not np.isfinite(value):
        return "-"
    if unit == "%":
        return f"{value:.2f}"
    if unit in ("km", "points"):
        return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}"
    return f"{value:.2f}"


def format_report(report: MetricReport) -> str:
    """A vertical text table: metric, value, 95 % interval, items counted."""
    pct = round(report.params.get("ci", 0.95) * 100)
    rows = [("metric", "value", f"{pct}% interval", "n")]
    for m in report.metrics.values():
        unit = "" if m.unit in ("%",) else f" {m.unit}"
        value = _fmt(m.value, m.unit) + ("%" if m.unit == "%" else unit)
        iv = "" if not np.isfinite(m.low) else f"[{_fmt(m.low, m.unit)}, {_fmt(m.high, m.unit)}]"
        rows.append((m.label, value, iv, str(m.n)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def format_ladder(rows: Sequence[tuple[str, MetricReport]], *,
                  columns: Sequence[str] = PAPER_COLUMNS) -> str:
    """The paper's Table 1/2 shape: one row per configuration, the distance shares, country
    accuracy, mean and median km and the score as columns."""
    heads = {"acc_1km": "1 km", "acc_25km": "25 km", "acc_200km": "200 km",
             "acc_750km": "750 km", "acc_2500km": "2500 km", "country_acc": "country",
             "mean_km": "mean km", "median_km": "median km", "mean_score": "score"}
    table = [["configuration", *[heads.get(c, c) for c in columns]]]
    for name, rep in rows:
        table.append([name, *[_fmt(rep[c].value, rep[c].unit) if c in rep else "-"
                              for c in columns]])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(r, widths))) for r in table]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
