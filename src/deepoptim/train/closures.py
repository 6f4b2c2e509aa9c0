"""Closures and the closure-driven optimizer step every task uses.

Closures follow the package convention (``deepoptim.optim._base``): with grad mode enabled
a closure zeroes the gradients, back-propagates and returns the loss; with grad mode
disabled it only returns the loss. :func:`optimizer_step` takes one step of any
``torch.optim.Optimizer`` through such a closure, so optimizers that re-evaluate the loss
(line searches) and those that do not share one code path; given a second batch, it hands
a line search its trial points' closure on that batch (``search_closure``). An optimizer that
differentiates the gradient again (SGD-PH probes the Hessian) says so with the class attribute
``create_graph = True``; its closures back-propagate with ``create_graph=True``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["closure_of", "make_closure", "optimizer_step"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss_fn(outputs, targets)``, a scalar tensor (e.g. ``F.cross_entropy``)."""


def closure_of(loss_of: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer, *,
               after_backward: Callable[[], None] | None = None) -> Callable[[], torch.Tensor]:
    """Wrap a loss evaluation into a closure that follows the package convention.

    ``after_backward`` (optional) runs right after ``backward``, only when grad mode is
    enabled: it may modify the fresh gradients in ``.grad`` before the optimizer uses them
    (a gradient regulariser, such as removing a direction from a generator's gradient). The
    backward pass keeps the gradient's graph when the optimizer's ``create_graph`` attribute
    is true (the gradients are set to None before each backward pass, which frees the last
    step's graph).
    """
    create_graph = bool(getattr(optimizer, "create_graph", False))

    def closure() -> torch.Tensor:
        loss = loss_of()
        if torch.is_grad_enabled():
            optimizer.zero_grad(set_to_none=True)
            if create_graph:
                _backward_keeping_graph(loss)
            else:
                loss.backward()
            if after_backward is not None:
                after_backward()
        return loss

    return closure


def _backward_keeping_graph(loss: torch.Tensor) -> None:
    """``loss.backward(create_graph=True)`` without torch's warning of the parameter-gradient
    cycle it makes: the closure's ``zero_grad(set_to_none=True)`` breaks it at every step."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph")
        loss.backward(create_graph=True)


def make_closure(model: nn.Module, loss_fn: LossFn, inputs: torch.Tensor,
                 targets: torch.Tensor, optimizer: torch.optim.Optimizer
                 ) -> Callable[[], torch.Tensor]:
    """The closure of one step on one batch: ``loss_fn(model(inputs), targets)``."""
    return closure_of(lambda: loss_fn(model(inputs), targets), optimizer)


def optimizer_step(optimizer: torch.optim.Optimizer, loss_of: Callable[[Any], torch.Tensor],
                   batch: Any, search_batch: Any = None, *,
                   after_backward: Callable[[], None] | None = None) -> float:
    """One step of ``optimizer`` on ``loss_of(batch)`` through a closure; the loss, a float.

    The loss returned is the first one the step evaluated, at the parameters it started
    from. With ``search_batch``, the step is ``optimizer.step(closure,
    search_closure=...)`` with the closure of ``loss_of(search_batch)``: a line search
    evaluates its trial points on that batch (only optimizers with a ``search_closure``
    argument accept it). ``after_backward`` is passed to :func:`closure_of` for the
    gradient's closure.
    """
    closure = closure_of(lambda: loss_of(batch), optimizer, after_backward=after_backward)
    if search_batch is None:
        return _as_float(optimizer.step(closure))
    search_closure = closure_of(lambda: loss_of(search_batch), optimizer)
    return _as_float(optimizer.step(closure, search_closure=search_closure))


def _as_float(loss: torch.Tensor | float) -> float:
    """The loss an optimizer's ``step`` returned, as a Python float (no autograd warning)."""
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
