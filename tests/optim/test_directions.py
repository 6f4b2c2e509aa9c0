"""Search directions: each equals the step of the optimizer it comes from, on plain tensors."""

from __future__ import annotations

import copy
import dataclasses
from typing import ClassVar

import pytest
import torch

from deepoptim.optim.directions import (
    DIRECTIONS,
    Adam,
    Direction,
    Directions,
    Gradient,
    Momentum,
    Sign,
)


def loss_of(params: list[torch.Tensor], step: int) -> torch.Tensor:
    """A different smooth loss at every step, so momentum and moments see varying gradients."""
    a, b = params
    return ((a - step) ** 2).sum() + torch.sin(b * (step + 1)).sum() + (a[:2] * b).sum()


def fresh_params() -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    return [torch.randn(3, generator=gen, dtype=torch.float64).requires_grad_(),
            torch.randn(2, generator=gen, dtype=torch.float64).requires_grad_()]


def grads_at(params: list[torch.Tensor], step: int) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss_of(params, step), params))


def direction_steps(direction: Direction, lr: float, steps: int = 6) -> list[torch.Tensor]:
    """Parameters after ``steps`` steps w <- w - lr * update of ``direction``."""
    params = [p.detach().clone().requires_grad_() for p in fresh_params()]
    states = [{} for _ in params]
    for step in range(steps):
        update = direction(grads_at(params, step), states).update
        with torch.no_grad():
            torch._foreach_add_(params, update, alpha=-lr)
    return params


def torch_steps(make, steps: int = 6) -> list[torch.Tensor]:
    params = fresh_params()
    optimizer = make(params)
    for step in range(steps):
        optimizer.zero_grad()
        loss_of(params, step).backward()
        optimizer.step()
    return params


@pytest.mark.parametrize(("direction", "kwargs"), [
    (Momentum(0.9), {"momentum": 0.9}),
    (Momentum(0.8, dampening=0.3), {"momentum": 0.8, "dampening": 0.3}),
    (Momentum(0.7, nesterov=True), {"momentum": 0.7, "nesterov": True}),
    (Momentum(0.0), {}),
], ids=["heavy ball", "dampening", "nesterov", "no momentum"])
def test_momentum_is_torch_sgds_buffer(direction, kwargs):
    ours = direction_steps(direction, lr=0.05)
    theirs = torch_steps(lambda p: torch.optim.SGD(p, lr=0.05, **kwargs))
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=1e-14)


def test_adam_is_torch_adam():
    ours = direction_steps(Adam(betas=(0.8, 0.95), eps=1e-6), lr=0.01)
    theirs = torch_steps(lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-6))
    torch.testing.assert_close(ours, theirs, rtol=1e-14, atol=1e-14)


def test_adam_continues_from_torch_adams_own_state():
    """torch.optim.Adam's state (a tensor step count) can be handed to the direction: its
    update is the step Adam takes next (with lr=1)."""
    params = fresh_params()
    adam = torch.optim.Adam(params, lr=0.01)
    for step in range(3):
        adam.zero_grad()
        loss_of(params, step).backward()
        adam.step()
    grads = grads_at(params, 3)
    states = [copy.deepcopy(adam.state[p]) for p in params]
    update = Adam()(grads, states).update
    before = [p.detach().clone() for p in params]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    adam.param_groups[0]["lr"] = 1.0
    adam.step()
    taken = [b - p.detach() for b, p in zip(before, params, strict=True)]
    torch.testing.assert_close(update, taken, rtol=1e-12, atol=1e-14)
    assert [float(s["step"]) for s in states] == [4.0, 4.0]


def test_adam_searched_along_the_gradient_divides_by_the_same_denominator():
    grads = grads_at(fresh_params(), 0)
    states = [{}, {}]
    found = Adam(search_along="gradient", eps=0.0)(grads, states)
    # at the first step D = |g| (bias-corrected), so D^-1 g = sign(g) = D^-1 m_hat
    torch.testing.assert_close(found.search, [g.sign() for g in grads])
    torch.testing.assert_close(found.update, [g.sign() for g in grads])
    assert found.search is not found.update
    same = Adam()(grads, [{}, {}])
    assert same.search is same.update


def test_gradient_and_sign():
    grads = [torch.tensor([-2.0, 0.0, 3.0])]
    assert Gradient()(grads, [{}]).update[0] is grads[0]
    found = Sign()(grads, [{}])
    assert torch.equal(found.update[0], torch.tensor([-1.0, 0.0, 1.0]))
    assert found.search is found.update
    assert not Gradient.stateful and not Sign.stateful and Adam.stateful


def test_hyperparameters_round_trip_through_a_group():
    adam = Adam(betas=(0.5, 0.9), eps=1e-3, search_along="gradient")
    group = {"params": [], "lr": 1.0, **adam.values()}
    group["betas"] = list(group["betas"])  # what a state_dict round trip may give
    assert Adam.from_values(group) == adam
    assert Adam.from_values(group) is Adam.from_values(dict(group))  # one instance per config
    assert Adam.hyperparameters() == ("betas", "eps", "search_along")


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: Momentum(1.0), ValueError, "Invalid momentum value: 1.0"),
    (lambda: Momentum(0.9, dampening=0.5, nesterov=True), ValueError, "Invalid dampening"),
    (lambda: Momentum(0.9, nesterov=1), TypeError, "nesterov must be a bool"),
    (lambda: Adam(betas=(0.9, 1.0)), ValueError, "Invalid beta parameter at index 1"),
    (lambda: Adam(eps=-1.0), ValueError, "Invalid eps value: -1.0"),
    (lambda: Adam(search_along="momentum"), ValueError, "Invalid search_along value"),
])
def test_bad_hyperparameters_are_refused(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_every_direction_registers_by_name():
    assert {name: DIRECTIONS[name] for name in ("gradient", "momentum", "adam", "sign")} == {
        "gradient": Gradient, "momentum": Momentum, "adam": Adam, "sign": Sign}

    @dataclasses.dataclass(frozen=True)
    class Halved(Direction):
        name: ClassVar[str] = "halved-gradient-for-a-test"
        factor: float = 0.5

        def __call__(self, grads, states):
            return Directions.same(torch._foreach_mul(list(grads), self.factor))

    try:
        assert DIRECTIONS["halved-gradient-for-a-test"] is Halved
        with pytest.raises(ValueError, match="already the name of"):
            type("Clash", (Direction,), {"name": "adam", "__call__": Halved.__call__})
    finally:
        del DIRECTIONS["halved-gradient-for-a-test"]
