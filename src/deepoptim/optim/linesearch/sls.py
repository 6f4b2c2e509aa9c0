r"""SLS: the stochastic Armijo line search on the SGD direction (Vaswani et al., NeurIPS 2019).

Per step: :math:`\eta_0 = \text{reset}(\eta_{k-1})`; backtrack :math:`\eta \leftarrow \beta_b \eta`
until :math:`f(w) - f(w - \eta g) \ge c\,\eta\,\|g\|^2` (and, for Goldstein,
:math:`\le (1-c)\,\eta\,\|g\|^2`); :math:`w \leftarrow w - \eta g`. The *grow* reset multiplies
the previous step by :math:`\gamma^{1/n_b}` (:func:`sls_growth`), so the step can double once
per epoch of :math:`n_b` steps. It is :class:`~deepoptim.optim.LineSearch` on the
:class:`~deepoptim.optim.directions.Gradient` direction with SLS's parameters; the family's
conventions (closures, the group ``lr`` multiplier, state, diagnostics) are in
:mod:`deepoptim.optim.linesearch.driver`. The book derives it in its SLS chapter.
"""

from __future__ import annotations

import math

from deepoptim._checks import check_choice, check_in_range, check_int_at_least
from deepoptim.optim.directions import Gradient
from deepoptim.optim.linesearch.armijo import RESETS, ArmijoSearch
from deepoptim.optim.linesearch.driver import (
    LineSearchOptimizer,
    SearchConfig,
    search_defaults,
)

__all__ = ["SLS", "sls_growth"]


def sls_growth(gamma: float, n_batches_per_epoch: int) -> float:
    """The per-step growth :math:`\\gamma^{1/n_b}` of SLS's *grow* reset."""
    return gamma ** (1.0 / n_batches_per_epoch)


def check_sls_reset(gamma: float, n_batches_per_epoch: int, reset: str) -> None:
    """Validate SLS's reset: ``gamma >= 1`` per ``n_batches_per_epoch >= 1`` steps."""
    check_in_range("gamma", gamma, 1.0, math.inf)
    check_int_at_least("n_batches_per_epoch", n_batches_per_epoch, 1)
    check_choice("reset", reset, RESETS)


class SLS(LineSearchOptimizer):
    r"""Stochastic Armijo line search on the SGD direction (Vaswani et al., 2019).

    Args:
        params: parameters or parameter groups (one search covers all of them; a group's
            ``lr`` multiplies its searched step, default 1; there is no constructor ``lr``).
        init_step_size: :math:`\eta_{-1}`; the first search starts from its reset.
        c: sufficient-decrease constant.
        beta_b: backtracking factor.
        gamma: growth per epoch of the ``"grow"`` reset.
        n_batches_per_epoch: steps per epoch; the step grows by :math:`\gamma^{1/n_b}` per step.
        reset: ``"keep"``, ``"grow"`` or ``"initial"`` (reset_option 0, 1, 2).
        condition: ``"armijo"`` or ``"goldstein"``.
        beta_f: Goldstein's growth factor for a too short step.
        beta_s: smoothing of decrease and slope (SaLSa); 0 is the plain test.
        max_step_size: cap on every step tried.
        max_trials: loss evaluations per search; 0 takes the reset step untested (with
            ``reset="initial"``: SGD with step ``init_step_size``).
    """

    shared = ("init_step_size", "c", "beta_b", "gamma", "n_batches_per_epoch", "reset",
              "condition", "beta_f", "beta_s", "max_step_size", "max_trials")

    def __init__(self, params, *, init_step_size: float = 1.0, c: float = 0.1,
                 beta_b: float = 0.9, gamma: float = 2.0, n_batches_per_epoch: int = 500,
                 reset: str = "grow", condition: str = "armijo", beta_f: float = 2.0,
                 beta_s: float = 0.0, max_step_size: float = math.inf, max_trials: int = 100,
                 **unexpected) -> None:
        defaults = search_defaults(type(self).__name__, unexpected, init_step_size, c=c,
                                   beta_b=beta_b, max_trials=max_trials, condition=condition,
                                   beta_f=beta_f, max_step_size=max_step_size, beta_s=beta_s)
        check_sls_reset(gamma, n_batches_per_epoch, reset)
        defaults.update(gamma=gamma, n_batches_per_epoch=n_batches_per_epoch, reset=reset)
        super().__init__(params, defaults)

    def _config(self, group: dict) -> SearchConfig:
        return SearchConfig(ArmijoSearch.from_group(group), group["reset"],
                            sls_growth(group["gamma"], group["n_batches_per_epoch"]),
                            group["init_step_size"])

    def _direction(self, group: dict) -> Gradient:
        return Gradient()
