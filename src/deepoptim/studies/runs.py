"""Seeded training runs of the book's optimizers, and grids of them as tidy frames.

* :func:`run_classifier`: one seeded training run of a model of
  :func:`deepoptim.models.build_model` on a classification data set with an optimizer of
  :data:`deepoptim.registry.OPTIMIZERS` or :data:`~deepoptim.registry.PEERS`, returning a
  flat result record and the full :class:`~deepoptim.train.History`;
* :func:`run_grid`: named configurations times seeds, as tidy frames (:class:`Runs`) ready for
  :func:`deepoptim.plotting.mean_band` and :func:`deepoptim.experiment.summarize`;
  :func:`concat_runs` joins several, and :func:`with_step_means` adds the mean of per-step
  diagnostics (forward passes, failed searches) to each run's record.

The MNIST-1D protocol of Greydanus (2020) is batch 100, constant step size, 6000 steps, no
weight decay; the chapters' ``full`` profile uses it, smaller profiles shorten the run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .. import models
from .._checks import check_choice, check_int_at_least
from ..data import ClassificationData
from ..experiment import seed_everything
from ..registry import OPTIMIZERS, PEERS, make_optimizer
from ..schedules import SCHEDULES, make_schedule
from ..train import History, train

__all__ = [
    "METRICS",
    "RUN_KEYS",
    "Runs",
    "concat_runs",
    "run_classifier",
    "run_grid",
    "with_step_means",
]


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
    """Train one model with an optimizer of the registry from a seeded initialisation.

    Everything is seeded from ``seed`` (initialisation and batch order), and the model is
    created on the data's device. ``optimizer_name`` is a name in
    :data:`deepoptim.registry.OPTIMIZERS` or :data:`~deepoptim.registry.PEERS`, built by
    :func:`~deepoptim.registry.make_optimizer` with ``optimizer_kwargs``. ``schedule`` is
    one of :data:`deepoptim.schedules.SCHEDULES`, stepped once per optimizer step;
    ``search_batch`` is passed to :func:`deepoptim.train.train` (line searches only). Returns
    ``(record, history)`` where ``record`` holds the configuration and the final
    ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``, ``time`` (seconds of training)
    and ``diverged``.
    """
    check_choice("optimizer", optimizer_name, (*OPTIMIZERS, *PEERS))
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
    ``optimizer`` (a name in :data:`deepoptim.registry.OPTIMIZERS` or ``PEERS``; default: the
    configuration's name), ``optimizer_kwargs``, ``schedule``, ``search_batch``,
    ``model_kwargs``, ``batch_size``, ``eval_every``. ``shared`` holds those common to all
    (a configuration's own win). Configurations run in order, each over all ``seeds``.
    Everything is checked before the first run.
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
        check_choice("optimizer", kwargs.get("optimizer", name), (*OPTIMIZERS, *PEERS))
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
