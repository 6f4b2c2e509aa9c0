"""Surfaces: exact at the centre, batched equals the loop, curvature, seeds, no side effects."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature
from deepoptim.landscape import (
    eigen_directions,
    evaluate_points,
    flat_parameters,
    loss_surface,
    parameters_at,
    random_directions,
)

from .problems import assert_unchanged, conv_problem, mlp_problem, state_copy

AXIS = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)


def _loss_and_accuracy(problem, theta):
    with parameters_at(problem.model, theta), torch.no_grad():
        outputs = problem.model(problem.inputs)
    accuracy = float((outputs.argmax(dim=1) == problem.targets).double().mean())
    return float(problem.loss_fn(outputs, problem.targets)), accuracy


@pytest.mark.parametrize("make", [mlp_problem, conv_problem])
def test_surface_at_the_origin_is_the_loss_at_the_centre(make):
    problem = make()
    problem.model.eval()
    surface = loss_surface(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                           random_directions(problem.model, 2, seed=0), AXIS, AXIS)
    loss, accuracy = _loss_and_accuracy(problem, flat_parameters(problem.model))
    assert float(surface.loss[2, 2]) == pytest.approx(loss, rel=1e-13)
    assert float(surface.accuracy[2, 2]) == accuracy


def test_every_grid_point_is_the_loss_at_that_point():
    problem = mlp_problem()
    directions = random_directions(problem.model, 2, seed=1)
    x, y = AXIS[:4], AXIS[1:]
    surface = loss_surface(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                           directions, x, y, batch_size=7, chunk_size=3)
    assert surface.loss.shape == (len(y), len(x))
    for j, b in enumerate(y):
        for i, a in enumerate(x):
            loss, accuracy = _loss_and_accuracy(problem, surface.point([a, b]))
            assert float(surface.loss[j, i]) == pytest.approx(loss, rel=1e-12)
            assert float(surface.accuracy[j, i]) == pytest.approx(accuracy, abs=1e-15)


@pytest.mark.parametrize("make, train", [(mlp_problem, False), (conv_problem, False),
                                         (conv_problem, True)])
@pytest.mark.parametrize("batch_size, chunk_size", [(None, 16), (5, 4), (7, 1)])
def test_batched_equals_the_one_point_loop(make, train, batch_size, chunk_size):
    problem = make()
    directions = random_directions(problem.model, 2, seed=2, normalization="layer")
    coords = torch.randn(11, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    results = [evaluate_points(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                               directions, coords, batch_size=batch_size, chunk_size=chunk_size,
                               train=train, method=method)
               for method in ("batched", "loop")]
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=0, atol=1e-15)


@pytest.mark.parametrize("method", ["batched", "loop"])
@pytest.mark.parametrize("train", [False, True])
def test_the_model_is_unchanged_afterwards(method, train):
    problem = conv_problem()
    problem.model.train()
    problem.model.norm.eval()  # a mixed mode must come back as it was
    before = state_copy(problem.model)
    loss_surface(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                 random_directions(problem.model, 2, seed=0), AXIS, AXIS, train=train,
                 method=method)
    assert_unchanged(problem.model, before)
    assert problem.model.training and problem.model.conv.training
    assert not problem.model.norm.training


def test_the_loop_restores_the_model_after_an_error():
    problem = mlp_problem()
    before = state_copy(problem.model)

    def failing(outputs, targets):
        raise RuntimeError("loss failed")

    with pytest.raises(RuntimeError, match="loss failed"):
        evaluate_points(problem.model, failing, problem.inputs, problem.targets,
                        random_directions(problem.model, 1, seed=0), AXIS, method="loop")
    assert_unchanged(problem.model, before)


def test_fixed_seeds_give_the_same_surface():
    surfaces = []
    for _ in range(2):
        problem = mlp_problem()
        surfaces.append(loss_surface(problem.model, problem.loss_fn, problem.inputs,
                                     problem.targets, random_directions(problem.model, 2, seed=4),
                                     AXIS, AXIS))
    assert torch.equal(surfaces[0].loss, surfaces[1].loss)
    assert torch.equal(surfaces[0].accuracy, surfaces[1].accuracy)


def _trained(problem, steps=300):
    optimizer = torch.optim.LBFGS(problem.model.parameters(), max_iter=steps,
                                  tolerance_grad=1e-12, tolerance_change=0)

    def closure():
        optimizer.zero_grad()
        loss = problem.loss_fn(problem.model(problem.inputs), problem.targets)
        loss.backward()
        return loss

    optimizer.step(closure)
    problem.model.zero_grad(set_to_none=True)
    return problem


def test_second_difference_along_the_top_unit_eigenvector_is_its_eigenvalue():
    problem = _trained(mlp_problem())
    op = curvature.HessianOperator(problem.model, problem.loss_fn, problem.inputs,
                                   problem.targets)
    top = eigen_directions(op, 1, "LA")
    errors = []
    for h in (1e-1, 3e-2, 1e-2):
        line = loss_surface(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                            top.vectors[0], [-h, 0.0, h], accuracy=False)
        second = float(line.loss[0] - 2 * line.loss[1] + line.loss[2]) / h ** 2
        errors.append(abs(second - float(top.eigenvalues[0])))
    assert errors[0] > errors[1] > errors[2]  # the central difference converges, O(h^2)
    assert errors[2] < 1e-3 * float(top.eigenvalues[0])


def test_a_line_and_its_layout():
    problem = mlp_problem()
    direction = random_directions(problem.model, 1, seed=0)[0]
    line = loss_surface(problem.model, problem.loss_fn, problem.inputs, problem.targets,
                        direction, AXIS, accuracy=False)
    assert line.loss.shape == (5,) and line.y is None and line.accuracy is None
    assert line.directions.shape == (1, direction.numel())


def test_float32_models_evaluate_in_float32():
    problem = mlp_problem()
    model = problem.model.float()
    inputs = problem.inputs.float()
    directions = random_directions(model, 2, seed=0)
    batched, loop = (loss_surface(model, problem.loss_fn, inputs, problem.targets, directions,
                                  AXIS, AXIS, method=m) for m in ("batched", "loop"))
    torch.testing.assert_close(batched.loss, loop.loss, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_rejected():
    problem = mlp_problem()
    model, x, y = problem.model, problem.inputs, problem.targets
    directions = random_directions(model, 2, seed=0)
    with pytest.raises(ValueError, match="Invalid directions value"):
        loss_surface(model, problem.loss_fn, x, y, directions, AXIS)
    with pytest.raises(ValueError, match="Invalid directions value"):
        loss_surface(model, problem.loss_fn, x, y, directions[:, :5], AXIS, AXIS)
    with pytest.raises(ValueError, match="Invalid coords value"):
        evaluate_points(model, problem.loss_fn, x, y, directions, torch.zeros(4, 3))
    with pytest.raises(ValueError, match="Invalid inputs value"):
        loss_surface(model, problem.loss_fn, x, y[:3], directions, AXIS, AXIS)
    with pytest.raises(ValueError, match="Invalid method value"):
        loss_surface(model, problem.loss_fn, x, y, directions, AXIS, AXIS, method="fast")
    with pytest.raises(ValueError, match="Invalid chunk_size value"):
        loss_surface(model, problem.loss_fn, x, y, directions, AXIS, AXIS, chunk_size=0)
    with pytest.raises(ValueError, match="Invalid x value"):
        loss_surface(model, problem.loss_fn, x, y, directions, [], AXIS)
    with pytest.raises(ValueError, match="Invalid center value"):
        loss_surface(model, problem.loss_fn, x, y, directions, AXIS, AXIS,
                     center=torch.zeros(3, dtype=torch.float64))
    dropout = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.5)).double()
    with pytest.raises(ValueError, match="Invalid train value"):
        loss_surface(dropout, problem.loss_fn, x, y, random_directions(dropout, 2), AXIS, AXIS,
                     train=True)


@pytest.mark.parametrize("work, expected", [(0, "loop"), (10 ** 9, "batched")])
def test_auto_chooses_by_the_work_of_one_point_on_a_cpu(monkeypatch, work, expected):
    """``method="auto"`` runs the loop above the work threshold, the batched path below it,
    and gives the surface of the method it ran."""
    from deepoptim.landscape import surface as module

    problem = mlp_problem()
    directions = random_directions(problem.model, 2, seed=0)
    args = (problem.model, problem.loss_fn, problem.inputs, problem.targets, directions,
            AXIS, AXIS)
    reference = loss_surface(*args, method=expected)
    monkeypatch.setattr(module, "AUTO_BATCHED_WORK", work)
    other = "_evaluate_batched" if expected == "loop" else "_evaluate_loop"
    monkeypatch.setattr(module, other, lambda *a, **k: pytest.fail(f"auto ran {other}"))
    auto = loss_surface(*args)
    assert torch.equal(auto.loss, reference.loss)
    assert torch.equal(auto.accuracy, reference.accuracy)
