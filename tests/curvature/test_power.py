"""Power iteration, the baseline: largest magnitude, deflation, its stopping rule."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature as cv


def planted(values, seed: int = 0) -> cv.MatrixOperator:
    return cv.MatrixOperator(cv.planted_matrix(values, seed=seed))


def test_converges_to_the_largest_magnitude_eigenvalue_even_when_negative():
    op = planted(torch.cat([torch.tensor([-5.0, 2.0]), torch.linspace(-1.0, 1.0, 28)]))
    result = cv.power_iteration(op, tol=1e-10, max_iter=500)
    assert result.converged
    assert result.eigenvalues[0].item() == pytest.approx(-5.0, rel=1e-8)
    residual = op.matvec(result.eigenvectors[0]) - result.eigenvalues[0] * result.eigenvectors[0]
    assert residual.norm().item() == pytest.approx(result.residuals[0].item(), abs=1e-12)
    assert result.num_matvecs == len(result.history)


def test_deflation_finds_the_next_eigenpairs():
    op = planted(torch.cat([torch.tensor([6.0, 3.0]), torch.linspace(-1.0, 1.0, 28)]), seed=2)
    result = cv.power_iteration(op, k=2, tol=1e-10, max_iter=500)
    torch.testing.assert_close(result.eigenvalues, torch.tensor([6.0, 3.0], dtype=torch.float64),
                               rtol=1e-6, atol=0)
    assert abs(float(result.eigenvectors[0] @ result.eigenvectors[1])) < 1e-6


def test_the_relative_change_rule_stops_early_and_the_budget_is_respected():
    op = planted(torch.cat([torch.tensor([1.0, 0.99]), torch.linspace(0.0, 0.5, 28)]), seed=1)
    loose = cv.power_iteration(op, tol=1e-3)
    assert loose.converged and loose.residuals[0] > 1e-3  # stopped on the change, not the residual
    capped = cv.power_iteration(op, tol=0.0, max_iter=7)
    assert not capped.converged and capped.num_matvecs == 7


def test_bad_arguments_are_rejected():
    op = planted(torch.ones(3))
    with pytest.raises(ValueError, match="Invalid k value: 4"):
        cv.power_iteration(op, k=4)
    with pytest.raises(ValueError, match="Invalid tol value: -1"):
        cv.power_iteration(op, tol=-1)
    with pytest.raises(ValueError, match="Invalid max_iter value: 0"):
        cv.power_iteration(op, max_iter=0)
