"""One training loop for every chapter.

:func:`train` runs any ``torch.optim.Optimizer`` (ours or PyTorch's) on a
:class:`~deepoptim.data.ClassificationData` with mini-batches or the full batch, always
through a closure, so optimizers that re-evaluate the loss (line searches) and those that
do not share one code path. It records a :class:`History`: per step the mini-batch loss,
the learning rate, the wall time and the diagnostics the optimizer keeps in
``optimizer.state[deepoptim.optim.DIAGNOSTICS]`` (see :func:`optimizer_diagnostics`); per
evaluation the loss and accuracy on the whole training and test sets.

:func:`minimize` is the same idea for a toy objective of one parameter tensor (a
quadratic, Rosenbrock): it returns the trajectory, so chapters can compare with the known
optimum.

Closures follow the package convention (``deepoptim.optim._base``): with grad mode
enabled they zero the gradients, back-propagate and return the loss; with grad mode
disabled they only return the loss.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from ._checks import check_choice, check_int_at_least
from .data import ClassificationData
from .optim import DIAGNOSTICS

__all__ = [
    "History",
    "closure_of",
    "evaluate",
    "make_closure",
    "minibatches",
    "minimize",
    "optimizer_diagnostics",
    "train",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: Offset of the seed of the independent search-batch stream (``search_batch="independent"``).
#: Not a multiple of 2**32: torch's CPU generator keeps only the low 32 bits of a seed, so
#: an offset of 2**32 gave the search stream exactly the gradient's batches.
_SEARCH_SEED_OFFSET = 2**31 + 12345


@dataclasses.dataclass
class History:
    """What a training run recorded.

    Attributes:
        steps: one dict per optimizer step: ``step``, ``loss`` (the mini-batch loss the
            closure returned first), ``lr`` (of the first parameter group), ``time``
            (seconds of training so far, evaluations excluded) and the optimizer's
            diagnostics.
        evals: one dict per evaluation: ``step``, ``time``, ``train_loss``,
            ``train_acc``, ``test_loss``, ``test_acc``.
        diverged: True when a loss became non-finite and training stopped early.
    """

    steps: list[dict[str, float]] = dataclasses.field(default_factory=list)
    evals: list[dict[str, float]] = dataclasses.field(default_factory=list)
    diverged: bool = False

    def steps_frame(self) -> pd.DataFrame:
        """The per-step records as a data frame."""
        return pd.DataFrame(self.steps)

    def evals_frame(self) -> pd.DataFrame:
        """The per-evaluation records as a data frame."""
        return pd.DataFrame(self.evals)

    def final(self) -> dict[str, float]:
        """The last evaluation, plus the total training time and whether it diverged."""
        if not self.evals:
            raise ValueError("the history holds no evaluation")
        return {**self.evals[-1], "diverged": self.diverged}


def closure_of(loss_of: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer
               ) -> Callable[[], torch.Tensor]:
    """Wrap a loss evaluation into a closure that follows the package convention."""

    def closure() -> torch.Tensor:
        loss = loss_of()
        if torch.is_grad_enabled():
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
        return loss

    return closure


def make_closure(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                 targets: torch.Tensor, optimizer: torch.optim.Optimizer
                 ) -> Callable[[], torch.Tensor]:
    """The closure of one step on one batch: ``loss_fn(model(inputs), targets)``."""
    return closure_of(lambda: loss_fn(model(inputs), targets), optimizer)


def minibatches(num_samples: int, batch_size: int | None, generator: torch.Generator
                ) -> Iterator[torch.Tensor]:
    """Endless index batches: a fresh permutation per epoch, the last partial batch dropped.

    ``batch_size=None`` (or at least ``num_samples``) gives the full batch every step.
    """
    if batch_size is None or batch_size >= num_samples:
        full = torch.arange(num_samples)
        while True:
            yield full
    while True:
        order = torch.randperm(num_samples, generator=generator)
        for start in range(0, num_samples - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


@torch.no_grad()
def evaluate(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
             loss_fn: LossFn = F.cross_entropy, batch_size: int = 1024) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on a data set, in eval mode (mode restored after)."""
    was_training = model.training
    model.eval()
    try:
        total_loss, correct = 0.0, 0
        for start in range(0, len(inputs), batch_size):
            x, y = inputs[start:start + batch_size], targets[start:start + batch_size]
            logits = model(x)
            total_loss += float(loss_fn(logits, y)) * len(x)
            correct += int((logits.argmax(dim=-1) == y).sum())
    finally:
        model.train(was_training)
    return total_loss / len(inputs), correct / len(inputs)


