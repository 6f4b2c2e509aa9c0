"""Under torch.distributed every rank takes the same step, the full-batch one.

Two gloo processes on the CPU each hold half of a batch and a ``DistributedDataParallel``
model (which averages the gradients); the line searches average every loss they compare with
``global_mean``. After several steps both ranks' parameters equal the single-process run on the
whole batch, for every optimizer of the family.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepoptim.optim import (
    PLASLS,
    SLS,
    AdamSLS,
    KenSLS,
    LineSearch,
    SaLSa,
    split_parameters,
)
from deepoptim.optim.directions import Momentum

from .ddp import batch, ddp, run_on_ranks, share

STEPS = 6
CONFIGS = {
    "SLS": lambda model: SLS(model.parameters(), init_step_size=5.0),
    "SLS-goldstein": lambda model: SLS(model.parameters(), condition="goldstein"),
    "AdamSLS": lambda model: AdamSLS(model.parameters(), init_step_size=1.0),
    "KenSLS": lambda model: KenSLS(model.parameters()),
    "SaLSa": lambda model: SaLSa(model.parameters()),
    "PLASLS": lambda model: PLASLS(split_parameters(model), warmup_steps=2),
    "LineSearch-momentum": lambda model: LineSearch(model.parameters(), Momentum(0.9)),
}


def make_problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    return (model, *batch())


def train(name: str, rank: int = 0, world: int = 1) -> list[torch.Tensor]:
    """``STEPS`` steps of optimizer ``name`` on this rank's share of the batch."""
    model, x, y = make_problem()
    network, rows = ddp(model, world), share(rank, world, len(x))
    optimizer = CONFIGS[name](model)

    def closure():
        loss = nn.functional.cross_entropy(network(x[rows]), y[rows])
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    for _ in range(STEPS):
        optimizer.step(closure)
    return [p.detach().clone() for p in model.parameters()]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """The parameters each of two ranks ended with, per optimizer."""
    return run_on_ranks(train, list(CONFIGS), tmp_path_factory.mktemp("ddp"))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CONFIGS))
def test_two_ranks_take_the_full_batch_step(ranks, name):
    expected = train(name)
    assert all(torch.equal(a, b) for a, b in zip(ranks[0][name], ranks[1][name], strict=True))
    torch.testing.assert_close(ranks[0][name], expected, rtol=1e-10, atol=1e-12)
    assert not all(torch.equal(a, b) for a, b in zip(expected, make_problem()[0].parameters(),
                                                     strict=True))
