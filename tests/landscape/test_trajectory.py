"""Trajectories: recording through the training loop, least-squares projection, grids."""

from __future__ import annotations

import pytest
import torch

from deepoptim import train
from deepoptim.data import ClassificationData
from deepoptim.landscape import CheckpointRecorder, flat_parameters, path_grid, project

from .problems import mlp_problem


def _plane(seed=0, dim=40):
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(2, dim, generator=generator, dtype=torch.float64)  # not orthogonal
    center = torch.randn(dim, generator=generator, dtype=torch.float64)
    return directions, center, generator


def test_a_trajectory_in_the_plane_is_reconstructed_exactly():
    directions, center, generator = _plane()
    coords = torch.randn(15, 2, generator=generator, dtype=torch.float64)
    points = center + coords @ directions
    projection = project(points, directions, center)
    torch.testing.assert_close(projection.coords, coords, rtol=1e-12, atol=1e-12)
    assert float(projection.residuals.max()) < 1e-12
    assert projection.explained == pytest.approx(1.0, abs=1e-12)
    assert torch.equal(project(center.unsqueeze(0), directions, center).coords,
                       torch.zeros(1, 2, dtype=torch.float64))


def test_the_explained_share_of_a_path_out_of_the_plane():
    directions, center, generator = _plane(1)
    normal = torch.randn(40, generator=generator, dtype=torch.float64)
    normal -= directions.T @ torch.linalg.lstsq(directions.T, normal).solution  # ⊥ the plane
    in_plane = torch.randn(6, 2, generator=generator, dtype=torch.float64) @ directions
    heights = torch.randn(6, generator=generator, dtype=torch.float64)
    points = center + in_plane + heights.unsqueeze(1) * normal
    projection = project(points, directions, center)
    out = (heights ** 2).sum() * normal.norm() ** 2
    expected = 1 - float(out / ((points - center) ** 2).sum())
    assert projection.explained == pytest.approx(expected, rel=1e-10)
    torch.testing.assert_close(projection.residuals, heights.abs() * normal.norm())
    torch.testing.assert_close(projection.distances, (points - center).norm(dim=1))


def test_the_recorder_keeps_checkpoints_from_the_training_loop():
    problem = mlp_problem(samples=40)
    problem.model.float()
    x = problem.inputs.float()
    dataset = ClassificationData("toy", x[:30], problem.targets[:30], x[30:],
                                 problem.targets[30:], 3)
    recorder = CheckpointRecorder(every=2)
    first = flat_parameters(problem.model)
    train.train(problem.model, torch.optim.SGD(problem.model.parameters(), lr=0.1), dataset,
                steps=6, batch_size=10, progress=False, callback=recorder)
    assert recorder.steps == [0, 2, 4, 6] and len(recorder) == 4
    assert torch.equal(recorder.points[0], first)
    assert torch.equal(recorder.points[-1], flat_parameters(problem.model))
    assert recorder.points.device.type == "cpu"


def test_path_grid_covers_the_path_and_the_centre():
    coords = torch.tensor([[1.0, 2.0], [3.0, 5.0]], dtype=torch.float64)
    x, y = path_grid(coords, num_points=11, margin=0.5)
    assert len(x) == len(y) == 11
    assert float(x[0]) == pytest.approx(-1.5) and float(x[-1]) == pytest.approx(4.5)
    assert float(y[0]) == pytest.approx(-2.5) and float(y[-1]) == pytest.approx(7.5)


def test_bad_arguments_are_rejected():
    directions, center, _ = _plane()
    with pytest.raises(ValueError, match="Invalid directions value"):
        project(center.unsqueeze(0), torch.stack([directions[0], 2 * directions[0]]), center)
    with pytest.raises(ValueError, match="Invalid directions value"):
        project(center.unsqueeze(0), directions[:, :5], center)
    with pytest.raises(ValueError, match="Invalid center value"):
        project(center.unsqueeze(0), directions, center[:5])
    with pytest.raises(ValueError, match="Invalid points value"):
        project(center, directions, center)
    with pytest.raises(ValueError, match="Invalid every value"):
        CheckpointRecorder(every=0)
    with pytest.raises(ValueError, match="no checkpoint"):
        _ = CheckpointRecorder().points
    with pytest.raises(ValueError, match="Invalid coords value"):
        path_grid(torch.zeros(3, 3))
