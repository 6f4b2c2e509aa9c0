r"""The continuation task: any :class:`~deepoptim.train.Task`, trained while :math:`\lambda` moves.

Parameter continuation (Pathak 2024, Part IV; Pathak & Paffenroth, ICMLA 2019) trains a family
of problems :math:`\min_\theta L(\theta; \lambda)` from an easy one (:math:`\lambda_0 \approx 0`,
an affine network, see :mod:`~deepoptim.continuation.activations`) to the one of interest
(:math:`\lambda = 1`), following the path of minimisers :math:`\theta^*(\lambda)`: a *corrector*
(the ordinary optimizer, any ``torch.optim.Optimizer``) trains at a fixed :math:`\lambda`, and
between corrector steps a *predictor* moves :math:`\lambda` (and may move :math:`\theta` along
the path). After :math:`\lambda` reaches 1, training is ordinary training at :math:`\lambda = 1`.

:class:`Continuation` is the part every method shares, as a :class:`~deepoptim.train.Task`
wrapping another, so the one loop :func:`deepoptim.train.fit` runs it (its ``step`` is the
task's outer-parameter hook): the wrapped task's batches, loss and evaluation (plus
``lambda``), the shared :class:`~deepoptim.continuation.Homotopy`, the records of every step
(``lambda``, the value the step was taken at, and ``delta_lambda``, the increment that
followed it), the optional reset of the optimizer's state at every increment (the reference
keeps it: Adam's moments run through the whole continuation), and the checkpoint state.
Subclasses (:class:`~deepoptim.continuation.NaturalContinuation`,
:class:`~deepoptim.continuation.LinearSchedule`,
:class:`~deepoptim.continuation.PseudoArclength`) define the steps taken while
:math:`\lambda < 1`.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from deepoptim.train import Task
from deepoptim.train.tasks import Batch

from .activations import Homotopy, check_lam

__all__ = ["Continuation", "parameters_of"]


def parameters_of(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The parameters ``optimizer`` trains, in the order of its groups."""
    return [p for group in optimizer.param_groups for p in group["params"]]


class Continuation(Task):
    r"""Train ``task`` while :math:`\lambda` (held by ``homotopy``) goes from ``lam0`` to 1.

    Args:
        task: the problem at each :math:`\lambda` (its loss must depend on :math:`\lambda`
            through ``homotopy``, e.g. a network converted by
            :func:`~deepoptim.continuation.homotopize`).
        homotopy: the holder of :math:`\lambda`; it is set to ``lam0`` here.
        lam0: the first :math:`\lambda`, in [0, 1].
        reset_state: clear the optimizer's state (``optimizer.state``) at every predictor
            step (every new problem), instead of keeping it across :math:`\lambda` steps.

    Every step records ``lambda`` (the :math:`\lambda` it was taken at) and
    ``delta_lambda`` (the change of :math:`\lambda` right after it) besides the wrapped
    task's records; every evaluation adds ``lambda``. Its :meth:`state_dict` (plain numbers,
    lists and tensors) with the model's and optimizer's resumes a run bit for bit.
    """

    def __init__(self, task: Task, homotopy: Homotopy, *, lam0: float,
                 reset_state: bool = False) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"task must be a Task, got {type(task).__name__}")
        if not isinstance(homotopy, Homotopy):
            raise TypeError(f"homotopy must be a Homotopy, got {type(homotopy).__name__}")
        if not isinstance(reset_state, bool):
            raise TypeError(f"reset_state must be a bool, got {type(reset_state).__name__}")
        self.lam0 = check_lam("lam0", lam0)
        self.task, self.homotopy, self.reset_state = task, homotopy, reset_state
        self.steps_taken = 0
        homotopy.lam = self.lam0

    # --- the wrapped task ------------------------------------------------------------------

    def batches(self, generator: torch.Generator) -> Iterator[Batch]:
        """The wrapped task's batches."""
        return self.task.batches(generator)

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The wrapped task's loss at the current :math:`\\lambda`."""
        return self.task.loss(model, batch)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """The wrapped task's metrics at the current :math:`\\lambda`, and ``lambda``."""
        return {**self.task.evaluate(model), "lambda": self.homotopy.lam}

    def to_device(self, batch: Batch, device: torch.device) -> Batch:
        """As the wrapped task moves its batches."""
        return self.task.to_device(batch, device)

    # --- the step ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether :math:`\\lambda` has reached 1: training is then ordinary training."""
        return self.homotopy.lam == 1.0

    def step(self, model: nn.Module, optimizer: Any, batch: Batch, search_batch: Batch | None
             ) -> dict[str, float]:
        """A continuation step while :math:`\\lambda < 1` (:meth:`continuation_step`), the
        wrapped task's step after; records ``lambda`` and ``delta_lambda``."""
        lam = self.homotopy.lam
        if lam == 1.0:
            records = self.task.step(model, optimizer, batch, search_batch)
        else:
            records = self.continuation_step(model, optimizer, batch, search_batch)
        self.steps_taken += 1
        return {**records, "lambda": lam, "delta_lambda": self.homotopy.lam - lam}

    def predict(self, optimizer: torch.optim.Optimizer, lam: float) -> None:
        r"""Move to the next problem, at ``lam``: set :math:`\lambda` (a predictor's move of
        the parameters is the caller's) and clear the optimizer's state if ``reset_state``."""
        self.homotopy.lam = lam
        if self.reset_state:
            optimizer.state.clear()

    @abc.abstractmethod
    def continuation_step(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                          batch: Batch, search_batch: Batch | None) -> dict[str, float]:
        """One step while :math:`\\lambda < 1`: a corrector step, and the predictor when it is
        due (:meth:`predict`); returns the step's records (its loss first).
        ``steps_taken`` counts the steps before this one."""

    # --- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """:math:`\\lambda`, the steps taken and the method's own state (:meth:`extra_state`)."""
        return {"lam": self.homotopy.lam, "steps_taken": self.steps_taken,
                **self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (a state with other keys is refused, before
        anything is restored)."""
        expected = set(self.state_dict())
        if set(state) != expected:
            raise ValueError(f"Invalid state value: keys {sorted(state)} (expected "
                             f"{sorted(expected)}, a {type(self).__name__}'s)")
        state = dict(state)
        self.homotopy.lam = state.pop("lam")
        self.steps_taken = state.pop("steps_taken")
        self.load_extra_state(state)

    def extra_state(self) -> dict[str, Any]:
        """The method's own state (default: none)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`extra_state` (its keys are checked)."""
