"""Generated toy problems: ill-conditioned quadratics, the Rosenbrock function, Gaussian mixtures.

The quadratic is the model problem of every step-size and momentum analysis (its condition
number sets the rate of gradient descent); Rosenbrock's curved valley is the classic test for
methods that adapt to curvature; the 2-D Gaussian mixtures are small classification problems
and the target distribution of the GAN chapter (mode collapse shows as missing components).
Everything is seeded through a private ``torch.Generator``, never the global RNG.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from deepoptim._checks import check_choice, check_in_range, check_int_at_least

from ._base import ClassificationData

MIXTURE_KINDS = ("ring", "grid")


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Quadratic:
    r"""The quadratic :math:`f(x) = \tfrac12 (x - x^*)^\top A (x - x^*) + f^*`.

    Its gradient is :math:`\nabla f(x) = A (x - x^*)`, its Hessian the constant symmetric
    positive definite :math:`A` (``hessian``) with eigenvalues
    :math:`\lambda_{\min} \le \dots \le \lambda_{\max}` (``eigenvalues``, ascending), its unique
    minimizer :math:`x^*` (``minimizer``) with value :math:`f^*` (``min_value``).

    Gradient descent :math:`x \leftarrow x - \eta \nabla f(x)` contracts the error along the
    eigenvector of :math:`\lambda_i` by :math:`|1 - \eta \lambda_i|`. It converges for every start
    exactly when :math:`0 < \eta < 2/\lambda_{\max}` (the stability limit,
    :attr:`stability_limit`), and the best constant step is
    :math:`\eta^* = 2/(\lambda_{\min} + \lambda_{\max})` (:attr:`optimal_step_size`), which gives
    the rate :math:`(\kappa - 1)/(\kappa + 1)` per step, where
    :math:`\kappa = \lambda_{\max}/\lambda_{\min}` is the condition number.
    Build one with :func:`quadratic`.
    """

    hessian: torch.Tensor
    eigenvalues: torch.Tensor
    minimizer: torch.Tensor
    min_value: float

    @property
    def dim(self) -> int:
        """Dimension of x."""
        return len(self.minimizer)

    @property
    def condition_number(self) -> float:
        r""":math:`\kappa = \lambda_{\max} / \lambda_{\min}`."""
        return float(self.eigenvalues[-1] / self.eigenvalues[0])

    @property
    def optimal_step_size(self) -> float:
        r"""The best constant gradient-descent step :math:`2/(\lambda_{\min} + \lambda_{\max})`."""
        return 2.0 / float(self.eigenvalues[0] + self.eigenvalues[-1])

    @property
    def stability_limit(self) -> float:
        r"""Gradient descent diverges for steps above :math:`2/\lambda_{\max}`."""
        return 2.0 / float(self.eigenvalues[-1])

    def __repr__(self) -> str:
        return (
            f"Quadratic(dim={self.dim}, condition_number={self.condition_number:.4g}, "
            f"min_value={self.min_value}, dtype={self.hessian.dtype})"
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """f(x) for one point of shape (dim,) (a scalar) or a batch (B, dim) (shape (B,))."""
        error = self._error(x)
        return 0.5 * ((error @ self.hessian) * error).sum(-1) + self.min_value

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`A (x - x^*)`, the same shape as ``x``."""
        return self._error(x) @ self.hessian  # A is symmetric

    def _error(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (1, 2) or x.shape[-1] != self.dim:
            raise ValueError(
                f"Invalid x value: a tensor of shape {tuple(x.shape)} "
                f"(expected ({self.dim},) or (batch, {self.dim}))"
            )
        return x - self.minimizer


def quadratic(
    dim: int = 20,
    condition_number: float = 100.0,
    *,
    min_value: float = 0.0,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Quadratic:
    r"""A random :class:`Quadratic` with eigenvalues log-spaced from 1 to ``condition_number``.

    :math:`A = Q \operatorname{diag}(\lambda) Q^\top` with :math:`\lambda_i =
    \kappa^{i/(d-1)}` (so :math:`\lambda_{\min} = 1`, :math:`\lambda_{\max} = \kappa`; for
    ``dim=1`` the single eigenvalue is 1), :math:`Q` a uniformly random orthogonal matrix and
    :math:`x^*` standard normal, both drawn from ``seed``. Built in float64, then cast to ``dtype``.
    """
    check_int_at_least("dim", dim, 1)
    check_in_range("condition_number", condition_number, 1.0, math.inf)
    check_int_at_least("seed", seed, 0)
    if not dtype.is_floating_point:
        raise ValueError(f"Invalid dtype value: {dtype} (expected a floating point dtype)")

    generator = torch.Generator().manual_seed(seed)
    gaussian = torch.randn(dim, dim, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.sign(torch.diagonal(r))  # makes Q Haar-distributed
    minimizer = torch.randn(dim, generator=generator, dtype=torch.float64)
    eigenvalues = condition_number ** torch.linspace(0.0, 1.0, dim, dtype=torch.float64)
    hessian = (q * eigenvalues) @ q.T
    hessian = 0.5 * (hessian + hessian.T)  # exactly symmetric
    return Quadratic(
        hessian=hessian.to(device=device, dtype=dtype),
        eigenvalues=eigenvalues.to(device=device, dtype=dtype),
        minimizer=minimizer.to(device=device, dtype=dtype),
        min_value=float(min_value),
    )


def rosenbrock(x: torch.Tensor, a: float = 1.0, b: float = 100.0) -> torch.Tensor:
    r"""The chained n-dimensional Rosenbrock function.

    :math:`f(x) = \sum_{i=1}^{n-1} b (x_{i+1} - x_i^2)^2 + (a - x_i)^2` over the last dimension
    of ``x`` (n >= 2), so a 1-D tensor gives a scalar and a batch (B, n) gives shape (B,). For
    ``a = 1`` its global minimum is 0 at the all-ones point (:func:`rosenbrock_minimizer`).
    """
    if x.dim() < 1 or x.shape[-1] < 2:
        raise ValueError(
            f"Invalid x value: a tensor of shape {tuple(x.shape)} (expected at least 2 coordinates)"
        )
    head, tail = x[..., :-1], x[..., 1:]
    return (b * (tail - head**2) ** 2 + (a - head) ** 2).sum(-1)


def rosenbrock_minimizer(
    dim: int, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None
) -> torch.Tensor:
    """The global minimizer of :func:`rosenbrock` with ``a = 1``: all ones, where the value is 0.

    (For ``a != 1`` only the 2-D case has the closed form ``(a, a**2)``.)
    """
    check_int_at_least("dim", dim, 2)
    return torch.ones(dim, dtype=dtype, device=device)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class GaussianMixture(ClassificationData):
    """A 2-D mixture of equally weighted isotropic Gaussians as a classification problem.

    Label = index of the component a point was drawn from; ``centers`` (num_classes, 2) are the
    component means, ``std`` their common standard deviation. :meth:`sample` draws fresh points
    from the same distribution (e.g. as the real data of a GAN).
    """

    centers: torch.Tensor
    std: float

    def sample(
        self, n: int, *, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` new points (n, 2) and their labels (n,), drawn with ``generator`` (a CPU one)."""
        check_int_at_least("n", n, 1)
        return _sample_mixture(self.centers, self.std, n, generator)


def gaussian_mixture(
    kind: str = "ring",
    *,
    n_samples: int = 2000,
    n_components: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    test_fraction: float = 0.2,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> GaussianMixture:
    """``n_samples`` points from a 2-D Gaussian mixture, the last ``test_fraction`` as a test set.

    ``kind="ring"``: ``n_components`` centres evenly spaced on the circle of ``radius`` around
    the origin, the first at ``(radius, 0)``. ``kind="grid"``: a ``k x k`` grid of centres
    (``n_components = k**2``, k >= 2) evenly spaced over the square ``[-radius, radius]**2``,
    in row-major order. Components are equally likely; each has standard deviation ``std``.
    x is float32 of shape (N, 2); labels are component indices.
    """
    check_choice("kind", kind, MIXTURE_KINDS)
    check_int_at_least("n_components", n_components, 2)
    side = math.isqrt(n_components)
    if kind == "grid" and side * side != n_components:
        raise ValueError(
            f"Invalid n_components value: {n_components!r} "
            "(expected a perfect square for a grid, e.g. 4, 9, 25)"
        )
    check_int_at_least("n_samples", n_samples, 2)
    check_in_range("radius", radius, 0.0, math.inf, low_inclusive=False)
    check_in_range("std", std, 0.0, math.inf, low_inclusive=False)
    check_in_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False)
    num_test = round(n_samples * test_fraction)
    if not 0 < num_test < n_samples:
        raise ValueError(
            f"Invalid test_fraction value: {test_fraction!r} "
            f"(expected a non-empty train and test split of {n_samples} samples)"
        )
    check_int_at_least("seed", seed, 0)

    if kind == "ring":
        angles = 2 * math.pi * torch.arange(n_components, dtype=torch.float64) / n_components
        centers = radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    else:
        coordinates = torch.linspace(-radius, radius, side, dtype=torch.float64)
        centers = torch.cartesian_prod(coordinates, coordinates)
    centers = centers.float()
    x, y = _sample_mixture(centers, std, n_samples, torch.Generator().manual_seed(seed))
    num_train = n_samples - num_test
    data = GaussianMixture(
        name=f"gaussian_mixture_{kind}",
        x_train=x[:num_train],
        y_train=y[:num_train],
        x_test=x[num_train:],
        y_test=y[num_train:],
        num_classes=n_components,
        centers=centers,
        std=float(std),
    )
    return data.to(device)


def _sample_mixture(
    centers: torch.Tensor, std: float, n: int, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.randint(len(centers), (n,), generator=generator)
    noise = torch.randn(n, centers.shape[1], generator=generator, dtype=centers.dtype)
    labels, noise = labels.to(centers.device), noise.to(centers.device)
    return centers[labels] + std * noise, labels
