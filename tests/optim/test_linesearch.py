"""SLS, AdamSLS and KenSLS: accepted steps recomputed, special cases, resets, failures, batches."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from torch import nn

from deepoptim.optim import DIAGNOSTICS, LINE_SEARCH, SLS, AdamSLS, KenSLS, finite_difference_step


class Problem:
    """A small tanh MLP on a fixed batch, in float64 unless asked otherwise."""

    def __init__(self, dtype=torch.float64, seed=0, batch=32):
        gen = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)
        self.x = torch.randn(2 * batch, 5, generator=gen, dtype=dtype)
        teacher = torch.randn(5, 3, generator=gen, dtype=dtype)
        self.y = (self.x @ teacher).argmax(dim=1)  # learnable: the halves' gradients agree
        self.batch = batch
        self.calls = 0

    @property
    def params(self) -> list[torch.Tensor]:
        return list(self.model.parameters())

    def loss_at(self, params, half=0) -> torch.Tensor:
        """The loss at any parameters (functional), on the first or second half of the data."""
        rows = slice(half * self.batch, (half + 1) * self.batch)
        out = torch.func.functional_call(
            self.model, dict(zip([n for n, _ in self.model.named_parameters()], params,
                                 strict=True)), (self.x[rows],))
        return nn.functional.cross_entropy(out, self.y[rows])

    def closure(self, optimizer, half=0):
        def closure():
            self.calls += 1
            loss = self.loss_at(self.params, half)
            if torch.is_grad_enabled():
                optimizer.zero_grad()
                loss.backward()
            return loss

        return closure


def snapshot(params):
    return [p.detach().clone() for p in params]


def grads_at(problem, params, half=0):
    leaves = [p.clone().requires_grad_() for p in params]
    return list(torch.autograd.grad(problem.loss_at(leaves, half), leaves))


def along(origin, direction, eta):
    return [w - eta * d for w, d in zip(origin, direction, strict=True)]


def dot(a, b):
    return sum(float((x * y).sum()) for x, y in zip(a, b, strict=True))


def adam_terms(optimizer, params, grads):
    """(D^-1 g, D^-1 m_hat) recomputed from the optimizer's Adam state after a step."""
    group = optimizer.param_groups[0]
    (beta1, beta2), eps = group["betas"], group["eps"]
    gradient, update = [], []
    for p, g in zip(params, grads, strict=True):
        st = optimizer.state[p]
        t = st["step"]
        denominator = (st["exp_avg_sq"] / (1 - beta2**t)).sqrt() + eps
        gradient.append(g / denominator)
        update.append(st["exp_avg"] / (1 - beta1**t) / denominator)
    return gradient, update


# --- the accepted step satisfies its condition, recomputed independently ---------------------

def test_sls_steps_satisfy_armijo_recomputed():
    problem = Problem()
    optimizer = SLS(problem.params, c=0.3)
    closure = problem.closure(optimizer)
    for _ in range(15):
        origin = snapshot(problem.params)
        grads = grads_at(problem, origin)
        optimizer.step(closure)
        info = optimizer.state[DIAGNOSTICS]
        eta = info["step_size"]
        assert info["searched"] == 1 and info["failed"] == 0 and eta > 0
        moved = along(origin, grads, eta)
        torch.testing.assert_close(snapshot(problem.params), moved, rtol=0, atol=1e-15)
        decrease = float(problem.loss_at(origin) - problem.loss_at(moved))
        assert decrease >= 0.3 * eta * dot(grads, grads)
        assert info["slope"] == pytest.approx(dot(grads, grads))
        # and it is the first step of the backtracking sequence that passes
        if info["trials"] > 1:
            longer = along(origin, grads, eta / 0.9)
            assert float(problem.loss_at(origin) - problem.loss_at(longer)) < (
                0.3 * eta / 0.9 * dot(grads, grads))


