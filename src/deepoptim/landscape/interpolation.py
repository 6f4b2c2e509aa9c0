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
line usually crosses a barrier between them. The book measures it in "Loss landscapes and
optimizer trajectories" (``notebooks/11_landscapes``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from deepoptim.curvature import SpectralDensity

from .directions import line_direction
from .spectra import spectra_at
from .surface import Surface, loss_surface

__all__ = ["interpolate", "interpolation_points", "spectra_along"]

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
