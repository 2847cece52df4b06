"""How much the retrieval refinement changes a bundle's answers, round by round.

For every round of a dataset CSV, with the bundle's own index and calibration:

- **top changed**: the re-weighting (``softmax(-distance / T)`` times the cell
  probabilities) makes another of the top-5 candidates the most probable one;
- **pin moved by the re-weighting**: the pin on the refined candidates with the re-weighted
  probabilities against the pin on the same candidates with the cells' own probabilities
  (farther than 1 km apart);
- **pin moved by the refinement**: the pin with the index against the pin without it (every
  candidate on its cell's centroid), farther than 1 km apart, and by how much;
- the re-weighting factor each candidate gets (its refined over its cell probability),
  median and largest over the top-5, and the mean GeoGuessr score with and without the index.

It only uses the Predictor API that older versions of pigeon-bot have too, so the same file
measures the code before a change (``PYTHONPATH=<old checkout>``) and after.

Usage::

    python scripts/measure_refinement.py --bundle bundles/demo \\
        --data data/synthworld-demo/fit/test.csv --limit 60
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent.parent))  # PYTHONPATH first: old code

MOVED_KM = 1.0


def _pin(dist: object, p_top: np.ndarray, t_cal: float) -> tuple[float, float]:
    """The calibrated pin of a round's distribution with the top candidates' probabilities
    replaced by ``p_top`` (rescaled to the same total)."""
    from backend.core.best_pin import best_pin
    from backend.core.calibration import apply_temperature, log_probs_of

    k = len(p_top)
    p = dist.prob.copy()
    p[:k] = p_top / p_top.sum() * dist.prob[:k].sum()
    lat, lng, _ = best_pin(dist.lat, dist.lng, apply_temperature(log_probs_of(p), t_cal))
    return lat, lng


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=Path("bundles/demo"))
    ap.add_argument("--data", type=Path, required=True, help="dataset CSV with true locations")
    ap.add_argument("--limit", type=int, help="first N rounds only")
    args = ap.parse_args(argv)

    import backend
    from backend.core.geodesy import haversine_km
    from backend.core.scoring import geoguessr_score
    from backend.eval.datasets import load_dataset
    from backend.model.bundle import load_bundle
    from backend.predict.images import load_view
    from backend.predict.predictor import Predictor

    bundle = load_bundle(args.bundle)
    with_index = Predictor(bundle, geo=None)
    without = Predictor(bundle, index=None, geo=None)
    if with_index.index is None:
        print(f"{args.bundle} has no refinement index: nothing to measure")
        return 1
    t_cal = with_index.calibration_temperature
    locs = list(load_dataset(args.data))[:args.limit] if args.limit else \
        list(load_dataset(args.data))
    top_changed = pin_reweighted = pin_refined = 0
    moves, factors, s_with, s_without = [], [], [], []
    for loc in locs:
        views = [load_view(p) for p in loc.image_paths]
        emb, _ = with_index.embed_rounds([views])
        probs = with_index.cell_probabilities(emb)[0]
        d = with_index.distribution(emb[0], probs)
        r = d.refined
        top_changed += int(np.argmax(r.prob) != np.argmax(r.cell_prob))
        ok = r.cell_prob > 0
        factors.extend((r.prob[ok] / r.cell_prob[ok]).tolist())
        a, b = _pin(d, r.prob, t_cal), _pin(d, r.cell_prob, t_cal)
        pin_reweighted += int(float(haversine_km(*a, *b)) > MOVED_KM)
        g_with = with_index.guess_from_distribution(d)
        g_without = without.guess_from_distribution(without.distribution(emb[0], probs))
        moved = float(haversine_km(g_with.lat, g_with.lng, g_without.lat, g_without.lng))
        moves.append(moved)
        pin_refined += int(moved > MOVED_KM)
        for g, out in ((g_with, s_with), (g_without, s_without)):
            out.append(float(geoguessr_score(haversine_km(g.lat, g.lng, loc.lat, loc.lng))))
    n = len(locs)
    f = np.array(factors)
    print(f"pigeon-bot {getattr(backend, '__version__', '?')} from {Path(backend.__file__).parent}"
          f"; python {platform.python_version()}")
    print(f"bundle {args.bundle}, index {with_index.index.meta.get('format')}, refinement T "
          f"{with_index.temperature}, max move {with_index.max_move_km} km, calibration T "
          f"{t_cal:.3f}; {n} rounds of {args.data}")
    print(f"top candidate changed by the re-weighting: {top_changed} of {n} "
          f"({100 * top_changed / n:.1f} %)")
    print(f"pin moved by the re-weighting (> {MOVED_KM:g} km): {pin_reweighted} of {n} "
          f"({100 * pin_reweighted / n:.1f} %)")
    print(f"pin moved by the refinement vs no index (> {MOVED_KM:g} km): {pin_refined} of {n} "
          f"({100 * pin_refined / n:.1f} %); median move {np.median(moves):.0f} km, "
          f"largest {max(moves):.0f} km")
    print(f"re-weighting factor over the top-5: median {np.median(f):.2f}, "
          f"5-95 % {np.percentile(f, 5):.2f}-{np.percentile(f, 95):.2f}, largest {f.max():.2f}")
    print(f"mean score with the index {np.mean(s_with):.0f}, without {np.mean(s_without):.0f} "
          f"(paired difference {np.mean(np.subtract(s_with, s_without)):+.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
