r"""The quantities the chapters read from a summary of runs.

A summary is a frame of :func:`deepoptim.experiment.summarize`: one row per configuration,
identified by its label columns (``by``), with ``<metric>_mean``, ``<metric>_std`` and ``n``.
A comparison's runs are labelled by ``problem`` and ``config`` (:meth:`Comparison.run
<deepoptim.studies.part1.Comparison.run>`, :func:`~deepoptim.studies.runs.run_grid`).

* :func:`mean_of`: the mean of a metric in the one row with the given labels;
* :func:`loss_ratio`: how a configuration's final training loss compares with a reference's
  over several problems, as the geometric mean of the ratios of their means,
  :math:`\exp\big(\tfrac1P \sum_p \log(\bar L_{p,\text{config}}/\bar L_{p,\text{ref}})\big)`:
  a ratio of losses is scale-free, and its geometric mean weighs a halving on one problem
  and a doubling on another as no change;
* :func:`standardized_difference`: Welch's statistic of the difference of two means on one
  problem, :math:`(\bar x_a - \bar x_b)/\sqrt{s_a^2/n_a + s_b^2/n_b}`, the difference in units
  of its standard error.

A label that matches no row, or several, is an error that names the labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["loss_ratio", "mean_of", "standardized_difference"]


def _require(summary: pd.DataFrame, columns: Sequence[str]) -> None:
    absent = [c for c in columns if c not in summary.columns]
    if absent:
        raise ValueError(f"Invalid column value: {absent} not in the summary "
                         f"{list(summary.columns)}")


def _row(summary: pd.DataFrame, labels: dict[str, Any], columns: Sequence[str]) -> pd.Series:
    """The one row of ``summary`` whose label columns equal ``labels``, with ``columns``."""
    _require(summary, [*labels, *columns])
    match = np.ones(len(summary), dtype=bool)
    for column, value in labels.items():
        match &= (summary[column] == value).to_numpy()
    if match.sum() != 1:
        found = "no row" if not match.any() else f"{int(match.sum())} rows"
        raise ValueError(f"Invalid labels value: {labels!r} ({found} of the summary; "
                         "expected exactly one)")
    return summary.loc[match, list(columns)].iloc[0]


def mean_of(summary: pd.DataFrame, metric: str, **labels: Any) -> float:
    """The mean of ``metric`` in the row of ``summary`` with these labels.

    For example ``mean_of(summary, "train_loss", problem="MNIST-1D MLP", config="SLS")``.
    """
    if not labels:
        raise ValueError("Invalid labels value: {} (name the row, e.g. config='SGD')")
    return float(_row(summary, labels, [f"{metric}_mean"]).iloc[0])


def loss_ratio(summary: pd.DataFrame, config: str, reference: str,
               problems: Sequence[str] | None = None, *, metric: str = "train_loss") -> float:
    """Geometric mean over ``problems`` of ``config``'s mean ``metric`` over ``reference``'s.

    ``summary`` is by ``problem`` and ``config``; ``problems`` defaults to all of its problems,
    in order. Below 1, ``config`` ends lower than ``reference`` on average; a NaN mean (every
    run of a configuration diverged) makes it NaN.
    """
    if problems is None:
        _require(summary, ["problem"])
        problems = list(pd.unique(summary["problem"]))
    if not len(problems):
        raise ValueError("Invalid problems value: [] (give at least one problem)")
    means = [(mean_of(summary, metric, problem=p, config=config),
              mean_of(summary, metric, problem=p, config=reference)) for p in problems]
    if any(a <= 0 or b <= 0 for a, b in means):
        raise ValueError(f"Invalid {metric} value: {means!r} (a geometric mean of ratios "
                         "needs positive means)")
    return float(np.exp(np.mean(np.log([a / b for a, b in means]))))


def standardized_difference(summary: pd.DataFrame, config: str, reference: str, *,
                            metric: str = "train_loss", **labels: Any) -> float:
    """Welch's statistic of ``config``'s mean ``metric`` minus ``reference``'s.

    Both rows share ``labels`` (e.g. ``problem="digits CNN"``) and differ in ``config``. NaN
    where the standard error is 0 (every run of both alike, e.g. one seed each).
    """
    columns = [f"{metric}_mean", f"{metric}_std", "n"]
    a = _row(summary, {**labels, "config": config}, columns)
    b = _row(summary, {**labels, "config": reference}, columns)
    error = math.sqrt(a[columns[1]] ** 2 / a["n"] + b[columns[1]] ** 2 / b["n"])
    return float((a[columns[0]] - b[columns[0]]) / error) if error > 0 else math.nan
