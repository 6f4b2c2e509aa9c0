"""Shared hyperparameter validation and the closure convention of ``deepoptim.optim``.

Validation
----------
Every optimizer validates its hyperparameters first, before ``torch.optim.Optimizer.__init__``
runs, so a bad value is reported even when ``params`` is ``None``. It uses the package's shared
checks (``from deepoptim._checks import ...``, which documents the convention they follow) and
the optimizer-specific ones below, e.g.::

    check_non_negative("lr", lr)                        # lr >= 0
    check_positive("eps", eps)                          # eps > 0 (a denominator)
    check_in_range("momentum", momentum, 0.0, 1.0)      # 0 <= momentum < 1
    check_in_range("dampening", dampening, 0.0, 1.0, high_inclusive=True)
    check_betas(betas)                                  # each beta in [0, 1)
    check_int_at_least("max_ls_steps", max_ls_steps, 1) # an int >= 1
    check_choice("line_search_fn", fn, ("armijo", "wolfe"))

At ``step()``, ``check_sparse_grad`` rejects sparse gradients.

Closure convention
------------------
A closure is a zero-argument callable that evaluates the loss on the current step's data (the
same mini-batch every time it is called within one ``step``):

- if grad mode is enabled when it is called, it zeroes the gradients, calls ``backward()`` and
  returns the loss, a 0-dim tensor;
- if grad mode is disabled (it is called inside ``torch.no_grad()``), it only evaluates and
  returns the loss.

For example::

    def closure():
        loss = loss_fn(model(inputs), targets)
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

This is compatible with ``torch.optim``, which calls closures under ``torch.enable_grad()``,
and lets a line search evaluate trial points without a backward pass. Optimizers call closures
through ``loss_and_grad`` (loss and gradients at the current parameters) and ``loss_only``
(loss at a trial point). ``step(closure)`` returns the first loss it evaluated, the one at the
parameters the step started from. Methods that must re-evaluate the loss call
``require_closure`` at the start of ``step``.

Line searches (``deepoptim.optim.SLS`` and its family) take a second, optional closure,
``step(closure, search_closure=None)``. ``search_closure`` follows the same convention on a
*different* mini-batch and is only ever called under ``torch.no_grad()``: at the starting
point and at the trial points, so the accepted step size does not depend on the batch the
gradient came from (one extra forward pass per search). Without it the trial points are
evaluated with ``closure``, on the gradient's batch, as the methods' authors did.
``deepoptim.train.train(..., search_batch="independent")`` supplies it.

Under ``torch.distributed`` every rank sees its own data, so its own loss (DDP averages the
gradients in ``backward``, but not the losses). Any comparison of
losses across trial points (an Armijo test, a backtracking decision) must use ``global_mean``
of each loss, so that every rank takes the same decision and the replicas stay identical.

Diagnostics
-----------
Optimizers keep what a chapter wants to plot (accepted step size, loss evaluations, failure
flags) in ``self.state[DIAGNOSTICS]``, a dict of Python numbers or tensors (a 1-D tensor for
one value per parameter group or layer). ``torch.optim.Optimizer.state_dict`` carries
non-parameter keys through unchanged, so diagnostics survive checkpoints, and
``deepoptim.train`` records them after every step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist

from deepoptim._checks import check_in_range

#: The key of ``optimizer.state`` under which an optimizer keeps its diagnostics.
DIAGNOSTICS = "diagnostics"

Closure = Callable[[], torch.Tensor]
"""A zero-argument callable following the closure convention above."""


def check_betas(betas: tuple[float, float]) -> None:
    """Require a pair of decay rates each in ``[0, 1)``, with torch's message for Adam's betas."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair of real numbers, got {betas!r}")
    for index, beta in enumerate(betas):
        try:
            check_in_range(f"betas[{index}]", beta, 0.0, 1.0)
        except ValueError:
            raise ValueError(f"Invalid beta parameter at index {index}: {beta}") from None


def check_sparse_grad(grad: torch.Tensor, optimizer_name: str) -> None:
    """Reject a gradient with a sparse layout, naming the optimizer that cannot handle it."""
    if grad.layout != torch.strided:
        raise RuntimeError(f"{optimizer_name} does not support sparse gradients")


def require_closure(closure: Closure | None, optimizer_name: str) -> None:
    """Raise ``RuntimeError`` when a method that re-evaluates the loss was given no closure."""
    if closure is None:
        raise RuntimeError(
            f"{optimizer_name} requires a closure: call step(closure) with a closure that "
            "re-evaluates the loss (see deepoptim.optim._base for the convention)"
        )


def loss_and_grad(closure: Closure) -> torch.Tensor:
    """Evaluate the closure with grad enabled: the loss, with fresh gradients in ``.grad``."""
    with torch.enable_grad():
        return closure()


def loss_only(closure: Closure) -> torch.Tensor:
    """Evaluate the closure with grad disabled: the loss only, gradients left untouched."""
    with torch.no_grad():
        return closure()


def global_mean(value: torch.Tensor) -> torch.Tensor:
    """Average a loss over all ranks when a process group is initialised.

    Without ``torch.distributed`` initialised this is the identity (``value`` itself is
    returned); otherwise it returns a new, detached tensor holding the mean over the ranks of
    the default group. Every rank must call it, in the same order, for each loss it compares.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return value
    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / dist.get_world_size()