@pytest.mark.parametrize("variant", ["published", "exact"])
def test_adamsls_steps_satisfy_armijo_recomputed(variant):
    problem = Problem()
    optimizer = AdamSLS(problem.params, variant=variant, init_step_size=1.0)
    closure = problem.closure(optimizer)
    for _ in range(12):
        origin = snapshot(problem.params)
        grads = grads_at(problem, origin)
        optimizer.step(closure)
        info = optimizer.state[DIAGNOSTICS]
        eta = info["step_size"]
        gradient, update = adam_terms(optimizer, problem.params, grads)
        search = gradient if variant == "published" else update
        if info["failed"]:
            assert eta == 0 and all(torch.equal(a, b) for a, b in zip(
                snapshot(problem.params), origin, strict=True))
            continue
        slope = dot(grads, search)
        trial = along(origin, search, eta)
        assert float(problem.loss_at(origin) - problem.loss_at(trial)) >= 0.1 * eta * slope
        torch.testing.assert_close(snapshot(problem.params), along(origin, update, eta))


def test_the_lr_of_each_group_multiplies_its_move():
    problem = Problem()
    first, second = problem.params[:2], problem.params[2:]
    optimizer = SLS([{"params": first}, {"params": second, "lr": 0.25}], init_step_size=0.5)
    origin = snapshot(problem.params)
    grads = grads_at(problem, origin)
    optimizer.step(problem.closure(optimizer))
    eta = optimizer.state[DIAGNOSTICS]["step_size"]
    scales = [1.0, 1.0, 0.25, 0.25]
    expected = [w - s * eta * g for w, s, g in zip(origin, scales, grads, strict=True)]
    torch.testing.assert_close(snapshot(problem.params), expected)
    slope = sum(s * float((g * g).sum()) for s, g in zip(scales, grads, strict=True))
    assert optimizer.state[DIAGNOSTICS]["slope"] == pytest.approx(slope)


# --- a quadratic with known curvature --------------------------------------------------------

@pytest.mark.parametrize("curvature", [0.3, 4.0, 50.0])
def test_sls_on_a_quadratic_obeys_the_armijo_bound(curvature):
    """f = L/2 |w|^2: Armijo holds iff eta <= 2(1-c)/L; each accepted step lies in
    [min(start, beta 2(1-c)/L), 2(1-c)/L]."""
    w = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64).requires_grad_()
    optimizer = SLS([w], c=0.2, beta_b=0.5, reset="keep", init_step_size=3.0)
    bound = 2 * (1 - 0.2) / curvature

    def closure():
        loss = 0.5 * curvature * (w * w).sum()
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    start = 3.0
    for _ in range(5):
        optimizer.step(closure)
        eta = optimizer.state[DIAGNOSTICS]["step_size"]
        assert min(start, 0.5 * bound) <= eta <= bound
        start = eta


@pytest.mark.parametrize("variant", ["published", "exact"])
def test_adamsls_on_a_quadratic_obeys_its_bound(variant):
    """Along r = D^-1 g on f = L/2 |w|^2, Armijo holds for eta <= 2(1-c) (g.r)/(L |r|^2), which
    is at least 2(1-c) min(D)/L for r = D^-1 g: the accepted step is at least beta times that."""
    curvature = 7.0
    w = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64).requires_grad_()
    optimizer = AdamSLS([w], c=0.2, beta_b=0.5, reset="initial", init_step_size=10.0,
                        variant=variant)

    def closure():
        loss = 0.5 * curvature * (w * w).sum()
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    for _ in range(5):
        origin = w.detach().clone()
        g = curvature * origin
        optimizer.step(closure)
        eta = optimizer.state[DIAGNOSTICS]["step_size"]
        gradient, update = adam_terms(optimizer, [w], [g])
        r = gradient[0] if variant == "published" else update[0]
        largest = 2 * (1 - 0.2) * float(g @ r) / (curvature * float(r @ r))
        assert 0.5 * largest <= eta <= largest


# --- special cases equal the base optimizer, step for step, in float64 -----------------------

