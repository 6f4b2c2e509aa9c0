"""Under torch.distributed every rank takes KFAC's, NKFAC's and AdaNKFAC's full-batch step.

Two gloo processes on the CPU each hold half of a batch and a ``DistributedDataParallel``
model: a Conv1d and a Linear layer, preconditioned, and a LayerNorm, stepped with SGD (AdamW
for AdaNKFAC). DDP averages the gradients; the optimizers average the Kronecker factors each
rank records from its own activations and output gradients, so every rank folds and inverts the
full-batch factors. Factors and inverses are refreshed several times (NKFAC's and AdaNKFAC's
inverses also by Newton-Schulz), and in the ``-overflow`` runs one example of the second
rank's half overflows the first layer's input factor at the first recording: that recording
is dropped on both ranks, as it is in the single-process run. Both ranks end equal, and equal
to the single-process run on the whole batch.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepoptim.optim import DIAGNOSTICS, KFAC, NKFAC, AdaNKFAC

from .ddp import batch, ddp, run_on_ranks, share
from .kronecker_problems import closure_for

STEPS = 6
CONFIGS = {
    "KFAC": (KFAC, {"lr": 0.05, "damping": 0.1, "cov_interval": 1, "inv_interval": 2}),
    "NKFAC": (NKFAC, {"lr": 0.05, "cov_interval": 2, "inv_interval": 1}),
    "AdaNKFAC": (AdaNKFAC, {"lr": 0.01, "cov_interval": 2, "inv_interval": 1}),
}
NAMES = [*CONFIGS, *(f"{name}-overflow" for name in CONFIGS)]


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Unflatten(1, (1, 6)), nn.Conv1d(1, 4, 3), nn.Tanh(), nn.Flatten(),
                         nn.LayerNorm(16), nn.Linear(16, 3)).double()


def train(name: str, rank: int = 0, world: int = 1) -> list[torch.Tensor]:
    """``STEPS`` steps of the optimizer ``name`` on this rank's share of the batch."""
    method, overflow = name.removesuffix("-overflow"), name.endswith("-overflow")
    x, y = batch()
    model = make_model()
    network, rows = ddp(model, world), share(rank, world, len(x))
    kind, settings = CONFIGS[method]
    optimizer = kind(model.parameters(), model=model, **settings)
    for step in range(STEPS):
        inputs = x.clone()
        if overflow and step == 0:  # a a^T is not finite; tanh' = 0 keeps the gradients finite
            inputs[-1, 0] = 1e200
        optimizer.step(closure_for(network, optimizer, inputs[rows], y[rows]))
    diagnostics = optimizer.state[DIAGNOSTICS]
    recordings = -(-STEPS // optimizer.cov_interval)
    assert diagnostics["dropped_recordings"] == overflow
    assert diagnostics["factor_updates"] == recordings - overflow
    assert diagnostics["inverse_refreshes"] == -(-STEPS // optimizer.inv_interval)
    assert diagnostics["failed_inverses"] == 0
    # without the first recording the layers take plain gradients until an inverse exists
    assert (diagnostics["plain_gradient_layers"] > 0) == overflow
    if method != "KFAC":
        assert diagnostics["newton_inversions"] > 0
    return [p.detach().clone() for p in model.parameters()]


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """The parameters each of two ranks ended with, per run."""
    return run_on_ranks(train, NAMES, tmp_path_factory.mktemp("ddp"))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_two_ranks_take_the_full_batch_step(ranks, name):
    expected = train(name)
    assert all(torch.equal(a, b) for a, b in zip(ranks[0][name], ranks[1][name], strict=True))
    torch.testing.assert_close(ranks[0][name], expected, rtol=1e-10, atol=1e-12)
    assert all(torch.isfinite(p).all() for p in expected)
    assert not any(torch.equal(a, b) for a, b in zip(expected, make_model().parameters(),
                                                     strict=True))
