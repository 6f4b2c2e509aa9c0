"""The shared Armijo machinery: the test, backtracking, resets, smoothing, failures, Line."""

from __future__ import annotations

import math

import pytest
import torch

from deepoptim.optim import ArmijoSearch, Line, reset_step_size


def quadratic_line(curvature: float, dim: int = 3, dtype=torch.float64):
    """f(w) = curvature/2 |w|^2 at a fixed w0, searched along d = grad f(w0); (line, f0, slope)."""
    w = torch.linspace(1.0, 2.0, dim, dtype=dtype)
    grad = curvature * w.clone()

    def closure():
        return 0.5 * curvature * (w * w).sum()

    f0 = float(closure())
    return Line([w], [grad], closure), f0, float((grad * grad).sum()), w


def brute_force(f0, slope, loss_at, start, c, beta, max_trials):
    """The first start * beta^j (j < max_trials) with f0 - loss_at(eta) >= c * eta * slope."""
    for j in range(max_trials):
        eta = start * beta**j
        if f0 - loss_at(eta) >= c * eta * slope:
            return eta
    return None


@pytest.mark.parametrize("curvature", [0.5, 3.0, 100.0])
@pytest.mark.parametrize("c", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("start", [0.01, 1.0, 10.0])
def test_backtracking_on_a_quadratic_obeys_the_armijo_bound(curvature, c, start):
    """With Hessian L*I and d = g, Armijo holds iff eta <= 2(1-c)/L, so the accepted step is
    at most that and at least min(start, beta * 2(1-c)/L); it equals a brute-force loop's."""
    line, f0, slope, _ = quadratic_line(curvature)
    search = ArmijoSearch(c=c, beta_b=0.7)
    result = search.search(f0, slope, line, start)
    bound = 2 * (1 - c) / curvature
    assert result.moved and not result.failed
    assert result.step_size <= bound * (1 + 1e-12)
    assert result.step_size >= min(start, 0.7 * bound) * (1 - 1e-12)
    twin, *_ = quadratic_line(curvature)
    expected = brute_force(f0, slope, twin.loss_at, start, c, 0.7, 100)
    assert result.step_size == pytest.approx(expected, rel=1e-12)
    assert line.evaluations == result.trials


def test_parameters_end_at_the_accepted_point_or_at_the_start():
    line, f0, slope, w = quadratic_line(4.0)
    origin = w.clone()
    result = ArmijoSearch(c=0.1).search(f0, slope, line, 5.0)
    torch.testing.assert_close(w, origin - result.step_size * 4.0 * origin, rtol=0, atol=0)
    line, f0, slope, w = quadratic_line(4.0)
    origin = w.clone()
    result = ArmijoSearch(c=0.1, max_trials=2).search(f0, slope, line, 5.0)
    assert result.failed and not result.moved and result.trials == 2
    assert torch.equal(w, origin)
    assert result.step_size == 5.0 * 0.9  # the last step tried


def test_goldstein_accepts_only_steps_between_its_two_lines():
    for start in (1e-4, 0.01, 10.0):
        line, f0, slope, w = quadratic_line(3.0)
        origin = w.clone()
        search = ArmijoSearch(c=0.25, condition="goldstein")
        result = search.search(f0, slope, line, start)
        eta = result.step_size
        decrease = f0 - float(0.5 * 3.0 * ((origin - eta * 3.0 * origin) ** 2).sum())
        assert 0.25 * eta * slope <= decrease <= 0.75 * eta * slope
        assert not result.failed


def test_goldstein_out_of_trials_takes_the_longest_armijo_step():
    line, f0, slope, _ = quadratic_line(1.0)
    result = ArmijoSearch(c=0.25, condition="goldstein", max_trials=3).search(f0, slope, line,
                                                                             1e-6)
    assert result.moved and not result.failed
    assert result.step_size == pytest.approx(4e-6)  # 1e-6 grown twice by beta_f = 2


def test_growth_is_capped_by_max_step_size():
    line, f0, slope, _ = quadratic_line(1.0)
    search = ArmijoSearch(c=0.25, condition="goldstein", max_step_size=1e-5, max_trials=5)
    assert search.search(f0, slope, line, 1e-6).step_size <= 1e-5


def loss_with_a_wall(radius: float, value: float):
    """|w|^2 inside a ball of ``radius`` around 0, ``value`` (inf or NaN) outside."""
    w = torch.tensor([3.0], dtype=torch.float64)

    def closure():
        loss = (w * w).sum()
        return loss if float(w.abs()) < radius else torch.tensor(value, dtype=torch.float64)

    return w, closure


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_non_finite_trial_losses_are_rejected(value):
    w, closure = loss_with_a_wall(radius=4.0, value=value)
    line = Line([w], [torch.tensor([6.0], dtype=torch.float64)], closure)
    result = ArmijoSearch(c=0.1, beta_b=0.5).search(9.0, 36.0, line, 8.0)
    assert result.moved and result.trials > 1
    assert torch.isfinite(w).all() and math.isfinite(float(closure()))


def test_a_non_finite_start_or_slope_fails_without_a_trial():
    for loss, slope in [(math.nan, 1.0), (math.inf, 1.0), (1.0, math.nan), (1.0, -2.0)]:
        line, *_ , w = quadratic_line(1.0)
        before = w.clone()
        result = ArmijoSearch().search(loss, slope, line, 1.0)
        assert result.failed and not result.moved and result.trials == 0
        assert torch.equal(w, before)


def test_a_zero_slope_is_no_failure_and_no_move():
    line, f0, _, w = quadratic_line(1.0)
    before = w.clone()
    result = ArmijoSearch().search(f0, 0.0, line, 1.0)
    assert not result.failed and not result.moved and result.trials == 0
    assert torch.equal(w, before)


def test_an_exact_cancellation_ends_the_search_accepted():
    w = torch.zeros(2, dtype=torch.float64)
    line = Line([w], [torch.ones(2, dtype=torch.float64)],
                lambda: torch.tensor(1.0, dtype=torch.float64))  # flat to the last bit
    result = ArmijoSearch(beta_s=0.5).search(1.0, 2.0, line, 0.3, decrease_avg=0.7)
    assert result.moved and result.trials == 1 and result.step_size == 0.3
    assert result.decrease_avg == 0.7  # not updated by a cancellation


def test_max_trials_zero_takes_the_start_untested():
    line, f0, slope, w = quadratic_line(100.0)
    origin = w.clone()
    result = ArmijoSearch(max_trials=0).search(f0, slope, line, 1.0)  # far too long a step
    assert result.moved and result.trials == 0 and line.evaluations == 0
    torch.testing.assert_close(w, origin - 100.0 * origin)


def test_smoothing_starts_as_the_plain_test_and_then_averages():
    plain, f0, slope, _ = quadratic_line(5.0)
    smooth, *_ = quadratic_line(5.0)
    first = ArmijoSearch(beta_s=0.9).search(f0, slope, smooth, 1.0)
    assert first.step_size == ArmijoSearch().search(f0, slope, plain, 1.0).step_size
    assert first.slope_avg == pytest.approx(0.1 * slope)
    # a remembered large decrease lets a step with little decrease through
    line, f0, slope, w = quadratic_line(5.0)
    origin = w.clone()
    result = ArmijoSearch(c=0.5, beta_s=0.9).search(f0, slope, line, 0.39, decrease_avg=50.0,
                                                    slope_avg=slope)
    eta = result.step_size
    decrease = f0 - float(2.5 * ((origin - eta * 5.0 * origin) ** 2).sum())
    assert eta == 0.39 and decrease < 0.5 * eta * slope
    assert 0.9 * 50.0 + 0.1 * decrease >= 0.5 * eta * slope
    assert result.decrease_avg == pytest.approx(0.9 * 50.0 + 0.1 * decrease)


@pytest.mark.parametrize(("rule", "expected"), [("keep", 0.5), ("grow", 0.5 * 1.1),
                                                ("initial", 2.0)])
def test_reset_rules(rule, expected):
    assert reset_step_size(0.5, rule=rule, growth=1.1, initial=2.0) == expected
    assert reset_step_size(0.5, rule=rule, growth=1.1, initial=2.0, maximum=0.1) == 0.1


def test_line_moves_from_an_exact_copy_of_the_origin():
    w = torch.tensor([-0.0, 0.1, 1e-30, 3.0], dtype=torch.float32)
    origin = w.clone()
    line = Line([w], [torch.tensor([1.0, 1e7, 3.0, -1e-3])], lambda: w.sum())
    for step in (0.3, 1e-7, 123.0):
        line.move(step)
    line.move(0.0)
    assert torch.equal(w, origin) and torch.equal(w.signbit(), origin.signbit())
    assert line.loss_at(0.5) == pytest.approx(float((origin - 0.5 * line.directions[0]).sum()))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"c": 0.0}, "Invalid c value: 0.0"),
    ({"c": 0.5, "condition": "goldstein"}, "Invalid c value: 0.5"),
    ({"beta_b": 0.0}, "Invalid beta_b value: 0.0"),
    ({"max_trials": -1}, "Invalid max_trials value: -1"),
    ({"condition": "wolfe"}, "Invalid condition value: 'wolfe'"),
    ({"beta_f": 0.5}, "Invalid beta_f value: 0.5"),
    ({"max_step_size": -1.0}, "Invalid max_step_size value: -1.0"),
    ({"beta_s": 1.0}, "Invalid beta_s value: 1.0"),
])
def test_bad_search_options_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ArmijoSearch(**kwargs)
