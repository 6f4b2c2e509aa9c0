"""Parameter groups: splitting any network into parts, and per-part learning rates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepoptim.models import CNN1d
from deepoptim.optim import layer_decay, split_by_prefix, split_parameters, with_learning_rates


def names(groups):
    return [group["name"] for group in groups]


def assert_partition(model, groups):
    """Every trainable parameter exactly once, in model.parameters() order."""
    flat = [p for group in groups for p in group["params"]]
    expected = [p for p in model.parameters() if p.requires_grad]
    assert len(flat) == len(expected) and all(a is b for a, b in zip(flat, expected, strict=True))


def test_layer_and_child_rules_on_the_cnn():
    model = CNN1d()
    layers = split_parameters(model)
    assert names(layers) == ["features.0", "features.2", "features.4", "classifier"]
    assert_partition(model, layers)
    children = split_parameters(model, rule="child")
    assert names(children) == ["features", "classifier"]
    assert_partition(model, children)


def test_merging_balances_parameter_counts():
    model = CNN1d()  # 150 | 1900 | 1900 | 1260 parameters
    two = split_parameters(model, num_parts=2)
    assert names(two) == ["features.0..features.2", "features.4..classifier"]
    assert [sum(p.numel() for p in g["params"]) for g in two] == [2050, 3160]
    assert_partition(model, two)
    assert names(split_parameters(model, num_parts=4)) == names(split_parameters(model))


class ToyTransformer(nn.Module):
    def __init__(self, blocks: int = 12):
        super().__init__()
        self.embeddings = nn.Embedding(10, 4)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(nn.Linear(4, 4) for _ in range(blocks))
        self.head = nn.Linear(4, 2)


def test_blocks_rule_splits_like_the_authors():
    model = ToyTransformer()
    groups = split_parameters(model, rule="blocks")
    assert names(groups) == ["embeddings", *[f"encoder.layer.{i}" for i in range(12)], "head"]
    ten = split_parameters(model, rule="blocks", num_parts=10)
    chunks = [[0, 1], [2], [3, 4], [5], [6, 7], [8], [9, 10], [11]]
    expected = ["embeddings", *[f"encoder.layer.{c[0]}" if len(c) == 1 else
                                f"encoder.layer.{c[0]}..encoder.layer.{c[-1]}" for c in chunks],
                "head"]
    assert names(ten) == expected
    assert_partition(model, ten)


def test_frozen_parameters_are_left_out():
    model = ToyTransformer(blocks=3)
    model.embeddings.weight.requires_grad_(False)
    groups = split_parameters(model, rule="blocks")
    assert names(groups)[0] == "encoder.layer.0"
    assert_partition(model, groups)


def test_split_by_prefix():
    model = ToyTransformer(blocks=3)
    groups = split_by_prefix(model, ["embeddings", ("encoder.layer.0", "encoder.layer.1")])
    assert names(groups) == ["embeddings", "encoder.layer.0|encoder.layer.1", "rest"]
    assert_partition(model, groups)
    with pytest.raises(ValueError, match="matches no trainable parameter"):
        split_by_prefix(model, ["decoder"])
    with pytest.raises(ValueError, match="also matches"):
        split_by_prefix(model, ["encoder", "encoder.layer.0"])


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"rule": "rows"}, ValueError, "Invalid rule value: 'rows'"),
    ({"num_parts": 0}, ValueError, "Invalid num_parts value: 0"),
    ({"num_parts": 5}, ValueError, "Invalid num_parts value: 5"),
    ({"rule": "blocks"}, ValueError, "no nn.ModuleList of blocks"),
])
def test_bad_splits_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        split_parameters(CNN1d(), **kwargs)


def test_layer_decay_factors():
    assert layer_decay(4, 0.5) == [0.125, 0.25, 0.5, 1.0]
    assert layer_decay(1, 0.3) == [1.0]
    assert layer_decay(3, 1.0) == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="Invalid decay value: 0.0"):
        layer_decay(3, 0.0)
    with pytest.raises(ValueError, match="Invalid num_parts value: 0"):
        layer_decay(0, 0.5)


def test_learning_rates_per_group_train_as_ordinary_groups():
    """A depth profile on the CNN's layers: each group gets lr * factor, the input groups are
    untouched, and torch's SGD moves each layer by exactly its own rate."""
    torch.manual_seed(0)
    model = CNN1d()
    groups = split_parameters(model, "layer")
    factors = layer_decay(len(groups), 0.5)
    rated = with_learning_rates(groups, 0.1, factors)
    assert [g["lr"] for g in rated] == pytest.approx([0.1 * f for f in factors])
    assert all("lr" not in g for g in groups)
    assert [g["name"] for g in rated] == [g["name"] for g in groups]
    before = [p.detach().clone() for p in model.parameters()]
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    torch.optim.SGD(rated, lr=123.0).step()
    moved = {id(p): float((b - p.detach()).flatten()[0])
             for b, p in zip(before, model.parameters(), strict=True)}
    for group in rated:
        for p in group["params"]:
            assert moved[id(p)] == pytest.approx(group["lr"], rel=1e-5)


def test_learning_rates_need_one_factor_per_group():
    groups = [{"params": []}, {"params": []}]
    assert [g["lr"] for g in with_learning_rates(groups, 0.01)] == [0.01, 0.01]
    with pytest.raises(ValueError, match=r"Invalid factors value: \[1.0\] \(expected 2"):
        with_learning_rates(groups, 0.01, [1.0])
    with pytest.raises(ValueError, match=r"Invalid factors\[1\] value: -1.0"):
        with_learning_rates(groups, 0.01, [1.0, -1.0])
    with pytest.raises(ValueError, match="a tensor lr is not supported"):
        with_learning_rates(groups, torch.tensor(0.1))
