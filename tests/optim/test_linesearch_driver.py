"""LineSearch on any direction: special cases equal known optimizers and the named methods,
accepted steps recomputed, which step size is kept after a failure or a stall, no ``lr``."""

from __future__ import annotations

import pytest
import torch

from deepoptim.optim import (
    DIAGNOSTICS,
    LINE_SEARCH,
    SLS,
    AdamSLS,
    KenSLS,
    LineSearch,
    SaLSa,
    sls_growth,
)
from deepoptim.optim.directions import Adam, Momentum, Sign

from .test_linesearch import Problem, along, dot, grads_at, run_pair, snapshot

# --- the named methods are configurations of the driver --------------------------------------

def test_default_line_search_is_sls():
    ours, sls = run_pair(LineSearch, SLS, steps=12, exact=True)
    assert ours.state[LINE_SEARCH] == sls.state[LINE_SEARCH]
    assert ours.state[DIAGNOSTICS] == sls.state[DIAGNOSTICS]


def test_adam_searched_along_the_gradient_with_the_update_applied_is_adamsls():
    run_pair(lambda p: LineSearch(p, Adam(search_along="gradient"), apply="update",
                                  init_step_size=0.1, growth=sls_growth(2.0, 500)),
             lambda p: AdamSLS(p), steps=12, exact=True)


def test_adam_with_a_smoothed_finite_difference_slope_is_kensls():
    run_pair(lambda p: LineSearch(p, Adam(), slope="finite_difference", beta_s=0.99,
                                  growth=1 / 0.999, init_step_size=0.1),
             lambda p: KenSLS(p), steps=12, exact=True)


def test_salsa_without_cadence_is_the_smoothed_search_on_the_preconditioned_gradient():
    run_pair(lambda p: LineSearch(p, Adam(search_along="gradient"), c=0.5, beta_b=0.8,
                                  beta_s=0.9, growth=1.1),
             lambda p: SaLSa(p, cadence=False), steps=12, exact=True)


# --- with a constant step, the direction's own optimizer --------------------------------------

def constant(direction, step_size):
    return lambda p: LineSearch(p, direction, reset="initial", max_trials=0,
                                init_step_size=step_size)


@pytest.mark.parametrize(("direction", "kwargs"), [
    (Momentum(0.9), {"momentum": 0.9}),
    (Momentum(0.9, dampening=0.1), {"momentum": 0.9, "dampening": 0.1}),
    (Momentum(0.5, nesterov=True), {"momentum": 0.5, "nesterov": True}),
], ids=["heavy ball", "dampening", "nesterov"])
def test_momentum_with_a_constant_step_is_sgd(direction, kwargs):
    run_pair(constant(direction, 0.05), lambda p: torch.optim.SGD(p, lr=0.05, **kwargs))


def test_adam_with_a_constant_step_is_adam():
    run_pair(constant(Adam(betas=(0.8, 0.99)), 0.01),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99)))


class SignSGD(torch.optim.Optimizer):
    """signSGD written out: p <- p - lr * sign(g)."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad.sign(), alpha=-group["lr"])
        return loss


def test_sign_with_a_constant_step_is_signsgd():
    run_pair(constant(Sign(), 0.01), lambda p: SignSGD(p, lr=0.01), exact=True)


def test_direction_hyperparameters_may_differ_per_group():
    """Group 0 with heavy ball, group 1 without momentum: torch's SGD with the same groups."""
    def groups(params, **first):
        return [{"params": params[:2], **first}, {"params": params[2:], "momentum": 0.0}]

    run_pair(lambda p: LineSearch(groups(p), Momentum(0.9), reset="initial", max_trials=0,
                                  init_step_size=0.05),
             lambda p: torch.optim.SGD(groups(p, momentum=0.9), lr=0.05))


# --- the accepted step satisfies its condition along any direction ----------------------------

@pytest.mark.parametrize("direction", [Momentum(0.9), Sign(), Adam()], ids=lambda d: d.name)
def test_accepted_steps_satisfy_armijo_along_the_direction_recomputed(direction):
    problem = Problem()
    optimizer = LineSearch(problem.params, direction, init_step_size=0.5, c=0.3)
    closure = problem.closure(optimizer)
    for _ in range(10):
        origin = snapshot(problem.params)
        optimizer.step(closure)
        info = optimizer.state[DIAGNOSTICS]
        if info["not_descent"]:
            assert all(torch.equal(a, b) for a, b in zip(problem.params, origin, strict=True))
            continue
        moved = [(w - p.detach()) / info["step_size"] for w, p in zip(origin, problem.params,
                                                                      strict=True)]
        slope = dot(grads_at(problem, origin), moved)
        assert slope == pytest.approx(info["slope"], rel=1e-9)
        decrease = float(problem.loss_at(origin)) - float(problem.loss_at(
            along(origin, moved, info["step_size"])))
        assert decrease >= 0.3 * info["step_size"] * slope * (1 - 1e-12)


