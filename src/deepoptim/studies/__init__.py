"""The book's experiment code: seeded runs, grids, sweeps and each part's comparison set-up.

Only the book's chapters import this package; nothing else in ``deepoptim`` does. The library
proper (optimizers, schedules, the training loop, profiles and summaries) knows nothing of it.

* :mod:`~deepoptim.studies.runs`: one seeded training run of a registered optimizer
  (:func:`run_classifier`), named configurations times seeds as tidy frames (:func:`run_grid`,
  :class:`Runs`, :func:`concat_runs`) and per-run means of per-step diagnostics
  (:func:`with_step_means`);
* :mod:`~deepoptim.studies.tuning`: step-size sweeps (:func:`tune_lr`) and whether they
  bracket the optimum (:func:`at_grid_edge`);
* :mod:`~deepoptim.studies.summaries`: the quantities the chapters read from a summary of runs
  (:func:`mean_of`, :func:`loss_ratio`, :func:`standardized_difference`);
* :mod:`~deepoptim.studies.part1`: Part I's comparison of the line-search chapters
  (:func:`setup_comparison`).
"""

from deepoptim.studies.part1 import COMPARISON_LR_GRID, Comparison, Problem, setup_comparison
from deepoptim.studies.runs import (
    METRICS,
    RUN_KEYS,
    Runs,
    concat_runs,
    run_classifier,
    run_grid,
    with_step_means,
)
from deepoptim.studies.summaries import loss_ratio, mean_of, standardized_difference
from deepoptim.studies.tuning import at_grid_edge, tune_lr

__all__ = [
    "COMPARISON_LR_GRID",
    "METRICS",
    "RUN_KEYS",
    "Comparison",
    "Problem",
    "Runs",
    "at_grid_edge",
    "concat_runs",
    "loss_ratio",
    "mean_of",
    "run_classifier",
    "run_grid",
    "setup_comparison",
    "standardized_difference",
    "tune_lr",
    "with_step_means",
]
