"""Mode statistics on hand-made samples, and the two mixtures."""

import math

import pytest
import torch

from deepoptim import data
from deepoptim.gan import mode_statistics


def test_counts_by_construction():
    mixture = data.ring8()
    centers, std = mixture.centers, mixture.std
    offset = torch.tensor([2 * std, 0.0])  # inside 3 std
    samples = torch.cat([
        centers[0].repeat(30, 1), centers[1].repeat(25, 1) + offset,  # two covered modes
        centers[2].repeat(10, 1),  # high quality, but too few to cover mode 2
        centers[3].repeat(35, 1) + 5 * offset,  # near mode 3, of low quality
    ])
    stats = mode_statistics(samples, centers, std)
    assert stats["modes"] == 2
    assert stats["high_quality"] == pytest.approx(65 / 100)
    p = torch.tensor([30, 25, 10, 35], dtype=torch.float64) / 100
    assert stats["reverse_kl"] == pytest.approx(float((p * (p * 8).log()).sum()))


def test_even_spread_and_collapse_are_the_extremes():
    grid = data.grid25()
    even = mode_statistics(grid.centers.repeat(20, 1), grid.centers, grid.std)
    assert even == {"modes": 25, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    collapsed = mode_statistics(grid.centers[:1].repeat(500, 1), grid.centers, grid.std)
    assert collapsed["modes"] == 1
    assert collapsed["reverse_kl"] == pytest.approx(math.log(25))


def test_non_finite_samples_count_as_low_quality():
    ring = data.ring8()
    samples = torch.cat([ring.centers[:1].repeat(20, 1), torch.full((20, 2), float("nan"))])
    stats = mode_statistics(samples, ring.centers, ring.std)
    assert stats["modes"] == 1 and stats["high_quality"] == 0.5
    assert math.isnan(mode_statistics(samples[20:], ring.centers, ring.std)["reverse_kl"])


def test_bad_inputs_raise():
    ring = data.ring8()
    with pytest.raises(ValueError, match="samples"):
        mode_statistics(torch.zeros(5, 3), ring.centers, ring.std)
    with pytest.raises(ValueError, match="samples"):
        mode_statistics(torch.zeros(5), ring.centers, ring.std)
    with pytest.raises(TypeError, match="centers"):
        mode_statistics(torch.zeros(5, 2), [[0.0, 0.0]], ring.std)
    with pytest.raises(ValueError, match="std"):
        mode_statistics(torch.zeros(5, 2), ring.centers, 0.0)
    with pytest.raises(ValueError, match="min_count"):
        mode_statistics(torch.zeros(5, 2), ring.centers, ring.std, min_count=0)


def test_ring8_and_grid25_centres():
    ring, grid = data.ring8(), data.grid25()
    assert ring.centers.shape == (8, 2) and ring.std == 0.02
    torch.testing.assert_close(ring.centers.norm(dim=1), torch.full((8,), 2.0))
    assert grid.centers.shape == (25, 2) and grid.std == 0.05
    assert sorted(set(grid.centers[:, 0].tolist())) == [-4.0, -2.0, 0.0, 2.0, 4.0]
