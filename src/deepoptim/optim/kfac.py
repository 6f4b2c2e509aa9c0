r"""KFAC: Kronecker-factored approximate curvature, inverted by eigendecomposition.

KFAC (Martens and Grosse 2015; convolutions: KFC, Grosse and Martens 2016) approximates each
supported layer's block of the Fisher by a Kronecker product :math:`A \otimes G` of the second
moments of the layer's inputs :math:`\bar a` (with a 1 for the bias) and of its per-example
output gradients :math:`g`, and preconditions the layer's gradient matrix
:math:`V = [\nabla W \;\; \nabla b]` by the damped inverse

.. math::

    D = (G + \lambda I)^{-1}\, V\, (A + \lambda I)^{-1}
      = \operatorname{vec}^{-1}\big(((A + \lambda I) \otimes (G + \lambda I))^{-1}
        \operatorname{vec} V\big),

each inverse :math:`(F + \lambda I)^{-1} = U \operatorname{diag}(1/(w + \lambda)) U^\top` from
the eigendecomposition :math:`F = U \operatorname{diag}(w) U^\top`
(:class:`~deepoptim.curvature.SymmetricEigen`), recomputed every ``inv_interval`` steps. The
factors are those of :class:`~deepoptim.curvature.KroneckerFactors` (with the targets the
closure's loss uses: the empirical Fisher's factors), recorded every ``cov_interval`` steps
and averaged: the first recording sets them, each later one folds in as
:math:`F \leftarrow \beta F + (1 - \beta) F_{\mathrm{new}}` (``stat_decay`` :math:`=\beta`).
The step is then SGD with momentum on :math:`D` (``lr`` is its learning rate), and every
parameter outside a preconditioned layer takes exactly ``torch.optim.SGD``'s step. The
machinery shared with NKFAC, how the model is given, the fallbacks and the diagnostics are
described in :mod:`deepoptim.optim._kronecker`.

Defaults are those of Chaoqi Wang's KFAC-Pytorch (``lr=1e-3``, ``momentum=0.9``,
``stat_decay=0.95``, ``damping=1e-3``, ``T_cov=10``, ``T_inv=100``), whose other features are
left out: the KL clipping of the step, the start of the factors at :math:`I`, the delay of the
weight decay, and the damping of the product :math:`A \otimes G + \lambda I` (this file damps
each factor, the form NKFAC uses, so the two optimizers differ only in how they invert).
``newton_residual`` is not kept: the eigendecomposition is exact to rounding.

Under ``torch.distributed`` the factors recorded on each rank are averaged over the ranks
before they are folded, so every rank inverts the full-batch factors and takes the full-batch
step (when the ranks hold equal shares of the batch; see :mod:`deepoptim.optim._kronecker`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from deepoptim.curvature import SymmetricEigen
from deepoptim.optim._kronecker import REQUIRED, KroneckerOptimizer

__all__ = ["KFAC"]


class KFAC(KroneckerOptimizer):
    """KFAC with eigendecomposition inverses; see the module docstring for the method and
    :mod:`deepoptim.optim._kronecker` for the shared behaviour.

    Args:
        params: parameters or parameter groups (every hyperparameter but ``model``, ``layers``
            and the two intervals can be set per group).
        model: the network (keyword-only, required): ``KFAC(model.parameters(), model=model)``;
            ``None`` preconditions nothing (SGD with momentum).
        lr: the learning rate.
        momentum, dampening, nesterov: as in ``torch.optim.SGD``.
        weight_decay: coupled L2, added to the preconditioned direction.
        damping: :math:`\\lambda`, added to each factor before inversion.
        stat_decay: :math:`\\beta` of the factors' running average.
        cov_interval: record the factors every this many steps (:math:`T_{\\mathrm{cov}}`).
        inv_interval: recompute the inverses every this many steps (:math:`T_{\\mathrm{inv}}`).
        layers: names of the modules to precondition; default every supported layer of
            ``model`` whose weight is in ``params``.
    """

    def __init__(self, params: Iterable[Any] | None, lr: float = 1e-3, momentum: float = 0.9,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 damping: float = 1e-3, stat_decay: float = 0.95, cov_interval: int = 10,
                 inv_interval: int = 100, *, model: nn.Module | None = REQUIRED,
                 layers: Sequence[str] | None = None) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, damping=damping,
                        stat_decay=stat_decay)
        super().__init__(params, defaults, model=model, layers=layers,
                         cov_interval=cov_interval, inv_interval=inv_interval)

    def _fold(self, running: torch.Tensor | None, new: torch.Tensor, decay: float
              ) -> torch.Tensor:
        return new if running is None else running * decay + new * (1 - decay)

    def _invert(self, factor: torch.Tensor, previous: torch.Tensor | None, damping: float,
                refresh: int, diagnostics: dict[str, Any], name: str) -> torch.Tensor:
        return SymmetricEigen.of(factor, name).inverse(damping, name)
