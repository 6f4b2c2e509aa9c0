r"""Ground truth for small problems: dense Hessians, dense operators and planted spectra.

Everything in :mod:`deepoptim.curvature` is checked against these, in float64, on problems
small enough for an :math:`n \times n` matrix:

* :func:`dense_hessian`: :math:`\nabla^2 L(\theta)` of a model's mean loss over a batch, by
  eager double backward (``torch.autograd.functional.hessian``, all rows in one vectorised
  backward pass) of the loss as a function of the flat parameter vector, independent of
  ``torch.func`` and of the operators of :mod:`deepoptim.curvature`. (On torch 2.13,
  ``torch.func.hessian`` and ``jacrev(jacrev(f))`` return wrong mixed derivatives through
  batch normalisation in train mode, against finite differences; ``vjp(grad(f))``, which the
  operator uses, is right.)
* :func:`to_dense`: the matrix of any operator, one product per column;
* :func:`planted_matrix`: :math:`Q\Lambda Q^\top` with a Haar-random orthogonal :math:`Q` and a
  chosen spectrum :math:`\Lambda` (negative, repeated, clustered eigenvalues).

The book uses them in "Hessian spectra with parallel stochastic Lanczos"
(``notebooks/10_hessian_spectra``) to set Lanczos and SLQ beside exact spectra.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call

from deepoptim._checks import check_int_at_least

from .evaluation import check_dtype, forward_mode, parameter_snapshot
from .operators import LinearOperator, LossFn, check_operator, flatten, unflatten

__all__ = ["dense_hessian", "planted_matrix", "to_dense"]


def dense_hessian(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                  targets: torch.Tensor, *, parameters: Sequence[str] | None = None,
                  train: bool = False, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The ``(n, n)`` Hessian of ``loss_fn(model(inputs), targets)`` at the model's parameters.

    The arguments mean what they mean for :class:`~deepoptim.curvature.HessianOperator` (all
    the data in one batch); the model is left as it was.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_dtype(dtype)
    params, frozen = parameter_snapshot(model, parameters, dtype)
    if dtype is not None and inputs.is_floating_point():
        inputs = inputs.to(dtype)

    def loss(theta: torch.Tensor) -> torch.Tensor:
        state = {**unflatten(theta, params), **frozen}
        return loss_fn(functional_call(model, state, (inputs,)), targets)

    with forward_mode(model, train):
        return torch.autograd.functional.hessian(loss, flatten(params), vectorize=True).detach()


def to_dense(op: LinearOperator, chunk_size: int | None = None) -> torch.Tensor:
    """The ``(n, n)`` matrix of a symmetric operator: its products with the unit vectors.

    ``chunk_size`` unit vectors go through one batch of products (``None``: all ``n``).
    """
    check_operator(op)
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)
    identity = torch.eye(op.dim, dtype=op.dtype, device=op.device)
    return torch.cat([op.matvec_batch(rows) for rows in identity.split(chunk_size or op.dim)])


def planted_matrix(eigenvalues: torch.Tensor | Sequence[float], *, seed: int = 0,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A symmetric matrix :math:`Q \\operatorname{diag}(\\lambda) Q^\\top` with exactly this
    spectrum and Haar-distributed eigenvectors (QR of a Gaussian matrix, signs fixed)."""
    check_int_at_least("seed", seed, 0)
    check_dtype(dtype)
    values = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if len(values) == 0 or not torch.isfinite(values).all():
        raise ValueError("Invalid eigenvalues value: expected a non-empty finite sequence")
    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(len(values), len(values), generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sgn(torch.diagonal(r))
    matrix = (q * values) @ q.T
    return ((matrix + matrix.T) / 2).to(dtype)
