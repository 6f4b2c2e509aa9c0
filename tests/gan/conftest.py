"""A tiny float64 GAN and a ring mixture for the gan tests."""

import pytest
import torch

from deepoptim import data
from deepoptim.gan import GAN


def tiny_gan(seed: int = 0) -> GAN:
    """Latent 2, one hidden layer of 4 per player, float64 (22 generator parameters)."""
    torch.manual_seed(seed)
    return GAN(latent_dim=2, generator_hidden=(4,), discriminator_hidden=(4,)).double()


@pytest.fixture
def gan() -> GAN:
    return tiny_gan()


@pytest.fixture
def noise() -> torch.Tensor:
    return torch.randn(16, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.fixture
def real() -> torch.Tensor:
    points, _ = data.ring8().sample(16, generator=torch.Generator().manual_seed(2))
    return points.double()
