"""Small float64 problems with exact answers, shared by the curvature tests (and fixtures)."""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn


@dataclasses.dataclass
class Problem:
    """A model, its loss and a data set small enough for a dense Hessian."""

    model: nn.Module
    loss_fn: object
    inputs: torch.Tensor
    targets: torch.Tensor


def make_mlp_problem(samples: int = 40, seed: int = 0, features: int = 5) -> Problem:
    """A ``features``-6-3 tanh MLP with cross-entropy on random data, float64 (57 parameters
    with 5 features)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(features, 6), nn.Tanh(), nn.Linear(6, 3)).double()
    inputs = torch.randn(samples, features, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 3, (samples,), generator=generator)
    return Problem(model, F.cross_entropy, inputs, targets)


def make_batchnorm_problem(samples: int = 24, seed: int = 0) -> Problem:
    """A 4-5-3 MLP with BatchNorm1d (trained a little, so running statistics are not trivial)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 3)).double()
    inputs = torch.randn(samples, 4, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 3, (samples,), generator=generator)
    with torch.no_grad():
        model.train()
        model(inputs)  # one forward pass in train mode updates the running statistics
    return Problem(model, F.cross_entropy, inputs, targets)
