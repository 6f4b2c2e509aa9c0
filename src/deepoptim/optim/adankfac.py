r"""AdaNKFAC: NKFAC's preconditioned gradient stepped by AdamW (Sun 2024, the thesis's NKFAC
chapter; the authors use it for transformers and detection).

The preconditioning is NKFAC's (:mod:`deepoptim.optim.nkfac`): Kronecker factors normalised by
their Frobenius norm, relative damping, warm-started Newton-Schulz inverses with periodic exact
refreshes, and the direction rescaled to the gradient's norm,
:math:`\tilde G = D\,\lVert V\rVert_F / \lVert D\rVert_F` with
:math:`D = (G + \lambda_G I)^{-1} V (A + \lambda_A I)^{-1}`. Instead of SGD with momentum,
Adam's moments are kept of :math:`\tilde G` (of the gradient for the parameters of no
preconditioned layer), and the step is AdamW's, in ``torch.optim.AdamW``'s arithmetic:

.. math::

    p \leftarrow (1 - \eta\lambda)\, p, \quad
    m \leftarrow \beta_1 m + (1-\beta_1)\tilde G, \quad
    v \leftarrow \beta_2 v + (1-\beta_2)\tilde G^2, \quad
    p \leftarrow p - \frac{\eta}{1-\beta_1^t}\,
        \frac{m}{\sqrt{v/(1-\beta_2^t)} + \epsilon} .

One difference from the authors' code, so that ``weight_decay`` means what it means in
``torch.optim.AdamW``: their decay is multiplied by :math:`\eta/(1-\beta_1^t)`, ours by
:math:`\eta`. With nothing preconditioned (``model=None``) AdaNKFAC is ``torch.optim.AdamW``
step for step. Defaults: AdamW's (``lr=1e-3``, ``betas=(0.9, 0.999)``, ``eps=1e-8``,
``weight_decay=1e-2``) and the authors' preconditioner settings for AdaNKFAC (``damping=0.01``,
``stat_decay=0.95``, ``T_cov=100``, ``T_inv=1000``). Diagnostics, fallbacks and
``torch.distributed`` behave as NKFAC's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_non_negative, check_positive
from deepoptim.optim._base import adamw_moments, check_betas, check_lr
from deepoptim.optim._kronecker import REQUIRED
from deepoptim.optim.nkfac import NKFAC

__all__ = ["AdaNKFAC"]


class AdaNKFAC(NKFAC):
    """AdaNKFAC; see the module docstring, and :class:`~deepoptim.optim.NKFAC` for the
    preconditioner's options.

    Args:
        params: parameters or parameter groups.
        model: the network (keyword-only, required); ``None`` preconditions nothing (AdamW).
        lr, betas, eps, weight_decay: as in ``torch.optim.AdamW`` (decoupled weight decay).
        damping, stat_decay, cov_interval, inv_interval, newton_steps, exact_interval,
            unsafe_start, layers: as in :class:`~deepoptim.optim.NKFAC`.
    """

    def __init__(self, params: Iterable[Any] | None, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, damping: float = 0.01, stat_decay: float = 0.95,
                 cov_interval: int = 100, inv_interval: int = 1000, newton_steps: int = 1,
                 exact_interval: int = 500, unsafe_start: str = "scaled", *,
                 model: nn.Module | None = REQUIRED,
                 layers: Sequence[str] | None = None) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        damping=damping, stat_decay=stat_decay)
        self._setup(params, defaults, model=model, layers=layers, cov_interval=cov_interval,
                    inv_interval=inv_interval, newton_steps=newton_steps,
                    exact_interval=exact_interval, unsafe_start=unsafe_start)

    def _check_update(self, group: dict[str, Any]) -> None:
        check_lr(group["lr"])
        check_betas(group["betas"])
        check_positive("eps", group["eps"])
        check_non_negative("weight_decay", group["weight_decay"])

    def _update(self, group: dict[str, Any], directions: dict[torch.Tensor, torch.Tensor]
                ) -> None:
        """AdamW's step on each parameter's preconditioned direction (or gradient)."""
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]  # a layer's weight also holds its factors and inverses
            if "exp_avg" not in state:
                state["step"] = 0
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["step"] += 1
            step_size, denominator = adamw_moments(p, state, group, directions.get(p, p.grad))
            p.addcdiv_(state["exp_avg"], denominator, value=-step_size)