def run_pair(make_ours, make_torch, steps=8, exact=False):
    """Our optimizer and a reference on twin problems, parameters compared after every step
    (bitwise with ``exact``); returns both optimizers."""
    ours, theirs = Problem(), Problem()
    optimizer, reference = make_ours(ours.params), make_torch(theirs.params)
    closure, reference_closure = ours.closure(optimizer), theirs.closure(reference)
    tolerance = {"rtol": 0, "atol": 0} if exact else {}
    for step in range(steps):
        optimizer.step(closure)
        reference.step(reference_closure)
        torch.testing.assert_close(ours.params, theirs.params, msg=f"step {step}", **tolerance)
    return optimizer, reference


def test_sls_with_a_constant_step_is_sgd():
    optimizer, _ = run_pair(
        lambda p: SLS([{"params": p, "lr": 0.5}], init_step_size=0.2, reset="initial",
                      max_trials=0),
        lambda p: torch.optim.SGD(p, lr=0.1))
    assert optimizer.state[DIAGNOSTICS]["loss_evals"] == 1
    assert optimizer.state[DIAGNOSTICS]["searched"] == 0


@pytest.mark.parametrize("variant", ["published", "exact"])
def test_adamsls_with_a_constant_step_is_adam(variant):
    run_pair(lambda p: AdamSLS(p, init_step_size=0.01, reset="initial", max_trials=0,
                               variant=variant, betas=(0.8, 0.99)),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99)))


def test_kensls_with_a_constant_step_is_adam():
    optimizer, _ = run_pair(lambda p: KenSLS([{"params": p, "lr": 2.0}], init_step_size=0.005,
                                          growth=1.0, max_trials=0),
                         lambda p: torch.optim.Adam(p, lr=0.01))
    assert optimizer.state[DIAGNOSTICS]["loss_evals"] == 1


# --- the reset follows its formula -----------------------------------------------------------

def linear_problem():
    """f(w) = a.w: every step passes Armijo at its first trial, so the step is the reset's."""
    w = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    return w, lambda: (a * w).sum()


def closure_for(optimizer, loss_of):
    def closure():
        loss = loss_of()
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    return closure


@pytest.mark.parametrize(("reset", "expected"), [
    ("grow", lambda k: 0.3 * 2.0 ** (k / 10)),
    ("keep", lambda k: 0.3),
    ("initial", lambda k: 0.3),
])
def test_sls_reset_formula(reset, expected):
    w, loss_of = linear_problem()
    optimizer = SLS([w], init_step_size=0.3, gamma=2.0, n_batches_per_epoch=10, reset=reset)
    closure = closure_for(optimizer, loss_of)
    for k in range(1, 25):
        optimizer.step(closure)
        assert optimizer.state[DIAGNOSTICS]["trials"] == 1
        assert optimizer.state[DIAGNOSTICS]["step_size"] == pytest.approx(expected(k), rel=1e-12)
        assert optimizer.state[LINE_SEARCH]["step_size"] == pytest.approx(expected(k), rel=1e-12)


def test_kensls_reset_grows_by_its_factor_and_respects_the_cap():
    w, loss_of = linear_problem()
    optimizer = KenSLS([w], init_step_size=0.1, growth=1.5, max_step_size=0.5, slope="exact")
    closure = closure_for(optimizer, loss_of)
    sizes = []
    for _ in range(6):
        optimizer.step(closure)
        sizes.append(optimizer.state[DIAGNOSTICS]["step_size"])
    assert sizes == pytest.approx([0.15, 0.225, 0.3375, 0.5, 0.5, 0.5])


# --- KenSLS's slope ----------------------------------------------------------------------------

def test_kensls_finite_difference_slope_matches_the_exact_slope_in_float64():
    for seed in range(3):
        problem = Problem(seed=seed)
        optimizer = KenSLS(problem.params, beta_s=0.0)
        grads = grads_at(problem, snapshot(problem.params))
        optimizer.step(problem.closure(optimizer))
        _, update = adam_terms(optimizer, problem.params, grads)
        exact = dot(grads, update)
        assert optimizer.state[DIAGNOSTICS]["slope"] == pytest.approx(exact, rel=1e-6)
        assert optimizer.state[DIAGNOSTICS]["loss_evals"] == 2 + optimizer.state[
            DIAGNOSTICS]["trials"]


