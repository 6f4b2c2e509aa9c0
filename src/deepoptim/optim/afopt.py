r"""AFOpt: a gradient step in attention-logit space, mapped back to the query and key weights.

**A reconstruction.** Ying Sun's thesis (PolyU 2024, "Designing effective preconditioned
optimizers for DNN training") names an "Attention-Feature-based Optimizer (AFOpt)", an
"attention-feature-based preconditioned approach for transformer structures"; only the
abstract is public, and no paper or code for it was found. What follows is one principled
reading of that sentence, derived below; it is not known to be the thesis'
algorithm. The closest published method is MAC (Seung, Lee and Ko, ICDM 2025), which
preconditions attention layers with Kronecker factors built from attention features.

**The derivation.** Take one head of an attention layer, tokens
:math:`X \in \mathbb R^{n\times d}`, queries :math:`Q = X W_q^\top + b_q`, keys
:math:`K = X W_k^\top + b_k` (``nn.Linear``'s convention, :math:`W \in \mathbb R^{d_k\times d}`
for the head's rows), and logits :math:`S = Q K^\top/\sqrt{d_k}`. With :math:`A = W_q^\top`,
:math:`S = X A K^\top/\sqrt{d_k} + \ldots` is linear in :math:`A`, and

.. math::

    \nabla_A L = X^\top (\nabla_S L)\, K/\sqrt{d_k}.

Take the gradient step in logit space, :math:`\Delta S = -\eta \nabla_S L`, and pull it back to
the weights by least squares, :math:`\min_{\Delta A} \lVert X \Delta A K^\top/\sqrt{d_k} -
\Delta S\rVert_F`. The normal equations :math:`X^\top X\, \Delta A\, K^\top K/d_k = -\eta
\nabla_A L` give

.. math::

    \Delta W_q = -\eta\, (K^\top K/d_k + \lambda_K I)^{-1}\, \nabla_{W_q} L\,
        (X^\top X + \lambda_X I)^{-1},

exactly the least-squares solution when :math:`\lambda = 0` and the Gram matrices are
invertible (tested against ``torch.linalg.lstsq`` on the dense system
:math:`(K \otimes X)/\sqrt{d_k}`). It is a two-sided, KFAC-like preconditioner whose factors
are *attention features*, the token Gram matrices of the query projection's input and of the
keys, instead of gradient statistics. The key projection's rule swaps the roles:
:math:`S^\top = X_k W_k^\top Q^\top/\sqrt{d_k}`, so :math:`W_k` uses the Gram matrix of its own
input and :math:`Q^\top Q/d_k`. (Inputs of the two projections may differ, as in
cross-attention; each uses its own.) With orthonormal columns of :math:`X` and :math:`K` the
rule is a scaled gradient step.

**What is implemented.** Over a batch of :math:`N` sequences the exact pull-back couples
:math:`\sum_b K_b^\top K_b \otimes X_b^\top X_b`; AFOpt keeps the Kronecker factorisation of
its mean (KFAC's expectation approximation), :math:`F_X = \frac1N\sum_b X_b^\top X_b` and per
head :math:`F_K = \frac1N\sum_b K_b^\top K_b/d_k`, exact for :math:`N = 1`. Every
``update_interval`` steps the factors are recorded by forward hooks on the ``query`` and
``key`` projections while the closure runs (the first recording sets them, later ones fold in
as :math:`F \leftarrow \beta F + (1-\beta)F_{\mathrm{new}}`, ``factor_decay`` :math:`=\beta`),
and their damped inverses are recomputed by eigendecomposition
(:class:`~deepoptim.curvature.SymmetricEigen`), with NKFAC's relative damping
:math:`\lambda = \texttt{damping}\cdot\lambda_{\max}(F)`. :meth:`AFOpt.pull_back` applies
them: :math:`P(M) = (F_K+\lambda_K I)^{-1} M (F_X+\lambda_X I)^{-1}`, head by head.

The step (a base optimizer and a Frobenius norm matching, as NKFAC's, made concrete): every
parameter keeps AdamW's moments :math:`m, v` of its gradient. A parameter that is not the
weight of a query or key projection takes ``torch.optim.AdamW``'s step, bit for bit. A query
or key weight takes the pulled-back direction of its first moment with the length of AdamW's
update :math:`U = \eta\,\hat m \oslash (\sqrt{\hat v} + \epsilon)` (grafting, after Agarwal et
al. 2020):

.. math::

    W \leftarrow (1 - \eta\lambda_{\mathrm{wd}})\, W - \lVert U\rVert_F\,
        \frac{P(m)}{\lVert P(m)\rVert_F},

so ``lr`` sets the step length of every parameter as in AdamW, and the logit-space
geometry sets the direction. With fixed factors :math:`P(m)` is the moving average of the
pulled-back gradients (:math:`P` is linear). The biases of the projections take AdamW's step.
These choices (grafting onto AdamW, first moment, Kronecker approximation over the batch) are
the book's, not the thesis'.

**Which layers.** The optimizer is told the attention layers explicitly: ``attention=``, a
sequence of modules, or ``model=``, whose attention layers are the submodules with the
interface (:func:`is_attention_layer`): ``query`` and ``key`` attributes that are
``nn.Linear`` of equal output width, called on ``(..., tokens, features)`` inputs, and an int
``num_heads`` dividing that width (as :class:`deepoptim.models.SelfAttention`). Loud misuse:
both of ``attention`` and ``model``, or neither (``TypeError``; for neither at the first
``step``, so that torch's checks of ``params`` come first); a listed module without the
interface (``TypeError``); a query or key weight not in ``params`` (``ValueError``); a model
with no attention layer (a ``UserWarning``: AFOpt is then AdamW; ``attention=()`` says so
explicitly and does not warn); a ``step`` without a closure when there are attention layers,
a projection called more than once per forward pass, or called on an input with fewer than two
dimensions, or one whose weight received a gradient while its hook saw no input
(``RuntimeError``).

**Numerical safety.** A step whose loss or gradients are not all finite is skipped
(parameters and state unchanged, its recording dropped; counted). A factor whose inverse cannot
be computed safely (:class:`~deepoptim.curvature.FactorError`: not finite, or not positive
definite after damping, e.g. a zero factor) keeps the weight's previous inverses or, before it
has any, gives the weight AdamW's step; a pulled-back direction that is not finite or zero also
gives AdamW's step. Each is counted.

Diagnostics (``self.state[DIAGNOSTICS]``): ``steps`` (steps taken), ``step_size``
(:math:`\eta/(1-\beta_1^t)` of the first parameter stepped), ``preconditioned`` (query and key
weights stepped in logit space this step), the running counts ``factor_updates``,
``failed_inverses``, ``adamw_fallbacks`` and ``nonfinite_skips``, and
``preconditioner_seconds``, the wall time spent outside the closure on the factors, their
inverses and the pull-backs (the one entry that differs between two otherwise identical
runs).

Source: Y. Sun, "Designing effective preconditioned optimizers for DNN training", PhD thesis,
Hong Kong Polytechnic University, 2024 (abstract only); AdamW: Loshchilov and Hutter (2019);
Kronecker factors: Martens and Grosse (2015); grafting: Agarwal, Anil, Hazan, Koren and Zhang,
"Disentangling adaptive gradient methods from learning rates" (2020).
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_in_range, check_int_at_least, check_non_negative
from deepoptim.curvature import FactorError, SymmetricEigen
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    adamw_moments,
    add_checked_group,
    all_finite,
    check_betas,
    check_lr,
    check_real_params,
    dense_grads,
    require_closure,
)

__all__ = ["AFOpt", "attention_layers", "is_attention_layer"]

_COUNTERS = ("steps", "factor_updates", "failed_inverses", "adamw_fallbacks", "nonfinite_skips")
_ROLES = ("query", "key")
_NOT_TOLD = ("AFOpt must be told its attention layers by exactly one of attention=[modules] "
             "(attention=() for none: AdamW) and model=model (its submodules with query, key "
             "and num_heads)")


def _check_hyperparameters(group: dict[str, Any]) -> None:
    """Validate one parameter group's hyperparameters (or the defaults), naming the bad value."""
    check_lr(group["lr"])
    check_betas(group["betas"])
    check_non_negative("eps", group["eps"])
    check_non_negative("weight_decay", group["weight_decay"])
    check_non_negative("damping", group["damping"])
    check_in_range("factor_decay", group["factor_decay"], 0.0, 1.0)


