"""Training curves: the mean over seeds with a band of one standard deviation.

Plotting helpers take tidy data frames (one row per seed and step) and draw the mean with a
band of one standard deviation across seeds, in each optimizer's colour
(:func:`~deepoptim.plotting.color`): :func:`mean_band` on one axes, :func:`against_time` a
metric against wall time, :func:`training_curves` the
loss and test accuracy of several problems side by side, with per-step series smoothed within
each run by :func:`rolling_mean`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from deepoptim._checks import check_choice, check_int_at_least

from .style import color

__all__ = ["CURVE_LOSSES", "against_time", "mean_band", "rolling_mean", "training_curves"]


def _require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"Invalid column value: {missing} not in {list(frame.columns)}")


def mean_band(ax: Axes, frame: pd.DataFrame, *, x: str, y: str, hue: str,
              logy: bool = False, label_suffix: str = "", linestyle: str = "-") -> Axes:
    """Plot the mean of ``y`` over seeds against ``x`` per ``hue``, with a ±1 std band.

    ``frame`` is tidy: one row per (hue, seed, x). Colours follow :func:`color`.
    """
    _require_columns(frame, (x, y, hue))
    for name, group in frame.groupby(hue, sort=False):
        stats = group.groupby(x)[y].agg(["mean", "std"]).fillna(0.0)
        ax.plot(stats.index, stats["mean"], color=color(str(name)), linestyle=linestyle,
                label=f"{name}{label_suffix}")
        ax.fill_between(stats.index, stats["mean"] - stats["std"],
                        stats["mean"] + stats["std"], color=color(str(name)), alpha=0.2,
                        linewidth=0)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def against_time(ax: Axes, frame: pd.DataFrame, *, y: str, hue: str = "config",
                 time: str = "time", step: str = "step", linestyle: str = "-") -> Axes:
    """Plot, per ``hue``, the mean of ``y`` over seeds against the mean wall time at each
    evaluation ``step`` (runs of one configuration evaluate at the same steps, not at the same
    times). ``frame`` is tidy: one row per (hue, seed, step)."""
    _require_columns(frame, (hue, step, time, y))
    means = frame.groupby([hue, step], sort=False)[[time, y]].mean().reset_index()
    for name, group in means.groupby(hue, sort=False):
        ax.plot(group[time], group[y], color=color(str(name)), linestyle=linestyle,
                label=str(name))
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel(y)
    return ax


def rolling_mean(frame: pd.DataFrame, column: str, window: int | None = None,
                 by: Sequence[str] = ("config", "seed")) -> pd.DataFrame:
    """A copy of ``frame`` whose ``column`` is its rolling mean within each run.

    A run is a group of rows sharing the ``by`` labels (a configuration and a seed of
    :func:`deepoptim.studies.run_grid`), in the frame's order; the mean at a row is over it
    and the ``window - 1`` rows before it in its run (fewer at the run's start). The default
    ``window`` is a thirtieth of the longest run, ``max(1, last step // 30)`` of the column
    ``step``.
    """
    _require_columns(frame, [column, *by, *(["step"] if window is None else [])])
    if window is None:
        window = max(1, int(frame["step"].max()) // 30)
    check_int_at_least("window", window, 1)
    out = frame.copy()
    out[column] = (frame.groupby(list(by), sort=False)[column]
                   .transform(lambda s: s.rolling(window, min_periods=1).mean()))
    return out


#: What :func:`training_curves` shows as the loss: the mini-batch loss of every step, or the
#: loss on the whole training set at every evaluation.
CURVE_LOSSES = {"batch": "mini-batch loss (rolling mean)", "full": "training loss (full set)"}


def _draw_dashed_last(ax: Axes, frame: pd.DataFrame, y: str, logy: bool,
                      dashed: Collection[str]) -> None:
    is_dashed = frame["config"].isin(list(dashed))
    for part, linestyle in ((frame[~is_dashed], "-"), (frame[is_dashed], "--")):
        if len(part):
            mean_band(ax, part, x="step", y=y, hue="config", logy=logy, linestyle=linestyle)


def training_curves(panels: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], *,
                    loss: str = "batch", dashed: Collection[str] = ()) -> Figure:
    """Loss (top, log scale) and test accuracy (bottom) over training, a column per problem.

    ``panels`` maps a column's title to the ``(steps, evals)`` frames of its runs
    (:class:`deepoptim.studies.Runs`), one curve per ``config``: the mean over seeds with a
    band of one standard deviation (:func:`mean_band`). ``loss="batch"`` shows the mini-batch
    ``loss`` of ``steps`` as a :func:`rolling_mean` over a thirtieth of the run;
    ``loss="full"`` the ``train_loss`` of ``evals``. Configurations in ``dashed`` are drawn
    dashed, after the others. The legend is in the first column.
    """
    check_choice("loss", loss, tuple(CURVE_LOSSES))
    if not panels:
        raise ValueError("Invalid panels value: {} (give at least one problem)")
    y = "loss" if loss == "batch" else "train_loss"
    rows = []
    for steps, evals in panels.values():
        top = rolling_mean(steps, y) if loss == "batch" else evals
        _require_columns(top, ("step", y, "config"))
        _require_columns(evals, ("step", "test_acc", "config"))
        rows.append(((top, y, True), (evals, "test_acc", False)))
    fig, axes = plt.subplots(2, len(panels), figsize=(13 * len(panels) / 3, 6.6), sharex="col",
                             squeeze=False)
    for column, (title, row) in enumerate(zip(panels, rows, strict=True)):
        for ax, (frame, curve, logy) in zip(axes[:, column], row, strict=True):
            _draw_dashed_last(ax, frame, curve, logy, dashed)
        axes[0, column].set(title=title, ylabel=CURVE_LOSSES[loss])
        axes[1, column].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
