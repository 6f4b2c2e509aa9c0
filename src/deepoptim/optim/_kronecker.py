r"""What KFAC and NKFAC share: Kronecker factors by module hooks, their exponential average on
a ``cov_interval`` cadence, inverses on an ``inv_interval`` cadence with a safe fallback, the
preconditioned step, and SGD with momentum on every parameter.

How the optimizer gets the model
--------------------------------
Both optimizers take the network as the keyword-only argument ``model``, which must be given
(leaving it out is a ``TypeError`` at the first ``step``: construction only runs torch's checks
of ``params``, so that its warnings stay warnings): ``KFAC(model.parameters(), model=model)``.
The preconditioned layers are the supported layers of the model (``nn.Linear``, and
``nn.Conv1d`` and ``nn.Conv2d`` with ``groups=1``: :data:`deepoptim.curvature.SUPPORTED_LAYERS`)
whose weight is among ``params``, or the ones named in ``layers``. The Kronecker factors are
recorded by :class:`deepoptim.curvature.KroneckerFactors`, whose hooks exist only while the
closure runs inside ``step``; so with a model, ``step(closure)`` requires the closure (its
forward and backward passes are what the hooks see; the loss must be the mean over the batch's
examples). ``model=None`` preconditions nothing: every parameter gets SGD with momentum and
``step()`` needs no closure. Loud misuse (``ValueError`` at construction unless said otherwise):
a parameter that is not the model's; a preconditioned layer whose bias is not optimized with its
weight, in the same parameter group; a layer named in ``layers`` whose weight is not optimized;
a model with no layer to precondition; and, at a recording step, a preconditioned layer that
received a gradient but was reached by no hook (its ``forward`` was bypassed, as for the
``out_proj`` of ``nn.MultiheadAttention``; leave it out with ``layers``): ``RuntimeError``.

One step
--------
With :math:`t` the steps taken before (``diagnostics["step"]``):

1. the closure runs (inside the recording if :math:`t \bmod T_{\mathrm{cov}} = 0`); each
   recorded layer's batch factors :math:`A_t, G_t` are folded into the running factors by the
   method's rule (:meth:`KroneckerOptimizer._fold`);
2. if :math:`t \bmod T_{\mathrm{inv}} = 0`, each layer's damped inverses are recomputed by the
   method (:meth:`KroneckerOptimizer._invert`);
3. each preconditioned layer's gradient matrix :math:`V = [\nabla W \;\; \nabla b]` becomes
   :math:`D = (G + \lambda_G I)^{-1} V (A + \lambda_A I)^{-1}`
   (:func:`~deepoptim.curvature.kronecker_solve`), rescaled by the method
   (:meth:`KroneckerOptimizer._rescale`); every other parameter keeps its gradient;
4. SGD with momentum, exactly as ``torch.optim.SGD`` (``foreach=False``) computes it, on
   :math:`D` (coupled weight decay added after preconditioning, as the authors' code does):
   :math:`d = D + \mathrm{wd}\,p`, :math:`b \leftarrow \mu b + (1 - \tau) d` (:math:`b = d` at
   the first step), :math:`d \leftarrow d + \mu b` with Nesterov else :math:`d \leftarrow b`,
   :math:`p \leftarrow p - \mathrm{lr}\, d`. A parameter of no preconditioned layer therefore
   takes exactly ``torch.optim.SGD``'s step.

Numerical safety: a recording whose factors are not finite is dropped (the running factors
stay); an inverse that cannot be computed safely (:class:`~deepoptim.curvature.FactorError`:
a factor not finite, not symmetric or not positive definite after damping) leaves the layer's
previous inverses in place, or, before it has any, its plain gradient; a preconditioned
direction that is not finite is replaced by the plain gradient. Each event is counted in the
diagnostics, never silent.

Under ``torch.distributed`` (initialised, world size above 1) every rank takes the same step,
the full-batch one. ``DistributedDataParallel`` averages the gradients, but the hooks see each
rank's own activations and output gradients, so at every recording step the ranks' recorded
factors are averaged by one all-reduce (of :math:`\sum (\bar d^2 + c^2 + 1) + 1` numbers over
the layers) before they are folded; every rank must therefore call ``step`` the same number of
times (the default process group is used, also without DDP). Rank :math:`r` holds
:math:`n_r` examples of its loss :math:`L_r = \frac{1}{n_r}\sum_{i \in r} \ell_i`; its
output gradients are :math:`\partial L_r/\partial s = \frac{1}{n_r}\,\partial \ell_i/\partial
s` (DDP's averaging acts on the parameters' gradients, after these hooks), so the recorded
:math:`g_i = n_r\, \partial L_r / \partial s = \partial \ell_i/\partial s` is the per-example
gradient, unscaled, exactly as in a single process, and the rank's factors are its examples'
means :math:`A_r = \frac{1}{n_r} \sum_{i \in r} \bar a_i \bar a_i^\top`,
:math:`G_r = \frac{1}{n_r T} \sum_{i \in r, t} g_{i,t} g_{i,t}^\top`. Their average
:math:`\frac1R \sum_r A_r` is the full-batch :math:`A` (and likewise :math:`G`) exactly when
the shares are equal (:math:`n_r = N/R`), up to rounding; for unequal shares it weights each
rank's mean equally, as DDP weights the ranks' mean gradients. It is not the full-batch factor
when examples are coupled (batch normalisation in train mode), nor are the gradients. A layer
recorded on only some ranks (data that skip a branch) gets the average over those ranks; a
recording that is not finite on one rank is dropped on every rank. All that follows (the
folding, the inverses, the fallbacks, the preconditioned directions) is computed from these
all-reduced factors and DDP's averaged gradients only, so it agrees on every rank without
another collective (``tests/optim/test_kfac_ddp.py``).

State: per preconditioned layer, on its weight, ``a_factor``, ``g_factor`` (running factors)
and ``a_inverse``, ``g_inverse``; ``momentum_buffer`` on every parameter stepped with
momentum. Diagnostics (``self.state[DIAGNOSTICS]``): ``step``, ``factor_updates`` (recordings
folded), ``inverse_refreshes`` (refresh rounds), ``fallbacks`` (all events below),
``dropped_recordings``, ``failed_inverses`` (layers that kept previous inverses),
``plain_gradient_layers`` (layer steps taken with the plain gradient),
``preconditioner_seconds`` (wall-clock time in steps 1-3 outside the closure; with a model
the one entry that differs between two otherwise identical runs, 0 without one), and the
method's own.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from deepoptim._checks import check_in_range, check_int_at_least, check_non_negative
from deepoptim.curvature import (
    SUPPORTED_LAYERS,
    FactorError,
    KroneckerFactors,
    LayerFactors,
    kronecker_solve,
    layer_matrix,
    split_layer_matrix,
)
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    add_checked_group,
    as_loss,
    check_lr,
    check_real_params,
    check_sparse_grad,
    global_mean,
    require_closure,
)
from deepoptim.optim.directions import Momentum


class _Required:
    """The default of ``model``: none (``step`` refuses to run without one)."""

    def __repr__(self) -> str:
        return "<required>"


#: ``model``'s placeholder default: leaving it out is a ``TypeError``.
REQUIRED: Any = _Required()

_COUNTERS = ("step", "factor_updates", "inverse_refreshes", "fallbacks", "dropped_recordings",
             "failed_inverses", "plain_gradient_layers")


def check_sgd_hyperparameters(group: dict[str, Any]) -> None:
    """Validate one group's SGD hyperparameters."""
    check_lr(group["lr"])
    check_in_range("momentum", group["momentum"], 0.0, 1.0)
    check_in_range("dampening", group["dampening"], 0.0, 1.0, high_inclusive=True)
    check_non_negative("weight_decay", group["weight_decay"])
    if not isinstance(group["nesterov"], bool):
        raise TypeError(f"nesterov must be a bool, got {type(group['nesterov']).__name__}")
    if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
        raise ValueError("Invalid nesterov value: True (Nesterov momentum requires a momentum "
                         "and zero dampening)")