def is_attention_layer(module: nn.Module) -> bool:
    """Whether ``module`` has AFOpt's attention interface: ``query`` and ``key`` attributes that
    are ``nn.Linear`` of equal output width, and an int ``num_heads`` dividing it."""
    query, key = getattr(module, "query", None), getattr(module, "key", None)
    heads = getattr(module, "num_heads", None)
    return (isinstance(query, nn.Linear) and isinstance(key, nn.Linear)
            and query.out_features == key.out_features
            and isinstance(heads, int) and not isinstance(heads, bool) and heads >= 1
            and query.out_features % heads == 0)


def attention_layers(model: nn.Module) -> list[nn.Module]:
    """The submodules of ``model`` (itself included) with the attention interface
    (:func:`is_attention_layer`), in ``model.modules()`` order."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if is_attention_layer(m)]


class AFOpt(torch.optim.Optimizer):
    """A gradient step in attention-logit space for the query and key weights, AdamW for the
    rest (a reconstruction of Sun's AFOpt); see the module docstring for the derivation, the
    step, the interface of an attention layer and the diagnostics.

    Args:
        params: parameters or parameter groups (every hyperparameter but ``attention``,
            ``model`` and ``update_interval`` can be set per group; a projection uses its
            weight's group).
        lr, betas, eps, weight_decay: as in ``torch.optim.AdamW``.
        attention: the attention layers, a sequence of modules with the interface of
            :func:`is_attention_layer` (``()``: none, AFOpt is AdamW).
        model: instead of ``attention``, a model whose attention layers are all its submodules
            with that interface (:func:`attention_layers`).
        damping: relative damping, :math:`\\lambda = \\texttt{damping}\\cdot\\lambda_{\\max}`
            of each factor.
        factor_decay: :math:`\\beta`, decay of the factors' running average.
        update_interval: record the factors and recompute their inverses every this many steps.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]] | None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        *,
        attention: Sequence[nn.Module] | None = None,
        model: nn.Module | None = None,
        damping: float = 0.01,
        factor_decay: float = 0.95,
        update_interval: int = 1,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        damping=damping, factor_decay=factor_decay)
        _check_hyperparameters(defaults)
        check_int_at_least("update_interval", update_interval, 1)
        _check_attention(attention, model)
        super().__init__(params, defaults)
        self.update_interval = update_interval
        self._told = attention is not None or model is not None
        self._layers = layers = _chosen_layers(attention, model)
        self._projections = self._check_projections(layers)
        self.state[DIAGNOSTICS] = {**dict.fromkeys(_COUNTERS, 0), "step_size": 0.0,
                                   "preconditioned": 0, "preconditioner_seconds": 0.0}

    def __getstate__(self) -> dict[str, Any]:
        """Torch's state (defaults, state, groups) and the layers, for deepcopy and pickling."""
        return {**super().__getstate__(), "update_interval": self.update_interval,
                "_told": self._told, "_layers": self._layers, "_projections": self._projections}

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group after validating its hyperparameters (defaults filled in); an invalid
        group is not added. The layers are chosen once: a projection added later takes AdamW's
        step."""
        add_checked_group(self, param_group, self._check_group)

    def _check_group(self, group: dict[str, Any]) -> None:
        _check_hyperparameters(group)
        check_real_params(group["params"], type(self).__name__)

    def _check_projections(self, layers: list[nn.Module]) -> dict[torch.Tensor, tuple]:
        """``{weight: (layer index, role)}`` of every query and key projection, after checking
        that each weight is optimized."""
        optimized = {p for group in self.param_groups for p in group["params"]}
        projections = {}
        for index, layer in enumerate(layers):
            for role in _ROLES:
                weight = getattr(layer, role).weight
                if weight not in optimized:
                    raise ValueError(f"Invalid attention value: the {role} weight of attention "
                                     f"layer {index} ({type(layer).__name__}) is not in params")
                projections[weight] = (index, role)
        return projections

    # ------------------------------------------------------------------ the pull-back

    @torch.no_grad()
    def pull_back(self, p: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """:math:`P(M) = (F_K + \\lambda_K I)^{-1} M (F_X + \\lambda_X I)^{-1}`, head by head, for
        a query or key weight ``p`` with inverses (after a recording step) and ``matrix`` of
        its shape: the least-squares pull-back of a logit-space step (see the module
        docstring)."""
        if p not in self._projections:
            raise ValueError("Invalid p value: not the query or key weight of an attention "
                             "layer of this optimizer")
        state = self.state[p]
        if "input_inverse" not in state:
            raise RuntimeError("the factors of this weight have not been inverted yet (take a "
                               "step with a closure first)")
        if matrix.shape != p.shape:
            raise ValueError(f"Invalid matrix value: shape {tuple(matrix.shape)} (expected "
                             f"{tuple(p.shape)})")
        heads = state["head_inverse"]
        rows = matrix.reshape(len(heads), -1, matrix.shape[1])
        return (heads @ rows @ state["input_inverse"]).reshape(p.shape)

    # ------------------------------------------------------------------ the step

    @torch.no_grad()
    def step(self, closure: Closure | None = None) -> torch.Tensor | None:
        """One step; with attention layers, ``closure`` (required) runs the forward and
        backward pass, which the hooks record at a recording step."""
        if not self._told:
            raise TypeError(_NOT_TOLD)
        if self._layers:
            require_closure(closure, type(self).__name__)
        diagnostics = dict(self.state[DIAGNOSTICS])
        recording = bool(self._layers) and diagnostics["steps"] % self.update_interval == 0
        loss, recorded = None, {}
        if closure is not None:
            with torch.enable_grad(), self._recording(recorded, recording):
                loss = closure()
        grads = dense_grads(self)
        if not all_finite(loss, grads):
            diagnostics["nonfinite_skips"] += 1
            self.state[DIAGNOSTICS] = diagnostics
            return loss
        if recording:
            started = time.perf_counter()
            self._update_factors(recorded, diagnostics)
            diagnostics["preconditioner_seconds"] += time.perf_counter() - started
        diagnostics.update(step_size=0.0, preconditioned=0)
        first = True
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    size = self._update(p, group, diagnostics)
                    diagnostics["step_size"] = size if first else diagnostics["step_size"]
                    first = False
        diagnostics["steps"] += 1
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    @contextlib.contextmanager
    def _recording(self, recorded: dict[tuple, tuple], active: bool) -> Iterator[None]:
        """Forward hooks on the projections while the closure runs, filling ``recorded`` with
        ``{(layer index, role): (input, output)}``, detached."""
        if not active:
            yield
            return
        handles = []

        def hook(key: tuple) -> Any:
            def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
                if key in recorded:
                    raise RuntimeError(f"the {key[1]} projection of attention layer {key[0]} "
                                       "was called twice in one forward pass; AFOpt records "
                                       "one call per step")
                if inputs[0].dim() < 2:
                    raise RuntimeError(f"the {key[1]} projection of attention layer {key[0]} "
                                       f"got an input of shape {tuple(inputs[0].shape)}; "
                                       "AFOpt needs (..., tokens, features)")
                recorded[key] = (inputs[0].detach(), output.detach())
            return record

        for index, layer in enumerate(self._layers):
            for role in _ROLES:
                handles.append(getattr(layer, role).register_forward_hook(hook((index, role))))
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
        missing = [key for weight, key in self._projections.items()
                   if weight.grad is not None and key not in recorded]
        if missing:
            raise RuntimeError(f"attention projections {missing} (layer index, role) received "
                               "gradients but their hooks saw no input (their forward was "
                               "bypassed)")

    def _update_factors(self, recorded: dict[tuple, tuple], diagnostics: dict[str, Any]) -> None:
        """Fold the recorded Gram matrices into each weight's factors and re-invert them."""
        for weight, (index, role) in self._projections.items():
            other = "key" if role == "query" else "query"
            if (index, role) not in recorded or (index, other) not in recorded:
                continue
            heads = self._layers[index].num_heads
            inputs, _ = recorded[(index, role)]
            _, partner = recorded[(index, other)]
            new = {"input": _gram(inputs), "head": _head_gram(partner, heads)}
            group, state = self._group_of(weight), self.state[weight]
            for name, factor in new.items():
                key = f"{name}_factor"
                state[key] = factor if key not in state else state[key].lerp(
                    factor, 1 - group["factor_decay"])
            diagnostics["factor_updates"] += 1
            try:
                inverses = {name: _damped_inverse(state[f"{name}_factor"], group["damping"])
                            for name in new}
            except FactorError:
                diagnostics["failed_inverses"] += 1
                continue
            state["input_inverse"], state["head_inverse"] = inverses["input"], inverses["head"]

    def _group_of(self, p: torch.Tensor) -> dict[str, Any]:
        return next(g for g in self.param_groups if any(q is p for q in g["params"]))

    def _update(self, p: torch.Tensor, group: dict[str, Any], diagnostics: dict[str, Any]
                ) -> float:
        """AdamW's update of ``p`` (torch's arithmetic, operation for operation), or for a query
        or key weight with inverses the grafted logit-space step; returns
        :math:`\\eta/(1-\\beta_1^t)`."""
        state = self.state[p]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["step"] += 1
        step_size, denom = adamw_moments(p, state, group, p.grad)
        exp_avg = state["exp_avg"]
        if p in self._projections:
            started = time.perf_counter()
            direction = self._logit_direction(p, exp_avg)
            diagnostics["preconditioner_seconds"] += time.perf_counter() - started
            if direction is not None:
                length = torch.linalg.vector_norm((exp_avg * step_size).div_(denom))
                p.sub_(direction * (length / torch.linalg.vector_norm(direction)))
                diagnostics["preconditioned"] += 1
                return step_size
            diagnostics["adamw_fallbacks"] += 1
        p.addcdiv_(exp_avg, denom, value=-step_size)
        return step_size

    def _logit_direction(self, p: torch.Tensor, exp_avg: torch.Tensor) -> torch.Tensor | None:
        """:math:`P(m)`, or ``None`` without inverses or when it is not finite or zero."""
        if "input_inverse" not in self.state[p]:
            return None
        direction = self.pull_back(p, exp_avg)
        norm = torch.linalg.vector_norm(direction)
        return direction if bool(torch.isfinite(norm)) and float(norm) > 0 else None


