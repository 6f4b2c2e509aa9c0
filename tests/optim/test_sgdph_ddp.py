"""Under torch.distributed every rank takes SGD-PH's full-batch step.

Two gloo processes on the CPU each hold half of a batch. ``DistributedDataParallel`` cannot
average gradients computed with ``create_graph=True`` (on torch 2.13 its reducer fails with "a
leaf Variable that requires grad is being used in an in-place operation"), so the closure
averages them itself: each ``p.grad`` holds the all-reduced value and the local graph (the
mean plus the local gradient minus its detached value, which is exactly 0), and SGD-PH
all-reduces its curvature probes. The model
normalises with LayerNorm (per sample), so the loss is a mean of per-sample terms and the
average of the two half-batch probes is the full-batch probe. After several steps both ranks'
parameters equal the single-process run on the whole batch, for both probes.
"""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
from torch import nn

from deepoptim.optim import SGDPH, channelwise_param_groups

from .ddp import batch, run_on_ranks, share

STEPS = 6
PROBES = ("ones", "exact")


def make_problem():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Tanh(), nn.Linear(8, 3)).double()
    return (model, *batch())


def train(probe: str, rank: int = 0, world: int = 1) -> list[torch.Tensor]:
    """``STEPS`` SGD-PH steps on this rank's share of the batch."""
    model, x, y = make_problem()
    rows = share(rank, world, len(x))
    optimizer = SGDPH(channelwise_param_groups(model, probe=probe), lr=0.1, tau=0.01,
                      round_robin=False)

    def closure():
        loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
        if torch.is_grad_enabled():
            params = list(model.parameters())
            grads = torch.autograd.grad(loss, params, create_graph=True)
            for p, grad in zip(params, grads, strict=True):
                mean = grad.detach().clone()
                if world > 1:
                    dist.all_reduce(mean)
                    mean /= world
                p.grad = mean + (grad - grad.detach())  # exactly mean, with the graph
        return loss

    for _ in range(STEPS):
        optimizer.step(closure)
    assert optimizer.state["diagnostics"]["refreshes"] == 2 * STEPS
    return [p.detach().clone() for p in model.parameters()]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """The parameters each of two ranks ended with, per probe."""
    return run_on_ranks(train, PROBES, tmp_path_factory.mktemp("ddp"))


@pytest.mark.slow
@pytest.mark.parametrize("probe", PROBES)
def test_two_ranks_take_the_full_batch_step(ranks, probe):
    expected = train(probe)
    assert all(torch.equal(a, b) for a, b in zip(ranks[0][probe], ranks[1][probe], strict=True))
    torch.testing.assert_close(ranks[0][probe], expected, rtol=1e-10, atol=1e-12)