def test_kensls_epsilon_keeps_the_float32_estimate_usable():
    """In float32 the chosen epsilon gives the slope to about a percent; the authors' 5e-9
    gives mostly round-off."""
    errors = {}
    for fd_eps in (None, 5e-9):
        problem = Problem(dtype=torch.float32)
        optimizer = KenSLS(problem.params, beta_s=0.0, fd_eps=fd_eps)
        grads = grads_at(problem, snapshot(problem.params))
        optimizer.step(problem.closure(optimizer))
        _, update = adam_terms(optimizer, problem.params, grads)
        exact = dot(grads, update)
        errors[fd_eps] = abs(optimizer.state[DIAGNOSTICS]["slope"] - exact) / abs(exact)
    assert errors[None] < 0.02
    assert errors[5e-9] > 0.2


def test_finite_difference_step_formula():
    w = [torch.full((4,), 3.0, dtype=torch.float32)]
    d = [torch.full((4,), 0.5, dtype=torch.float32)]
    expected = math.sqrt(torch.finfo(torch.float32).eps) * (1 + 6.0) / 1.0
    assert finite_difference_step(w, d) == pytest.approx(expected)


# --- failures ----------------------------------------------------------------------------------

SEARCHED_POINT_APPLIED = [SLS, KenSLS, partial(AdamSLS, variant="exact")]


@pytest.mark.parametrize("make", SEARCHED_POINT_APPLIED, ids=["SLS", "KenSLS", "AdamSLS-exact"])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_trial_losses_never_reach_the_parameters(make, bad):
    """The loss is non-finite away from the start: steps backtrack past it, no NaN appears.
    (Published AdamSLS applies a point it did not evaluate, so only these three qualify.)"""
    problem = Problem()
    optimizer = make(problem.params, init_step_size=2.0)
    center = snapshot(problem.params)

    def closure():
        loss = problem.loss_at(problem.params)
        distance = sum(float(((p.detach() - c) ** 2).sum())
                       for p, c in zip(problem.params, center, strict=True))
        if distance > 0.01:
            loss = loss + bad
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    for step in range(5):
        optimizer.step(closure)
        assert all(torch.isfinite(p).all() for p in problem.params)
        with torch.no_grad():
            assert math.isfinite(float(closure()))  # never accepted past the wall
        if step == 0:
            info = optimizer.state[DIAGNOSTICS]
            assert info["failed"] == 0 and info["trials"] > 1 and info["step_size"] > 0


@pytest.mark.parametrize("cls", [SLS, AdamSLS, KenSLS])
def test_a_non_finite_starting_loss_skips_the_step(cls):
    problem = Problem()
    optimizer = cls(problem.params)
    closure = problem.closure(optimizer)
    optimizer.step(closure)
    before = snapshot(problem.params)
    state_before = {k: dict(v) for k, v in optimizer.state.items() if isinstance(v, dict)}

    def nan_closure():
        loss = closure() * math.nan
        return loss

    returned = optimizer.step(nan_closure)
    assert math.isnan(float(returned.detach()))
    assert all(torch.equal(a, b) for a, b in zip(snapshot(problem.params), before, strict=True))
    assert optimizer.state[DIAGNOSTICS]["failed"] == 1
    assert optimizer.state[DIAGNOSTICS]["trials"] == 0
    for p in problem.params:  # Adam's moments are not fed the bad gradient
        for key, value in optimizer.state[p].items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state_before[p][key]))


def test_exhausted_search_restores_the_start_and_is_recorded():
    problem = Problem()
    optimizer = SLS(problem.params, init_step_size=1e6, max_trials=4)
    before = snapshot(problem.params)
    optimizer.step(problem.closure(optimizer))
    info = optimizer.state[DIAGNOSTICS]
    assert info["failed"] == 1 and info["trials_exhausted"] == 1 and info["trials"] == 4
    assert info["step_size"] == 0.0 and info["not_descent"] == info["non_finite"] == 0
    assert info["start_step_size"] == 1e6 * 2 ** (1 / 500)
    assert all(torch.equal(a, b) for a, b in zip(snapshot(problem.params), before, strict=True))
    assert optimizer.state[LINE_SEARCH]["step_size"] == 1e6  # a failure keeps the step size


