"""Points in parameter space: layout and exact restoration."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature
from deepoptim.landscape import flat_parameters, parameters_at, parameters_of

from .problems import assert_unchanged, conv_problem, mlp_problem, state_copy


def test_layout_is_the_hessian_operators():
    problem = mlp_problem()
    op = curvature.HessianOperator(problem.model, problem.loss_fn, problem.inputs,
                                   problem.targets)
    assert list(parameters_of(problem.model)) == op.names
    assert torch.equal(flat_parameters(problem.model), op.point)


def test_frozen_parameters_are_not_coordinates():
    problem = conv_problem()
    problem.model.head.bias.requires_grad_(False)
    assert "head.bias" not in parameters_of(problem.model)
    total = sum(p.numel() for p in problem.model.parameters() if p.requires_grad)
    assert flat_parameters(problem.model).shape == (total,)


def test_parameters_at_sets_and_restores_exactly():
    problem = conv_problem()
    before = state_copy(problem.model)
    theta = torch.randn_like(flat_parameters(problem.model))
    with parameters_at(problem.model, theta) as model:
        assert torch.equal(flat_parameters(model), theta)
    assert_unchanged(problem.model, before)


def test_parameters_at_restores_after_an_error():
    problem = mlp_problem()
    before = state_copy(problem.model)
    with pytest.raises(RuntimeError, match="inside"):
        with parameters_at(problem.model, torch.zeros_like(flat_parameters(problem.model))):
            raise RuntimeError("inside")
    assert_unchanged(problem.model, before)


def test_bad_points_are_rejected():
    problem = mlp_problem()
    with pytest.raises(ValueError, match="Invalid theta value"):
        with parameters_at(problem.model, torch.zeros(3, dtype=torch.float64)):
            pass
    with pytest.raises(TypeError, match="model must be"):
        flat_parameters("not a model")
