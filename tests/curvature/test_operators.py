"""Operators: products equal dense Hessians, the model is untouched, bad input is rejected."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import curvature as cv

from .problems import make_batchnorm_problem, make_mlp_problem

ATOL = 1e-12


def hessian_operator(problem, **options) -> cv.HessianOperator:
    return cv.HessianOperator(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                              **options)


def dense(problem, **options) -> torch.Tensor:
    return cv.dense_hessian(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                            **options)


def random_vectors(k: int, n: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(k, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("batch_size", [None, 7, 40, 1])
@pytest.mark.parametrize("cache", [False, True])
def test_products_equal_the_dense_hessian(mlp_problem, batch_size, cache):
    op = hessian_operator(mlp_problem, batch_size=batch_size, cache=cache)
    truth = dense(mlp_problem)
    vectors = random_vectors(5, op.dim)
    torch.testing.assert_close(op.matvec_batch(vectors), vectors @ truth, rtol=0, atol=ATOL)
    torch.testing.assert_close(op.matvec(vectors[0]), truth @ vectors[0], rtol=0, atol=ATOL)
    torch.testing.assert_close(op @ vectors.T, truth @ vectors.T, rtol=0, atol=ATOL)


@pytest.mark.parametrize("batch_size, cached", [(None, True), (40, True), (7, False)])
def test_the_default_caches_exactly_when_the_subset_is_one_batch(mlp_problem, batch_size,
                                                                 cached):
    """By default one batch keeps its linearisation (the same graph every product builds), and
    several batches do not; the default's products equal the dense Hessian after a change to
    the model (the operator holds copies)."""
    op = hessian_operator(mlp_problem, batch_size=batch_size)
    assert op.cache is cached
    vectors = random_vectors(3, op.dim)
    truth = dense(mlp_problem)
    op.matvec_batch(vectors)
    assert all(c is not None for c in op._cached) is cached
    with torch.no_grad():
        for p in mlp_problem.model.parameters():
            p.add_(1.0)
    torch.testing.assert_close(op.matvec_batch(vectors), vectors @ truth, rtol=0, atol=ATOL)


def test_the_whole_matrix_equals_the_dense_hessian(mlp_problem):
    op = hessian_operator(mlp_problem, batch_size=16, chunk_size=20)
    torch.testing.assert_close(cv.to_dense(op, chunk_size=25), dense(mlp_problem),
                               rtol=0, atol=ATOL)


def test_uneven_batches_are_weighted_by_size(mlp_problem):
    x, y = mlp_problem.inputs, mlp_problem.targets
    batches = [(x[:3], y[:3]), (x[3:25], y[3:25]), (x[25:], y[25:])]
    op = cv.HessianOperator.from_batches(mlp_problem.model, F.cross_entropy, batches)
    assert op.num_samples == 40 and op.weights == [3 / 40, 22 / 40, 15 / 40]
    torch.testing.assert_close(cv.to_dense(op), dense(mlp_problem), rtol=0, atol=ATOL)


def test_symmetric_linear_and_deterministic(mlp_problem):
    op = hessian_operator(mlp_problem, batch_size=9)
    u, v = random_vectors(2, op.dim)
    assert torch.dot(u, op.matvec(v)).item() == pytest.approx(torch.dot(op.matvec(u), v).item(),
                                                              abs=ATOL)
    torch.testing.assert_close(op.matvec(2.5 * u - v), 2.5 * op.matvec(u) - op.matvec(v),
                               rtol=0, atol=ATOL)
    assert torch.equal(op.matvec(u), op.matvec(u))


def test_vectorized_chunked_looped_and_single_products_agree(mlp_problem):
    vectors = random_vectors(7, 57)
    looped = hessian_operator(mlp_problem, vectorize=False).matvec_batch(vectors)
    vectorized = hessian_operator(mlp_problem, vectorize=True).matvec_batch(vectors)
    chunked = hessian_operator(mlp_problem, vectorize=True, chunk_size=3).matvec_batch(vectors)
    single = torch.stack([hessian_operator(mlp_problem).matvec(v) for v in vectors])
    for other in (vectorized, chunked, single):
        torch.testing.assert_close(other, looped, rtol=0, atol=1e-14)
    assert not hessian_operator(mlp_problem).vectorize  # default on a CPU: a loop
    with pytest.raises(TypeError, match="vectorize must be a bool or None"):
        hessian_operator(mlp_problem, vectorize=1)


def test_a_block_of_parameters_gives_the_block_of_the_hessian(mlp_problem):
    names = [name for name, _ in mlp_problem.model.named_parameters()]
    op = hessian_operator(mlp_problem, parameters=["2.weight", "0.bias"])
    assert op.names == ["0.bias", "2.weight"]  # always in named_parameters() order
    sizes = [p.numel() for p in mlp_problem.model.parameters()]
    offsets = dict(zip(names, torch.tensor([0, *sizes]).cumsum(0).tolist(), strict=False))
    index = torch.cat([torch.arange(offsets[n], offsets[n] + sizes[names.index(n)])
                       for n in op.names])
    torch.testing.assert_close(cv.to_dense(op), dense(mlp_problem)[index][:, index],
                               rtol=0, atol=ATOL)


def test_float64_operator_of_a_float32_model():
    problem = make_mlp_problem()
    problem.model.float()
    problem.inputs = problem.inputs.float()
    op = hessian_operator(problem, dtype=torch.float64)
    assert op.dtype == torch.float64 and next(problem.model.parameters()).dtype == torch.float32
    torch.testing.assert_close(cv.to_dense(op), dense(problem, dtype=torch.float64),
                               rtol=0, atol=ATOL)


def test_the_operator_is_the_hessian_at_build_time(mlp_problem):
    op = hessian_operator(mlp_problem)
    before = cv.to_dense(op)
    with torch.no_grad():
        for p in mlp_problem.model.parameters():
            p.add_(1.0)
    torch.testing.assert_close(cv.to_dense(op), before, rtol=0, atol=0)


def test_loss_and_flat_vectors(mlp_problem):
    op = hessian_operator(mlp_problem, batch_size=6)
    full = F.cross_entropy(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    assert op.loss() == pytest.approx(full.item(), abs=1e-14)
    params = dict(mlp_problem.model.named_parameters())
    assert torch.equal(op.point, cv.flatten(params))
    shaped = op.unflatten(op.point)
    assert all(torch.equal(shaped[n], params[n]) for n in params)
    batch = op.unflatten(torch.stack([op.point, 2 * op.point]))
    assert batch["0.weight"].shape == (2, 6, 5)
    torch.testing.assert_close(batch["2.bias"][1], 2 * params["2.bias"])
    assert torch.equal(op.flatten(shaped), op.point)
    with pytest.raises(ValueError, match="Invalid tensors value"):
        op.flatten({"0.bias": params["0.bias"]})


def _state(model: nn.Module) -> dict:
    return {
        "tensors": copy.deepcopy(model.state_dict()),
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "flags": [m.training for m in model.modules()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
                  for m in model.modules()],
        "track": [getattr(m, "track_running_stats", None) for m in model.modules()],
    }


def _assert_same_state(model: nn.Module, state: dict) -> None:
    after = _state(model)
    assert after["flags"] == state["flags"] and after["hooks"] == state["hooks"]
    assert after["track"] == state["track"]
    for name, value in state["tensors"].items():
        assert torch.equal(after["tensors"][name], value), name
    for grad, before in zip(after["grads"], state["grads"], strict=True):
        assert (grad is None and before is None) or torch.equal(grad, before)


@pytest.mark.parametrize("train", [False, True])
def test_the_model_is_untouched(train):
    problem = make_batchnorm_problem()
    model = problem.model
    model.train()
    model[1].eval()  # a mixed state must survive too
    model[0].weight.grad = torch.ones_like(model[0].weight)
    state = _state(model)
    op = hessian_operator(problem, batch_size=8, train=train, cache=True)
    cv.slq(op, 2, 5)
    cv.eigsh(op, 1, max_steps=5)
    cv.hutchinson(op, 2)
    cv.power_iteration(op, max_iter=3)
    op.loss()
    cv.dense_hessian(model, problem.loss_fn, problem.inputs, problem.targets, train=train)
    _assert_same_state(model, state)


def test_eval_mode_uses_running_statistics_and_ignores_the_split():
    problem = make_batchnorm_problem()
    whole = cv.to_dense(hessian_operator(problem))
    split = cv.to_dense(hessian_operator(problem, batch_size=8))
    torch.testing.assert_close(split, whole, rtol=0, atol=ATOL)
    problem.model.eval()
    torch.testing.assert_close(whole, dense(problem), rtol=0, atol=ATOL)


@pytest.mark.parametrize("vectorize", [False, True])
def test_train_mode_is_the_batch_statistics_hessian_of_each_batch(vectorize):
    problem = make_batchnorm_problem()
    op = hessian_operator(problem, batch_size=8, train=True, vectorize=vectorize)
    parts = [cv.dense_hessian(problem.model, problem.loss_fn, problem.inputs[i:i + 8],
                              problem.targets[i:i + 8], train=True) for i in (0, 8, 16)]
    torch.testing.assert_close(cv.to_dense(op), sum(parts) / 3, rtol=0, atol=ATOL)
    whole_batch = cv.to_dense(hessian_operator(problem, train=True))
    assert (whole_batch - cv.to_dense(op)).abs().max() > 1e-3  # the split matters in train mode
    assert (whole_batch - cv.to_dense(hessian_operator(problem))).abs().max() > 1e-3


def test_active_dropout_is_rejected_in_train_mode_only(mlp_problem):
    model = nn.Sequential(nn.Linear(5, 4), nn.Dropout(0.5), nn.Linear(4, 3)).double()
    x, y = mlp_problem.inputs, mlp_problem.targets
    with pytest.raises(ValueError, match="Invalid train value: True with active dropout"):
        cv.HessianOperator(model, F.cross_entropy, x, y, train=True)
    cv.HessianOperator(model, F.cross_entropy, x, y)  # eval mode switches dropout off


def test_function_hessian_of_a_quadratic_and_of_rosenbrock():
    matrix = cv.planted_matrix([3.0, -1.0, 0.5, 2.0], seed=3)
    point = torch.tensor([0.3, -0.2, 1.0, 0.1], dtype=torch.float64)
    op = cv.FunctionHessianOperator(lambda x: 0.5 * x @ matrix @ x, point, cache=True)
    torch.testing.assert_close(cv.to_dense(op), matrix, rtol=0, atol=1e-14)

    x, y = 0.7, -0.4
    rosenbrock = cv.FunctionHessianOperator(
        lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
        torch.tensor([x, y], dtype=torch.float64))
    exact = torch.tensor([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]],
                         dtype=torch.float64)
    torch.testing.assert_close(cv.to_dense(rosenbrock), exact, rtol=1e-14, atol=1e-12)


def test_matrix_operator_and_its_checks():
    matrix = cv.planted_matrix([1.0, 2.0, 3.0])
    op = cv.MatrixOperator(matrix)
    assert op.shape == (3, 3) and op.dtype == torch.float64
    v = torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    torch.testing.assert_close(op @ v, matrix @ v)
    with pytest.raises(ValueError, match="not symmetric"):
        cv.MatrixOperator(torch.tensor([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="square"):
        cv.MatrixOperator(torch.ones(2, 3))
    with pytest.raises(TypeError, match="matrix must be a torch.Tensor"):
        cv.MatrixOperator([[1.0]])


@pytest.mark.parametrize(
    ("vectors", "error", "message"),
    [
        (torch.ones(4, dtype=torch.float64), ValueError, r"shape \(4,\)"),
        (torch.ones(3, dtype=torch.float32), ValueError, "torch.float32"),
        ([1.0, 2.0, 3.0], TypeError, "vectors must be a torch.Tensor"),
    ],
    ids=["shape", "dtype", "type"],
)
def test_products_reject_bad_vectors(vectors, error, message):
    op = cv.MatrixOperator(torch.eye(3, dtype=torch.float64))
    with pytest.raises(error, match=message):
        op.matvec(vectors)
    with pytest.raises(ValueError, match=r"expected \(k, n\)"):
        op.matvec_batch(torch.ones(3, dtype=torch.float64))


def test_hessian_operator_rejects_bad_arguments(mlp_problem):
    model, x, y = mlp_problem.model, mlp_problem.inputs, mlp_problem.targets
    with pytest.raises(ValueError, match="Invalid batch_size value: 0"):
        cv.HessianOperator(model, F.cross_entropy, x, y, batch_size=0)
    with pytest.raises(ValueError, match="Invalid batch value: batch 0 has 40 inputs and 39"):
        cv.HessianOperator(model, F.cross_entropy, x, y[:-1])
    with pytest.raises(ValueError, match=r"Invalid parameters value: \['nope'\]"):
        cv.HessianOperator(model, F.cross_entropy, x, y, parameters=["nope"])
    with pytest.raises(ValueError, match="Invalid dtype value"):
        cv.HessianOperator(model, F.cross_entropy, x, y, dtype=torch.int64)
    with pytest.raises(ValueError, match="Invalid chunk_size value: 0"):
        cv.HessianOperator(model, F.cross_entropy, x, y, chunk_size=0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        cv.HessianOperator(lambda t: t, F.cross_entropy, x, y)
    with pytest.raises(ValueError, match="no batch"):
        cv.HessianOperator.from_batches(model, F.cross_entropy, [])
    with pytest.raises(TypeError, match="batch 1 must be a pair"):
        cv.HessianOperator.from_batches(model, F.cross_entropy, [(x, y), x])


def test_flatten_and_unflatten_round_trip():
    like = {"a": torch.zeros(2, 3), "b": torch.zeros(4)}
    vector = torch.arange(10.0)
    shaped = cv.unflatten(vector, like)
    assert shaped["a"].shape == (2, 3) and torch.equal(shaped["b"], torch.arange(6.0, 10.0))
    assert torch.equal(cv.flatten(shaped), vector)
    assert torch.equal(cv.flatten([shaped["a"], shaped["b"]]), vector)
    with pytest.raises(ValueError, match=r"Invalid vector value: shape \(9,\)"):
        cv.unflatten(torch.zeros(9), like)
    with pytest.raises(ValueError, match="nothing to flatten"):
        cv.flatten({})