def test_a_direction_that_does_not_descend_is_a_failure_without_a_move():
    """The exact variant's direction D^-1 m_hat points uphill once the gradient flips: no
    search, no move, and the step size the next search starts from does not grow."""
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = AdamSLS([w], variant="exact", reset="initial", init_step_size=1e-3)
    sign = [1.0]

    def closure():
        loss = sign[0] * (w * torch.tensor([3.0, 1.0], dtype=torch.float64)).sum()
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    optimizer.step(closure)
    kept = optimizer.state[LINE_SEARCH]["step_size"]
    sign[0] = -0.5
    before = w.detach().clone()
    optimizer.step(closure)
    info = optimizer.state[DIAGNOSTICS]
    assert info["slope"] < 0 and info["failed"] == info["not_descent"] == 1
    assert info["trials"] == 0
    assert torch.equal(w.detach(), before)
    assert optimizer.state[LINE_SEARCH]["step_size"] == kept


def test_a_zero_gradient_is_a_no_op():
    problem = Problem()
    optimizer = AdamSLS(problem.params)
    before = snapshot(problem.params)

    def closure():
        loss = 0.0 * problem.loss_at(problem.params)
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    optimizer.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(snapshot(problem.params), before, strict=True))
    info = optimizer.state[DIAGNOSTICS]
    assert (info["failed"], info["searched"], info["step_size"]) == (0, 0, 0.0)


# --- mini-batches and counting -------------------------------------------------------------------

def test_an_independent_search_batch_is_used_for_every_loss_the_test_compares():
    problem = Problem()
    optimizer = SLS(problem.params, c=0.3, init_step_size=20.0)
    origin = snapshot(problem.params)
    grads = grads_at(problem, origin, half=0)
    optimizer.step(problem.closure(optimizer, half=0),
                   search_closure=problem.closure(optimizer, half=1))
    info = optimizer.state[DIAGNOSTICS]
    eta = info["step_size"]
    assert info["trials"] > 1 and info["failed"] == 0
    assert info["loss_evals"] == 2 + info["trials"]  # the gradient, f_B(w0), the trials
    moved = along(origin, grads, eta)
    decrease_b = float(problem.loss_at(origin, 1) - problem.loss_at(moved, 1))
    assert decrease_b >= 0.3 * eta * dot(grads, grads)
    longer = along(origin, grads, eta / 0.9)
    assert float(problem.loss_at(origin, 1) - problem.loss_at(longer, 1)) < (
        0.3 * eta / 0.9 * dot(grads, grads))


@pytest.mark.parametrize("cls", [SLS, AdamSLS, KenSLS])
def test_loss_evals_counts_every_closure_call(cls):
    problem = Problem()
    optimizer = cls(problem.params, init_step_size=5.0)
    closure = problem.closure(optimizer)
    for _ in range(4):
        problem.calls = 0
        optimizer.step(closure)
        assert optimizer.state[DIAGNOSTICS]["loss_evals"] == problem.calls
        assert optimizer.state[DIAGNOSTICS]["backward_passes"] == 1


def test_the_state_dict_carries_the_search_state():
    problem = Problem()
    optimizer = AdamSLS(problem.params, beta_s=0.9)
    closure = problem.closure(optimizer)
    for _ in range(3):
        optimizer.step(closure)
    saved = optimizer.state_dict()["state"][LINE_SEARCH]
    assert set(saved) == {"step", "step_size", "decrease_avg", "slope_avg"}
    assert saved["step"] == 3 and saved["slope_avg"] > 0


def test_a_rejected_param_group_is_not_half_added():
    problem = Problem()
    optimizer = SLS(problem.params[:2])
    with pytest.raises(ValueError, match="same c in every parameter group"):
        optimizer.add_param_group({"params": problem.params[2:], "c": 0.5})
    assert len(optimizer.param_groups) == 1
    optimizer.add_param_group({"params": problem.params[2:], "lr": 0.5})
    assert len(optimizer.param_groups) == 2
