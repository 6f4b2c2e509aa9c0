r"""One stochastic line search for any search direction: :class:`LineSearch`.

Every step evaluates the mini-batch loss :math:`f_k` and its gradient :math:`g_k` once (the
closure with grad enabled). A *direction* (:mod:`deepoptim.optim.directions`) turns the
gradients of each parameter group into the direction to search along, :math:`d`, and the one
to apply, :math:`u` (usually :math:`d` itself). The step size starts from the previous one by
a reset rule, :math:`\eta_0 = \operatorname{reset}(\eta_{k-1})`, and the Armijo search of
:mod:`deepoptim.optim.linesearch.armijo` backtracks along :math:`d` with loss-only evaluations
(the closure under ``torch.no_grad()``) until

.. math::

    f_k(w_k) - f_k(w_k - \eta d) \;\ge\; c\,\eta\,s, \qquad s = g_k^\top d .

The parameters end at the accepted trial point :math:`w_k - \eta d` (``apply="trial"``) or at
:math:`w_k - \eta u` (``apply="update"``, as published ADAMSLS does). The slope :math:`s` is the
dot product (``slope="exact"``, free after the backward pass) or a forward difference
(``slope="finite_difference"``, one more forward pass; :mod:`~deepoptim.optim.linesearch.slope`).
So "Armijo on a momentum direction" is ``LineSearch(params, Momentum(0.9))``; the published
methods (SLS, ADAMSLS, KenSLS, SaLSa, PLASLS) are this driver with their directions and
defaults, one file each, and the book derives them in its line-search chapters.

Conventions of the whole line-search family
-------------------------------------------
- **Closures.** ``step(closure, search_closure=None)``; ``closure`` follows the package convention
  (:mod:`deepoptim.optim._base`). By default the search evaluates trial points with the same
  closure, so on the same mini-batch as the gradient (as the authors' code does). A
  ``search_closure`` on an independent mini-batch makes the step size independent of the
  gradient's batch (Vaswani et al., 2019, appendix F.1); its loss at the starting point costs
  one more forward pass per search. ``step`` returns the closure's first loss.
- **No lr.** The step size is searched, so the constructors take no ``lr``: a learning rate such
  as ``1e-3`` passed by habit would shrink every searched step a thousandfold, and is refused
  with a ``TypeError`` that says so. ``init_step_size`` sets the first step tried. Each parameter
  group still has an ``lr`` (default 1), a *multiplier* of that group's searched step: group
  :math:`g` moves by :math:`\mathrm{lr}_g \cdot \eta` along its direction, and one search covers
  all groups, so the slope is :math:`\sum_g \mathrm{lr}_g\, g_g^\top d_g`. It is what an LR
  scheduler scales (a warm-up or a decay on top of the search, from the next step on), what a
  layer-wise learning-rate distribution sets (:mod:`deepoptim.optim.param_groups`), and
  ``lr=0`` freezes a group. The direction's hyperparameters may differ between groups; every
  other hyperparameter must be the same in all of them.
- **Which step size is kept.** Only a search that measured a sufficient decrease (status
  ``accepted``, or ``untested`` with ``max_trials=0``) sets the step size the next search
  resets from. After a failure, a stalled search (a loss change of exactly zero) or a step
  without a search, the previous one is kept. A failure therefore never shrinks later steps
  (the reference code kept :math:`\beta_b^{100}\eta`, after which a stream of failures on an
  independent search batch stopped training for good), and a search that gives up to rounding
  does not teach the next one a step below the loss's resolution.
- **State.** Per parameter: the direction's (Adam's ``step``, ``exp_avg``, ``exp_avg_sq``;
  momentum's ``momentum_buffer``; none for the gradient). Per optimizer, under
  ``optimizer.state["line_search"]`` (:data:`LINE_SEARCH`): ``step`` (steps taken),
  ``step_size`` (:math:`\eta` the next reset starts from) and the smoothing averages
  ``decrease_avg``, ``slope_avg``. All are tensors or Python numbers, so ``state_dict``
  round-trips with ``torch.load(weights_only=True)``.
- **Diagnostics** in ``optimizer.state[DIAGNOSTICS]`` after every step, Python numbers:
  ``step_size`` (the :math:`\eta` applied this step, 0 when nothing moved),
  ``start_step_size`` (:math:`\eta_0`, the first step tried; NaN when no search could start),
  ``slope`` (the slope the test used, before smoothing), ``trials`` (trial points evaluated),
  ``loss_evals`` (forward passes this step, the closure's first included), ``backward_passes``
  (1), ``searched`` (1 when at least one trial was evaluated), ``failed`` (1 when the search
  failed; the parameters then stay where the step started) and one flag per reason of a failure
  (:data:`~deepoptim.optim.linesearch.armijo.FAILURES`): ``not_descent``, ``non_finite``,
  ``trials_exhausted``; and ``stalled`` (1 when the step taken changed the loss by no more
  than its rounding error: no failure, but no measurable progress either).
- **Non-finite values.** A non-finite loss or gradient at the starting point skips the step: no
  direction update, no move, ``non_finite=1``. Non-finite trial losses are rejected by the search.
  With ``apply="update"`` the final point was never evaluated, so only there the new loss is not
  guaranteed to be finite or lower.
- **Parameters** must be real (complex ones are refused when a group is added) with dense
  gradients.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from deepoptim._checks import check_choice, check_in_range, check_positive
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    add_checked_group,
    as_loss,
    check_lr,
    check_real_params,
    check_sparse_grad,
    global_mean,
    loss_and_grad,
    require_closure,
)
from deepoptim.optim.directions import DIRECTIONS, Direction, Directions, Gradient
from deepoptim.optim.linesearch.armijo import (
    FAILURES,
    RESETS,
    ArmijoSearch,
    Line,
    SearchResult,
    SearchStatus,
    reset_step_size,
)
from deepoptim.optim.linesearch.slope import finite_difference_slope

__all__ = ["APPLY", "LINE_SEARCH", "SLOPES", "LineSearch", "LineSearchOptimizer"]

#: The key of ``optimizer.state`` holding a line-search optimizer's own state.
LINE_SEARCH = "line_search"
#: How the slope of the search direction is obtained.
SLOPES = ("exact", "finite_difference")
#: Where the parameters end: at the accepted trial point, or along the update direction.
APPLY = ("trial", "update")


@dataclasses.dataclass
class Part:
    """One parameter group's parameters that have gradients, with its hyperparameters."""

    group: dict
    params: list[torch.Tensor]
    grads: list[torch.Tensor]

    @property
    def lr(self) -> float:
        return self.group["lr"]


