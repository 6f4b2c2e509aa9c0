"""Differentiable Hessian-vector products: equal to dense Hessians, differentiable again, and
shared with the operators."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from deepoptim import curvature as cv

from .problems import make_mlp_problem

ATOL = 1e-12


def _flat_loss(problem):
    """The problem's loss as a function of the flat parameter vector (for torch.func)."""
    named = {name: p.detach() for name, p in problem.model.named_parameters()}

    def loss(theta):
        params = cv.unflatten(theta, named)
        return problem.loss_fn(functional_call(problem.model, params, (problem.inputs,)),
                               problem.targets)

    return loss, cv.flatten(named)


def _vectors(params, seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]


def test_the_product_equals_the_dense_hessian_times_the_vector(mlp_problem):
    params = list(mlp_problem.model.parameters())
    loss = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    vector = _vectors(params, 1)
    product = cv.hvp(loss, params, vector)
    dense = cv.dense_hessian(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                             mlp_problem.targets)
    assert isinstance(product, tuple) and [p.shape for p in product] == [p.shape for p in params]
    torch.testing.assert_close(cv.flatten(product), dense @ cv.flatten(vector), rtol=0,
                               atol=ATOL)


def test_a_function_of_one_tensor_gives_one_tensor():
    x = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64).requires_grad_(True)

    def f(t):
        return torch.sin(t).sum() * (t ** 2).sum() + t.prod()

    v = torch.arange(6, dtype=torch.float64)
    product = cv.hvp(f(x), x, v)
    assert isinstance(product, torch.Tensor)
    torch.testing.assert_close(product, torch.func.hessian(f)(x.detach()) @ v, rtol=0,
                               atol=ATOL)


def test_the_gradient_of_v_h_v_equals_torch_func_and_finite_differences():
    """d/dtheta (v^T H(theta) v), back-propagated through the product, against torch.func
    (hessian inside grad) and a central difference along a random direction."""
    problem = make_mlp_problem(samples=12)
    loss_of, theta = _flat_loss(problem)
    generator = torch.Generator().manual_seed(3)
    v = torch.randn(theta.shape, generator=generator, dtype=torch.float64)
    u = torch.randn(theta.shape, generator=generator, dtype=torch.float64)

    point = theta.clone().requires_grad_(True)
    curvature = v @ cv.hvp(loss_of(point), point, v)
    (gradient,) = torch.autograd.grad(curvature, point)

    def reference(t):
        return v @ torch.func.hessian(loss_of)(t) @ v

    torch.testing.assert_close(gradient, torch.func.grad(reference)(theta), rtol=1e-10,
                               atol=1e-12)
    h = 1e-4
    difference = (reference(theta + h * u) - reference(theta - h * u)) / (2 * h)
    assert float(gradient @ u) == pytest.approx(float(difference), rel=1e-6)


def test_a_gradient_norm_penalty_back_propagates_h_g(mlp_problem):
    """grad of 1/2 ||grad L||^2 is H grad L: the product, taken through the gradient's graph."""
    params = list(mlp_problem.model.parameters())
    loss = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    gradient = torch.autograd.grad(loss, params, create_graph=True)
    penalty = 0.5 * sum((g ** 2).sum() for g in gradient)
    through = torch.autograd.grad(penalty, params)
    dense = cv.dense_hessian(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                             mlp_problem.targets)
    flat_gradient = cv.flatten([g.detach() for g in gradient])
    torch.testing.assert_close(cv.flatten(through), dense @ flat_gradient, rtol=0, atol=ATOL)
    fresh = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    torch.testing.assert_close(cv.flatten(cv.hvp(fresh, params, [g.detach() for g in gradient],
                                                 create_graph=False)),
                               dense @ flat_gradient, rtol=0, atol=ATOL)


def test_with_create_graph_the_product_and_the_loss_stay_differentiable(mlp_problem):
    params = list(mlp_problem.model.parameters())
    loss = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    product = cv.hvp(loss, params, _vectors(params, 2))
    assert all(p.requires_grad and p.grad_fn is not None for p in product)
    loss.backward()  # the loss's graph is still there
    assert all(p.grad is not None for p in params)


def test_without_create_graph_no_graph_survives(mlp_problem):
    params = list(mlp_problem.model.parameters())
    loss = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    product = cv.hvp(loss, params, _vectors(params, 2), create_graph=False)
    assert all(not p.requires_grad and p.grad_fn is None for p in product)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()  # the graph was freed by the product
    assert all(p.grad is None for p in params)


