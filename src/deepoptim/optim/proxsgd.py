r"""ProxSGD: stochastic proximal gradient with momentum, for regularised and constrained training.

Problem: :math:`\min_{x \in \mathcal X} f(x) + r(x)` with :math:`f` the (mini-batch) loss,
:math:`r` a convex, possibly non-smooth regulariser and :math:`\mathcal X` a box. One step
(:math:`t = 0, 1, \ldots` counts the steps of each parameter):

.. math::

    v_t &= (1 - \rho_t)\, v_{t-1} + \rho_t\, g_t
        && \text{momentum as a convex combination, } v_{-1} = 0 \\
    s_t &= \beta s_{t-1} + (1 - \beta)\, g_t^2, \quad
        \tau_t = \sqrt{s_t / (1 - \beta^{t+1})} + \delta
        && \text{Adam-like curvature proxy (``adaptive=True``), else } \tau_t = 1 \\
    \hat x_t &= \arg\min_{x \in \mathcal X} \, (x - x_t)^\top v_t
        + \tfrac12 (x - x_t)^\top \operatorname{diag}(\tau_t)(x - x_t) + r(x)
        = \operatorname{prox}_{r, \tau_t}\!\big(x_t - v_t / \tau_t\big) \\
    x_{t+1} &= x_t + \epsilon_t (\hat x_t - x_t), \qquad
        \epsilon_t = \frac{\epsilon_0}{(t + c)^{a_\epsilon}}, \quad
        \rho_t = \frac{\rho_0}{(t + c)^{a_\rho}}

with ``lr`` :math:`=\epsilon_0`, ``lr_decay`` :math:`=a_\epsilon`, ``rho`` :math:`=\rho_0`,
``rho_decay`` :math:`=a_\rho`, ``step_offset`` :math:`=c` (4 in the paper), ``beta``,
``eps`` :math:`=\delta`. The subproblem is solved in closed form by :mod:`deepoptim.prox`.
The paper proves that every limit point is stationary when
:math:`\epsilon_t, \rho_t \to 0`, :math:`\sum \epsilon_t = \sum \rho_t = \infty`,
:math:`\sum \epsilon_t^2, \sum \rho_t^2 < \infty`, :math:`\epsilon_t / \rho_t \to 0` and
:math:`\tau_t` is bounded away from 0 and infinity; ``lr_decay=rho_decay=0`` gives constant
schedules (a common practical choice that the theorem does not cover).

**What ``lr`` is, and is not.** Without a regulariser or box, :math:`\tau = 1` and constant
schedules, :math:`x_{t+1} = x_t - \epsilon\, v_t`: ``lr`` is SGD's learning rate. With a
regulariser it is *not* the step of the usual proximal gradient method,
:math:`x_{t+1} = \operatorname{prox}_{\mathrm{lr}\cdot r}(x_t - \mathrm{lr}\, g_t)`, whose
threshold :math:`\mathrm{lr}\cdot\mu` shrinks with the learning rate: here the proximal point
uses the threshold :math:`\mu/\tau` whatever ``lr`` is, and ``lr`` is the *fraction of the way*
the parameters move towards it. (Per step the two shrink a coordinate by about the same
:math:`\mathrm{lr}\cdot\mu`, but only the usual method sets parameters exactly to zero.) A
fraction above 1 would overshoot the proximal point and leave the box, so with a regulariser
or bounds the largest step, :math:`\epsilon_0 = \mathrm{lr}/c^{a_\epsilon}`, must be at most
1, and a larger ``lr`` is refused.

**Why the weights approach zero but do not reach it.** The proximal point :math:`\hat x_t`
has exact zeros (soft thresholding), but the parameters move only a fraction
:math:`\epsilon_t` of the way to it: a coordinate whose proximal point stays 0 decays as
:math:`x_{t+k} = x_t \prod_{j<k} (1 - \epsilon_{t+j})`, geometrically, never to 0 in finite
time. Sparsity is therefore reported both ways: the fraction of exact zeros of
:math:`\hat x_t` (the diagnostics below) and the fraction of parameters below a magnitude
threshold (:func:`deepoptim.sparsity.threshold_sparsity`).

Regularisers and constraints, per parameter group (``regularizer``, ``mu``, ``mu2``,
``bounds``):

- ``None``: :math:`r = 0` (with ``bounds`` a projected method, e.g. binarised networks in
  :math:`[-1, 1]`);
- ``"l1"``: :math:`\mu\|x\|_1`, optionally with ``bounds``;
- ``"elastic_net"``: :math:`\mu\|x\|_1 + \frac{\mu_2}{2}\|x\|_2^2`, optionally with ``bounds``;
- ``"group_lasso"``: :math:`\sum_g \mu_g \|x_g\|_2` (GSparsity, Chatzimichailidis' thesis):
  ``group_by="row"`` makes group :math:`k` the :math:`k`-th row (index along dimension 0) of
  *every* tensor of the parameter group together, e.g. an output filter of a convolution with
  its bias and batch-norm scale and shift (all tensors must have the same size along
  dimension 0); ``group_by="all"`` makes the whole parameter group one group, e.g. one
  operation of a cell-based network across all cells. ``group_normalization`` sets
  :math:`\mu_g = \mu` (``"none"``), :math:`\mu/\sqrt{d_g}` (``"div"``) or
  :math:`\mu\sqrt{d_g}` (``"mul"``), :math:`d_g` the group's size. With ``adaptive=True``
  the group subproblem uses the group's mean curvature :math:`\bar\tau_g` in place of
  :math:`\operatorname{diag}(\tau_t)`, which keeps it in closed form (as GSparsity does). Box
  constraints are not combined with the group lasso (the problem is not separable).

Cost: every pass over the parameters is one fused ``torch._foreach_*`` kernel over the
parameters of a group that share a step count (all of them, unless some missed a gradient at
some step), and the prox and the zero count run once over the flat work buffer that holds all
their proximal points. The work buffers, one per device and dtype, are as large as the largest
such set of parameters (twice that with the curvature proxy), allocated once; no memory is
allocated per step. An l1 step makes five passes over the parameters (the finiteness check,
the momentum, :math:`x_t - v_t`, the prox in place, the update) and two more to count the
zeros (``count_zeros=False`` leaves them out); ``torch.optim.SGD`` with momentum makes three.
The extra passes, not Python, set the step's cost on large models:
``benchmarks/bench_proxsgd.py`` times the step against SGD's and the same ATen kernels alone.

``fused=True`` runs the step of a parameter group as one compiled kernel instead
(:mod:`deepoptim.optim._proxsgd_fused`, through ``torch.compile``): one loop that reads
:math:`x, v, g` (and :math:`s`) once and writes :math:`x, v` (and :math:`s`) once, plus the
finiteness check; the same update to rounding, the same diagnostics. It needs Inductor's
toolchain (a C++ compiler on a CPU: without one the first step raises before any parameter
changes), compiles at the first step of every new structure
(regulariser, options, the tensors' number, shapes and dtypes; seconds each), and pays on
large models only: per call it costs a fixed overhead that a small model's step does not
cover. The benchmark reports the compile time and the number of steps after which it has
paid for itself. ``torch.compile`` keeps at most ``torch._dynamo.config.recompile_limit``
graphs per kernel (8 by default) and beyond that runs the kernel uncompiled, with a warning.

Parameters without a gradient are skipped (a group lasso group is then formed by the
parameters that have one).

Special cases (tested): with :math:`r = 0`, no box, :math:`\tau = 1` and constant schedules,
ProxSGD is SGD with momentum as an exponential moving average. It equals
``torch.optim.SGD(lr=ε, momentum=1-ρ, dampening=1-ρ)`` exactly when the momentum starts at
the first gradient (``momentum_init="gradient"``, :math:`v_{-1} = g_0`), because torch's
first step sets its buffer to the undamped gradient. With the paper's :math:`v_{-1} = 0`
(``momentum_init="zero"``) the buffer lags by :math:`(1-\rho)^{t+1} g_0`. With
``adaptive=True`` it is Adam with :math:`\beta_1 = 1 - \rho_t` (time-varying unless
``rho_decay=0``), **without** the first-moment bias correction, the second moment
bias-corrected, and step :math:`\epsilon_t`.

Diagnostics (``self.state[DIAGNOSTICS]``, refreshed by every step):
``step_size`` and ``rho`` (:math:`\epsilon_t`, :math:`\rho_t` of the first parameter group,
Python numbers) and ``group_step_sizes``, ``group_rhos`` (1-D tensors, one entry per group),
``prox_zero_fraction`` (fraction of the regularised coordinates that are exactly 0 in
:math:`\hat x_t`; for l1 and the elastic net it costs one more pass over those tensors, and
the key is left out when every parameter group has ``count_zeros=False``),
``prox_zero_groups`` (fraction of the group-lasso groups that are exactly 0 in
:math:`\hat x_t`), ``num_groups`` and
``nonfinite_skips`` (steps skipped because the loss or a gradient was not finite; the
parameters are then left unchanged). :meth:`group_norms` returns the current norm of every
group and :meth:`penalty` the value of :math:`r(x)`.

Source: Y. Yang, Y. Yuan, A. Chatzimichailidis, R. J. G. van Sloun, L. Lei, S. Chatzinotas,
"ProxSGD: Training Structured Neural Networks under Regularization and Constraints",
ICLR 2020; the group variant from "GSparsity: Unifying Network Pruning and Neural
Architecture Search by Group Sparsity" (AutoML-Conf 2022 workshop). Book chapters
"ProxSGD" (``notebooks/12_proxsgd.py``) and "Group sparsity: pruning and architecture
search" (``notebooks/13_group_sparsity.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch

from deepoptim import prox
from deepoptim._checks import (
    check_choice,
    check_in_range,
    check_non_negative,
    check_positive,
)
from deepoptim.optim import _proxsgd_fused
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

__all__ = ["ProxSGD"]

REGULARIZERS = (None, "l1", "elastic_net", "group_lasso")
GROUP_BY = ("row", "all")
GROUP_NORMALIZATIONS = ("none", "div", "mul")
MOMENTUM_INITS = ("zero", "gradient")
_ELEMENTWISE_SPARSE = ("l1", "elastic_net")


def _check_bounds(bounds: Any) -> None:
    """``None`` or a pair ``(lower, upper)`` of reals or ``None`` with ``lower < upper``."""
    if bounds is None:
        return
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise ValueError(f"Invalid bounds value: {bounds!r} (expected None or (lower, upper))")
    for name, bound in zip(("bounds[0]", "bounds[1]"), bounds, strict=True):
        if bound is not None:
            check_in_range(name, bound, -math.inf, math.inf, low_inclusive=False)
    lower, upper = bounds
    if lower is not None and upper is not None and not lower < upper:
        raise ValueError(f"Invalid bounds value: {tuple(bounds)!r} (expected lower < upper)")


def _check_hyperparameters(group: dict[str, Any]) -> None:
    """Validate one parameter group's hyperparameters (or the defaults), naming the bad value."""
    check_lr(group["lr"])
    check_non_negative("lr_decay", group["lr_decay"])
    check_in_range("rho", group["rho"], 0.0, 1.0, low_inclusive=False, high_inclusive=True)
    check_non_negative("rho_decay", group["rho_decay"])
    check_in_range("step_offset", group["step_offset"], 1.0, math.inf)
    for flag in ("adaptive", "count_zeros", "fused"):
        if not isinstance(group[flag], bool):
            raise TypeError(f"{flag} must be a bool, got {type(group[flag]).__name__}")
    check_in_range("beta", group["beta"], 0.0, 1.0)
    check_positive("eps", group["eps"])
    check_choice("regularizer", group["regularizer"], REGULARIZERS)
    check_non_negative("mu", group["mu"])
    check_non_negative("mu2", group["mu2"])
    _check_bounds(group["bounds"])
    check_choice("group_by", group["group_by"], GROUP_BY)
    check_choice("group_normalization", group["group_normalization"], GROUP_NORMALIZATIONS)
    check_choice("momentum_init", group["momentum_init"], MOMENTUM_INITS)
    if group["regularizer"] == "group_lasso" and group["bounds"] is not None:
        raise ValueError(
            f"Invalid bounds value: {tuple(group['bounds'])!r} (box constraints cannot be "
            "combined with regularizer='group_lasso')"
        )
    first = group["lr"] / group["step_offset"] ** group["lr_decay"]
    if (group["regularizer"] is not None or group["bounds"] is not None) and first > 1:
        raise ValueError(
            f"Invalid lr value: {group['lr']!r} (with a regularizer or bounds the first step "
            f"lr / step_offset**lr_decay = {first:g} must be at most 1: ProxSGD moves that "
            "fraction of the way to the proximal point, and more would overshoot it)"
        )


