"""Learning-rate distributions over a transformer's depth, as parameter groups."""

from __future__ import annotations

import math

import pytest
import torch

from deepoptim.optim import depth_profile, split_encoder, split_parameters, with_learning_rates
from deepoptim.optim.param_groups import COMBINED_LEARNING_RATES, INTUITIVE_FACTORS

transformers = pytest.importorskip("transformers")


def tiny_bert(seed: int = 0) -> torch.nn.Module:
    """A randomly initialised 2-layer BERT with hidden size 32: nothing is downloaded."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=16)
    return transformers.BertModel(config).double()


def test_split_encoder_names_and_partitions_a_bert():
    model = tiny_bert()
    groups = split_encoder(model)
    assert [g["name"] for g in groups] == ["embeddings", "encoder.layer.0", "encoder.layer.1",
                                           "head"]
    names = {id(p): n for n, p in model.named_parameters()}
    flat = [p for g in groups for p in g["params"]]
    assert [id(p) for p in flat] == [id(p) for p in model.parameters()]
    assert all(names[id(p)].startswith("pooler.") for p in groups[-1]["params"])
    assert all(names[id(p)].startswith("encoder.layer.1.") for p in groups[2]["params"])
    # The same parts as the module-structure rule, found by names instead.
    blocks = split_parameters(model, rule="blocks")
    assert [[id(p) for p in g["params"]] for g in groups] == \
           [[id(p) for p in g["params"]] for g in blocks]


def test_split_encoder_chunks_and_a_frozen_pooler_and_a_wrapped_backbone():
    model = tiny_bert()
    three = split_encoder(model, num_parts=3)
    assert [g["name"] for g in three] == ["embeddings", "encoder.layer.0..encoder.layer.1",
                                          "head"]
    for p in model.pooler.parameters():
        p.requires_grad_(False)
    assert [g["name"] for g in split_encoder(model)][-1] == "encoder.layer.1"
    wrapper = torch.nn.Module()
    wrapper.bert, wrapper.classifier = tiny_bert(), torch.nn.Linear(32, 2)
    groups = split_encoder(wrapper, embeddings="bert.embeddings", layers="bert.encoder.layer")
    assert [g["name"] for g in groups] == ["embeddings", "bert.encoder.layer.0",
                                           "bert.encoder.layer.1", "head"]
    assert len(groups[-1]["params"]) == 4  # the pooler's and the classifier's weight and bias


def test_sgd_moves_each_part_by_its_own_rate():
    """torch.optim.SGD on the groups of a distribution: each part moves by exactly its rate."""
    model = tiny_bert()
    groups = split_encoder(model)
    factors = depth_profile(len(groups), "knots", knots=[0.5, 3.0])
    lr = 0.1
    optimizer = torch.optim.SGD(with_learning_rates(groups, lr, factors), lr=1.0)
    ids = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(1))
    model(input_ids=ids).pooler_output.square().sum().backward()
    before = [[p.detach().clone() for p in g["params"]] for g in groups]
    optimizer.step()
    assert len(set(factors)) == len(groups)  # four different rates
    for group, old, factor in zip(groups, before, factors, strict=True):
        for p, p0 in zip(group["params"], old, strict=True):
            assert p.grad is not None and p.grad.abs().sum() > 0
            assert torch.equal(p.detach(), p0.add(p.grad, alpha=-lr * factor))


def test_the_published_distributions_at_ten_parts():
    assert depth_profile(10, "intuitive") == list(INTUITIVE_FACTORS)
    combined = depth_profile(10, "combined")
    assert [2e-5 * f for f in combined] == pytest.approx(COMBINED_LEARNING_RATES, rel=1e-14)
    assert depth_profile(4) == [1.0] * 4
    assert depth_profile(3, "decay", decay=0.5) == [0.25, 0.5, 1.0]


def test_interpolation_on_made_up_sizes():
    # 3 knots over 5 parts: parts at 0, 0.5, 1, 1.5, 2 knots; geometric halfway values.
    assert depth_profile(5, "knots", knots=[1, 4, 0.25]) == pytest.approx(
        [1.0, 2.0, 4.0, 1.0, 0.25], rel=1e-15)
    # The intuitive profile on 8 parts (a 6-layer MiniLM): part 2 sits at 18/7 knots.
    eight = depth_profile(8, "intuitive")
    w = 18 / 7 - 2
    assert eight[2] == pytest.approx(0.3 ** (1 - w) * 0.7 ** w, rel=1e-15)
    assert eight[0] == 1.0 and eight[-1] == 3.0 and eight[4:7] == [1.0, 1.0, 1.0]
    # As many knots as parts: the knots themselves, one free rate per part.
    knots = [0.1, 2.0, 0.7, 5.0]
    assert depth_profile(4, "knots", knots=knots) == knots
    assert depth_profile(2, "combined") == [COMBINED_LEARNING_RATES[0] / 2e-5,
                                           COMBINED_LEARNING_RATES[-1] / 2e-5]
    assert all(math.isfinite(f) and f > 0 for f in depth_profile(23, "combined"))


@pytest.mark.parametrize("call, error, match", [
    (lambda: depth_profile(4, "steep"), ValueError, "Invalid kind value: 'steep'"),
    (lambda: depth_profile(0), ValueError, "Invalid num_parts value: 0"),
    (lambda: depth_profile(2.0), TypeError, "num_parts must be an int"),
    (lambda: depth_profile(1, "intuitive"), ValueError, "Invalid num_parts value: 1"),
    (lambda: depth_profile(4, "decay"), ValueError, "Invalid decay value: None"),
    (lambda: depth_profile(4, "decay", decay=1.5), ValueError, "Invalid decay value: 1.5"),
    (lambda: depth_profile(4, "flat", decay=0.5), ValueError, "only kind='decay' takes it"),
    (lambda: depth_profile(4, "knots"), ValueError, "kind='knots' needs it"),
    (lambda: depth_profile(4, "intuitive", knots=[1, 2]), ValueError,
     "only kind='knots' takes it"),
    (lambda: depth_profile(4, "knots", knots=[1.0]), ValueError, "at least 2 knots"),
    (lambda: depth_profile(4, "knots", knots=[1.0, 0.0]), ValueError, r"Invalid knots\[1\]"),
    (lambda: depth_profile(4, "knots", knots=[1.0, math.nan]), ValueError, r"knots\[1\]"),
])
def test_bad_profiles(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda model: split_encoder(model, layers="blocks"), "Invalid layers value: 'blocks'"),
    (lambda model: split_encoder(model, embeddings="embed"), "Invalid prefixes value: 'embed'"),
    (lambda model: split_encoder(model, num_parts=5), "Invalid num_parts value: 5"),
    (lambda model: with_learning_rates(split_encoder(model), 0.1, depth_profile(3)),
     "Invalid factors value"),
])
def test_bad_encoder_splits(call, match):
    with pytest.raises(ValueError, match=match):
        call(tiny_bert())
