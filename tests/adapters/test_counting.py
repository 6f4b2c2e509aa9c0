"""One count for every arm, checked against the closed forms of each method."""

import copy

import pytest
from torch import nn

from deepoptim.adapters import (
    SoloConnected,
    add_lora,
    bitfit,
    connections,
    count_trainable,
    freeze,
    solo_parameter_count,
)


def test_counts_per_arm_match_the_closed_forms(base):
    L, d, m = base.config.n_layers, base.config.dim, base.config.mlp_ratio
    total = sum(p.numel() for p in base.parameters())
    r = 3

    def arm(make):
        return count_trainable(make(copy.deepcopy(base)))

    arms = {
        "zero-shot": (arm(freeze), 0),
        "full": (arm(lambda model: model), total),
        "bitfit": (arm(bitfit), (7 + m) * L * d + d),
        "lora": (arm(lambda model: add_lora(model, rank=r)), 4 * L * d * r),
    }
    for stride in (1, 2):
        n = L // stride - 1
        for gate, gate_options, g in [("trainable", {}, 1), ("schedule", {"gate_steps": 9}, 0),
                                      ("fixed", {}, 0)]:
            for shared, pairs in [(True, 1), (False, n)]:
                count = arm(lambda model, stride=stride, gate=gate, options=gate_options,
                            shared=shared: SoloConnected(model, r, stride, gate=gate,
                                                         shared=shared, **options))
                formula = pairs * (2 * d * r + r + d) + n * (d + r + g)
                assert formula == solo_parameter_count(d, r, n, g == 1, shared)
                arms[f"solo k={stride} {gate} shared={shared}"] = (count, formula)
    for name, (count, expected) in arms.items():
        assert count.trainable == count.adapter == expected, name
        # the base's own parameters that stay trainable, and the adapters' added ones
        adds = name.startswith(("lora", "solo"))
        assert count.frozen == (total if adds else total - expected), name


def test_solo_closed_form_reproduces_the_papers_gpt2_medium_counts():
    n = len(connections(24, 2))
    assert solo_parameter_count(1024, 4, n) == 20_539
    assert solo_parameter_count(1024, 120, n) == 259_499


def test_head_is_counted_apart_and_tied_weights_once(base):
    model = nn.ModuleDict({"body": copy.deepcopy(base), "head": nn.Linear(32, 5)})
    count = count_trainable(bitfit(model, head=model["head"]), head=model["head"])
    assert count.head == 32 * 5 + 5
    assert count.adapter == 11 * base.config.n_layers * 32 + 32
    assert count.trainable == count.adapter + count.head
    assert base.head.weight is base.embed.weight
    assert count_trainable(base).adapter == sum(p.numel() for p in set(base.parameters()))


def test_bad_inputs_raise(base):
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        count_trainable([1, 2])
    with pytest.raises(ValueError, match="Invalid n_connections value: 0"):
        solo_parameter_count(8, 2, 0)
