"""The optimizer database: one record per optimizer, run by ``test_conformance.py``.

Each ``OptimInfo`` record says how to build an optimizer and what it must do; the generic tests
in ``test_conformance.py`` (the checks of research/anchors.md, section B5, that apply to any
optimizer) run over every record and every one of its configurations. PyTorch's own ``SGD``
and ``Adam`` are registered so that the suite is proven on optimizers known to be correct.

Adding a record for a new optimizer
-----------------------------------
Append an ``OptimInfo`` to ``OPTIM_DB``:

- ``cls``: the optimizer class.
- ``inputs``: ``OptimInput(desc, kwargs)`` configurations, one per flag worth exercising
  ("default", "momentum", "weight decay", "maximize", ...). Each runs every generic test on the
  quadratic ``||Wx + b||^2`` (W 10x5, b 10), so pick kwargs under which 20 steps reduce that loss.
  A configuration can opt out of one test with ``skips={"test_name": "reason"}``.
- ``errors``: ``ErrorCase(kwargs, exc, match)``; ``match`` is a regex for ``pytest.raises``
  (``pytest.warns`` when ``exc`` is a ``Warning``). ``BASE_ERRORS``, the checks every
  ``torch.optim.Optimizer`` makes of its params argument, run for every record as well.
  With ``on="construct"`` (the default) the error must be raised by ``cls(params, **kwargs)``
  and also by ``cls(None, **kwargs)``, which proves hyperparameters are validated before
  ``super().__init__`` (``_base`` validators make that automatic). With ``on="step"`` it must be
  raised by the first ``step(closure)`` on the quadratic. A construction case about the params
  themselves passes ``params``, a factory for the params argument (it is then not tried with
  ``None``), and a ``desc`` for its test id.
- ``step_requires_closure=True`` for methods that re-evaluate the loss, such as line searches:
  ``step()`` without a closure must raise ``RuntimeError`` ("... requires a closure").
  Every test drives such optimizers with ``step(closure)``; the closure follows the package
  convention (``deepoptim.optim._base``): it zeroes the grads and back-propagates only when
  grad mode is on, so trial points are evaluated under ``torch.no_grad()``.
- ``supports_param_groups=False`` for methods that treat all parameters as one vector (a global
  line search): constructing with two groups must raise ``ValueError``.
- ``supports_maximize=True`` if the class takes ``maximize``; then at least one input sets
  ``maximize=True`` and the descent test checks that the loss rises.
- ``reference``: a factory ``reference(params, **kwargs)`` (usually a class) for an independent
  float64 implementation written here, for test C5. It receives the float64 parameters (which
  it must copy, never modify) and a configuration's kwargs, and exposes ``params`` (its copies),
  ``state`` (one dict per parameter, with the optimizer's state keys) and ``step(loss_fn)``,
  where ``loss_fn(params)`` returns the loss at any point (use ``gradients`` for the gradient).
  C5 compares parameters and state after each of 7 steps with ``torch.testing.assert_close``'s
  float64 tolerances. For a method that generalizes a known one, the reference can be the known
  method under the special case (e.g. a constant accepted step equals SGD).
- ``skips``: ``{"test_name": "reason"}`` to opt the whole record out of one generic test; the
  reason is shown by ``pytest -ra``. Keys must name tests in ``test_conformance.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

LossFn = Callable[[list[torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class OptimInput:
    """One constructor configuration, named by ``desc`` in test ids."""

    desc: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    skips: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorCase:
    """An input that must fail: when (``on``), with which exception and message regex."""

    kwargs: dict[str, Any]
    exc: type[BaseException]
    match: str
    on: Literal["construct", "step"] = "construct"
    params: Callable[[], Any] | None = None
    desc: str = ""

    @property
    def id(self) -> str:
        """A readable test id: ``desc``, or else the kwargs."""
        label = self.desc or ",".join(f"{key}={value!r}" for key, value in self.kwargs.items())
        return f"{self.on}-{label}"


@dataclass(frozen=True)
class OptimInfo:
    """Everything the generic tests need to know about one optimizer class."""

    cls: type[torch.optim.Optimizer]
    inputs: list[OptimInput]
    errors: list[ErrorCase]
    reference: Callable[..., Any] | None = None
    step_requires_closure: bool = False
    supports_param_groups: bool = True
    supports_maximize: bool = False
    skips: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The class name, used in test ids."""
        return self.cls.__name__


