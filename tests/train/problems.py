"""Small problems shared by the training-loop tests: a 3-class data set and its MLP."""

from __future__ import annotations

import torch
from torch import nn

from deepoptim import data


def tiny_data(dtype: torch.dtype = torch.float64) -> data.ClassificationData:
    """60 Gaussian points in 4-D, 3 classes by the signs of two coordinates (40 train, 20 test)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(60, 4, generator=generator, dtype=dtype)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    return data.ClassificationData("tiny", x[:40], y[:40], x[40:], y[40:], num_classes=3)


def tiny_model(dtype: torch.dtype = torch.float64, dropout: float = 0.0) -> nn.Module:
    """A 4-8-3 tanh MLP (optionally with dropout), initialised from seed 0."""
    torch.manual_seed(0)
    layers = [nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)]
    if dropout:
        layers.insert(2, nn.Dropout(dropout))
    return nn.Sequential(*layers).to(dtype)