# --- which step size is kept -------------------------------------------------------------------

def test_a_failed_search_keeps_the_last_accepted_step_size():
    """A search batch on which every trial fails does not collapse the step size: the next
    search restarts from the last accepted step size, grown once (not from beta_b^99 of it)."""
    problem = Problem()
    optimizer = SLS(problem.params, init_step_size=0.5, max_trials=20)
    same = problem.closure(optimizer)
    optimizer.step(same)
    accepted = optimizer.state[LINE_SEARCH]["step_size"]

    def uphill():  # the negated loss: no trial along the gradient decreases it
        return -problem.loss_at(problem.params)

    before = snapshot(problem.params)
    optimizer.step(same, search_closure=uphill)
    info = optimizer.state[DIAGNOSTICS]
    assert info["failed"] == info["trials_exhausted"] == 1 and info["trials"] == 20
    assert all(torch.equal(a, b) for a, b in zip(problem.params, before, strict=True))
    assert optimizer.state[LINE_SEARCH]["step_size"] == accepted
    optimizer.step(same)
    growth = sls_growth(2.0, 500)
    assert optimizer.state[DIAGNOSTICS]["start_step_size"] == pytest.approx(accepted * growth)


def test_a_stalled_search_is_visible_and_keeps_the_step_size():
    """A search batch whose loss never changes: the first trial's decrease is exactly 0, the step
    is taken (as SaLSa's authors do) and recorded as stalled, not as a success of the search."""
    problem = Problem()
    optimizer = SLS(problem.params, init_step_size=0.3, reset="keep")
    same = problem.closure(optimizer)
    before = snapshot(problem.params)
    gradient = grads_at(problem, before)
    optimizer.step(same, search_closure=lambda: torch.tensor(1.0, dtype=torch.float64))
    info = optimizer.state[DIAGNOSTICS]
    assert info["stalled"] == 1 and info["failed"] == 0 and info["trials"] == 1
    assert info["step_size"] == 0.3
    torch.testing.assert_close(snapshot(problem.params), along(before, gradient, 0.3))
    assert optimizer.state[LINE_SEARCH]["step_size"] == 0.3
    optimizer.step(same)
    assert optimizer.state[DIAGNOSTICS]["stalled"] == 0


def test_a_decrease_at_the_rounding_level_is_a_stall_not_a_measurement():
    """A float32 search batch whose loss falls by one unit in the last place at any move: the
    test would pass once c * eta * slope is that small, but rounding is not a decrease. The
    step is taken as stalled and the step size the next search starts from is kept."""
    problem = Problem(dtype=torch.float32)
    optimizer = SLS(problem.params, init_step_size=0.3, reset="keep")
    origin = snapshot(problem.params)

    def rounding_only():
        moved = any(not torch.equal(p, w) for p, w in zip(problem.params, origin, strict=True))
        one = torch.tensor(1.0)
        return one - torch.finfo(torch.float32).eps / 2 if moved else one

    optimizer.step(problem.closure(optimizer), search_closure=rounding_only)
    info = optimizer.state[DIAGNOSTICS]
    assert info["stalled"] == 1 and info["failed"] == 0 and info["trials"] == 1
    assert optimizer.state[LINE_SEARCH]["step_size"] == 0.3


def test_an_untested_step_follows_the_reset_like_a_schedule():
    problem = Problem()
    optimizer = SLS(problem.params, init_step_size=0.01, max_trials=0, n_batches_per_epoch=4)
    closure = problem.closure(optimizer)
    for step in range(1, 5):
        optimizer.step(closure)
        assert optimizer.state[LINE_SEARCH]["step_size"] == pytest.approx(0.01 * 2 ** (step / 4))


# --- no lr ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [LineSearch, SLS, AdamSLS, KenSLS, SaLSa])
def test_an_lr_argument_is_refused_with_the_reason(cls):
    problem = Problem()
    with pytest.raises(TypeError, match="searches its step size and takes no lr.*"
                                        "init_step_size sets the first step tried"):
        cls(problem.params, lr=1e-3)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['lrr'\]"):
        cls(problem.params, lrr=0.1)


def test_a_group_lr_multiplies_the_searched_step():
    """With lr = 0.5 on the only group, every trial point is the one of half the step size."""
    ours, theirs = Problem(), Problem()
    halved = SLS([{"params": ours.params, "lr": 0.5}], init_step_size=0.8, reset="initial")
    plain = SLS(theirs.params, init_step_size=0.4, reset="initial")
    for _ in range(5):
        halved.step(ours.closure(halved))
        plain.step(theirs.closure(plain))
        torch.testing.assert_close(ours.params, theirs.params, rtol=1e-14, atol=1e-15)
        assert halved.state[DIAGNOSTICS]["step_size"] == pytest.approx(
            2 * plain.state[DIAGNOSTICS]["step_size"])