def _supported(module: nn.Module) -> bool:
    return isinstance(module, SUPPORTED_LAYERS) and getattr(module, "groups", 1) == 1


class KroneckerOptimizer(torch.optim.Optimizer):
    """The base of :class:`~deepoptim.optim.KFAC` and :class:`~deepoptim.optim.NKFAC` (see the
    module docstring); a subclass defines :meth:`_fold`, :meth:`_invert` and may override
    :meth:`_rescale`, and, for another base optimizer than SGD, :meth:`_update` and
    :meth:`_check_update`.

    Args:
        params: parameters or parameter groups (``lr``, ``momentum``, ``dampening``,
            ``weight_decay``, ``nesterov``, ``damping`` and ``stat_decay`` per group; a layer
            uses its weight's group).
        model: the network whose layers are preconditioned, or ``None`` (nothing is).
        layers: names of the modules to precondition (``model.named_modules()``); default
            every supported layer whose weight is in ``params``.
        cov_interval: :math:`T_{\\mathrm{cov}}`, record the factors every this many steps.
        inv_interval: :math:`T_{\\mathrm{inv}}`, recompute the inverses every this many steps.
    """

    def __init__(self, params: Iterable[Any] | None, defaults: dict[str, Any], *,
                 model: nn.Module | None, layers: Sequence[str] | None, cov_interval: int,
                 inv_interval: int) -> None:
        self._check_hyperparameters(defaults)
        if model is not REQUIRED and model is not None and not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module or None, got "
                            f"{type(model).__name__}")
        if layers is not None and model is None:
            raise ValueError("Invalid layers value: layers were named but model is None")
        check_int_at_least("cov_interval", cov_interval, 1)
        check_int_at_least("inv_interval", inv_interval, 1)
        super().__init__(params, defaults)
        self._model_missing = model is REQUIRED
        self.cov_interval = cov_interval
        self.inv_interval = inv_interval
        self.state[DIAGNOSTICS] = {**dict.fromkeys(_COUNTERS, 0), "preconditioner_seconds": 0.0,
                                   **self._initial_diagnostics()}
        self._layers: dict[str, nn.Module] = {}
        self._collector: KroneckerFactors | None = None
        if model is not None and not self._model_missing:
            self._layers = self._select_layers(model, layers)
            self._collector = KroneckerFactors(model, layers=list(self._layers))

    def __getstate__(self) -> dict[str, Any]:
        """Torch's state (defaults, state, groups) and the layers and cadences, for deepcopy
        and pickling."""
        return {**super().__getstate__(), "cov_interval": self.cov_interval,
                "inv_interval": self.inv_interval, "_model_missing": self._model_missing,
                "_layers": self._layers, "_collector": self._collector}

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch's rules) after validating it; an invalid group is not added. A
        group added after construction is stepped with SGD (the layers are chosen once)."""
        add_checked_group(self, param_group, self._check_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        self._check_hyperparameters(group)
        check_real_params(group["params"], type(self).__name__)

    def _select_layers(self, model: nn.Module, layers: Sequence[str] | None
                       ) -> dict[str, nn.Module]:
        """The preconditioned layers, after checking that params and model agree."""
        group_of = {p: index for index, group in enumerate(self.param_groups)
                    for p in group["params"]}
        owned = set(model.parameters())
        for index, p in enumerate(group_of):
            if p not in owned:
                raise ValueError(f"Invalid params value: parameter {index} (shape "
                                 f"{tuple(p.shape)}) is not a parameter of model")
        modules = dict(model.named_modules())
        if layers is None:
            names = [name for name, m in modules.items()
                     if _supported(m) and m.weight in group_of]
        else:
            if isinstance(layers, str) or not all(isinstance(n, str) for n in layers):
                raise TypeError("layers must be a sequence of module names")
            names = list(layers)
            missing = [n for n in names if n in modules and modules[n].weight not in group_of]
            if missing:
                raise ValueError(f"Invalid layers value: {missing} (their weights are not in "
                                 "params)")
        if not names:
            raise ValueError("Invalid model value: it has no supported layer whose weight is "
                             "in params (pass model=None for SGD with momentum)")
        for name in names:
            layer = modules.get(name)
            bias = getattr(layer, "bias", None)
            if bias is not None and group_of.get(bias) != group_of.get(layer.weight):
                raise ValueError(f"Invalid params value: the bias of layer {name!r} must be "
                                 "optimized with its weight, in the same parameter group")
        return {name: modules[name] for name in names}

    # --- what a method defines -------------------------------------------------------------

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Validate a group's hyperparameters (or the defaults): the base optimizer's
        (:meth:`_check_update`), then the damping and factor decay of its layers."""
        self._check_update(group)
        check_non_negative("damping", group["damping"])
        check_in_range("stat_decay", group["stat_decay"], 0.0, 1.0)

    def _check_update(self, group: dict[str, Any]) -> None:
        """Validate the hyperparameters of :meth:`_update` (SGD's)."""
        check_sgd_hyperparameters(group)

    def _initial_diagnostics(self) -> dict[str, float | int]:
        """The method's own diagnostics, at their values before the first step."""
        return {}

    def _fold(self, running: torch.Tensor | None, new: torch.Tensor, decay: float
              ) -> torch.Tensor:
        """The running factor after a recording (``running`` is ``None`` at the first)."""
        raise NotImplementedError

    def _invert(self, factor: torch.Tensor, previous: torch.Tensor | None, damping: float,
                refresh: int, diagnostics: dict[str, Any], name: str) -> torch.Tensor:
        """The damped inverse of a running factor at refresh number ``refresh``; raises
        :class:`~deepoptim.curvature.FactorError` when it cannot be computed safely."""
        raise NotImplementedError

    def _rescale(self, direction: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
        """The preconditioned direction as applied (KFAC: unchanged)."""
        return direction

    # --- the step ----------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor | None:
        """One step; with a model, ``closure`` (required) runs the forward and backward pass."""
        if self._model_missing:
            raise TypeError(f"{type(self).__name__} needs the model it trains: pass model=model "
                            "(the module whose layers' hooks record the factors), or model=None "
                            "for SGD with momentum on every parameter")
        if self._collector is not None:
            require_closure(closure, type(self).__name__)
        diagnostics = dict(self.state[DIAGNOSTICS])
        t = diagnostics["step"]
        loss = None
        recording = self._collector is not None and t % self.cov_interval == 0
        if closure is not None:
            loss = self._run(closure, recording, diagnostics)
            as_loss(loss)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    check_sparse_grad(p.grad, type(self).__name__)
        directions = {}
        if self._layers:
            start = time.perf_counter()
            if recording:
                self._fold_recording(diagnostics)
            if t % self.inv_interval == 0:
                self._refresh(t // self.inv_interval, diagnostics)
                diagnostics["inverse_refreshes"] += 1
            directions = self._precondition(diagnostics)
            diagnostics["preconditioner_seconds"] += time.perf_counter() - start
        for group in self.param_groups:
            self._update(group, directions)
        diagnostics["step"] = t + 1
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    def _run(self, closure: Closure, recording: bool, diagnostics: dict[str, Any]):
        """Evaluate the closure, inside the factors' recording at a recording step."""
        if not recording:
            with torch.enable_grad():
                return closure()
        self._collector.factors = {}
        dropped = False
        try:
            with torch.enable_grad(), self._collector.record():
                loss = closure()
        except FactorError:
            dropped = True
        if not dropped:
            bypassed = [name for name, layer in self._layers.items()
                        if layer.weight.grad is not None and name not in self._collector.factors]
            if bypassed:
                raise RuntimeError(f"layers {bypassed} received gradients but no hook reached "
                                   "them (their forward was bypassed); leave them out with "
                                   "layers=[...]")
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dropped = self._average_over_ranks(dropped)
        if dropped:
            self._collector.factors = {}
            diagnostics["dropped_recordings"] += 1
            diagnostics["fallbacks"] += 1
        return loss

    def _average_over_ranks(self, dropped: bool) -> bool:
        """Replace this rank's recorded factors by their average over the ranks that recorded
        each layer, by one all-reduce; returns whether the recording is dropped (on every rank
        if on one)."""
        sizes = {name: (layer.weight[0].numel() + (layer.bias is not None), len(layer.weight))
                 for name, layer in self._layers.items()}
        recorded = {} if dropped else self._collector.factors
        flag = next(iter(self._layers.values())).weight.new_ones(1)
        pieces = [flag * dropped]
        for name, (columns, channels) in sizes.items():
            factors = recorded.get(name)
            pieces += ([flag, factors.a.flatten(), factors.g.flatten()] if factors is not None else
                       [flag.new_zeros(1 + columns ** 2 + channels ** 2)])
        dropped_share, *parts = global_mean(torch.cat(pieces)).split(
            [1] + [n for columns, channels in sizes.values()
                   for n in (1, columns ** 2, channels ** 2)])
        averaged = {}
        for (name, (columns, channels)), share, a, g in zip(
                sizes.items(), parts[0::3], parts[1::3], parts[2::3], strict=True):
            if share > 0:  # the fraction of the ranks that recorded the layer
                a, g = a.view(columns, columns) / share, g.view(channels, channels) / share
                dtype = self._layers[name].weight.dtype
                averaged[name] = LayerFactors(a=((a + a.T) / 2).to(dtype),
                                              g=((g + g.T) / 2).to(dtype), updates=1)
        self._collector.factors = averaged
        return bool(dropped_share > 0)

    def _fold_recording(self, diagnostics: dict[str, Any]) -> None:
        recorded = self._collector.factors
        for name, factors in recorded.items():
            weight = self._layers[name].weight
            state, decay = self.state[weight], self._group_of(weight)["stat_decay"]
            state["a_factor"] = self._fold(state.get("a_factor"), factors.a, decay)
            state["g_factor"] = self._fold(state.get("g_factor"), factors.g, decay)
        diagnostics["factor_updates"] += bool(recorded)

    def _group_of(self, p: torch.Tensor) -> dict[str, Any]:
        return next(g for g in self.param_groups if any(q is p for q in g["params"]))

    def _refresh(self, refresh: int, diagnostics: dict[str, Any]) -> None:
        """Recompute each layer's two inverses together, or keep the previous ones."""
        for name, layer in self._layers.items():
            state = self.state[layer.weight]
            if "a_factor" not in state:
                continue
            damping = self._group_of(layer.weight)["damping"]
            try:
                inverses = {key: self._invert(state[f"{key}_factor"], state.get(f"{key}_inverse"),
                                              damping, refresh, diagnostics,
                                              f"{name}.{key}_factor")
                            for key in ("a", "g")}
            except FactorError:
                diagnostics["failed_inverses"] += 1
                diagnostics["fallbacks"] += 1
                continue
            state["a_inverse"], state["g_inverse"] = inverses["a"], inverses["g"]

    def _precondition(self, diagnostics: dict[str, Any]) -> dict[torch.Tensor, torch.Tensor]:
        """The preconditioned direction of each preconditioned layer's parameters."""
        directions = {}
        for layer in self._layers.values():
            if layer.weight.grad is None:
                continue
            bias = layer.bias
            gradient = layer_matrix(layer, layer.weight.grad,
                                    None if bias is None else _grad_or_zeros(bias))
            state = self.state[layer.weight]
            direction = None
            if "a_inverse" in state:
                direction = self._rescale(
                    kronecker_solve(state["a_inverse"], state["g_inverse"], gradient), gradient)
                if not bool(torch.isfinite(direction).all()):
                    direction = None
            if direction is None:
                diagnostics["plain_gradient_layers"] += 1
                diagnostics["fallbacks"] += 1
                continue
            weight, bias_direction = split_layer_matrix(layer, direction)
            directions[layer.weight] = weight
            if bias is not None:
                directions[bias] = bias_direction
        return directions

    def _update(self, group: dict[str, Any], directions: dict[torch.Tensor, torch.Tensor]
                ) -> None:
        """``torch.optim.SGD``'s update on the given directions (its momentum is
        :class:`~deepoptim.optim.directions.Momentum`); AdaNKFAC's is AdamW's."""
        params = [p for p in group["params"] if p.grad is not None]
        steps = [directions.get(p, p.grad) for p in params]
        if group["weight_decay"] != 0:
            steps = [d.add(p, alpha=group["weight_decay"]) for p, d in zip(params, steps,
                                                                          strict=True)]
        if group["momentum"] != 0:
            heavy_ball = Momentum(group["momentum"], group["dampening"], group["nesterov"])
            steps = heavy_ball(steps, [self.state[p] for p in params]).update
        for p, d in zip(params, steps, strict=True):
            p.add_(d, alpha=-group["lr"])


def _grad_or_zeros(p: torch.Tensor) -> torch.Tensor:
    """A bias that got no gradient (unused this step) contributes a zero column."""
    return p.grad if p.grad is not None else torch.zeros_like(p)

