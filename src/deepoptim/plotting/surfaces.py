"""Drawing loss landscapes: a plane's surface and a trajectory projected onto it.

Each helper draws onto a given ``matplotlib`` axes and returns what it drew, so chapters and
:mod:`deepoptim.plotting.animation` compose them; colours are arguments (the book passes
:func:`deepoptim.plotting.color`). The surfaces and projections come from
:mod:`deepoptim.landscape`.

* :func:`plot_surface`: filled contours of a plane's loss (``log10`` by default, since losses
  around a minimum span decades), with the centre marked;
* :func:`plot_path`: a projected trajectory, its start and end marked.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from deepoptim._checks import check_int_at_least, check_positive
from deepoptim.landscape import Surface

__all__ = ["plot_path", "plot_surface"]


def plot_surface(ax: Axes, surface: Surface, *, levels: int | Sequence[float] = 20,
                 log: bool = True, cmap: str = "viridis", vmax: float | None = None):
    """Filled contours of a plane's loss on ``ax``; returns the contour set (for a colour bar).

    Args:
        ax: the axes.
        surface: a two-dimensional :class:`~deepoptim.landscape.Surface`.
        levels: number of contour levels, or the levels themselves (in the plotted units:
            :math:`\\log_{10}` of the loss if ``log``); give several surfaces the same levels
            to share one colour bar.
        log: contour :math:`\\log_{10}` of the loss.
        cmap: the colour map.
        vmax: clip the loss above this value first (keeps a far, high corner from taking every
            level); ``None``: no clipping.
    """
    if not isinstance(surface, Surface) or surface.y is None:
        raise ValueError("Invalid surface value: expected a two-dimensional Surface")
    if isinstance(levels, int):
        check_int_at_least("levels", levels, 2)
    else:
        levels = np.asarray(levels, dtype=float)
        if levels.ndim != 1 or len(levels) < 2 or not (np.diff(levels) > 0).all():
            raise ValueError("Invalid levels value: expected an int or increasing levels")
    loss = surface.loss.numpy()
    if vmax is not None:
        check_positive("vmax", vmax)
        loss = np.minimum(loss, vmax)
    values = np.log10(np.maximum(loss, 1e-12)) if log else loss
    contours = ax.contourf(surface.x.numpy(), surface.y.numpy(), values, levels=levels, cmap=cmap)
    ax.contour(surface.x.numpy(), surface.y.numpy(), values, levels=levels, colors="k",
               linewidths=0.3, alpha=0.4)
    ax.plot([0.0], [0.0], marker="*", color="white", markeredgecolor="k", markersize=11,
            linestyle="none")
    return contours


def plot_path(ax: Axes, coords: torch.Tensor, *, color, label: str | None = None,
              linewidth: float = 1.5) -> Line2D:
    """A projected path ``(T, 2)`` on ``ax``: a line, a circle at the start, a dot at the end."""
    points = torch.as_tensor(coords, dtype=torch.float64).cpu().numpy()
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError("Invalid coords value: expected a (T, 2) array of coordinates")
    (line,) = ax.plot(points[:, 0], points[:, 1], color=color, linewidth=linewidth, label=label)
    ax.plot(points[0, 0], points[0, 1], marker="o", markerfacecolor="none", color=color,
            linestyle="none")
    ax.plot(points[-1, 0], points[-1, 1], marker="o", color=color, linestyle="none")
    return line
