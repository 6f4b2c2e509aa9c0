"""Minimisation of a toy objective of one parameter tensor (a quadratic, Rosenbrock).

:func:`minimize` runs any optimizer through a closure and returns the trajectory, so
chapters can compare it with the known optimum.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from deepoptim._checks import check_int_at_least

from .closures import closure_of

__all__ = ["minimize"]


def minimize(
    objective: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise ``objective`` over one tensor from ``x0``; return the path and its values.

    Returns ``(path, values)`` with ``path[t]`` the iterate after ``t`` steps (``path[0]``
    is ``x0``) and ``values[t] = objective(path[t])``.
    """
    check_int_at_least("steps", steps, 1)
    x = x0.detach().clone().requires_grad_(True)
    optimizer = make_optimizer([x])
    closure = closure_of(lambda: objective(x), optimizer)
    path = [x.detach().clone()]
    for _ in range(steps):
        optimizer.step(closure)
        path.append(x.detach().clone())
    trajectory = torch.stack(path)
    with torch.no_grad():
        values = torch.stack([objective(p) for p in trajectory])
    return trajectory, values
