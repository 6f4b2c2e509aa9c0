r"""SGD-PH: SGD with momentum, and a diagonal Newton step for the channel-wise parameters.

SGD-PH (SGD with Partial Hessian) is a compound optimizer. Most parameters (convolution and
linear weights) take the steps of ``torch.optim.SGD``. The channel-wise parameters take a
diagonal Newton step on their momentum. These are the scales and shifts of normalisation
layers and the magnitudes :math:`g` of weight-normalised layers, one number per channel. Their
Hessian block is small, and the authors estimate it with Hessian-vector products.

**The SGD part** (parameter groups with ``precondition=False``) is ``torch.optim.SGD``'s
update, with the same arithmetic in the same order, so it gives the same numbers bit for bit
(tested). For a gradient :math:`g_t`:

.. math::

    d_t = g_t + \lambda\theta_t, \quad
    b_t = \begin{cases} d_t & t = 0 \\ \mu b_{t-1} + (1-\delta)\, d_t & t > 0\end{cases},
    \quad
    \theta_{t+1} = \theta_t - \eta \,(d_t + \mu b_t \text{ (Nesterov) or } b_t)

with ``lr`` :math:`\eta`, ``momentum`` :math:`\mu`, ``dampening`` :math:`\delta` and
``weight_decay`` :math:`\lambda`.

**The preconditioned part** (groups with ``precondition=True``). Take a channel-wise tensor
:math:`\theta` with Hessian block :math:`H = \nabla^2_{\theta\theta} L` (the block of this one
tensor). When the schedule refreshes it, a probe :math:`h` of :math:`H` updates an
exponential moving average of its magnitude:

.. math::

    D \leftarrow \beta D + (1-\beta)\,|h|, \qquad n \leftarrow n + 1, \qquad D_0 = 0.

Here :math:`\beta` is ``hessian_decay``, :math:`n` counts this tensor's refreshes, and
:math:`|\cdot|` is the authors' "rectification" for negative curvature. Every step then moves
the tensor along its momentum :math:`b_t`, built as above but from :math:`g_t` alone, with
the bias-corrected diagonal Newton step:

.. math::

    \theta_{t+1} = \theta_t - \eta\Big(\frac{\tau\,(1-\beta^{n})}{D + \epsilon}\, b_t
        + \lambda\theta_t\Big).

Here :math:`\tau` is ``tau``, the authors' "second-order learning rate", and
:math:`\epsilon` is ``eps``, added to the *uncorrected* :math:`D` as in the authors' code. Two
things follow:

* the weight decay is applied beside the Newton step, not preconditioned;
* ``lr`` multiplies both parts, so a learning-rate scheduler scales the whole step, as for
  SGD. The effective second-order step is :math:`\eta\tau` over the bias-corrected curvature
  :math:`D/(1-\beta^n)`.

Until its first refresh (:math:`n = 0`) a tensor takes the SGD step :math:`\eta(b_t +
\lambda\theta_t)`. This is what the authors' code gives with its defaults, where
:math:`\tau(1-\beta)/\epsilon = 10^{-3}\cdot 0.1/10^{-4} = 1`.

**Round-robin refreshes** (``round_robin=True``, the authors' schedule). The preconditioned
tensors of all groups are listed in group order, :math:`M` of them. At step :math:`t` (0, 1,
..., counted by ``steps`` in the diagnostics), only tensor :math:`k = t \bmod M` is probed,
so each tensor gets fresh curvature every :math:`M` steps, at the cost of one probe per step.
With ``round_robin=False`` every tensor is probed at every step.

**The two probes** (``probe``, per group), both through :mod:`deepoptim.curvature`:

* ``"ones"``, the published one: one Hessian-vector product with :math:`\mathbf 1`,
  :math:`h = H\mathbf 1` (:func:`~deepoptim.curvature.ones_probe`). The authors call it the
  diagonal and state that the block is diagonal. But :math:`(H\mathbf 1)_i = H_{ii} +
  \sum_{j\ne i} H_{ij}`, the row sums. These are the diagonal only when the off-diagonal
  entries of each row cancel. For the scales of a batch-normalisation layer that a
  convolution follows, the channels are coupled downstream, and the row sums differ from the
  diagonal by about its own size (research notes, and the tests, which measure it);
* ``"exact"``: :math:`h = \operatorname{diag}(H)`, one product per entry, pushed through the
  graph as one batch (:func:`~deepoptim.curvature.exact_diagonal`). This costs :math:`C`
  products for a tensor of :math:`C` channels, but in a single vectorised backward pass.

Both need the gradient's graph, so the closure must call ``loss.backward(create_graph=True)``
(or the caller, before ``step()``). Without a graph the step raises and says so.

**Which parameters are channel-wise** is the caller's explicit choice: the group option
``precondition`` (default ``False``). :func:`channelwise_param_groups` builds the two groups
from a model's normalisation layers and weight-norm magnitudes, or by the authors' rule (every
1-D parameter but the last). Misuse is loud:

* flagging a tensor that is not channel-wise (more than one dimension of size above 1, e.g. a
  convolution weight) is a ``ValueError`` naming its shape;
* an optimizer with nothing to precondition warns that it is plain SGD;
* a refresh without a gradient graph is a ``RuntimeError``.

**Safeguards and diagnostics** (``self.state[DIAGNOSTICS]``, Python numbers):

* ``steps``: steps taken (skipped ones excluded); the schedule is computed from it;
* ``refreshes``: curvature refreshes so far;
* ``refreshed_index`` and ``refreshed_group``: the position of the tensor probed at this step
  in the list of preconditioned tensors, and its group. Both are -1 when none was probed;
  with ``round_robin=False``, the last one probed;
* ``preconditioner_seconds``: the wall time of this step's probes (0.0 without a probe);
* ``negative_curvature``: entries of the probes made positive by the rectification
  :math:`|h|` (a running count);
* ``curvature_rejections``: probes with a non-finite entry. Such a probe is discarded and the
  tensor keeps its previous :math:`D` and :math:`n`;
* ``missing_gradient_refreshes``: scheduled refreshes skipped because the tensor had no
  gradient;
* ``nonfinite_skips``: steps skipped because the loss or a gradient was not finite. Parameters
  and state are then left unchanged, so the parameters never become NaN.

Per preconditioned tensor the state holds ``momentum_buffer`` (when ``momentum`` is not 0),
``hessian_diag`` (:math:`D`) and ``hessian_updates`` (:math:`n`). The SGD tensors hold
``momentum_buffer`` only, as in ``torch.optim.SGD``.

**Under ``torch.distributed``** each rank probes the Hessian of its own loss. The probe is
averaged over the ranks (all-reduced) before the rectification, so every rank applies the
same :math:`D` and the replicas stay identical. DDP averages the gradients but not the
graph each rank differentiates. The average of the ranks' probes is the full-batch probe
when the loss is a mean of per-sample terms over equal shards; it is not when batch
statistics couple the samples (batch normalisation in train mode normalises each shard by its
own statistics). ``DistributedDataParallel`` cannot average gradients computed with
``create_graph=True`` (torch 2.13: "a leaf Variable that requires grad is being used in an
in-place operation"); the closure then averages them itself, keeping the local graph:
``p.grad = mean + (grad - grad.detach())`` with ``mean`` the all-reduced ``grad``
(``tests/optim/test_sgdph_ddp.py``).

**Differences from the authors' code** (a reimplementation from the research notes, not a
copy):

* :math:`n` is each tensor's own refresh count; the authors use :math:`\lfloor t/M\rfloor + 1`
  for every tensor, an approximation of it;
* the momentum of the preconditioned tensors accepts the same ``dampening`` and ``nesterov``
  as the SGD part. The authors hard-code :math:`\delta = 0` without Nesterov, this class's
  defaults;
* the curvature average has its own ``hessian_decay``; the authors tie it to ``momentum``
  (0.9 both by default);
* channel-wise tensors are chosen explicitly; the authors take every 1-D parameter but the
  last (:func:`channelwise_param_groups` with ``rule="authors"`` reproduces this).

With the defaults, their default hyperparameters (``momentum=0.9``) and ``rule="authors"``,
the update is theirs except for the bias correction's :math:`n`.

Source: Y. Sun, H. Yong, L. Zhang, "Accelerating Training of Deep Neural Networks by
Exploiting Partial Hessian" (SGD-PH), arXiv:2403.02681, 2024; Y. Sun, PhD thesis, "Designing
effective preconditioned optimizers for DNN training", Hong Kong Polytechnic University,
2024.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import _WeightNorm

from deepoptim._checks import check_choice, check_in_range, check_non_negative, check_positive
from deepoptim.curvature import GraphHessianOperator, exact_diagonal, ones_probe
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    add_checked_group,
    all_finite,
    check_lr,
    check_real_params,
    dense_grads,
    loss_and_grad,
)
from deepoptim.optim.directions import Momentum

__all__ = ["PROBES", "RULES", "SGDPH", "channelwise_param_groups"]

#: The curvature probes: the authors' row sums :math:`H\mathbf 1`, or the exact diagonal.
PROBES = ("ones", "exact")
#: The rules of :func:`channelwise_param_groups` that name a set of parameters.
RULES = ("normalization", "authors")

_NORMALIZATION = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
_COUNTERS = ("steps", "refreshes", "negative_curvature", "curvature_rejections",
             "missing_gradient_refreshes", "nonfinite_skips")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")


def _check_hyperparameters(group: dict[str, Any]) -> None:
    """Validate one parameter group's hyperparameters (or the defaults), naming the bad value."""
    check_lr(group["lr"])
    check_in_range("momentum", group["momentum"], 0.0, 1.0)
    check_in_range("dampening", group["dampening"], 0.0, 1.0, high_inclusive=True)
    check_non_negative("weight_decay", group["weight_decay"])
    _check_bool("nesterov", group["nesterov"])
    if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
        raise ValueError(
            f"Invalid nesterov value: True with momentum={group['momentum']!r} and "
            f"dampening={group['dampening']!r} (Nesterov momentum requires a momentum and "
            "zero dampening)"
        )
    check_positive("tau", group["tau"])
    check_positive("eps", group["eps"])
    check_in_range("hessian_decay", group["hessian_decay"], 0.0, 1.0)
    check_choice("probe", group["probe"], PROBES)
    _check_bool("precondition", group["precondition"])


