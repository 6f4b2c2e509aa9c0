"""The training loop: :func:`fit` trains on any :class:`~deepoptim.train.Task`.

Per step :func:`fit` draws the task's next batch from a seeded stream, moves it to the
model's device and lets the task take its step (by default one closure-driven step of the
optimizer, so line searches and plain methods share one code path), then steps the
learning-rate scheduler and records the step (:class:`~deepoptim.train.History`); every
``eval_every`` steps, and at the first and last, it records the task's evaluation. A
non-finite loss stops the run. :func:`train` is the book's classification run on a
:class:`~deepoptim.data.ClassificationData`, the loop with a
:class:`~deepoptim.train.ClassificationTask`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least
from deepoptim.data import ClassificationData

from .closures import LossFn
from .history import History, optimizer_diagnostics
from .tasks import Batch, ClassificationTask, Task

__all__ = ["fit", "train"]

Optimizers = torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer]
"""One optimizer, or several by name (the players of a task that overrides ``Task.step``)."""

Callback = Callable[[int, nn.Module, Any], None]
"""``callback(step, model, optimizer)``, called at step 0 and after every step."""

#: Offset of the seed of the independent search-batch stream (``search_batch="independent"``).
#: Not a multiple of 2**32: torch's CPU generator keeps only the low 32 bits of a seed, so
#: an offset of 2**32 gave the search stream exactly the gradient's batches.
_SEARCH_SEED_OFFSET = 2**31 + 12345


def fit(
    task: Task,
    model: nn.Module,
    optimizer: Optimizers,
    *,
    steps: int,
    seed: int = 0,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    eval_every: int | None = None,
    search_batch: str = "same",
    callback: Callback | None = None,
    progress: bool | None = None,
    history: History | None = None,
) -> History:
    """Train ``model`` on ``task`` until step ``steps``; return its :class:`History`.

    Args:
        task: the batches, the loss, the evaluation and the step (:class:`Task`).
        model: the network (for several players, one module holding them all); batches
            move to the device of its first parameter.
        optimizer: any ``torch.optim.Optimizer``, whose ``step`` always receives a closure;
            or a dict of optimizers by name for a task whose ``step`` drives several.
        steps: the number of the last step.
        seed: seeds the batch stream (the model's initialisation is the caller's).
        scheduler: stepped once after every step (give it a per-step schedule).
        eval_every: steps between evaluations; the last step is always evaluated, and so
            is step 0 (before training).
        search_batch: for line searches, the batch their trial points are evaluated on:
            ``"same"`` (the gradient's batch) or ``"independent"`` (the task's step gets
            a second batch, from a second stream seeded from ``seed`` but independent of
            the first; the gradient batches are those of ``"same"``).
        callback: called as ``callback(step, model, optimizer)`` before training (step 0,
            not when resuming) and after every step and its evaluation, e.g. to analyse
            checkpoints; its time is not counted. It must leave the model's parameters and
            mode as it found them.
        progress: show a progress bar; default: on, unless ``DEEPOPTIM_PROGRESS=0``.
        history: the history of this run's first steps, to resume it: after restoring the
            model, optimizer, scheduler and task state saved with it (and the global RNG
            state, if the model draws from it), training continues after its last step,
            with the batches that step would have been followed by (the streams are
            replayed), and its records are extended (a new :class:`History` is returned).
            The records then equal those of an uninterrupted run, but for the evaluation
            at the end of the first part.
    """
    start = _check_fit_arguments(task, model, optimizer, steps, eval_every, search_batch,
                                 history)
    eval_every = eval_every or steps
    batches, search_batches = _batch_streams(task, seed, search_batch, start)
    device = _device_of(model)
    record = History() if history is None else History(list(history.steps),
                                                       list(history.evals))

    def record_evaluation(step: int, elapsed: float) -> None:
        record.evals.append({"step": step, "time": elapsed, **task.evaluate(model)})

    model.train()
    if start == 0:
        record_evaluation(0, 0.0)
        if callback is not None:
            callback(0, model, optimizer)
    elapsed = 0.0 if history is None else history.steps[-1]["time"]
    bar = _progress_bar(steps, start, _progress_enabled(progress))
    for step in range(start + 1, steps + 1):
        started = time.perf_counter()
        batch = _next_batch(task, batches, device)
        search = None if search_batches is None else _next_batch(task, search_batches, device)
        records = task.step(model, optimizer, batch, search)
        if scheduler is not None:
            scheduler.step()
        elapsed += time.perf_counter() - started
        record.steps.append(_step_record(step, records, optimizer, elapsed))
        bar.update(1)
        if any(_is_loss(name) and not math.isfinite(value) for name, value in records.items()):
            record.diverged = True
            record_evaluation(step, elapsed)
            break
        if step % eval_every == 0 or step == steps:
            record_evaluation(step, elapsed)
            bar.set_postfix({name: f"{value:.3g}" for name, value in record.evals[-1].items()
                             if name not in ("step", "time")})
        if callback is not None:
            callback(step, model, optimizer)
    bar.close()
    return record


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: ClassificationData,
    *,
    steps: int,
    batch_size: int | None = 100,
    loss_fn: LossFn = F.cross_entropy,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    eval_every: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
    search_batch: str = "same",
    callback: Callback | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimizer steps and return its :class:`History`.

    :func:`fit` on ``ClassificationTask(data, batch_size, loss_fn)``.

    Args:
        model: the network, already on the data's device.
        optimizer: any ``torch.optim.Optimizer``; ``step`` always receives a closure.
        data: training and test tensors.
        steps: number of optimizer steps.
        batch_size: mini-batch size, or ``None`` for full-batch training.
        loss_fn: ``loss_fn(logits, targets)`` returning a scalar.
        scheduler: stepped once after every optimizer step (give it a per-step schedule).
        eval_every: steps between evaluations on the full training and test sets; the
            last step is always evaluated, and so is step 0 (before training).
        seed: seeds the batch order (the model's initialisation is the caller's).
        progress: show a progress bar; default: on, unless ``DEEPOPTIM_PROGRESS=0``.
        search_batch: for line searches, the mini-batch their trial points are evaluated
            on: ``"same"`` (the gradient's batch: ``optimizer.step(closure)``) or
            ``"independent"`` (``optimizer.step(closure, search_closure=...)`` with a batch
            from a second batch stream, seeded from ``seed`` but independent of the first;
            the gradient batches are those of ``"same"``). Needs mini-batches.
        callback: called as ``callback(step, model, optimizer)`` before training (step 0)
            and after every optimizer step and its evaluation, e.g. to analyse checkpoints;
            its time is not counted. It must leave the model's parameters and mode as it
            found them.
    """
    task = ClassificationTask(data, batch_size, loss_fn)
    if search_batch == "independent" and task.full_batch:
        raise ValueError("Invalid search_batch value: 'independent' (needs mini-batches "
                         f"smaller than the {data.num_train} training samples)")
    return fit(task, model, optimizer, steps=steps, seed=seed, scheduler=scheduler,
               eval_every=eval_every, search_batch=search_batch, callback=callback,
               progress=progress)


