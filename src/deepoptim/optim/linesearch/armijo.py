r"""The Armijo line search that every line-search optimizer of deepoptim plugs a direction into.

The method
----------
Given parameters :math:`w_0`, the loss :math:`f(w_0)`, a search direction :math:`d` and its
slope :math:`s = \nabla f(w_0)^\top d > 0` (a descent direction), the search looks for a step
size :math:`\eta` with *sufficient decrease* (Armijo, 1966):

.. math::

    f(w_0) - f(w_0 - \eta d) \;\ge\; c\,\eta\,s .

It starts from :math:`\eta_0` and backtracks, :math:`\eta \leftarrow \beta_b \eta`, until the
test holds or ``max_trials`` loss evaluations were spent. With ``condition="goldstein"`` it also
requires the step not to be too short, :math:`f(w_0) - f(w_0 - \eta d) \le (1 - c)\,\eta\,s`
(:math:`0 < c < 1/2`), and grows a too short step, :math:`\eta \leftarrow \min(\beta_f \eta,
\eta_{\max})`. On a smooth function with an :math:`L`-Lipschitz gradient and
:math:`d = \nabla f`, every :math:`\eta \le 2(1-c)/L` passes the Armijo test, so backtracking
returns :math:`\eta \ge \min(\eta_0, 2\beta_b(1-c)/L)` (Vaswani et al., 2019).

*Smoothing* (SaLSa, Kenneweg et al., 2024) replaces both sides by exponential moving averages
over the searched steps, with :math:`\beta_s \in [0, 1)`:

.. math::

    \beta_s h + (1 - \beta_s)\,[f(w_0) - f(w_0 - \eta d)] \;\ge\; c\,\eta\,\bar s,
    \qquad \bar s = \beta_s \bar s_{\text{prev}} + (1 - \beta_s)\, s ,

and on acceptance :math:`h \leftarrow \beta_s h + (1-\beta_s)[f(w_0) - f(w_0 - \eta d)]`.
Both averages start at 0 with the same weight, so the first test is the plain Armijo test; no
bias correction is applied because it would scale both sides alike. :math:`\beta_s = 0` is the
plain test. One noisy mini-batch then moves the verdict by a fraction :math:`1 - \beta_s` only.

The starting step comes from the previous step size by a *reset* rule (Vaswani et al.'s
``reset_option``): ``"keep"`` (0) reuses it, ``"grow"`` (1) multiplies it by a factor
(:math:`\gamma^{1/n_b}` for SLS, so the step can double once per epoch of :math:`n_b` steps),
``"initial"`` (2) restarts from the initial step size; the result is capped at
``max_step_size``.

Decisions (where the reference code is silent or unsafe)
--------------------------------------------------------
Every search ends with a :class:`SearchStatus`; three of them are failures
(:data:`FAILURES`), after which the parameters are exactly at :math:`w_0`:

- ``non_finite``: the current loss or the (smoothed) slope is not finite; no search is made.
- ``not_descent``: the (smoothed) slope is negative, so the direction does not descend; no
  search is made. A zero slope (a zero gradient) is ``zero_slope``, not a failure: there is
  nothing to search and nothing moves.
- ``trials_exhausted``: no trial passed within ``max_trials`` evaluations; the parameters go
  back to :math:`w_0` (never left at a rejected trial point; the reference code moved by
  :math:`10^{-6} g` instead). With Goldstein, an exhausted search that met the Armijo part at
  least once takes the largest such step and is ``accepted``.

The others:

- ``accepted``: a trial passed the test with a measured decrease.
- ``stalled``: a trial changed the loss by no more than its rounding error,
  :math:`0 \le f(w_0) - f(w_0 - \eta d) \le 4\,\epsilon_{\text{mach}} |f(w_0)|`
  (:data:`STALL_ULPS` units of the loss's dtype), which ends the search with that step: a
  decrease this small is rounding, not the loss (it can pass the test when
  :math:`c\,\eta\,s` is smaller still), no shorter step can show a real one, and the step does
  not raise the loss. It is a step without measurable progress, reported as such; the averaged
  decrease :math:`h` is not updated by it. (SaLSa's authors end the search the same way on an
  exactly unchanged loss; without the loss's precision, ``precision=0``, only that is a stall.)
- ``untested``: ``max_trials=0`` disables the search and the starting step is taken untested,
  so a line-search optimizer with ``reset="initial"`` and ``max_trials=0`` is its base
  optimizer with a constant step size.

A non-finite trial loss always fails the test: the search backtracks past it. Only a
``accepted`` search has measured a step size worth keeping (:attr:`SearchResult.measured`,
also true for ``untested``, whose step is a schedule): the optimizers reset their next search
from it, and after any other status from the step size they kept before. So a failure never
shrinks the step size a later search starts from, and a step that stalled does not teach it a
step below the loss's resolution.

Under ``torch.distributed``, :class:`Line` averages every loss over the ranks with
:func:`deepoptim.optim.global_mean`, so all ranks take the same decisions and stay identical.

The optimizers of :mod:`deepoptim.optim.linesearch` take their directions from
:mod:`deepoptim.optim.directions`; the book derives the method in its line-search chapter.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import math
from collections.abc import Callable, Sequence

import torch

from deepoptim._checks import (
    check_choice,
    check_in_range,
    check_int_at_least,
    check_positive,
)
from deepoptim.optim._base import global_mean, loss_only

__all__ = [
    "CONDITIONS",
    "FAILURES",
    "RESETS",
    "STALL_ULPS",
    "ArmijoSearch",
    "Line",
    "SearchResult",
    "SearchStatus",
    "reset_step_size",
]

#: The reset rules of the starting step size, in the order of Vaswani et al.'s reset_option.
RESETS = ("keep", "grow", "initial")
#: The tests a trial step must pass.
CONDITIONS = ("armijo", "goldstein")
#: A decrease of at most this many machine epsilons of the loss (relative to it) is rounding.
STALL_ULPS = 4


def reset_step_size(
    previous: float, *, rule: str, growth: float, initial: float, maximum: float = math.inf
) -> float:
    """The first step size a search tries, from the previous accepted one.

    ``"keep"``: ``previous``; ``"grow"``: ``growth * previous``; ``"initial"``: ``initial``;
    then at most ``maximum``.
    """
    if rule == "keep":
        start = previous
    elif rule == "grow":
        start = growth * previous
    else:
        start = initial
    return min(start, maximum)


class SearchStatus(enum.StrEnum):
    """How a search ended (see the module docstring)."""

    ACCEPTED = "accepted"
    STALLED = "stalled"
    UNTESTED = "untested"
    ZERO_SLOPE = "zero_slope"
    NOT_DESCENT = "not_descent"
    NON_FINITE = "non_finite"
    TRIALS_EXHAUSTED = "trials_exhausted"


#: The statuses of a failed search, after which the parameters are at :math:`w_0`.
FAILURES = (SearchStatus.NOT_DESCENT, SearchStatus.NON_FINITE, SearchStatus.TRIALS_EXHAUSTED)
#: The statuses after which the parameters sit at :math:`w_0 - \eta d`.
_MOVED = (SearchStatus.ACCEPTED, SearchStatus.STALLED, SearchStatus.UNTESTED)


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """What a search decided.

    Attributes:
        status: how the search ended.
        step_size: the step size of the point the parameters sit at when ``moved``; after a
            failure the last one tried; when no search was made, the starting one.
        trials: loss evaluations at trial points.
        decrease_avg: the averaged decrease :math:`h` after this search.
        slope_avg: the averaged slope :math:`\\bar s` after this search.
    """

    status: SearchStatus
    step_size: float
    trials: int
    decrease_avg: float = 0.0
    slope_avg: float = 0.0

    @property
    def moved(self) -> bool:
        """Whether the parameters sit at :math:`w_0 - \\eta d` (otherwise at :math:`w_0`)."""
        return self.status in _MOVED

    @property
    def failed(self) -> bool:
        """Whether the search failed (:data:`FAILURES`)."""
        return self.status in FAILURES

    @property
    def measured(self) -> bool:
        """Whether ``step_size`` is one to reset the next search from: accepted with a measured
        decrease, or taken untested (``max_trials=0``, a schedule)."""
        return self.status in (SearchStatus.ACCEPTED, SearchStatus.UNTESTED)


class Line:
    """The points :math:`w_0 - \\eta d` of a set of parameters, and the loss there.

    ``params`` are moved in place; ``directions`` (one per parameter, already scaled by the
    parameter group's ``lr``) stay fixed. ``closure`` follows the package convention and is
    called under ``torch.no_grad()``; its loss is averaged over ranks with ``global_mean``.
    The first move keeps an exact copy of :math:`w_0`, so any later point, and :math:`w_0`
    itself, is computed from it without accumulated rounding.
    """

    def __init__(self, params: Sequence[torch.Tensor], directions: Sequence[torch.Tensor],
                 closure: Callable[[], torch.Tensor]) -> None:
        self.params = list(params)
        self.directions = list(directions)
        self.closure = closure
        self.evaluations = 0
        self._origin: list[torch.Tensor] | None = None

    @property
    def origin(self) -> list[torch.Tensor]:
        """:math:`w_0`: the saved copy once moved, else the parameters themselves."""
        return self.params if self._origin is None else self._origin

    def move(self, step: float, directions: Sequence[torch.Tensor] | None = None) -> None:
        """Set the parameters to :math:`w_0 - \\text{step} \\cdot d` (``d`` may be replaced)."""
        directions = self.directions if directions is None else list(directions)
        if self._origin is None:
            if step == 0:
                return
            self._origin = torch._foreach_mul(self.params, 1.0)  # exact copy, -0.0 kept
        else:
            torch._foreach_copy_(self.params, self._origin)
        if step != 0:
            torch._foreach_add_(self.params, directions, alpha=-step)

    def loss_at(self, step: float) -> float:
        """The rank-averaged loss at :math:`w_0 - \\text{step} \\cdot d` (parameters left there)."""
        self.move(step)
        self.evaluations += 1
        return float(global_mean(loss_only(self.closure)))


@dataclasses.dataclass(frozen=True)
class ArmijoSearch:
    """Backtracking on the (optionally smoothed, optionally Goldstein) Armijo test.

    Attributes:
        c: sufficient-decrease constant, ``0 < c < 1`` (``< 1/2`` for Goldstein).
        beta_b: backtracking factor, ``0 < beta_b < 1``.
        max_trials: most loss evaluations per search; 0 disables the search.
        condition: ``"armijo"`` or ``"goldstein"``.
        beta_f: Goldstein's growth factor for a too short step, ``> 1``.
        max_step_size: cap on every step tried.
        beta_s: smoothing of decrease and slope, ``0 <= beta_s < 1``; 0 is the plain test.
    """

    c: float = 0.1
    beta_b: float = 0.9
    max_trials: int = 100
    condition: str = "armijo"
    beta_f: float = 2.0
    max_step_size: float = math.inf
    beta_s: float = 0.0

    def __post_init__(self) -> None:
        check_choice("condition", self.condition, CONDITIONS)
        upper = 0.5 if self.condition == "goldstein" else 1.0
        check_in_range("c", self.c, 0.0, upper, low_inclusive=False)
        check_in_range("beta_b", self.beta_b, 0.0, 1.0, low_inclusive=False)
        check_int_at_least("max_trials", self.max_trials, 0)
        check_in_range("beta_f", self.beta_f, 1.0, math.inf, low_inclusive=False,
                       high_inclusive=True)
        check_positive("max_step_size", self.max_step_size)
        check_in_range("beta_s", self.beta_s, 0.0, 1.0)

    @classmethod
    def from_group(cls, group: dict) -> ArmijoSearch:
        """The search configured by a parameter group's hyperparameters (missing ones default)."""
        return _configured(tuple((name, group[name]) for name in _FIELDS if name in group))

    def _verdict(self, decrease: float, step: float, slope_avg: float,
                 decrease_avg: float) -> int:
        """-1: too long (backtrack); 0: accepted; +1: too short (Goldstein grows it)."""
        if not math.isfinite(decrease):
            return -1
        smoothed = self.beta_s * decrease_avg + (1 - self.beta_s) * decrease
        if smoothed < self.c * step * slope_avg:
            return -1
        if self.condition == "goldstein" and smoothed > (1 - self.c) * step * slope_avg:
            return 1
        return 0

    def search(self, loss: float, slope: float, line: Line, start: float, *,
               decrease_avg: float = 0.0, slope_avg: float = 0.0,
               precision: float = 0.0) -> SearchResult:
        """Search along ``line`` from ``start``; leave its parameters at the accepted point, or
        at :math:`w_0` when nothing is accepted (wherever the line was moved before).

        Args:
            loss: :math:`f(w_0)` (rank-averaged, on the search's batch).
            slope: :math:`\\nabla f(w_0)^\\top d` for the line's directions.
            line: moves the parameters and evaluates the loss.
            start: the first step size tried (from :func:`reset_step_size`).
            decrease_avg, slope_avg: the smoothing averages :math:`h, \\bar s` so far.
            precision: the machine epsilon of the loss's dtype; a decrease in
                :math:`[0, \\text{STALL\\_ULPS} \\cdot \\text{precision} \\cdot |f(w_0)|]` is a
                stall (0: only an exactly unchanged loss).
        """
        if self.max_trials == 0:
            line.move(start)
            return SearchResult(SearchStatus.UNTESTED, start, 0, decrease_avg, slope_avg)
        smoothed_slope = self.beta_s * slope_avg + (1 - self.beta_s) * slope
        if not (math.isfinite(loss) and math.isfinite(smoothed_slope)):
            line.move(0.0)
            return SearchResult(SearchStatus.NON_FINITE, start, 0, decrease_avg, slope_avg)
        if smoothed_slope <= 0:  # zero: nothing to search; negative: not a descent direction
            line.move(0.0)
            status = SearchStatus.NOT_DESCENT if smoothed_slope < 0 else SearchStatus.ZERO_SLOPE
            return SearchResult(status, start, 0, decrease_avg, smoothed_slope)
        step, armijo_step, armijo_decrease = start, 0.0, 0.0
        rounding = STALL_ULPS * precision * abs(loss)
        for trial in range(1, self.max_trials + 1):
            decrease = loss - line.loss_at(step)
            if 0 <= decrease <= rounding:  # below the loss's resolution
                return SearchResult(SearchStatus.STALLED, step, trial, decrease_avg,
                                    smoothed_slope)
            verdict = self._verdict(decrease, step, smoothed_slope, decrease_avg)
            if verdict == 0:
                new_avg = self.beta_s * decrease_avg + (1 - self.beta_s) * decrease
                return SearchResult(SearchStatus.ACCEPTED, step, trial, new_avg, smoothed_slope)
            tried = step
            if verdict > 0:
                if step > armijo_step:
                    armijo_step, armijo_decrease = step, decrease
                step = min(step * self.beta_f, self.max_step_size)
            else:
                step = step * self.beta_b
        if armijo_step > 0:  # Goldstein: the longest step that met the Armijo part
            line.move(armijo_step)
            new_avg = self.beta_s * decrease_avg + (1 - self.beta_s) * armijo_decrease
            return SearchResult(SearchStatus.ACCEPTED, armijo_step, self.max_trials, new_avg,
                                smoothed_slope)
        line.move(0.0)
        return SearchResult(SearchStatus.TRIALS_EXHAUSTED, tried, self.max_trials, decrease_avg,
                            smoothed_slope)


_FIELDS = tuple(field.name for field in dataclasses.fields(ArmijoSearch))


@functools.lru_cache(maxsize=128)
def _configured(items: tuple[tuple[str, object], ...]) -> ArmijoSearch:
    """One validated :class:`ArmijoSearch` per configuration (steps reuse it)."""
    return ArmijoSearch(**dict(items))
