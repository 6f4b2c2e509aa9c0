"""Drawing landscapes: surfaces, paths, densities and the training animation as HTML."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from deepoptim.curvature import MatrixOperator, density_grid, slq  # noqa: E402
from deepoptim.landscape import Surface  # noqa: E402
from deepoptim.plotting import (  # noqa: E402
    default_sigma,
    plot_density,
    plot_path,
    plot_surface,
    training_animation,
)


def _bowl() -> Surface:
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)
    loss = 0.1 + x.unsqueeze(1) ** 2 + 2 * x.unsqueeze(0) ** 2
    return Surface(x=x, y=x, loss=loss, accuracy=None, center=torch.zeros(2),
                   directions=torch.eye(2))


def _spectra(count: int):
    return [slq(MatrixOperator(torch.diag(torch.linspace(-0.1, 1.0 + t, 12,
                                                          dtype=torch.float64))), 2, 6, seed=t)
            for t in range(count)]


def test_the_animation_is_self_contained_html_with_one_frame_per_checkpoint():
    coords = torch.tensor([[0.8, 0.8], [0.4, 0.3], [0.1, 0.05]], dtype=torch.float64)
    animation = training_animation(_bowl(), coords, _spectra(3), titles=["a", "b", "c"],
                                   figsize=(4, 2), dpi=30)
    html = animation.to_html()
    assert animation.num_frames == 3
    assert "<script" in html and html.count("data:image/png;base64") == 3


def test_the_drawing_helpers_draw():
    spectra = _spectra(2)
    figure, (left, right) = plt.subplots(1, 2)
    contours = plot_surface(left, _bowl(), levels=5, vmax=1.0)
    assert contours.levels.size > 1
    shared = plot_surface(right, _bowl(), levels=[-1.0, -0.5, 0.0, 0.5])
    assert list(shared.levels) == [-1.0, -0.5, 0.0, 0.5]
    line = plot_path(left, torch.tensor([[1.0, 1.0], [0.0, 0.0]]), color="C1", label="path")
    assert line.get_label() == "path"
    grid = density_grid(spectra, sigma=0.05)
    assert float(grid[0]) < float(spectra[0].nodes.min())
    drawn = plot_density(right, spectra[0], grid, 0.05, color="C0", floor=1e-3)
    assert right.get_yscale() == "log"
    expected = spectra[0].density(grid, 0.05).clamp_min(1e-3)
    assert list(drawn.get_ydata()) == expected.tolist()
    plt.close(figure)


def test_default_sigma_is_a_fraction_of_the_span_of_all_nodes():
    spectra = _spectra(2)
    low = min(float(s.nodes.min()) for s in spectra)
    high = max(float(s.nodes.max()) for s in spectra)
    assert default_sigma(spectra, 0.02) == 0.02 * (high - low)
    with pytest.raises(ValueError, match="Invalid spectra value"):
        default_sigma([])
    with pytest.raises(ValueError, match="Invalid fraction value: 0"):
        default_sigma(spectra, 0)


def test_bad_arguments_are_rejected():
    coords = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="Invalid spectra value"):
        training_animation(_bowl(), coords, _spectra(3))
    with pytest.raises(ValueError, match="Invalid titles value"):
        training_animation(_bowl(), coords, _spectra(2), titles=["only one"])
    with pytest.raises(ValueError, match="Invalid coords value"):
        training_animation(_bowl(), torch.zeros(2, 3), _spectra(2))
    line = Surface(x=torch.zeros(2), y=None, loss=torch.zeros(2), accuracy=None,
                   center=torch.zeros(1), directions=torch.ones(1, 1))
    figure, ax = plt.subplots()
    with pytest.raises(ValueError, match="Invalid surface value"):
        plot_surface(ax, line)
    with pytest.raises(ValueError, match="Invalid levels value"):
        plot_surface(ax, _bowl(), levels=[1.0, 0.0])
    plt.close(figure)
