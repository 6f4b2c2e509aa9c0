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

``check_lr`` is the check of every ``lr`` (a real ``lr >= 0``; a tensor is refused with a
message that says what to pass instead), and ``check_real_params`` refuses complex parameters
when a parameter group is added (the optimizers of this package work on real tensors). At
``step()``, ``check_sparse_grad`` rejects sparse gradients, and ``all_finite`` tells whether a
step's loss and gradients are finite (an optimizer skips a non-finite step and records it).

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
parameters the step started from, as the closure returned it. Methods that must re-evaluate the
loss call ``require_closure`` at the start of ``step``.

The loss may be any one-element tensor (shape ``()`` or ``[1]``) or a real Python number;
``as_loss`` turns it into the 0-dim tensor that optimizers compare, and refuses anything else
with a message. A closure written for ``torch.optim`` that calls ``backward()`` unconditionally
works wherever gradients are needed, but fails under ``torch.no_grad()``; ``loss_only`` then
explains what to change (guard the backward pass with ``torch.is_grad_enabled()``).

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
reasons) in ``self.state[DIAGNOSTICS]``, one convention for all: a dict whose values are Python
numbers, except for values with one entry per parameter group or part, which are 1-D tensors
under plural names (``part_step_sizes``, ``group_step_sizes``). ``step_size`` is always a number,
the step size applied this step. ``torch.optim.Optimizer.state_dict`` carries non-parameter keys
through unchanged, so diagnostics survive checkpoints, and ``deepoptim.train`` records them after
every step (a 1-D tensor as one column per entry).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as dist

from deepoptim._checks import check_in_range, check_non_negative

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


def check_lr(lr: float) -> None:
    """Require a real ``lr >= 0``; a tensor ``lr`` is refused with what to pass instead."""
    if isinstance(lr, torch.Tensor):
        raise ValueError(f"Invalid lr value: {lr!r} (a tensor lr is not supported; pass a "
                         "Python float, e.g. lr.item())")
    check_non_negative("lr", lr)


def check_real_params(params: Iterable[torch.Tensor], optimizer_name: str) -> None:
    """Refuse complex parameters, naming the optimizer and the parameter's shape."""
    for index, p in enumerate(params):
        if torch.is_complex(p):
            raise ValueError(
                f"Invalid params value: parameter {index} is complex ({p.dtype}, shape "
                f"{tuple(p.shape)}); {optimizer_name} supports real parameters only: keep "
                "the real and imaginary parts as a real parameter and view it as complex in "
                "the model (torch.view_as_complex)"
            )


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


def as_loss(value: object) -> torch.Tensor:
    """The loss a closure returned as a detached 0-dim tensor.

    A one-element tensor of any shape, or a real Python number, is accepted; anything else is a
    ``TypeError`` (not a number) or a ``ValueError`` (a tensor of several elements).
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"Invalid loss value: a tensor of shape {tuple(value.shape)} (the "
                             "closure must return the loss: one number, e.g. loss.mean())")
        return value.detach().reshape(())
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return torch.tensor(float(value), dtype=torch.float64)
    raise TypeError(f"loss must be a one-element tensor or a real number (what the closure "
                    f"returns), got {type(value).__name__}")


def loss_and_grad(closure: Closure) -> torch.Tensor:
    """Evaluate the closure with grad enabled: the loss, with fresh gradients in ``.grad``."""
    with torch.enable_grad():
        return closure()


def loss_only(closure: Closure) -> torch.Tensor:
    """Evaluate the closure with grad disabled: the loss only (:func:`as_loss`), gradients left
    untouched.

    A closure that calls ``backward()`` unconditionally cannot run here; the ``RuntimeError``
    that autograd raises is re-raised with what to change.
    """
    try:
        with torch.no_grad():
            return as_loss(closure())
    except RuntimeError as error:
        if "does not require grad" not in str(error):
            raise
        raise RuntimeError(
            "the closure called backward() while the optimizer evaluated a trial point under "
            "torch.no_grad(); guard the backward pass with `if torch.is_grad_enabled():` so "
            "that the closure only returns the loss there (see deepoptim.optim._base)"
        ) from error


def add_checked_group(optimizer: torch.optim.Optimizer, param_group: dict[str, Any],
                      check: Callable[[dict[str, Any]], None]) -> None:
    """``torch.optim.Optimizer.add_param_group``, then ``check`` of the group torch built (its
    defaults filled in); a group that fails the check (``TypeError`` or ``ValueError``) is
    removed again, so nothing is left half added."""
    torch.optim.Optimizer.add_param_group(optimizer, param_group)
    try:
        check(optimizer.param_groups[-1])
    except (TypeError, ValueError):
        optimizer.param_groups.pop()
        raise


def adamw_moments(p: torch.Tensor, state: dict[str, Any], group: dict[str, Any],
                  grad: torch.Tensor) -> tuple[float, torch.Tensor]:
    """AdamW's decoupled weight decay of ``p`` and its moment updates, in
    ``torch.optim.AdamW``'s arithmetic operation for operation (``foreach=False``), for the
    count ``state["step"]`` already advanced: :math:`p \\leftarrow (1-\\eta\\lambda)p`,
    :math:`m \\leftarrow \beta_1 m + (1-\beta_1) g`, :math:`v \\leftarrow \beta_2 v +
    (1-\beta_2) g^2`. Returns the step size :math:`\\eta/(1-\beta_1^t)` and the denominator
    :math:`\\sqrt{v/(1-\beta_2^t)}+\\epsilon`: AdamW's step is
    ``p.addcdiv_(state["exp_avg"], denominator, value=-step_size)``."""
    lr, (beta1, beta2), t = group["lr"], group["betas"], state["step"]
    if group["weight_decay"] != 0:
        p.mul_(1 - lr * group["weight_decay"])
    state["exp_avg"].lerp_(grad, 1 - beta1)
    state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denominator = (state["exp_avg_sq"].sqrt() / (1 - beta2 ** t) ** 0.5).add_(group["eps"])
    return lr / (1 - beta1 ** t), denominator


def dense_grads(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    """The gradients of every parameter of ``optimizer`` that has one, in group order, after
    :func:`check_sparse_grad` of each."""
    grads = [p.grad for group in optimizer.param_groups for p in group["params"]
             if p.grad is not None]
    for grad in grads:
        check_sparse_grad(grad, type(optimizer).__name__)
    return grads


def all_finite(loss: object, grads: list[torch.Tensor]) -> bool:
    """Whether the loss (if any: what the closure returned) and every gradient entry are finite.

    One sum per tensor (a NaN or an infinity makes the sum non-finite; vectorised sums are far
    cheaper on a CPU than ``isfinite``), then a single check and synchronisation. A sum can
    overflow only for finite entries near the dtype's maximum, where a skipped step is safe.
    """
    sums = [g.sum() for g in grads]
    if loss is not None:
        value = as_loss(loss)
        sums.append(value.to(sums[0].device) if sums else value)
    return not sums or bool(torch.isfinite(torch.stack(sums)).all())


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
