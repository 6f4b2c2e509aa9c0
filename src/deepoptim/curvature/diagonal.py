r"""The diagonal of a symmetric operator: exact, estimated (Hutchinson/Bekas), and the ones-probe.

Diagonal preconditioners (AdaHessian, Sophia, SGD-PH) need :math:`\operatorname{diag}(H)`
without forming :math:`H`. Three ways with Hessian-vector products:

* **exact** (:func:`exact_diagonal`): :math:`H_{ii} = e_i^\top H e_i`, the :math:`i`-th entry of
  the product with the unit vector :math:`e_i`; :math:`n` products, computed ``chunk_size`` at a
  time as one batch (one vectorised backward pass each on a GPU). Affordable for a block of a
  few thousand parameters, such as the channel-wise scales of normalisation layers.
* **Hutchinson / Bekas** (:func:`hutchinson_diagonal`; Bekas, Kokiopoulou and Saad 2007): for
  random :math:`z` with independent entries, :math:`\mathbb{E}[z_i z_j] = \delta_{ij}`,

  .. math::

      \mathbb{E}\big[z \odot Hz\big]_i = \sum_j H_{ij}\,\mathbb{E}[z_i z_j] = H_{ii},

  so the mean of :math:`z_l \odot H z_l` over :math:`p` probes is unbiased. Per coordinate its
  variance is :math:`\frac1p\sum_{j\ne i} H_{ij}^2` for Rademacher probes (:math:`z_i^2 = 1`:
  exact for a diagonal :math:`H`, whatever :math:`p`) and :math:`\frac1p\big(H_{ii}^2 +
  \sum_j H_{ij}^2\big)` for Gaussian ones; the error falls as :math:`1/\sqrt p`.
* **the ones-probe** (:func:`ones_probe`): SGD-PH's authors (Sun, Yong and Zhang 2024) probe a
  block of channel-wise parameters with :math:`\mathbf 1`, one product per block, and use
  :math:`|H\mathbf 1|` as its diagonal. But

  .. math::

      (H\mathbf 1)_i = \sum_j H_{ij} = H_{ii} + \sum_{j \ne i} H_{ij},

  the row sums: the diagonal exactly when the off-diagonal entries of every row sum to zero
  (a diagonal block), and otherwise off by those sums, which for the scales of a batch
  normalisation layer followed by a convolution are of the size of the diagonal itself (the
  channels are coupled by the layers downstream). The book contrasts the two in its SGD-PH
  chapter; this module gives both.

Any :class:`~deepoptim.curvature.LinearOperator` works: a block of a model's Hessian
(:class:`~deepoptim.curvature.HessianOperator` with ``parameters=``) or, inside an optimizer's
step, :class:`~deepoptim.curvature.GraphHessianOperator` on the gradients of
``loss.backward(create_graph=True)``. Probes follow the package's rule (one generator per probe
index and seed, ``deepoptim.curvature._random``).
"""

from __future__ import annotations

import dataclasses
import math

import torch

from deepoptim._checks import check_int_at_least

from ._random import check_probe_arguments, probes
from .operators import LinearOperator, check_operator

__all__ = ["DiagonalEstimate", "exact_diagonal", "hutchinson_diagonal", "ones_probe"]


def _check_chunk_size(chunk_size: int | None) -> None:
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)


def exact_diagonal(op: LinearOperator, *, chunk_size: int | None = None) -> torch.Tensor:
    """:math:`\\operatorname{diag}(A)` from the products with the :math:`n` unit vectors.

    ``chunk_size`` unit vectors go through one batch of products (``None``: all :math:`n`;
    memory grows as ``chunk_size`` vectors of length :math:`n`). Returns ``(n,)`` in the
    operator's dtype.
    """
    check_operator(op)
    _check_chunk_size(chunk_size)
    step = chunk_size or op.dim
    diagonal = torch.empty(op.dim, dtype=op.dtype, device=op.device)
    for begin in range(0, op.dim, step):
        rows = torch.arange(begin, min(begin + step, op.dim), device=op.device)
        units = torch.zeros(len(rows), op.dim, dtype=op.dtype, device=op.device)
        units[torch.arange(len(rows)), rows] = 1
        diagonal[rows] = op.matvec_batch(units)[torch.arange(len(rows)), rows]
    return diagonal


@dataclasses.dataclass(frozen=True)
class DiagonalEstimate:
    """A stochastic estimate of :math:`\\operatorname{diag}(A)`.

    Attributes:
        estimate: ``(n,)`` float64, the mean of :math:`z_l \\odot A z_l` over the probes.
        std_error: ``(n,)`` float64, per coordinate the standard deviation of the samples over
            :math:`\\sqrt p` (NaN for one probe).
        num_matvecs: products spent (:math:`p`).
    """

    estimate: torch.Tensor
    std_error: torch.Tensor
    num_matvecs: int


def hutchinson_diagonal(op: LinearOperator, num_matvecs: int, *, seed: int = 0,
                        distribution: str = "rademacher", chunk_size: int | None = None
                        ) -> DiagonalEstimate:
    """The Hutchinson (Bekas et al.) estimate of :math:`\\operatorname{diag}(A)`.

    Args:
        op: the symmetric operator.
        num_matvecs: the budget of products, one per probe (as for
            :func:`~deepoptim.curvature.hutchinson`).
        seed: probe ``l`` is drawn from the generator of ``(seed, l)`` (the probes of
            :func:`~deepoptim.curvature.hutchinson` with the same seed).
        distribution: ``"rademacher"`` (exact for a diagonal matrix) or ``"gaussian"``.
        chunk_size: products computed in one batch (``None``: all).
    """
    check_operator(op)
    check_int_at_least("num_matvecs", num_matvecs, 1)
    check_probe_arguments(seed, distribution)
    _check_chunk_size(chunk_size)
    mean = torch.zeros(op.dim, dtype=torch.float64, device=op.device)
    spread = torch.zeros_like(mean)  # sum of squared deviations from the mean (Chan et al.)
    step = chunk_size or num_matvecs
    for begin in range(0, num_matvecs, step):
        z = probes(op.dim, range(begin, min(begin + step, num_matvecs)), seed, distribution,
                   op.dtype, op.device)
        samples = (z * op.matvec_batch(z)).to(torch.float64)
        chunk_mean = samples.mean(dim=0)
        delta, total = chunk_mean - mean, begin + len(samples)
        mean += delta * (len(samples) / total)
        spread += ((samples - chunk_mean) ** 2).sum(dim=0) + delta ** 2 * (
            begin * len(samples) / total)
    if num_matvecs > 1:
        std_error = (spread / ((num_matvecs - 1) * num_matvecs)).sqrt()
    else:
        std_error = torch.full_like(mean, math.nan)
    return DiagonalEstimate(estimate=mean, std_error=std_error, num_matvecs=num_matvecs)


def ones_probe(op: LinearOperator) -> torch.Tensor:
    """:math:`A\\mathbf 1`, the row sums :math:`\\sum_j A_{ij}`: SGD-PH's one-product probe.

    It equals :math:`\\operatorname{diag}(A)` only when the off-diagonal entries of each row
    sum to zero (e.g. a diagonal :math:`A`); see the module's notes. Returns ``(n,)``.
    """
    check_operator(op)
    return op.matvec(torch.ones(op.dim, dtype=op.dtype, device=op.device))
