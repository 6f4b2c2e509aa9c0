"""SaLSa: cadence against the independent reference, special cases, skipped steps, smoothing."""

from __future__ import annotations

import pytest
import torch

from deepoptim.optim import DIAGNOSTICS, LINE_SEARCH, SaLSa
from deepoptim.optim.linesearch.salsa import search_period

from .records_salsa import ReferenceSaLSa
from .test_linesearch import Problem, adam_terms, along, dot, grads_at, run_pair, snapshot


def noisy_problem() -> Problem:
    """Random labels, two alternating half batches: the step size settles, so searches skip."""
    problem = Problem(batch=16)
    problem.y = torch.randint(0, 3, problem.y.shape, generator=torch.Generator().manual_seed(1))
    return problem


@pytest.mark.parametrize("kwargs", [{}, {"use_mv": True}, {"c": 0.3, "beta_s": 0.5}])
def test_salsa_with_its_cadence_equals_the_reference_over_many_steps(kwargs):
    """120 steps on alternating batches: the cadence skips searches, every step still matches."""
    problem = noisy_problem()
    optimizer = SaLSa(problem.params, **kwargs)
    reference = ReferenceSaLSa(problem.params, **kwargs)
    searched = []
    for step in range(120):
        half = step % 2
        optimizer.step(problem.closure(optimizer, half))
        reference.step(lambda params, half=half: problem.loss_at(params, half))
        searched.append(optimizer.state[DIAGNOSTICS]["searched"])
        torch.testing.assert_close(problem.params, reference.params, msg=f"step {step}")
    assert all(searched[:10]) and not all(searched)


def test_first_direction_is_the_sign_of_the_gradient():
    """Adam's bias correction (not the authors' off-by-one, which gives 1.414 sign(g))."""
    problem = Problem()
    optimizer = SaLSa(problem.params, max_trials=0, growth=1.0, init_step_size=1e-3)
    origin = snapshot(problem.params)
    grads = grads_at(problem, origin)
    optimizer.step(problem.closure(optimizer))
    moved = [(w - p) / 1e-3 for w, p in zip(origin, snapshot(problem.params), strict=True)]
    expected = [g.sign() * g.abs() / (g.abs() + 1e-8) for g in grads]
    torch.testing.assert_close(moved, expected)


def test_salsa_with_a_constant_step_is_adam():
    run_pair(lambda p: SaLSa(p, init_step_size=0.01, growth=1.0, max_trials=0, use_mv=True),
             lambda p: torch.optim.Adam(p, lr=0.01), steps=25)


def test_salsa_searching_every_step_with_a_constant_step_is_adam_without_momentum():
    run_pair(lambda p: SaLSa(p, init_step_size=0.01, growth=1.0, max_trials=0, cadence=False),
             lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.0, 0.999)), steps=25)


def test_skipped_steps_take_adams_step_with_the_grown_step_size():
    problem = noisy_problem()
    optimizer = SaLSa(problem.params)
    skipped = 0
    for step in range(120):
        kept = optimizer.state[LINE_SEARCH]["step_size"] if LINE_SEARCH in optimizer.state else 1
        origin = snapshot(problem.params)
        grads = grads_at(problem, origin, half=step % 2)
        problem.calls = 0
        optimizer.step(problem.closure(optimizer, half=step % 2))
        info = optimizer.state[DIAGNOSTICS]
        if info["searched"]:
            continue
        skipped += 1
        assert info["step_size"] == pytest.approx(1.1 * kept)
        assert optimizer.state[LINE_SEARCH]["step_size"] == kept  # unchanged
        assert info["loss_evals"] == 1 and problem.calls == 1
        _, update = adam_terms(optimizer, problem.params, grads)
        torch.testing.assert_close(snapshot(problem.params), along(origin, update, 1.1 * kept))
    assert skipped > 10


def test_search_steps_satisfy_the_smoothed_test_recomputed():
    problem = Problem()
    optimizer = SaLSa(problem.params, cadence=False)
    closure = problem.closure(optimizer)
    decrease_avg = slope_avg = 0.0
    for _ in range(10):
        origin = snapshot(problem.params)
        grads = grads_at(problem, origin)
        optimizer.step(closure)
        eta = optimizer.state[DIAGNOSTICS]["step_size"]
        gradient, _ = adam_terms(optimizer, problem.params, grads)
        slope_avg = 0.9 * slope_avg + 0.1 * dot(grads, gradient)
        trial = along(origin, gradient, eta)
        torch.testing.assert_close(snapshot(problem.params), trial)  # the trial point is kept
        decrease = float(problem.loss_at(origin) - problem.loss_at(trial))
        assert 0.9 * decrease_avg + 0.1 * decrease >= 0.5 * eta * slope_avg
        decrease_avg = 0.9 * decrease_avg + 0.1 * decrease
        assert optimizer.state[LINE_SEARCH]["decrease_avg"] == pytest.approx(decrease_avg)


@pytest.mark.parametrize(("fast", "slow", "period"), [
    (1.0, 1.0, 10), (1.05, 1.0, 10), (1.2, 1.0, 5), (1.0, 2.0, 1), (3.0, 1.0, 0.5)])
def test_search_period(fast, slow, period):
    assert search_period(fast, slow) == pytest.approx(period, rel=1e-6)


def test_resume_with_the_cadence_running_equals_continuing():
    import copy

    problem = noisy_problem()
    optimizer = SaLSa(problem.params)
    for step in range(90):
        optimizer.step(problem.closure(optimizer, step % 2))
    twin = noisy_problem()
    for p, q in zip(twin.params, problem.params, strict=True):
        p.data.copy_(q.detach())
    resumed = SaLSa(twin.params)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    skipped = 0
    for step in range(90, 130):
        optimizer.step(problem.closure(optimizer, step % 2))
        resumed.step(twin.closure(resumed, step % 2))
        skipped += 1 - optimizer.state[DIAGNOSTICS]["searched"]
        assert all(torch.equal(a, b) for a, b in zip(problem.params, twin.params, strict=True))
    assert skipped > 0


@pytest.mark.parametrize(("since", "searches"), [(8, False), (9, True)])
def test_at_the_longest_period_the_tenth_step_after_a_search_searches(since, searches):
    """With equal step-size averages the period is its maximum, 10: a step searches when 10
    steps have passed since the last search (9 are not enough), past the always-search window."""
    problem = Problem()
    optimizer = SaLSa(problem.params)
    closure = problem.closure(optimizer)
    for _ in range(11):
        optimizer.step(closure)
    state = optimizer.state[LINE_SEARCH]
    state["fast_step_size"] = state["slow_step_size"] = 0.5
    assert search_period(0.5, 0.5) == 10
    state["since_search"] = since
    optimizer.step(closure)
    assert optimizer.state[DIAGNOSTICS]["searched"] == int(searches)
    assert optimizer.state[LINE_SEARCH]["since_search"] == (0 if searches else since + 1)
