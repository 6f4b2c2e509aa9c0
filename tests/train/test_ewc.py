"""Elastic weight consolidation: the empirical Fisher and the penalty, in a task's loss."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from deepoptim import train
from deepoptim.train import EWC, empirical_fisher

from .problems import tiny_data, tiny_model


def example_loss(model, example):
    x, y = example
    return F.cross_entropy(model(x), y)


def examples_of(data, count=12):
    return [(data.x_train[i:i + 1], data.y_train[i:i + 1]) for i in range(count)]


def test_fisher_is_the_mean_squared_per_example_gradient():
    data, model = tiny_data(), tiny_model(dropout=0.5)
    model.train()
    fisher = empirical_fisher(model, example_loss, examples_of(data))
    assert model.training  # mode restored
    assert all(p.grad is None for p in model.parameters())  # .grad untouched
    # Independently: per-example gradients by torch.func, in eval mode (no dropout).
    model.eval()
    params = {name: p.detach() for name, p in model.named_parameters()}

    def one(p, x, y):
        return F.cross_entropy(functional_call(model, p, (x.unsqueeze(0),)), y.unsqueeze(0))

    per_example = vmap(grad(one), in_dims=(None, 0, 0))(params, data.x_train[:12],
                                                         data.y_train[:12])
    assert fisher.keys() == params.keys()
    for name, value in fisher.items():
        assert value.shape == params[name].shape
        torch.testing.assert_close(value, per_example[name].square().mean(0), rtol=1e-12,
                                   atol=1e-15)
    # Not the square of the mean gradient (what one batch of 12 would give).
    batch = empirical_fisher(model, example_loss, [(data.x_train[:12], data.y_train[:12])])
    assert all(bool((batch[n] <= fisher[n] + 1e-15).all()) for n in fisher)
    assert any(bool((batch[n] < 0.9 * fisher[n]).any()) for n in fisher)


def test_penalty_by_hand_zero_at_the_anchor_and_its_gradient():
    model = nn.Linear(2, 1).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -2.0]]))
        model.bias.fill_(0.5)
    fisher = {"weight": torch.tensor([[3.0, 0.5]], dtype=torch.float64)}
    ewc = EWC(model, fisher, importance=4.0)
    zero = ewc(model)
    assert zero.item() == 0.0
    zero.backward()
    assert torch.equal(model.weight.grad, torch.zeros(1, 2, dtype=torch.float64))
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.5, 0.0]]))
        model.bias.fill_(7.0)  # not in the Fisher: not penalised
    model.weight.grad = None
    penalty = ewc(model)
    # (4/2) * (3 * 0.5**2 + 0.5 * 2**2) = 2 * (0.75 + 2) = 5.5
    assert penalty.item() == 5.5
    penalty.backward()
    # lambda F (theta - theta*) = 4 * [3 * 0.5, 0.5 * 2]
    assert model.weight.grad.tolist() == [[6.0, 4.0]]
    assert model.bias.grad is None


def test_anchor_is_a_copy():
    model = nn.Linear(2, 1).double()
    ewc = EWC(model, {"bias": torch.ones(1, dtype=torch.float64)}, importance=2.0)
    with torch.no_grad():
        model.bias.add_(3.0)
    assert ewc(model).item() == pytest.approx(9.0, rel=1e-15)


@dataclasses.dataclass(frozen=True, eq=False)
class Penalised(train.ClassificationTask):
    ewc: EWC | None = None

    def loss(self, model, batch):
        return super().loss(model, batch) + self.ewc(model)


def test_ewc_in_a_tasks_loss_holds_important_weights():
    """Task B (labels permuted) from the end of task A: with EWC the Fisher-weighted drift
    from task A's parameters is smaller, and A's loss rises less."""
    data = tiny_data()
    model = tiny_model()
    train.fit(train.ClassificationTask(data, batch_size=None), model,
              torch.optim.SGD(model.parameters(), lr=0.5), steps=100, progress=False)
    ewc = EWC.after_training(model, example_loss, examples_of(data, 40), importance=10.0)
    loss_a = train.ClassificationTask(data, batch_size=None).evaluate(model)["train_loss"]
    shifted = dataclasses.replace(data, y_train=(data.y_train + 1) % 3,
                                  y_test=(data.y_test + 1) % 3)
    drift, forgetting = {}, {}
    for name, penalty in (("plain", EWC(model, ewc.fisher, 0.0)), ("ewc", ewc)):
        copy = tiny_model()
        copy.load_state_dict(model.state_dict())
        train.fit(Penalised(shifted, batch_size=None, ewc=penalty), copy,
                  torch.optim.SGD(copy.parameters(), lr=0.5), steps=50, progress=False)
        drift[name] = EWC(model, ewc.fisher, 2.0)(copy).item()
        after = train.ClassificationTask(data, batch_size=None).evaluate(copy)["train_loss"]
        forgetting[name] = after - loss_a
    assert drift["ewc"] < 0.5 * drift["plain"]
    assert 0 < forgetting["ewc"] < forgetting["plain"]


def test_bad_input():
    model = nn.Linear(2, 1).double()
    good = {"weight": torch.ones(1, 2, dtype=torch.float64)}
    with pytest.raises(ValueError, match="Invalid importance value: -1.0"):
        EWC(model, good, importance=-1.0)
    with pytest.raises(ValueError, match="'w' is not a parameter"):
        EWC(model, {"w": torch.ones(2)}, importance=1.0)
    with pytest.raises(ValueError, match=r"'weight' has shape torch.Size\(\[2\]\)"):
        EWC(model, {"weight": torch.ones(2)}, importance=1.0)
    with pytest.raises(ValueError, match="negative or non-finite"):
        EWC(model, {"weight": -torch.ones(1, 2)}, importance=1.0)
    with pytest.raises(ValueError, match="Invalid fisher value: {}"):
        EWC(model, {}, importance=1.0)
    with pytest.raises(ValueError, match="lacks the parameters"):
        EWC(model, {"bias": torch.ones(1)}, 1.0)(nn.Linear(2, 1, bias=False))
    with pytest.raises(ValueError, match="no example"):
        empirical_fisher(model, example_loss, [])
    bad = (torch.tensor([[float("nan"), 0.0]], dtype=torch.float64), torch.tensor([0]))
    with pytest.raises(ValueError, match="the loss of example 0 is nan"):
        empirical_fisher(nn.Linear(2, 2).double(), example_loss, [bad])