def _check_groupable(group: dict[str, Any]) -> None:
    """Row groups need every tensor of the parameter group to have the same size along dim 0."""
    if group["regularizer"] != "group_lasso" or group["group_by"] != "row":
        return
    shapes = [tuple(p.shape) for p in group["params"]]
    if any(len(shape) == 0 for shape in shapes) or len({shape[0] for shape in shapes}) > 1:
        raise ValueError(
            f"Invalid group_by value: 'row' for tensors of shapes {shapes} (row groups need "
            "every tensor of the parameter group to have the same size along dimension 0)"
        )


class ProxSGD(torch.optim.Optimizer):
    """Proximal SGD with convex-combination momentum (Yang et al., ICLR 2020); see the module
    docstring for the update, the regularisers and the diagnostics.

    Args:
        params: parameters or parameter groups; every hyperparameter below can be set per group.
        lr: initial step size :math:`\\epsilon_0`.
        lr_decay: exponent :math:`a_\\epsilon` of the step-size schedule (0: constant).
        rho: initial momentum weight :math:`\\rho_0 \\in (0, 1]` of the *new* gradient.
        rho_decay: exponent :math:`a_\\rho` of the momentum schedule (0: constant).
        step_offset: :math:`c` in :math:`(t + c)^{a}`, at least 1.
        adaptive: use the Adam-like curvature proxy :math:`\\tau_t` (else :math:`\\tau = 1`).
        beta: decay of the squared-gradient average of the curvature proxy.
        eps: :math:`\\delta`, added to :math:`\\tau_t`.
        regularizer: ``None``, ``"l1"``, ``"elastic_net"`` or ``"group_lasso"``.
        mu: weight of the l1 or group-lasso term.
        mu2: weight of the squared l2 term of the elastic net.
        bounds: ``None`` or a box ``(lower, upper)`` (``None`` on a side: unbounded).
        group_by: ``"row"`` or ``"all"``, the groups of the group lasso.
        group_normalization: ``"none"``, ``"div"`` or ``"mul"``, scaling of ``mu`` by the
            square root of the group size.
        momentum_init: ``"zero"`` (the paper) or ``"gradient"`` (:math:`v_{-1} = g_0`).
        count_zeros: count the exact zeros of the elementwise proximal points
            (``prox_zero_fraction``; one more pass over every l1 or elastic-net tensor).
        fused: run the step as one compiled kernel per group (see the module docstring:
            faster on large models once compiled, slower on small ones).
            Like every option above, ``count_zeros`` and ``fused`` can be set per parameter
            group.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]] | None,
        lr: float = 0.06,
        lr_decay: float = 0.5,
        rho: float = 0.9,
        rho_decay: float = 0.5,
        step_offset: float = 4,
        adaptive: bool = False,
        beta: float = 0.999,
        eps: float = 1e-8,
        regularizer: str | None = None,
        mu: float = 0.0,
        mu2: float = 0.0,
        bounds: tuple[float | None, float | None] | None = None,
        group_by: str = "row",
        group_normalization: str = "none",
        momentum_init: str = "zero",
        *,
        count_zeros: bool = True,
        fused: bool = False,
    ) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, rho=rho, rho_decay=rho_decay,
                        step_offset=step_offset, adaptive=adaptive, beta=beta, eps=eps,
                        regularizer=regularizer, mu=mu, mu2=mu2, bounds=bounds,
                        group_by=group_by, group_normalization=group_normalization,
                        momentum_init=momentum_init, count_zeros=count_zeros, fused=fused)
        _check_hyperparameters(defaults)
        super().__init__(params, defaults)
        self._workspace: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
        self._views: dict[tuple[int, ...], tuple[dict, list[torch.Tensor]]] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:  # state saved before the options existed
            group.setdefault("count_zeros", True)
            group.setdefault("fused", False)
        self.__dict__.setdefault("_workspace", {})
        self.__dict__.setdefault("_views", {})

    def _scratch(self, like: list[torch.Tensor]) -> list[torch.Tensor]:
        """Views shaped like the tensors of ``like`` into the persistent work buffers, disjoint
        from each other and valid until the next call (contents undefined). The tensors of one
        device and dtype are laid out one after the other, in order (see :meth:`_spans`); the
        views are cached per list of tensors."""
        key = tuple(map(id, like))
        cached = self._views.get(key)
        if cached is not None and all(self._workspace.get(k) is buffer
                                      for k, buffer in cached[0].items()):
            return cached[1]
        need: dict[tuple[torch.device, torch.dtype], int] = {}
        for t in like:
            need[(t.device, t.dtype)] = need.get((t.device, t.dtype), 0) + t.numel()
        for (device, dtype), size in need.items():
            buffer = self._workspace.get((device, dtype))
            if buffer is None or buffer.numel() < size:
                self._workspace[(device, dtype)] = torch.empty(size, device=device, dtype=dtype)
        views, offsets = [], dict.fromkeys(need, 0)
        for t in like:
            where = (t.device, t.dtype)
            start = offsets[where]
            views.append(self._workspace[where][start:start + t.numel()].view(t.shape))
            offsets[where] = start + t.numel()
        self._views[key] = ({k: self._workspace[k] for k in need}, views)
        return views

    def _spans(self, params: list[torch.Tensor], copies: int) -> list[list[torch.Tensor]]:
        """Per device and dtype: the ``copies`` flat stretches of the work buffer that
        ``_scratch(params * copies)`` laid out, each covering those parameters' views."""
        sizes: dict[tuple[torch.device, torch.dtype], int] = {}
        for p in params:
            sizes[(p.device, p.dtype)] = sizes.get((p.device, p.dtype), 0) + p.numel()
        return [[self._workspace[k][i * n:(i + 1) * n] for i in range(copies)]
                for k, n in sizes.items()]

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group after validating its hyperparameters (defaults filled in) and its
        group structure; an invalid group is not added."""
        add_checked_group(self, param_group, self._check_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_hyperparameters(group)
        _check_groupable(group)
        check_real_params(group["params"], type(self).__name__)

    # ------------------------------------------------------------------ the step

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor | None:
        """One ProxSGD step; ``closure`` (optional) re-evaluates the loss and its gradients."""
        loss = loss_and_grad(closure) if closure is not None else None
        previous = self.state.get(DIAGNOSTICS, {})
        skips = int(previous.get("nonfinite_skips", 0))
        grads = dense_grads(self)
        if not all_finite(loss, grads):
            self.state[DIAGNOSTICS] = {**previous, "nonfinite_skips": skips + 1}
            return loss
        _proxsgd_fused.check_toolchain({p.device for group in self.param_groups if group["fused"]
                                        for p in group["params"]})
        counts = _ZeroCounts()
        step_sizes, rhos = [], []
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if group["fused"]:
                eps_t, rho_t = self._fused_update(group, params, counts)
                step_sizes.append(eps_t)
                rhos.append(rho_t)
                continue
            buckets = self._advance(group, params)
            eps_t, rho_t = buckets[0][:2] if buckets else (0.0, 0.0)
            step_sizes.append(eps_t)
            rhos.append(rho_t)
            if group["regularizer"] == "group_lasso":
                if params:
                    self._group_update(group, params, buckets, counts)
                continue
            for eps_t, _, bucket in buckets:
                self._elementwise_update(group, eps_t, bucket, counts)
        diagnostics = {
            "step_size": step_sizes[0],
            "rho": rhos[0],
            "group_step_sizes": torch.tensor(step_sizes, dtype=torch.float64),
            "group_rhos": torch.tensor(rhos, dtype=torch.float64),
            "prox_zero_fraction": counts.fraction(counts.zero_coords, counts.coords),
            "prox_zero_groups": counts.fraction(counts.zero_groups, counts.groups),
            "num_groups": counts.groups,
            "nonfinite_skips": skips,
        }
        if not any(group["count_zeros"] for group in self.param_groups):
            del diagnostics["prox_zero_fraction"]
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    def _advance(self, group: dict[str, Any], params: list[torch.Tensor]
                 ) -> list[tuple[float, float, list[torch.Tensor]]]:
        """Update the momentum (and curvature) state of every parameter with a gradient, with
        one fused ``torch._foreach_*`` kernel per bucket of parameters that share a step count
        (one bucket unless some parameters missed a gradient at some step). Returns the buckets
        as :math:`(\\epsilon_t, \\rho_t, \\text{parameters})`, the first parameter's first."""
        buckets: dict[int, list[torch.Tensor]] = {}
        for p in params:
            buckets.setdefault(self._initialized(group, p)["step"], []).append(p)
        advanced = []
        for t, bucket in buckets.items():
            eps_t, rho_t = _schedules(group, t)
            grads = [p.grad for p in bucket]
            torch._foreach_lerp_(self._states(bucket, "momentum_buffer"), grads, rho_t)
            if group["adaptive"]:
                squares = self._states(bucket, "exp_avg_sq")
                torch._foreach_mul_(squares, group["beta"])
                torch._foreach_addcmul_(squares, grads, grads, value=1 - group["beta"])
            for p in bucket:
                self.state[p]["step"] = t + 1
            advanced.append((eps_t, rho_t, bucket))
        return advanced

    def _initialized(self, group: dict[str, Any], p: torch.Tensor) -> dict[str, Any]:
        """The state of ``p``, created at its first step: the step count, the momentum
        (zero, or the first gradient) and, with the curvature proxy, the squared-gradient
        average."""
        state = self.state[p]
        if not state:
            state["step"] = 0
            init = p.grad if group["momentum_init"] == "gradient" else torch.zeros_like(p)
            state["momentum_buffer"] = init.clone(memory_format=torch.preserve_format)
            if group["adaptive"]:
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        return state

    def _fused_update(self, group: dict[str, Any], params: list[torch.Tensor],
                      counts: _ZeroCounts) -> tuple[float, float]:
        """The whole step of a ``fused`` group in one compiled kernel
        (:mod:`deepoptim.optim._proxsgd_fused`); returns the first parameter's
        :math:`(\\epsilon_t, \\rho_t)`."""
        if not params:
            return 0.0, 0.0
        states = [self._initialized(group, p) for p in params]
        first = _schedules(group, states[0]["step"])
        rows = torch.tensor([_kernel_row(group, s["step"]) for s in states],
                            dtype=torch.float64, device=params[0].device)
        momenta = self._states(params, "momentum_buffer")
        squares = self._states(params, "exp_avg_sq") if group["adaptive"] else []
        grads = [p.grad for p in params]
        if group["regularizer"] == "group_lasso":
            by_row = group["group_by"] == "row"
            sizes = _group_sizes(params, by_row)
            weights = torch.as_tensor(_group_weight(group, sizes), dtype=torch.float64,
                                      device=params[0].device)
            factor = _proxsgd_fused.group_step(params, momenta, grads, squares, rows, weights,
                                               by_row)
            counts.add_groups(factor.reshape(-1), sizes, params)
        else:
            count = group["regularizer"] in _ELEMENTWISE_SPARSE and group["count_zeros"]
            zeros = _proxsgd_fused.elementwise_step(params, momenta, grads, squares, rows,
                                                    group["regularizer"],
                                                    group["bounds"] is not None, count)
            if count:
                counts.add_coords(int(zeros), sum(p.numel() for p in params))
        for state in states:
            state["step"] += 1
        return first

    def _states(self, params: list[torch.Tensor], key: str) -> list[torch.Tensor]:
        return [self.state[p][key] for p in params]

    def _curvature(self, group: dict[str, Any], params: list[torch.Tensor],
                   out: list[torch.Tensor]) -> list[torch.Tensor]:
        """:math:`\\tau_t` of adaptive parameters sharing a step count (already counted), into
        ``out``."""
        correction = math.sqrt(1 - group["beta"] ** self.state[params[0]]["step"])
        for p, tau in zip(params, out, strict=True):
            torch.sqrt(self.state[p]["exp_avg_sq"], out=tau)
        torch._foreach_div_(out, correction)
        torch._foreach_add_(out, group["eps"])
        return out

    def _proximal_base(self, params: list[torch.Tensor], bases: list[torch.Tensor],
                       scales: list[torch.Tensor] | None) -> None:
        """:math:`b = x_t - v_t / \\tau` of every parameter, written into ``bases``."""
        for p, v, b, scale in zip(params, self._states(params, "momentum_buffer"), bases,
                                  scales or [None] * len(params), strict=True):
            if scale is None:
                torch.sub(p, v, out=b)
            else:
                torch.addcdiv(p, v, scale, value=-1, out=b)

    def _elementwise_update(self, group: dict[str, Any], eps_t: float,
                            params: list[torch.Tensor], counts: _ZeroCounts) -> None:
        """:math:`x \\leftarrow x + \\epsilon_t(\\hat x - x)` with an elementwise prox, for
        parameters sharing a step count."""
        regularizer, bounds = group["regularizer"], group["bounds"]
        momenta = self._states(params, "momentum_buffer")
        work = self._scratch(params * 2 if group["adaptive"] else params)
        bases, taus = work[:len(params)], None
        if group["adaptive"]:
            taus = self._curvature(group, params, work[len(params):])
        if regularizer is None and bounds is None:  # prox = identity: x - eps v / tau
            if taus is None:
                torch._foreach_add_(params, momenta, alpha=-eps_t)
            else:
                torch._foreach_addcdiv_(params, momenta, taus, value=-eps_t)
            return
        self._proximal_base(params, bases, taus)
        # the prox and the zero count run once over each flat stretch of the work buffer
        spans = self._spans(params, 2 if taus else 1)
        for span in spans:
            _elementwise_prox_(span[0], group, span[1] if taus else 1.0)
        torch._foreach_lerp_(params, bases, eps_t)
        if regularizer in _ELEMENTWISE_SPARSE and group["count_zeros"]:
            for span in spans:
                counts.count_zeros_(span[0])

    def _group_update(self, group: dict[str, Any], params: list[torch.Tensor],
                      buckets: list[tuple[float, float, list[torch.Tensor]]],
                      counts: _ZeroCounts) -> None:
        """:math:`x \\leftarrow x + \\epsilon_t(\\hat x - x)` with the group-lasso prox, the
        groups' scalar curvature being the mean of :math:`\\tau_t` over each group."""
        rows = group["group_by"] == "row"
        sizes = _group_sizes(params, rows)
        work = self._scratch(params * 2 if group["adaptive"] else params)
        bases = work[:len(params)]
        scale: float | torch.Tensor = 1.0
        scales = None
        if group["adaptive"]:
            tau_of = dict(zip(params, work[len(params):], strict=True))
            for _, _, bucket in buckets:
                self._curvature(group, bucket, [tau_of[p] for p in bucket])
            scale = _group_mean(list(tau_of.values()), sizes, rows)
            scales = [_scale_of(scale, p, rows) for p in params]
        self._proximal_base(params, bases, scales)
        norms = prox.group_norms_rows(bases) if rows else prox.joint_norm(bases).reshape(1)
        factor = prox.group_shrinkage(norms, _group_weight(group, sizes) / scale)
        counts.add_groups(factor, sizes, params)
        if rows:
            for b in bases:
                b.mul_(_scale_of(factor, b, True))
        else:
            torch._foreach_mul_(bases, factor[0])
        target = dict(zip(params, bases, strict=True))
        for eps_t, _, bucket in buckets:
            torch._foreach_lerp_(bucket, [target[p] for p in bucket], eps_t)

    # ------------------------------------------------------------------ inspection

    @torch.no_grad()
    def group_norms(self) -> list[torch.Tensor | None]:
        """Per parameter group: the current norms :math:`\\|x_g\\|_2` of its group-lasso
        groups (one per row, or one for ``group_by="all"``), or ``None`` without a group lasso."""
        norms: list[torch.Tensor | None] = []
        for group in self.param_groups:
            if group["regularizer"] != "group_lasso":
                norms.append(None)
            elif group["group_by"] == "row":
                norms.append(prox.group_norms_rows(group["params"]))
            else:
                norms.append(prox.joint_norm(group["params"]).reshape(1))
        return norms

    @torch.no_grad()
    def penalty(self) -> float:
        """The regulariser :math:`r(x)` summed over all parameter groups (box indicators are 0
        at feasible points and not included)."""
        total = 0.0
        for group, norms in zip(self.param_groups, self.group_norms(), strict=True):
            params = group["params"]
            if group["regularizer"] in _ELEMENTWISE_SPARSE:
                total += group["mu"] * sum(float(p.abs().sum()) for p in params)
            if group["regularizer"] == "elastic_net":
                total += 0.5 * group["mu2"] * sum(float(p.pow(2).sum()) for p in params)
            if norms is not None:
                sizes = _group_sizes(params, group["group_by"] == "row")
                total += float((_group_weight(group, sizes) * norms).sum())
        return total


