r"""Search directions: the part of an optimizer that turns gradients into a direction.

A direction is a small, functional piece over plain lists of tensors. Called with the
gradients :math:`g` of some parameters and one state dict per parameter (created on first use
and updated in place), it returns :class:`Directions`:

* ``update``, the direction :math:`u` the optimizer moves along, :math:`w \leftarrow w - \eta u`;
* ``search``, the direction a line search tries points along, :math:`w - \eta d`; it is ``update``
  itself (the same list) unless the method searches along another direction than it applies.

Directions know nothing of step sizes, parameter groups or closures, so one line search
(:class:`deepoptim.optim.LineSearch`) runs on any of them, and a chapter can compute a
direction without an optimizer. With the step size :math:`\eta` taken as a constant each is a
known optimizer:

* :class:`Gradient`: :math:`u = g` (SGD);
* :class:`Momentum`: heavy ball, :math:`b \leftarrow \mu b + (1 - \tau) g` (:math:`b = g` at the
  first step), :math:`u = b`, or :math:`u = g + \mu b` with Nesterov's correction
  (``torch.optim.SGD``'s buffer, state ``momentum_buffer``);
* :class:`Adam`: :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
  :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`, :math:`D = \sqrt{v/(1-\beta_2^t)} + \epsilon`,
  :math:`u = D^{-1} m/(1-\beta_1^t)` (``torch.optim.Adam``, Kingma and Ba, 2015; state
  ``step``, ``exp_avg``, ``exp_avg_sq``, so a ``torch.optim.Adam`` state can be used); with
  ``search_along="gradient"`` the search direction is the preconditioned gradient
  :math:`D^{-1} g` (ADAMSLS as published, SaLSa);
* :class:`Sign`: :math:`u = \operatorname{sign}(g)` (signSGD, Bernstein et al., 2018).

A direction's hyperparameters are the fields of its (frozen) dataclass. An optimizer keeps
them, and the direction's ``name``, in its parameter groups and rebuilds the direction from them
(:meth:`Direction.from_values`), so they follow ``state_dict`` (plain values, loadable with
``weights_only=True``) and ``deepcopy``, and can differ per group. Every subclass that defines a
``name`` is registered in :data:`DIRECTIONS` when it is created, so adding a direction (KFAC, a
rotated Adam, ...) means writing one such class; no optimizer changes.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch

from deepoptim._checks import check_choice, check_in_range, check_non_negative
from deepoptim.optim._base import check_betas

__all__ = ["DIRECTIONS", "Adam", "Direction", "Directions", "Gradient", "Momentum", "Sign"]

Tensors = list[torch.Tensor]

#: Every direction class, by its ``name`` (filled as the classes are defined).
DIRECTIONS: dict[str, type[Direction]] = {}


@dataclasses.dataclass(frozen=True)
class Directions:
    """What a direction returns: the direction to search along and the one to apply."""

    search: Tensors
    update: Tensors

    @classmethod
    def same(cls, update: Tensors) -> Directions:
        """Search along the direction that is applied."""
        return cls(update, update)


@dataclasses.dataclass(frozen=True)
class Direction:
    """The base of every direction: hyperparameters as fields, a call over tensor lists."""

    name: ClassVar[str] = "direction"
    #: Whether it keeps per-parameter state (optimizers pass empty dicts otherwise).
    stateful: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register a subclass that names itself; a redefinition (a re-run notebook cell)
        replaces its earlier self, another class's name is an error."""
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            return
        known = DIRECTIONS.get(cls.name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"Invalid name value: {cls.name!r} (already the name of "
                             f"{known.__module__}.{known.__qualname__})")
        DIRECTIONS[cls.name] = cls

    def __call__(self, grads: Sequence[torch.Tensor], states: Sequence[dict]) -> Directions:
        """The directions for ``grads``; ``states[i]`` is parameter ``i``'s state (in place)."""
        raise NotImplementedError

    @classmethod
    def hyperparameters(cls) -> tuple[str, ...]:
        """The names of the fields an optimizer stores in its parameter groups."""
        return tuple(field.name for field in dataclasses.fields(cls))

    def values(self) -> dict[str, Any]:
        """The hyperparameters of this direction, by name."""
        return {name: getattr(self, name) for name in self.hyperparameters()}

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Direction:
        """The direction with the hyperparameters found in ``values`` (e.g. a parameter group);
        one validated instance per configuration is reused."""
        return _configured(cls, tuple((name, _hashable(values[name]))
                                      for name in cls.hyperparameters() if name in values))


def _hashable(value: Any) -> Any:
    """Lists (betas after a ``state_dict`` round trip) as tuples, so configurations hash."""
    return tuple(value) if isinstance(value, list) else value


@functools.lru_cache(maxsize=256)
def _configured(cls: type[Direction], items: tuple[tuple[str, Any], ...]) -> Direction:
    return cls(**dict(items))


