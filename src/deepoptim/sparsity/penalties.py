r"""Penalised losses: the subgradient baseline that proximal training is compared with.

Adding :math:`\mu_1\|w\|_1 + \frac{\mu_2}{2}\|w\|_2^2` to the loss and training with any
optimizer (Adam in the ProxSGD paper's baselines) uses autograd's subgradient of
:math:`|w|` (``sign(w)``, 0 at 0): weights oscillate around zero instead of landing on it, so
they are small but almost never exactly zero, unlike the proximal points of ProxSGD.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from deepoptim._checks import check_non_negative

__all__ = ["penalized_loss"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def penalized_loss(loss_fn: LossFn, params: Sequence[torch.Tensor], l1: float = 0.0,
                   l2: float = 0.0) -> LossFn:
    r"""``loss_fn(logits, y) + l1 * sum |w| + l2 / 2 * sum w^2`` over ``params``."""
    check_non_negative("l1", l1)
    check_non_negative("l2", l2)
    params = list(params)

    def penalized(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(logits, targets)
        if l1:
            loss = loss + l1 * torch.stack([p.abs().sum() for p in params]).sum()
        if l2:
            loss = loss + 0.5 * l2 * torch.stack([p.pow(2).sum() for p in params]).sum()
        return loss

    return penalized
