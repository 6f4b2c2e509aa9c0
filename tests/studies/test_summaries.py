"""The quantities read from a summary of runs, on made-up records with known answers."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from deepoptim import experiment, studies

#: Final training losses per (problem, config), one per seed.
LOSSES = {
    ("MLP", "SGD"): [0.4, 0.6],
    ("MLP", "SLS"): [0.1, 0.3],
    ("CNN", "SGD"): [0.1, 0.1],
    ("CNN", "SLS"): [0.2, 0.2],
    ("digits", "SGD"): [0.02, 0.04, 0.06],
    ("digits", "SLS"): [0.01, 0.02, 0.06, 0.03],
}


def summary(losses=LOSSES) -> pd.DataFrame:
    records = [{"problem": problem, "config": config, "seed": seed, "train_loss": loss,
                "test_acc": 1 - loss}
               for (problem, config), values in losses.items()
               for seed, loss in enumerate(values)]
    return experiment.summarize(records, by=["problem", "config"],
                                metrics=["train_loss", "test_acc"])


def test_mean_of_reads_the_row_with_the_labels():
    frame = summary()
    assert studies.mean_of(frame, "train_loss", problem="MLP", config="SLS") == pytest.approx(0.2)
    assert studies.mean_of(frame, "test_acc", config="SGD", problem="digits") == pytest.approx(
        0.96)
    one_label = summary({("MLP", "SGD"): [0.5]}).drop(columns="problem")
    assert studies.mean_of(one_label, "train_loss", config="SGD") == 0.5


@pytest.mark.parametrize("labels, match", [
    ({"problem": "MLP", "config": "Adam"}, r"Invalid labels value: \{'problem': 'MLP', "
                                          r"'config': 'Adam'\} \(no row"),
    ({"config": "SLS"}, r"Invalid labels value: \{'config': 'SLS'\} \(3 rows"),
    ({"model": "mlp", "config": "SLS"}, r"Invalid column value: \['model'\]"),
    ({}, r"Invalid labels value: \{\}"),
])
def test_mean_of_rejects_labels_that_do_not_name_one_row(labels, match):
    with pytest.raises(ValueError, match=match):
        studies.mean_of(summary(), "train_loss", **labels)


def test_mean_of_rejects_an_unknown_metric():
    with pytest.raises(ValueError, match=r"Invalid column value: \['loss_mean'\]"):
        studies.mean_of(summary(), "loss", problem="MLP", config="SGD")


def test_loss_ratio_is_the_geometric_mean_of_the_ratios_of_the_means():
    frame = summary()
    # MLP 0.2/0.5, CNN 0.2/0.1, digits 0.03/0.04
    by_hand = (0.4 * 2.0 * 0.75) ** (1 / 3)
    assert studies.loss_ratio(frame, "SLS", "SGD") == pytest.approx(by_hand, rel=1e-12)
    assert studies.loss_ratio(frame, "SGD", "SLS") == pytest.approx(1 / by_hand, rel=1e-12)
    assert studies.loss_ratio(frame, "SLS", "SGD", problems=["MLP"]) == pytest.approx(0.4)
    assert studies.loss_ratio(frame, "SLS", "SLS") == 1.0
    # a halving and a doubling cancel
    assert studies.loss_ratio(frame, "SLS", "SGD", problems=["MLP", "CNN"]) == pytest.approx(
        math.sqrt(0.8))
    metric = studies.loss_ratio(frame, "SLS", "SGD", problems=["CNN"], metric="test_acc")
    assert metric == pytest.approx(0.8 / 0.9)


def test_loss_ratio_of_a_diverged_configuration_is_nan():
    losses = {**LOSSES, ("CNN", "SLS"): [float("nan"), float("nan")]}
    assert math.isnan(studies.loss_ratio(summary(losses), "SLS", "SGD"))


@pytest.mark.parametrize("kwargs, match", [
    ({"config": "Adam", "reference": "SGD"}, r"Invalid labels value: \{'problem': 'MLP', "
                                             r"'config': 'Adam'\} \(no row"),
    ({"config": "SLS", "reference": "SGD", "problems": ["RNN"]},
     r"Invalid labels value: \{'problem': 'RNN'"),
    ({"config": "SLS", "reference": "SGD", "problems": []}, r"Invalid problems value: \[\]"),
])
def test_loss_ratio_rejects_a_missing_configuration_or_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        studies.loss_ratio(summary(), **kwargs)


def test_loss_ratio_needs_positive_means_and_a_problem_column():
    losses = {("MLP", "SGD"): [0.0, 0.0], ("MLP", "SLS"): [0.1, 0.3]}
    with pytest.raises(ValueError, match="Invalid train_loss value.*positive means"):
        studies.loss_ratio(summary(losses), "SLS", "SGD")
    with pytest.raises(ValueError, match=r"Invalid column value: \['problem'\]"):
        studies.loss_ratio(summary().drop(columns="problem"), "SLS", "SGD")


@pytest.mark.parametrize("problem", ["MLP", "digits"])
def test_standardized_difference_is_welchs_statistic(problem):
    welch = stats.ttest_ind(LOSSES[problem, "SLS"], LOSSES[problem, "SGD"], equal_var=False)
    value = studies.standardized_difference(summary(), "SLS", "SGD", problem=problem)
    assert value == pytest.approx(welch.statistic, rel=1e-12)
    swapped = studies.standardized_difference(summary(), "SGD", "SLS", problem=problem)
    assert swapped == pytest.approx(-value, rel=1e-12)
    accuracy = studies.standardized_difference(summary(), "SLS", "SGD", metric="test_acc",
                                               problem=problem)
    assert accuracy == pytest.approx(-value, rel=1e-9)


def test_standardized_difference_without_spread_is_nan():
    assert math.isnan(studies.standardized_difference(summary(), "SLS", "SGD", problem="CNN"))
    single = summary({("MLP", "SGD"): [0.5], ("MLP", "SLS"): [0.1]})
    assert np.isnan(studies.standardized_difference(single, "SLS", "SGD", problem="MLP"))


def test_standardized_difference_rejects_a_missing_configuration():
    with pytest.raises(ValueError, match=r"Invalid labels value: \{'problem': 'CNN', "
                                         r"'config': 'Adam'\} \(no row"):
        studies.standardized_difference(summary(), "SLS", "Adam", problem="CNN")
