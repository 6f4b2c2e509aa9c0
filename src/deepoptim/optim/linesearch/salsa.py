r"""SaLSa, Stable Armijo Line Search Adaptation (Kenneweg, Kenneweg, Fumagalli, Hammer; IJCNN 2024).

SaLSa is the thesis's adaptation of the Armijo line search to mini-batches. It combines three
parts, each shared with the rest of the family:

1. Adam's preconditioner (:class:`deepoptim.optim.directions.Adam`), updated with the fresh
   gradient every step;
2. the *smoothed* Armijo test of :mod:`deepoptim.optim.armijo` with :math:`\beta_s = \beta_3 = 0.9`:

   .. math::

       \beta_s h + (1-\beta_s)\,[f(w) - f(w - \eta d)] \ge c\,\eta\,\bar s,\qquad
       \bar s = \beta_s \bar s + (1-\beta_s)\, g^\top d ,

   searched from :math:`1.1\,\eta_{k-1}` with backtracking factor 0.8 and :math:`c = 0.5`;
3. a *cadence* that skips the search while the step size is stable. Two averages of the
   accepted step sizes, :math:`\eta_{\text{fast}} \leftarrow 0.9\,\eta_{\text{fast}} + 0.1\,\eta`
   and :math:`\eta_{\text{slow}} \leftarrow 0.99\,\eta_{\text{slow}} + 0.01\,\eta` (both start at
   :math:`10^{-8}`), give :math:`r = \max(\eta_f/\eta_s, \eta_s/\eta_f)` and the period
   :math:`L = \min(10,\, 1/(r - 1 + 10^{-8}))`. The first 10 steps search; afterwards a step
   searches when at least :math:`L` steps passed since the last search. The step sizes the
   averages see are the ones the searches keep (below).

On a search step the parameters end at the accepted trial point: along :math:`d = D^{-1} g` by
default (the authors' ``use_mv=False``, an RMSprop-like step without momentum) or along Adam's
direction :math:`d = D^{-1}\hat m` with ``use_mv=True``. A skipped step is Adam's step with
:math:`1.1\,\eta` (:math:`\eta` itself unchanged) and costs no extra forward pass.

Decisions (differences from the authors' code, ``salsa-optimizer`` 0.1.0)
-------------------------------------------------------------------------
- **Bias correction.** Their step counter is incremented before the bias correction, which then
  uses :math:`1 - \beta_2^{t+1}`: the first direction is :math:`1.414\,\text{sign}(g)`. We use
  Adam's correction :math:`1 - \beta_2^{t}` (first direction :math:`\text{sign}(g)`).
- **Always-search window.** Their step counter is incremented before the test ``step < 10``, so
  their first 9 steps search; ours searches on the first 10 (``step <= 10``).
- **Failure.** Theirs has no fallback after 100 failed trials (parameters left at the last
  trial, :math:`\eta \leftarrow 0.8^{100}\eta`); ours restores the parameters, keeps the
  previous step size and records the reason (see :mod:`deepoptim.optim.linesearch.armijo`).
  Non-finite losses are never accepted, so no NaN check is needed.
- **Cancellation.** Both accept a trial whose loss equals the current one exactly; theirs then
  keeps that trial's step size, ours keeps the previous one and records ``stalled``.
- **Parameter groups.** Theirs ignores them; ours honours ``lr`` per group (a multiplier, as in
  the whole family) and needs every other hyperparameter equal across groups.
- **Weight decay** is not offered. "SGD + SaLSa" is :class:`deepoptim.optim.SLS` with
  ``beta_s`` (their ``momentum=(0, 0, 0.9)`` advice gives sign-SGD).

State and diagnostics are the family's (:mod:`deepoptim.optim.linesearch.driver`); the
optimizer-level state adds ``fast_step_size``, ``slow_step_size`` and ``since_search``. A
skipped step records ``searched=0``, ``loss_evals=1``, ``slope=nan`` and the step it applied,
:math:`1.1\,\eta`, as ``step_size`` and ``start_step_size`` (the state keeps :math:`\eta`:
the diagnostic is always the step applied, the state the step the next reset starts from).

Special cases: ``max_trials=0``, ``growth=1`` and ``use_mv=True`` is Adam with step
``init_step_size``; the same with ``use_mv=False`` and ``cadence=False`` is Adam with
``betas=(0, beta2)``. The book derives SaLSa in its line-search chapter.
"""

