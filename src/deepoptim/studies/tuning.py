"""Step-size sweeps of the baselines: the best step size per optimizer, and whether the grid
brackets it.

:func:`tune_lr` trains every (optimizer, step size) of a grid over seeds with
:func:`~deepoptim.studies.runs.run_grid` and keeps, per optimizer, the step size with the best
mean final metric; :func:`at_grid_edge` names the optimizers whose best step size is the
smallest or largest of its grid, where the sweep does not bracket the optimum.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .._checks import check_choice
from ..data import ClassificationData
from ..experiment import summarize
from .runs import METRICS, run_grid

__all__ = ["at_grid_edge", "tune_lr"]


def tune_lr(
    model_name: str,
    dataset: ClassificationData,
    grid: Mapping[str, Sequence[float]],
    seeds: Iterable[int],
    *,
    steps: int,
    metric: str = "train_loss",
    **shared: Any,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Sweep each optimizer's ``lr`` over ``grid[name]`` and pick the best per optimizer.

    Every (optimizer, lr) is trained from every seed with :func:`run_grid` (``shared`` as
    there, e.g. ``schedule="warmup_cosine"``; ``lr`` is added to its ``optimizer_kwargs``).
    ``metric`` is a final metric of the record (:data:`METRICS`); the best lr has the lowest
    mean over seeds, or the highest for an accuracy, and a run whose metric is not finite
    (diverged) ranks last. Returns ``(best, table)``: the best lr per optimizer, and one row
    per (optimizer, lr) with the metric's mean, standard deviation and count
    (:func:`deepoptim.experiment.summarize`).
    """
    check_choice("metric", metric, METRICS)
    if not grid or not all(len(values) for values in grid.values()):
        raise ValueError(f"Invalid grid value: {dict(grid)!r} (give each optimizer a step size)")
    base = shared.pop("optimizer_kwargs", None) or {}
    configs, lr_of = {}, {}
    for name, values in grid.items():
        for lr in values:
            label = f"{name} lr={lr:g}"
            configs[label] = {"optimizer": name, "optimizer_kwargs": {**base, "lr": lr}}
            lr_of[label] = float(lr)
    records = run_grid(model_name, dataset, configs, seeds, steps=steps, **shared).records
    records["lr"] = records["config"].map(lr_of)
    sign = -1.0 if metric.endswith("acc") else 1.0
    records["rank"] = (sign * records[metric]).where(records[metric].map(math.isfinite),
                                                     math.inf)
    ranks = records.groupby(["optimizer", "lr"], sort=False)["rank"].mean().reset_index()
    best = {name: float(group.loc[group["rank"].idxmin(), "lr"])
            for name, group in ranks.groupby("optimizer", sort=False)}
    return best, summarize(records, by=["optimizer", "lr"], metrics=[metric])


def at_grid_edge(best: Mapping[str, float], grid: Mapping[str, Sequence[float]]) -> list[str]:
    """The names whose best step size (of :func:`tune_lr`) is the smallest or largest of its grid.

    There the sweep does not bracket the optimum: it may lie outside the grid.
    """
    missing = [name for name in best if name not in grid or not len(grid[name])]
    if missing:
        raise ValueError(f"Invalid grid value: {dict(grid)!r} (no step sizes for {missing})")
    return [name for name, lr in best.items() if lr in (min(grid[name]), max(grid[name]))]
