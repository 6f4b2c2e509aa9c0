"""Stochastic Lanczos quadrature: weights, moments, smoothing, layouts, known spectra."""

from __future__ import annotations

import math

import pytest
import torch

from deepoptim import curvature as cv

from .problems import make_mlp_problem

SPECTRUM = torch.cat([torch.tensor([-2.0, 6.0, 6.0, 9.0]), torch.linspace(-0.5, 1.0, 76)]
                     ).to(torch.float64)


@pytest.fixture(scope="module")
def operator() -> cv.MatrixOperator:
    return cv.MatrixOperator(cv.planted_matrix(SPECTRUM, seed=2))


def test_weights_are_a_probability_per_probe_and_nodes_lie_in_the_spectrum(operator):
    result = cv.slq(operator, num_probes=6, num_steps=20, seed=3)
    assert result.nodes.shape == result.weights.shape == (6, 20)
    assert (result.weights >= 0).all()
    torch.testing.assert_close(result.weights.sum(dim=1), torch.ones(6, dtype=torch.float64),
                               rtol=0, atol=1e-13)
    assert result.nodes.min() >= SPECTRUM.min() - 1e-10
    assert result.nodes.max() <= SPECTRUM.max() + 1e-10
    assert result.num_matvecs == 120 and result.dim == 80


def test_quadrature_is_exact_for_polynomials_of_degree_below_2m(operator):
    """Per probe, sum_k w_k theta_k^p = q^T A^p q for p <= 2m - 1 (Gauss quadrature)."""
    m = 6
    result = cv.slq(operator, num_probes=3, num_steps=m, seed=1, distribution="gaussian")
    from deepoptim.curvature._random import probes

    q = probes(80, range(3), 1, "gaussian", torch.float64, torch.device("cpu"))
    q = q / q.norm(dim=1, keepdim=True)
    power = torch.eye(80, dtype=torch.float64)
    for p in range(2 * m):
        exact = (q @ power * q).sum(dim=1)
        torch.testing.assert_close(result.moments(p), exact, rtol=1e-10, atol=1e-10)
        power = power @ operator.matrix


def test_moments_estimate_normalized_traces(operator):
    result = cv.slq(operator, num_probes=200, num_steps=10, seed=0)
    n = len(SPECTRUM)
    for p in (1, 2):
        per_probe = result.moments(p)
        error = abs(result.moment(p) - float((SPECTRUM ** p).sum()) / n)
        assert error < 4 * float(per_probe.std()) / math.sqrt(len(per_probe))
    assert result.moment(0) == pytest.approx(1.0, abs=1e-12)
    assert result.trace() == pytest.approx(n * result.moment(1))


def test_first_moments_are_hutchinsons_samples(operator):
    result = cv.slq(operator, num_probes=5, num_steps=8, seed=4)
    trace = cv.hutchinson(operator, 5, seed=4)
    torch.testing.assert_close(operator.dim * result.moments(1), trace.samples,
                               rtol=1e-12, atol=1e-12)


def test_density_is_nonnegative_and_integrates_to_one(operator):
    result = cv.slq(operator, num_probes=4, num_steps=30)
    for sigma in (0.01, 0.3):
        grid = cv.density_grid(result, sigma, num_points=20000)
        density = result.density(grid, sigma)
        assert (density >= 0).all()
        assert float(torch.trapezoid(density, grid)) == pytest.approx(1.0, abs=1e-6)
    assert grid[0] == pytest.approx(float(result.nodes.min()) - 5 * 0.3)