def _check_attention(attention: Sequence[nn.Module] | None, model: nn.Module | None) -> None:
    """Refuse both ``attention`` and ``model``, and an ``attention`` that is not a sequence of
    attention layers (giving neither is refused at the first step, after torch's checks)."""
    if attention is not None and model is not None:
        raise TypeError(_NOT_TOLD)
    if model is not None and not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if attention is None:
        return
    if isinstance(attention, nn.Module) or not isinstance(attention, Sequence):
        raise TypeError(f"attention must be a sequence of modules, got "
                        f"{type(attention).__name__}")
    for index, layer in enumerate(attention):
        if not (isinstance(layer, nn.Module) and is_attention_layer(layer)):
            raise TypeError(f"attention[{index}] ({type(layer).__name__}) is not an attention "
                            "layer: it needs nn.Linear query and key of equal output width and "
                            "an int num_heads dividing it")
    if len({id(layer) for layer in attention}) != len(attention):
        raise ValueError("Invalid attention value: a layer is listed twice")


def _chosen_layers(attention: Sequence[nn.Module] | None, model: nn.Module | None
                   ) -> list[nn.Module]:
    """The attention layers named by ``attention`` or found in ``model`` (none if neither)."""
    if model is None:
        return list(attention or ())
    layers = attention_layers(model)
    if not layers:
        warnings.warn("AFOpt found no attention layer (a module with nn.Linear query and key "
                      "and an int num_heads) in model, so it is AdamW; pass attention=() to "
                      "say so", UserWarning, stacklevel=3)
    return layers


