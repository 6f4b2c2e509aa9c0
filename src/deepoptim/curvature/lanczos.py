r"""Lanczos with full reorthogonalisation: tridiagonalisation and extreme eigenpairs.

Lanczos (1950) builds an orthonormal basis :math:`q_1, \dots, q_m` of the Krylov
space :math:`\mathcal{K}_m(A, v) = \operatorname{span}(v, Av, \dots, A^{m-1}v)` in which
:math:`A` is tridiagonal:

.. math::

    \beta_j q_{j+1} = A q_j - \alpha_j q_j - \beta_{j-1} q_{j-1}, \qquad
    \alpha_j = q_j^\top A q_j, \qquad
    T_m = Q_m^\top A Q_m = \operatorname{tridiag}(\beta_{1:m-1}, \alpha_{1:m}, \beta_{1:m-1}).

In floating point the :math:`q_j` lose orthogonality once a Ritz value converges, and copies
("ghosts") of converged eigenvalues appear (Paige). With ``reorthogonalize=True`` each new
vector is orthogonalised against the whole stored basis by classical Gram-Schmidt applied twice
("twice is enough": Giraud, Langou and Rozloznik, 2005), four matrix-vector products with the
basis per step, no norms and no branches; the three-term recurrence is then implicit, and
:math:`\alpha_j` is read off the coefficients of the two passes. The eigenpairs
:math:`(\theta_i, s_i)` of :math:`T_m` (float64, ``torch.linalg.eigh``) give the Ritz pairs
:math:`(\theta_i, Q_m s_i)` with residual :math:`r_i = \|A Q_m s_i - \theta_i Q_m s_i\| =
\beta_m |e_m^\top s_i|`, the convergence test of :func:`eigsh` (an eigenvalue of :math:`A`
lies within :math:`r_i` of :math:`\theta_i`). The bookkeeping of a step (the coefficients,
:math:`T`, the breakdown test, the convergence test) runs on small float64 NumPy arrays.

Breakdown: when :math:`\beta_j` falls below the rounding level
(:math:`\sqrt{n}\,\varepsilon \max_i \|A q_i\|`) the Krylov space is invariant. The chain then
continues with a random unit vector orthogonal to its basis and :math:`\beta_j = 0`, so
:math:`T` splits into independent blocks: eigensolvers go on to find eigenvalues outside the
first invariant subspace (e.g. further copies of a repeated eigenvalue), and quadrature weights
of the new blocks are zero.

Two generalisations share one engine:

* *independent chains in lock-step* (``lanczos`` with a ``(k, n)`` start): :math:`k` chains
  advance together, their products computed in one batch (``matvec_batch``). This is not block
  Lanczos: the chains do not share a Krylov space, and each gives exactly what it gives alone.
* *block Lanczos* (``eigsh(..., block_size=b)``): the Krylov space of a block of :math:`b`
  vectors, with :math:`b \times b` blocks :math:`A_j, B_j` in a block-tridiagonal :math:`T`;
  it resolves eigenvalues of multiplicity up to :math:`b`, which single-vector Lanczos sees once.

Source of the algorithm: Golub and Van Loan, *Matrix Computations*, ch. 10; the book derives it
in "Hessian spectra with parallel stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from deepoptim._checks import check_choice, check_int_at_least, check_positive

from ._random import draw, probe_generator, probes
from .operators import LinearOperator, check_operator

__all__ = ["EigenResult", "LanczosResult", "eigsh", "lanczos"]

def _sign_fixed_qr(rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormalise the rows of ``rows`` ``(..., b, n)``: ``rows = R^T X`` with diag(R) >= 0."""
    q, r = torch.linalg.qr(rows.transpose(-1, -2))
    signs = torch.sgn(torch.diagonal(r, dim1=-2, dim2=-1))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    return (q * signs.unsqueeze(-2)).transpose(-1, -2), r * signs.unsqueeze(-1)


