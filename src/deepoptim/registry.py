"""The book's optimizers, by name: class, default hyperparameters, parameters, colour, chapter.

Every optimizer a chapter compares has one :class:`OptimizerEntry` in :data:`OPTIMIZERS`,
under the name its figures use:

* ``cls`` and ``defaults``: ``make_optimizer(name, model, **overrides)`` builds
  ``cls(params(model), **{**defaults, **overrides})``. The baselines (:data:`BASELINES`) are
  PyTorch's SGD with heavy-ball momentum 0.9 and Adam, with the step sizes of the testbed
  chapter (Adam's ``1e-2`` is the MNIST-1D paper's; SGD's ``0.05`` comes from the chapter's
  sweep); the book's own methods start from their published defaults (their classes' own);
* ``params``: what the constructor optimizes of a model: all its parameters, or for the
  layer-wise PLASLS one parameter group per layer (``deepoptim.optim.split_parameters``);
  ``takes_model``: the constructor also gets ``model=model`` (KFAC and NKFAC hook its layers);
* ``color``: the optimizer's fixed colour in every figure, read from
  :data:`deepoptim.plotting.OPTIMIZER_COLORS` (which holds the colours);
* ``chapter``: the stem of the chapter that derives the method (``notebooks/<chapter>.py``),
  or that sets up the baselines; ``None`` for a method whose chapter is not written yet (the
  library has it, tested, before the book runs it).

:data:`PEERS` holds, in the same form, the published optimizers of other packages that
chapters run live beside ours (SOAP and Shampoo of ``pytorch-optimizer``), imported when
first built; ``make_optimizer`` builds both kinds by name.

The registry's tests check that every public optimizer class of :mod:`deepoptim.optim` has an
entry and a record in the conformance suite, that every entry has a fixed colour, and that
every chapter an entry names is a chapter of the book.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from . import optim, plotting
from ._checks import check_choice

__all__ = ["BASELINES", "OPTIMIZERS", "PEERS", "OptimizerEntry", "make_optimizer"]


def _all_parameters(model: nn.Module) -> Iterable[nn.Parameter]:
    return model.parameters()


def _one_group_per_layer(model: nn.Module) -> list[dict[str, Any]]:
    return optim.split_parameters(model, "layer")


@dataclasses.dataclass(frozen=True)
class OptimizerEntry:
    """One optimizer of the book (see the module docstring for the fields)."""

    name: str
    cls: Callable[..., torch.optim.Optimizer]
    defaults: dict[str, Any]
    chapter: str | None
    params: Callable[[nn.Module], Any] = _all_parameters
    takes_model: bool = False

    @property
    def color(self) -> tuple[float, float, float]:
        """The optimizer's colour in every figure (:func:`deepoptim.plotting.color`)."""
        return plotting.color(self.name)

    def build(self, model: nn.Module, **overrides: Any) -> torch.optim.Optimizer:
        """The optimizer for ``model``, with its defaults updated by ``overrides``."""
        model_argument = {"model": model} if self.takes_model else {}
        return self.cls(self.params(model), **model_argument, **{**self.defaults, **overrides})


def _entries(*entries: OptimizerEntry) -> dict[str, OptimizerEntry]:
    return {entry.name: entry for entry in entries}


#: The book's optimizers by name (the names of ``deepoptim.plotting``'s colours).
OPTIMIZERS: dict[str, OptimizerEntry] = _entries(
    OptimizerEntry("SGD", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}, "00_testbed"),
    OptimizerEntry("Adam", torch.optim.Adam, {"lr": 1e-2}, "00_testbed"),
    OptimizerEntry("SLS", optim.SLS, {}, "01_sls"),
    OptimizerEntry("LineSearch", optim.LineSearch, {}, "01_sls"),
    OptimizerEntry("AdamSLS", optim.AdamSLS, {}, "02_adamsls_kensls"),
    OptimizerEntry("KenSLS", optim.KenSLS, {}, "02_adamsls_kensls"),
    OptimizerEntry("SaLSa", optim.SaLSa, {}, "03_salsa"),
    OptimizerEntry("PLASLS", optim.PLASLS, {}, "04_plasls", params=_one_group_per_layer),
    OptimizerEntry("ProxSGD", optim.ProxSGD, {}, "12_proxsgd"),
    OptimizerEntry("SGD-PH", optim.SGDPH, {}, "30_sgdph", params=optim.channelwise_param_groups),
    OptimizerEntry("KFAC", optim.KFAC, {}, "31_nkfac", takes_model=True),
    OptimizerEntry("NKFAC", optim.NKFAC, {}, "31_nkfac", takes_model=True),
    OptimizerEntry("AdaNKFAC", optim.AdaNKFAC, {}, None, takes_model=True),
    OptimizerEntry("AdamR", optim.AdamR, {}, "32_adamr"),
    OptimizerEntry("AFOpt", optim.AFOpt, {}, "33_afopt", takes_model=True),
)


def _pytorch_optimizer(class_name: str) -> Callable[..., torch.optim.Optimizer]:
    """The constructor of ``pytorch_optimizer.<class_name>``, imported when first called."""

    def construct(params: Any, **kwargs: Any) -> torch.optim.Optimizer:
        import pytorch_optimizer

        return getattr(pytorch_optimizer, class_name)(params, **kwargs)

    construct.__name__ = construct.__qualname__ = class_name
    return construct


#: Published optimizers of other packages that chapters run beside ours, with their
#: package's defaults (``pytorch-optimizer`` 4.1.0: SOAP, Adam in Shampoo's eigenbasis, and
#: Shampoo).
PEERS: dict[str, OptimizerEntry] = _entries(
    OptimizerEntry("SOAP", _pytorch_optimizer("SOAP"), {}, "32_adamr"),
    OptimizerEntry("Shampoo", _pytorch_optimizer("Shampoo"), {}, "31_nkfac"),
)

#: The two baselines every method is measured against.
BASELINES: tuple[str, ...] = ("SGD", "Adam")


def make_optimizer(name: str, model: nn.Module, **overrides: Any) -> torch.optim.Optimizer:
    """The optimizer ``name`` of :data:`OPTIMIZERS` or :data:`PEERS` for ``model``;
    ``overrides`` update its defaults."""
    entries = {**OPTIMIZERS, **PEERS}
    check_choice("optimizer", name, tuple(entries))
    return entries[name].build(model, **overrides)