def optimizer_diagnostics(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """The optimizer's diagnostics as flat numbers.

    Optimizers of this package keep their diagnostics (accepted step size, loss
    evaluations, failure flags, ...) in ``optimizer.state["diagnostics"]``, a dict of
    Python numbers or tensors. Scalars become one column; a 1-D tensor (one entry per
    parameter group or layer) becomes columns ``name[0]``, ``name[1]``, .... Optimizers
    without diagnostics (PyTorch's own) give an empty dict.
    """
    diagnostics = optimizer.state.get(DIAGNOSTICS, {})
    flat: dict[str, float] = {}
    for name, value in diagnostics.items():
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            flat.update({f"{name}[{i}]": float(v) for i, v in enumerate(value.flatten())})
        else:
            flat[name] = float(value)
    return flat


def _progress_enabled(progress: bool | None) -> bool:
    """Progress bars show unless disabled, or ``DEEPOPTIM_PROGRESS=0`` (set by the book)."""
    if progress is not None:
        return progress
    return os.environ.get("DEEPOPTIM_PROGRESS", "1") != "0"


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
    callback: Callable[[int, nn.Module, torch.optim.Optimizer], None] | None = None,
) -> History:
    """Train ``model`` for ``steps`` optimizer steps and return its :class:`History`.

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
    check_int_at_least("steps", steps, 1)
    if batch_size is not None:
        check_int_at_least("batch_size", batch_size, 1)
    if eval_every is not None:
        check_int_at_least("eval_every", eval_every, 1)
    check_choice("search_batch", search_batch, ("same", "independent"))
    if search_batch == "independent" and (batch_size is None or batch_size >= data.num_train):
        raise ValueError("Invalid search_batch value: 'independent' (needs mini-batches "
                         f"smaller than the {data.num_train} training samples)")
    eval_every = eval_every or steps
    generator = torch.Generator().manual_seed(seed)
    batches = minibatches(data.num_train, batch_size, generator)
    search_batches = None
    if search_batch == "independent":
        search_seed = (seed + _SEARCH_SEED_OFFSET) % 2**32
        search_batches = minibatches(data.num_train, batch_size,
                                     torch.Generator().manual_seed(search_seed))
    history = History()

    def record_evaluation(step: int, elapsed: float) -> None:
        train_loss, train_acc = evaluate(model, data.x_train, data.y_train, loss_fn)
        test_loss, test_acc = evaluate(model, data.x_test, data.y_test, loss_fn)
        history.evals.append(dict(step=step, time=elapsed, train_loss=train_loss,
                                  train_acc=train_acc, test_loss=test_loss, test_acc=test_acc))

    model.train()
    record_evaluation(0, 0.0)
    if callback is not None:
        callback(0, model, optimizer)
    elapsed = 0.0
    bar = _progress_bar(steps, _progress_enabled(progress))
    for step in range(1, steps + 1):
        started = time.perf_counter()
        index = next(batches).to(data.x_train.device)
        closure = make_closure(model, loss_fn, data.x_train[index], data.y_train[index], optimizer)
        if search_batches is None:
            loss = _as_float(optimizer.step(closure))
        else:
            other = next(search_batches).to(data.x_train.device)
            search_closure = make_closure(model, loss_fn, data.x_train[other],
                                          data.y_train[other], optimizer)
            loss = _as_float(optimizer.step(closure, search_closure=search_closure))
        if scheduler is not None:
            scheduler.step()
        elapsed += time.perf_counter() - started
        history.steps.append(dict(step=step, loss=loss, lr=optimizer.param_groups[0]["lr"],
                                  time=elapsed, **optimizer_diagnostics(optimizer)))
        bar.update(1)
        if not math.isfinite(loss):
            history.diverged = True
            record_evaluation(step, elapsed)
            break
        if step % eval_every == 0 or step == steps:
            record_evaluation(step, elapsed)
            bar.set_postfix(test_acc=f"{history.evals[-1]['test_acc']:.3f}")
        if callback is not None:
            callback(step, model, optimizer)
    bar.close()
    return history


def _as_float(loss: torch.Tensor | float) -> float:
    """The loss an optimizer's ``step`` returned, as a Python float (no autograd warning)."""
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)


def _progress_bar(total: int, enabled: bool):
    """A tqdm bar (notebook widget or text), or a silent stand-in."""
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, leave=False)


def minimize(
    objective: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise ``objective`` over one tensor from ``x0``; return the path and its values.

    Returns ``(path, values)`` with ``path[t]`` the iterate after ``t`` steps (``path[0]``
    is ``x0``) and ``values[t] = objective(path[t])``.
    """
    check_int_at_least("steps", steps, 1)
    x = x0.detach().clone().requires_grad_(True)
    optimizer = make_optimizer([x])
    closure = closure_of(lambda: objective(x), optimizer)
    path = [x.detach().clone()]
    for _ in range(steps):
        optimizer.step(closure)
        path.append(x.detach().clone())
    trajectory = torch.stack(path)
    with torch.no_grad():
        values = torch.stack([objective(p) for p in trajectory])
    return trajectory, values
