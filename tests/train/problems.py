"""Small problems shared by the training-loop tests (a 3-class data set and its MLP, a 1-D
regression) and the continuation tests (that regression, a checkpoint round trip)."""

from __future__ import annotations

import dataclasses
import io

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import data, train


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


class Regression(train.Task):
    """``y = sin(3x)`` on 32 points of [-1, 1], mini-batches of 8, mean squared error."""

    def __init__(self) -> None:
        self.x = torch.linspace(-1, 1, 32, dtype=torch.float64).unsqueeze(1)
        self.y = torch.sin(3 * self.x)

    def batches(self, generator):
        for index in train.minibatches(32, 8, generator):
            yield self.x[index], self.y[index]

    def loss(self, model, batch):
        return F.mse_loss(model(batch[0]), batch[1])

    @torch.no_grad()
    def evaluate(self, model):
        return {"train_loss": float(F.mse_loss(model(self.x), self.y))}


def checkpoint(model, optimizer, task, history):
    """Through bytes and back, as a file would: only tensors, numbers, lists and dicts."""
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "task": task.state_dict(), "history": dataclasses.asdict(history)}, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def without_time(records):
    return [{key: value for key, value in r.items() if key != "time"} for r in records]
