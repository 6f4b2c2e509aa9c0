r"""Directions in parameter space for loss-landscape lines and planes.

A surface shows :math:`L(\theta_c + \alpha\,\delta + \beta\,\eta)` around a centre
:math:`\theta_c`. What it shows depends on the directions :math:`\delta, \eta` and on how they
are scaled; every choice is an explicit argument here. Directions are flat vectors (``(n,)``, or
``(k, n)`` for several) in the layout of :mod:`deepoptim.landscape.points`.

**Kinds** (:func:`random_directions`, :func:`eigen_directions`, :func:`pca_directions`,
:func:`line_direction`):

* random Gaussian directions, :math:`d \sim \mathcal N(0, I)`, drawn on the CPU in float64 from
  one generator seeded by ``seed`` (the same numbers on every device and dtype);
* Hessian eigenvectors at the centre, from :func:`deepoptim.curvature.eigsh`: the top
  (``"LA"``), the bottom (``"SA"``, the most negative curvature) or both ends (``"BE"``: the
  top :math:`\lceil k/2\rceil` and the bottom :math:`\lfloor k/2\rfloor`, a saddle's view);
* the principal directions of a trajectory of checkpoints :math:`\theta_0, \dots, \theta_T`: the
  top right singular vectors of the offsets :math:`M_t = \theta_t - \theta_c` (with
  ``mean_center=True`` the rows are first centred on their mean, as ``sklearn``'s PCA in
  Li et al. 2018);
* the line between two points, :math:`\theta_B - \theta_A` (not normalised).

**Normalisation** (:func:`normalize_direction`; the centre :math:`\theta` supplies the scales):

* ``"filter"`` (Li et al. 2018): for each parameter tensor of two or more dimensions, each
  filter (a slice along the first dimension: an output row of a linear layer, an output channel
  of a convolution) is rescaled to the norm of the centre's filter,
  :math:`d_i \leftarrow d_i\,\|\theta_i\| / \|d_i\|`;
* ``"layer"`` (GradVis, Chatzimichailidis et al. 2019): each parameter tensor is rescaled to
  the norm of the centre's tensor, :math:`d_l \leftarrow d_l\,\|\theta_l\| / \|d_l\|`;
* ``"unit"``: the whole vector is scaled to norm one (raw directions: with unit eigenvectors
  the curvature along a line is the eigenvalue, which makes the surface quantitative).

Tensors of at most one dimension (biases, and the scale and shift of normalisation layers) follow
the rule ``bias``: ``"zero"`` (not moved: Li et al.'s ``ignore='biasbn'``), ``"copy"``
(:math:`d_b = \theta_b`, Li et al.'s alternative), ``"normalize"`` (rescaled like a layer:
:math:`\|d_b\| = \|\theta_b\|`, what GradVis does with every tensor named ``bias``) or ``"keep"``
(left as drawn). The default follows each method's source: ``"zero"`` for ``"filter"``,
``"normalize"`` for ``"layer"``, ``"keep"`` for ``"unit"``. A zero slice of a direction stays
zero (Li et al. add :math:`10^{-10}` to the denominator instead, which biases every norm
slightly). After ``"filter"`` or ``"layer"``
normalisation, directions are in general neither unit vectors nor orthogonal, even if they were
eigenvectors before. Buffers (running statistics) are never directions: every point of a
surface uses the model's buffers.

The book compares these planes in "Loss landscapes and optimizer trajectories"
(``notebooks/11_landscapes``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import torch
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least
from deepoptim.curvature import HessianOperator, eigsh, flatten, unflatten

from .points import check_vector, parameters_of

__all__ = [
    "BIAS_RULES",
    "NORMALIZATIONS",
    "EigenDirections",
    "PCADirections",
    "eigen_directions",
    "line_direction",
    "normalize_direction",
    "pca_directions",
    "random_directions",
]

#: How directions are scaled relative to the centre.
NORMALIZATIONS = ("filter", "layer", "unit")
#: What happens to tensors of at most one dimension (biases, normalisation layers).
BIAS_RULES = ("zero", "copy", "normalize", "keep")
#: Each normalisation's rule for such tensors when ``bias=None`` (its source's convention).
DEFAULT_BIAS = {"filter": "zero", "layer": "normalize", "unit": "keep"}


Centre = nn.Module | Mapping[str, torch.Tensor]


def _centre_tensors(center: object) -> dict[str, torch.Tensor]:
    """The centre's parameter tensors: a model's trainable parameters, or a dict as given."""
    if isinstance(center, nn.Module):
        return parameters_of(center)
    if not isinstance(center, Mapping) or not center or not all(
            isinstance(t, torch.Tensor) and t.is_floating_point() for t in center.values()):
        raise TypeError("center must be a torch.nn.Module or a non-empty dict of floating "
                        "point parameter tensors")
    return {name: t.detach() for name, t in center.items()}


def _ratio(target: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    """``target / norm`` where ``norm > 0``, else 0 (a zero slice stays zero)."""
    return torch.where(norm > 0, target / torch.where(norm > 0, norm, 1.0), 0.0)


def _rescaled(d: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``d`` rescaled to the norm of ``reference``: :math:`d\\,\\|r\\| / \\|d\\|`."""
    return d * _ratio(reference.norm(), d.norm())


