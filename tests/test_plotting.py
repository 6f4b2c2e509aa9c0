"""The book's figure style and colours."""

import matplotlib

matplotlib.use("Agg")  # tests only; notebooks keep the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from deepoptim import plotting  # noqa: E402


def test_every_fixed_colour_is_distinct():
    colours = list(plotting.OPTIMIZER_COLORS.values())
    assert len(set(colours)) == len(colours)


def test_unknown_names_get_a_stable_colour():
    assert plotting.color("MyOptimizer") == plotting.color("MyOptimizer")
    assert plotting.palette(["SGD", "X"]) == {"SGD": plotting.color("SGD"),
                                              "X": plotting.color("X")}


def test_mean_band_draws_mean_and_spread_per_optimizer():
    frame = pd.DataFrame(dict(step=[0, 1, 0, 1, 0, 1], loss=[1.0, 0.5, 3.0, 1.5, 2.0, 2.0],
                              optimizer=["SGD", "SGD", "SGD", "SGD", "Adam", "Adam"]))
    fig, ax = plt.subplots()
    plotting.mean_band(ax, frame, x="step", y="loss", hue="optimizer")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["SGD"].get_ydata()) == [2.0, 1.0]
    assert lines["SGD"].get_color() == plotting.color("SGD")
    assert len(ax.collections) == 2  # one band per optimizer
    plt.close(fig)


def test_mean_band_names_missing_columns():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="acc"):
        plotting.mean_band(ax, pd.DataFrame(dict(step=[0])), x="step", y="acc", hue="opt")
    plt.close(fig)
