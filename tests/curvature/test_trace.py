"""Trace estimators: exact cases, unbiasedness, convergence under a budget."""

from __future__ import annotations

import math

import pytest
import torch

from deepoptim import curvature as cv


def planted(values, seed: int = 0) -> cv.MatrixOperator:
    return cv.MatrixOperator(cv.planted_matrix(values, seed=seed))


def test_rademacher_hutchinson_is_exact_on_a_diagonal_matrix():
    """v^T D v = sum_i d_i v_i^2 = tr D when every v_i = +-1."""
    op = cv.MatrixOperator(torch.diag(torch.linspace(-1.0, 3.0, 30, dtype=torch.float64)))
    result = cv.hutchinson(op, 3, seed=1)
    torch.testing.assert_close(result.samples, torch.full((3,), 30.0, dtype=torch.float64))
    assert result.estimate == pytest.approx(30.0) and result.num_matvecs == 3


def test_samples_are_the_quadratic_forms_of_the_probes():
    op = planted(torch.linspace(-1.0, 2.0, 20))
    result = cv.hutchinson(op, 4, seed=2, distribution="gaussian", chunk_size=3)
    from deepoptim.curvature._random import probes

    v = probes(20, range(4), 2, "gaussian", torch.float64, torch.device("cpu"))
    torch.testing.assert_close(result.samples, (v @ op.matrix * v).sum(dim=1))
    assert result.std_error == pytest.approx(float(result.samples.std()) / 2)


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_hutchinson_is_unbiased_and_its_error_falls_with_probes(distribution):
    values = torch.cat([torch.tensor([8.0, -4.0]), torch.linspace(-0.5, 0.5, 48)])
    op = planted(values, seed=3)
    truth = float(values.sum())
    small = cv.hutchinson(op, 20, seed=0, distribution=distribution)
    large = cv.hutchinson(op, 2000, seed=0, distribution=distribution)
    assert abs(large.estimate - truth) < 4 * large.std_error
    assert large.std_error < small.std_error / 5


def test_both_estimators_spend_exactly_their_budget_of_products():
    """The same argument means the same thing: ``num_matvecs`` products of the operator."""

    class Counting(cv.MatrixOperator):
        products = 0

        def _apply(self, vectors):
            Counting.products += len(vectors)
            return super()._apply(vectors)

    op = Counting(cv.planted_matrix(torch.linspace(-1.0, 2.0, 20)))
    for estimator in (cv.hutchinson, cv.hutchpp):
        for budget in (9, 10, 11):
            Counting.products = 0
            assert estimator(op, num_matvecs=budget).num_matvecs == budget
            assert Counting.products == budget


def test_hutchpp_chunks_give_the_unchunked_estimate():
    op = planted(torch.linspace(-1.0, 2.0, 30), seed=2)
    whole = cv.hutchpp(op, 20, seed=3)
    chunked = cv.hutchpp(op, 20, seed=3, chunk_size=4)
    torch.testing.assert_close(chunked.samples, whole.samples, rtol=0, atol=1e-12)


def test_hutchpp_is_exact_for_low_rank_matrices():
    values = torch.zeros(40, dtype=torch.float64)
    values[:3] = torch.tensor([5.0, -2.0, 1.5])
    op = planted(values, seed=1)
    result = cv.hutchpp(op, 12)  # a sketch of 4 vectors captures the rank-3 range
    assert result.estimate == pytest.approx(4.5, abs=1e-10)
    assert result.num_matvecs == 12 and len(result.samples) == 4


def test_hutchpp_beats_hutchinson_on_a_decaying_spectrum():
    values = 10.0 * 0.5 ** torch.arange(60, dtype=torch.float64)
    op = planted(values, seed=4)
    truth = float(values.sum())
    errors = {"hutchinson": [], "hutchpp": []}
    for seed in range(10):
        errors["hutchinson"].append(abs(cv.hutchinson(op, 30, seed=seed).estimate - truth))
        errors["hutchpp"].append(abs(cv.hutchpp(op, 30, seed=seed).estimate - truth))
    assert sum(errors["hutchpp"]) < 0.05 * sum(errors["hutchinson"])


def test_hutchpp_unbiased_on_a_flat_spectrum():
    values = torch.linspace(-1.0, 2.0, 30, dtype=torch.float64)
    op = planted(values, seed=5)
    estimates = torch.tensor([cv.hutchpp(op, 9, seed=s).estimate for s in range(300)])
    spread = float(estimates.std()) / math.sqrt(len(estimates))
    assert abs(float(estimates.mean()) - float(values.sum())) < 4 * spread


def test_bad_arguments_are_rejected():
    op = planted(torch.ones(5))
    with pytest.raises(ValueError, match="Invalid num_matvecs value: 0"):
        cv.hutchinson(op, 0)
    with pytest.raises(ValueError, match="Invalid num_matvecs value: 2"):
        cv.hutchpp(op, 2)
    with pytest.raises(ValueError, match="Invalid num_matvecs value: 15"):
        cv.hutchpp(op, 15)  # a sketch of 5 vectors in 5 dimensions
    with pytest.raises(ValueError, match="Invalid seed value: -1"):
        cv.hutchinson(op, 2, seed=-1)
    with pytest.raises(ValueError, match="Invalid chunk_size value: 0"):
        cv.hutchpp(op, 6, chunk_size=0)
    with pytest.raises(ValueError, match="Invalid distribution value: 'uniform'"):
        cv.hutchpp(op, 6, distribution="uniform")
    assert math.isnan(cv.hutchinson(op, 1).std_error)
