"""Small float64 problems shared by the landscape tests (the curvature tests' MLP, and a
convolution with batch normalisation)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curvature.problems import Problem, make_mlp_problem


def mlp_problem(samples: int = 30, seed: int = 0) -> Problem:
    """A 4-6-3 tanh MLP with cross-entropy on random data (51 parameters), float64."""
    return make_mlp_problem(samples, seed, features=4)


class ConvBN(nn.Module):
    """A 1-D convolution, batch normalisation and a linear read-out (filters and buffers)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 3, 3)
        self.norm = nn.BatchNorm1d(3)
        self.head = nn.Linear(3 * 6, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.norm(self.conv(x.unsqueeze(1)))).flatten(1))


def conv_problem(samples: int = 12, seed: int = 0) -> Problem:
    """:class:`ConvBN` on signals of length 8, float64, with non-trivial running statistics."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = ConvBN().double()
    inputs = torch.randn(samples, 8, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, 2, (samples,), generator=generator)
    with torch.no_grad():
        model.train()
        model(inputs)  # updates the running statistics
    model.eval()
    return Problem(model, F.cross_entropy, inputs, targets)


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer, copied."""
    return {name: t.detach().clone() for name, t in model.state_dict(keep_vars=True).items()}


def assert_unchanged(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    """Parameters and buffers are bit for bit as ``before``; no gradient was stored."""
    after = model.state_dict(keep_vars=True)
    assert list(after) == list(before)
    for name, tensor in before.items():
        assert torch.equal(after[name].detach(), tensor), name
    assert all(p.grad is None for p in model.parameters())