def _project_out(rows: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """``rows - (rows basis^T) basis``: remove the components along orthonormal ``basis`` rows."""
    return rows - (rows @ basis.transpose(-1, -2)) @ basis


def _orthogonalize(w: torch.Tensor, basis: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Classical Gram-Schmidt of ``w`` ``(k, b, n)`` against ``basis`` ``(k, used, n)``, twice.

    Returns ``w`` orthogonal to the basis and :math:`A_j = X_j^\\top A X_j`: the coefficients
    of both passes along the last ``b`` basis rows (the current block). The three-term
    recurrence is implicit: the coefficients along the previous block are :math:`B_{j-1}^\\top`
    and those along older blocks vanish in exact arithmetic. Two passes always (Giraud, Langou
    and Rozloznik: "twice is enough"): four matrix products and no norm, no branch.
    """
    coefficients = w @ basis.transpose(-1, -2)
    w = torch.baddbmm(w, coefficients, basis, alpha=-1)
    correction = w @ basis.transpose(-1, -2)
    w = torch.baddbmm(w, correction, basis, alpha=-1)
    b = w.shape[-2]
    return w, coefficients[..., -b:] + correction[..., -b:]


class _BlockLanczos:
    """``k`` independent block-Lanczos chains (blocks of ``b`` rows) advancing in lock-step.

    State: the current blocks ``X`` ``(k, b, n)``, the previous ones and their coupling, the
    recorded diagonal blocks ``A_j`` and couplings ``B_j`` and :math:`T` (float64 NumPy arrays
    on the CPU: a step's bookkeeping costs no tensor operations), and, when needed, the basis
    ``(k, (steps + 1) b, n)``. Chain ``c`` draws restart directions from ``generators[c]``
    only, so a chain gives the same numbers in any batch.
    """

    def __init__(self, op: LinearOperator, start: torch.Tensor, max_steps: int,
                 generators: Sequence[torch.Generator], reorthogonalize: bool,
                 keep_basis: bool) -> None:
        self.op = op
        self.k, self.b, _ = start.shape
        self.generators = list(generators)
        self.reorthogonalize = reorthogonalize
        self.threshold_factor = op.dim ** 0.5 * torch.finfo(op.dtype).eps
        self.scale = np.zeros(self.k)
        self.store = reorthogonalize or keep_basis
        block, coupling = _sign_fixed_qr(start)
        small = torch.diagonal(coupling, dim1=-2, dim2=-1).abs() <= (
            self.threshold_factor * start.norm(dim=-1).amax(-1, keepdim=True))
        if small.any():
            raise ValueError("Invalid start value: a start block is zero or rank deficient")
        self.current, self.previous, self.previous_coupling = block, None, None
        if self.store:
            self.basis = torch.empty(self.k, (max_steps + 1) * self.b, op.dim, dtype=op.dtype,
                                     device=op.device)
            self.basis[:, :self.b] = block
        self.alphas: list[np.ndarray] = []
        self.betas: list[np.ndarray] = []
        size = max_steps * self.b
        self.t = np.zeros((self.k, size, size))
        self.num_matvecs = 0

    @property
    def steps(self) -> int:
        return len(self.alphas)

    def stored_basis(self) -> torch.Tensor:
        """The basis so far, ``(k, steps * b, n)`` (without the next, not yet used block)."""
        return self.basis[:, :self.steps * self.b]

    def step(self) -> None:
        """One Lanczos step of every chain: a batch of ``k b`` products, then the next block."""
        x = self.current
        w = self.op.matvec_batch(x.reshape(-1, self.op.dim)).reshape(x.shape)
        self.num_matvecs += self.k * self.b
        self.scale = np.maximum(self.scale, _numpy(w.norm(dim=-1)).max(-1))
        used = (self.steps + 1) * self.b
        if self.reorthogonalize:
            w, alpha = _orthogonalize(w, self.basis[:, :used])
        else:
            if self.previous is not None:
                w = w - self.previous_coupling @ self.previous
            alpha = x @ w.transpose(-1, -2)
            if self.b > 1:
                alpha = (alpha + alpha.transpose(-1, -2)) / 2
            w = w - alpha @ x
        following, coupling = self._next_block(w, used)
        alpha = _numpy(alpha)
        self._record((alpha + alpha.swapaxes(-1, -2)) / 2, _numpy(coupling))
        self.previous, self.previous_coupling, self.current = x, coupling, following
        if self.store:
            self.basis[:, used:used + self.b] = following

    def _next_block(self, w: torch.Tensor, used: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Orthonormalise the residual ``w = B^T X_next``; restart rows that broke down."""
        if self.b == 1:  # a norm is a QR of one row, without a LAPACK call
            coupling = w.norm(dim=-1, keepdim=True)
            following = w / coupling  # a zero row (a breakdown) is replaced below
            norms = _numpy(coupling)[..., 0]
        else:
            following, coupling = _sign_fixed_qr(w)
            norms = np.abs(np.diagonal(_numpy(coupling), axis1=-2, axis2=-1))
        broken = norms <= self.threshold_factor * self.scale[:, None]
        for chain in np.flatnonzero(broken.any(-1)).tolist():
            following[chain], coupling[chain] = self._restart(
                chain, w[chain], following[chain], torch.from_numpy(broken[chain]), used)
        return following, coupling

    def _restart(self, chain: int, w: torch.Tensor, block: torch.Tensor, broken: torch.Tensor,
                 used: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Replace broken rows by random directions orthogonal to the chain's basis."""
        block = block.clone()
        for row in broken.nonzero().flatten().tolist():
            block[row] = draw(self.op.dim, self.generators[chain], "gaussian", self.op.dtype,
                              self.op.device)
        if self.store:
            known = self.basis[chain, :used]
        else:
            known = torch.cat([self.current[chain]] + (
                [] if self.previous is None else [self.previous[chain]]))
        for _ in range(2):
            block = _project_out(block, known)
        block, _ = _sign_fixed_qr(block)
        coupling = block @ w.transpose(-1, -2)
        coupling[broken.to(coupling.device)] = 0.0
        return block, coupling

    def _record(self, alpha: np.ndarray, beta: np.ndarray) -> None:
        """Append a step's blocks, and write them into :math:`T` (coupling to the previous)."""
        b, j = self.b, self.steps
        self.t[:, j * b:(j + 1) * b, j * b:(j + 1) * b] = alpha
        if j > 0:
            previous = self.betas[-1]
            self.t[:, j * b:(j + 1) * b, (j - 1) * b:j * b] = previous
            self.t[:, (j - 1) * b:j * b, j * b:(j + 1) * b] = previous.swapaxes(-1, -2)
        self.alphas.append(alpha)
        self.betas.append(beta)

    def tridiagonal(self) -> torch.Tensor:
        """The (block) tridiagonal :math:`T` of every chain, ``(k, steps b, steps b)`` float64
        on the CPU (a view of the recorded array)."""
        size = self.steps * self.b
        return torch.from_numpy(self.t[:, :size, :size])


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A small tensor as a float64 NumPy array on the CPU."""
    return tensor.detach().cpu().numpy().astype(np.float64)


@dataclasses.dataclass(frozen=True)
class LanczosResult:
    """What :func:`lanczos` computed for ``k`` chains of ``m`` steps.

    Attributes:
        alpha: ``(k, m)`` float64, the diagonals :math:`\\alpha_j` of the tridiagonals.
        beta: ``(k, m)`` float64, the couplings: ``beta[:, j]`` links :math:`q_{j+1}` and
            :math:`q_{j+2}` (0-based: vectors ``j`` and ``j + 1``); ``beta[:, -1]`` is
            :math:`\\beta_m`, the norm of the residual after the last step (0 where a chain broke
            down and restarted).
        basis: ``(k, m, n)``, the Lanczos vectors as rows (``None`` if not kept).
        num_matvecs: products computed (``k m``).
    """

    alpha: torch.Tensor
    beta: torch.Tensor
    basis: torch.Tensor | None
    num_matvecs: int

    def tridiagonal(self) -> torch.Tensor:
        """:math:`T_m` of every chain, ``(k, m, m)`` float64."""
        off = torch.diag_embed(self.beta[:, :-1], offset=-1)
        return torch.diag_embed(self.alpha) + off + off.transpose(-1, -2)

    def ritz_values(self) -> torch.Tensor:
        """The Ritz values (eigenvalues of :math:`T_m`), ascending, ``(k, m)`` float64."""
        return torch.linalg.eigvalsh(self.tridiagonal())

    def ritz_residuals(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Ritz values and the residual norms :math:`\\beta_m |e_m^\\top s_i|`, each ``(k, m)``."""
        values, vectors = torch.linalg.eigh(self.tridiagonal())
        return values, self.beta[:, -1:].abs() * vectors[:, -1, :].abs()


def _run(op: LinearOperator, start: torch.Tensor, num_steps: int, reorthogonalize: bool,
         keep_basis: bool, generators: Sequence[torch.Generator]) -> _BlockLanczos:
    """Advance chains from ``start`` ``(k, b, n)`` for ``num_steps`` steps."""
    engine = _BlockLanczos(op, start, num_steps, generators, reorthogonalize, keep_basis)
    for _ in range(num_steps):
        engine.step()
    return engine


def _stacked(blocks: list[np.ndarray], num_steps: int, device: torch.device) -> torch.Tensor:
    """The ``(k, 1, 1)`` coefficients of every step as a ``(k, num_steps)`` float64 tensor."""
    return torch.from_numpy(np.stack(blocks, axis=1).reshape(-1, num_steps)).to(device)


def _check_start(op: LinearOperator, start: object) -> torch.Tensor:
    """A start vector ``(n,)`` or batch ``(k, n)`` as a ``(k, n)`` tensor of the operator's type."""
    if not isinstance(start, torch.Tensor):
        raise TypeError(f"start must be a torch.Tensor, got {type(start).__name__}")
    if start.dim() not in (1, 2) or start.shape[-1] != op.dim or start.numel() == 0:
        raise ValueError(f"Invalid start value: shape {tuple(start.shape)} "
                         f"(expected (n,) or (k, n) with n = {op.dim})")
    return start.reshape(-1, op.dim).to(dtype=op.dtype, device=op.device)


def lanczos(op: LinearOperator, start: torch.Tensor, num_steps: int, *,
            reorthogonalize: bool = True, keep_basis: bool = True, seed: int = 0
            ) -> LanczosResult:
    """Run ``num_steps`` Lanczos steps from ``start``: one chain, or ``k`` chains in lock-step.

    Args:
        op: the symmetric operator.
        start: the start vector ``(n,)`` or ``k`` start vectors ``(k, n)`` (normalised here);
            the ``k`` chains are independent and their products are computed in one batch.
        num_steps: :math:`m`, at most :math:`n`.
        reorthogonalize: full reorthogonalisation (recommended); without it the memory is three
            vectors per chain (plus the basis if ``keep_basis``) and ghosts appear.
        keep_basis: return the Lanczos vectors.
        seed: seeds the random directions chain ``c`` continues with after a breakdown.

    Returns:
        A :class:`LanczosResult` with ``k`` tridiagonals (``k = 1`` for a single vector).
    """
    check_operator(op)
    start = _check_start(op, start)
    check_int_at_least("num_steps", num_steps, 1)
    if num_steps > op.dim:
        raise ValueError(f"Invalid num_steps value: {num_steps} (expected at most n = {op.dim})")
    check_int_at_least("seed", seed, 0)
    generators = [probe_generator(seed, chain, stream=1) for chain in range(len(start))]
    engine = _run(op, start.unsqueeze(1), num_steps, reorthogonalize, keep_basis, generators)
    return LanczosResult(
        alpha=_stacked(engine.alphas, num_steps, op.device),
        beta=_stacked(engine.betas, num_steps, op.device),
        basis=engine.stored_basis() if keep_basis else None,
        num_matvecs=engine.num_matvecs,
    )


@dataclasses.dataclass(frozen=True)
class EigenResult:
    """Eigenpairs computed by :func:`eigsh` or :func:`~deepoptim.curvature.power_iteration`.

    Attributes:
        eigenvalues: ``(k,)`` float64, in the order asked for (largest first for ``"LA"`` and
            ``"LM"``, smallest first for ``"SA"``).
        eigenvectors: ``(k, n)``, unit eigenvector estimates as rows.
        residuals: ``(k,)`` float64, :math:`\\|Au - \\theta u\\|` of each pair as the method
            estimates it (Lanczos: :math:`\\|B_m s_{i,\\mathrm{last}}\\|`; power iteration: the
            residual of its last product).
        num_matvecs: products of the operator with a vector.
        converged: every pair met the stopping rule within the budget.
        history_matvecs: ``(h,)`` products spent when each estimate in ``history`` was made.
        history: ``(h,)`` float64, the estimate of the first eigenvalue after each step
            (Lanczos: each block step; power iteration: each product), for cost comparisons.
    """

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    residuals: torch.Tensor
    num_matvecs: int
    converged: bool
    history_matvecs: torch.Tensor
    history: torch.Tensor


#: Which end of the spectrum ``eigsh`` returns: largest algebraic, smallest algebraic,
#: largest magnitude.
WHICH = ("LA", "SA", "LM")


def _wanted(values: np.ndarray, k: int, which: str) -> np.ndarray:
    """Indices of the ``k`` wanted Ritz values among ascending ``values``, in output order."""
    if which == "LA":
        return np.arange(len(values) - 1, len(values) - 1 - k, -1)
    if which == "SA":
        return np.arange(k)
    return np.argsort(-np.abs(values), kind="stable")[:k]


def eigsh(op: LinearOperator, k: int = 1, *, which: str = "LA", block_size: int = 1,
          max_steps: int | None = None, tol: float | None = None, seed: int = 0,
          start: torch.Tensor | None = None) -> EigenResult:
    """The ``k`` extreme eigenpairs of a symmetric operator, by (block) Lanczos.

    Runs block Lanczos with full reorthogonalisation, without restarts, and stops as soon as
    every wanted Ritz pair has residual :math:`r_i = \\|Au_i - \\theta_i u_i\\| \\le` ``tol``
    :math:`\\cdot \\max_j |\\theta_j|` (checked after every step; :math:`\\max_j |\\theta_j|`
    estimates :math:`\\|A\\|` from below). For a symmetric :math:`A` an eigenvalue then lies
    within :math:`r_i` of :math:`\\theta_i`, whatever the rest of the spectrum: the test bounds
    the eigenvalue error without assumptions. The sharper bound :math:`r_i^2/\\delta_i`
    (Kato-Temple, :math:`\\delta_i` the gap to the other eigenvalues) would stop a step or two
    earlier, but the gap can only be estimated from the Ritz values, and on clustered spectra
    (a cluster not yet resolved) that estimate is too large and the bound too small by orders
    of magnitude, so it is not used.

    Args:
        op: the symmetric operator.
        k: number of eigenpairs.
        which: ``"LA"`` the largest (top-k), ``"SA"`` the smallest (bottom-k, e.g. the most
            negative curvature), ``"LM"`` the largest in magnitude.
        block_size: vectors per Lanczos block, computed in one batch of products. Single-vector
            Lanczos (1) finds each distinct eigenvalue once; use at least the largest
            multiplicity expected among the wanted eigenvalues.
        max_steps: at most this many block steps (memory: ``max_steps * block_size`` vectors);
            default ``min(n // block_size, 300)``.
        tol: relative accuracy of the eigenvalues: on convergence an eigenvalue of ``op`` lies
            within ``tol`` :math:`\\cdot \\max_j |\\theta_j|` of each returned one (the
            residual bound above); default :math:`\\sqrt{\\varepsilon}` of the operator's
            dtype (about :math:`3 \\cdot 10^{-4}` in float32, :math:`1.5 \\cdot 10^{-8}` in
            float64). The errors are usually far smaller (about :math:`r_i^2/\\delta_i`).
        seed: seeds the Gaussian start block and the restarts.
        start: a start vector ``(n,)`` or block ``(block_size, n)`` instead of a random one.

    Returns:
        An :class:`EigenResult`; ``converged`` is False if ``max_steps`` ran out first (the
        current Ritz pairs are returned).
    """
    check_operator(op)
    check_int_at_least("k", k, 1)
    check_choice("which", which, WHICH)
    check_int_at_least("block_size", block_size, 1)
    check_int_at_least("seed", seed, 0)
    limit = op.dim // block_size
    if max_steps is None:
        max_steps = min(limit, 300)
    check_int_at_least("max_steps", max_steps, 1)
    if max_steps > limit:
        raise ValueError(f"Invalid max_steps value: {max_steps} (expected at most n // "
                         f"block_size = {limit})")
    if k > max_steps * block_size:
        raise ValueError(f"Invalid k value: {k} (expected at most max_steps * block_size = "
                         f"{max_steps * block_size})")
    tol = torch.finfo(op.dtype).eps ** 0.5 if tol is None else tol
    check_positive("tol", tol)
    if start is None:
        block = probes(op.dim, range(block_size), seed, "gaussian", op.dtype, op.device)
    else:
        block = _check_start(op, start)
        if len(block) != block_size:
            raise ValueError(f"Invalid start value: {len(block)} vectors "
                             f"(expected block_size = {block_size})")

    engine = _BlockLanczos(op, block.unsqueeze(0), max_steps,
                           [probe_generator(seed, 0, stream=1)], True, True)
    history_matvecs, history = [], []
    converged = False
    while engine.steps < max_steps and not converged:
        engine.step()
        if engine.steps * block_size < k:
            continue
        values, vectors = (array.numpy() for array in torch.linalg.eigh(
            engine.tridiagonal()[0]))
        chosen = _wanted(values, k, which)
        all_residuals = np.linalg.norm(engine.betas[-1][0] @ vectors[-block_size:], axis=0)
        history_matvecs.append(engine.num_matvecs)
        history.append(float(values[chosen[0]]))
        converged = bool((all_residuals[chosen] <= tol * np.abs(values).max()).all())
    ritz = torch.from_numpy(vectors[:, chosen].T.copy()).to(
        dtype=op.dtype, device=op.device) @ engine.stored_basis()[0]
    return EigenResult(
        eigenvalues=torch.from_numpy(values[chosen]),
        eigenvectors=ritz / ritz.norm(dim=-1, keepdim=True),
        residuals=torch.from_numpy(all_residuals[chosen]),
        num_matvecs=engine.num_matvecs,
        converged=converged,
        history_matvecs=torch.tensor(history_matvecs, dtype=torch.int64),
        history=torch.tensor(history, dtype=torch.float64),
    )