def _gram(inputs: torch.Tensor) -> torch.Tensor:
    """:math:`\\frac1N\\sum_b X_b^\\top X_b` over the sequences of ``(..., tokens, features)``."""
    rows = inputs.reshape(-1, inputs.shape[-1])
    sequences = rows.shape[0] // inputs.shape[-2]
    return rows.T @ rows / sequences


def _head_gram(outputs: torch.Tensor, heads: int) -> torch.Tensor:
    """Per head, :math:`\\frac1N\\sum_b K_{b,h}^\\top K_{b,h}/d_k`: ``(heads, d_k, d_k)``."""
    rows = outputs.reshape(-1, heads, outputs.shape[-1] // heads)
    sequences = rows.shape[0] // outputs.shape[-2]
    return torch.einsum("rhi,rhj->hij", rows, rows) / (sequences * rows.shape[-1])


def _damped_inverse(factor: torch.Tensor, damping: float) -> torch.Tensor:
    """:math:`(F + \\texttt{damping}\\,\\lambda_{\\max}(F) I)^{-1}` of a factor, or of each
    matrix of a stack; :class:`~deepoptim.curvature.FactorError` when one cannot be computed
    safely."""
    if factor.dim() == 3:
        return torch.stack([_damped_inverse(f, damping) for f in factor])
    eigen = SymmetricEigen.of(factor, "attention factor")
    return eigen.inverse(damping * max(float(eigen.values.max()), 0.0), "attention factor")
