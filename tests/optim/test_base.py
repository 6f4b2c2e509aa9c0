"""Tests of ``deepoptim.optim._base``: validators, the closure helpers and ``global_mean``."""

from __future__ import annotations

import datetime
import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from deepoptim.optim import (
    check_betas,
    check_choice,
    check_in_range,
    check_int_at_least,
    check_non_negative,
    check_positive,
    check_sparse_grad,
    global_mean,
    loss_and_grad,
    loss_only,
    require_closure,
)

CHECKS = {
    "lr": partial(check_non_negative, "lr"),
    "eps": partial(check_positive, "eps"),
    "momentum": partial(check_in_range, "momentum", low=0.0, high=1.0),
    "dampening": partial(check_in_range, "dampening", low=0.0, high=1.0, high_inclusive=True),
    "c1": partial(check_in_range, "c1", low=0.0, high=1.0, low_inclusive=False),
    "betas": check_betas,
    "max_ls_steps": partial(check_int_at_least, "max_ls_steps", minimum=1),
    "line_search_fn": partial(check_choice, "line_search_fn", choices=("armijo", "wolfe")),
}
"""Each validator bound to a typical hyperparameter, by name."""


def _readable(value: object) -> str | None:
    """Test ids: names and messages as they are, other values as their repr."""
    return None if isinstance(value, str) else repr(value)


@pytest.mark.parametrize(
    ("check", "value"),
    [
        ("lr", 0),
        ("lr", 0.1),
        ("lr", np.float32(0.1)),
        ("eps", 1e-8),
        ("eps", math.inf),
        ("momentum", 0.0),
        ("momentum", 0.99),
        ("dampening", 1.0),
        ("c1", 1e-4),
        ("betas", (0.9, 0.999)),
        ("betas", [0.0, 0.5]),
        ("max_ls_steps", 1),
        ("max_ls_steps", np.int64(3)),
        ("line_search_fn", "wolfe"),
    ],
    ids=_readable,
)
def test_validators_accept_valid_values(check, value):
    CHECKS[check](value)


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        ("lr", -1, "Invalid lr value: -1"),
        ("lr", math.nan, "Invalid lr value: nan"),
        ("eps", 0.0, "Invalid eps value: 0.0"),
        ("momentum", 1.0, "Invalid momentum value: 1.0"),
        ("momentum", -0.1, "Invalid momentum value: -0.1"),
        ("dampening", 1.5, "Invalid dampening value: 1.5"),
        ("c1", 0.0, "Invalid c1 value: 0.0"),
        ("c1", 1.0, "Invalid c1 value: 1.0"),
        ("betas", (1.0, 0.0), "Invalid beta parameter at index 0: 1.0"),
        ("betas", (0.9, -0.1), "Invalid beta parameter at index 1: -0.1"),
        ("betas", (math.nan, 0.9), "Invalid beta parameter at index 0: nan"),
        ("max_ls_steps", 0, "Invalid max_ls_steps value: 0"),
        (
            "line_search_fn",
            "strong",
            "Invalid line_search_fn value: 'strong' (expected one of 'armijo', 'wolfe')",
        ),
    ],
    ids=_readable,
)
def test_validators_reject_out_of_range_values(check, value, message):
    with pytest.raises(ValueError) as excinfo:
        CHECKS[check](value)
    assert str(excinfo.value) == message


@pytest.mark.parametrize(
    ("check", "value"),
    [
        ("lr", "0.1"),
        ("lr", None),
        ("lr", True),
        ("lr", torch.tensor(0.1)),
        ("eps", 1j),
        ("momentum", [0.9]),
        ("betas", 0.9),
        ("betas", (0.9,)),
        ("betas", (0.9, 0.99, 0.999)),
        ("betas", (0.9, "0.999")),
        ("max_ls_steps", 2.0),
        ("max_ls_steps", True),
    ],
    ids=_readable,
)
def test_validators_reject_wrong_types(check, value):
    with pytest.raises(TypeError):
        CHECKS[check](value)


def test_wrong_type_message_names_the_hyperparameter():
    with pytest.raises(TypeError, match="^lr must be a real number, got str$"):
        check_non_negative("lr", "0.1")
    with pytest.raises(TypeError, match="^max_ls_steps must be an int, got float$"):
        check_int_at_least("max_ls_steps", 2.0, 1)


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
