"""Directions: normalisations, seeds, Hessian eigenvectors and principal directions."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature
from deepoptim.landscape import (
    eigen_directions,
    line_direction,
    normalize_direction,
    parameters_of,
    pca_directions,
    random_directions,
)

from .problems import conv_problem, mlp_problem


def _parts(direction, model):
    return curvature.unflatten(direction, parameters_of(model))


@pytest.mark.parametrize("make", [mlp_problem, conv_problem])
def test_filter_normalisation_gives_each_filter_the_centres_norm(make):
    model = make().model
    direction = random_directions(model, 1, seed=3, normalization="filter")[0]
    for name, d in _parts(direction, model).items():
        theta = parameters_of(model)[name]
        if theta.dim() > 1:
            filters = d.reshape(len(d), -1).norm(dim=1)
            expected = theta.reshape(len(theta), -1).norm(dim=1)
            torch.testing.assert_close(filters, expected, rtol=1e-12, atol=0)
        else:  # biases and batch-norm scale/shift are not moved (Li et al.'s default)
            assert torch.count_nonzero(d) == 0, name


def test_layer_normalisation_gives_each_tensor_the_centres_norm():
    model = conv_problem().model
    direction = random_directions(model, 1, seed=1, normalization="layer")[0]
    for name, d in _parts(direction, model).items():  # biases too (GradVis's default)
        torch.testing.assert_close(d.norm(), parameters_of(model)[name].norm(), rtol=1e-12,
                                   atol=0)


@pytest.mark.parametrize("bias, check", [
    ("zero", lambda d, theta, drawn: torch.count_nonzero(d) == 0),
    ("copy", lambda d, theta, drawn: torch.equal(d, theta)),
    ("normalize", lambda d, theta, drawn: torch.isclose(d.norm(), theta.norm(), rtol=1e-12)),
    ("keep", lambda d, theta, drawn: torch.equal(d, drawn)),
])
def test_bias_rules(bias, check):
    model = conv_problem().model
    drawn = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    direction = normalize_direction(drawn, model, "filter", bias=bias)
    drawn_parts = _parts(drawn, model)
    for name, d in _parts(direction, model).items():
        if d.dim() <= 1:
            assert check(d, parameters_of(model)[name], drawn_parts[name]), name


def test_unit_normalisation_has_norm_one_and_keeps_the_direction():
    model = mlp_problem().model
    drawn = torch.randn(sum(p.numel() for p in model.parameters()), dtype=torch.float64)
    unit = normalize_direction(drawn, model, "unit")
    torch.testing.assert_close(unit.norm(), torch.tensor(1.0, dtype=torch.float64))
    torch.testing.assert_close(unit, drawn / drawn.norm())


def test_fixed_seeds_give_the_same_directions_and_others_differ():
    model = mlp_problem().model
    first = random_directions(model, 2, seed=7)
    assert torch.equal(first, random_directions(model, 2, seed=7))
    assert not torch.equal(first, random_directions(model, 2, seed=8))
    assert not torch.equal(first[0], first[1])
    # drawn in float64 whatever the dtype: a float32 copy of the model gets the same directions
    single = random_directions(mlp_problem().model.float(), 2, seed=7, normalization="unit")
    torch.testing.assert_close(single, random_directions(model, 2, seed=7, normalization="unit")
                               .float())


def _dense_eigenpairs(problem):
    hessian = curvature.dense_hessian(problem.model, problem.loss_fn, problem.inputs,
                                      problem.targets)
    return torch.linalg.eigh(hessian)


def test_raw_eigen_directions_are_the_dense_hessians_eigenvectors():
    problem = mlp_problem()
    values, vectors = _dense_eigenpairs(problem)
    op = curvature.HessianOperator(problem.model, problem.loss_fn, problem.inputs,
                                   problem.targets)
    result = eigen_directions(op, 2, "BE")
    assert result.converged
    torch.testing.assert_close(result.eigenvalues, torch.stack([values[-1], values[0]]),
                               rtol=1e-8, atol=1e-10)
    for found, expected in zip(result.vectors, (vectors[:, -1], vectors[:, 0]), strict=True):
        assert float(found.norm()) == pytest.approx(1.0, abs=1e-12)
        assert float(abs(found @ expected)) == pytest.approx(1.0, abs=1e-8)


def test_normalised_eigen_directions_follow_the_rule():
    problem = mlp_problem()
    op = curvature.HessianOperator(problem.model, problem.loss_fn, problem.inputs,
                                   problem.targets)
    raw = eigen_directions(op, 2, "LA")
    layered = eigen_directions(op, 2, "LA", normalization="layer")
    for r, v in zip(raw.vectors, layered.vectors, strict=True):
        torch.testing.assert_close(v, normalize_direction(r, problem.model, "layer"))


def test_pca_of_a_trajectory_in_a_plane():
    generator = torch.Generator().manual_seed(0)
    basis, _ = torch.linalg.qr(torch.randn(50, 2, generator=generator, dtype=torch.float64))
    center = torch.randn(50, generator=generator, dtype=torch.float64)
    coords = torch.randn(9, 2, generator=generator, dtype=torch.float64)
    points = torch.cat([center + coords @ basis.T, center.unsqueeze(0)])
    for mean_center in (True, False):
        pca = pca_directions(points, 2, mean_center=mean_center)
        torch.testing.assert_close(pca.vectors @ pca.vectors.T, torch.eye(2, dtype=torch.float64))
        assert float(pca.explained_variance_ratio.sum()) == pytest.approx(1.0, abs=1e-12)
        # the same plane: projecting the basis onto the directions loses nothing
        torch.testing.assert_close((basis.T @ pca.vectors.T @ pca.vectors) - basis.T,
                                   torch.zeros(2, 50, dtype=torch.float64), atol=1e-12, rtol=0)
        assert torch.equal(pca.center, center)


def test_pca_signs_are_deterministic_and_ratios_sorted():
    generator = torch.Generator().manual_seed(1)
    points = torch.randn(12, 30, generator=generator, dtype=torch.float64)
    pca = pca_directions(points, 3)
    largest = pca.vectors.abs().argmax(dim=1)
    assert (pca.vectors.gather(1, largest.unsqueeze(1)) > 0).all()
    assert (pca.explained_variance_ratio.diff() <= 0).all()


def test_line_direction():
    a, b = torch.zeros(4, dtype=torch.float64), torch.arange(4.0, dtype=torch.float64)
    assert torch.equal(line_direction(a, b), b)


def test_bad_arguments_are_rejected():
    model = mlp_problem().model
    with pytest.raises(ValueError, match="Invalid normalization value"):
        random_directions(model, normalization="global")
    with pytest.raises(ValueError, match="Invalid bias value"):
        random_directions(model, bias="ignore")
    with pytest.raises(ValueError, match="Invalid k value"):
        random_directions(model, k=0)
    with pytest.raises(ValueError, match="Invalid direction value"):
        normalize_direction(torch.zeros(3, dtype=torch.float64), model)
    with pytest.raises(ValueError, match="Invalid direction value"):
        normalize_direction(torch.zeros(51, dtype=torch.float64), model, "unit")
    with pytest.raises(TypeError, match="center must be"):
        normalize_direction(torch.zeros(3), [1, 2, 3])
    with pytest.raises(TypeError, match="operator must be"):
        eigen_directions(curvature.MatrixOperator(torch.eye(3)))
    with pytest.raises(ValueError, match="Invalid points value"):
        pca_directions(torch.zeros(1, 5))
    with pytest.raises(ValueError, match="Invalid k value"):
        pca_directions(torch.zeros(3, 5), 4)
    with pytest.raises(ValueError, match="Invalid theta_b value"):
        line_direction(torch.zeros(3), torch.zeros(4))
