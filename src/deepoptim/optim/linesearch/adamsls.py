r"""ADAMSLS: the Armijo line search with Adam's direction (Kenneweg et al., IJCNN 2023).

Per step Adam's moments are updated with the fresh gradient :math:`g`, and with
:math:`D = \sqrt{\hat v} + \epsilon` the step is :math:`w \leftarrow w - \eta D^{-1}\hat m`. As
published (``variant="published"``) the step size is searched along the preconditioned
gradient :math:`D^{-1} g`, with slope :math:`g^\top D^{-1} g`, and then applied along Adam's
direction: the point it moves to is never evaluated. ``variant="exact"`` searches along the
direction it applies, :math:`D^{-1}\hat m`, with its exact slope :math:`g^\top D^{-1}\hat m`
(free after the backward pass); a step whose direction does not descend does not move and is
recorded as ``not_descent``. It is :class:`~deepoptim.optim.LineSearch` on the
:class:`~deepoptim.optim.directions.Adam` direction with SLS's reset; the family's conventions
are in :mod:`deepoptim.optim.linesearch.driver`. The book derives it in its ADAMSLS and KenSLS
chapter.
"""

from __future__ import annotations

import math

from deepoptim._checks import check_choice
from deepoptim.optim.directions import Adam
from deepoptim.optim.linesearch.armijo import ArmijoSearch
from deepoptim.optim.linesearch.driver import (
    LineSearchOptimizer,
    SearchConfig,
    search_defaults,
)
from deepoptim.optim.linesearch.sls import check_sls_reset, sls_growth

__all__ = ["VARIANTS", "AdamSLS"]

#: ``"published"``: search along :math:`D^{-1} g`, apply :math:`D^{-1}\hat m`; ``"exact"``:
#: search along what is applied.
VARIANTS = ("published", "exact")


def adam_hyperparameters(betas: tuple[float, float], eps: float) -> dict:
    """Adam's ``betas`` and ``eps``, validated, for an optimizer's defaults."""
    Adam(betas, eps)  # validates both
    return {"betas": betas, "eps": eps}


def adam_of(group: dict, published: bool) -> Adam:
    """The Adam direction of a group: searched along :math:`D^{-1} g` when ``published``."""
    return Adam.from_values({"betas": group["betas"], "eps": group["eps"],
                             "search_along": "gradient" if published else "update"})


class AdamSLS(LineSearchOptimizer):
    r"""Armijo line search with Adam's direction: ADAMSLS (Kenneweg et al., 2023).

    Per step: update Adam's moments with :math:`g`; :math:`D = \sqrt{\hat v} + \epsilon`;
    search :math:`\eta` from :math:`\text{reset}(\eta_{k-1})` along :math:`r = D^{-1} g`
    (``variant="published"``, slope :math:`g^\top D^{-1} g`) or along :math:`u = D^{-1}\hat m`
    (``variant="exact"``, slope :math:`g^\top u`); then :math:`w \leftarrow w - \eta u`.

    Args:
        params: parameters or parameter groups (one search covers all of them; a group's
            ``lr`` multiplies its searched step, default 1; there is no constructor ``lr``).
        init_step_size: :math:`\eta_{-1}` (0.1 as published).
        c: sufficient-decrease constant (0.1, the paper's runs; the code's default was 0.2).
        betas, eps: Adam's decay rates and denominator term.
        beta_b, gamma, n_batches_per_epoch, reset, beta_s, max_step_size, max_trials: as in
            :class:`~deepoptim.optim.SLS`. ``max_trials=0`` with ``reset="initial"`` is Adam
            with step ``init_step_size``.
        variant: ``"published"`` or ``"exact"``.
    """

    shared = ("init_step_size", "c", "beta_b", "gamma", "n_batches_per_epoch", "reset",
              "variant", "beta_s", "max_step_size", "max_trials")

    def __init__(self, params, *, init_step_size: float = 0.1, c: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 beta_b: float = 0.9, gamma: float = 2.0, n_batches_per_epoch: int = 500,
                 reset: str = "grow", variant: str = "published", beta_s: float = 0.0,
                 max_step_size: float = math.inf, max_trials: int = 100, **unexpected) -> None:
        defaults = search_defaults(type(self).__name__, unexpected, init_step_size, c=c,
                                   beta_b=beta_b, max_trials=max_trials,
                                   max_step_size=max_step_size, beta_s=beta_s)
        defaults.update(adam_hyperparameters(betas, eps))
        check_sls_reset(gamma, n_batches_per_epoch, reset)
        check_choice("variant", variant, VARIANTS)
        defaults.update(gamma=gamma, n_batches_per_epoch=n_batches_per_epoch, reset=reset,
                        variant=variant)
        super().__init__(params, defaults)

    def _config(self, group: dict) -> SearchConfig:
        return SearchConfig(ArmijoSearch.from_group(group), group["reset"],
                            sls_growth(group["gamma"], group["n_batches_per_epoch"]),
                            group["init_step_size"], apply="update")

    def _direction(self, group: dict) -> Adam:
        return adam_of(group, published=group["variant"] == "published")