class _ZeroCounts:
    """Counters of exact zeros in the proximal points of one step."""

    def __init__(self) -> None:
        self.zero_coords = self.coords = self.zero_groups = self.groups = 0

    def count_zeros_(self, x: torch.Tensor) -> None:
        """Add the exact zeros of ``x``, overwriting it with its non-zero indicator (no
        temporary). The indicator is summed in a dtype that counts every entry exactly."""
        exact = torch.float64 if x.numel() >= 2**24 or x.dtype == torch.float64 \
            else torch.float32
        self.add_coords(x.numel() - int(x.ne_(0).sum(dtype=exact)), x.numel())

    def add_coords(self, zeros: int, coords: int) -> None:
        self.zero_coords += zeros
        self.coords += coords

    def add_groups(self, factor: torch.Tensor, sizes: torch.Tensor,
                   params: list[torch.Tensor]) -> None:
        """Count the groups whose shrinkage ``factor`` is 0, and their coordinates."""
        zero = factor == 0
        self.zero_groups += int(zero.sum())
        self.groups += zero.numel()
        self.add_coords(int((zero.to(sizes.dtype) * sizes).sum()),
                        sum(p.numel() for p in params))

    @staticmethod
    def fraction(part: int, whole: int) -> float:
        return part / whole if whole else 0.0