def _filterwise(d: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Each slice along dimension 0 of ``d`` rescaled to the norm of the same slice of θ."""
    rows, target = d.reshape(len(d), -1), reference.reshape(len(reference), -1)
    scale = _ratio(target.norm(dim=1), rows.norm(dim=1))
    return (rows * scale.unsqueeze(1)).reshape(d.shape)


def _one_dimensional(d: torch.Tensor, reference: torch.Tensor, rule: str) -> torch.Tensor:
    if rule == "zero":
        return torch.zeros_like(d)
    if rule == "copy":
        return reference.to(d.dtype).clone()
    if rule == "normalize":
        return _rescaled(d, reference)
    return d


def normalize_direction(direction: torch.Tensor, center: Centre, method: str = "filter", *,
                        bias: str | None = None) -> torch.Tensor:
    """Scale a flat direction relative to the centre (see the module docstring).

    Args:
        direction: ``(n,)``, in the layout of the centre's trainable parameters.
        center: the model at the centre, or a dict of its parameter tensors.
        method: ``"filter"``, ``"layer"`` or ``"unit"``.
        bias: the rule for tensors of at most one dimension: ``"zero"``, ``"copy"``,
            ``"normalize"`` or ``"keep"``; ``None``: the method's default (``DEFAULT_BIAS``).

    Returns:
        The normalised direction, ``(n,)``, in the direction's dtype.
    """
    tensors = _centre_tensors(center)
    check_choice("method", method, NORMALIZATIONS)
    bias = DEFAULT_BIAS[method] if bias is None else bias
    check_choice("bias", bias, BIAS_RULES)
    direction = check_vector("direction", direction, sum(t.numel() for t in tensors.values()))
    parts = {}
    for name, d in unflatten(direction, tensors).items():
        reference = tensors[name].to(device=d.device, dtype=d.dtype)
        if d.dim() <= 1:
            parts[name] = _one_dimensional(d, reference, bias)
        elif method == "filter":
            parts[name] = _filterwise(d, reference)
        elif method == "layer":
            parts[name] = _rescaled(d, reference)
        else:
            parts[name] = d
    flat = flatten(parts)
    if method == "unit":
        norm = flat.norm()
        if norm == 0:
            raise ValueError("Invalid direction value: zero after the bias rule "
                             f"{bias!r} (cannot be scaled to norm one)")
        flat = flat / norm
    return flat


def random_directions(center: Centre, k: int = 2, *, seed: int = 0, normalization: str = "filter",
                      bias: str | None = None) -> torch.Tensor:
    """``k`` random Gaussian directions, each normalised relative to the centre.

    The entries are drawn in float64 on the CPU from ``torch.Generator().manual_seed(seed)``,
    direction after direction, then cast to the centre's dtype and device: a seed gives the
    same directions everywhere. Returns ``(k, n)``.
    """
    tensors = _centre_tensors(center)
    check_int_at_least("k", k, 1)
    check_int_at_least("seed", seed, 0)
    check_choice("normalization", normalization, NORMALIZATIONS)
    if bias is not None:
        check_choice("bias", bias, BIAS_RULES)
    like = next(iter(tensors.values()))
    dim = sum(t.numel() for t in tensors.values())
    generator = torch.Generator().manual_seed(seed)
    draws = torch.randn(k, dim, generator=generator, dtype=torch.float64)
    draws = draws.to(dtype=like.dtype, device=like.device)
    return torch.stack([normalize_direction(d, tensors, normalization, bias=bias) for d in draws])


@dataclasses.dataclass(frozen=True)
class EigenDirections:
    """Hessian eigenvectors as directions.

    Attributes:
        vectors: ``(k, n)``, the directions (normalised as asked; unit eigenvectors for
            ``"unit"``).
        eigenvalues: ``(k,)`` float64, in the order of ``vectors``.
        residuals: ``(k,)`` float64, :math:`\\|Hu - \\lambda u\\|` of each unit eigenvector.
        converged: every pair met :func:`~deepoptim.curvature.eigsh`'s tolerance.
    """

    vectors: torch.Tensor
    eigenvalues: torch.Tensor
    residuals: torch.Tensor
    converged: bool


#: Which eigenvectors: largest algebraic, smallest algebraic, largest magnitude, both ends.
WHICH = ("LA", "SA", "LM", "BE")


def eigen_directions(operator: HessianOperator, k: int = 2, which: str = "LA", *,
                     normalization: str = "unit", bias: str | None = None, seed: int = 0,
                     tol: float | None = None, max_steps: int | None = None) -> EigenDirections:
    """Eigenvectors of the Hessian at the operator's point as directions.

    Args:
        operator: the Hessian at the centre, over all trainable parameters (a
            :class:`~deepoptim.curvature.HessianOperator` built with ``parameters=None``).
        k: number of directions.
        which: ``"LA"`` top-k, ``"SA"`` bottom-k, ``"LM"`` largest magnitude, ``"BE"`` both
            ends (the top :math:`\\lceil k/2\\rceil`, then the bottom :math:`\\lfloor k/2\\rfloor`).
        normalization: as in :func:`normalize_direction` (``"unit"``: raw eigenvectors).
        bias: as in :func:`normalize_direction`.
        seed, tol, max_steps: passed to :func:`deepoptim.curvature.eigsh`.
    """
    if not isinstance(operator, HessianOperator):
        raise TypeError(f"operator must be a deepoptim.curvature.HessianOperator, "
                        f"got {type(operator).__name__}")
    check_int_at_least("k", k, 1)
    check_choice("which", which, WHICH)
    check_choice("normalization", normalization, NORMALIZATIONS)
    if bias is not None:
        check_choice("bias", bias, BIAS_RULES)
    ends = [("LA", math.ceil(k / 2)), ("SA", k // 2)] if which == "BE" else [(which, k)]
    results = [eigsh(operator, count, which=end, seed=seed, tol=tol, max_steps=max_steps)
               for end, count in ends if count > 0]
    centre = operator.unflatten(operator.point)
    vectors = torch.cat([r.eigenvectors for r in results])
    return EigenDirections(
        vectors=torch.stack([normalize_direction(v, centre, normalization, bias=bias)
                             for v in vectors]),
        eigenvalues=torch.cat([r.eigenvalues for r in results]),
        residuals=torch.cat([r.residuals for r in results]),
        converged=all(r.converged for r in results),
    )


@dataclasses.dataclass(frozen=True)
class PCADirections:
    """The principal directions of a trajectory.

    Attributes:
        vectors: ``(k, n)``, orthonormal; each signed so that its entry of largest magnitude
            is positive (deterministic).
        explained_variance_ratio: ``(k,)`` float64, :math:`s_i^2 / \\sum_j s_j^2` of the
            offsets' singular values: the share of the trajectory's spread along each.
        center: ``(n,)``, the centre the offsets were taken from.
    """

    vectors: torch.Tensor
    explained_variance_ratio: torch.Tensor
    center: torch.Tensor


def pca_directions(points: torch.Tensor, k: int = 2, *, center: torch.Tensor | None = None,
                   mean_center: bool = True) -> PCADirections:
    """Principal directions of checkpoints ``points`` ``(T, n)`` around ``center``.

    Args:
        points: the checkpoints :math:`\\theta_t` as rows.
        k: number of directions, at most ``T``.
        center: :math:`\\theta_c`; default the last checkpoint (where training ended).
        mean_center: subtract the mean of the offsets :math:`\\theta_t - \\theta_c` before the
            decomposition (PCA proper, Li et al. 2018); ``False``: the best-fitting subspace
            through :math:`\\theta_c` itself.

    The decomposition is a float64 SVD; the vectors are returned in the points' dtype.
    """
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or len(points) < 2 \
            or not points.is_floating_point():
        raise ValueError("Invalid points value: expected a floating point (T, n) tensor with "
                         "T >= 2 checkpoints as rows")
    check_int_at_least("k", k, 1)
    if k > min(points.shape):
        raise ValueError(f"Invalid k value: {k} (expected at most min(T, n) = "
                         f"{min(points.shape)})")
    center = points[-1] if center is None else check_vector("center", center, points.shape[1])
    offsets = (points - center).to(torch.float64)
    if mean_center:
        offsets = offsets - offsets.mean(dim=0)
    _, singular, vh = torch.linalg.svd(offsets, full_matrices=False)
    vectors = vh[:k]
    largest = vectors.abs().argmax(dim=1)
    signs = torch.sign(vectors.gather(1, largest.unsqueeze(1)))
    signs = torch.where(signs == 0, torch.ones_like(signs), signs)
    total = (singular ** 2).sum()
    ratio = singular[:k] ** 2 / total if total > 0 else torch.zeros(k, dtype=torch.float64)
    return PCADirections(vectors=(vectors * signs).to(points.dtype),
                         explained_variance_ratio=ratio, center=center.clone())


def line_direction(theta_a: torch.Tensor, theta_b: torch.Tensor) -> torch.Tensor:
    """The direction :math:`\\theta_B - \\theta_A` from one point to another (not normalised)."""
    if not isinstance(theta_a, torch.Tensor):
        raise TypeError(f"theta_a must be a torch.Tensor, got {type(theta_a).__name__}")
    theta_a = check_vector("theta_a", theta_a, theta_a.numel())
    theta_b = check_vector("theta_b", theta_b, theta_a.numel())
    return theta_b - theta_a