def _check_channelwise(group: dict[str, Any]) -> None:
    """A preconditioned tensor must hold one number per channel: at most one dimension of size
    above 1 (a BatchNorm scale ``(C,)``, a weight-norm magnitude ``(C, 1, 1, 1)``)."""
    if not group["precondition"]:
        return
    for index, p in enumerate(group["params"]):
        if sum(size > 1 for size in p.shape) > 1:
            raise ValueError(
                f"Invalid precondition value: True for parameter {index} of shape "
                f"{tuple(p.shape)} (SGD-PH preconditions channel-wise parameters, one number per "
                "channel: put other tensors in a group with precondition=False, e.g. with "
                "deepoptim.optim.channelwise_param_groups(model))"
            )


def _is_weight_norm_magnitude(module: nn.Module, name: str) -> bool:
    """Whether ``module``'s own parameter ``name`` is the magnitude :math:`g` of a weight norm:
    ``original0`` of a weight-norm parametrization, or ``torch.nn.utils.weight_norm``'s
    ``<name>_g``."""
    if isinstance(module, parametrize.ParametrizationList):
        return name == "original0" and any(isinstance(f, _WeightNorm) for f in module)
    return name.endswith("_g") and hasattr(module, f"{name[:-2]}_v")


def channelwise_param_groups(
    model: nn.Module,
    rule: str | Callable[[str, nn.Parameter], bool] = "normalization",
    **options: Any,
) -> list[dict[str, Any]]:
    """The parameter groups of SGD-PH for ``model``: its other parameters, then its channel-wise
    ones (``precondition=True``, with ``options`` as that group's hyperparameters).

    Args:
        model: the network.
        rule: which parameters are channel-wise:

            * ``"normalization"``: the affine scales and shifts of the normalisation layers
              (BatchNorm, InstanceNorm, GroupNorm, LayerNorm) and the magnitudes of weight-normed
              layers (``torch.nn.utils.weight_norm`` or its parametrization);
            * ``"authors"``: the authors' code, every 1-D parameter but the last in the model's
              order (which includes the biases of convolutions and linear layers);
            * a callable ``rule(name, parameter) -> bool`` over ``model.named_parameters()``.
        options: hyperparameters of the preconditioned group (e.g. ``tau``, ``probe``).

    Groups are in the model's parameter order; an empty group is left out. Parameters that do
    not require gradients are left out. If no parameter is channel-wise there is one group,
    and :class:`SGDPH` warns that it is plain SGD.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(rule):
        check_choice("rule", rule, RULES)
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if rule == "normalization":
        chosen = {id(p) for module in model.modules() for name, p in
                  module.named_parameters(recurse=False)
                  if isinstance(module, _NORMALIZATION) or _is_weight_norm_magnitude(module, name)}
    elif rule == "authors":
        one_d = [id(p) for _, p in named if p.dim() == 1]
        chosen = set(one_d[:-1])
    else:
        chosen = {id(p) for name, p in named if rule(name, p)}
    groups = [{"params": [p for _, p in named if id(p) not in chosen], "precondition": False},
              {"params": [p for _, p in named if id(p) in chosen], "precondition": True,
               **options}]
    return [group for group in groups if group["params"]]


class SGDPH(torch.optim.Optimizer):
    """SGD with momentum, plus a diagonal Newton step for the channel-wise parameters (Sun, Yong
    and Zhang 2024); see the module docstring for the update, the probes and the diagnostics.

    Args:
        params: parameters or parameter groups. The groups with ``precondition=True`` hold the
            channel-wise parameters (see :func:`channelwise_param_groups`); every
            hyperparameter but ``round_robin`` can be set per group.
        lr: learning rate :math:`\\eta` of both parts.
        momentum, dampening, weight_decay, nesterov: as in ``torch.optim.SGD``.
        tau: :math:`\\tau`, the second-order learning rate (the preconditioned step is
            :math:`\\eta\\tau` over the curvature).
        eps: :math:`\\epsilon`, added to the curvature average :math:`D`.
        hessian_decay: :math:`\\beta` of the curvature's moving average.
        probe: ``"ones"`` (the authors' :math:`H\\mathbf 1`, row sums) or ``"exact"``
            (:math:`\\operatorname{diag}(H)`).
        precondition: the default of the group option; ``True`` preconditions every parameter
            of every group that does not say otherwise.
        round_robin: probe one preconditioned tensor per step, in turn (the authors), or all of
            them at every step.
    """

    #: Closures for this optimizer back-propagate with ``create_graph=True``: the probes
    #: differentiate the gradient again (:func:`deepoptim.train.closure_of` reads this).
    create_graph = True

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]] | None,
        lr: float = 0.1,
        momentum: float = 0.9,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        tau: float = 1e-3,
        eps: float = 1e-4,
        hessian_decay: float = 0.9,
        probe: str = "ones",
        precondition: bool = False,
        round_robin: bool = True,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, tau=tau, eps=eps,
                        hessian_decay=hessian_decay, probe=probe, precondition=precondition)
        _check_hyperparameters(defaults)
        _check_bool("round_robin", round_robin)
        super().__init__(params, defaults)
        self.round_robin = round_robin
        if not self._preconditioned():
            warnings.warn(
                "SGDPH has no parameter to precondition (no parameter group has "
                "precondition=True), so it is torch.optim.SGD; build the groups with "
                "deepoptim.optim.channelwise_param_groups(model)",
                UserWarning,
                stacklevel=2,
            )

    def __getstate__(self) -> dict[str, Any]:
        """``torch.optim.Optimizer``'s pickled state, plus the schedule (``round_robin``)."""
        return {**super().__getstate__(), "round_robin": self.round_robin}

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group after validating its hyperparameters (defaults filled in) and, if it is
        preconditioned, that its tensors are channel-wise; an invalid group is not added."""
        add_checked_group(self, param_group, self._check_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_hyperparameters(group)
        _check_channelwise(group)
        check_real_params(group["params"], type(self).__name__)

    def _preconditioned(self) -> list[tuple[int, torch.Tensor]]:
        """(group index, tensor) of every preconditioned tensor, in group order: the list the
        round-robin schedule walks through."""
        return [(index, p) for index, group in enumerate(self.param_groups)
                if group["precondition"] for p in group["params"]]

    def scheduled(self, step: int) -> list[int]:
        """The positions, in the list of preconditioned tensors, that step ``step`` (0-based)
        probes: ``[step % M]`` round robin, else all ``M``."""
        count = len(self._preconditioned())
        if count == 0:
            return []
        return [step % count] if self.round_robin else list(range(count))

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor | None:
        """One SGD-PH step. The gradients of the preconditioned tensors due for a refresh must
        carry their graph: ``closure`` (optional) re-evaluates the loss and calls
        ``loss.backward(create_graph=True)``, or the caller did before ``step()``."""
        loss = loss_and_grad(closure) if closure is not None else None
        diagnostics = {key: 0 for key in _COUNTERS}
        diagnostics.update(self.state.get(DIAGNOSTICS, {}))
        grads = dense_grads(self)
        if not all_finite(loss, grads):
            diagnostics["nonfinite_skips"] += 1
            self.state[DIAGNOSTICS] = diagnostics
            return loss
        self._refresh(diagnostics)
        for group in self.param_groups:
            self._update(group)
        diagnostics["steps"] += 1
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    def _refresh(self, diagnostics: dict[str, Any]) -> None:
        """Probe the tensors the schedule names at this step and update their :math:`D`."""
        preconditioned = self._preconditioned()
        diagnostics.update(refreshed_index=-1, refreshed_group=-1, preconditioner_seconds=0.0)
        scheduled = self.scheduled(diagnostics["steps"])
        if not scheduled:
            return
        start = time.perf_counter()
        for position in scheduled:
            group_index, p = preconditioned[position]
            if p.grad is None:
                diagnostics["missing_gradient_refreshes"] += 1
                continue
            h = self._probe(self.param_groups[group_index]["probe"], p)
            if not bool(torch.isfinite(h).all()):
                diagnostics["curvature_rejections"] += 1
                continue
            diagnostics["negative_curvature"] += int((h < 0).sum())
            state = self._preconditioner_state(p)
            beta = self.param_groups[group_index]["hessian_decay"]
            state["hessian_diag"].mul_(beta).add_(h.abs(), alpha=1 - beta)
            state["hessian_updates"] += 1
            diagnostics["refreshes"] += 1
            diagnostics.update(refreshed_index=position, refreshed_group=group_index)
        diagnostics["preconditioner_seconds"] = time.perf_counter() - start

    @staticmethod
    def _probe(probe: str, p: torch.Tensor) -> torch.Tensor:
        """:math:`H\\mathbf 1` or :math:`\\operatorname{diag}(H)` of ``p``'s Hessian block,
        shaped like ``p``, averaged over the ranks under ``torch.distributed``."""
        if p.grad.grad_fn is None:
            raise RuntimeError(
                f"SGDPH needs the Hessian of the loss for a preconditioned parameter of shape "
                f"{tuple(p.shape)}, but its gradient has no graph: call "
                "loss.backward(create_graph=True) (in the closure, or before step()). A "
                "gradient that does not depend on the parameters has no graph either; then do "
                "not precondition that tensor"
            )
        with torch.enable_grad():
            op = GraphHessianOperator([p.grad], [p])
            h = ones_probe(op) if probe == "ones" else exact_diagonal(op)
        h = h.detach().reshape(p.shape)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(h, op=dist.ReduceOp.SUM)
            h /= dist.get_world_size()
        return h

    def _preconditioner_state(self, p: torch.Tensor) -> dict[str, Any]:
        """``p``'s state, with :math:`D = 0` and :math:`n = 0` created on first use."""
        state = self.state[p]
        if "hessian_diag" not in state:
            state["hessian_diag"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["hessian_updates"] = 0
        return state

    def _update(self, group: dict[str, Any]) -> None:
        """One group's step: ``torch.optim.SGD``'s arithmetic (its momentum is
        :class:`~deepoptim.optim.directions.Momentum`), with the weight decay moved out of the
        momentum and the Newton scaling applied for a preconditioned group."""
        params = [p for p in group["params"] if p.grad is not None]
        grads = [p.grad.detach() for p in params]
        weight_decay, preconditioned = group["weight_decay"], group["precondition"]
        if weight_decay != 0 and not preconditioned:
            grads = [g.add(p, alpha=weight_decay) for p, g in zip(params, grads, strict=True)]
        if group["momentum"] != 0:
            heavy_ball = Momentum(group["momentum"], group["dampening"], group["nesterov"])
            grads = heavy_ball(grads, [self.state[p] for p in params]).update
        for p, grad in zip(params, grads, strict=True):
            if preconditioned:
                state = self._preconditioner_state(p)
                updates = state["hessian_updates"]
                if updates > 0:
                    scale = group["tau"] * (1 - group["hessian_decay"] ** updates)
                    grad = grad * scale / (state["hessian_diag"] + group["eps"])
                if weight_decay != 0:
                    grad = grad.add(p, alpha=weight_decay)
            p.add_(grad, alpha=-group["lr"])
