r"""Homotopy activations: one scalar :math:`\lambda` deforms a network from affine to itself.

Pathak & Paffenroth's "C-activation" (Pathak 2018 MS thesis; ICMLA 2019; Pathak 2024 thesis,
Part IV) replaces every hidden activation :math:`\sigma` by

.. math:: \sigma_\lambda(v) = (1 - \lambda)\, v + \lambda\, \sigma(v), \qquad
          \lambda \in [0, 1],\ \sigma \in \{\mathrm{ReLU}, \tanh, \mathrm{sigmoid}\},

element-wise, with ONE :math:`\lambda` shared by all layers (the NPACS/ICMLA convention:
:math:`\lambda = 0` is linear, :math:`\lambda = 1` the original network; continuation-jax labels
it the other way round). At :math:`\lambda = 0` the whole network is an affine map of its
input; at :math:`\lambda = 1` it is the original network (both ends are computed exactly: the
activation returns :math:`v` or :math:`\sigma(v)` itself). The slope
:math:`(1 - \lambda) + \lambda \sigma'(v)` of the ReLU homotopy is :math:`1 - \lambda` or 1, so
no unit is dead while :math:`\lambda < 1`.

:class:`Homotopy` holds the shared :math:`\lambda`; :class:`HomotopyActivation` is
:math:`\sigma_\lambda` for one holder; :func:`homotopize` turns a network's ``nn.ReLU``,
``nn.Tanh`` and ``nn.Sigmoid`` modules into homotopy activations sharing one holder. The holder
is not part of the model's ``state_dict``: :math:`\lambda` belongs to the continuation's state
(:class:`~deepoptim.continuation.Continuation` saves it), or to the holder's own
:meth:`Homotopy.state_dict`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["Homotopy", "HomotopyActivation", "homotopize"]

#: The activations a homotopy deforms, by name, and the module types :func:`homotopize` converts.
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
MODULES: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}


def check_lam(name: str, value: float) -> float:
    """``value`` as a float if it is a real number in [0, 1]; a clear error otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"Invalid {name} value: {value!r} (expected 0 <= {name} <= 1)")
    return float(value)


class Homotopy:
    r"""The homotopy parameter :math:`\lambda \in [0, 1]` shared by homotopy activations.

    ``lam`` is a Python float (set it through the property: values outside [0, 1] or not
    finite are refused). While :meth:`tracking` is on, the activations compute with
    ``variable``, a 0-dim float64 leaf tensor equal to ``lam`` that requires grad, so a
    backward pass also gives :math:`\partial L / \partial \lambda` (pseudo-arclength
    continuation descends on :math:`\lambda`).
    """

    def __init__(self, lam: float = 0.0) -> None:
        self._lam = check_lam("lam", lam)
        self.variable: torch.Tensor | None = None

    @property
    def lam(self) -> float:
        """The current :math:`\\lambda`."""
        return self._lam

    @lam.setter
    def lam(self, value: float) -> None:
        self._lam = check_lam("lam", value)
        if self.variable is not None:
            self.variable = _leaf(self._lam)

    @property
    def value(self) -> float | torch.Tensor:
        """:math:`\\lambda` as a loss uses it: ``variable`` while tracking, ``lam`` otherwise."""
        return self._lam if self.variable is None else self.variable

    def tracking(self, on: bool) -> None:
        """Differentiate through :math:`\\lambda` (``on``) or not; the gradient, after a backward
        pass, is ``variable.grad``."""
        self.variable = _leaf(self._lam) if on else None

    def state_dict(self) -> dict[str, float]:
        """``{"lam": lam}``."""
        return {"lam": self._lam}

    def load_state_dict(self, state: dict[str, float]) -> None:
        """Restore :math:`\\lambda` from :meth:`state_dict`."""
        self.lam = state["lam"]

    def __repr__(self) -> str:
        return f"Homotopy(lam={self._lam!r})"


def _leaf(lam: float) -> torch.Tensor:
    return torch.tensor(lam, dtype=torch.float64, requires_grad=True)


class HomotopyActivation(nn.Module):
    r""":math:`\sigma_\lambda(v) = (1 - \lambda) v + \lambda \sigma(v)`, with the :math:`\lambda`
    of a shared :class:`Homotopy`.

    Args:
        activation: ``"relu"``, ``"tanh"`` or ``"sigmoid"``, or an ``nn.ReLU``, ``nn.Tanh`` or
            ``nn.Sigmoid`` module (an in-place ReLU is computed out of place: :math:`v` is
            needed after :math:`\sigma(v)`).
        homotopy: the holder of :math:`\lambda` (shared with the network's other homotopy
            activations).
    """

    def __init__(self, activation: str | nn.Module, homotopy: Homotopy) -> None:
        super().__init__()
        if isinstance(activation, nn.Module):
            if type(activation) not in MODULES:
                raise TypeError("activation must be 'relu', 'tanh', 'sigmoid' or an nn.ReLU, "
                                f"nn.Tanh or nn.Sigmoid, got {type(activation).__name__}")
            activation = MODULES[type(activation)]
        if activation not in ACTIVATIONS:
            raise ValueError(f"Invalid activation value: {activation!r} (expected one of "
                             f"{', '.join(map(repr, ACTIVATIONS))})")
        if not isinstance(homotopy, Homotopy):
            raise TypeError(f"homotopy must be a Homotopy, got {type(homotopy).__name__}")
        self.activation = activation
        self.sigma = ACTIVATIONS[activation]
        self.homotopy = homotopy  # a plain attribute: not a submodule, not in the state_dict

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        lam = self.homotopy.value
        if not isinstance(lam, torch.Tensor):  # not tracking: both ends exactly
            if lam == 0.0:
                return v
            if lam == 1.0:
                return self.sigma(v)
        return (1 - lam) * v + lam * self.sigma(v)

    def extra_repr(self) -> str:
        return f"{self.activation}, {self.homotopy!r}"


def homotopize(model: nn.Module, lam: float = 0.0) -> Homotopy:
    r"""Replace, in place, every ``nn.ReLU``, ``nn.Tanh`` and ``nn.Sigmoid`` module of ``model``
    by a :class:`HomotopyActivation` sharing one new :class:`Homotopy` at ``lam``; return it.

    Activations called as functions in a ``forward`` (``F.relu``) are not modules and are not
    converted. A model without such modules, or with homotopy activations already, is an error.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    homotopy = Homotopy(lam)
    if any(isinstance(module, HomotopyActivation) for module in model.modules()):
        raise ValueError("Invalid model value: it has homotopy activations already")
    targets = [(parent, name, child) for parent in model.modules()
               for name, child in parent.named_children() if type(child) in MODULES]
    if not targets:
        raise ValueError("Invalid model value: no nn.ReLU, nn.Tanh or nn.Sigmoid module to "
                         f"convert in {type(model).__name__}")
    for parent, name, child in targets:
        setattr(parent, name, HomotopyActivation(child, homotopy))
    return homotopy
