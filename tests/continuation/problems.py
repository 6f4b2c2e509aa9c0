"""Small problems shared by the continuation tests: a homotopy MLP and a task whose path of
minimisers is linear in lambda (the regression task and the checkpoint round trip are the
training loop's tests', in ``tests/train/problems.py``)."""

from __future__ import annotations

import torch
from torch import nn

from deepoptim import train
from deepoptim.continuation import Homotopy, homotopize

DTYPE = torch.float64


def homotopy_mlp(activation: type[nn.Module] = nn.Tanh, seed: int = 0
                 ) -> tuple[nn.Module, Homotopy]:
    """A 1-8-8-1 MLP in float64 whose activations share one homotopy (at lambda = 0)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(1, 8), activation(), nn.Linear(8, 8), activation(),
                          nn.Linear(8, 1)).to(DTYPE)
    return model, homotopize(model)


class Theta(nn.Module):
    """One parameter vector, the whole model."""

    def __init__(self, size: int = 3) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(size, dtype=DTYPE))


class LinearPath(train.Task):
    """``J(theta; lam) = |theta - a - lam b|^2 / 2``: its minimisers ``a + lam b`` are a line."""

    def __init__(self, homotopy: Homotopy) -> None:
        self.homotopy = homotopy
        self.a = torch.tensor([1.0, -2.0, 0.5], dtype=DTYPE)
        self.b = torch.tensor([3.0, 1.0, -4.0], dtype=DTYPE)

    def solution(self, lam: float) -> torch.Tensor:
        return self.a + lam * self.b

    def batches(self, generator):
        while True:
            yield torch.zeros(1, dtype=DTYPE)

    def loss(self, model, batch):
        return 0.5 * (model.theta - self.a - self.homotopy.value * self.b).square().sum()

    @torch.no_grad()
    def evaluate(self, model):
        return {"loss": float(self.loss(model, None))}
