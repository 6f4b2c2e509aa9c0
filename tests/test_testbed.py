"""The baselines and one seeded training run."""

import pytest
import torch

from deepoptim import data, testbed


def test_baselines_are_sgd_with_momentum_and_adam():
    params = [torch.nn.Parameter(torch.zeros(2))]
    sgd = testbed.make_optimizer("SGD", params)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    adam = testbed.make_optimizer("Adam", params, lr=0.5)
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["lr"] == 0.5


def test_unknown_baseline_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"Invalid optimizer value: 'Nadam'.*Adam"):
        testbed.make_optimizer("Nadam", [torch.nn.Parameter(torch.zeros(1))])


def test_run_classifier_is_seeded_and_reports_the_final_evaluation():
    mixture = data.gaussian_mixture("ring", n_samples=200, n_components=4, seed=0)
    first, history = testbed.run_classifier("mlp", mixture, "Adam", steps=5, seed=2,
                                            batch_size=32, model_kwargs={"in_features": 2,
                                                                         "num_classes": 4})
    second, _ = testbed.run_classifier("mlp", mixture, "Adam", steps=5, seed=2,
                                       batch_size=32, model_kwargs={"in_features": 2,
                                                                    "num_classes": 4})
    first_time, second_time = first.pop("time"), second.pop("time")
    assert first == second  # everything but the wall time
    assert first_time > 0 and second_time > 0
    assert first["test_acc"] == history.final()["test_acc"]
    assert {"model", "dataset", "optimizer", "seed", "train_loss", "diverged"} <= set(first)
