r"""The landscape between two points: loss, accuracy and spectra along the line joining them.

For two parameter vectors :math:`\theta_A, \theta_B` (e.g. two independently trained minima)
the line is

.. math::

    \theta(\alpha) = (1 - \alpha)\,\theta_A + \alpha\,\theta_B
                   = \theta_A + \alpha\,(\theta_B - \theta_A),

with :math:`\alpha = 0` at :math:`A` and :math:`\alpha = 1` at :math:`B`; values outside
:math:`[0, 1]` extrapolate past the ends. :func:`interpolate` gives the loss and accuracy on
it (a one-dimensional :class:`~deepoptim.landscape.Surface` whose ``x`` is :math:`\alpha`), and
:func:`spectra_along` the Hessian's spectral density at chosen :math:`\alpha` (the thesis's
"landscape between two minima with the spectral density at intermediate points"). Without
aligning the hidden units of the two networks (they are equal only up to a permutation), the
line usually crosses a barrier between them; :func:`loss_barrier` measures it as the largest
excess of the loss over the chord between the end values (Frankle et al. 2020),

.. math::

    B = \max_{0 \le \alpha \le 1}\; L(\theta(\alpha))
        - \big[(1 - \alpha)\, L(\theta_A) + \alpha\, L(\theta_B)\big],

and where on the segment it is. The book measures it in "Loss landscapes and optimizer
trajectories" (``notebooks/11_landscapes``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import torch
from torch import nn

from deepoptim.curvature import SpectralDensity

from .directions import line_direction
from .spectra import spectra_at
from .surface import Surface, loss_surface

__all__ = ["LossBarrier", "interpolate", "interpolation_points", "loss_barrier", "spectra_along"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def interpolation_points(theta_a: torch.Tensor, theta_b: torch.Tensor,
                         alphas: Sequence[float]) -> torch.Tensor:
    """The points :math:`\\theta(\\alpha)` as rows ``(len(alphas), n)``, formed in float64 and
    returned in the dtype of ``theta_a``."""
    direction = line_direction(theta_a, theta_b).to(torch.float64)
    alphas = torch.as_tensor(alphas, dtype=torch.float64).reshape(-1, 1).to(direction.device)
    if len(alphas) == 0 or not torch.isfinite(alphas).all():
        raise ValueError("Invalid alphas value: expected a non-empty sequence of finite numbers")
    return (theta_a.detach().to(torch.float64) + alphas * direction).to(theta_a.dtype)


def interpolate(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor, targets: torch.Tensor,
                theta_a: torch.Tensor, theta_b: torch.Tensor, alphas: Sequence[float], *,
                batch_size: int | None = None, chunk_size: int | None = None,
                train: bool = False, accuracy: bool = True) -> Surface:
    """Loss and accuracy at :math:`\\theta(\\alpha)` for each ``alpha`` (a line surface).

    The arguments after ``alphas`` are those of :func:`~deepoptim.landscape.loss_surface`;
    the model is left as it was.
    """
    return loss_surface(model, loss_fn, inputs, targets, line_direction(theta_a, theta_b),
                        alphas, center=theta_a, batch_size=batch_size, chunk_size=chunk_size,
                        train=train, accuracy=accuracy)


def spectra_along(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                  targets: torch.Tensor, theta_a: torch.Tensor, theta_b: torch.Tensor,
                  alphas: Sequence[float], *, num_probes: int = 10, num_steps: int = 80,
                  seed: int = 0, batch_size: int | None = None,
                  dtype: torch.dtype | None = None) -> list[SpectralDensity]:
    """The Hessian's spectral density at :math:`\\theta(\\alpha)` for each ``alpha``.

    Every point uses the same probes (``seed``); the arguments are those of
    :func:`~deepoptim.landscape.spectrum_at`.
    """
    return spectra_at(model, loss_fn, inputs, targets,
                      interpolation_points(theta_a, theta_b, alphas), num_probes=num_probes,
                      num_steps=num_steps, seed=seed, batch_size=batch_size, dtype=dtype)


@dataclasses.dataclass(frozen=True)
class LossBarrier:
    """The barrier on the segment between two points, from :func:`loss_barrier`.

    Attributes:
        height: :math:`B`, the largest excess of the loss over the chord on :math:`[0, 1]`;
            zero when the loss lies on or below the chord (the ends' excess is zero).
        alpha: the :math:`\\alpha` where it is reached (the first one, on ties).
        loss_a: :math:`L(\\theta_A)`, the loss at :math:`\\alpha = 0`.
        loss_b: :math:`L(\\theta_B)`, the loss at :math:`\\alpha = 1`.
    """

    height: float
    alpha: float
    loss_a: float
    loss_b: float


def loss_barrier(line: Surface) -> LossBarrier:
    """The loss barrier on a line from :func:`interpolate`, over its grid points in :math:`[0, 1]`.

    ``line.x`` holds the :math:`\\alpha` of the points, which must include 0 and 1 exactly
    (the ends of the chord); points outside :math:`[0, 1]` are ignored. The barrier is a
    maximum over the grid, so it is exact only up to the grid's spacing.
    """
    if not isinstance(line, Surface) or line.y is not None:
        raise ValueError("Invalid line value: expected a one-dimensional Surface")
    alphas, loss = line.x, line.loss
    ends = [(alphas == end).nonzero().flatten() for end in (0.0, 1.0)]
    if any(len(index) == 0 for index in ends):
        raise ValueError(f"Invalid line value: alphas from {float(alphas.min())} to "
                         f"{float(alphas.max())} (expected 0 and 1 among them)")
    loss_a, loss_b = (float(loss[index[0]]) for index in ends)
    inside = (alphas >= 0) & (alphas <= 1)
    excess = (loss - ((1 - alphas) * loss_a + alphas * loss_b))[inside]
    return LossBarrier(height=float(excess.max()), alpha=float(alphas[inside][excess.argmax()]),
                       loss_a=loss_a, loss_b=loss_b)