def gradients(loss_fn: LossFn, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """The gradient of ``loss_fn`` at ``params`` by autograd, leaving ``params`` untouched."""
    with torch.enable_grad():
        leaves = [p.detach().requires_grad_() for p in params]
        return list(torch.autograd.grad(loss_fn(leaves), leaves))


class ReferenceSGD:
    """SGD with momentum, dampening, Nesterov, L2 weight decay and maximize, one tensor at a time.

    d = -g if maximizing else g;  d += wd * p;
    b = d on the first step, else mu * b + (1 - dampening) * d;
    d = d + mu * b with Nesterov, else b;  p -= lr * d.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        maximize=False,
    ):
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov, self.maximize = weight_decay, nesterov, maximize

    def step(self, loss_fn: LossFn) -> None:
        """One update of every parameter from its gradient."""
        grads = gradients(loss_fn, self.params)
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            d = -g if self.maximize else g
            d = d + self.weight_decay * p
            if self.momentum != 0:
                if "momentum_buffer" in state:
                    buf = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * d
                else:
                    buf = d.clone()
                state["momentum_buffer"] = buf
                d = d + self.momentum * buf if self.nesterov else buf
            p.sub_(self.lr * d)


class ReferenceAdam:
    """Adam (and AMSGrad) with L2 weight decay and maximize, one tensor at a time.

    d = -g if maximizing else g;  d += wd * p;  t += 1;
    m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;  (AMSGrad: v_max = max(v_max, v), used as v)
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        maximize=False,
    ):
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad, self.maximize = weight_decay, amsgrad, maximize

    def step(self, loss_fn: LossFn) -> None:
        """One update of every parameter from its gradient."""
        grads = gradients(loss_fn, self.params)
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            d = -g if self.maximize else g
            d = d + self.weight_decay * p
            t = state.get("step", 0) + 1
            m = self.beta1 * state.get("exp_avg", 0.0) + (1 - self.beta1) * d
            v = self.beta2 * state.get("exp_avg_sq", 0.0) + (1 - self.beta2) * d * d
            state.update(step=t, exp_avg=m, exp_avg_sq=v)
            if self.amsgrad:
                v = torch.maximum(state.get("max_exp_avg_sq", v), v)
                state["max_exp_avg_sq"] = v
            m_hat = m / (1 - self.beta1**t)
            v_hat = v / (1 - self.beta2**t)
            p.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


def _leaf(size: int) -> torch.Tensor:
    """A small parameter for the params-argument error cases."""
    return torch.zeros(size, requires_grad=True)


def _shared_between_groups() -> list[dict[str, Any]]:
    """Two parameter groups holding the same tensor."""
    shared = _leaf(2)
    return [{"params": [shared]}, {"params": [shared]}]


BASE_ERRORS: list[ErrorCase] = [
    ErrorCase(
        {},
        TypeError,
        "params argument given to the optimizer should be an iterable",
        params=lambda: _leaf(2),
        desc="single tensor",
    ),
    ErrorCase({}, ValueError, "optimizer got an empty parameter list", params=list, desc="empty"),
    ErrorCase(
        {},
        TypeError,
        "organized in ordered collections",
        params=lambda: [{"params": {_leaf(2), _leaf(3)}}],
        desc="set in a group",
    ),
    ErrorCase(
        {}, TypeError, "optimizer can only optimize Tensors", params=lambda: [1.0], desc="float"
    ),
    ErrorCase(
        {},
        ValueError,
        "can't optimize a non-leaf Tensor",
        params=lambda: [_leaf(2) * 2],
        desc="non-leaf",
    ),
    ErrorCase(
        {},
        ValueError,
        "some parameters appear in more than one parameter group",
        params=_shared_between_groups,
        desc="shared between groups",
    ),
    ErrorCase(
        {},
        UserWarning,
        "a parameter group with duplicate parameters",
        params=lambda: [_leaf(2)] * 2,
        desc="duplicate in a group",
    ),
]
"""``torch.optim.Optimizer``'s own checks of the params argument, run for every record."""

# With differentiable=True torch steps with autograd on, so the in-place update of a leaf that
# requires grad fails: a genuine step-time error of torch's optimizers, exercising on="step".
_DIFFERENTIABLE_STEP = ErrorCase(
    {"differentiable": True}, RuntimeError, "a leaf Variable that requires grad", on="step"
)

_NO_MOMENTUM_STATE = {"test_state_created_and_stable": "SGD without momentum keeps no state"}
_WEIGHT_DECAY_MOVES = {
    "test_zero_grads_leave_params_unchanged": "weight decay moves parameters without gradients"
}

OPTIM_DB: list[OptimInfo] = [
    OptimInfo(
        cls=torch.optim.SGD,
        inputs=[
            OptimInput("default", {}, skips=_NO_MOMENTUM_STATE),
            OptimInput("momentum", {"lr": 0.01, "momentum": 0.9}),
            OptimInput("nesterov", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
            OptimInput("dampening", {"lr": 0.01, "momentum": 0.9, "dampening": 0.5}),
            OptimInput(
                "weight decay",
                {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
                skips=_WEIGHT_DECAY_MOVES,
            ),
            OptimInput("maximize", {"lr": 0.01, "momentum": 0.9, "maximize": True}),
        ],
        errors=[
            ErrorCase({"lr": -0.1}, ValueError, "Invalid learning rate: -0.1"),
            ErrorCase({"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5"),
            ErrorCase({"weight_decay": -1}, ValueError, "Invalid weight_decay value: -1"),
            ErrorCase(
                {"nesterov": True, "momentum": 0.0},
                ValueError,
                "Nesterov momentum requires a momentum and zero dampening",
            ),
            _DIFFERENTIABLE_STEP,
        ],
        reference=ReferenceSGD,
        supports_maximize=True,
        skips={"test_sparse_grads_rejected": "torch.optim.SGD supports sparse gradients"},
    ),
    OptimInfo(
        cls=torch.optim.Adam,
        inputs=[
            OptimInput("default", {}),
            OptimInput("amsgrad", {"lr": 0.01, "amsgrad": True}),
            OptimInput(
                "weight decay", {"lr": 0.01, "weight_decay": 0.1}, skips=_WEIGHT_DECAY_MOVES
            ),
            OptimInput("maximize", {"lr": 0.01, "maximize": True}),
        ],
        errors=[
            ErrorCase({"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
            ErrorCase({"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0"),
            ErrorCase({"weight_decay": -1}, ValueError, "Invalid weight_decay value: -1"),
            ErrorCase({"betas": (1.0, 0.0)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
            ErrorCase({"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
            _DIFFERENTIABLE_STEP,
        ],
        reference=ReferenceAdam,
        supports_maximize=True,
    ),
]
