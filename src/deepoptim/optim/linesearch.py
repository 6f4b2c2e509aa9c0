r"""Stochastic line searches on the SGD and Adam directions: SLS, ADAMSLS and KenSLS.

Every step evaluates the mini-batch loss :math:`f_k` and its gradient :math:`g_k` once (the
closure with grad enabled), derives a search direction, and lets the shared Armijo search of
:mod:`deepoptim.optim.armijo` pick the step size :math:`\eta_k` with loss-only evaluations
(the closure under ``torch.no_grad()``).

* :class:`SLS` (Vaswani et al., 2019): :math:`d = g`, slope :math:`\|g\|^2`; the update is the
  accepted trial point :math:`w - \eta g`. Armijo or Goldstein test.
* :class:`AdamSLS` (Kenneweg et al., IJCNN 2023, "ADAMSLS"): Adam's moments are updated with
  :math:`g` first; :math:`D = \sqrt{\hat v} + \epsilon`. As published (``variant="published"``)
  the step size is searched along the preconditioned gradient :math:`D^{-1} g` with slope
  :math:`g^\top D^{-1} g` and then applied along Adam's direction, :math:`w - \eta D^{-1}\hat m`.
  ``variant="exact"`` searches along the direction it applies, :math:`D^{-1}\hat m`, with its
  exact slope :math:`g^\top D^{-1}\hat m`; a step whose direction does not descend does not move.
* :class:`KenSLS` (Kenneweg et al., ACDSA 2024, the "numerical approach"): the search runs along
  Adam's direction :math:`d = D^{-1}\hat m`; its slope :math:`g^\top d` is estimated by a forward
  difference, :math:`\hat s = [f(w) - f(w - \varepsilon d)]/\varepsilon`, or taken exactly
  (``slope="exact"``, free after the backward pass); decrease and slope are smoothed
  (:math:`\beta_s = 0.99`) and the step grows by ``growth`` per step.

The book derives them in its line-search chapter. What they share lives in the base class
:class:`LineSearchOptimizer` (closures, gradients, state, diagnostics) and in
:func:`adam_directions` (Adam's preconditioner, also used by SaLSa and PLASLS).

Conventions of the whole line-search family
-------------------------------------------
- **Closures.** ``step(closure, search_closure=None)``; ``closure`` follows the package convention
  (:mod:`deepoptim.optim._base`). By default the search evaluates trial points with the same
  closure, so on the same mini-batch as the gradient (as the authors' code does). A
  ``search_closure`` on an independent mini-batch makes the step size independent of the
  gradient's batch (Vaswani et al., appendix F.1); its loss at the starting point costs one
  more forward pass per search. ``step`` returns the closure's first loss.
- **lr.** ``group["lr"]`` multiplies the step the search works with: group ``g`` moves by
  :math:`\mathrm{lr}_g \cdot \eta` along its direction, and one search covers all groups, so the
  slope is :math:`\sum_g \mathrm{lr}_g\, g_g^\top d_g`. The default ``lr=1`` is the published
  method; a scheduler that scales ``lr`` scales every trial step from the next step on (a
  warm-up or a decay on top of the search), and ``lr=0`` freezes a group. Every other
  hyperparameter must be the same in all groups.
- **State.** Per parameter: Adam's ``step``, ``exp_avg``, ``exp_avg_sq`` (Adam family only).
  Per optimizer, under ``optimizer.state["line_search"]`` (:data:`LINE_SEARCH`): ``step`` (steps
  taken), ``step_size`` (:math:`\eta` for the next reset) and the smoothing averages
  ``decrease_avg``, ``slope_avg``. All are Python numbers, so ``state_dict`` round-trips.
- **Diagnostics** in ``optimizer.state[DIAGNOSTICS]`` after every step: ``step_size`` (the
  :math:`\eta` applied this step, 0 when nothing moved), ``slope`` (the slope the test used,
  before smoothing), ``trials`` (trial points evaluated), ``loss_evals`` (forward passes this
  step, the closure's first included), ``backward_passes`` (1), ``searched`` (1 when at least
  one trial was evaluated) and ``failed`` (1 when no acceptable step was found or the direction
  did not descend; the parameters then stay where the step started).
- **Non-finite values.** A non-finite loss or gradient at the starting point skips the step: no
  moment update, no move, ``failed=1``. Non-finite trial losses are rejected by the search.
  Published ADAMSLS (and PLASLS) apply a point the search never evaluated (along
  :math:`D^{-1}\hat m`, not :math:`D^{-1} g`), so only there the new loss is not guaranteed to
  be finite or lower; ``variant="exact"`` applies the point it tested.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from deepoptim._checks import (
    check_choice,
    check_in_range,
    check_int_at_least,
    check_non_negative,
    check_positive,
)
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    check_betas,
    check_sparse_grad,
    global_mean,
    loss_and_grad,
    require_closure,
)
from deepoptim.optim.armijo import RESETS, ArmijoSearch, Line, SearchResult, reset_step_size

__all__ = ["LINE_SEARCH", "SLS", "AdamSLS", "KenSLS", "LineSearchOptimizer", "adam_directions"]

#: The key of ``optimizer.state`` holding a line-search optimizer's own state.
LINE_SEARCH = "line_search"

VARIANTS = ("published", "exact")
SLOPES = ("finite_difference", "exact")


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
    """The starting point of a step: its loss and the closure the search evaluates."""

    loss: float
    closure: Closure
    independent: bool
    _references: dict[int, float] = dataclasses.field(default_factory=dict)

    def reference(self, line: Line) -> float:
        """:math:`f(w_0)` on the search's batch: with an independent ``search_closure``, one
        more forward pass at the line's origin (once per line)."""
        if not self.independent:
            return self.loss
        if id(line) not in self._references:
            self._references[id(line)] = line.loss_at(0.0)
        return self._references[id(line)]


