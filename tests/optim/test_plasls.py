"""PLASLS: per-part tests, warm-up, rotation, separability, resume."""

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
            b_steps.append(float(optimizer.state[DIAGNOSTICS]["part_step_sizes"][1]))
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
        sizes = info["part_step_sizes"].tolist()
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
    grown = optimizer.state[DIAGNOSTICS]["part_step_sizes"][0]
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
    assert optimizer.state[DIAGNOSTICS]["part_step_sizes"].shape == (4,)


# --- splits ----------------------------------------------------------------------------------

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


def test_each_part_searches_from_its_own_step_size():
    """Parts kept at very different step sizes: the part the rotation searches starts from its
    own (grown) step size, and the other part moves with its own."""
    problem = Separable(weight=1.0, a0=3.0)
    optimizer = PLASLS([{"params": [problem.a]}, {"params": [problem.b]}], warmup_steps=0,
                       n_batches_per_epoch=4)
    closure = problem.closure(optimizer)
    optimizer.step(closure)  # searches part 0
    optimizer.state[LINE_SEARCH]["step_size"] = [0.5, 0.002]
    optimizer.step(closure)  # searches part 1
    info = optimizer.state[DIAGNOSTICS]
    growth = 2 ** (1 / 4)
    assert info["part"] == 1
    assert info["start_step_size"] == pytest.approx(0.002 * growth)
    assert float(info["part_step_sizes"][0]) == pytest.approx(0.5 * growth)
