"""The learning-rate schedules follow their formulas, and bad input is rejected."""

import math

import pytest
import torch
from torch import nn

from deepoptim import schedules


def sgd(lr: float) -> torch.optim.SGD:
    return torch.optim.SGD(nn.Linear(2, 3).parameters(), lr=lr)


@pytest.mark.parametrize("name, expected", [
    ("constant", [1.0, 1.0, 1.0, 1.0, 1.0]),
    ("cosine", [1.0 * 0.5 * (1 + math.cos(math.pi * t / 4)) for t in range(5)]),
    ("warmup_cosine", [0.5, 1.0, 1.0, 0.5 * (1 + math.cos(math.pi / 2)), 0.0]),
])
def test_schedules_follow_their_formulas(name, expected):
    optimizer = sgd(2.0)
    schedule = schedules.make_schedule(optimizer, name, steps=4, warmup_fraction=0.5)
    seen = []
    for _ in range(5):
        seen.append(optimizer.param_groups[0]["lr"] / 2.0)
        optimizer.step()
        schedule.step()
    assert seen == pytest.approx(expected, abs=1e-12)


def test_warmup_cosine_without_warmup_is_the_cosine():
    factors = {}
    for name, fraction in (("cosine", 0.5), ("warmup_cosine", 0.0)):
        optimizer = sgd(1.0)
        schedule = schedules.make_schedule(optimizer, name, steps=6, warmup_fraction=fraction)
        factors[name] = []
        for _ in range(7):
            factors[name].append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
    assert factors["warmup_cosine"] == factors["cosine"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"name": "step", "steps": 3}, ValueError, "Invalid schedule value: 'step'"),
    ({"name": "cosine", "steps": 0}, ValueError, "Invalid steps value: 0"),
    ({"name": "cosine", "steps": 3.0}, TypeError, "steps must be an int"),
    ({"name": "warmup_cosine", "steps": 3, "warmup_fraction": 1.5}, ValueError,
     "Invalid warmup_fraction value: 1.5"),
])
def test_bad_input_is_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        schedules.make_schedule(sgd(1.0), **kwargs)
