"""Hessian diagonals: exact, Hutchinson/Bekas (unbiased, at the 1/sqrt(p) rate) and SGD-PH's
ones-probe (the row sums, the diagonal only for a diagonal block)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import curvature as cv

from .problems import make_batchnorm_problem

ATOL = 1e-12


def planted(seed: int = 0, n: int = 30) -> cv.MatrixOperator:
    values = torch.linspace(-2.0, 5.0, n, dtype=torch.float64)
    return cv.MatrixOperator(cv.planted_matrix(values, seed=seed))


@pytest.mark.parametrize("chunk_size", [None, 7, 1])
def test_the_exact_diagonal_is_the_dense_diagonal(mlp_problem, chunk_size):
    op = cv.HessianOperator(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                            mlp_problem.targets)
    dense = cv.dense_hessian(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                             mlp_problem.targets)
    torch.testing.assert_close(cv.exact_diagonal(op, chunk_size=chunk_size), dense.diagonal(),
                               rtol=0, atol=ATOL)
    matrix = planted()
    assert torch.equal(cv.exact_diagonal(matrix, chunk_size=chunk_size),
                       matrix.matrix.diagonal())


def test_rademacher_probes_are_exact_for_a_diagonal_matrix():
    """z_i^2 = 1, so every sample z * (D z) is the diagonal itself."""
    diagonal = torch.linspace(-1.0, 3.0, 12, dtype=torch.float64)
    op = cv.MatrixOperator(torch.diag(diagonal))
    one = cv.hutchinson_diagonal(op, 1, seed=2)
    assert torch.equal(one.estimate, diagonal) and one.std_error.isnan().all()
    three = cv.hutchinson_diagonal(op, 3, seed=2, chunk_size=2)
    assert torch.equal(three.estimate, diagonal)
    assert torch.equal(three.std_error, torch.zeros(12, dtype=torch.float64))


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
@pytest.mark.parametrize("num_matvecs", [100, 3000])
def test_the_estimator_is_unbiased_with_the_predicted_variance(distribution, num_matvecs):
    """Per coordinate the mean of z * (Hz) has variance sum_{j != i} H_ij^2 / p (Rademacher)
    or (H_ii^2 + sum_j H_ij^2) / p (Gaussian). The errors, standardised by it, have mean square
    about one at every budget: unbiased, with error falling as 1/sqrt(p)."""
    op = planted(seed=1)
    h = op.matrix
    squares = (h ** 2).sum(dim=1)
    per_probe = (squares - h.diagonal() ** 2 if distribution == "rademacher"
                 else squares + h.diagonal() ** 2)
    predicted = (per_probe / num_matvecs).sqrt()
    result = cv.hutchinson_diagonal(op, num_matvecs, seed=0, distribution=distribution,
                                    chunk_size=256)
    z = (result.estimate - h.diagonal()) / predicted
    assert 0.4 < float((z ** 2).mean()) < 1.8
    assert float(z.abs().max()) < 4.5
    # the reported standard errors estimate the predicted ones
    ratio = result.std_error / predicted
    tolerance = 0.5 if num_matvecs == 100 else 0.12
    assert float((ratio - 1).abs().max()) < tolerance
    assert result.num_matvecs == num_matvecs


def test_the_estimate_does_not_depend_on_the_chunks():
    op = planted(seed=3)
    whole = cv.hutchinson_diagonal(op, 50, seed=4)
    for chunk in (1, 7, 50):
        other = cv.hutchinson_diagonal(op, 50, seed=4, chunk_size=chunk)
        torch.testing.assert_close(other.estimate, whole.estimate, rtol=0, atol=1e-13)
        torch.testing.assert_close(other.std_error, whole.std_error, rtol=1e-10, atol=1e-13)


def test_the_samples_are_those_of_hutchinsons_trace():
    """The same probes as the trace estimate: the diagonal estimate sums to its mean."""
    op = planted(seed=5)
    diagonal = cv.hutchinson_diagonal(op, 40, seed=6)
    trace = cv.hutchinson(op, 40, seed=6)
    assert float(diagonal.estimate.sum()) == pytest.approx(trace.estimate, abs=1e-10)


def test_the_ones_probe_is_the_row_sums(mlp_problem):
    op = cv.HessianOperator(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                            mlp_problem.targets)
    dense = cv.dense_hessian(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                             mlp_problem.targets)
    torch.testing.assert_close(cv.ones_probe(op), dense.sum(dim=1), rtol=0, atol=ATOL)
    off_diagonal = dense.sum(dim=1) - dense.diagonal()
    assert float(off_diagonal.abs().max()) > 0.1 * float(dense.diagonal().abs().max())
    diagonal = torch.diag(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    assert torch.equal(cv.ones_probe(cv.MatrixOperator(diagonal)), diagonal.diagonal())


class _ScaledChannels(nn.Module):
    """Batch normalisation of 4 channels, then either a per-channel loss or a dense head."""

    def __init__(self, coupled: bool) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(4)
        self.head = nn.Linear(4, 3) if coupled else None

    def forward(self, x):
        y = self.norm(x)
        return self.head(torch.tanh(y)) if self.head is not None else y


def _scale_block(coupled: bool):
    torch.manual_seed(0)
    model = _ScaledChannels(coupled).double()
    generator = torch.Generator().manual_seed(1)
    shared = torch.randn(16, 1, generator=generator, dtype=torch.float64)  # correlated channels
    x = shared + 0.5 * torch.randn(16, 4, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        model.norm.weight.uniform_(0.5, 1.5)
        model.train()
        model(x)  # running statistics
    if coupled:
        y = torch.randint(0, 3, (16,), generator=generator)
        loss = F.cross_entropy
    else:
        y = torch.randn(16, 4, generator=generator, dtype=torch.float64)

        def loss(out, target):  # separable: each channel's loss involves only its own scale
            return ((torch.cos(out) - target) ** 2).sum(dim=1).mean()
    return cv.HessianOperator(model, loss, x, y, parameters=["norm.weight"])


def test_the_ones_probe_is_the_diagonal_only_for_a_diagonal_block():
    """SGD-PH's claim, checked: for the scales of a normalisation layer the ones-probe equals
    the diagonal when each channel's loss is separate (a diagonal block), not when a layer
    downstream couples the channels."""
    separable = _scale_block(coupled=False)
    block = cv.to_dense(separable)
    assert torch.equal(block, torch.diag(block.diagonal()))
    torch.testing.assert_close(cv.ones_probe(separable), cv.exact_diagonal(separable),
                               rtol=0, atol=ATOL)
    coupled = _scale_block(coupled=True)
    block = cv.to_dense(coupled)
    torch.testing.assert_close(cv.ones_probe(coupled), block.sum(dim=1), rtol=0, atol=ATOL)
    error = cv.ones_probe(coupled) - cv.exact_diagonal(coupled)
    assert float(error.norm()) > 0.1 * float(block.diagonal().norm())  # 19% here


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_the_block_diagonal_inside_an_optimizer_step():
    """After loss.backward(create_graph=True), the diagonal of a block (here the batch
    normalisation scales) from the graph operator equals the dense block's."""
    problem = make_batchnorm_problem()
    model = problem.model
    dense = cv.dense_hessian(model, problem.loss_fn, problem.inputs, problem.targets,
                             parameters=["1.weight"], train=True)
    model.train()
    problem.loss_fn(model(problem.inputs), problem.targets).backward(create_graph=True)
    scales = model[1].weight
    op = cv.GraphHessianOperator([scales.grad], [scales])
    torch.testing.assert_close(cv.exact_diagonal(op), dense.diagonal(), rtol=0, atol=ATOL)
    torch.testing.assert_close(cv.ones_probe(op), dense.sum(dim=1), rtol=0, atol=ATOL)
    for p in model.parameters():
        p.grad = None


def test_bad_input_is_rejected():
    op = planted()
    with pytest.raises(TypeError, match="op must be a deepoptim.curvature.LinearOperator"):
        cv.exact_diagonal(op.matrix)
    with pytest.raises(ValueError, match="Invalid chunk_size value: 0"):
        cv.exact_diagonal(op, chunk_size=0)
    with pytest.raises(ValueError, match="Invalid num_matvecs value: 0"):
        cv.hutchinson_diagonal(op, 0)
    with pytest.raises(ValueError, match="Invalid distribution value: 'normal'"):
        cv.hutchinson_diagonal(op, 3, distribution="normal")
    with pytest.raises(TypeError, match="op must be"):
        cv.ones_probe(None)
