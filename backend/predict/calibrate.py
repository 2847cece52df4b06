"""Fit the projected-score temperature of a bundle on held-out rounds (``calibration.json``).

Runs the bundle's predictor *uncalibrated* (temperature 1) over a dataset CSV, keeps each
round's candidate distribution (every candidate: the same set the predictor serves), fits
the temperature with ``backend.core.calibration.fit_temperature`` (mean projected = mean
actual) and writes ``calibration.json`` into the bundle (format ``pigeon-calibration/1``:
temperature, the before/after means and ECE — "after" is in-sample and says so — the
held-out figures of a 2-fold cross-fit, the data and the refinement settings used). The
predictor reads it on the next load.

Usage::

    from backend.predict.calibrate import calibrate_bundle
    result = calibrate_bundle("bundle/", "data/val.csv", limit=500)

    pigeon calibrate --bundle bundle/ --data data/val.csv
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import sys
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError, progress
from backend.core.calibration import (
    DEFAULT_BINS,
    DEFAULT_MAX_CANDIDATES,
    T_MAX,
    T_MIN,
    CalibrationError,
    CalibrationResult,
    cross_fitted_stats,
    fit_temperature,
    log_probs_of,
)
from backend.predict.images import ImageError, load_view


def collect_distributions(predictor: Any, locations: list[Any], *, batch_size: int = 16,
                          show_progress: bool = True) -> tuple[list[Any], list[int], list[str]]:
    """Candidate distributions of each location (uncalibrated), skipping unreadable rounds.

    Returns:
        ``(distributions, kept_row_numbers, skipped_messages)``.
    """
    dists, kept, skipped = [], [], []
    batches = range(0, len(locations), batch_size)
    it = progress(batches, total=len(batches), desc="calibrate: predicting",
                  unit="batch") if show_progress else batches
    for start in it:
        rounds, rows = [], []
        for i in range(start, min(start + batch_size, len(locations))):
            loc = locations[i]
            try:
                rounds.append([load_view(p) for p in loc.image_paths])
                rows.append(i)
            except ImageError as exc:
                skipped.append(f"{loc.id}: {exc}")
        if not rounds:
            continue
        emb, _ = predictor.embed_rounds(rounds)
        probs = predictor.cell_probabilities(emb)
        for e, p, i in zip(emb, probs, rows):
            dists.append(predictor.distribution(e, p))
            kept.append(i)
    return dists, kept, skipped


def check_usable_rows(data_csv: str | Path, *, used: int, bad: list[str]) -> None:
    """Refuse to fit on data that is mostly bad rows; say which rows were left out.

    Raises:
        UserError: more bad rows than usable ones (the fit would rest on the few left).
    """
    shown = "; ".join(bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
    if len(bad) > used:
        raise UserError(f"{data_csv}: {len(bad)} of its {used + len(bad)} rows are bad "
                        f"({shown}); fix the rows (`pigeon data check` lists them) or use "
                        "other data")
    if bad:
        print(f"calibrate: skipped {len(bad)} bad row(s) of {data_csv}: {shown}",
              file=sys.stderr)


def check_fitted(result: CalibrationResult) -> None:
    """Refuse to write a temperature the fit pushed to the edge of its search range: the
    data does not pin it down, and the bundle would project nonsense.

    Raises:
        UserError: the temperature lies at ``T_MIN`` or ``T_MAX``.
    """
    t = result.temperature
    if t <= T_MIN * 1.01 or t >= T_MAX * 0.99:
        raise UserError(f"the fitted temperature {t:.3g} sits at the edge of the range "
                        f"[{T_MIN:g}, {T_MAX:g}] searched: these {result.n_rounds} rounds do not "
                        "pin it down, so nothing was written; calibrate on more (and "
                        "held-out) rounds, or look with --dry-run")


def calibrate_bundle(bundle_dir: str | Path, data_csv: str | Path, *, limit: int | None = None,
                     batch_size: int = 16, n_bins: int = DEFAULT_BINS,
                     max_candidates: int | None = DEFAULT_MAX_CANDIDATES, device: str = "cpu",
                     write: bool = True, show_progress: bool = True) -> CalibrationResult:
    """Fit and (by default) store the bundle's calibration temperature.

    Args:
        bundle_dir: the bundle.
        data_csv: held-out rounds in any layout ``backend.eval.datasets`` reads (not the
            training data: calibrating on it would fit over-confidence away too little).
        limit: use only the first N rows.
        batch_size: rounds per backbone call.
        n_bins, max_candidates: see ``fit_temperature`` (default: every candidate, as the
            predictor serves them).
        device: torch device of the backbone.
        write: write ``calibration.json`` into the bundle.
        show_progress: progress bars on stderr.

    Returns:
        The ``CalibrationResult``.

    Raises:
        UserError: unreadable bundle or data, no usable round.
    """
    from backend.eval.datasets import DatasetError, load_dataset
    from backend.model.bundle import load_bundle
    from backend.predict.bundle_parts import attach_json
    from backend.predict.predictor import Predictor

    try:
        ds = load_dataset(data_csv, on_bad_row="skip")
    except DatasetError as exc:
        raise UserError(f"{data_csv}: {exc}") from None
    locations = list(ds)[:limit] if limit else list(ds)
    if not locations:
        raise UserError(f"{data_csv} has no usable rows to calibrate on")
    bundle = load_bundle(bundle_dir, device=device)
    predictor = Predictor(bundle, calibration_temperature=1.0, geo=None)
    dists, kept, skipped = collect_distributions(predictor, locations, batch_size=batch_size,
                                                 show_progress=show_progress)
    if not dists:
        raise UserError(f"no round of {data_csv} could be read ({len(skipped)} skipped, e.g. "
                        f"{skipped[:1]})")
    check_usable_rows(data_csv, used=len(kept), bad=[*map(str, ds.bad_rows), *skipped])
    bar = progress(range(1), total=1, desc="calibrate: fitting T", unit="T") \
        if show_progress else None

    def step(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    try:
        fit_args = ([log_probs_of(d.prob) for d in dists], [d.lat for d in dists],
                    [d.lng for d in dists], np.array([locations[i].lat for i in kept]),
                    np.array([locations[i].lng for i in kept]))
        result = fit_temperature(*fit_args, n_bins=n_bins, max_candidates=max_candidates,
                                 on_step=step)
        held_out = cross_fitted_stats(*fit_args, n_bins=n_bins, max_candidates=max_candidates)
    except CalibrationError as exc:
        raise UserError(f"calibration failed: {exc}") from None
    finally:
        if bar is not None:
            bar.close()
    result = dataclasses.replace(result, held_out=held_out)
    if write:
        check_fitted(result)
        doc = result.to_dict()
        doc.update({
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "made_by": "backend.predict.calibrate.calibrate_bundle (pigeon-bot)",
            "data": {"csv": str(Path(data_csv).resolve()), "layout": ds.layout,
                     "rows_used": len(kept), "rows_skipped": len(skipped),
                     "bad_rows": len(ds.bad_rows)},
            "parameters": {"top_k": predictor.top_k, "refine_temperature": predictor.temperature,
                           "max_move_km": predictor.max_move_km, "bins": n_bins,
                           "max_candidates": "all" if max_candidates is None
                           else max_candidates,
                           "index": bundle.index_path is not None},
        })
        attach_json(bundle_dir, "calibration", doc)
    return result
