"""Drawing helpers for surfaces, projected paths and spectral densities.

Each helper draws onto a given ``matplotlib`` axes and returns what it drew, so chapters and
:mod:`deepoptim.landscape.animation` compose them; colours are arguments (the book passes
:func:`deepoptim.plotting.color`).

* :func:`plot_surface`: filled contours of a plane's loss (``log10`` by default, since losses
  around a minimum span decades), with the centre marked;
* :func:`plot_path`: a projected trajectory, its start and end marked;
* :func:`plot_density`: a smoothed spectral density on a logarithmic axis (the bulk near zero is
  orders of magnitude above the outliers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from deepoptim._checks import check_int_at_least, check_positive
from deepoptim.curvature import SpectralDensity

from .surface import Surface

__all__ = ["default_sigma", "density_grid", "plot_density", "plot_path", "plot_surface"]


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


def density_grid(spectra: list[SpectralDensity], sigma: float, num_points: int = 400,
                 margin: float = 5.0) -> torch.Tensor:
    """One grid covering the nodes of several densities (with ``margin`` sigmas each side)."""
    if not spectra or not all(isinstance(s, SpectralDensity) for s in spectra):
        raise ValueError("Invalid spectra value: expected a non-empty list of SpectralDensity")
    check_positive("sigma", sigma)
    check_int_at_least("num_points", num_points, 2)
    low = min(float(s.nodes.min()) for s in spectra) - margin * sigma
    high = max(float(s.nodes.max()) for s in spectra) + margin * sigma
    return torch.linspace(low, high, num_points, dtype=torch.float64)


def plot_density(ax: Axes, density: SpectralDensity, grid: torch.Tensor, sigma: float, *,
                 color, label: str | None = None, floor: float = 1e-5) -> Line2D:
    """The smoothed density on ``grid`` on a logarithmic y axis (values below ``floor`` are
    drawn at ``floor``)."""
    check_positive("floor", floor)
    values = density.density(grid, sigma).clamp_min(floor)
    (line,) = ax.plot(grid.numpy(), values.numpy(), color=color, label=label)
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    return line


def default_sigma(spectra: list[SpectralDensity], fraction: float = 0.01) -> float:
    """A smoothing width: ``fraction`` of the span of all nodes (at least a tiny positive)."""
    low = min(float(s.nodes.min()) for s in spectra)
    high = max(float(s.nodes.max()) for s in spectra)
    return max(fraction * (high - low), math.ulp(1.0))