@dataclasses.dataclass
class Evaluation:
    """The starting point of a step: its loss, the closure the search evaluates and the
    machine epsilon of the loss's dtype."""

    loss: float
    closure: Closure
    independent: bool
    precision: float
    _references: dict[int, float] = dataclasses.field(default_factory=dict)

    def reference(self, line: Line) -> float:
        """:math:`f(w_0)` on the search's batch: with an independent ``search_closure``, one
        more forward pass at the line's origin (once per line)."""
        if not self.independent:
            return self.loss
        if id(line) not in self._references:
            self._references[id(line)] = line.loss_at(0.0)
        return self._references[id(line)]


@dataclasses.dataclass(frozen=True)
class SearchConfig:
    """What one step of the search needs from the (shared) hyperparameters of the groups."""

    search: ArmijoSearch
    reset: str
    growth: float
    init_step_size: float
    slope: str = "exact"
    fd_eps: float | None = None
    apply: str = "trial"

    def start(self, previous: float) -> float:
        """The first step size of a search, by the reset rule from the previous one."""
        return reset_step_size(previous, rule=self.reset, growth=self.growth,
                               initial=self.init_step_size, maximum=self.search.max_step_size)


def dot(a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
    """:math:`\\sum_i a_i^\\top b_i` over lists of tensors, as a 0-dim tensor."""
    return torch.dot(torch.cat([x.reshape(-1) for x in a]), torch.cat([y.reshape(-1) for y in b]))


def scaled(tensors: list[torch.Tensor], scales: list[float]) -> list[torch.Tensor]:
    """``tensors[i] * scales[i]``; the list itself when every scale is 1."""
    if all(s == 1 for s in scales):
        return tensors
    return torch._foreach_mul(tensors, scales)


def search_defaults(name: str, unexpected: dict, init_step_size: float, **search) -> dict:
    """The start of a line search's ``defaults``: the group multiplier ``lr=1``,
    ``init_step_size`` and the Armijo search's hyperparameters, validated (and any unexpected
    keyword refused, ``lr`` with its reason)."""
    reject_unexpected(name, unexpected)
    check_positive("init_step_size", init_step_size)
    ArmijoSearch(**search)
    return dict(lr=1.0, init_step_size=init_step_size, **search)


def check_growth(growth: float) -> None:
    """A per-step growth factor of the starting step, ``>= 1``."""
    check_in_range("growth", growth, 1.0, math.inf)


def reject_unexpected(name: str, unexpected: dict) -> None:
    """Refuse keywords a line search does not take; ``lr`` with the reason (module docstring)."""
    if "lr" in unexpected:
        raise TypeError(
            f"{name} searches its step size and takes no lr: a learning rate such as 1e-3 "
            "would shrink every searched step. init_step_size sets the first step tried; a "
            "parameter group's 'lr' (default 1) multiplies that group's searched step, for "
            "learning-rate distributions and schedulers"
        )
    if unexpected:
        raise TypeError(f"{name}.__init__() got unexpected keyword argument(s) "
                        f"{sorted(unexpected)}")


class LineSearchOptimizer(torch.optim.Optimizer):
    """The mechanics every line search shares (see the module docstring).

    A subclass validates its hyperparameters in its constructor, lists those all groups must
    share in ``shared``, and says how a group's hyperparameters configure the search
    (:meth:`_config`) and the direction (:meth:`_direction`); :class:`LineSearch` and the
    named methods are such subclasses. PLASLS also replaces :meth:`_update` (one step size per
    part), SaLSa adds a cadence (:meth:`_searches_now`, :meth:`_searched`).
    """

    #: The hyperparameters every group must share (all but ``lr`` and the direction's).
    shared: tuple[str, ...] = ()

    def _config(self, group: dict) -> SearchConfig:
        """The search configuration of the (shared) hyperparameters in ``group``."""
        raise NotImplementedError

    def _direction(self, group: dict) -> Direction:
        """The direction of one parameter group, from its hyperparameters."""
        raise NotImplementedError

    # -- parameter groups --------------------------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group; every hyperparameter but ``lr`` and the direction's must equal the
        first group's, and its parameters must be real."""
        add_checked_group(self, param_group, self._check_group)

    def _check_group(self, group: dict) -> None:
        check_lr(group["lr"])
        check_real_params(group["params"], type(self).__name__)
        self._direction(group)  # validates the group's direction hyperparameters
        first = self.param_groups[0]
        for key in self.shared:
            if key in group and group[key] != first[key]:
                raise ValueError(
                    f"Invalid {key} value: {group[key]!r} ({type(self).__name__} needs the "
                    f"same {key} in every parameter group; only lr and the direction's "
                    "hyperparameters may differ)"
                )

    def _parts(self) -> list[Part]:
        """Per group, the parameters that have gradients (sparse gradients are rejected)."""
        parts = []
        for group in self.param_groups:
            params, grads = [], []
            for p in group["params"]:
                if p.grad is not None:
                    check_sparse_grad(p.grad, type(self).__name__)
                    params.append(p)
                    grads.append(p.grad)
            parts.append(Part(group, params, grads))
        return parts

    # -- one step ----------------------------------------------------------------------------

    def _initial_state(self) -> dict:
        """The optimizer-level state before the first step."""
        init = self.param_groups[0]["init_step_size"]
        return {"step": 0, "step_size": init, "decrease_avg": 0.0, "slope_avg": 0.0}

    @torch.no_grad()
    def step(self, closure: Closure | None = None,
             search_closure: Closure | None = None) -> torch.Tensor:
        """One step; returns the loss the closure computed first.

        Args:
            closure: re-evaluates the mini-batch loss (package convention); required.
            search_closure: the same on an independent mini-batch, for the trial points;
                ``None`` evaluates them with ``closure`` (the same batch).
        """
        require_closure(closure, type(self).__name__)
        loss = loss_and_grad(closure)
        parts = self._parts()
        state = dict(self.state.get(LINE_SEARCH) or self._initial_state())
        state["step"] += 1
        grads = [g for part in parts for g in part.grads]
        norms = torch._foreach_norm(grads) if grads else []
        start_loss = global_mean(as_loss(loss))
        if norms:
            start_loss = start_loss.to(norms[0].device)
        checks = torch.stack([start_loss, *norms]).tolist()  # one synchronisation
        if not grads:
            diagnostics = self._diagnostics(None, step_size=0.0, start=math.nan, slope=0.0)
        elif not all(math.isfinite(value) for value in checks):
            diagnostics = self._diagnostics(SearchStatus.NON_FINITE, step_size=0.0,
                                            start=math.nan, slope=math.nan)
        else:
            evaluation = Evaluation(checks[0], search_closure or closure,
                                    search_closure is not None,
                                    torch.finfo(start_loss.dtype).eps)
            diagnostics = self._update(state, [p for p in parts if p.params], evaluation)
        self.state[LINE_SEARCH] = state
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    def _directions(self, parts: list[Part]) -> Directions:
        """Every part's search and update directions, concatenated and scaled by its lr.

        Updates the directions' state (Adam's moments, momentum buffers).
        """
        searches, updates, same = [], [], True
        for part in parts:
            direction = self._direction(part.group)
            states = ([self.state[p] for p in part.params] if direction.stateful
                      else [{} for _ in part.params])
            found = direction(part.grads, states)
            same = same and found.search is found.update
            searches += found.search
            updates += found.update
        scales = [part.lr for part in parts for _ in part.params]
        update = scaled(updates, scales)
        return Directions(update if same else scaled(searches, scales), update)

    def _searches_now(self, state: dict) -> bool:
        """Whether this step searches (SaLSa's cadence skips some)."""
        return True

    def _searched(self, state: dict, result: SearchResult) -> None:
        """After a search, with ``state["step_size"]`` already kept (SaLSa's averages)."""

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        """Derive the directions, search, move; update ``state`` in place; return diagnostics."""
        config = self._config(self.param_groups[0])
        start = config.start(state["step_size"])
        directions = self._directions(parts)
        params = [p for part in parts for p in part.params]
        if not self._searches_now(state):
            torch._foreach_add_(params, directions.update, alpha=-start)
            return self._diagnostics(None, step_size=start, start=start)
        line = Line(params, directions.search, evaluation.closure)
        slope = float(dot([g for part in parts for g in part.grads], directions.search))
        if config.slope == "finite_difference" and config.search.max_trials > 0 and slope != 0:
            slope = finite_difference_slope(line, config.fd_eps,
                                            reference=evaluation.reference(line))
        result = self._search(state, line, slope, start, evaluation, config.search)
        if result.measured:
            state["step_size"] = result.step_size
        if (result.moved and config.apply == "update"
                and directions.update is not directions.search):
            line.move(result.step_size, directions.update)
        self._searched(state, result)
        return self._diagnostics(result.status, step_size=result.step_size if result.moved
                                 else 0.0, start=start, slope=slope, trials=result.trials,
                                 extra_evals=line.evaluations)

    def _search(self, state: dict, line: Line, slope: float, start: float,
                evaluation: Evaluation, search: ArmijoSearch) -> SearchResult:
        """Run ``search`` along ``line``; keep its averages in ``state``."""
        reference = evaluation.reference(line) if search.max_trials > 0 else evaluation.loss
        result = search.search(reference, slope, line, start,
                               decrease_avg=state["decrease_avg"], slope_avg=state["slope_avg"],
                               precision=evaluation.precision)
        state["decrease_avg"], state["slope_avg"] = result.decrease_avg, result.slope_avg
        return result

    @staticmethod
    def _diagnostics(status: SearchStatus | None, *, step_size, start: float,
                     slope: float = math.nan, trials: int = 0, extra_evals: int = 0) -> dict:
        """The diagnostics dict of one step (see the module docstring); ``status`` is None
        when no search ran."""
        return {"step_size": step_size, "start_step_size": start, "slope": slope,
                "trials": trials, "loss_evals": 1 + extra_evals, "backward_passes": 1,
                "searched": int(trials > 0), "failed": int(status in FAILURES),
                **{reason.value: int(status == reason) for reason in FAILURES},
                "stalled": int(status == SearchStatus.STALLED)}


class LineSearch(LineSearchOptimizer):
    r"""The stochastic Armijo line search along any direction (see the module docstring).

    Args:
        params: parameters or parameter groups (one search covers all of them; a group's
            ``lr`` multiplies its searched step, default 1).
        direction: a :class:`~deepoptim.optim.directions.Direction`; ``None`` is the gradient,
            which makes this SLS. Its hyperparameters become the groups'.
        init_step_size: :math:`\eta_{-1}`; the first search starts from its reset.
        reset: ``"keep"``, ``"grow"`` or ``"initial"`` (Vaswani et al.'s reset_option 0, 1, 2).
        growth: the per-step factor of the ``"grow"`` reset (default :math:`2^{1/500}`: SLS's
            doubling per 500 steps).
        c: sufficient-decrease constant.
        beta_b: backtracking factor.
        max_trials: loss evaluations per search; 0 takes the reset step untested (with
            ``reset="initial"``: the direction's optimizer with step ``init_step_size``).
        condition: ``"armijo"`` or ``"goldstein"``.
        beta_f: Goldstein's growth factor for a too short step.
        beta_s: smoothing of decrease and slope (SaLSa); 0 is the plain test.
        max_step_size: cap on every step tried.
        slope: ``"exact"`` or ``"finite_difference"``.
        fd_eps: the finite-difference step; ``None`` chooses it
            (:func:`~deepoptim.optim.linesearch.slope.finite_difference_step`).
        apply: ``"trial"`` (end at the accepted trial point) or ``"update"`` (move along the
            direction's update with the accepted step size).
    """

    shared = ("init_step_size", "reset", "growth", "c", "beta_b", "max_trials", "condition",
              "beta_f", "beta_s", "max_step_size", "slope", "fd_eps", "apply")

    def __init__(self, params, direction: Direction | None = None, *,
                 init_step_size: float = 1.0, reset: str = "grow", growth: float = 2 ** (1 / 500),
                 c: float = 0.1, beta_b: float = 0.9, max_trials: int = 100,
                 condition: str = "armijo", beta_f: float = 2.0, beta_s: float = 0.0,
                 max_step_size: float = math.inf, slope: str = "exact",
                 fd_eps: float | None = None, apply: str = "trial", **unexpected) -> None:
        defaults = search_defaults(type(self).__name__, unexpected, init_step_size, c=c,
                                   beta_b=beta_b, max_trials=max_trials, condition=condition,
                                   beta_f=beta_f, max_step_size=max_step_size, beta_s=beta_s)
        direction = Gradient() if direction is None else direction
        if not isinstance(direction, Direction):
            raise TypeError(f"direction must be a deepoptim.optim.directions.Direction, got "
                            f"{type(direction).__name__}")
        check_choice("reset", reset, RESETS)
        check_growth(growth)
        check_choice("slope", slope, SLOPES)
        if fd_eps is not None:
            check_positive("fd_eps", fd_eps)
        check_choice("apply", apply, APPLY)
        defaults.update(direction=direction.name, **direction.values(), reset=reset,
                        growth=growth, slope=slope, fd_eps=fd_eps, apply=apply)
        super().__init__(params, defaults)

    def _config(self, group: dict) -> SearchConfig:
        """The search configuration of the (shared) hyperparameters in ``group``."""
        return SearchConfig(ArmijoSearch.from_group(group), group["reset"], group["growth"],
                            group["init_step_size"], group["slope"], group["fd_eps"],
                            group["apply"])

    def _direction(self, group: dict) -> Direction:
        """The direction of one parameter group, from its name and hyperparameters."""
        check_choice("direction", group["direction"], tuple(DIRECTIONS))
        return DIRECTIONS[group["direction"]].from_values(group)
