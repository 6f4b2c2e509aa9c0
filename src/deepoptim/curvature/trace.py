r"""Stochastic trace estimation: Hutchinson and Hutch++.

Hutchinson (1989): for random :math:`v` with :math:`\mathbb{E}[vv^\top] = I` (Rademacher or
standard Gaussian entries), :math:`\mathbb{E}[v^\top A v] = \operatorname{tr} A`, so the mean of
:math:`v_l^\top A v_l` over :math:`p` probes is unbiased with variance
:math:`2\|A\|_F^2/p` (Gaussian) or :math:`2(\|A\|_F^2 - \sum_i A_{ii}^2)/p` (Rademacher).

Hutch++ (Meyer, Musco, Musco and Woodruff 2021) spends a third of a budget of :math:`m` products
on a sketch :math:`Q = \operatorname{orth}(AS)` of the dominant range, a third on
:math:`\operatorname{tr}(Q^\top A Q)` exactly, and the rest on Hutchinson for the deflated
remainder:

.. math::

    \widehat{\operatorname{tr}} = \operatorname{tr}(Q^\top A Q)
    + \frac{1}{g}\sum_{l=1}^{g} g_l^\top (I - QQ^\top) A (I - QQ^\top) g_l,

whose error falls as :math:`1/m` instead of :math:`1/\sqrt m` when the spectrum decays fast (a
Hessian with a few outliers). Both estimators take the same budget, ``num_matvecs``: the
number of products with :math:`A`, which is what a fair comparison holds equal (Hutchinson
spends it on :math:`p` = ``num_matvecs`` probes). Probes are drawn per index as in every
estimator of this package (``deepoptim.curvature._random``), so the same seed gives the
same probes as :func:`~deepoptim.curvature.slq`. The book uses them in "Hessian spectra with
parallel stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from deepoptim._checks import check_int_at_least

from ._random import check_probe_arguments, probes
from .operators import LinearOperator, check_operator

__all__ = ["TraceEstimate", "hutchinson", "hutchpp"]


@dataclasses.dataclass(frozen=True)
class TraceEstimate:
    """A stochastic estimate of :math:`\\operatorname{tr} A`.

    Attributes:
        estimate: the mean of ``samples``.
        std_error: their standard deviation over :math:`\\sqrt{p}` (NaN for one sample).
        samples: ``(p,)`` float64, the independent unbiased estimates it averages.
        num_matvecs: products spent.
    """

    estimate: float
    std_error: float
    samples: torch.Tensor
    num_matvecs: int

    @classmethod
    def of_samples(cls, samples: torch.Tensor, num_matvecs: int) -> TraceEstimate:
        samples = samples.to(torch.float64).cpu()
        spread = float(samples.std() / math.sqrt(len(samples))) if len(samples) > 1 else math.nan
        return cls(float(samples.mean()), spread, samples, num_matvecs)


def _products(op: LinearOperator, vectors: torch.Tensor, chunk_size: int | None
              ) -> torch.Tensor:
    """:math:`Av` for every row of ``vectors``, ``chunk_size`` products at a time."""
    return torch.cat([op.matvec_batch(chunk)
                      for chunk in vectors.split(chunk_size or len(vectors))])


def _quadratic_forms(op: LinearOperator, vectors: torch.Tensor, chunk_size: int | None
                     ) -> torch.Tensor:
    """:math:`v^\\top A v` for every row of ``vectors``, ``chunk_size`` products at a time."""
    return (vectors * _products(op, vectors, chunk_size)).sum(dim=1)


def _check_budget(op: object, num_matvecs: int, minimum: int, seed: int, distribution: str,
                  chunk_size: int | None) -> None:
    """Validate the arguments shared by the trace estimators."""
    check_operator(op)
    check_int_at_least("num_matvecs", num_matvecs, minimum)
    check_probe_arguments(seed, distribution)
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)


def hutchinson(op: LinearOperator, num_matvecs: int, *, seed: int = 0,
               distribution: str = "rademacher", chunk_size: int | None = None
               ) -> TraceEstimate:
    """Hutchinson's estimate of :math:`\\operatorname{tr} A` from a budget of ``num_matvecs``.

    Each product is one probe: :math:`p` = ``num_matvecs`` quadratic forms
    :math:`v_l^\\top A v_l`, one per sample.

    Args:
        op: the symmetric operator.
        num_matvecs: the budget of products, :math:`p \\ge 1`.
        seed: probe ``l`` is drawn from the generator of ``(seed, l)``.
        distribution: ``"rademacher"`` or ``"gaussian"``.
        chunk_size: products computed in one batch (``None``: all).
    """
    _check_budget(op, num_matvecs, 1, seed, distribution, chunk_size)
    vectors = probes(op.dim, range(num_matvecs), seed, distribution, op.dtype, op.device)
    return TraceEstimate.of_samples(_quadratic_forms(op, vectors, chunk_size), num_matvecs)


def hutchpp(op: LinearOperator, num_matvecs: int, *, seed: int = 0,
            distribution: str = "rademacher", chunk_size: int | None = None) -> TraceEstimate:
    """Hutch++'s estimate of :math:`\\operatorname{tr} A` from a budget of ``num_matvecs``.

    A sketch of :math:`s = \\lfloor m/3 \\rfloor` probes (indices :math:`0..s-1`), then
    :math:`s` products with its orthonormal basis, then :math:`g = m - 2s` deflated Hutchinson
    probes (indices :math:`s..s+g-1`): :math:`m` = ``num_matvecs`` products in all, the budget
    of :func:`hutchinson` with the same argument. ``samples`` holds
    :math:`\\operatorname{tr}(Q^\\top A Q) + g_l^\\top (I-QQ^\\top)A(I-QQ^\\top)g_l`, one per
    Hutchinson probe. The sketch must be smaller than the dimension (:math:`s < n`);
    ``seed``, ``distribution`` and ``chunk_size`` are those of :func:`hutchinson`.
    """
    _check_budget(op, num_matvecs, 3, seed, distribution, chunk_size)
    sketch = num_matvecs // 3
    if sketch >= op.dim:
        raise ValueError(f"Invalid num_matvecs value: {num_matvecs} (the sketch of "
                         f"{sketch} vectors must be smaller than n = {op.dim})")
    remainder = num_matvecs - 2 * sketch
    s = probes(op.dim, range(sketch), seed, distribution, op.dtype, op.device)
    basis = torch.linalg.qr(_products(op, s, chunk_size).T).Q.T  # (sketch, n), orthonormal rows
    exact = float((basis * _products(op, basis, chunk_size)).sum())
    g = probes(op.dim, range(sketch, sketch + remainder), seed, distribution, op.dtype,
               op.device)
    g = g - (g @ basis.T) @ basis
    deflated = _quadratic_forms(op, g, chunk_size)
    return TraceEstimate.of_samples(exact + deflated.to(torch.float64), num_matvecs)
