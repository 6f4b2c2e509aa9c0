"""Every proximal operator equals a numerical minimisation of its subproblem (SciPy, float64),
and the group lasso zeroes a group exactly when its norm is at most the threshold.

Subproblem: argmin_x r(x) + 1/2 sum_i tau_i (x_i - b_i)^2 over the box (if any).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import minimize, minimize_scalar

from deepoptim import prox

RNG = np.random.default_rng(0)
B = RNG.normal(scale=1.5, size=12)
TAU = RNG.uniform(0.3, 3.0, size=12)


def scalar_argmin(objective, lower=-10.0, upper=10.0) -> float:
    """Minimise a 1-D convex function on [lower, upper] to ~1e-10."""
    result = minimize_scalar(objective, bounds=(lower, upper), method="bounded",
                             options={"xatol": 1e-11})
    return float(result.x)


def coordinatewise(penalty, lower=-10.0, upper=10.0) -> np.ndarray:
    """The separable subproblem solved one coordinate at a time."""
    return np.array([
        scalar_argmin(lambda x, b=b, t=t: penalty(x) + 0.5 * t * (x - b) ** 2, lower, upper)
        for b, t in zip(B, TAU, strict=True)
    ])


def as_tensor(array) -> torch.Tensor:
    return torch.as_tensor(array, dtype=torch.float64)


def assert_matches(actual: torch.Tensor, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual.numpy(), expected, atol=1e-7)


def test_l1():
    mu = 0.7
    actual = prox.prox_l1(as_tensor(B), mu, as_tensor(TAU))
    assert_matches(actual, coordinatewise(lambda x: mu * abs(x)))


def test_l1_with_box():
    mu, lower, upper = 0.4, -0.5, 1.0
    actual = prox.prox_l1_box(as_tensor(B), mu, lower, upper, as_tensor(TAU))
    assert_matches(actual, coordinatewise(lambda x: mu * abs(x), lower, upper))


def test_box():
    expected = coordinatewise(lambda x: 0.0, -1.0, 1.0)
    assert_matches(prox.prox_box(as_tensor(B), -1.0, 1.0), expected)
    assert_matches(prox.prox_box(as_tensor(B), None, 0.5), coordinatewise(lambda x: 0.0, -10, 0.5))


def test_elastic_net():
    l1, l2 = 0.5, 0.8
    actual = prox.prox_elastic_net(as_tensor(B), l1, l2, as_tensor(TAU))
    assert_matches(actual, coordinatewise(lambda x: l1 * abs(x) + 0.5 * l2 * x * x))


def group_argmin(b: np.ndarray, mu: float, tau: float) -> np.ndarray:
    """argmin mu ||x|| + tau/2 ||x - b||^2 by SLSQP on the epigraph form
    min mu s + tau/2 ||x - b||^2 subject to s >= ||x||, started from x = b."""
    def objective(z):
        return mu * z[-1] + 0.5 * tau * np.sum((z[:-1] - b) ** 2)

    constraints = [{"type": "ineq", "fun": lambda z: z[-1] - np.sqrt(np.sum(z[:-1] ** 2))}]
    start = np.append(b, np.linalg.norm(b) + 1)
    result = minimize(objective, start, method="SLSQP", constraints=constraints,
                      options={"ftol": 1e-15, "maxiter": 1000})
    return result.x[:-1]


@pytest.mark.parametrize("mu", [0.3, 2.0, 6.0])
def test_group_lasso_across_tensors(mu):
    """One group spanning a 2x3 matrix and a 4-vector: the joint problem, solved numerically."""
    parts = [as_tensor(RNG.normal(size=(2, 3))), as_tensor(RNG.normal(size=4))]
    tau = 1.7
    flat = np.concatenate([p.numpy().ravel() for p in parts])
    expected = group_argmin(flat, mu, tau)
    actual = np.concatenate([p.numpy().ravel() for p in prox.prox_group_lasso(parts, mu, tau)])
    np.testing.assert_allclose(actual, expected, atol=2e-6)


def test_group_lasso_rows_across_tensors():
    """Row k of a 4x2x3 tensor and entry k of a 4-vector form group k, each with its own mu, tau."""
    parts = [as_tensor(RNG.normal(size=(4, 2, 3))), as_tensor(RNG.normal(size=4))]
    mu = as_tensor([0.2, 5.0, 1.0, 0.0])
    tau = as_tensor([1.0, 2.0, 0.5, 3.0])
    actual = prox.prox_group_lasso_rows(parts, mu, tau)
    for k in range(4):
        row = np.concatenate([parts[0][k].numpy().ravel(), parts[1][k:k + 1].numpy()])
        expected = group_argmin(row, float(mu[k]), float(tau[k]))
        got = np.concatenate([actual[0][k].numpy().ravel(), actual[1][k:k + 1].numpy()])
        np.testing.assert_allclose(got, expected, atol=2e-6)


def test_group_is_zero_exactly_when_its_norm_is_at_most_the_threshold():
    direction = as_tensor(RNG.normal(size=5))
    direction = direction / direction.norm()
    mu, tau = 0.6, 2.0  # threshold mu / tau = 0.3
    for norm, zero in ((0.0, True), (0.1, True), (0.3, True), (0.3 + 1e-9, False), (1.0, False)):
        (result,) = prox.prox_group_lasso([norm * direction], mu, tau)
        assert bool((result == 0).all()) == zero, norm
    rows = torch.stack([0.29 * direction, 0.31 * direction, torch.zeros(5, dtype=torch.float64)])
    (shrunk,) = prox.prox_group_lasso_rows([rows], mu, tau)
    assert [bool((r == 0).all()) for r in shrunk] == [True, False, True]


def test_soft_threshold_gives_exact_zeros_and_group_shrinkage_at_zero_norm():
    b = as_tensor([-0.3, 0.3, 0.29, -0.31])
    out = prox.soft_threshold(b, 0.3)
    assert out.tolist()[:3] == [0.0, 0.0, 0.0] and out[3] < 0
    assert prox.group_shrinkage(as_tensor([0.0, 2.0]), 1.0).tolist() == [0.0, 0.5]


@pytest.mark.parametrize("inplace", [False, True])
def test_soft_threshold_with_a_tensor_threshold_is_elementwise(inplace):
    """Per-entry thresholds t_i: sign(b_i) max(|b_i| - t_i, 0), with a broadcast row too."""
    b = as_tensor([[-1.0, 0.5, 0.2], [2.0, -0.1, -0.7]])
    t = as_tensor([[0.5, 0.6, 0.1], [0.1, 0.2, 0.7]])
    expected = b.sign() * (b.abs() - t).clamp_min(0)
    out = prox.soft_threshold(b.clone(), t, inplace=inplace)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert out.tolist()[0][1] == 0.0 and out.tolist()[1][2] == 0.0
    row = as_tensor([0.5, 0.6, 0.1])
    torch.testing.assert_close(prox.soft_threshold(b.clone(), row, inplace=inplace),
                               b.sign() * (b.abs() - row).clamp_min(0), rtol=0, atol=0)


def test_inplace_variants_equal_the_plain_operators():
    b, tau = as_tensor(B), as_tensor(TAU)
    cases = [
        (prox.prox_l1, (0.7, tau)),
        (prox.prox_box, (-1.0, 0.5)),
        (prox.prox_l1_box, (0.4, -0.5, 1.0, tau)),
        (prox.prox_elastic_net, (0.5, 0.8, tau)),
    ]
    for operator, args in cases:
        expected = operator(b, *args)
        scratch = b.clone()
        result = operator(scratch, *args, inplace=True)
        assert result.data_ptr() == scratch.data_ptr()
        torch.testing.assert_close(result, expected, rtol=0, atol=0)
    assert torch.equal(b, as_tensor(B))
