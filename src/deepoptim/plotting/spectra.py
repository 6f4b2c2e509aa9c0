"""Drawing spectral densities: the smoothed SLQ density on a logarithmic axis.

The density :math:`\\hat\\phi_\\sigma` of a :class:`~deepoptim.curvature.SpectralDensity` is
evaluated on a grid from :func:`deepoptim.curvature.density_grid`; the bulk near zero is orders
of magnitude above the outliers, so it is drawn on a logarithmic axis.

* :func:`plot_density`: one density on given axes;
* :func:`default_sigma`: a smoothing width from the span of several densities' nodes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from deepoptim._checks import check_positive
from deepoptim.curvature import SpectralDensity

__all__ = ["default_sigma", "plot_density"]


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


def default_sigma(spectra: Sequence[SpectralDensity], fraction: float = 0.01) -> float:
    """A smoothing width: ``fraction`` of the span of all nodes (at least a tiny positive)."""
    if not spectra or not all(isinstance(s, SpectralDensity) for s in spectra):
        raise ValueError("Invalid spectra value: expected a non-empty sequence of "
                         "SpectralDensity")
    check_positive("fraction", fraction)
    low = min(float(s.nodes.min()) for s in spectra)
    high = max(float(s.nodes.max()) for s in spectra)
    return max(fraction * (high - low), math.ulp(1.0))
