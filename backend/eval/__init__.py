"""Datasets, the paper's metrics, evaluation of a model bundle and the ablation ladder
(see docs/EVAL.md).

- :mod:`backend.eval.datasets` — dataset adapters (generic CSV, OSV-5M, IM2GPS3k/YFCC4k)
- :mod:`backend.eval.split` — train/test split with a minimum distance between the two
- :mod:`backend.eval.metrics` — the metric table with bootstrap intervals (math in
  ``backend.core.metrics``, resampling in :mod:`backend.eval.bootstrap`)
- :mod:`backend.eval.evaluate` — ``pigeon eval``: predict a dataset with a bundle
- :mod:`backend.eval.reports`, :mod:`backend.eval.plots` — the report files and PNG plots
- :mod:`backend.eval.ladder`, :mod:`backend.eval.ablate` — ``pigeon ablate``: the ladder
- :mod:`backend.eval.grid_cells` — plain-grid geocells baseline
- :mod:`backend.eval.cli` — ``pigeon data check|split``, ``pigeon eval``, ``pigeon ablate``
"""
