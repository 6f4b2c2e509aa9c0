"""The book's reference problems and baselines, shared by every chapter that compares.

The testbed chapter establishes them; the method chapters measure against them:

* :data:`OPTIMIZERS`: the optimizers the chapters compare, by name, with their default
  hyperparameters. :data:`BASELINES` are SGD with heavy-ball momentum and Adam, with the step
  sizes the testbed chapter uses (Adam's is the MNIST-1D paper's ``1e-2``; SGD's comes from
  the chapter's sweep); the line searches use their published defaults;
* :func:`make_schedule`: the per-step learning-rate schedules the papers pair with the
  baselines (cosine, with an optional linear warm-up);
* :func:`run_classifier`: one seeded training run of a model from
  :func:`deepoptim.models.build_model` on a classification data set, returning a flat result
  record and the full :class:`~deepoptim.train.History`;
* :func:`run_grid`: named configurations times seeds, as tidy frames (:class:`Runs`) ready for
  :func:`deepoptim.plotting.mean_band` and :func:`deepoptim.experiment.summarize`;
  :func:`tune_lr`: the best step size of each baseline from a small sweep.

The MNIST-1D protocol of Greydanus (2020) is batch 100, constant step size, 6000 steps,
no weight decay; the ``full`` profile uses it, smaller profiles shorten the run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn

from . import models, optim
from ._checks import check_choice, check_int_at_least
from .data import ClassificationData
from .experiment import seed_everything, summarize
from .train import History, train

__all__ = [
    "BASELINES",
    "METRICS",
    "OPTIMIZERS",
    "SCHEDULES",
    "OptimizerChoice",
    "Runs",
    "make_optimizer",
    "make_schedule",
    "run_classifier",
    "run_grid",
    "tune_lr",
]


def _all_parameters(model: nn.Module) -> Iterable[nn.Parameter]:
    return model.parameters()


def _layer_parts(model: nn.Module) -> list[dict]:
    return optim.split_parameters(model, "layer")


@dataclasses.dataclass(frozen=True)
class OptimizerChoice:
    """An optimizer class, its default hyperparameters, and what it optimizes of a model.

    ``params(model)`` gives the constructor's first argument: all parameters, or for a
    layer-wise method one parameter group per layer.
    """

    cls: type[torch.optim.Optimizer]
    defaults: dict[str, Any]
    params: Callable[[nn.Module], Any] = _all_parameters


#: The optimizers the chapters compare, by name (the names of ``deepoptim.plotting``'s colours).
OPTIMIZERS: dict[str, OptimizerChoice] = {
    "SGD": OptimizerChoice(torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "Adam": OptimizerChoice(torch.optim.Adam, {"lr": 1e-2}),
    "SLS": OptimizerChoice(optim.SLS, {}),
    "AdamSLS": OptimizerChoice(optim.AdamSLS, {}),
    "KenSLS": OptimizerChoice(optim.KenSLS, {}),
    "SaLSa": OptimizerChoice(optim.SaLSa, {}),
    "PLASLS": OptimizerChoice(optim.PLASLS, {}, params=_layer_parts),
}

#: The two baselines every method is measured against.
BASELINES: tuple[str, ...] = ("SGD", "Adam")

#: Per-step learning-rate schedules: factor of the initial ``lr`` at step ``t`` of ``T``.
SCHEDULES = ("constant", "cosine", "warmup_cosine")


def make_optimizer(name: str, model: nn.Module, **overrides: Any) -> torch.optim.Optimizer:
    """The optimizer ``name`` for ``model``, with its defaults updated by ``overrides``."""
    check_choice("optimizer", name, tuple(OPTIMIZERS))
    choice = OPTIMIZERS[name]
    return choice.cls(choice.params(model), **{**choice.defaults, **overrides})


def _schedule_factor(name: str, steps: int, warmup: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if name == "constant":
            return 1.0
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def make_schedule(optimizer: torch.optim.Optimizer, name: str, steps: int,
                  warmup_fraction: float = 0.1) -> torch.optim.lr_scheduler.LambdaLR:
    r"""A per-step schedule of every group's ``lr`` over ``steps`` optimizer steps.

    ``"constant"``: the factor is 1. ``"cosine"``: :math:`\tfrac12(1+\cos(\pi t/T))`, from 1
    down to 0 at step :math:`T` (Loshchilov and Hutter's annealing without restarts).
    ``"warmup_cosine"``: a linear warm-up over the first ``warmup_fraction`` of the steps,
    then the cosine over the rest, as the line-search papers use for their Adam baselines.
    """
    check_choice("schedule", name, SCHEDULES)
    check_int_at_least("steps", steps, 1)
    warmup = round(warmup_fraction * steps) if name == "warmup_cosine" else 0
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule_factor(name, steps, warmup))


def run_classifier(
    model_name: str,
    dataset: ClassificationData,
    optimizer_name: str,
    *,
    steps: int,
    seed: int,
    batch_size: int | None = 100,
    eval_every: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    optimizer_kwargs: dict[str, Any] | None = None,
    schedule: str = "constant",
    search_batch: str = "same",
) -> tuple[dict[str, Any], History]:
    """Train one model with one of :data:`OPTIMIZERS` from a seeded initialisation.

    Everything is seeded from ``seed`` (initialisation and batch order), and the model is
    created on the data's device. ``schedule`` is one of :data:`SCHEDULES`, stepped once per
    optimizer step; ``search_batch`` is passed to :func:`deepoptim.train.train` (line
    searches only). Returns ``(record, history)`` where ``record`` holds the configuration
    and the final ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``, ``time``
    (seconds of training) and ``diverged``.
    """
    check_choice("optimizer", optimizer_name, tuple(OPTIMIZERS))
    check_choice("schedule", schedule, SCHEDULES)
    seed_everything(seed)
    model = models.build_model(model_name, **(model_kwargs or {})).to(dataset.x_train.device)
    optimizer = make_optimizer(optimizer_name, model, **(optimizer_kwargs or {}))
    scheduler = None if schedule == "constant" else make_schedule(optimizer, schedule, steps)
    history = train(model, optimizer, dataset, steps=steps, batch_size=batch_size,
                    scheduler=scheduler, eval_every=eval_every, seed=seed,
                    search_batch=search_batch)
    record = {"model": model_name, "dataset": dataset.name, "optimizer": optimizer_name,
              "seed": seed, **{k: v for k, v in history.final().items() if k != "step"}}
    return record, history


#: The final metrics of a run's record that :func:`tune_lr` can rank by.
METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")

#: What a configuration of :func:`run_grid` may set (the rest of :func:`run_classifier`'s).
_CONFIG_KEYS = ("optimizer", "optimizer_kwargs", "schedule", "search_batch", "model_kwargs",
                "batch_size", "eval_every")


@dataclasses.dataclass(frozen=True)
class Runs:
    """Tidy results of :func:`run_grid`.

    Attributes:
        records: one row per run: the run's labels and :func:`run_classifier`'s record.
        evals: one row per run and evaluation (``History.evals_frame``).
        steps: one row per run and optimizer step (``History.steps_frame``, with the
            optimizer's diagnostics).

    Every row carries the labels ``config`` (the configuration's name), ``model``,
    ``optimizer`` and ``seed``.
    """

    records: pd.DataFrame
    evals: pd.DataFrame
    steps: pd.DataFrame


def run_grid(
    model_name: str,
    dataset: ClassificationData,
    configs: Mapping[str, Mapping[str, Any]],
    seeds: Iterable[int],
    *,
    steps: int,
    **shared: Any,
) -> Runs:
    """Train every named configuration from every seed with :func:`run_classifier`.

    ``configs`` maps a name to the keyword arguments that set this configuration apart:
    ``optimizer`` (a name in :data:`OPTIMIZERS`; default: the configuration's name),
    ``optimizer_kwargs``, ``schedule``, ``search_batch``, ``model_kwargs``, ``batch_size``,
    ``eval_every``. ``shared`` holds those common to all (a configuration's own win).
    Configurations run in order, each over all ``seeds``. Everything is checked before the
    first run.
    """
    seeds = list(seeds)
    if not configs:
        raise ValueError("Invalid configs value: {} (give at least one configuration)")
    if not seeds:
        raise ValueError("Invalid seeds value: [] (give at least one seed)")
    check_int_at_least("steps", steps, 1)
    unknown = set(shared).union(*map(set, configs.values())) - set(_CONFIG_KEYS)
    if unknown:
        raise TypeError(f"run_grid got unexpected keyword(s) {sorted(unknown)}; a configuration "
                        f"sets {list(_CONFIG_KEYS)}")
    merged = {name: {**shared, **config} for name, config in configs.items()}
    for name, kwargs in merged.items():
        check_choice("optimizer", kwargs.get("optimizer", name), tuple(OPTIMIZERS))
    records, evals, step_frames = [], [], []
    for name, kwargs in merged.items():
        optimizer_name = kwargs.pop("optimizer", name)
        for seed in seeds:
            record, history = run_classifier(model_name, dataset, optimizer_name, steps=steps,
                                             seed=seed, **kwargs)
            labels = {"config": name, "model": model_name, "optimizer": optimizer_name,
                      "seed": seed}
            records.append({**labels, **record})
            evals.append(history.evals_frame().assign(**labels))
            step_frames.append(history.steps_frame().assign(**labels))
    return Runs(pd.DataFrame(records), pd.concat(evals, ignore_index=True),
                pd.concat(step_frames, ignore_index=True))


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
