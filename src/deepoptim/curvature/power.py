r"""Power iteration with deflation: the baseline that Lanczos is compared against.

This is the method of PyHessian's ``eigenvalues`` (Yao et al. 2020), kept only so that the book
can measure what Lanczos saves. From a random unit vector it repeats

.. math::

    v \leftarrow v - \textstyle\sum_{j<i} (u_j^\top v)\, u_j, \quad v \leftarrow v/\|v\|,
    \quad w = Av, \quad \lambda = v^\top w, \quad v \leftarrow w/\|w\|,

deflating against the eigenvectors :math:`u_j` already found (Gram-Schmidt), and stops when
the Rayleigh quotient changes by at most ``tol`` relative to its previous value (not a residual
test). It converges to the eigenvalue of largest *magnitude*, which can be negative, at the
rate :math:`|\lambda_2/\lambda_1|` per product; deflation errors accumulate from one eigenpair
to the next. Use :func:`~deepoptim.curvature.eigsh` for real work. The book compares the two in
"Hessian spectra with parallel stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

import torch

from deepoptim._checks import check_int_at_least, check_non_negative

from ._random import probes
from .lanczos import EigenResult
from .operators import LinearOperator, check_operator

__all__ = ["power_iteration"]


def power_iteration(op: LinearOperator, k: int = 1, *, max_iter: int = 100, tol: float = 1e-3,
                    seed: int = 0) -> EigenResult:
    """The ``k`` largest-magnitude eigenpairs by power iteration with deflation.

    Args:
        op: the symmetric operator.
        k: number of eigenpairs, found one after another.
        max_iter: products per eigenpair at most.
        tol: stop an eigenpair when :math:`|\\lambda_t - \\lambda_{t-1}| \\le`
            ``tol`` :math:`|\\lambda_{t-1}|` (PyHessian's rule and default).
        seed: eigenpair ``i`` starts from the Gaussian probe ``(seed, i)``.

    Returns:
        An :class:`~deepoptim.curvature.EigenResult` (eigenvalues in the order found); its
        ``history`` holds the first eigenvalue's Rayleigh quotient after each product.
    """
    check_operator(op)
    check_int_at_least("k", k, 1)
    if k > op.dim:
        raise ValueError(f"Invalid k value: {k} (expected at most n = {op.dim})")
    check_int_at_least("max_iter", max_iter, 1)
    check_non_negative("tol", tol)
    check_int_at_least("seed", seed, 0)
    starts = probes(op.dim, range(k), seed, "gaussian", op.dtype, op.device)
    found: list[torch.Tensor] = []
    values, residuals, history = [], [], []
    converged, matvecs = True, 0
    for start in starts:
        iterate, value, done = start, None, False
        for _ in range(max_iter):
            vector = iterate
            for u in found:
                vector = vector - (u @ vector) * u
            vector = vector / vector.norm()
            product = op.matvec(vector)
            matvecs += 1
            previous, value = value, float(vector @ product)
            if not found:
                history.append(value)
            done = (previous is not None and abs(value - previous) <= tol * abs(previous)
                    ) or not bool(product.any())
            if done:
                break
            iterate = product
        converged = converged and done
        found.append(vector)
        values.append(value)
        residuals.append(float((product - value * vector).norm()))
    return EigenResult(
        eigenvalues=torch.tensor(values, dtype=torch.float64),
        eigenvectors=torch.stack(found),
        residuals=torch.tensor(residuals, dtype=torch.float64),
        num_matvecs=matvecs,
        converged=converged,
        history_matvecs=torch.arange(1, len(history) + 1),
        history=torch.tensor(history, dtype=torch.float64),
    )
