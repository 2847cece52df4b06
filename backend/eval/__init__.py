"""Datasets, the paper's metrics, evaluation of a model bundle and the ablation ladder.

- :mod:`backend.eval.datasets` — dataset adapters (generic CSV, OSV-5M, IM2GPS3k/YFCC4k)
- :mod:`backend.eval.split` — train/test split with a minimum distance between the two
- :mod:`backend.eval.metrics` — the metric table with bootstrap intervals
- :mod:`backend.eval.evaluate` — ``pigeon eval``: predict a dataset with a bundle, write reports
- :mod:`backend.eval.ablate` — ``pigeon ablate``: the paper's ablation ladder
- :mod:`backend.eval.grid_cells` — plain-grid geocells baseline
"""
