"""The sharpness tracker: lambda_max and the loss at the asked steps, the model untouched."""

from __future__ import annotations

import pytest
import torch

from deepoptim import curvature, train
from deepoptim.data import ClassificationData
from deepoptim.landscape import CheckpointRecorder, SharpnessTracker, parameters_at

from .problems import assert_unchanged, conv_problem, mlp_problem, state_copy


def test_it_records_lambda_max_and_the_loss_during_training():
    """At steps 0, 3, 6 (every 3) and 4 (asked), the records equal the dense Hessian's largest
    eigenvalue and the loss at the parameters of that step."""
    problem = mlp_problem(samples=40)
    x = problem.inputs
    dataset = ClassificationData("toy", x[:30], problem.targets[:30], x[30:],
                                 problem.targets[30:], 3)
    tracker = SharpnessTracker(problem.loss_fn, x[:30], problem.targets[:30], every=3, at=[4],
                               tol=1e-10)
    recorder = CheckpointRecorder(every=1)

    def both(step, model, optimizer):
        tracker(step, model, optimizer)
        recorder(step, model, optimizer)

    train.train(problem.model, torch.optim.SGD(problem.model.parameters(), lr=0.5), dataset,
                steps=6, batch_size=10, progress=False, callback=both)
    assert [r["step"] for r in tracker.records] == [0, 3, 4, 6]
    for record in tracker.records:
        with parameters_at(problem.model, recorder.points[record["step"]]):
            dense = curvature.dense_hessian(problem.model, problem.loss_fn, x[:30],
                                            problem.targets[:30])
            with torch.no_grad():
                loss = float(problem.loss_fn(problem.model(x[:30]), problem.targets[:30]))
        assert record["lambda_max"] == pytest.approx(float(torch.linalg.eigvalsh(dense)[-1]),
                                                     rel=1e-9)
        assert record["loss"] == pytest.approx(loss, rel=1e-12)
    assert len({r["lambda_max"] for r in tracker.records}) == 4  # training changed it


def test_the_model_is_left_as_it_was_and_analyses_share_the_operator():
    """Parameters, buffers and every module's mode are untouched (a model in train mode with
    batch normalisation); ``analyse`` gets each recorded step's operator."""
    problem = conv_problem()
    model = problem.model
    model.train()
    model.norm.eval()  # a mixed mode, restored module by module
    before = state_copy(model)
    seen = []
    tracker = SharpnessTracker(problem.loss_fn, problem.inputs, problem.targets, every=2,
                               analyse=lambda step, op: seen.append(
                                   (step, float(curvature.eigsh(op, 1, tol=1e-3).eigenvalues[0]))))
    for step in range(4):
        tracker(step, model, None)
    assert_unchanged(model, before)
    assert model.training and model.conv.training and not model.norm.training
    assert [r["step"] for r in tracker.records] == [0, 2] and [s for s, _ in seen] == [0, 2]
    for record, (_, value) in zip(tracker.records, seen, strict=True):
        assert value == pytest.approx(record["lambda_max"], rel=1e-12)


def test_bad_arguments_are_rejected():
    problem = mlp_problem()
    args = (problem.loss_fn, problem.inputs, problem.targets)
    with pytest.raises(ValueError, match="Invalid every value: 0"):
        SharpnessTracker(*args, every=0)
    with pytest.raises(ValueError, match="Invalid at value: -1"):
        SharpnessTracker(*args, at=[-1])
    with pytest.raises(ValueError, match="Invalid tol value: 0"):
        SharpnessTracker(*args, tol=0)
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        SharpnessTracker(None, problem.inputs, problem.targets)
    with pytest.raises(TypeError, match="analyse must be callable"):
        SharpnessTracker(*args, analyse=3)