def _schedules(group: dict[str, Any], t: int) -> tuple[float, float]:
    """:math:`\\epsilon_t = \\epsilon_0/(t+c)^{a_\\epsilon}` and
    :math:`\\rho_t = \\rho_0/(t+c)^{a_\\rho}`."""
    base = t + group["step_offset"]
    return group["lr"] / base ** group["lr_decay"], group["rho"] / base ** group["rho_decay"]


def _kernel_row(group: dict[str, Any], t: int) -> list[float]:
    """The fused kernel's scalars for a parameter at step ``t``, in the order of
    :data:`deepoptim.optim._proxsgd_fused.COLUMNS` (an open side of the box is infinite)."""
    eps_t, rho_t = _schedules(group, t)
    lower, upper = group["bounds"] or (None, None)
    return [rho_t, eps_t, math.sqrt(1 - group["beta"] ** (t + 1)), group["mu"], group["mu2"],
            group["beta"], group["eps"], -math.inf if lower is None else lower,
            math.inf if upper is None else upper]


def _elementwise_prox_(b: torch.Tensor, group: dict[str, Any], tau: float | torch.Tensor
                       ) -> torch.Tensor:
    """The closed-form prox of the group's elementwise regulariser, clipped to its box,
    overwriting the temporary ``b``."""
    regularizer = group["regularizer"]
    if regularizer == "l1":
        b = prox.prox_l1(b, group["mu"], tau, inplace=True)
    elif regularizer == "elastic_net":
        b = prox.prox_elastic_net(b, group["mu"], group["mu2"], tau, inplace=True)
    if group["bounds"] is not None:
        b = prox.prox_box(b, *group["bounds"], inplace=True)
    return b


