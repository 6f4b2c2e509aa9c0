"""Blocks for :class:`~deepoptim.models.Sequential2D`'s block matrix, beside ``nn.Linear`` and
``nn.Identity``, and the parameter count that treats a masked weight as sparse.

The skip connections of Pathak (2024), Part IV (the ``systematic skips`` of the thesis, as filled
off-diagonals of the block matrix), each mapping ``in_features`` to ``out_features``:

- :class:`ScaledIdentity`: :math:`x \\mapsto \\alpha x`, one scalar;
- :class:`Diagonal`: :math:`x \\mapsto v \\odot x`, ``d`` parameters;
- :class:`LowRankLinear`: :math:`x \\mapsto B A x (+ b)`, ``r (d_in + d_out)`` parameters;
- :class:`MaskedLinear`: :math:`x \\mapsto (W \\odot \\Omega) x + b` with a fixed 0/1 mask
  :math:`\\Omega`, counted as ``nnz(Ω)`` weights (+ bias), as the authors' code counts it.

The first three start at zero output (:math:`\\alpha = 0`, :math:`v = 0`, :math:`B = 0`), so a
network given such skips starts exactly at the plain architecture (the thesis's initialisation
rule, the trick Solo Connection uses). Our :class:`MaskedLinear` differs from the authors'
(``A = U∘Ω + W0`` with a fixed base ``W0`` and ``U`` initialised to 0): it has no fixed base,
and its trainable entries start as ``nn.Linear``'s do, so that it can stand in for a dense layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from deepoptim._checks import check_in_range, check_int_at_least


def _square_features(in_features: int, out_features: int | None) -> int:
    """The one size of a block that keeps its slot's size, checked."""
    check_int_at_least("in_features", in_features, 1)
    if out_features is not None and out_features != in_features:
        raise ValueError(f"Invalid out_features value: {out_features!r} (expected "
                         f"{in_features} = in_features: the block keeps the size)")
    return in_features


class ScaledIdentity(nn.Module):
    """:math:`x \\mapsto \\alpha x`, one trainable scalar ``alpha`` (initially ``init``)."""

    def __init__(self, in_features: int, out_features: int | None = None,
                 init: float = 0.0) -> None:
        super().__init__()
        self.in_features = self.out_features = _square_features(in_features, out_features)
        self.alpha = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * x


class Diagonal(nn.Module):
    """:math:`x \\mapsto v \\odot x`, a trainable vector ``v`` (initially all ``init``)."""

    def __init__(self, in_features: int, out_features: int | None = None,
                 init: float = 0.0) -> None:
        super().__init__()
        self.in_features = self.out_features = _square_features(in_features, out_features)
        self.v = nn.Parameter(torch.full((self.in_features,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.v * x


class LowRankLinear(nn.Module):
    """:math:`x \\mapsto B (A x) + b`, ``A`` of shape (rank, in), ``B`` (out, rank).

    ``A`` starts as an ``nn.Linear(in_features, rank)`` weight does, ``B`` and the bias at 0.
    """

    def __init__(self, in_features: int, out_features: int, rank: int,
                 bias: bool = False) -> None:
        super().__init__()
        check_int_at_least("in_features", in_features, 1)
        check_int_at_least("out_features", out_features, 1)
        check_int_at_least("rank", rank, 1)
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.A = nn.Parameter(torch.empty(rank, in_features))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = nn.Parameter(torch.zeros(out_features, rank))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(F.linear(x, self.A), self.B, self.bias)


class MaskedLinear(nn.Module):
    """:math:`x \\mapsto (W \\odot \\Omega) x + b` with a fixed mask ``Ω`` (a buffer).

    ``mask`` is a (out_features, in_features) tensor of zeros and ones (or booleans). ``W``
    starts as ``nn.Linear``'s weight with the entries outside the mask set to 0; those entries
    get zero gradients and never act. :meth:`random` draws a Bernoulli(density) mask.
    """

    def __init__(self, in_features: int, out_features: int, mask: torch.Tensor,
                 bias: bool = True) -> None:
        super().__init__()
        check_int_at_least("in_features", in_features, 1)
        check_int_at_least("out_features", out_features, 1)
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a Tensor, got {type(mask).__name__}")
        if mask.shape != (out_features, in_features) or not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"Invalid mask value: a tensor of shape {tuple(mask.shape)} "
                             f"(expected 0/1 entries, shape ({out_features}, {in_features}))")
        self.in_features, self.out_features = in_features, out_features
        linear = nn.Linear(in_features, out_features, bias=bias)
        self.register_buffer("mask", mask.to(linear.weight.dtype))
        self.weight = nn.Parameter(linear.weight.detach() * self.mask)
        self.bias = linear.bias

    @classmethod
    def random(cls, in_features: int, out_features: int, density: float, bias: bool = True,
               generator: torch.Generator | None = None) -> MaskedLinear:
        """A layer whose mask keeps each weight with probability ``density`` (0 < density <= 1)."""
        check_in_range("density", density, 0.0, 1.0, low_inclusive=False, high_inclusive=True)
        check_int_at_least("in_features", in_features, 1)
        check_int_at_least("out_features", out_features, 1)
        mask = torch.rand(out_features, in_features, generator=generator) < density
        return cls(in_features, out_features, mask, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def count_effective_parameters(module: nn.Module) -> int:
    """Trainable scalars of ``module``, each parameter counted once however often it is shared,
    a :class:`MaskedLinear`'s weight as the number of ones in its mask (the authors' count)."""
    seen: set[int] = set()
    total = 0
    for sub in module.modules():
        for name, parameter in sub.named_parameters(recurse=False):
            if not parameter.requires_grad or id(parameter) in seen:
                continue
            seen.add(id(parameter))
            masked = isinstance(sub, MaskedLinear) and name == "weight"
            total += int(sub.mask.count_nonzero()) if masked else parameter.numel()
    return total
