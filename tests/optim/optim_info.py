"""The records of the optimizer database, and how to write one.

Each ``OptimInfo`` record says how to build an optimizer and what it must do; the generic tests
in ``test_conformance.py`` (the checks of research/anchors.md, section B5, that apply to any
optimizer) run over every record and every one of its configurations. PyTorch's own ``SGD``
and ``Adam`` are registered so that the suite is proven on optimizers known to be correct.

Adding a record for a new optimizer
-----------------------------------
Write a module ``tests/optim/records_<family>.py`` that defines ``RECORDS``, a list of
``OptimInfo`` (``optim_db.py`` collects every such module; ``records_torch.py`` is the
example). Each record holds:

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
- ``lr_argument=False`` for methods whose constructor takes no ``lr`` (line searches: the step
  size is searched, and ``lr`` exists only per parameter group, as a multiplier); the tests
  then set ``lr`` per group.
- ``supports_complex=True`` if complex parameters work (they must then equal the same run on
  their real view); otherwise adding a complex parameter must raise ``ValueError`` naming it.
- ``supports_tensor_lr=True`` if an ``lr`` given as a one-element tensor works (and equals the
  float); otherwise it must raise ``ValueError`` saying what to pass.
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
    lr_argument: bool = True
    supports_complex: bool = False
    supports_tensor_lr: bool = False
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