def _group_sizes(params: list[torch.Tensor], rows: bool) -> torch.Tensor:
    """The number of entries :math:`d_g` of each group (one per row, or one), in the
    parameters' dtype."""
    total = sum(p.numel() for p in params)
    count = params[0].shape[0] if rows else 1
    return torch.full((count,), total / count, dtype=params[0].dtype, device=params[0].device)


def _group_weight(group: dict[str, Any], sizes: torch.Tensor) -> torch.Tensor | float:
    """:math:`\\mu_g`: ``mu`` scaled by the group normalisation."""
    normalization = group["group_normalization"]
    if normalization == "none":
        return group["mu"]
    root = sizes.sqrt()
    weight = group["mu"] / root if normalization == "div" else group["mu"] * root
    return weight if len(weight) > 1 else float(weight[0])


def _group_mean(taus: list[torch.Tensor], sizes: torch.Tensor, rows: bool) -> torch.Tensor:
    """:math:`\\bar\\tau_g`, the mean curvature over each group (per row, or of all entries)."""
    if rows:
        sums = torch.stack([t.reshape(t.shape[0], -1).sum(1) for t in taus]).sum(0)
        return sums / sizes.to(sums.dtype)
    return torch.stack([t.sum() for t in taus]).sum() / float(sizes[0])


def _scale_of(scale: float | torch.Tensor, p: torch.Tensor, rows: bool
              ) -> float | torch.Tensor:
    """A group scale broadcast against one tensor: per row along dimension 0, or as is."""
    if rows and isinstance(scale, torch.Tensor):
        return scale.reshape(-1, *([1] * (p.dim() - 1)))
    return scale
