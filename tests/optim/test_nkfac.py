"""NKFAC in float64: a Newton-Schulz update squares the residual, converged NKFAC is the KFAC
direction rescaled to the gradient's norm, exact refreshes come when the schedule says, and
poisoned factors fall back visibly."""

from __future__ import annotations

import pytest
import torch

from deepoptim.optim import DIAGNOSTICS
from deepoptim.optim.nkfac import NKFAC

from .kronecker_problems import (
    check_poisoned_factor,
    check_resume_equals_continuing,
    check_trains,
    classifier,
    kronecker_direction,
    train,
)

FLOOR = 1e-4  # damping=0 leaves NKFAC's damping floor: a known shift


def layer_matrix_of(layer, tensors):
    weight, bias = tensors
    return torch.cat([weight.reshape(len(weight), -1), bias[:, None]], dim=1)


def test_one_newton_step_squares_the_residual():
    """I - B'(F + l I) = (I - B(F + l I))^2 for the perturbed previous inverse B."""
    model = classifier()
    optimizer = NKFAC(model.parameters(), model=model, damping=0.0, cov_interval=100,
                      inv_interval=1)
    train(model, optimizer, 3)  # three exact refreshes of the factors recorded at t = 0
    state = optimizer.state[model[3].weight]
    factor = state["a_factor"] + FLOOR * torch.eye(len(state["a_factor"]), dtype=torch.float64)
    start = 0.9 * state["a_inverse"]
    state["a_inverse"] = start.clone()
    train(model, optimizer, 1, seed=5)
    eye = torch.eye(len(factor), dtype=torch.float64)
    error = eye - start @ factor
    assert 0.1 < float(torch.linalg.matrix_norm(error)) < 1
    torch.testing.assert_close(eye - state["a_inverse"] @ factor, error @ error)
    diagnostics = optimizer.state[DIAGNOSTICS]  # the other three inverses were exact already
    assert (diagnostics["newton_inversions"], diagnostics["newton_iterations"]) == (4, 1)
    # the step's own residual is not measured (a product saved): the diagnostic is the bound
    # ||E||^2 of the refresh's largest start residual, which the true residual respects
    assert diagnostics["newton_residual"] >= float(torch.linalg.matrix_norm(error)) ** 2
    assert float(torch.linalg.matrix_norm(error @ error)) <= diagnostics["newton_residual"]


def test_converged_nkfac_is_the_kfac_direction_rescaled_to_the_gradient_norm():
    model = classifier()
    optimizer = NKFAC(model.parameters(), model=model, lr=0.1, momentum=0.0, damping=0.0,
                      cov_interval=100, inv_interval=1, newton_steps=30)
    train(model, optimizer, 3)
    layers = (model[0], model[3])
    for layer in layers:  # a start for the Newton iterations away from the solution
        state = optimizer.state[layer.weight]
        state["a_inverse"], state["g_inverse"] = 0.9 * state["a_inverse"], state["g_inverse"]
    before = [layer_matrix_of(layer, (layer.weight, layer.bias)).detach().clone()
              for layer in layers]
    train(model, optimizer, 1, seed=3)  # t = 3: Newton iterations from the previous inverses
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert diagnostics["newton_iterations"] > 4 and diagnostics["exact_inversions"] == 12
    assert diagnostics["newton_residual"] < 1e-7
    for layer, start in zip(layers, before, strict=True):
        state = optimizer.state[layer.weight]
        gradient = layer_matrix_of(layer, (layer.weight.grad, layer.bias.grad))
        kfac = kronecker_direction(state["a_factor"], state["g_factor"], gradient, FLOOR)
        expected = kfac * torch.linalg.matrix_norm(gradient) / torch.linalg.matrix_norm(kfac)
        after = layer_matrix_of(layer, (layer.weight, layer.bias)).detach()
        torch.testing.assert_close((start - after) / 0.1, expected, rtol=1e-6, atol=1e-9)
        torch.testing.assert_close(torch.linalg.matrix_norm((start - after) / 0.1),
                                   torch.linalg.matrix_norm(gradient))


