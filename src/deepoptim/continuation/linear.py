r"""A linear :math:`\lambda` schedule: the curriculum baseline of continuation (Pathak 2024,
Part IV).

After corrector step :math:`t` (the wrapped task's own step),

.. math:: \lambda_t = \lambda_0 + (1 - \lambda_0)\,\frac{t}{T} \quad (t < T), \qquad
          \lambda_t = 1 \quad (t \ge T),

computed from :math:`t` (no accumulated rounding; it reaches 1 exactly at step :math:`T`), with
no predictor: the parameters are not moved.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_int_at_least
from deepoptim.train import Task
from deepoptim.train.tasks import Batch

from .activations import Homotopy
from .base import Continuation

__all__ = ["LinearSchedule"]


class LinearSchedule(Continuation):
    r""":math:`\lambda` from ``lam0`` to 1 linearly in ``steps`` corrector steps, then 1.

    Args:
        task: the problem (its loss depends on :math:`\lambda` through ``homotopy``).
        homotopy: the holder of :math:`\lambda` (set to ``lam0``).
        steps: the step :math:`T` after which :math:`\lambda = 1`.
        lam0: :math:`\lambda` during the first step.
        reset_state: clear the optimizer's state at every :math:`\lambda` step (every step).
    """

    def __init__(self, task: Task, homotopy: Homotopy, steps: int, *, lam0: float = 0.0,
                 reset_state: bool = False) -> None:
        check_int_at_least("steps", steps, 1)
        super().__init__(task, homotopy, lam0=lam0, reset_state=reset_state)
        self.steps = steps

    def continuation_step(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                          batch: Batch, search_batch: Batch | None) -> dict[str, Any]:
        """The wrapped task's step, then :math:`\\lambda_t`."""
        records = self.task.step(model, optimizer, batch, search_batch)
        t = self.steps_taken + 1
        self.predict(optimizer, 1.0 if t >= self.steps
                     else min(1.0, self.lam0 + (1.0 - self.lam0) * t / self.steps))
        return records
