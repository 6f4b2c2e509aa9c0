r"""KenSLS: the Armijo search along Adam's direction with a numerical slope (Kenneweg et al.,
ACDSA 2024, the "numerical approach").

Per step Adam's moments are updated; the search runs along Adam's direction
:math:`d = D^{-1}\hat m`; its slope :math:`g^\top d` is estimated by a forward difference,
:math:`\hat s = [f(w) - f(w - \varepsilon d)]/\varepsilon` (one more forward pass; the step
:math:`\varepsilon` and its error are in :mod:`~deepoptim.optim.linesearch.slope`), or taken
exactly (``slope="exact"``, free after the backward pass); decrease and slope are smoothed
(:math:`\beta_s = 0.99`) and the step grows by ``growth`` per step:

.. math::

    \beta_s h + (1-\beta_s)[f(w) - f(w - \eta d)] \ge c\,\eta\,\bar s,
    \qquad w \leftarrow w - \eta d .

When the smoothed slope is negative the authors flip :math:`c` to :math:`1/c`; here the step does
not search and does not move (``not_descent``). It is :class:`~deepoptim.optim.LineSearch` on the
:class:`~deepoptim.optim.directions.Adam` direction with ``slope="finite_difference"``; the
family's conventions are in :mod:`deepoptim.optim.linesearch.driver`. The book derives it in its
ADAMSLS and KenSLS chapter.
"""

from __future__ import annotations

import math

from deepoptim._checks import check_choice, check_positive
from deepoptim.optim.directions import Adam
from deepoptim.optim.linesearch.adamsls import adam_hyperparameters, adam_of
from deepoptim.optim.linesearch.armijo import ArmijoSearch
from deepoptim.optim.linesearch.driver import (
    SLOPES,
    LineSearchOptimizer,
    SearchConfig,
    check_growth,
    search_defaults,
)

__all__ = ["KenSLS"]


class KenSLS(LineSearchOptimizer):
    r"""Armijo line search along Adam's direction with a numerical slope (Kenneweg et al., 2024).

    Args:
        params: parameters or parameter groups (one search covers all of them; a group's
            ``lr`` multiplies its searched step, default 1; there is no constructor ``lr``).
        init_step_size: :math:`\eta_{-1}` (0.1).
        c: sufficient-decrease constant (0.1; the authors ran 0.3 for text, 0.5 for images).
        betas, eps: Adam's.
        beta_b: backtracking factor.
        growth: per-step growth of the starting step (:math:`1/0.999`).
        beta_s: smoothing of decrease and slope (0.99, hard-coded by the authors).
        slope: ``"finite_difference"`` or ``"exact"``.
        fd_eps: the finite-difference step :math:`\varepsilon`; ``None`` chooses it
            (:func:`~deepoptim.optim.linesearch.slope.finite_difference_step`); the authors'
            fixed ``5e-9`` reproduces their estimate, without their retry at ten times it.
        max_step_size, max_trials: as in :class:`~deepoptim.optim.SLS`; ``max_trials=0`` with
            ``growth=1`` is Adam with step ``init_step_size``.
    """

    shared = ("init_step_size", "c", "beta_b", "growth", "beta_s", "slope", "fd_eps",
              "max_step_size", "max_trials")

    def __init__(self, params, *, init_step_size: float = 0.1, c: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 beta_b: float = 0.9, growth: float = 1 / 0.999, beta_s: float = 0.99,
                 slope: str = "finite_difference", fd_eps: float | None = None,
                 max_step_size: float = math.inf, max_trials: int = 100, **unexpected) -> None:
        defaults = search_defaults(type(self).__name__, unexpected, init_step_size, c=c,
                                   beta_b=beta_b, max_trials=max_trials,
                                   max_step_size=max_step_size, beta_s=beta_s)
        defaults.update(adam_hyperparameters(betas, eps))
        check_growth(growth)
        check_choice("slope", slope, SLOPES)
        if fd_eps is not None:
            check_positive("fd_eps", fd_eps)
        defaults.update(growth=growth, slope=slope, fd_eps=fd_eps)
        super().__init__(params, defaults)

    def _config(self, group: dict) -> SearchConfig:
        return SearchConfig(ArmijoSearch.from_group(group), "grow", group["growth"],
                            group["init_step_size"], group["slope"], group["fd_eps"])

    def _direction(self, group: dict) -> Adam:
        return adam_of(group, published=False)
