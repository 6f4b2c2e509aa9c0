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
  :func:`concat_runs` joins several, and :func:`with_step_means` adds the mean of per-step
  diagnostics (forward passes, failed searches) to each run's record;
* :func:`tune_lr`: the best step size of each baseline from a small sweep, and
  :func:`at_grid_edge`: which of them lie at the edge of the sweep's grid;
* :func:`setup_comparison`: Part I's comparison of the line-search chapters, three
  :class:`Problem` s at a profile's budget with SGD and Adam tuned on the MLP
  (:class:`Comparison`).

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

from . import data, models, optim
from ._checks import check_choice, check_int_at_least
from .data import ClassificationData
from .experiment import Experiment, get_profile, seed_everything, summarize
from .train import History, train

__all__ = [
    "BASELINES",
    "COMPARISON_LR_GRID",
    "METRICS",
    "OPTIMIZERS",
    "RUN_KEYS",
    "SCHEDULES",
    "Comparison",
    "OptimizerChoice",
    "Problem",
    "Runs",
    "at_grid_edge",
    "concat_runs",
    "make_optimizer",
    "make_schedule",
    "run_classifier",
    "run_grid",
    "setup_comparison",
    "tune_lr",
    "with_step_means",
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

    def assign(self, **labels: Any) -> Runs:
        """The same runs with more labels, a constant column each in every frame."""
        return Runs(*(frame.assign(**labels) for frame in (self.records, self.evals, self.steps)))


#: The labels that identify a run of :func:`run_grid` (its records hold one row per run).
RUN_KEYS = ("model", "config", "seed")


def concat_runs(runs: Iterable[Runs]) -> Runs:
    """One :class:`Runs` of several: each frame concatenated in order, with a fresh index."""
    runs = list(runs)
    if not runs:
        raise ValueError("Invalid runs value: [] (give at least one Runs)")
    frames = [(r.records, r.evals, r.steps) for r in runs]
    return Runs(*(pd.concat(parts, ignore_index=True) for parts in zip(*frames, strict=True)))


def with_step_means(runs: Runs, columns: Mapping[str, float | None], *,
                    keys: Sequence[str] = RUN_KEYS) -> pd.DataFrame:
    """The records of ``runs`` with the mean over each run's steps of per-step columns.

    ``columns`` maps a column of ``runs.steps`` (a diagnostic such as ``loss_evals`` or
    ``failed``) to the value its mean takes for a run that never reports it, or to None to
    leave NaN there: PyTorch's own optimizers report no diagnostics, and a column no run
    reports is the fill value throughout. A run is the group of rows sharing ``keys``
    (columns of both records and steps that identify each record; add e.g. ``"problem"``
    where the runs are labelled by it). Returns the records in their order, each followed
    by one column per name in ``columns``.
    """
    keys = list(keys)
    if not columns:
        raise ValueError("Invalid columns value: {} (name at least one per-step column)")
    for name, frame in (("records", runs.records), ("steps", runs.steps)):
        absent = [key for key in keys if key not in frame.columns]
        if absent:
            raise ValueError(f"Invalid keys value: {absent} not in the {name} "
                             f"{list(frame.columns)}")
    taken = [column for column in columns if column in runs.records.columns]
    if taken:
        raise ValueError(f"Invalid columns value: {taken} (already columns of the records)")
    if runs.records.duplicated(keys).any():
        raise ValueError(f"Invalid keys value: {keys} (several records share them; add the "
                         "label that tells the runs apart)")
    steps = runs.steps.reindex(columns=[*keys, *columns])
    means = steps.groupby(keys, sort=False)[list(columns)].mean().reset_index()
    fills = {column: fill for column, fill in columns.items() if fill is not None}
    return runs.records.merge(means, on=keys, how="left").fillna(fills)


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


def at_grid_edge(best: Mapping[str, float], grid: Mapping[str, Sequence[float]]) -> list[str]:
    """The names whose best step size (of :func:`tune_lr`) is the smallest or largest of its grid.

    There the sweep does not bracket the optimum: it may lie outside the grid.
    """
    missing = [name for name in best if name not in grid or not len(grid[name])]
    if missing:
        raise ValueError(f"Invalid grid value: {dict(grid)!r} (no step sizes for {missing})")
    return [name for name, lr in best.items() if lr in (min(grid[name]), max(grid[name]))]


@dataclasses.dataclass(frozen=True)
class Problem:
    """A problem of a comparison: a model trained on a data set for a fixed budget.

    Attributes:
        model: a name for :func:`deepoptim.models.build_model`.
        dataset: the data it trains on.
        batch_size: examples per mini-batch.
        steps: optimizer steps of every run.
        eval_every: steps between two evaluations on the full training and test sets.
    """

    model: str
    dataset: ClassificationData
    batch_size: int
    steps: int
    eval_every: int

    def run(self, configs: Mapping[str, Mapping[str, Any]], seeds: Iterable[int]) -> Runs:
        """Every configuration over ``seeds`` on this problem (:func:`run_grid`)."""
        return run_grid(self.model, self.dataset, configs, seeds, steps=self.steps,
                        batch_size=self.batch_size, eval_every=self.eval_every)


#: Part I's comparison problems: model, data set (a loader of :mod:`deepoptim.data`), batch
#: size, and optimizer steps per profile (the ``full`` profile is the MNIST-1D protocol's 6000).
_COMPARISON_PROBLEMS: dict[str, tuple[str, str, int, dict[str, int]]] = {
    "MNIST-1D MLP": ("mlp", "mnist1d", 100, {"smoke": 12, "quick": 400, "full": 6000}),
    "MNIST-1D CNN": ("cnn1d", "mnist1d", 100, {"smoke": 12, "quick": 250, "full": 6000}),
    "digits CNN": ("digits_cnn", "digits", 64, {"smoke": 12, "quick": 150, "full": 3000}),
}
#: The problem the baselines are tuned on.
_TUNED_ON = "MNIST-1D MLP"
#: Evaluations per run on the full training and test sets, per profile.
_COMPARISON_EVALUATIONS = {"smoke": 2, "quick": 6, "full": 24}
#: How many of the comparison's seeds the step-size sweep uses, per profile.
_SWEEP_SEEDS = {"smoke": 1, "quick": 1, "full": 3}
#: The peak step sizes of the baselines' sweep in Part I's comparison.
COMPARISON_LR_GRID: dict[str, tuple[float, ...]] = {"SGD": (0.1, 0.3, 1.0),
                                                    "Adam": (1e-2, 3e-2, 1e-1)}


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Part I's comparison at one profile, as the SaLSa and PLASLS chapters run it.

    Attributes:
        profile: the profile that sets the budgets (its name).
        problems: title -> :class:`Problem`: the MNIST-1D MLP and CNN (batch 100) and the
            digits CNN (batch 64).
        seeds: the seeds every configuration runs over.
        sweep_seeds: the first of them, which the step-size sweep uses.
        best_lr: the peak step size of SGD and Adam with the lowest mean final training
            loss on the MLP, from :data:`COMPARISON_LR_GRID`.
        sweep: the sweep's table (:func:`tune_lr`).
    """

    profile: str
    problems: dict[str, Problem]
    seeds: list[int]
    sweep_seeds: list[int]
    best_lr: dict[str, float]
    sweep: pd.DataFrame

    def baseline_configs(self) -> dict[str, dict[str, Any]]:
        """:func:`run_grid` configurations of the tuned baselines, with the warm-up cosine."""
        return {name: {"optimizer_kwargs": {"lr": lr}, "schedule": "warmup_cosine"}
                for name, lr in self.best_lr.items()}

    def run(self, problem: str, configs: Mapping[str, Mapping[str, Any]],
            seeds: Iterable[int] | None = None) -> Runs:
        """Every configuration on one problem over ``seeds`` (default: :attr:`seeds`).

        Every row is labelled with the problem's title in a column ``problem``.
        """
        check_choice("problem", problem, tuple(self.problems))
        chosen = self.seeds if seeds is None else seeds
        return self.problems[problem].run(configs, chosen).assign(problem=problem)

    def glue_values(self) -> dict[str, Any]:
        """The facts of the set-up that the chapters glue into their prose, by glue key.

        ``profile``; ``full_steps_mnist`` and ``full_steps_digits``, the MNIST-1D and digits
        budgets of the ``full`` profile, and ``full_seeds``, its number of seeds;
        ``best_lr_<name>`` per baseline; ``sweep_seeds``, their number; and
        ``bracket_verdict``, a sentence on whether the grid brackets each best step size.
        """
        edges = at_grid_edge(self.best_lr, COMPARISON_LR_GRID)
        verdict = ("Both lie inside their grids, so the optimum is bracketed" if not edges else
                   f"The best step size of {', '.join(edges)} lies at the edge of its grid, "
                   "so the optimum may lie outside it")
        return {"profile": self.profile,
                "full_steps_mnist": _COMPARISON_PROBLEMS["MNIST-1D MLP"][3]["full"],
                "full_steps_digits": _COMPARISON_PROBLEMS["digits CNN"][3]["full"],
                "full_seeds": get_profile("full").n_seeds,
                **{f"best_lr_{name}": float(lr) for name, lr in self.best_lr.items()},
                "bracket_verdict": verdict,
                "sweep_seeds": len(self.sweep_seeds)}


def setup_comparison(experiment: Experiment) -> Comparison:
    """Part I's comparison at the experiment's profile, seeds and device; tunes the baselines.

    Loads the data sets onto the device and sets the budgets of the profile: the MLP trains
    for 12 (smoke), 400 (quick) or 6000 (full) steps, the MNIST-1D CNN for 12, 250 or 6000,
    the digits CNN for 12, 150 or 3000; each run is evaluated 2, 6 or 24 times. Then it
    sweeps the peak step size of SGD (momentum 0.9) and Adam over :data:`COMPARISON_LR_GRID`
    on the MLP with the warm-up cosine schedule, over the first 1, 1 or 3 seeds, and keeps
    the one with the lowest mean final training loss (:func:`tune_lr`): this trains.
    """
    profile = experiment.profile
    loaded = {loader: getattr(data, loader)(device=experiment.device)
              for loader in ("mnist1d", "digits")}
    evaluations = profile.pick(**_COMPARISON_EVALUATIONS)
    problems = {}
    for title, (model, loader, batch_size, steps) in _COMPARISON_PROBLEMS.items():
        budget = profile.pick(**steps)
        problems[title] = Problem(model, loaded[loader], batch_size, budget,
                                  max(1, budget // evaluations))
    seeds = experiment.seeds()
    sweep_seeds = seeds[:profile.pick(**_SWEEP_SEEDS)]
    tuned = problems[_TUNED_ON]
    best_lr, sweep = tune_lr(tuned.model, tuned.dataset, COMPARISON_LR_GRID, sweep_seeds,
                             steps=tuned.steps, batch_size=tuned.batch_size,
                             schedule="warmup_cosine")
    return Comparison(profile.name, problems, seeds, sweep_seeds, best_lr, sweep)