def test_one_grid_covers_several_densities_or_eigenvalues():
    """The grid spans every node (or eigenvalue) with ``margin`` sigmas beyond the extremes."""
    spectra = [cv.slq(cv.MatrixOperator(torch.diag(torch.tensor(values, dtype=torch.float64))),
                      num_probes=2, num_steps=3)
               for values in ([-1.0, 0.0, 2.0], [0.5, 1.0, 4.0])]
    grid = cv.density_grid(spectra, 0.1, num_points=11, margin=2.0)
    torch.testing.assert_close(grid, torch.linspace(-1.2, 4.2, 11, dtype=torch.float64))
    eigenvalues = torch.tensor([3.0, -2.0, 0.5])
    torch.testing.assert_close(cv.density_grid(eigenvalues, 1.0, num_points=5, margin=0.0),
                               torch.linspace(-2.0, 3.0, 5, dtype=torch.float64))
    assert grid.dtype == torch.float64


@pytest.mark.parametrize("spectra, sigma, num_points, margin, match", [
    ([], 0.1, 10, 5.0, "Invalid spectra value"),
    (torch.tensor([]), 0.1, 10, 5.0, "Invalid spectra value"),
    (torch.tensor([1.0, float("nan")]), 0.1, 10, 5.0, "Invalid spectra value"),
    (torch.tensor([1.0]), 0.0, 10, 5.0, "Invalid sigma value: 0.0"),
    (torch.tensor([1.0]), 0.1, 1, 5.0, "Invalid num_points value: 1"),
    (torch.tensor([1.0]), 0.1, 10, -1.0, "Invalid margin value: -1.0"),
])
def test_density_grid_rejects_bad_input(spectra, sigma, num_points, margin, match):
    with pytest.raises(ValueError, match=match):
        cv.density_grid(spectra, sigma, num_points, margin)


def test_a_full_run_recovers_the_spectral_distribution(operator):
    """With m = n each probe's quadrature is its exact spectral measure; over probes the CDF
    approaches the eigenvalues' CDF (Kolmogorov distance)."""
    result = cv.slq(operator, num_probes=30, num_steps=80, seed=0)
    points = torch.linspace(-3.0, 10.0, 2001, dtype=torch.float64)
    empirical = (SPECTRUM.unsqueeze(1) <= points).double().mean(dim=0)
    assert float((result.cdf(points) - empirical).abs().max()) < 0.08
    torch.testing.assert_close(torch.unique(result.nodes.round(decimals=8)),
                               torch.unique(SPECTRUM.round(decimals=8)))


def test_serial_batched_and_chunked_runs_are_equal():
    problem = make_mlp_problem()
    op = cv.HessianOperator(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                            batch_size=20)
    batched = cv.slq(op, num_probes=5, num_steps=12, seed=7)
    for chunk_size in (1, 2):
        other = cv.slq(op, num_probes=5, num_steps=12, seed=7, chunk_size=chunk_size)
        torch.testing.assert_close(other.nodes, batched.nodes, rtol=0, atol=1e-12)
        torch.testing.assert_close(other.weights, batched.weights, rtol=0, atol=1e-12)
    assert batched.num_matvecs == 60


def test_probes_do_not_depend_on_how_many_are_drawn(operator):
    few = cv.slq(operator, num_probes=2, num_steps=10, seed=9)
    many = cv.slq(operator, num_probes=5, num_steps=10, seed=9)
    torch.testing.assert_close(many.nodes[:2], few.nodes, rtol=0, atol=1e-13)
    other_seed = cv.slq(operator, num_probes=2, num_steps=10, seed=10)
    assert not torch.allclose(other_seed.nodes, few.nodes)


def test_bad_arguments_are_rejected(operator):
    with pytest.raises(ValueError, match="Invalid num_steps value: 81"):
        cv.slq(operator, 2, 81)
    with pytest.raises(ValueError, match="Invalid distribution value: 'normal'"):
        cv.slq(operator, 2, 5, distribution="normal")
    with pytest.raises(ValueError, match="Invalid num_probes value: 0"):
        cv.slq(operator, 0, 5)
    with pytest.raises(ValueError, match="Invalid chunk_size value: 0"):
        cv.slq(operator, 2, 5, chunk_size=0)
    result = cv.slq(operator, 1, 3)
    with pytest.raises(ValueError, match="Invalid sigma value: 0"):
        result.density(torch.zeros(3), 0)
