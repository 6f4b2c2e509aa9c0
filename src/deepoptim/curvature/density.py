r"""Stochastic Lanczos quadrature (SLQ): the eigenvalue spectral density of a symmetric operator.

The spectral density of :math:`A \in \mathbb{R}^{n\times n}` with eigenvalues
:math:`\lambda_1,\dots,\lambda_n` is :math:`\phi(t) = \frac1n\sum_i \delta(t - \lambda_i)`. For a
unit vector :math:`q` with :math:`\mathbb{E}[qq^\top] = I/n` (a normalised Rademacher or Gaussian
probe), :math:`\mathbb{E}[q^\top f(A)\, q] = \frac1n \operatorname{tr} f(A) = \int f\,d\phi`.
Lanczos from :math:`q` gives the Gauss quadrature of the spectral measure of :math:`q`
(Golub and Welsch): with :math:`T_m = Y \Theta Y^\top`,

.. math::

    q^\top f(A)\, q \approx \sum_{k=1}^m w_k f(\theta_k), \qquad w_k = (e_1^\top y_k)^2,

exact for polynomials of degree :math:`\le 2m-1`, with :math:`\sum_k w_k = 1`. Averaging over
:math:`n_v` probes and replacing each node by a Gaussian of standard deviation :math:`\sigma`
gives the smoothed density (Ubaru, Chen and Saad 2017; Ghorbani, Krishnan and Xiao 2019)

.. math::

    \hat\phi_\sigma(t) = \frac{1}{n_v}\sum_{l=1}^{n_v}\sum_{k=1}^m w^{(l)}_k\,
    \frac{1}{\sigma\sqrt{2\pi}} \exp\!\Big(-\frac{(t-\theta^{(l)}_k)^2}{2\sigma^2}\Big),

which integrates to one. ``sigma`` is always a standard deviation, in the units of the
eigenvalues (PyHessian's ``sigma_squared`` is a variance, scaled by the spectral range).

Parallel layout on one device: the probes' Lanczos chains run side by side (``chunk_size``
chains at a time), their products computed in one batch; each chain gives exactly what it gives
alone, so the result does not depend on ``chunk_size``. Across processes see
:mod:`deepoptim.curvature.parallel`. The book derives SLQ in "Hessian spectra with parallel
stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from deepoptim._checks import check_in_range, check_int_at_least, check_positive

from ._random import check_probe_arguments, probe_generator, probes
from .lanczos import _run
from .operators import LinearOperator, check_operator

__all__ = ["SpectralDensity", "density_grid", "slq"]


@dataclasses.dataclass(frozen=True)
class SpectralDensity:
    """The Gauss quadratures of ``num_probes`` Lanczos chains: nodes and weights per probe.

    Attributes:
        nodes: ``(num_probes, m)`` float64, the Ritz values :math:`\\theta^{(l)}_k`.
        weights: ``(num_probes, m)`` float64, :math:`w^{(l)}_k \\ge 0`, each row summing to one.
        dim: :math:`n`, the dimension of the operator.
        num_matvecs: products spent (``num_probes * m``).
    """

    nodes: torch.Tensor
    weights: torch.Tensor
    dim: int
    num_matvecs: int

    @property
    def num_probes(self) -> int:
        return len(self.nodes)

    def moments(self, power: int) -> torch.Tensor:
        """Per probe :math:`\\sum_k w_k \\theta_k^p = q^\\top A^p q` (exact for
        :math:`p \\le 2m-1`)."""
        check_int_at_least("power", power, 0)
        return (self.weights * self.nodes ** power).sum(dim=1)

    def moment(self, power: int) -> float:
        """The estimate of :math:`\\operatorname{tr}(A^p)/n`: the mean of :meth:`moments`."""
        return float(self.moments(power).mean())

    def trace(self) -> float:
        """The estimate of :math:`\\operatorname{tr}(A)` (Hutchinson's, through the quadrature)."""
        return self.dim * self.moment(1)

    def cdf(self, values: torch.Tensor) -> torch.Tensor:
        """The estimated fraction of eigenvalues :math:`\\le t` for each ``t`` in ``values``."""
        values = torch.as_tensor(values, dtype=torch.float64).to(self.nodes.device)
        below = self.nodes.unsqueeze(-1) <= values.reshape(-1)
        return (self.weights.unsqueeze(-1) * below).sum(dim=1).mean(dim=0).reshape(values.shape)

    def density(self, grid: torch.Tensor, sigma: float) -> torch.Tensor:
        """The smoothed density :math:`\\hat\\phi_\\sigma` at the points of ``grid``.

        Args:
            grid: points :math:`t` (any shape).
            sigma: the standard deviation of the Gaussian placed on every node.
        """
        check_positive("sigma", sigma)
        points = torch.as_tensor(grid, dtype=torch.float64).to(self.nodes.device)
        z = (points.reshape(-1, 1) - self.nodes.reshape(1, -1)) / sigma
        kernel = torch.exp(-0.5 * z ** 2) / (sigma * math.sqrt(2 * math.pi))
        weighted = kernel @ self.weights.reshape(-1) / self.num_probes
        return weighted.reshape(points.shape)


def density_grid(spectra: SpectralDensity | Sequence[SpectralDensity] | torch.Tensor,
                 sigma: float, num_points: int = 1000, margin: float = 5.0) -> torch.Tensor:
    """Evenly spaced points covering a spectrum, ``margin`` standard deviations beyond its ends.

    The grid runs from :math:`\\min_k \\theta_k - m\\sigma` to :math:`\\max_k \\theta_k + m\\sigma`
    (float64, ``num_points`` points), where the :math:`\\theta_k` are the nodes of one
    :class:`SpectralDensity` or of several (one grid to draw them on together), or the entries
    of a tensor of eigenvalues. With the default margin the Gaussians of the smoothed density
    :math:`\\hat\\phi_\\sigma` lie on the grid up to :math:`3\\cdot 10^{-7}` of their mass,
    so with a few points per :math:`\\sigma` it integrates to one over the grid. With
    ``margin=0`` the grid spans the values themselves (a grid for a distribution function).
    """
    if isinstance(spectra, torch.Tensor):
        values = [spectra.detach()]
    elif isinstance(spectra, SpectralDensity):
        values = [spectra.nodes]
    else:
        values = [s.nodes for s in spectra] if all(
            isinstance(s, SpectralDensity) for s in spectra) else []
    if not values or any(v.numel() == 0 or not torch.isfinite(v).all() for v in values):
        raise ValueError("Invalid spectra value: expected a SpectralDensity, a non-empty "
                         "sequence of them, or a non-empty tensor of finite eigenvalues")
    check_positive("sigma", sigma)
    check_int_at_least("num_points", num_points, 2)
    check_in_range("margin", margin, 0.0, math.inf)
    low = min(float(v.min()) for v in values) - margin * sigma
    high = max(float(v.max()) for v in values) + margin * sigma
    return torch.linspace(low, high, num_points, dtype=torch.float64)


def quadrature(tridiagonals: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gauss quadrature of each ``(m, m)`` tridiagonal: nodes (eigenvalues) and weights
    (squared first components of the eigenvectors), each ``(k, m)`` float64."""
    values, vectors = torch.linalg.eigh(tridiagonals.to(torch.float64))
    return values, vectors[:, 0, :] ** 2


def check_slq_arguments(op: object, num_probes: int, num_steps: int, seed: int,
                        distribution: str, chunk_size: int | None) -> None:
    """Validate the arguments shared by :func:`slq` and its distributed version."""
    check_operator(op)
    check_int_at_least("num_probes", num_probes, 1)
    check_int_at_least("num_steps", num_steps, 1)
    if num_steps > op.dim:
        raise ValueError(f"Invalid num_steps value: {num_steps} (expected at most n = {op.dim})")
    check_probe_arguments(seed, distribution)
    if chunk_size is not None:
        check_int_at_least("chunk_size", chunk_size, 1)


def slq_chains(op: LinearOperator, indices: Sequence[int], num_steps: int, seed: int,
               distribution: str, chunk_size: int | None, reorthogonalize: bool
               ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Quadratures of the probes with these indices, ``chunk_size`` chains at a time.

    Returns ``(nodes, weights, num_matvecs)`` with one row per index (on the CPU).
    """
    nodes, weights, matvecs = [], [], 0
    step = chunk_size or max(len(indices), 1)
    for begin in range(0, len(indices), step):
        chunk = list(indices[begin:begin + step])
        start = probes(op.dim, chunk, seed, distribution, op.dtype, op.device)
        generators = [probe_generator(seed, index, stream=1) for index in chunk]
        engine = _run(op, start.unsqueeze(1), num_steps, reorthogonalize, False, generators)
        chunk_nodes, chunk_weights = quadrature(engine.tridiagonal())
        nodes.append(chunk_nodes.cpu())
        weights.append(chunk_weights.cpu())
        matvecs += engine.num_matvecs
    if not nodes:
        empty = torch.empty(0, num_steps, dtype=torch.float64)
        return empty, empty.clone(), 0
    return torch.cat(nodes), torch.cat(weights), matvecs


def slq(op: LinearOperator, num_probes: int = 10, num_steps: int = 80, *, seed: int = 0,
        distribution: str = "rademacher", chunk_size: int | None = None,
        reorthogonalize: bool = True) -> SpectralDensity:
    """Stochastic Lanczos quadrature: the spectral density of ``op`` from random probes.

    Args:
        op: the symmetric operator.
        num_probes: :math:`n_v`, independent probes (the Monte Carlo part).
        num_steps: :math:`m`, Lanczos steps per probe (the resolution: :math:`m` nodes each).
        seed: probe ``l`` is drawn from its own generator seeded by ``(seed, l)``, so the result
            is the same for every ``chunk_size`` and in every parallel layout.
        distribution: ``"rademacher"`` (entries :math:`\\pm 1`) or ``"gaussian"``.
        chunk_size: how many chains run side by side, their products in one batch
            (``None``: all; ``1``: one after another). Memory grows with it: the Lanczos bases
            of the chains at once, and the operator's batch of products.
        reorthogonalize: full reorthogonalisation of every chain (recommended).

    Returns:
        A :class:`SpectralDensity`; ``result.density(grid, sigma)`` gives the smoothed density.
    """
    check_slq_arguments(op, num_probes, num_steps, seed, distribution, chunk_size)
    nodes, weights, matvecs = slq_chains(op, range(num_probes), num_steps, seed, distribution,
                                         chunk_size, reorthogonalize)
    return SpectralDensity(nodes=nodes, weights=weights, dim=op.dim, num_matvecs=matvecs)