def test_parameters_the_loss_ignores_or_enters_linearly_have_zero_rows():
    x = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    linear = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
    unused = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64, requires_grad=True)
    loss = (x ** 3).sum() + 3 * linear.sum()
    products = cv.hvp(loss, [x, linear, unused],
                      [torch.ones(2, dtype=torch.float64), torch.ones(1, dtype=torch.float64),
                       torch.ones(3, dtype=torch.float64)])
    torch.testing.assert_close(products[0], 6 * x.detach())
    assert torch.equal(products[1], torch.zeros(1, dtype=torch.float64))
    assert torch.equal(products[2], torch.zeros(3, dtype=torch.float64))


def test_the_operators_share_the_product(mlp_problem):
    """HessianOperator (frozen copy, functional_call) and hvp (live parameters) agree."""
    params = list(mlp_problem.model.parameters())
    loss = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    vector = _vectors(params, 4)
    operator = cv.HessianOperator(mlp_problem.model, mlp_problem.loss_fn, mlp_problem.inputs,
                                  mlp_problem.targets)
    torch.testing.assert_close(operator.matvec(cv.flatten(vector)),
                               cv.flatten(cv.hvp(loss, params, vector, create_graph=False)),
                               rtol=0, atol=ATOL)


def test_hessian_products_batched_equals_one_at_a_time(mlp_problem):
    params = list(mlp_problem.model.parameters())
    loss = mlp_problem.loss_fn(mlp_problem.model(mlp_problem.inputs), mlp_problem.targets)
    gradient = torch.autograd.grad(loss, params, create_graph=True)
    vectors = [_vectors(params, seed) for seed in range(3)]
    batched = cv.hessian_products(gradient, params,
                                  [torch.stack(parts) for parts in zip(*vectors, strict=True)],
                                  batched=True)
    for row, vector in enumerate(vectors):
        single = cv.hessian_products(gradient, params, vector)
        for a, b in zip(batched, single, strict=True):
            torch.testing.assert_close(a[row], b, rtol=0, atol=1e-14)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("vectorize", [False, True])
def test_the_graph_operator_of_an_optimizer_step_is_the_hessian_block(mlp_problem, vectorize):
    """After loss.backward(create_graph=True), the gradients in .grad give the Hessian and its
    blocks, as every algorithm of the package sees them."""
    model = mlp_problem.model
    dense = cv.dense_hessian(model, mlp_problem.loss_fn, mlp_problem.inputs, mlp_problem.targets)
    mlp_problem.loss_fn(model(mlp_problem.inputs), mlp_problem.targets).backward(
        create_graph=True)
    params = list(model.parameters())
    whole = cv.GraphHessianOperator([p.grad for p in params], params, vectorize=vectorize,
                                    chunk_size=10)
    torch.testing.assert_close(cv.to_dense(whole), dense, rtol=0, atol=ATOL)
    block = cv.GraphHessianOperator([params[2].grad], [params[2]], vectorize=vectorize)
    start = sum(p.numel() for p in params[:2])
    rows = slice(start, start + params[2].numel())
    torch.testing.assert_close(cv.to_dense(block), dense[rows, rows], rtol=0, atol=ATOL)
    top = cv.eigsh(whole, 1, tol=1e-10)
    assert float(top.eigenvalues[0]) == pytest.approx(float(torch.linalg.eigvalsh(dense)[-1]),
                                                      rel=1e-10)
    for p in params:
        p.grad = None  # release the graph


def test_bad_input_is_rejected(mlp_problem):
    params = list(mlp_problem.model.parameters())
    outputs = mlp_problem.model(mlp_problem.inputs)
    loss = mlp_problem.loss_fn(outputs, mlp_problem.targets)
    with pytest.raises(TypeError, match="loss must be a torch.Tensor, got float"):
        cv.hvp(1.0, params, params)
    with pytest.raises(ValueError, match="Invalid loss value: shape"):
        cv.hvp(outputs, params, params)
    with pytest.raises(ValueError, match="Invalid vector value: shapes"):
        cv.hvp(loss, params, params[:2])
    with pytest.raises(TypeError, match="params must be a torch.Tensor or a sequence"):
        cv.hvp(loss, [], [])
    with pytest.raises(ValueError, match="Invalid gradients value"):
        cv.GraphHessianOperator([torch.zeros(2)], params[:1])
    with pytest.raises(TypeError, match="gradients and params must be"):
        cv.GraphHessianOperator([], [])
