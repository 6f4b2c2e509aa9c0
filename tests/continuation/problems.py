"""Small problems shared by the continuation tests: a regression task, a homotopy MLP, a task
whose path of minimisers is linear in lambda, and a checkpoint round trip."""

from __future__ import annotations

import dataclasses
import io

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import train
from deepoptim.continuation import Homotopy, homotopize

DTYPE = torch.float64


class Regression(train.Task):
    """``y = sin(3x)`` on 32 points of [-1, 1], mini-batches of 8, mean squared error."""

    def __init__(self) -> None:
        self.x = torch.linspace(-1, 1, 32, dtype=DTYPE).unsqueeze(1)
        self.y = torch.sin(3 * self.x)

    def batches(self, generator):
        for index in train.minibatches(32, 8, generator):
            yield self.x[index], self.y[index]

    def loss(self, model, batch):
        return F.mse_loss(model(batch[0]), batch[1])

    @torch.no_grad()
    def evaluate(self, model):
        return {"train_loss": float(F.mse_loss(model(self.x), self.y))}


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


def checkpoint(model, optimizer, task, history):
    """Through bytes and back, as a file would: only tensors, numbers, lists and dicts."""
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "task": task.state_dict(), "history": dataclasses.asdict(history)}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def without_time(records):
    return [{key: value for key, value in r.items() if key != "time"} for r in records]
