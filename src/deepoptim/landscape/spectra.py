r"""Hessian spectral densities at points of parameter space (checkpoints, interpolations).

At a point :math:`\theta` the eigenvalue density of :math:`H = \nabla^2 L(\theta)` over a fixed
data set is estimated by stochastic Lanczos quadrature (:func:`deepoptim.curvature.slq`): the
model's parameters are set to :math:`\theta` only while a
:class:`~deepoptim.curvature.HessianOperator` copies them, then restored bit for bit. With the
same ``seed`` every point uses the same probe vectors, so differences between points are not
differences between random draws. The density is derived in "Hessian spectra with parallel
stochastic Lanczos"; the landscape chapter puts it beside surfaces and trajectories.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from deepoptim.curvature import HessianOperator, SpectralDensity, slq

from .points import parameters_at

__all__ = ["spectra_at", "spectrum_at"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def spectrum_at(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor, targets: torch.Tensor,
                theta: torch.Tensor, *, num_probes: int = 10, num_steps: int = 80, seed: int = 0,
                batch_size: int | None = None, dtype: torch.dtype | None = None,
                train: bool = False) -> SpectralDensity:
    """The spectral density of the Hessian of the loss over ``(inputs, targets)`` at ``theta``.

    Args:
        model: the network (left as it was).
        loss_fn: ``loss_fn(outputs, targets)``, the mean loss of a batch.
        inputs, targets: the fixed data set of the Hessian.
        theta: ``(n,)``, the point (the model's trainable parameters, flat).
        num_probes, num_steps, seed: of :func:`deepoptim.curvature.slq` (probes, Lanczos steps).
        batch_size, dtype, train: of :class:`deepoptim.curvature.HessianOperator`.
    """
    with parameters_at(model, theta):
        operator = HessianOperator(model, loss_fn, inputs, targets, batch_size=batch_size,
                                   dtype=dtype, train=train, cache=True)
    return slq(operator, num_probes, num_steps, seed=seed)


def spectra_at(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor, targets: torch.Tensor,
               points: torch.Tensor, *, num_probes: int = 10, num_steps: int = 80, seed: int = 0,
               batch_size: int | None = None, dtype: torch.dtype | None = None,
               train: bool = False) -> list[SpectralDensity]:
    """:func:`spectrum_at` at each row of ``points`` ``(T, n)``, all with the same probes."""
    if not isinstance(points, torch.Tensor) or points.dim() != 2 or len(points) == 0:
        raise ValueError("Invalid points value: expected a (T, n) tensor of points as rows")
    return [spectrum_at(model, loss_fn, inputs, targets, theta, num_probes=num_probes,
                        num_steps=num_steps, seed=seed, batch_size=batch_size, dtype=dtype,
                        train=train)
            for theta in points]
