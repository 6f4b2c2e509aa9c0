r"""Binarised networks with ProxSGD: a box constraint and a smooth pull towards :math:`\pm 1`.

ProxSGD's binarisation experiment (Yang et al., ICLR 2020, Section 4.3) trains weights
:math:`x \in [-1, 1]^n` with auxiliary variables :math:`a \in [0, 1]^n` and the smooth penalty

.. math::

    r(x, a) = \frac{\mu}{4} \sum_i \big[a_i (x_i + 1)^2 + (1 - a_i)(x_i - 1)^2\big],
    \qquad \partial_{x_i} r = \frac{\mu}{2}(x_i + 2a_i - 1), \quad \partial_{a_i} r = \mu x_i .

Both :math:`x` and :math:`a` take ProxSGD steps with box constraints (``bounds=(-1, 1)`` and
``(0, 1)``, no other regulariser). :math:`r` is linear in :math:`a`, so :math:`a_i` is driven to
0 where :math:`x_i > 0` and to 1 where :math:`x_i < 0`; the penalty then pulls :math:`x_i` to
:math:`+1` or :math:`-1`. After training, :func:`binarize` replaces the weights by their signs.
(:math:`\mu = 2.5\cdot 10^{-4}` in the authors' code; the reconstruction of :math:`r` from its
gradient is ours.)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from deepoptim._checks import check_non_negative

__all__ = ["binarization_aux", "binarization_penalty", "binarize"]


def binarization_aux(weights: Sequence[torch.Tensor], value: float = 0.5) -> list[nn.Parameter]:
    """One auxiliary tensor :math:`a \\in [0, 1]` per weight tensor, filled with ``value``."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"Invalid value value: {value!r} (expected 0 <= value <= 1)")
    return [nn.Parameter(torch.full_like(w, value)) for w in weights]


def binarization_penalty(weights: Sequence[torch.Tensor], aux: Sequence[torch.Tensor],
                         mu: float) -> torch.Tensor:
    """:math:`r(x, a) = \\frac{\\mu}{4}\\sum_i [a_i(x_i+1)^2 + (1-a_i)(x_i-1)^2]` over all
    tensors (differentiable in both)."""
    check_non_negative("mu", mu)
    if len(weights) != len(aux):
        raise ValueError(f"Invalid aux value: {len(aux)} tensors (expected {len(weights)})")
    terms = [(a * (w + 1) ** 2 + (1 - a) * (w - 1) ** 2).sum()
             for w, a in zip(weights, aux, strict=True)]
    return 0.25 * mu * torch.stack(terms).sum()


@torch.no_grad()
def binarize(model: nn.Module, weights: Sequence[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` whose tensors in ``weights`` (parameters of ``model``) are replaced
    by their signs (0 maps to +1)."""
    chosen = {id(w) for w in weights}
    names = [name for name, p in model.named_parameters() if id(p) in chosen]
    if len(names) != len(chosen):
        raise ValueError("Invalid weights value: not all are parameters of the model")
    binary = copy.deepcopy(model)
    for name, p in binary.named_parameters():
        if name in names:
            p.copy_(torch.where(p >= 0, 1.0, -1.0))
    return binary
