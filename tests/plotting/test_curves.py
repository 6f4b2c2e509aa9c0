"""Training curves: mean bands, rolling means, the loss-and-accuracy figure."""

import matplotlib

matplotlib.use("Agg")  # tests only; notebooks keep the inline backend

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from deepoptim import plotting  # noqa: E402


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


def test_against_time_plots_means_over_seeds_at_each_evaluation():
    frame = pd.DataFrame(dict(step=[0, 10, 0, 10, 0, 10], time=[0.0, 1.0, 0.0, 3.0, 0.0, 5.0],
                              acc=[0.1, 0.6, 0.1, 0.8, 0.2, 0.9], seed=[0, 0, 1, 1, 0, 0],
                              config=["SGD", "SGD", "SGD", "SGD", "Adam", "Adam"]))
    fig, ax = plt.subplots()
    plotting.against_time(ax, frame, y="acc")
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["SGD"].get_xdata()) == [0.0, 2.0]  # the seeds' mean time per step
    assert list(lines["SGD"].get_ydata()) == pytest.approx([0.1, 0.7])
    assert lines["Adam"].get_color() == plotting.color("Adam")
    assert ax.get_xlabel() == "wall time (s)"
    with pytest.raises(ValueError, match="time"):
        plotting.against_time(ax, frame.drop(columns="time"), y="acc")
    plt.close(fig)


def runs_frames(steps=60):
    """Steps and evals of two configurations over two seeds, laid out as studies.Runs."""
    rng = np.random.default_rng(0)
    step_rows = [dict(step=s, loss=float(rng.uniform(0.5, 2.0)), config=c, seed=seed)
                 for c in ("SGD", "SLS") for seed in (0, 1) for s in range(1, steps + 1)]
    eval_rows = [dict(step=s, train_loss=1.0 / (s + 1), test_acc=0.5 + 0.001 * s, config=c,
                      seed=seed) for c in ("SGD", "SLS") for seed in (0, 1)
                 for s in range(0, steps + 1, 20)]
    return pd.DataFrame(step_rows), pd.DataFrame(eval_rows)


def test_rolling_mean_averages_within_each_run_only():
    steps, _ = runs_frames()
    smoothed = plotting.rolling_mean(steps, "loss", 5)
    for _, run in steps.groupby(["config", "seed"]):
        expected = [run["loss"].iloc[max(0, i - 4):i + 1].mean() for i in range(len(run))]
        assert smoothed.loc[run.index, "loss"].tolist() == pytest.approx(expected, rel=1e-12)
    assert steps["loss"].iloc[0] != smoothed["loss"].iloc[4]  # the input is left alone
    default = plotting.rolling_mean(steps, "loss")  # a thirtieth of 60 steps
    pd.testing.assert_frame_equal(default, plotting.rolling_mean(steps, "loss", 2))
    by_config = plotting.rolling_mean(steps, "loss", 3, by=["config"])
    sls = steps[steps["config"] == "SLS"]["loss"]
    assert by_config.loc[sls.index, "loss"].tolist() == pytest.approx(
        sls.rolling(3, min_periods=1).mean().tolist(), rel=1e-12)  # across the seam of seeds


@pytest.mark.parametrize("column, window, error, match", [
    ("loss", 0, ValueError, "Invalid window value: 0"),
    ("loss", 2.5, TypeError, "window must be an int"),
    ("acc", 3, ValueError, r"Invalid column value: \['acc'\]"),
])
def test_rolling_mean_rejects_bad_input(column, window, error, match):
    with pytest.raises(error, match=match):
        plotting.rolling_mean(runs_frames()[0], column, window)


@pytest.mark.parametrize("loss", ["batch", "full"])
def test_training_curves_draws_loss_over_accuracy_per_problem(loss):
    steps, evals = runs_frames()
    fig = plotting.training_curves({"A": (steps, evals), "B": (steps, evals)}, loss=loss,
                                   dashed=["SLS"])
    axes = np.array(fig.axes).reshape(2, 2)
    assert [ax.get_title() for ax in axes[0]] == ["A", "B"]
    assert axes[0, 0].get_ylabel() == plotting.CURVE_LOSSES[loss]
    assert axes[1, 0].get_ylabel() == "test accuracy" and axes[0, 0].get_yscale() == "log"
    lines = {line.get_label(): line for line in axes[0, 1].get_lines()}
    assert lines["SLS"].get_linestyle() == "--" and lines["SGD"].get_linestyle() == "-"
    top = (plotting.rolling_mean(steps, "loss") if loss == "batch" else evals)
    expected = top[top["config"] == "SGD"].groupby("step")[
        "loss" if loss == "batch" else "train_loss"].mean()
    assert list(lines["SGD"].get_ydata()) == pytest.approx(expected.tolist(), rel=1e-12)
    assert axes[0, 0].get_legend() is not None
    plt.close(fig)


@pytest.mark.parametrize("panels, loss, match", [
    ({}, "batch", "Invalid panels value"),
    ({"A": runs_frames()}, "test", "Invalid loss value: 'test'"),
    ({"A": (runs_frames()[0].drop(columns="loss"), runs_frames()[1])}, "batch",
     r"Invalid column value: \['loss'\]"),
    ({"A": (runs_frames()[0], runs_frames()[1].drop(columns="test_acc"))}, "full",
     r"Invalid column value: \['test_acc'\]"),
])
def test_training_curves_rejects_bad_input_before_drawing(panels, loss, match):
    figures = plt.get_fignums()
    with pytest.raises(ValueError, match=match):
        plotting.training_curves(panels, loss=loss)
    assert plt.get_fignums() == figures
