r"""Per-step learning-rate schedules: the factor of every group's initial ``lr`` at each step.

With :math:`T` optimizer steps, the factor at step :math:`t` (counted from 0) is

* ``"constant"``: :math:`1`;
* ``"cosine"``: :math:`\tfrac12\,(1 + \cos(\pi t / T))`, from 1 down to 0 at step :math:`T`:
  the annealing of Loshchilov and Hutter (2017, SGDR) without restarts;
* ``"warmup_cosine"``: a linear warm-up :math:`(t + 1)/W` over the first
  :math:`W = \operatorname{round}(f\,T)` steps (``warmup_fraction`` :math:`f`, 10% by default),
  then the cosine over the remaining :math:`T - W` steps. The line-search papers pair it with
  their Adam and SGD baselines; the book's Part I tunes those baselines with it.

:func:`make_schedule` returns a ``torch.optim.lr_scheduler.LambdaLR``, stepped once per
optimizer step (``deepoptim.train.train(..., scheduler=...)`` does that).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ._checks import check_choice, check_in_range, check_int_at_least

__all__ = ["SCHEDULES", "make_schedule"]

#: The schedules :func:`make_schedule` knows.
SCHEDULES = ("constant", "cosine", "warmup_cosine")


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
    """The schedule ``name`` (one of :data:`SCHEDULES`) of every group's ``lr`` over ``steps``.

    ``warmup_fraction`` (in [0, 1]) is the share of the steps that ``"warmup_cosine"`` warms
    up over; the other schedules ignore it.
    """
    check_choice("schedule", name, SCHEDULES)
    check_int_at_least("steps", steps, 1)
    check_in_range("warmup_fraction", warmup_fraction, 0.0, 1.0, high_inclusive=True)
    warmup = round(warmup_fraction * steps) if name == "warmup_cosine" else 0
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule_factor(name, steps, warmup))
