"""The authors' SaLSa behind our closures takes exactly the steps the package takes."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepoptim import data, studies, train

SaLSA = pytest.importorskip("salsa.SaLSA").SaLSA


def _problem(steps=12):
    return studies.Problem("mlp", data.mnist1d(), 100, steps, 4)


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 4))


def test_reference_salsa_takes_the_packages_steps():
    dataset = data.gaussian_mixture("ring", n_components=4, seed=0)
    batches = [(dataset.x_train[i:i + 32], dataset.y_train[i:i + 32]) for i in range(0, 320, 32)]
    ours, theirs = _model(), _model()
    wrapped = studies.ReferenceSaLSa(ours.parameters(), c=0.3)
    direct = SaLSA(list(theirs.parameters()), c=0.3)
    evaluations = []
    for inputs, targets in batches:
        train.optimizer_step(wrapped, lambda batch: F.cross_entropy(ours(batch[0]), batch[1]),
                             (inputs, targets))
        evaluations.append(wrapped.state["diagnostics"]["loss_evals"])

        def closure(backwards=False, inputs=inputs, targets=targets):
            loss = F.cross_entropy(theirs(inputs), targets)
            if backwards:
                loss.backward()
            return loss

        direct.zero_grad()
        direct.step(closure)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert wrapped.state["diagnostics"]["step_size"] == pytest.approx(direct.step_size)
    assert wrapped.param_groups[0]["lr"] == pytest.approx(direct.step_size)
    # the first ten steps always search: the gradient's forward pass and at least one trial
    assert all(n >= 2 for n in evaluations)
    assert wrapped.state["diagnostics"]["searched"] == float(evaluations[-1] > 1)


def test_reference_salsa_keeps_numpy_global_state():
    model = _model()
    optimizer = studies.ReferenceSaLSa(model.parameters())
    np.random.seed(123)  # noqa: NPY002
    expected = copy.deepcopy(np.random.get_state())  # noqa: NPY002
    inputs, targets = torch.randn(8, 2), torch.randint(0, 4, (8,))
    train.optimizer_step(optimizer, lambda batch: F.cross_entropy(model(batch[0]), batch[1]),
                         (inputs, targets))
    state = np.random.get_state()  # noqa: NPY002
    assert state[0] == expected[0] and np.array_equal(state[1], expected[1])
    assert state[2:] == expected[2:]


def test_run_reference_is_seeded_like_run_classifier():
    problem = _problem()
    reference = studies.run_reference(problem, [0, 1], "theirs", studies.ReferenceSaLSa)
    again = studies.run_reference(problem, [0, 1], "theirs", studies.ReferenceSaLSa)
    assert list(reference.records["seed"]) == [0, 1]
    assert set(reference.records["config"]) == {"theirs"}
    assert set(reference.records["optimizer"]) == {"ReferenceSaLSa"}
    assert reference.steps.groupby("seed")["step"].max().tolist() == [12, 12]
    assert reference.steps["loss_evals"].min() >= 1
    assert (reference.steps["searched"] == (reference.steps["loss_evals"] > 1)).all()
    assert reference.records["train_loss"].tolist() == again.records["train_loss"].tolist()
    # the same initialisation as the registry's runs: step 0 is evaluated before training
    registry_run = problem.run({"SGD": {}}, [0, 1])
    assert (reference.evals.query("step == 0")["train_loss"].tolist()
            == registry_run.evals.query("step == 0")["train_loss"].tolist())
    with pytest.raises(ValueError, match="Invalid seeds value"):
        studies.run_reference(problem, [], "theirs", studies.ReferenceSaLSa)