def _check_fit_arguments(task: Task, model: nn.Module, optimizer: Optimizers, steps: int,
                         eval_every: int | None, search_batch: str,
                         history: History | None) -> int:
    """Reject bad arguments of :func:`fit` before any work; return the step to start after."""
    if not isinstance(task, Task):
        raise TypeError(f"task must be a Task, got {type(task).__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(optimizer, Mapping):
        if not optimizer:
            raise ValueError("Invalid optimizer value: {} (expected one optimizer by name "
                             "or more)")
        for name, player in optimizer.items():
            if not isinstance(name, str) or not isinstance(player, torch.optim.Optimizer):
                raise TypeError(f"optimizer[{name!r}] must be a torch.optim.Optimizer, got "
                                f"{type(player).__name__}")
        if type(task).step is Task.step:
            raise TypeError(f"optimizer must be a torch.optim.Optimizer for a task without "
                            f"its own step, got {type(optimizer).__name__}")
    elif not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError("optimizer must be a torch.optim.Optimizer or a dict of them, got "
                        f"{type(optimizer).__name__}")
    check_int_at_least("steps", steps, 1)
    if eval_every is not None:
        check_int_at_least("eval_every", eval_every, 1)
    check_choice("search_batch", search_batch, ("same", "independent"))
    if history is None:
        return 0
    if not isinstance(history, History):
        raise TypeError(f"history must be a History, got {type(history).__name__}")
    if history.diverged or not history.steps:
        raise ValueError(f"Invalid history value: {len(history.steps)} steps, diverged="
                         f"{history.diverged} (expected the steps of a run to resume)")
    start = len(history.steps)
    if steps <= start:
        raise ValueError(f"Invalid steps value: {steps} (expected steps > {start}, "
                         "the steps the history holds)")
    return start


def _batch_streams(task: Task, seed: int, search_batch: str, start: int
                   ) -> tuple[Iterator[Batch], Iterator[Batch] | None]:
    """The gradient's batch stream and the search's (``None`` for ``"same"``), seeded from
    ``seed``, after the batches of the first ``start`` steps."""
    batches = task.batches(torch.Generator().manual_seed(seed))
    search_batches = None
    if search_batch == "independent":
        search_seed = (seed + _SEARCH_SEED_OFFSET) % 2**32
        search_batches = task.batches(torch.Generator().manual_seed(search_seed))
    for _ in range(start):
        next(batches)
        if search_batches is not None:
            next(search_batches)
    return batches, search_batches


def _is_loss(name: str) -> bool:
    """Whether a step record is a loss: it is named ``loss`` or ends in ``_loss``."""
    return name == "loss" or name.endswith("_loss")


def _device_of(model: nn.Module) -> torch.device | None:
    """The device of the model's first parameter (``None`` without parameters)."""
    parameter = next(model.parameters(), None)
    return None if parameter is None else parameter.device


def _next_batch(task: Task, batches: Iterator[Batch], device: torch.device | None) -> Batch:
    """The stream's next batch, on ``device`` (left where it is for ``None``)."""
    batch = next(batches)
    return batch if device is None else task.to_device(batch, device)


def _step_record(step: int, records: dict[str, float], optimizer: Optimizers,
                 elapsed: float) -> dict[str, float]:
    """One row of ``History.steps``: step, the task's records, lr(s), time, diagnostics."""
    players = {"": optimizer} if isinstance(optimizer, torch.optim.Optimizer) else optimizer
    lrs, diagnostics = {}, {}
    for name, player in players.items():
        prefix = f"{name}_" if name else ""
        lrs[f"{prefix}lr"] = player.param_groups[0]["lr"]
        diagnostics.update({f"{prefix}{key}": value
                            for key, value in optimizer_diagnostics(player).items()})
    return {"step": step, **records, **lrs, "time": elapsed, **diagnostics}


def _progress_enabled(progress: bool | None) -> bool:
    """Progress bars show unless disabled, or ``DEEPOPTIM_PROGRESS=0`` (set by the book)."""
    if progress is not None:
        return progress
    return os.environ.get("DEEPOPTIM_PROGRESS", "1") != "0"


def _progress_bar(total: int, initial: int, enabled: bool):
    """A tqdm bar (notebook widget or text) starting at ``initial``, or a silent stand-in."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, leave=False)
