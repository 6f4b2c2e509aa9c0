"""Ground-truth builders checked against closed forms and finite differences."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import curvature as cv
from deepoptim.curvature.evaluation import forward_mode

from .problems import make_batchnorm_problem


def test_dense_hessian_of_least_squares_is_the_gram_matrix():
    """For f(x) = W x with MSE over N samples and d outputs, H = 2/(N d) I_d (x) X^T X."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(12, 4, generator=generator, dtype=torch.float64)
    y = torch.randn(12, 3, generator=generator, dtype=torch.float64)
    model = nn.Linear(4, 3, bias=False).double()
    hessian = cv.dense_hessian(model, F.mse_loss, x, y)
    exact = torch.kron(torch.eye(3, dtype=torch.float64), x.T @ x) * 2 / (12 * 3)
    torch.testing.assert_close(hessian, exact, rtol=0, atol=1e-14)


def test_dense_hessian_matches_finite_differences_through_train_mode_batchnorm():
    problem = make_batchnorm_problem()
    model = problem.model
    hessian = cv.dense_hessian(model, problem.loss_fn, problem.inputs, problem.targets,
                               train=True)
    params = [p for p in model.parameters()]
    theta = torch.cat([p.detach().flatten() for p in params])

    def gradient(point: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(point, params)
        with forward_mode(model, True):
            loss = problem.loss_fn(model(problem.inputs), problem.targets)
        return torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])

    eps = 1e-6
    columns = [(gradient(theta + eps * e) - gradient(theta - eps * e)) / (2 * eps)
               for e in torch.eye(len(theta), dtype=torch.float64)]
    with torch.no_grad():
        torch.nn.utils.vector_to_parameters(theta, params)
    torch.testing.assert_close(hessian, torch.stack(columns), rtol=0, atol=1e-7)
    torch.testing.assert_close(hessian, hessian.T, rtol=0, atol=1e-12)


def test_planted_matrix_has_the_spectrum_and_is_symmetric():
    values = torch.tensor([-3.0, 1.0, 1.0, 2.5, 7.0], dtype=torch.float64)
    matrix = cv.planted_matrix(values, seed=4)
    assert torch.equal(matrix, matrix.T)
    torch.testing.assert_close(torch.linalg.eigvalsh(matrix), values.sort().values)
    assert torch.equal(matrix, cv.planted_matrix(values, seed=4))
    assert cv.planted_matrix(values, dtype=torch.float32).dtype == torch.float32
    with pytest.raises(ValueError, match="Invalid eigenvalues value"):
        cv.planted_matrix([1.0, float("nan")])


def test_to_dense_of_a_matrix_operator_is_the_matrix():
    matrix = cv.planted_matrix(torch.arange(7.0), seed=1)
    torch.testing.assert_close(cv.to_dense(cv.MatrixOperator(matrix), chunk_size=3), matrix,
                               rtol=0, atol=0)
