"""Between two points: the line's ends, and spectra at chosen points."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature
from deepoptim.landscape import (
    LossBarrier,
    Surface,
    flat_parameters,
    interpolate,
    interpolation_points,
    loss_barrier,
    parameters_at,
    spectra_along,
    spectrum_at,
)

from .problems import assert_unchanged, conv_problem, mlp_problem, state_copy


def _two_points(problem):
    theta_a = flat_parameters(problem.model)
    theta_b = theta_a + 0.3 * torch.randn(theta_a.shape, dtype=theta_a.dtype,
                                          generator=torch.Generator().manual_seed(5))
    return theta_a, theta_b


def _loss_at(problem, theta):
    with parameters_at(problem.model, theta), torch.no_grad():
        return float(problem.loss_fn(problem.model(problem.inputs), problem.targets))


def test_interpolation_returns_the_end_losses():
    problem = mlp_problem()
    theta_a, theta_b = _two_points(problem)
    line = interpolate(problem.model, problem.loss_fn, problem.inputs, problem.targets, theta_a,
                       theta_b, [-0.5, 0.0, 0.5, 1.0])
    assert float(line.loss[1]) == pytest.approx(_loss_at(problem, theta_a), rel=1e-13)
    assert float(line.loss[3]) == pytest.approx(_loss_at(problem, theta_b), rel=1e-13)
    assert float(line.loss[2]) == pytest.approx(_loss_at(problem, (theta_a + theta_b) / 2),
                                                rel=1e-13)
    torch.testing.assert_close(interpolation_points(theta_a, theta_b, [0.0, 1.0]),
                               torch.stack([theta_a, theta_b]))


def test_spectra_along_the_line_are_those_of_the_hessians_there():
    problem = conv_problem()
    before = state_copy(problem.model)
    theta_a, theta_b = _two_points(problem)
    spectra = spectra_along(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                            theta_a, theta_b, [0.0, 0.5], num_probes=2, num_steps=6, seed=3)
    assert_unchanged(problem.model, before)
    for alpha, found in zip((0.0, 0.5), spectra, strict=True):
        theta = (1 - alpha) * theta_a + alpha * theta_b
        with parameters_at(problem.model, theta):
            op = curvature.HessianOperator(problem.model, problem.loss_fn, problem.inputs,
                                           problem.targets)
        expected = curvature.slq(op, 2, 6, seed=3)
        torch.testing.assert_close(found.nodes, expected.nodes, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(found.weights, expected.weights, rtol=1e-10, atol=1e-12)


def test_the_trace_of_the_spectrum_is_the_dense_hessians():
    problem = mlp_problem()
    theta = flat_parameters(problem.model)
    density = spectrum_at(problem.model, problem.loss_fn, problem.inputs, problem.targets, theta,
                          num_probes=1, num_steps=theta.numel())  # full Lanczos: exact moments
    hessian = curvature.dense_hessian(problem.model, problem.loss_fn, problem.inputs,
                                      problem.targets)
    values = torch.linalg.eigvalsh(hessian)
    assert float(density.nodes.max()) == pytest.approx(float(values[-1]), rel=1e-8)
    assert float(density.nodes.min()) == pytest.approx(float(values[0]), rel=1e-6, abs=1e-10)


def test_bad_alphas_are_rejected():
    theta = torch.zeros(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="Invalid alphas value"):
        interpolation_points(theta, theta, [])
    with pytest.raises(ValueError, match="Invalid alphas value"):
        interpolation_points(theta, theta, [float("nan")])


def _line(alphas, loss):
    alphas = torch.as_tensor(alphas, dtype=torch.float64)
    return Surface(x=alphas, y=None, loss=torch.as_tensor(loss, dtype=torch.float64),
                   accuracy=None, center=torch.zeros(1), directions=torch.ones(1, 1))


def test_the_barrier_of_a_known_profile():
    """L(alpha) = 1 + 0.5 alpha + 4 alpha (1 - alpha): the chord is 1 + 0.5 alpha, the excess
    4 alpha (1 - alpha), largest (1) at alpha = 0.5; points outside [0, 1] (one far higher)
    do not count. A loss below the chord has no barrier: the ends' excess, zero."""
    alphas = torch.arange(-5, 26, dtype=torch.float64) / 20
    loss = 1 + 0.5 * alphas + 4 * alphas * (1 - alphas)
    loss[0] = 100.0  # outside the segment
    barrier = loss_barrier(_line(alphas, loss))
    assert barrier == LossBarrier(height=1.0, alpha=0.5, loss_a=1.0, loss_b=1.5)
    convex = loss_barrier(_line([0.0, 0.5, 1.0], [1.0, 0.2, 1.0]))
    assert convex.height == 0.0 and convex.alpha == 0.0  # ties: the first


def test_the_barrier_between_two_points_of_a_network():
    problem = mlp_problem()
    theta_a, theta_b = _two_points(problem)
    alphas = [-0.25, 0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    line = interpolate(problem.model, problem.loss_fn, problem.inputs, problem.targets, theta_a,
                       theta_b, alphas)
    barrier = loss_barrier(line)
    ends = _loss_at(problem, theta_a), _loss_at(problem, theta_b)
    excess = {alpha: _loss_at(problem, (1 - alpha) * theta_a + alpha * theta_b)
              - ((1 - alpha) * ends[0] + alpha * ends[1]) for alpha in alphas[1:-1]}
    worst = max(excess, key=excess.get)
    assert barrier.alpha == worst
    assert barrier.height == pytest.approx(excess[worst], rel=1e-10, abs=1e-13)
    assert (barrier.loss_a, barrier.loss_b) == pytest.approx(ends, rel=1e-13)


def test_a_barrier_needs_both_ends_on_a_line():
    with pytest.raises(ValueError, match="expected 0 and 1 among them"):
        loss_barrier(_line([0.0, 0.5, 0.9], [1.0, 2.0, 1.0]))
    plane = Surface(x=torch.zeros(2), y=torch.zeros(2), loss=torch.zeros(2, 2), accuracy=None,
                    center=torch.zeros(1), directions=torch.ones(2, 1))
    with pytest.raises(ValueError, match="expected a one-dimensional Surface"):
        loss_barrier(plane)
