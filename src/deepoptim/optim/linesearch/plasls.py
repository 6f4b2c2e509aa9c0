r"""PLASLS: a layer-wise Armijo line search on Adam's direction (Kenneweg et al., IJCNN 2023).

The network is split into :math:`K` parts (one parameter group each), and every part :math:`j`
keeps its own step size :math:`\eta_j`. Each step updates Adam's moments with the fresh
gradient (:class:`deepoptim.optim.directions.Adam`), resets every step size,
:math:`\eta_j \leftarrow \text{reset}(\eta_j)`, and then

* during the first ``warmup_steps`` steps (6 as published) runs one *global* search over all
  parts together (slope :math:`\sum_j \mathrm{lr}_j\, g_j^\top r_j`) and gives every part the
  accepted step size;
* afterwards searches *one* part per step, in rotation :math:`i = 0, 1, \dots, K-1, 0, \dots`:
  the Armijo test of part :math:`i` moves only that part,

  .. math::

      f(w) - f(w_1, \dots, w_i - \eta\, r_i, \dots, w_K) \ge c\,\eta\, \mathrm{lr}_i\,
      g_i^\top r_i ,

  with :math:`r_i = D_i^{-1} g_i` as published (``variant="published"``) or
  :math:`r_i = D_i^{-1}\hat m_i` (``"exact"``);
* finally moves every part along Adam's direction, :math:`w_j \leftarrow w_j - \mathrm{lr}_j\,
  \eta_j D_j^{-1}\hat m_j`, the searched part with its accepted step size and the others with
  their reset ones.

With a single part it is :class:`deepoptim.optim.AdamSLS`. State and diagnostics are the
family's (:mod:`deepoptim.optim.linesearch.driver`): ``step_size`` and ``start_step_size`` are
those of the part searched (of all parts in the warm-up). In addition
``state["line_search"]["step_size"]`` is a list with one step size per part (each kept by the
family's rule), ``next_part`` is the part the rotation searches next, the diagnostic
``part_step_sizes`` is a 1-D tensor with the step each part took this step (0 if it did not
move) and the diagnostic ``part`` names the part searched (-1: the global warm-up search).

Decisions (differences from the authors' code)
----------------------------------------------
- **Each part's test measures only that part's move.** Their loop updated parts in place in
  order, so when part :math:`i` was searched, parts :math:`0..i-1` had already taken their
  steps and the test measured those moves too. Here the search runs before any part moves.
- **Warm-up slope.** Their global warm-up test used the last part's slope only (or one part's
  smoothed average); here it uses the slope of the whole move, :math:`\sum_j`.
- **Failure.** A part whose search fails does not move (the others still do) and keeps the
  last step tried; theirs collapsed :math:`\eta_j` by :math:`0.9^{100}` and moved anyway.
- **Not offered:** merging parts whose step sizes fall below a threshold (their
  ``combine_threshold``), smoothing per part, and other schedules than the rotation.

The parts come from :func:`deepoptim.optim.param_groups.split_parameters` or
:func:`~deepoptim.optim.param_groups.split_by_prefix`, or any list of parameter groups.
"""

from __future__ import annotations

import math

import torch

from deepoptim._checks import check_choice, check_int_at_least
from deepoptim.optim.directions import Adam
from deepoptim.optim.linesearch.adamsls import VARIANTS, adam_hyperparameters, adam_of
from deepoptim.optim.linesearch.armijo import ArmijoSearch, Line
from deepoptim.optim.linesearch.driver import (
    Evaluation,
    LineSearchOptimizer,
    Part,
    SearchConfig,
    dot,
    search_defaults,
)
from deepoptim.optim.linesearch.sls import check_sls_reset, sls_growth

__all__ = ["PLASLS"]


