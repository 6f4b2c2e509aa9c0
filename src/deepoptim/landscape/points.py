r"""Points in parameter space: a model's trainable parameters as one flat vector.

Every landscape tool works in the space :math:`\mathbb{R}^n` of a model's *trainable* parameters
(those with ``requires_grad``), flattened in ``named_parameters()`` order: the order of
:func:`deepoptim.curvature.flatten` and of :class:`deepoptim.curvature.HessianOperator`'s
vectors, so Hessian eigenvectors are directions here without conversion. Buffers (batch
normalisation's running statistics) and frozen parameters are not coordinates: every point of a
surface keeps them at the model's values.

* :func:`parameters_of`: detached copies of the trainable parameters, as a dict;
* :func:`flat_parameters`: the same as one flat vector, :math:`\theta`;
* :func:`parameters_at`: a context in which the model's parameters are set to a given
  :math:`\theta`, restored bit for bit afterwards (also after an error).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from deepoptim.curvature import flatten, unflatten

__all__ = ["check_vector", "flat_parameters", "parameters_at", "parameters_of"]


def _trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    named = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not named:
        raise ValueError("Invalid model value: it has no trainable parameter")
    return named


def parameters_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """Detached copies of the trainable parameters, in ``named_parameters()`` order."""
    return {name: p.detach().clone() for name, p in _trainable(model).items()}


def flat_parameters(model: nn.Module) -> torch.Tensor:
    """The trainable parameters as one flat vector :math:`\\theta` (a copy)."""
    return flatten(parameters_of(model))


def check_vector(name: str, vector: object, dim: int) -> torch.Tensor:
    """Require a floating point tensor of shape ``(dim,)``; return it detached."""
    if not isinstance(vector, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(vector).__name__}")
    if vector.shape != (dim,) or not vector.is_floating_point():
        raise ValueError(f"Invalid {name} value: shape {tuple(vector.shape)}, {vector.dtype} "
                         f"(expected a floating point vector of {dim} entries)")
    return vector.detach()


@contextlib.contextmanager
def parameters_at(model: nn.Module, theta: torch.Tensor) -> Iterator[nn.Module]:
    """Set the model's trainable parameters to ``theta`` inside the block; restore them after.

    The previous values are copied before and written back on exit, so the parameters are
    bit for bit what they were, whatever happened inside the block. ``theta`` is cast to each
    parameter's dtype and device. Yields the model.
    """
    named = _trainable(model)
    theta = check_vector("theta", theta, sum(p.numel() for p in named.values()))
    saved = {name: p.detach().clone() for name, p in named.items()}
    try:
        with torch.no_grad():
            for name, value in unflatten(theta, named).items():
                named[name].copy_(value)
        yield model
    finally:
        with torch.no_grad():
            for name, value in saved.items():
                named[name].copy_(value)