from __future__ import annotations

import math

from deepoptim.optim.directions import Adam
from deepoptim.optim.linesearch.adamsls import adam_hyperparameters, adam_of
from deepoptim.optim.linesearch.armijo import ArmijoSearch, SearchResult
from deepoptim.optim.linesearch.driver import (
    LineSearchOptimizer,
    SearchConfig,
    check_growth,
    search_defaults,
)

__all__ = ["SaLSa"]

#: Weights of the fast and slow averages of the accepted step sizes, and their initial value.
FAST, SLOW, INITIAL_AVERAGE = 0.9, 0.99, 1e-8
#: The longest search period, and the number of first steps that always search.
MAX_PERIOD, ALWAYS_SEARCH = 10, 10


def search_period(fast: float, slow: float) -> float:
    """SaLSa's period :math:`L = \\min(10, 1/(r - 1 + 10^{-8}))`, :math:`r \\ge 1` the ratio of
    the two step-size averages."""
    ratio = fast / slow
    ratio = max(ratio, 1 / ratio)
    return min(MAX_PERIOD, 1 / (ratio - 1 + 1e-8))


class SaLSa(LineSearchOptimizer):
    r"""Adam with the stable (smoothed) Armijo line search and its search cadence.

    Args:
        params: parameters or parameter groups (one search covers all of them; a group's
            ``lr`` multiplies its searched step, default 1; there is no constructor ``lr``).
        init_step_size: :math:`\eta_0` (1).
        c: sufficient-decrease constant (0.5).
        betas: Adam's :math:`\beta_1, \beta_2`.
        beta_s: smoothing :math:`\beta_3` of decrease and slope (0.9).
        eps: Adam's denominator term.
        beta_b: backtracking factor (0.8).
        growth: a search starts from ``growth`` times the last step; skipped steps use it (1.1).
        use_mv: search and step along Adam's direction instead of :math:`D^{-1} g`.
        cadence: skip searches while the step size is stable (the authors' ``speed_up``).
        max_step_size, max_trials: as in :class:`deepoptim.optim.SLS`.
    """

    shared = ("init_step_size", "c", "beta_s", "beta_b", "growth", "use_mv", "cadence",
              "max_step_size", "max_trials")

    def __init__(self, params, *, init_step_size: float = 1.0, c: float = 0.5,
                 betas: tuple[float, float] = (0.9, 0.999), beta_s: float = 0.9,
                 eps: float = 1e-8, beta_b: float = 0.8, growth: float = 1.1,
                 use_mv: bool = False, cadence: bool = True, max_step_size: float = math.inf,
                 max_trials: int = 100, **unexpected) -> None:
        defaults = search_defaults(type(self).__name__, unexpected, init_step_size, c=c,
                                   beta_b=beta_b, max_trials=max_trials,
                                   max_step_size=max_step_size, beta_s=beta_s)
        defaults.update(adam_hyperparameters(betas, eps))
        check_growth(growth)
        defaults.update(growth=growth, use_mv=bool(use_mv), cadence=bool(cadence))
        super().__init__(params, defaults)

    def _config(self, group: dict) -> SearchConfig:
        return SearchConfig(ArmijoSearch.from_group(group), "grow", group["growth"],
                            group["init_step_size"])

    def _direction(self, group: dict) -> Adam:
        return adam_of(group, published=not group["use_mv"])

    def _initial_state(self) -> dict:
        return {**super()._initial_state(), "fast_step_size": INITIAL_AVERAGE,
                "slow_step_size": INITIAL_AVERAGE, "since_search": 100}

    def _searches_now(self, state: dict) -> bool:
        """Whether this step searches: always without cadence and on the first 10 steps."""
        state["since_search"] += 1
        group = self.param_groups[0]
        return (not group["cadence"] or state["step"] <= ALWAYS_SEARCH
                or state["since_search"] >= search_period(state["fast_step_size"],
                                                          state["slow_step_size"]))

    def _searched(self, state: dict, result: SearchResult) -> None:
        """Restart the count of steps since a search; average the step size kept."""
        state["since_search"] = 0
        kept = state["step_size"]
        state["fast_step_size"] = FAST * state["fast_step_size"] + (1 - FAST) * kept
        state["slow_step_size"] = SLOW * state["slow_step_size"] + (1 - SLOW) * kept
