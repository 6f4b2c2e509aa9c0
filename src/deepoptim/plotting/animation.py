r"""Animations of training: the path on the landscape beside the Hessian spectrum.

One frame per checkpoint (GradVis's videos): on the left the loss surface of a plane (computed
once) with the trajectory projected onto it up to that checkpoint; on the right the spectral
density of the Hessian at that checkpoint (:math:`\log_{10}`, on one fixed grid and axis for every
frame; a linear axis of logarithms renders much faster than a logarithmic axis).
:func:`training_animation` returns a :class:`TrainingAnimation`, whose ``to_html`` is
``matplotlib``'s ``FuncAnimation.to_jshtml``: HTML and JavaScript with the frames embedded as
PNG images, which plays in a notebook and in the HTML book with no external tool (no ffmpeg,
no GIF encoder). The figure is a bare ``matplotlib.figure.Figure``, outside ``pyplot``, so a
notebook does not also show it as a still image. Keep frames few and small: each one is a PNG
inside the page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from deepoptim._checks import check_int_at_least, check_positive
from deepoptim.curvature import SpectralDensity, density_grid
from deepoptim.landscape import Surface

from .spectra import default_sigma
from .surfaces import plot_surface

__all__ = ["TrainingAnimation", "training_animation"]


@dataclasses.dataclass
class TrainingAnimation:
    """A rendered-on-demand animation and its figure."""

    figure: Figure
    animation: FuncAnimation
    num_frames: int

    def to_html(self) -> str:
        """The animation as self-contained HTML and JavaScript (frames embedded)."""
        return self.animation.to_jshtml(default_mode="once")


def training_animation(surface: Surface, coords: torch.Tensor, spectra: Sequence[SpectralDensity],
                       *, titles: Sequence[str] | None = None, sigma: float | None = None,
                       axis_labels: tuple[str, str] = ("direction 1", "direction 2"),
                       color="C0", figsize: tuple[float, float] = (8.0, 3.2), dpi: int = 72,
                       interval: int = 600, grid_points: int = 400,
                       floor: float = 1e-5) -> TrainingAnimation:
    """An animation with one frame per checkpoint.

    Args:
        surface: the plane's surface (two-dimensional), drawn once.
        coords: ``(T, 2)``, the checkpoints' coordinates in that plane.
        spectra: ``T`` spectral densities, one per checkpoint.
        titles: one title per frame (e.g. ``"step 200"``); default ``"checkpoint t"``.
        sigma: the densities' smoothing width; default 1% of the span of all their nodes.
        axis_labels: the labels of the surface's axes.
        color: the path's and the density's colour.
        figsize, dpi: the frame size in inches and its resolution (the page stores every frame).
        interval: milliseconds between frames.
        grid_points: points of the density grid.
        floor: the lower end of the density's logarithmic axis.
    """
    coords = torch.as_tensor(coords, dtype=torch.float64).cpu()
    if coords.dim() != 2 or coords.shape[1] != 2 or len(coords) == 0:
        raise ValueError("Invalid coords value: expected a (T, 2) tensor of coordinates")
    frames = len(coords)
    if len(spectra) != frames:
        raise ValueError(f"Invalid spectra value: {len(spectra)} densities for {frames} "
                         "checkpoints (expected one per checkpoint)")
    titles = [f"checkpoint {t}" for t in range(frames)] if titles is None else list(titles)
    if len(titles) != frames:
        raise ValueError(f"Invalid titles value: {len(titles)} titles for {frames} frames")
    check_int_at_least("dpi", dpi, 10)
    check_int_at_least("interval", interval, 1)
    check_positive("floor", floor)
    sigma = default_sigma(list(spectra)) if sigma is None else sigma
    check_positive("sigma", sigma)
    grid = density_grid(list(spectra), sigma, grid_points)
    densities = [s.density(grid, sigma).clamp_min(floor).log10().numpy() for s in spectra]

    figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=(1.0, 1.1))
    plot_surface(left, surface)
    left.set(xlabel=axis_labels[0], ylabel=axis_labels[1])
    (path,) = left.plot([], [], color=color, linewidth=1.5)
    (head,) = left.plot([], [], marker="o", color=color, markeredgecolor="k", linestyle="none")
    (curve,) = right.plot(grid.numpy(), densities[0], color=color)
    right.axvline(0.0, color="0.5", linewidth=0.6)
    right.set(ylim=(np.log10(floor), max(float(d.max()) for d in densities) + 0.3),
              xlabel="eigenvalue", ylabel="log$_{10}$ density")
    title = figure.suptitle(titles[0])
    figure.draw_without_rendering()  # lay the figure out once; frames only change data
    figure.set_layout_engine("none")

    def draw(frame: int):
        path.set_data(coords[:frame + 1, 0].numpy(), coords[:frame + 1, 1].numpy())
        head.set_data([float(coords[frame, 0])], [float(coords[frame, 1])])
        curve.set_ydata(densities[frame])
        title.set_text(titles[frame])
        return path, head, curve, title

    animation = FuncAnimation(figure, draw, frames=frames, interval=interval, blit=False)
    return TrainingAnimation(figure=figure, animation=animation, num_frames=frames)
