"""``pigeon eval``: predict every location of a dataset with a model bundle, compute the
paper's metrics, print the table, write the reports.

The loop (:func:`predict_dataset`) only gathers arrays; :mod:`backend.eval.metrics` does the
math; :func:`write_reports` writes the files. Any object with
``predict_batch(list[list[PIL.Image]]) -> list[Guess]`` can be evaluated; a
``backend.predict.predictor.Predictor`` also yields geocell probabilities (top-1/top-5) and
the auxiliary heads (month, climate zone, regressions).

The report files are written by :mod:`backend.eval.reports` (summary JSON/CSV, per-location
CSV, table, plots).

Usage::

    pigeon eval --model bundles/demo --data synth/test.csv --out reports/demo --limit 500

    from backend.eval.evaluate import predict_dataset, evaluate_predictions
    preds = predict_dataset(predictor, dataset, batch_size=16)
    report = evaluate_predictions(preds, country_lookup=default_country_lookup(),
                                  geocells=bundle.geocells, n_boot=1000)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backend.cliutil import UserError, progress
from backend.eval.datasets import BadRow, Dataset
from backend.eval.metrics import MetricReport, compute_metrics, format_report
from backend.eval.reports import EVAL_FORMAT, eval_metadata, write_reports

__all__ = ["EVAL_FORMAT", "Predictions", "default_aux_truth", "default_country_lookup",
           "eval_metadata", "evaluate_predictions", "osv5m_section", "predict_dataset",
           "run_eval_command", "write_reports"]

DAYS_PER_MONTH = 365.25 / 12
AUX_REGRESSION: dict[str, tuple[str, float]] = {
    "elevation": ("elevation", 1.0), "population_density": ("population_density", 1.0),
    "temperature_mean": ("temperature", 1.0),
    "precipitation_mean": ("precipitation", 1.0 / DAYS_PER_MONTH)}
"""head regression column -> (metric task, factor to the metric's unit); precipitation
goes from the model's mm/month to mm/day."""


@dataclass
class Predictions:
    """What the model said about each evaluated location (index i = ``locations[i]``)."""

    locations: list[Any]
    lat: np.ndarray
    lng: np.ndarray
    projected: np.ndarray
    guess_country: list[str | None]
    cell_probs: np.ndarray | None = None
    aux: dict[str, np.ndarray] = field(default_factory=dict)
    skipped: list[BadRow] = field(default_factory=list)
    seconds: float = 0.0


def _open_views(loc: Any) -> list[Any]:
    views = []
    for p in loc.image_paths:
        with Image.open(p) as im:
            views.append(im.convert("RGB"))
    return views


def _detailed(predictor: Any, rounds: list[list[Any]]
              ) -> tuple[list[Any], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Predictor path: guesses, cell probabilities, auxiliary head outputs, and the most
    probable candidate of each distribution (the paper's pin) as ``(B, 2)`` lat/lng."""
    import torch

    emb, shared = predictor.embed_rounds(rounds)
    probs = predictor.cell_probabilities(emb)
    per_round = {k: v / len(rounds) for k, v in shared.items()}
    guesses, argmax_pins = [], []
    for e, p in zip(emb, probs):
        dist = predictor.distribution(e, p)
        guesses.append(predictor.guess_from_distribution(dist, per_round))
        j = int(np.argmax(dist.prob))
        argmax_pins.append((float(dist.lat[j]), float(dist.lng[j])))
    aux: dict[str, np.ndarray] = {}
    heads = getattr(predictor, "heads", None)
    if heads is not None:
        from backend.model.location_head import head_device

        device = head_device(heads)
        with torch.inference_mode():
            out = heads(torch.from_numpy(np.asarray(emb, dtype=np.float32)).to(device))
        if "month" in out:
            aux["month"] = out["month"].argmax(dim=1).cpu().numpy() + 1.0
        if "koppen" in out:
            aux["climate_zone"] = out["koppen"].argmax(dim=1).cpu().numpy().astype(float)
        if "regression" in out and hasattr(heads, "regression_to_units"):
            from backend.model.heads import REGRESSION_TARGETS

            units = heads.regression_to_units(out["regression"]).cpu().numpy()
            for j, name in enumerate(REGRESSION_TARGETS):
                if name in AUX_REGRESSION:
                    key, scale = AUX_REGRESSION[name]
                    aux[key] = units[:, j].astype(np.float64) * scale
    return guesses, probs, aux, np.array(argmax_pins, dtype=np.float64).reshape(-1, 2)


def _predict_rounds(predictor: Any, rounds: list[list[Any]], detailed: bool
                    ) -> tuple[list[Any], np.ndarray | None, dict[str, np.ndarray],
                               list[tuple[float, float]]]:
    """One batch: guesses, cell probabilities (or None), aux outputs, argmax pins."""
    if detailed:
        g, p, aux, top = _detailed(predictor, rounds)
        return g, p, aux, [(float(a), float(b)) for a, b in top]
    g = list(predictor.predict_batch(rounds))
    if len(g) != len(rounds):
        raise UserError(f"the predictor returned {len(g)} guesses for {len(rounds)} locations")
    pins = [(x.top_k[0].lat, x.top_k[0].lng) if getattr(x, "top_k", None) else (x.lat, x.lng)
            for x in g]
    return g, None, {}, pins


def predict_dataset(predictor: Any, dataset: Dataset, *, batch_size: int = 16,
                    on_bad_image: str = "fail", pin: str = "expected",
                    show_progress: bool = True) -> Predictions:
    """Run the predictor over every location.

    Args:
        predictor: a ``Predictor`` (detailed outputs) or anything with ``predict_batch``.
        dataset: the locations.
        batch_size: locations per ``predict_batch`` call.
        on_bad_image: ``"fail"`` raises on an unreadable image; ``"skip"`` leaves the
            location out and lists it in ``Predictions.skipped``.
        pin: ``"expected"`` — the guess's pin (ours: the expected-score maximiser);
            ``"argmax"`` — the most probable candidate (the paper's pin; for a plain
            ``predict_batch`` model, the first of ``Guess.top_k``).
        show_progress: progress bar on stderr.

    Returns:
        :class:`Predictions` for the locations that were predicted.

    Raises:
        UserError: an unreadable image under ``on_bad_image="fail"`` (line number given),
            or a predictor that returns the wrong number of guesses.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if pin not in ("expected", "argmax"):
        raise ValueError(f"pin must be 'expected' or 'argmax', got {pin!r}")
    detailed = all(hasattr(predictor, a) for a in
                   ("embed_rounds", "cell_probabilities", "distribution",
                    "guess_from_distribution"))
    kept, guesses, probs, skipped, pins = [], [], [], [], []
    aux_parts: dict[str, list[np.ndarray]] = {}
    t0 = time.perf_counter()
    batches = [dataset.locations[i:i + batch_size]
               for i in range(0, len(dataset), batch_size)]
    bar = progress(batches, total=len(batches), desc="eval", unit="batch") \
        if show_progress else batches
    try:  # the predictor's "this view is not a usable image" error
        from backend.predict.images import ImageError as refused
    except ImportError:
        refused = ValueError

    def refuse(loc: Any, why: str) -> None:
        bad = BadRow(loc.line_no, loc.id, (why,))
        if on_bad_image == "fail":
            raise UserError(f"{dataset.path}: {bad}; fix it or pass --on-bad-row skip")
        skipped.append(bad)

    for batch in bar:
        rounds, locs = [], []
        for loc in batch:
            try:
                rounds.append(_open_views(loc))
                locs.append(loc)
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                refuse(loc, f"unreadable image ({exc})")
        if not rounds:
            continue
        try:
            parts = [_predict_rounds(predictor, rounds, detailed)]
        except refused as exc:  # the model refused a view: find which one
            if len(rounds) == 1:
                refuse(locs[0], f"image refused by the model ({exc})")
                continue
            parts, ok = [], []
            for loc, views in zip(locs, rounds):
                try:
                    parts.append(_predict_rounds(predictor, [views], detailed))
                    ok.append(loc)
                except refused as one:
                    refuse(loc, f"image refused by the model ({one})")
            locs = ok
        for g, p, aux, top in parts:
            if len(g) != len(top):
                raise UserError(f"the predictor returned {len(g)} guesses for {len(top)} "
                                "locations")
            guesses += g
            pins += top
            if p is not None:
                probs.append(p)
            for k, v in aux.items():
                aux_parts.setdefault(k, []).append(v)
        kept += locs
    if not kept:
        raise UserError(f"{dataset.path}: no location could be predicted "
                        f"({len(skipped)} unreadable)")
    if pin == "argmax":
        lat = np.array([q[0] for q in pins], dtype=np.float64)
        lng = np.array([q[1] for q in pins], dtype=np.float64)
    else:
        lat = np.array([g.lat for g in guesses], dtype=np.float64)
        lng = np.array([g.lng for g in guesses], dtype=np.float64)
    return Predictions(
        locations=kept, lat=lat, lng=lng,
        projected=np.array([getattr(g, "projected_score", np.nan) for g in guesses],
                           dtype=np.float64),
        guess_country=[getattr(g, "country", None) for g in guesses],
        cell_probs=np.concatenate(probs) if probs else None,
        aux={k: np.concatenate(v) for k, v in aux_parts.items()},
        skipped=skipped, seconds=time.perf_counter() - t0)


def default_country_lookup() -> Callable[[np.ndarray, np.ndarray], np.ndarray] | None:
    """``(lat, lng) -> ISO-2 array`` from the geo layer (``GeoLookup.default().country``:
    Natural Earth polygons, a land point just off the 10 m coastline takes the nearest
    country within 10 km, sea is ``""``), or None when the geo assets are not built."""
    try:
        from backend.geo.lookup import GeoLookup

        geo = GeoLookup.default()
        geo.country(np.array([48.8566]), np.array([2.3522]))  # loads the parts once
    except (ImportError, OSError, KeyError, ValueError, UserError):  # no geo assets
        return None
    return lambda la, lo: np.asarray(geo.country(la, lo))


def default_aux_truth(lat: np.ndarray, lng: np.ndarray) -> dict[str, np.ndarray] | None:
    """True auxiliary values from the geo layer, in the units the heads predict (the model's
    own target conversion, ``backend.model.geo_features``), or None without the assets."""
    try:
        from backend.geo.lookup import GeoLookup
        from backend.model.geo_features import features_from_lookup
        from backend.model.heads import REGRESSION_TARGETS

        koppen, reg, _ = features_from_lookup(GeoLookup.default().lookup(lat, lng))
    except (ImportError, OSError, KeyError, ValueError, UserError):  # no geo assets/package
        return None
    out = {"climate_zone": np.where(koppen >= 0, koppen, np.nan).astype(np.float64)}
    for j, name in enumerate(REGRESSION_TARGETS):
        if name in AUX_REGRESSION:
            key, scale = AUX_REGRESSION[name]
            out[key] = reg[:, j].astype(np.float64) * scale
    return out


def evaluate_predictions(preds: Predictions, *,
                         country_lookup: Callable[[np.ndarray, np.ndarray], np.ndarray] | None
                         = None, geocells: Any = None, aux_truth: dict[str, np.ndarray] | None
                         = None, n_boot: int = 1000, seed: int = 0) -> MetricReport:
    """Metrics of the predictions against the locations' truth.

    Args:
        preds: from :func:`predict_dataset`.
        country_lookup: ``(lat, lng) -> ISO-2`` for truth AND guess (the same polygons for
            both); None skips country accuracy.
        geocells: the bundle's cells (``assign``) for geocell top-1/top-5 (needs
            ``preds.cell_probs``).
        aux_truth: extra true auxiliary values per task (month comes from the dataset).
        n_boot, seed: bootstrap settings.
    """
    locs = preds.locations
    t_lat = np.array([loc.lat for loc in locs])
    t_lng = np.array([loc.lng for loc in locs])
    kw: dict[str, Any] = {}
    if country_lookup is not None:
        kw["true_country"] = list(country_lookup(t_lat, t_lng))
        kw["pred_country"] = list(country_lookup(preds.lat, preds.lng))
    if geocells is not None and preds.cell_probs is not None:
        kw["cell_logits"] = preds.cell_probs
        kw["true_cells"] = np.asarray(geocells.assign(t_lat, t_lng))
    truth = dict(aux_truth or {})
    months = [loc.month for loc in locs]
    if any(m is not None for m in months):
        truth["month"] = np.array([np.nan if m is None else m for m in months], dtype=float)
    aux_pred = {k: v for k, v in preds.aux.items() if k in truth}
    truth = {k: v for k, v in truth.items() if k in aux_pred}
    proj = preds.projected if np.isfinite(preds.projected).any() else None
    return compute_metrics(t_lat, t_lng, preds.lat, preds.lng, aux_true=truth,
                           aux_pred=aux_pred, projected_score=proj, n_boot=n_boot, seed=seed,
                           **kw)


def run_eval_command(args: Any) -> int:
    """``pigeon eval``: the CLI shell around the functions above."""
    from backend.eval.cli import open_dataset
    from backend.model.bundle import bundle_summary, load_bundle
    from backend.predict.predictor import Predictor

    dataset = open_dataset(args.data, args).head(args.limit)
    bundle = load_bundle(args.model, device=args.device)  # BundleError is a UserError
    predictor = Predictor(bundle)
    preds = predict_dataset(predictor, dataset, batch_size=args.batch_size,
                            on_bad_image=args.on_bad_row)
    lookup = None if args.no_geo else default_country_lookup()
    aux_truth = None
    if not args.no_geo:
        aux_truth = default_aux_truth(np.array([loc.lat for loc in preds.locations]),
                                      np.array([loc.lng for loc in preds.locations]))
    if lookup is None and not args.no_geo:
        print("note: geo assets not built, so no country accuracy or auxiliary-task errors "
              "(run `make setup`)")
    report = evaluate_predictions(preds, country_lookup=lookup, geocells=bundle.geocells,
                                  aux_truth=aux_truth, n_boot=args.n_boot, seed=args.seed)
    print(format_report(report))
    osv = osv5m_section(preds, getattr(args, "osv5m", "auto"), n_boot=args.n_boot, seed=args.seed,
                        name=str(args.model))
    if preds.skipped:
        print(f"skipped {len(preds.skipped)} location(s) with unreadable images")
    if args.out:
        meta = eval_metadata(dataset, preds, model=bundle_summary(args.model),
                             params={"limit": args.limit, "batch_size": args.batch_size,
                                     "n_boot": args.n_boot, "seed": args.seed,
                                     "device": args.device, "country_lookup":
                                     "admin polygons" if lookup else None,
                                     "osv5m": getattr(args, "osv5m", "auto")})
        if osv is not None:
            meta["osv5m"] = osv
        paths = write_reports(args.out, preds, report, meta=meta, plots=not args.no_plots)
        if osv is not None:
            from backend.eval.osv5m_metrics import format_osv5m

            paths.append(Path(args.out) / "osv5m.txt")
            paths[-1].write_text(format_osv5m(osv, name=str(args.model)) + "\n",
                                 encoding="utf-8")
        print(f"wrote {len(paths)} files to {args.out}: " + ", ".join(p.name for p in paths))
    return 0


def osv5m_section(preds: Predictions, mode: str = "auto", *, n_boot: int = 1000, seed: int = 0,
                  name: str = "this model") -> dict[str, Any] | None:
    """OSV-5M's own metrics for the predictions (``backend.eval.osv5m_metrics``), printed as
    the leaderboard's columns. ``mode``: ``"auto"`` (when the data carries OSV-5M's
    ``unique_*`` labels), ``"on"`` (always; labels by reverse geocoding when absent) or
    ``"off"``. Returns the result, or None when not computed."""
    from backend.eval.osv5m_metrics import format_osv5m, osv5m_metrics, truth_labels

    if mode == "off":
        return None
    truth = truth_labels(preds.locations)
    if truth is None and mode != "on":
        return None
    t_lat = np.array([loc.lat for loc in preds.locations])
    t_lng = np.array([loc.lng for loc in preds.locations])
    result = osv5m_metrics(t_lat, t_lng, preds.lat, preds.lng, truth=truth, n_boot=n_boot,
                           seed=seed)
    print()
    print(format_osv5m(result, name=name))
    return result
