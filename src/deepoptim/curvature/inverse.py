r"""Inverses of damped symmetric factors, and Kronecker-factored preconditioners.

Kronecker-factored methods (KFAC, Martens and Grosse 2015; NKFAC, Sun 2024) precondition a
layer's gradient matrix :math:`V` (output channels :math:`\times` inputs) with factors
:math:`A` (inputs) and :math:`G` (output gradients), symmetric positive semi-definite. Vectors
are column-major, :math:`\operatorname{vec}(V)` stacking the columns of :math:`V`, so that

.. math::

    (A \otimes G)\operatorname{vec}(V) = \operatorname{vec}(G V A), \qquad
    (A \otimes G)^{-1}\operatorname{vec}(V) = \operatorname{vec}(G^{-1} V A^{-1}),

and the :math:`(d_A d_G)^2` matrix is never formed.

* **Damped inverse by eigendecomposition** (:class:`SymmetricEigen`, :func:`damped_inverse`):
  :math:`A = U \operatorname{diag}(a) U^\top` (``torch.linalg.eigh``), :math:`(A + \lambda
  I)^{-1} = U \operatorname{diag}(1/(a + \lambda)) U^\top`.
* **Newton-Schulz** (:func:`newton_schulz_inverse`; Schulz 1933, the iteration NKFAC uses):
  with :math:`E_k = I - B_k A`,

  .. math::

      B_{k+1} = (I + E_k) B_k = 2B_k - B_k A B_k, \qquad E_{k+1} = E_k^2 ,

  exactly, for any :math:`B_k`. It converges, quadratically, if and only if the spectral
  radius :math:`\rho(E_0) < 1`. For a symmetric positive definite :math:`A` the cold start
  :math:`B_0 = I / \lVert A\rVert_F` satisfies it (the eigenvalues of :math:`E_0` are
  :math:`1 - a_i/\lVert A\rVert_F \in [0, 1)`), and
  :math:`\lVert E_k\rVert_F \le \sqrt n\,(1 - a_{\min}/\lVert A\rVert_F)^{2^k}`, so
  :math:`\lVert E_k\rVert_F \le \varepsilon` after at most
  :math:`\lceil \log_2(\ln(\sqrt n/\varepsilon)\,\lVert A\rVert_F / a_{\min}) \rceil`
  iterations, about :math:`\log_2 \kappa` plus a few. A warm start, the inverse of a
  previous, slowly changing factor (an exponential moving average), is used when
  :math:`\lVert E_0\rVert_F < 1` (which bounds :math:`\rho(E_0)`) and needs a few iterations,
  or one (NKFAC's default). Only matrix products: fast on accelerators.
* **Kronecker solves** (:func:`kronecker_solve`, :func:`kronecker_eigen_solve`): with
  per-factor damping, :math:`((A + \lambda_A I) \otimes (G + \lambda_G I))^{-1}
  \operatorname{vec}(V) = \operatorname{vec}(G_{\lambda}^{-1} V A_{\lambda}^{-1})` from the two
  inverses (KFAC's factored damping, NKFAC's relative damping); with damping of the product,
  :math:`(A \otimes G + \lambda I)^{-1}\operatorname{vec}(V)` exactly, in the eigenbases:
  :math:`U_G\big[(U_G^\top V U_A) \oslash (g a^\top + \lambda)\big] U_A^\top` (George et
  al. 2018's eigenbasis form).

Numerical safety: a factor that is not finite, not symmetric, or not positive definite after
damping raises :class:`FactorError` (a ``ValueError``) naming the value, never a NaN inverse;
an optimizer catches it to keep its previous inverse and records the event. Inverse roots are
not provided: the book's preconditioners need inverses only.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from deepoptim._checks import (
    check_choice,
    check_int_at_least,
    check_non_negative,
    check_positive,
)

__all__ = [
    "FactorError",
    "NewtonSchulzResult",
    "SymmetricEigen",
    "damped_inverse",
    "kronecker_eigen_solve",
    "kronecker_solve",
    "newton_schulz_inverse",
]


class FactorError(ValueError):
    """A factor cannot be inverted safely: not finite, not symmetric, or not positive definite
    (after damping)."""


def check_factor(name: str, matrix: object) -> torch.Tensor:
    """Require a finite, symmetric, square floating point matrix; return it.

    Symmetry is checked to within :math:`\\sqrt{\\varepsilon}` of the largest entry.
    """
    if not isinstance(matrix, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(matrix).__name__}")
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1] or matrix.numel() == 0 \
            or not matrix.is_floating_point():
        raise ValueError(f"Invalid {name} value: shape {tuple(matrix.shape)}, {matrix.dtype} "
                         "(expected a square floating point matrix)")
    low, high = (float(x) for x in torch.aminmax(matrix))  # NaN and infinities propagate
    if not (math.isfinite(low) and math.isfinite(high)):
        bad = int((~torch.isfinite(matrix)).sum())
        raise FactorError(f"Invalid {name} value: {bad} entries are not finite")
    scale = max(-low, high)
    # a contiguous transpose first: the subtraction then reads both operands in order
    asymmetry = float((matrix - matrix.T.contiguous()).abs_().amax())
    if asymmetry > torch.finfo(matrix.dtype).eps ** 0.5 * scale:
        raise FactorError(f"Invalid {name} value: not symmetric (max |M - M^T| = "
                          f"{asymmetry:.3g}, max |M| = {scale:.3g})")
    return matrix


def _rounding_floor(values: torch.Tensor) -> float:
    """Eigenvalues at most this far above zero are zero at working precision."""
    return values.numel() * torch.finfo(values.dtype).eps * float(values.abs().max())


@dataclasses.dataclass(frozen=True)
class SymmetricEigen:
    """The eigendecomposition :math:`M = U \\operatorname{diag}(w) U^\\top` of a symmetric
    factor, kept to apply damped inverses for any damping.

    Attributes:
        values: ``(d,)``, the eigenvalues :math:`w` in ascending order.
        vectors: ``(d, d)``, the orthonormal eigenvectors :math:`U` as columns.
    """

    values: torch.Tensor
    vectors: torch.Tensor

    @classmethod
    def of(cls, matrix: torch.Tensor, name: str = "matrix") -> SymmetricEigen:
        """The decomposition of ``matrix`` (checked by ``check_factor``; ``torch.linalg.eigh``)."""
        values, vectors = torch.linalg.eigh(check_factor(name, matrix))
        return cls(values=values, vectors=vectors)

    def inverse(self, damping: float = 0.0, name: str = "matrix") -> torch.Tensor:
        """:math:`(M + \\lambda I)^{-1} = U \\operatorname{diag}(1/(w + \\lambda)) U^\\top`.

        Raises :class:`FactorError` if :math:`M + \\lambda I` is not positive definite at
        working precision (its smallest eigenvalue at most
        :math:`d\\,\\varepsilon \\max_i |w_i|`).
        """
        check_non_negative("damping", damping)
        shifted = self.values + damping
        if float(shifted.min()) <= _rounding_floor(self.values):
            raise FactorError(f"Invalid {name} value: not positive definite (smallest "
                              f"eigenvalue of {name} + damping I is {float(shifted.min()):.3g}, "
                              f"with damping {damping!r})")
        return (self.vectors / shifted) @ self.vectors.T


def damped_inverse(matrix: torch.Tensor, damping: float = 0.0) -> torch.Tensor:
    """:math:`(M + \\lambda I)^{-1}` of a symmetric matrix by its eigendecomposition.

    Raises :class:`FactorError` for a matrix that is not finite, not symmetric, or not positive
    definite after damping.
    """
    check_non_negative("damping", damping)
    return SymmetricEigen.of(matrix).inverse(damping)


@dataclasses.dataclass(frozen=True)
class NewtonSchulzResult:
    """What :func:`newton_schulz_inverse` computed.

    Attributes:
        inverse: the last accepted iterate :math:`B_k \\approx (A + \\lambda I)^{-1}`.
        iterations: :math:`k`, the accepted iterations.
        residuals: ``(k + 1,)`` float64, :math:`\\lVert I - B_j (A + \\lambda I)\\rVert_F` for
            :math:`j = 0, \\dots, k`.
        warm_start: whether the iteration started from ``initial`` (otherwise from
            :math:`I/\\lVert A + \\lambda I\\rVert_F`).
        converged: ``residual_bound`` is at most ``tol``.
        residual_bound: the last iterate's residual, or, when its product was saved
            (``measure_last=False``), the bound :math:`\\lVert E_{k-1}\\rVert_F^2` from the
            residual :math:`E_{k-1}` of the iterate before it (``residuals`` then holds ``k``
            values, :math:`j = 0, \\dots, k - 1`): :math:`I - B_k(A + \\lambda I) =
            E_{k-1}^2` exactly in exact arithmetic.
        damped_steps: the iterations that took a step shorter than Newton-Schulz's
            (``unsafe_start="damped"`` or ``"scaled"``).
    """

    inverse: torch.Tensor
    iterations: int
    residuals: torch.Tensor
    warm_start: bool
    converged: bool
    residual_bound: float
    damped_steps: int = 0


#: What :func:`newton_schulz_inverse` does with a start whose residual is at least one.
UNSAFE_STARTS = ("cold", "damped", "scaled", "stop")

#: The margin on the power-iteration estimate of the largest eigenvalue of the scaled step.
SCALED_MARGIN = 1.1


def _largest_eigenvalue(error: torch.Tensor, iterations: int = 10) -> float:
    """The largest eigenvalue of :math:`T = I - E` by power iteration from the vector of ones.

    For symmetric positive definite :math:`B` and :math:`A`, :math:`T = BA` is similar to
    :math:`B^{1/2} A B^{1/2}`: its eigenvalues are real and positive, and the iteration
    approaches the largest from below.
    """
    vector = torch.full((len(error),), len(error) ** -0.5, dtype=error.dtype,
                        device=error.device)
    norm = torch.ones((), dtype=error.dtype, device=error.device)
    for _ in range(iterations):
        product = vector - error @ vector
        norm = product.norm()
        vector = product / norm
    return float(norm)


def newton_schulz_inverse(matrix: torch.Tensor, damping: float = 0.0, *,
                          initial: torch.Tensor | None = None, max_iter: int = 100,
                          tol: float | None = None, measure_last: bool = True,
                          unsafe_start: str = "cold") -> NewtonSchulzResult:
    """:math:`(A + \\lambda I)^{-1}` by Newton-Schulz iterations, warm-started when safe.

    Args:
        matrix: :math:`A`, symmetric (positive definite after damping).
        damping: :math:`\\lambda \\ge 0`, added to the diagonal.
        initial: a start :math:`B_0` (e.g. the previous inverse). It is used if
            :math:`\\lVert I - B_0 (A + \\lambda I)\\rVert_F < 1`, which guarantees
            convergence; otherwise ``unsafe_start`` decides. Without it the iteration starts
            cold, from :math:`I/\\lVert A + \\lambda I\\rVert_F`.
        max_iter: at most this many iterations (``1``: NKFAC's single step per refresh).
        tol: stop once :math:`\\lVert I - B_k (A + \\lambda I)\\rVert_F \\le` ``tol``; default
            :math:`\\sqrt{\\varepsilon}` of the dtype.
        measure_last: measure the last iterate's residual (see below).
        unsafe_start: for an ``initial`` whose residual is at least one, ``"cold"`` starts
            cold instead; ``"damped"`` keeps it and takes damped steps while the residual is
            at least one (the NKFAC authors' rule, below); ``"scaled"`` keeps it and takes
            steps scaled to the largest eigenvalue instead (below); ``"stop"`` returns it
            unchanged, with no iteration and ``warm_start=False``, for a caller that inverts
            another way.

    Each iteration is two matrix products, the residual :math:`E_j = I - B_j (A + \\lambda I)`
    (which decides whether to go on) and :math:`B_{j+1} = B_j + \\eta_j E_j B_j`: with
    :math:`\\eta_j = 1` the Newton-Schulz step, :math:`E_{j+1} = E_j^2`. With
    ``measure_last=False`` the last allowed iteration skips the product that measures its own
    residual, when the residual before it is below one: the new residual is then at most its
    square (NKFAC's single step per refresh costs two products instead of three).

    The damped step, :math:`\\eta_j = 1/\\lVert B_j(A + \\lambda I)\\rVert_F` when
    :math:`\\lVert E_j\\rVert_F \\ge 1`, gives :math:`E_{j+1} = E_j(I - \\eta_j T_j)` with
    :math:`T_j = B_j(A + \\lambda I)`. For a symmetric positive definite :math:`B_j` and
    :math:`A + \\lambda I`, the eigenvalues :math:`\\mu` of :math:`T_j` are positive and at most
    :math:`\\lVert T_j\\rVert_F = 1/\\eta_j`, so each eigenvalue :math:`1 - \\mu` of the
    residual becomes :math:`(1 - \\mu)(1 - \\eta_j\\mu)`, no larger in size, and
    :math:`B_{j+1}` stays positive definite (it would not under the full step from a
    :math:`B_j` with an eigenvalue :math:`\\mu \\ge 2`). The Frobenius norm of the residual is
    not monotone under this step.

    The damped step's :math:`\\eta_j` is tiny for a large matrix, whose Frobenius norm adds up
    the errors of all eigenvalues: the residual then barely shrinks. The scaled step sets
    :math:`\\eta_j = \\min(1, 1/\\hat\\mu)`, with :math:`\\hat\\mu` the largest eigenvalue of
    :math:`T_j` from 10 power iterations times 1.1 (:data:`SCALED_MARGIN`): it maps the
    largest eigenvalue's error to about zero and shrinks every other, and :math:`B_{j+1}` stays
    positive definite unless the estimate falls short of the largest eigenvalue by more than
    :math:`1/\\eta_j`.

    The iteration also stops, unconverged, when the residual stops falling below one (the
    rounding floor of an ill-conditioned matrix), keeping the better iterate. A residual that
    grows while at least one means that the step expands the residual: the matrix is not
    positive definite (or singular at working precision), and :class:`FactorError` is raised,
    as for a non-finite residual.
    """
    check_factor("matrix", matrix)
    check_non_negative("damping", damping)
    check_int_at_least("max_iter", max_iter, 1)
    check_choice("unsafe_start", unsafe_start, UNSAFE_STARTS)
    tol = torch.finfo(matrix.dtype).eps ** 0.5 if tol is None else tol
    check_positive("tol", tol)
    if initial is not None and (not isinstance(initial, torch.Tensor)
                                or initial.shape != matrix.shape
                                or initial.dtype != matrix.dtype):
        raise ValueError(f"Invalid initial value: expected a {tuple(matrix.shape)} "
                         f"{matrix.dtype} tensor like matrix")
    eye = torch.eye(len(matrix), dtype=matrix.dtype, device=matrix.device)
    damped = matrix + damping * eye if damping else matrix

    def residual_of(inverse: torch.Tensor) -> tuple[torch.Tensor, float]:
        error = torch.addmm(eye, inverse, damped, alpha=-1)  # I - B (A + lambda I)
        return error, float(torch.linalg.matrix_norm(error))

    warm = False
    if initial is not None:
        inverse = initial
        error, residual = residual_of(inverse)
        warm = residual < 1 or (unsafe_start in ("damped", "scaled") and math.isfinite(residual))
        if not warm and unsafe_start == "stop":
            return NewtonSchulzResult(inverse=initial, iterations=0,
                                      residuals=torch.tensor([residual], dtype=torch.float64),
                                      warm_start=False, converged=False, residual_bound=residual)
    if not warm:
        inverse = eye / torch.linalg.matrix_norm(damped)
        error, residual = residual_of(inverse)
        if not math.isfinite(residual):  # the zero matrix
            raise FactorError(f"Invalid matrix value: not positive definite (zero, with "
                              f"damping {damping!r})")
    residuals, damped_steps = [residual], 0
    while residual > tol and len(residuals) <= max_iter:
        eta = 1.0
        if warm and residual >= 1 and unsafe_start == "damped":  # 1 / ||T||_F, T = I - E
            eta = 1 / float(torch.linalg.matrix_norm(eye - error))
        elif warm and residual >= 1 and unsafe_start == "scaled":
            eta = min(1.0, 1 / (SCALED_MARGIN * _largest_eigenvalue(error)))
        damped_steps += eta != 1
        following = torch.addmm(inverse, error, inverse, alpha=eta)  # B + eta E B
        if not measure_last and len(residuals) == max_iter and residual < 1:
            bound = residual ** 2
            return NewtonSchulzResult(inverse=following, iterations=max_iter,
                                      residuals=torch.tensor(residuals, dtype=torch.float64),
                                      warm_start=warm, converged=bound <= tol,
                                      residual_bound=bound, damped_steps=damped_steps)
        following_error, following_residual = residual_of(following)
        if not math.isfinite(following_residual):
            raise FactorError(f"Invalid matrix value: the Newton-Schulz residual became "
                              f"{following_residual} (from {residual:.3g})")
        if following_residual >= residual:
            if residual >= 1:
                raise FactorError(f"Invalid matrix value: not positive definite (the "
                                  f"Newton-Schulz residual grew from {residual:.3g} to "
                                  f"{following_residual:.3g}; damping {damping!r})")
            break
        inverse, error, residual = following, following_error, following_residual
        residuals.append(residual)
    return NewtonSchulzResult(inverse=inverse, iterations=len(residuals) - 1,
                              residuals=torch.tensor(residuals, dtype=torch.float64),
                              warm_start=warm, converged=residual <= tol,
                              residual_bound=residual, damped_steps=damped_steps)


def _check_layer_matrix(matrix: object, rows: int, columns: int) -> torch.Tensor:
    if not isinstance(matrix, torch.Tensor):
        raise TypeError(f"matrix must be a torch.Tensor, got {type(matrix).__name__}")
    if matrix.shape != (rows, columns):
        raise ValueError(f"Invalid matrix value: shape {tuple(matrix.shape)} (expected "
                         f"({rows}, {columns}): the G factor's size by the A factor's)")
    return matrix


def kronecker_solve(a_inverse: torch.Tensor, g_inverse: torch.Tensor, matrix: torch.Tensor
                    ) -> torch.Tensor:
    """:math:`(A \\otimes G)^{-1}\\operatorname{vec}(V)` as the matrix :math:`G^{-1} V A^{-1}`.

    ``a_inverse`` and ``g_inverse`` are the (damped) factors' inverses, from
    :func:`damped_inverse` or :func:`newton_schulz_inverse`; ``matrix`` is :math:`V`, of shape
    ``(len(g_inverse), len(a_inverse))``.
    """
    for name, value in (("a_inverse", a_inverse), ("g_inverse", g_inverse)):
        if not isinstance(value, torch.Tensor) or value.dim() != 2 \
                or value.shape[0] != value.shape[1]:
            raise ValueError(f"Invalid {name} value: expected a square matrix")
    _check_layer_matrix(matrix, len(g_inverse), len(a_inverse))
    return g_inverse @ matrix @ a_inverse


def kronecker_eigen_solve(a: SymmetricEigen, g: SymmetricEigen, matrix: torch.Tensor,
                          damping: float) -> torch.Tensor:
    """:math:`(A \\otimes G + \\lambda I)^{-1}\\operatorname{vec}(V)`, exactly, in the factors'
    eigenbases.

    With :math:`A = U_A \\operatorname{diag}(a) U_A^\\top` and :math:`G = U_G
    \\operatorname{diag}(g) U_G^\\top`, the result is :math:`U_G \\big[(U_G^\\top V U_A) \\oslash
    (g a^\\top + \\lambda)\\big] U_A^\\top`. Raises :class:`FactorError` if some
    :math:`g_i a_j + \\lambda` is not positive.
    """
    if not isinstance(a, SymmetricEigen) or not isinstance(g, SymmetricEigen):
        raise TypeError("a and g must be SymmetricEigen decompositions")
    check_non_negative("damping", damping)
    _check_layer_matrix(matrix, len(g.values), len(a.values))
    denominator = torch.outer(g.values, a.values) + damping
    floor = _rounding_floor(torch.outer(g.values, a.values))
    if float(denominator.min()) <= floor:
        raise FactorError(f"Invalid damping value: {damping!r} (A kron G + damping I is not "
                          f"positive definite: its smallest eigenvalue is "
                          f"{float(denominator.min()):.3g})")
    rotated = g.vectors.T @ matrix @ a.vectors
    return g.vectors @ (rotated / denominator) @ a.vectors.T