def test_exact_refreshes_follow_the_schedule():
    """Refreshes 0, 1, 2 and every exact_interval-th are exact, the others Newton steps; a
    factor starts as its normalised first recording folded into zero."""
    model = classifier()
    optimizer = NKFAC(model.parameters(), model=model, cov_interval=100, inv_interval=1,
                      exact_interval=4)
    exact, newton = [], []
    for t in range(9):
        train(model, optimizer, 1, seed=t)
        exact.append(optimizer.state[DIAGNOSTICS]["exact_inversions"])
        newton.append(optimizer.state[DIAGNOSTICS]["newton_inversions"])
    assert exact == [4, 8, 12, 12, 16, 16, 16, 16, 20]  # refreshes 0, 1, 2, 4, 8; 4 factors
    assert newton == [0, 0, 0, 4, 4, 8, 12, 16, 16]
    for key in ("a_factor", "g_factor"):
        norm = torch.linalg.matrix_norm(optimizer.state[model[3].weight][key])
        torch.testing.assert_close(norm, torch.tensor(0.05, dtype=torch.float64))


@pytest.mark.parametrize("poison", ["nan", "indefinite"])
def test_a_poisoned_factor_keeps_the_previous_inverse_and_is_recorded(poison):
    check_poisoned_factor(NKFAC, poison, 4, cov_interval=2, inv_interval=1)  # a Newton refresh


def test_resume_from_state_dict_equals_continuing_and_norm_layers_get_sgd():
    check_resume_equals_continuing(NKFAC, cov_interval=2, inv_interval=1, exact_interval=3)

    plain, reference = classifier(), classifier()
    nkfac = NKFAC(plain.parameters(), model=None, lr=0.05)
    sgd = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9, foreach=False)
    train(plain, nkfac, 3)
    train(reference, sgd, 3)
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), reference.parameters(),
                                                  strict=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_trains_in_float32_and_float64(dtype):
    model, optimizer = check_trains(NKFAC, dtype, lr=0.05, cov_interval=1, inv_interval=1)
    assert optimizer.state[model[3].weight]["a_inverse"].dtype == dtype


@pytest.mark.parametrize("rule", ["scaled", "damped", "exact"])
def test_an_unsafe_warm_start_takes_the_chosen_rule_and_is_recorded(rule):
    """A previous inverse three times too large (every eigenvalue of B(F + l I) is 3, so the
    Frobenius residual is 2 sqrt(d)): a shortened step that keeps B positive definite, or the
    exact inverse."""
    model = classifier()
    optimizer = NKFAC(model.parameters(), model=model, damping=0.0, cov_interval=100,
                      inv_interval=1, unsafe_start=rule)
    train(model, optimizer, 3)  # the three exact refreshes
    state = optimizer.state[model[3].weight]
    exact = state["a_inverse"].clone()
    state["a_inverse"] = 3 * exact
    train(model, optimizer, 1, seed=5)
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert diagnostics["unsafe_starts"] == 1 and diagnostics["newton_failures"] == 0
    inverse = state["a_inverse"]
    if rule == "exact":
        assert diagnostics["exact_inversions"] == 12 + 1 and diagnostics["damped_steps"] == 0
        torch.testing.assert_close(inverse, exact)
    else:
        assert diagnostics["exact_inversions"] == 12 and diagnostics["damped_steps"] == 1
        assert float(torch.linalg.eigvalsh((inverse + inverse.T) / 2)[0]) > 0
        error = torch.linalg.matrix_norm(inverse - exact) / torch.linalg.matrix_norm(exact)
        assert float(error) < 2  # closer than the start (relative error 2)
        if rule == "scaled":  # eta = 1/(1.1 * 3): the error shrinks to 2 (1 - 1/1.1)
            assert float(error) < 0.2


def test_a_newton_update_that_expands_the_residual_is_replaced_by_the_exact_inverse():
    """An indefinite previous inverse (its negative): the residual grows, the update fails,
    the inverse is computed exactly, and both events are recorded."""
    model = classifier()
    optimizer = NKFAC(model.parameters(), model=model, damping=0.0, cov_interval=100,
                      inv_interval=1)
    train(model, optimizer, 3)
    state = optimizer.state[model[3].weight]
    exact = state["a_inverse"].clone()
    state["a_inverse"] = -exact
    train(model, optimizer, 1, seed=5)
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert diagnostics["newton_failures"] == diagnostics["fallbacks"] == 1
    assert diagnostics["failed_inverses"] == 0 and diagnostics["exact_inversions"] == 13
    torch.testing.assert_close(state["a_inverse"], exact)
    assert all(torch.isfinite(p).all() for p in model.parameters())
