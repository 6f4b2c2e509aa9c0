"""PLASLS and the network splits: per-part tests, warm-up, rotation, separability, splits."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepoptim.models import CNN1d
from deepoptim.optim import (
    DIAGNOSTICS,
    LINE_SEARCH,
    PLASLS,
    AdamSLS,
    split_by_prefix,
    split_parameters,
)

from .test_linesearch import Problem, adam_terms, dot, grads_at, snapshot


def test_one_part_is_adamsls():
    ours, theirs = Problem(), Problem()
    plasls, adamsls = PLASLS(ours.params), AdamSLS(theirs.params)
    for step in range(10):
        plasls.step(ours.closure(plasls))
        adamsls.step(theirs.closure(adamsls))
        torch.testing.assert_close(ours.params, theirs.params, msg=f"step {step}")


class Separable:
    """f(a, b) = weight * sum((a - 1)^4) + sum(log(1 + exp(b * t))): two independent parts."""

    def __init__(self, weight: float, a0: float):
        self.a = torch.full((3,), a0, dtype=torch.float64, requires_grad=True)
        self.b = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
        self.t = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
        self.weight = weight

    def closure(self, optimizer):
        def closure():
            loss = (self.weight * ((self.a - 1) ** 4).sum()
                    + torch.nn.functional.softplus(self.b * self.t).sum())
            if torch.is_grad_enabled():
                optimizer.zero_grad()
                loss.backward()
            return loss

        return closure


def run_separable(weight: float, a0: float, steps: int = 14):
    problem = Separable(weight, a0)
    optimizer = PLASLS([{"params": [problem.a]}, {"params": [problem.b]}], warmup_steps=0,
                       init_step_size=1.0)
    closure = problem.closure(optimizer)
    b_path, b_steps = [], []
    for _ in range(steps):
        optimizer.step(closure)
        b_path.append(problem.b.detach().clone())
        if optimizer.state[DIAGNOSTICS]["part"] == 1:
            b_steps.append(float(optimizer.state[DIAGNOSTICS]["step_size"][1]))
    return b_path, b_steps


def test_moving_one_part_does_not_change_anothers_search():
    """Part b's accepted steps and path are the same whatever part a does (a different loss
    weight, start and so moves): each part's test measures only its own move."""
    path, steps = run_separable(1.0, 3.0)
    other_path, other_steps = run_separable(25.0, -2.0)
    assert len(steps) == 7
    assert steps == pytest.approx(other_steps, rel=1e-12)
    torch.testing.assert_close(path, other_path, rtol=1e-12, atol=1e-14)


def test_warmup_then_rotation_and_each_part_test_recomputed():
    problem = Problem()
    parts = [{"params": problem.params[:2]}, {"params": problem.params[2:], "lr": 0.5}]
    optimizer = PLASLS(parts, warmup_steps=3, init_step_size=1.0, c=0.2)
    closure = problem.closure(optimizer)
    searched = []
    for _ in range(9):
        origin = snapshot(problem.params)
        grads = grads_at(problem, origin)
        optimizer.step(closure)
        info = optimizer.state[DIAGNOSTICS]
        searched.append(info["part"])
        gradient, update = adam_terms(optimizer, problem.params, grads)
        scales = [1.0, 1.0, 0.5, 0.5]
        gradient = [s * r for s, r in zip(scales, gradient, strict=True)]
        update = [s * u for s, u in zip(scales, update, strict=True)]
        sizes = info["step_size"].tolist()
        if info["part"] == -1:  # global warm-up: one step size for all parts
            assert sizes[0] == sizes[1]
            members = [0, 1, 2, 3]
        else:
            members = [0, 1] if info["part"] == 0 else [2, 3]
        eta = sizes[info["part"]] if info["part"] >= 0 else sizes[0]
        trial = [w - eta * r if k in members else w
                 for k, (w, r) in enumerate(zip(origin, gradient, strict=True))]
        slope = dot([grads[k] for k in members], [gradient[k] for k in members])
        assert float(problem.loss_at(origin) - problem.loss_at(trial)) >= 0.2 * eta * slope
        expected = [w - sizes[0 if k < 2 else 1] * u
                    for k, (w, u) in enumerate(zip(origin, update, strict=True))]
        torch.testing.assert_close(snapshot(problem.params), expected)
    assert searched == [-1, -1, -1, 0, 1, 0, 1, 0, 1]
    assert len(optimizer.state[LINE_SEARCH]["step_size"]) == 2


def test_unsearched_parts_grow_by_the_reset():
    problem = Problem()
    optimizer = PLASLS([{"params": problem.params[:2]}, {"params": problem.params[2:]}],
                       warmup_steps=0, gamma=2.0, n_batches_per_epoch=4)
    closure = problem.closure(optimizer)
    optimizer.step(closure)  # searches part 0
    kept = optimizer.state[LINE_SEARCH]["step_size"][1]
    assert kept == pytest.approx(0.1 * 2 ** 0.25)
    optimizer.step(closure)  # searches part 1; part 0 takes its grown step
    grown = optimizer.state[DIAGNOSTICS]["step_size"][0]
    first = optimizer.state[LINE_SEARCH]["step_size"][0]
    assert grown == pytest.approx(first) and optimizer.state[DIAGNOSTICS]["part"] == 1


def test_plasls_trains_a_split_cnn():
    torch.manual_seed(0)
    model = CNN1d()
    x, y = torch.randn(64, 40), torch.randint(0, 10, (64,))
    optimizer = PLASLS(split_parameters(model))

    def closure():
        loss = nn.functional.cross_entropy(model(x), y)
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss

    first = float(closure().detach())
    for _ in range(20):
        optimizer.step(closure)
    assert float(closure().detach()) < first
    assert optimizer.state[DIAGNOSTICS]["step_size"].shape == (4,)


# --- splits ----------------------------------------------------------------------------------

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


def test_resume_in_the_rotation_equals_continuing():
    import copy

    problem = Problem()
    parts = lambda params: [{"params": params[:2]}, {"params": params[2:]}]  # noqa: E731
    optimizer = PLASLS(parts(problem.params), warmup_steps=2)
    for _ in range(5):
        optimizer.step(problem.closure(optimizer))
    twin = Problem()
    for p, q in zip(twin.params, problem.params, strict=True):
        p.data.copy_(q.detach())
    resumed = PLASLS(parts(twin.params), warmup_steps=2)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    for _ in range(5):
        optimizer.step(problem.closure(optimizer))
        resumed.step(twin.closure(resumed))
        assert resumed.state[DIAGNOSTICS]["part"] == optimizer.state[DIAGNOSTICS]["part"]
        assert all(torch.equal(a, b) for a, b in zip(problem.params, twin.params, strict=True))
