"""Tests of ``deepoptim.optim._base``: optimizer-specific checks, closure helpers, ``global_mean``.

The package's generic checks (``deepoptim._checks``) are tested in ``tests/test_checks.py``.
"""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from deepoptim.optim._base import (
    check_betas,
    check_sparse_grad,
    global_mean,
    loss_and_grad,
    loss_only,
    require_closure,
)


@pytest.mark.parametrize("betas", [(0.9, 0.999), [0.0, 0.5], (np.float32(0.9), 0)], ids=repr)
def test_check_betas_accepts_pairs_in_range(betas):
    check_betas(betas)


@pytest.mark.parametrize(
    ("betas", "message"),
    [
        ((1.0, 0.0), "Invalid beta parameter at index 0: 1.0"),
        ((0.9, -0.1), "Invalid beta parameter at index 1: -0.1"),
        ((math.nan, 0.9), "Invalid beta parameter at index 0: nan"),
    ],
    ids=repr,
)
def test_check_betas_rejects_out_of_range_with_torchs_message(betas, message):
    with pytest.raises(ValueError) as excinfo:
        check_betas(betas)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    "betas", [0.9, (0.9,), (0.9, 0.99, 0.999), (0.9, "0.999"), (True, 0.9)], ids=repr
)
def test_check_betas_rejects_wrong_types(betas):
    with pytest.raises(TypeError):
        check_betas(betas)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_check_sparse_grad():
    dense = torch.ones(2, 3)
    check_sparse_grad(dense, "Adam")
    for sparse in (dense.to_sparse(), dense.to_sparse_csr()):
        with pytest.raises(RuntimeError, match="^Adam does not support sparse gradients$"):
            check_sparse_grad(sparse, "Adam")


def test_require_closure():
    require_closure(lambda: torch.tensor(0.0), "SLS")
    with pytest.raises(RuntimeError, match="^SLS requires a closure"):
        require_closure(None, "SLS")


def _convention_closure(param: torch.Tensor):
    """A closure in the package convention on the loss ``sum(param^2)``."""

    def closure() -> torch.Tensor:
        loss = param.pow(2).sum()
        if torch.is_grad_enabled():
            param.grad = None
            loss.backward()
        return loss

    return closure


def test_loss_and_grad_populates_grads_even_under_no_grad():
    param = torch.tensor([1.0, -2.0], requires_grad=True)
    with torch.no_grad():
        loss = loss_and_grad(_convention_closure(param))
    assert loss.item() == 5.0
    torch.testing.assert_close(param.grad, torch.tensor([2.0, -4.0]))


def test_loss_only_leaves_grads_untouched():
    param = torch.tensor([1.0, -2.0], requires_grad=True)
    closure = _convention_closure(param)
    assert loss_only(closure).item() == 5.0
    assert param.grad is None
    loss_and_grad(closure)
    with torch.no_grad():
        param.mul_(2.0)
    loss = loss_only(closure)
    assert loss.item() == 20.0 and loss.grad_fn is None
    torch.testing.assert_close(param.grad, torch.tensor([2.0, -4.0]))


def test_global_mean_is_identity_without_process_group():
    loss = torch.tensor(3.0)
    assert global_mean(loss) is loss


def _mean_on_rank(rank: int, world_size: int, init_file: str) -> None:
    """Worker: each rank contributes ``rank + 1`` and must get the mean of all contributions."""
    dist.init_process_group(
        "gloo",
        init_method=f"file://{init_file}",
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=30),
    )
    try:
        loss = torch.tensor(float(rank + 1))
        mean = global_mean(loss)
        assert mean.item() == (world_size + 1) / 2
        assert loss.item() == rank + 1
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_global_mean_averages_over_ranks(tmp_path):
    """Two CPU processes in a gloo group (about 4 s: each spawned process imports torch)."""
    mp.spawn(_mean_on_rank, args=(2, str(tmp_path / "init")), nprocs=2, join=True)