def dot(a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
    """:math:`\\sum_i a_i^\\top b_i` over lists of tensors, as a 0-dim tensor."""
    return torch.dot(torch.cat([x.reshape(-1) for x in a]), torch.cat([y.reshape(-1) for y in b]))


def scaled(tensors: list[torch.Tensor], parts: list[Part]) -> list[torch.Tensor]:
    """``tensors`` (concatenated over ``parts``) multiplied by each part's lr, copied if needed."""
    scales = [part.lr for part in parts for _ in part.params]
    if all(s == 1 for s in scales):
        return tensors
    return torch._foreach_mul(tensors, scales)


def adam_directions(state: dict, part: Part) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Update Adam's moments with ``part``'s gradients; return :math:`D` and :math:`\\hat m`.

    Per parameter: ``step`` += 1, :math:`m \\leftarrow \\beta_1 m + (1-\\beta_1) g`,
    :math:`v \\leftarrow \\beta_2 v + (1-\\beta_2) g^2`, :math:`\\hat m = m/(1-\\beta_1^t)` and
    :math:`D = \\sqrt{v/(1-\\beta_2^t)} + \\epsilon` (torch's Adam; the bias correction uses the
    updated count, so the first direction :math:`D^{-1}\\hat m` is :math:`\\approx` sign(g)).
    ``state`` is the optimizer's per-parameter state.
    """
    beta1, beta2 = part.group["betas"]
    exp_avgs, exp_avg_sqs, counts = [], [], []
    for p in part.params:
        p_state = state[p]
        if not p_state:
            p_state["step"] = 0
            p_state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            p_state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        p_state["step"] += 1
        counts.append(p_state["step"])
        exp_avgs.append(p_state["exp_avg"])
        exp_avg_sqs.append(p_state["exp_avg_sq"])
    torch._foreach_lerp_(exp_avgs, part.grads, 1 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, part.grads, part.grads, value=1 - beta2)
    denominators = torch._foreach_sqrt(exp_avg_sqs)
    if len(set(counts)) == 1:  # the usual case: one count, scalar corrections
        t = counts[0]
        torch._foreach_div_(denominators, math.sqrt(1 - beta2**t))
        torch._foreach_add_(denominators, part.group["eps"])
        return denominators, torch._foreach_div(exp_avgs, 1 - beta1**t)
    torch._foreach_div_(denominators, [math.sqrt(1 - beta2**t) for t in counts])
    torch._foreach_add_(denominators, part.group["eps"])
    return denominators, torch._foreach_div(exp_avgs, [1 - beta1**t for t in counts])


def check_common(lr: float, init_step_size: float, search: dict) -> ArmijoSearch:
    """Validate the hyperparameters every line search has; return the configured search."""
    check_non_negative("lr", lr)
    check_positive("init_step_size", init_step_size)
    return ArmijoSearch(**search)


def check_growth(gamma: float, n_batches_per_epoch: int, reset: str) -> None:
    """Validate the reset: ``gamma >= 1`` per ``n_batches_per_epoch >= 1`` steps."""
    check_in_range("gamma", gamma, 1.0, math.inf)
    check_int_at_least("n_batches_per_epoch", n_batches_per_epoch, 1)
    check_choice("reset", reset, RESETS)


def check_adam(betas: tuple[float, float], eps: float) -> None:
    """Validate Adam's decay rates and its denominator's ``eps``."""
    check_betas(betas)
    check_non_negative("eps", eps)


class LineSearchOptimizer(torch.optim.Optimizer):
    """The plumbing of every line-search optimizer (see the module docstring).

    A subclass validates its hyperparameters, lists those all groups must share in
    ``shared`` and implements :meth:`_update`, which derives directions, runs the search(es),
    moves the parameters and returns the diagnostics of the step.
    """

    shared: tuple[str, ...] = ()

    def add_param_group(self, param_group: dict) -> None:
        """Add a group; every hyperparameter but ``lr`` must equal the first group's."""
        super().add_param_group(param_group)
        try:
            self._check_group(self.param_groups[-1])
        except ValueError:
            self.param_groups.pop()  # nothing half added
            raise

    def _check_group(self, group: dict) -> None:
        """A group's lr is non-negative and its other hyperparameters are the first group's."""
        check_non_negative("lr", group["lr"])
        first = self.param_groups[0]
        for key in self.shared:
            if group[key] != first[key]:
                raise ValueError(
                    f"Invalid {key} value: {group[key]!r} ({type(self).__name__} needs the "
                    f"same {key} in every parameter group; only lr may differ)"
                )

    def _initial_state(self) -> dict:
        """The optimizer-level state before the first step."""
        init = self.param_groups[0]["init_step_size"]
        return {"step": 0, "step_size": init, "decrease_avg": 0.0, "slope_avg": 0.0}

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
        checks = torch.stack([global_mean(loss.detach()),
                              *(torch._foreach_norm(grads) if grads else [])]).tolist()
        if not grads:
            diagnostics = self._diagnostics(0.0, 0.0, 0, 0, False)
        elif not all(math.isfinite(value) for value in checks):
            diagnostics = self._diagnostics(0.0, math.nan, 0, 0, True)
        else:
            evaluation = Evaluation(checks[0], search_closure or closure,
                                    search_closure is not None)
            diagnostics = self._update(state, [p for p in parts if p.params], evaluation)
        self.state[LINE_SEARCH] = state
        self.state[DIAGNOSTICS] = diagnostics
        return loss

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        """Derive directions, search, move; update ``state`` in place; return diagnostics."""
        raise NotImplementedError

    @staticmethod
    def _diagnostics(step_size, slope: float, trials: int, extra_evals: int, failed: bool
                     ) -> dict:
        """The diagnostics dict of one step (see the module docstring)."""
        return {"step_size": step_size, "slope": slope, "trials": trials,
                "loss_evals": 1 + extra_evals, "backward_passes": 1,
                "searched": int(trials > 0), "failed": int(failed)}

    def _search(self, state: dict, line: Line, slope: float, start: float,
                evaluation: Evaluation) -> SearchResult:
        """Run the configured search along ``line``; keep its averages in ``state``."""
        search = ArmijoSearch.from_group(self.param_groups[0])
        reference = evaluation.loss
        if search.max_trials > 0:
            reference = evaluation.reference(line)
        result = search.search(reference, slope, line, start,
                               decrease_avg=state["decrease_avg"], slope_avg=state["slope_avg"])
        state["decrease_avg"], state["slope_avg"] = result.decrease_avg, result.slope_avg
        return result


def _grow(group: dict) -> float:
    """SLS's per-step growth factor :math:`\\gamma^{1/n_b}`."""
    return group["gamma"] ** (1.0 / group["n_batches_per_epoch"])


def _start(state: dict, group: dict) -> float:
    """The first step size of this step's search, by the group's reset rule."""
    return reset_step_size(state["step_size"], rule=group["reset"], growth=_grow(group),
                           initial=group["init_step_size"], maximum=group["max_step_size"])


class SLS(LineSearchOptimizer):
    r"""Stochastic Armijo line search on the SGD direction (Vaswani et al., 2019).

    Per step: :math:`\eta_0 = \text{reset}(\eta_{k-1})`; backtrack :math:`\eta \leftarrow
    \beta_b \eta` until :math:`f(w) - f(w - \eta g) \ge c\,\eta\,\|g\|^2` (and, for Goldstein,
    :math:`\le (1-c)\,\eta\,\|g\|^2`); :math:`w \leftarrow w - \eta g`.

    Args:
        params: parameters or parameter groups (one search covers all of them).
        lr: multiplier of the searched step (see the module docstring); 1 is the published SLS.
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
            ``reset="initial"``: SGD with step ``lr * init_step_size``).
    """

    shared = ("init_step_size", "c", "beta_b", "gamma", "n_batches_per_epoch", "reset",
              "condition", "beta_f", "beta_s", "max_step_size", "max_trials")

    def __init__(self, params, lr: float = 1.0, *, init_step_size: float = 1.0,
                 c: float = 0.1, beta_b: float = 0.9, gamma: float = 2.0,
                 n_batches_per_epoch: int = 500, reset: str = "grow",
                 condition: str = "armijo", beta_f: float = 2.0, beta_s: float = 0.0,
                 max_step_size: float = math.inf, max_trials: int = 100) -> None:
        search = dict(c=c, beta_b=beta_b, max_trials=max_trials, condition=condition,
                      beta_f=beta_f, max_step_size=max_step_size, beta_s=beta_s)
        check_common(lr, init_step_size, search)
        check_growth(gamma, n_batches_per_epoch, reset)
        defaults = dict(lr=lr, init_step_size=init_step_size, gamma=gamma,
                        n_batches_per_epoch=n_batches_per_epoch, reset=reset, **search)
        super().__init__(params, defaults)

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        params = [p for part in parts for p in part.params]
        grads = [g for part in parts for g in part.grads]
        directions = scaled(grads, parts)
        slope = float(dot(grads, directions))
        line = Line(params, directions, evaluation.closure)
        result = self._search(state, line, slope, _start(state, parts[0].group), evaluation)
        state["step_size"] = result.step_size
        return self._diagnostics(result.step_size if result.moved else 0.0, slope,
                                 result.trials, line.evaluations, result.failed)


class AdamSLS(LineSearchOptimizer):
    r"""Armijo line search with Adam's direction: ADAMSLS (Kenneweg et al., 2023).

    Per step: update Adam's moments with :math:`g`; :math:`D = \sqrt{\hat v} + \epsilon`;
    search :math:`\eta` from :math:`\text{reset}(\eta_{k-1})` along :math:`r = D^{-1} g`
    (``variant="published"``, slope :math:`g^\top D^{-1} g`) or along :math:`u = D^{-1}\hat m`
    (``variant="exact"``, slope :math:`g^\top u`); then :math:`w \leftarrow w - \eta u`.

    Args:
        params: parameters or parameter groups (one search covers all of them).
        lr: multiplier of the searched step (module docstring); 1 is the published method.
        init_step_size: :math:`\eta_{-1}` (0.1 as published).
        c: sufficient-decrease constant (0.1, the paper's runs; the code's default was 0.2).
        betas, eps: Adam's decay rates and denominator term.
        beta_b, gamma, n_batches_per_epoch, reset, beta_s, max_step_size, max_trials: as in
            :class:`SLS`. ``max_trials=0`` with ``reset="initial"`` is Adam with step
            ``lr * init_step_size``.
        variant: ``"published"`` or ``"exact"``.
    """

    shared = ("init_step_size", "c", "beta_b", "gamma", "n_batches_per_epoch", "reset",
              "variant", "beta_s", "max_step_size", "max_trials")

    def __init__(self, params, lr: float = 1.0, *, init_step_size: float = 0.1,
                 c: float = 0.1, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 beta_b: float = 0.9, gamma: float = 2.0, n_batches_per_epoch: int = 500,
                 reset: str = "grow", variant: str = "published", beta_s: float = 0.0,
                 max_step_size: float = math.inf, max_trials: int = 100) -> None:
        search = dict(c=c, beta_b=beta_b, max_trials=max_trials, max_step_size=max_step_size,
                      beta_s=beta_s)
        check_common(lr, init_step_size, search)
        check_adam(betas, eps)
        check_growth(gamma, n_batches_per_epoch, reset)
        check_choice("variant", variant, VARIANTS)
        defaults = dict(lr=lr, init_step_size=init_step_size, betas=betas, eps=eps,
                        gamma=gamma, n_batches_per_epoch=n_batches_per_epoch, reset=reset,
                        variant=variant, **search)
        super().__init__(params, defaults)

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        along = "gradient" if parts[0].group["variant"] == "published" else "update"
        line, update, slope = adam_line(self.state, parts, evaluation.closure, along)
        result = self._search(state, line, slope, _start(state, parts[0].group), evaluation)
        state["step_size"] = result.step_size
        if result.moved and update is not line.directions:
            line.move(result.step_size, update)
        return self._diagnostics(result.step_size if result.moved else 0.0, slope,
                                 result.trials, line.evaluations, result.failed)


def preconditioned(state: dict, parts: list[Part], with_gradient: bool
                   ) -> tuple[list[torch.Tensor], list[torch.Tensor] | None]:
    """Adam's update direction :math:`u = D^{-1}\\hat m` over ``parts`` and, if asked, the
    preconditioned gradient :math:`D^{-1} g`, both scaled by each part's lr. Updates the moments
    (``state`` is the optimizer's per-parameter state)."""
    update, gradient = [], []
    for part in parts:
        denominators, m_hat = adam_directions(state, part)
        update += torch._foreach_div(m_hat, denominators)
        if with_gradient:
            gradient += torch._foreach_div(part.grads, denominators)
    return scaled(update, parts), (scaled(gradient, parts) if with_gradient else None)


def adam_line(state: dict, parts: list[Part], closure: Closure, along: str
              ) -> tuple[Line, list[torch.Tensor], float]:
    """The line of an Adam-preconditioned search, Adam's update direction and the line's slope.

    ``along="gradient"`` searches along :math:`D^{-1} g` (ADAMSLS as published), ``"update"``
    along :math:`u = D^{-1}\\hat m` itself. Updates Adam's moments.
    """
    update, gradient = preconditioned(state, parts, with_gradient=along == "gradient")
    directions = update if gradient is None else gradient
    params = [p for part in parts for p in part.params]
    grads = [g for part in parts for g in part.grads]
    slope = float(dot(grads, directions))
    return Line(params, directions, closure), update, slope


class KenSLS(LineSearchOptimizer):
    r"""Armijo line search along Adam's direction with a numerical slope (Kenneweg et al., 2024).

    Per step: update Adam's moments; :math:`d = D^{-1}\hat m`; the slope
    :math:`\hat s \approx g^\top d` by a forward difference (``slope="finite_difference"``,
    one more forward pass) or exactly (``slope="exact"``); search
    :math:`\beta_s h + (1-\beta_s)[f(w) - f(w - \eta d)] \ge c\,\eta\,\bar s` from
    ``growth`` times the previous step; :math:`w \leftarrow w - \eta d`.

    The forward difference uses :math:`\varepsilon = \sqrt{\epsilon_{\text{mach}}}\,
    (1 + \|w\|)/\|d\|`, so the probe moves the parameters by a relative
    :math:`\sqrt{\epsilon_{\text{mach}}}` (:math:`3.5 \cdot 10^{-4}` in float32): the classical
    balance of truncation error, :math:`O(\varepsilon\, d^\top \nabla^2 f\, d)`, against round-off,
    :math:`O(\epsilon_{\text{mach}} |f| / \varepsilon)`. The authors' fixed
    :math:`\varepsilon = 5\cdot 10^{-9}` is below half the float32 spacing of a weight of size
    0.1 (:math:`2^{-27} \approx 7.5 \cdot 10^{-9}`): the probe point rounds back to :math:`w` or
    one spacing away, and :math:`f(w) - f(w - \varepsilon d) \approx 5\cdot 10^{-9}\, g^\top d`
    lies below the spacing of the loss (:math:`2.4 \cdot 10^{-7}` near 2), so the estimate is
    mostly round-off (hence their "g_norm is zero" branch). ``fd_eps`` overrides
    :math:`\varepsilon` (to reproduce that).

    Args:
        params: parameters or parameter groups (one search covers all of them).
        lr: multiplier of the searched step (module docstring).
        init_step_size: :math:`\eta_{-1}` (0.1).
        c: sufficient-decrease constant (0.1; the authors ran 0.3 for text, 0.5 for images).
        betas, eps: Adam's.
        beta_b: backtracking factor.
        growth: per-step growth of the starting step (:math:`1/0.999`).
        beta_s: smoothing of decrease and slope (0.99, hard-coded by the authors).
        slope: ``"finite_difference"`` or ``"exact"``.
        fd_eps: the finite-difference step :math:`\varepsilon`; ``None`` chooses it as above.
        max_step_size, max_trials: as in :class:`SLS`; ``max_trials=0`` with ``growth=1`` is
            Adam with step ``lr * init_step_size``.
    """

    shared = ("init_step_size", "c", "beta_b", "growth", "beta_s", "slope", "fd_eps",
              "max_step_size", "max_trials")

    def __init__(self, params, lr: float = 1.0, *, init_step_size: float = 0.1,
                 c: float = 0.1, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 beta_b: float = 0.9, growth: float = 1 / 0.999, beta_s: float = 0.99,
                 slope: str = "finite_difference", fd_eps: float | None = None,
                 max_step_size: float = math.inf, max_trials: int = 100) -> None:
        search = dict(c=c, beta_b=beta_b, max_trials=max_trials, max_step_size=max_step_size,
                      beta_s=beta_s)
        check_common(lr, init_step_size, search)
        check_adam(betas, eps)
        check_in_range("growth", growth, 1.0, math.inf)
        check_choice("slope", slope, SLOPES)
        if fd_eps is not None:
            check_positive("fd_eps", fd_eps)
        defaults = dict(lr=lr, init_step_size=init_step_size, betas=betas, eps=eps,
                        growth=growth, slope=slope, fd_eps=fd_eps, **search)
        super().__init__(params, defaults)

    def _update(self, state: dict, parts: list[Part], evaluation: Evaluation) -> dict:
        group = self.param_groups[0]
        line, _, slope = adam_line(self.state, parts, evaluation.closure, "update")
        if group["slope"] == "finite_difference" and group["max_trials"] > 0 and slope != 0:
            slope = finite_difference_slope(line, evaluation, group["fd_eps"])
        start = min(group["growth"] * state["step_size"], group["max_step_size"])
        result = self._search(state, line, slope, start, evaluation)
        state["step_size"] = result.step_size
        return self._diagnostics(result.step_size if result.moved else 0.0, slope,
                                 result.trials, line.evaluations, result.failed)


def finite_difference_step(params: list[torch.Tensor], directions: list[torch.Tensor]) -> float:
    """The forward-difference step :math:`\\sqrt{\\epsilon_{\\text{mach}}}(1 + \\|w\\|)/\\|d\\|`."""
    machine = torch.finfo(params[0].dtype).eps
    norms = torch.stack([torch.linalg.vector_norm(torch.stack(torch._foreach_norm(t)))
                         for t in (params, directions)]).tolist()
    return math.sqrt(machine) * (1 + norms[0]) / norms[1]


def finite_difference_slope(line: Line, evaluation: Evaluation, fd_eps: float | None) -> float:
    """:math:`[f(w) - f(w - \\varepsilon d)]/\\varepsilon` on the search's batch; the line is
    left at :math:`w - \\varepsilon d` (the search moves it next)."""
    epsilon = fd_eps or finite_difference_step(line.params, line.directions)
    reference = evaluation.reference(line)
    return (reference - line.loss_at(epsilon)) / epsilon