class PLASLS(LineSearchOptimizer):
    r"""Layer-wise Armijo line search with Adam's direction (PLASLS), one step size per group.

    Args:
        params: the parts, as parameter groups (e.g. ``split_parameters(model)``); a plain
            iterable of parameters is a single part. A group's ``lr`` multiplies its searched
            step (default 1; there is no constructor ``lr``).
        init_step_size, c, betas, eps, beta_b, gamma, n_batches_per_epoch, reset, variant,
            max_step_size, max_trials: as in :class:`deepoptim.optim.AdamSLS`.
        warmup_steps: steps with one global search before the rotation starts (6).
    """

    shared = ("init_step_size", "c", "beta_b", "gamma", "n_batches_per_epoch", "reset",
              "variant", "warmup_steps", "max_step_size", "max_trials")

    def __init__(self, params, *, init_step_size: float = 0.1, c: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 beta_b: float = 0.9, gamma: float = 2.0, n_batches_per_epoch: int = 500,
                 reset: str = "grow", variant: str = "published", warmup_steps: int = 6,
                 max_step_size: float = math.inf, max_trials: int = 100, **unexpected) -> None:
        defaults = search_defaults(type(self).__name__, unexpected, init_step_size, c=c,
                                   beta_b=beta_b, max_trials=max_trials,
                                   max_step_size=max_step_size)
        defaults.update(adam_hyperparameters(betas, eps))
        check_sls_reset(gamma, n_batches_per_epoch, reset)
        check_choice("variant", variant, VARIANTS)
        check_int_at_least("warmup_steps", warmup_steps, 0)
        defaults.update(gamma=gamma, n_batches_per_epoch=n_batches_per_epoch, reset=reset,
                        variant=variant, warmup_steps=warmup_steps)
        super().__init__(params, defaults)

    def _config(self, group: dict) -> SearchConfig:
        return SearchConfig(ArmijoSearch.from_group(group), group["reset"],
                            sls_growth(group["gamma"], group["n_batches_per_epoch"]),
                            group["init_step_size"], apply="update")

    def _direction(self, group: dict) -> Adam:
        return adam_of(group, published=group["variant"] == "published")

    def _initial_state(self) -> dict:
        return {**super()._initial_state(), "step_size": [], "next_part": 0}

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        config = self._config(self.param_groups[0])
        index = {id(group): j for j, group in enumerate(self.param_groups)}
        kept = list(state["step_size"])  # parts added since the last step start anew
        kept += [config.init_step_size] * (len(self.param_groups) - len(kept))
        starts = [config.start(eta) for eta in kept]
        found = [self._directions([part]) for part in parts]
        if state["step"] <= self.param_groups[0]["warmup_steps"]:
            searched, label = list(range(len(parts))), -1
        else:
            label = state["next_part"] % len(self.param_groups)
            state["next_part"] = (label + 1) % len(self.param_groups)
            searched = [k for k, part in enumerate(parts) if index[id(part.group)] == label]
        result, line, slope, start = None, None, math.nan, math.nan
        if searched:  # before any part moves, so the test measures the searched part alone
            start = starts[index[id(parts[searched[0]].group)]]
            line = Line([p for k in searched for p in parts[k].params],
                        [d for k in searched for d in found[k].search], evaluation.closure)
            slope = float(dot([g for k in searched for g in parts[k].grads], line.directions))
            result = self._search(state, line, slope, start, evaluation, config.search)
        searched_groups = {index[id(parts[k].group)] for k in searched}
        applied = [0.0] * len(self.param_groups)
        for j in range(len(self.param_groups)):
            if j not in searched_groups:  # an untested step with the reset step size
                kept[j] = starts[j]
            elif result.measured:
                kept[j] = result.step_size
        for k, part in enumerate(parts):
            j = index[id(part.group)]
            if k not in searched:
                torch._foreach_add_(part.params, found[k].update, alpha=-starts[j])
                applied[j] = starts[j]
            elif result.moved:
                applied[j] = result.step_size
        if (result is not None and result.moved
                and any(found[k].update is not found[k].search for k in searched)):
            line.move(result.step_size, [u for k in searched for u in found[k].update])
        state["step_size"] = kept
        return self._part_diagnostics(result, applied, label, slope, start, line)

    def _part_diagnostics(self, result, applied: list[float], part: int, slope: float,
                          start: float, line: Line | None) -> dict:
        """The family's diagnostics of the part searched, with every part's applied step in
        ``part_step_sizes`` and the ``part`` searched (-1: the global warm-up search)."""
        if result is None:
            diagnostics = self._diagnostics(None, step_size=0.0, start=start, slope=slope)
        else:
            diagnostics = self._diagnostics(
                result.status, step_size=result.step_size if result.moved else 0.0,
                start=start, slope=slope, trials=result.trials, extra_evals=line.evaluations)
        return {**diagnostics, "part_step_sizes": torch.tensor(applied, dtype=torch.float64),
                "part": part}