@dataclasses.dataclass(frozen=True)
class Gradient(Direction):
    """:math:`u = g`: the direction of SGD and SLS."""

    name: ClassVar[str] = "gradient"
    stateful: ClassVar[bool] = False

    def __call__(self, grads: Sequence[torch.Tensor], states: Sequence[dict]) -> Directions:
        return Directions.same(list(grads))


@dataclasses.dataclass(frozen=True)
class Momentum(Direction):
    """Heavy-ball momentum with ``torch.optim.SGD``'s buffer (see the module docstring).

    Attributes:
        momentum: :math:`\\mu \\in [0, 1)`.
        dampening: :math:`\\tau \\in [0, 1]`, the weight taken off the fresh gradient.
        nesterov: apply :math:`g + \\mu b` instead of :math:`b` (needs ``dampening=0``).
    """

    name: ClassVar[str] = "momentum"
    momentum: float = 0.9
    dampening: float = 0.0
    nesterov: bool = False

    def __post_init__(self) -> None:
        check_in_range("momentum", self.momentum, 0.0, 1.0)
        check_in_range("dampening", self.dampening, 0.0, 1.0, high_inclusive=True)
        if not isinstance(self.nesterov, bool):
            raise TypeError(f"nesterov must be a bool, got {type(self.nesterov).__name__}")
        if self.nesterov and self.dampening != 0:
            raise ValueError(f"Invalid dampening value: {self.dampening!r} (Nesterov momentum "
                             "needs dampening=0)")

    def __call__(self, grads: Sequence[torch.Tensor], states: Sequence[dict]) -> Directions:
        grads = list(grads)
        old = [i for i, state in enumerate(states) if "momentum_buffer" in state]
        if old:
            buffers = [states[i]["momentum_buffer"] for i in old]
            torch._foreach_mul_(buffers, self.momentum)
            torch._foreach_add_(buffers, [grads[i] for i in old], alpha=1 - self.dampening)
        for g, state in zip(grads, states, strict=True):
            if "momentum_buffer" not in state:  # the first step: the undamped gradient
                state["momentum_buffer"] = g.detach().clone()
        buffers = [state["momentum_buffer"] for state in states]
        if self.nesterov:
            return Directions.same(torch._foreach_add(grads, buffers, alpha=self.momentum))
        return Directions.same(list(buffers))


@dataclasses.dataclass(frozen=True)
class Adam(Direction):
    """Adam's direction :math:`D^{-1}\\hat m` (see the module docstring).

    Attributes:
        betas: :math:`(\\beta_1, \\beta_2)`, each in ``[0, 1)``.
        eps: :math:`\\epsilon \\ge 0`, added to :math:`\\sqrt{\\hat v}`.
        search_along: ``"update"`` (search along :math:`D^{-1}\\hat m`) or ``"gradient"``
            (along :math:`D^{-1} g`).

    The moments are updated once per call, with torch's bias correction by the updated count
    (so the first direction is :math:`\\approx \\operatorname{sign}(g)`); a ``step`` count kept
    as a tensor (``torch.optim.Adam``'s state) is read as a number.
    """

    name: ClassVar[str] = "adam"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    search_along: str = "update"

    def __post_init__(self) -> None:
        check_betas(self.betas)
        check_non_negative("eps", self.eps)
        check_choice("search_along", self.search_along, ("update", "gradient"))

    def __call__(self, grads: Sequence[torch.Tensor], states: Sequence[dict]) -> Directions:
        grads = list(grads)
        beta1, beta2 = self.betas
        for g, state in zip(grads, states, strict=True):
            if "exp_avg" not in state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(g, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(g, memory_format=torch.preserve_format)
            state["step"] += 1
        exp_avgs = [state["exp_avg"] for state in states]
        exp_avg_sqs = [state["exp_avg_sq"] for state in states]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        counts = [float(state["step"]) for state in states]
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        if len(set(counts)) == 1:  # the usual case: one count, scalar corrections
            t = counts[0]
            torch._foreach_div_(denominators, math.sqrt(1 - beta2**t))
            torch._foreach_add_(denominators, self.eps)
            m_hat = torch._foreach_div(exp_avgs, 1 - beta1**t)
        else:
            torch._foreach_div_(denominators, [math.sqrt(1 - beta2**t) for t in counts])
            torch._foreach_add_(denominators, self.eps)
            m_hat = torch._foreach_div(exp_avgs, [1 - beta1**t for t in counts])
        update = torch._foreach_div(m_hat, denominators)
        if self.search_along == "update":
            return Directions.same(update)
        return Directions(torch._foreach_div(grads, denominators), update)


@dataclasses.dataclass(frozen=True)
class Sign(Direction):
    """:math:`u = \\operatorname{sign}(g)`: signSGD (Bernstein et al., 2018)."""

    name: ClassVar[str] = "sign"
    stateful: ClassVar[bool] = False

    def __call__(self, grads: Sequence[torch.Tensor], states: Sequence[dict]) -> Directions:
        return Directions.same(torch._foreach_sign(list(grads)))
