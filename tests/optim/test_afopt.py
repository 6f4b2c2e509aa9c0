import copy
import math

import pytest
import torch

from deepoptim.models import SelfAttention, TinyViT
from deepoptim.optim import DIAGNOSTICS, AFOpt

DTYPE = torch.float64


def problem(seed=0, batch=6, dtype=DTYPE):
    torch.manual_seed(seed)
    model = TinyViT(dim=8, depth=1, num_heads=2).to(dtype)
    x, y = torch.randn(batch, 40, dtype=dtype), torch.arange(batch) % 10
    return model, x, y


def closure_for(model, optimizer, x, y):
    def closure():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss
    return closure


def attention(model):
    return [m for m in model.modules() if isinstance(m, SelfAttention)]


def test_pull_back_is_the_least_squares_solution_of_the_logit_step():
    """One sequence, damping 0: P(grad W_q) solves min ||X dA K^T/sqrt(dk) - grad_S L|| (dense
    lstsq on (K kron X)/sqrt(dk)), head by head; and likewise for W_k with Q."""
    torch.manual_seed(0)
    layer = SelfAttention(dim=4, num_heads=2).to(DTYPE)
    x, target = torch.randn(1, 10, 4, dtype=DTYPE), torch.randn(1, 10, 4, dtype=DTYPE)
    # lr 0: the step records the factors and leaves the weights, so they match the gradients
    optimizer = AFOpt(layer.parameters(), attention=[layer], damping=0.0, lr=0.0,
                      weight_decay=0.0)
    saved = {}

    def closure():  # the layer's attention written out, to get the logits' gradient
        with torch.enable_grad():
            optimizer.zero_grad()
            q = layer.query(x).view(1, 10, 2, 2).transpose(1, 2)
            k = layer.key(x).view(1, 10, 2, 2).transpose(1, 2)
            v = layer.value(x).view(1, 10, 2, 2).transpose(1, 2)
            logits = q @ k.transpose(-2, -1) / math.sqrt(2)
            logits.retain_grad()
            out = layer.out((logits.softmax(-1) @ v).transpose(1, 2).reshape(1, 10, 4))
            loss = (out - target).square().sum()
            loss.backward()
            saved.update(q=q.detach()[0], k=k.detach()[0], g=logits.grad[0])
            return loss

    optimizer.step(closure)
    for role, weight, partner, transpose in (("query", layer.query.weight, saved["k"], False),
                                             ("key", layer.key.weight, saved["q"], True)):
        pulled = optimizer.pull_back(weight, weight.grad).view(2, 2, 4)
        for h in range(2):
            g = saved["g"][h].T if transpose else saved["g"][h]
            system = torch.kron(partner[h], x[0]) / math.sqrt(2)  # vec(X A P^T) = (P kron X) vec A
            solution = torch.linalg.lstsq(system, g.T.reshape(-1, 1)).solution  # column-major vec
            a = solution.reshape(2, 4).T  # A = W_h^T, (d, dk)
            torch.testing.assert_close(pulled[h], a.T, rtol=1e-9, atol=1e-12, msg=role)


def test_other_parameters_are_adamw_bit_for_bit_and_queries_keys_are_grafted():
    """Non-attention parameters equal torch.optim.AdamW exactly; a query/key weight moves
    along the pulled-back first moment with the length of AdamW's update."""
    model, x, y = problem()
    twin = copy.deepcopy(model)
    layers = attention(model)
    optimizer = AFOpt(model.parameters(), lr=0.01, attention=layers)
    reference = torch.optim.AdamW(twin.parameters(), lr=0.01)
    projections = {id(layer.query.weight) for layer in layers} | \
                  {id(layer.key.weight) for layer in layers}
    names = [name for name, p in model.named_parameters() if id(p) in projections]
    for _ in range(3):
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        optimizer.step(closure_for(model, optimizer, x, y))
        reference.step(closure_for(twin, reference, x, y))
        assert optimizer.state[DIAGNOSTICS]["preconditioned"] == 2
        for (name, p), q in zip(model.named_parameters(), twin.parameters(), strict=True):
            if name in names:
                continue
            assert torch.equal(p, q), name
        for name in names:  # the grafted length: AdamW's update norm from the same moments
            p = dict(model.named_parameters())[name]
            state = optimizer.state[p]
            t, (b1, b2) = state["step"], (0.9, 0.999)
            adamw = 0.01 / (1 - b1 ** t) * state["exp_avg"] / (
                (state["exp_avg_sq"] / (1 - b2 ** t)).sqrt() + 1e-8)
            moved = before[name] * (1 - 0.01 * 0.01) - p.detach()
            torch.testing.assert_close(moved.norm(), adamw.norm(), rtol=1e-10, atol=0)
            direction = optimizer.pull_back(p, state["exp_avg"])
            cosine = (moved * direction).sum() / (moved.norm() * direction.norm())
            torch.testing.assert_close(cosine, torch.ones((), dtype=DTYPE), rtol=1e-10, atol=0)
        for name, p in twin.named_parameters():  # and the reference stays in step on the rest
            if name in names:
                p.data.copy_(dict(model.named_parameters())[name])


def run(model, optimizer, x, y, steps):
    for _ in range(steps):
        optimizer.step(closure_for(model, optimizer, x, y))


def test_state_dict_resume_is_bit_identical():
    model, x, y = problem()
    optimizer = AFOpt(model.parameters(), lr=0.01, attention=attention(model), update_interval=2)
    run(model, optimizer, x, y, 3)
    saved_model, saved_state = copy.deepcopy(model.state_dict()), copy.deepcopy(
        optimizer.state_dict())
    run(model, optimizer, x, y, 3)
    resumed, _, _ = problem()
    resumed.load_state_dict(saved_model)
    other = AFOpt(resumed.parameters(), lr=0.01, attention=attention(resumed), update_interval=2)
    other.load_state_dict(saved_state)
    run(resumed, other, x, y, 3)
    for p, q in zip(model.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)
    timing = "preconditioner_seconds"  # wall time: the one diagnostic that may differ
    ours, theirs = (o.state[DIAGNOSTICS] for o in (optimizer, other))
    assert ours[timing] > 0 and theirs[timing] > 0
    assert {k: v for k, v in ours.items() if k != timing} == \
        {k: v for k, v in theirs.items() if k != timing}


def test_param_groups_and_an_lr_scheduler():
    """Per-group lr: a group with lr 0 does not move (queries and keys included), and a
    scheduler's lr is the one used."""
    model, x, y = problem()
    layer = attention(model)[0]
    frozen = [layer.query.weight, layer.key.weight]
    rest = [p for p in model.parameters() if all(p is not f for f in frozen)]
    optimizer = AFOpt([{"params": rest}, {"params": frozen, "lr": 0.0, "weight_decay": 0.0}],
                      lr=0.01, attention=[layer])
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    before = [p.detach().clone() for p in frozen]
    for expected in (0.01, 0.005):
        assert optimizer.param_groups[0]["lr"] == expected
        run(model, optimizer, x, y, 1)
        assert optimizer.state[DIAGNOSTICS]["step_size"] == pytest.approx(
            expected / (1 - 0.9 ** optimizer.state[rest[0]]["step"]))
        scheduler.step()
    assert all(torch.equal(p, b) for p, b in zip(frozen, before, strict=True))


def test_nonfinite_step_is_skipped_and_recorded():
    model, x, y = problem()
    optimizer = AFOpt(model.parameters(), attention=attention(model))
    run(model, optimizer, x, y, 1)
    before = copy.deepcopy(model.state_dict())
    state = copy.deepcopy(optimizer.state_dict()["state"])
    bad = x.clone()
    bad[0, 0] = float("nan")
    optimizer.step(closure_for(model, optimizer, bad, y))
    assert optimizer.state[DIAGNOSTICS]["nonfinite_skips"] == 1
    assert optimizer.state[DIAGNOSTICS]["steps"] == 1
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])
    after = optimizer.state_dict()["state"]
    assert all(torch.equal(torch.as_tensor(after[i][k]), torch.as_tensor(v))
               for i in state if i != DIAGNOSTICS for k, v in state[i].items())


def test_float32_trains():
    model, x, y = problem(dtype=torch.float32)
    optimizer = AFOpt(model.parameters(), lr=0.01, attention=attention(model))
    with torch.no_grad():
        first = float(closure_for(model, optimizer, x, y)())
    run(model, optimizer, x, y, 20)
    assert optimizer.state[DIAGNOSTICS]["preconditioned"] == 2
    assert optimizer.state[DIAGNOSTICS]["adamw_fallbacks"] == 0
    with torch.no_grad():
        assert float(closure_for(model, optimizer, x, y)()) < first
    assert all(p.dtype == torch.float32 and torch.isfinite(p).all() for p in model.parameters())


def test_model_argument_finds_the_attention_layers():
    model, x, y = problem()
    optimizer = AFOpt(model.parameters(), model=model)
    run(model, optimizer, x, y, 1)
    assert optimizer.state[DIAGNOSTICS]["preconditioned"] == 2


def test_misuse_is_loud():
    model, x, y = problem()
    layer = attention(model)[0]
    with pytest.raises(ValueError, match="the query weight of attention layer 0"):
        AFOpt([layer.key.weight], attention=[layer])
    with pytest.raises(ValueError, match="listed twice"):
        AFOpt(model.parameters(), attention=[layer, layer])
    with pytest.raises(TypeError, match="attention must be a sequence of modules"):
        AFOpt(model.parameters(), attention=layer)
    with pytest.raises(RuntimeError, match="requires a closure"):
        AFOpt(model.parameters(), attention=[layer]).step()
    with pytest.warns(UserWarning, match="found no attention layer"):
        AFOpt(torch.nn.Linear(2, 2).parameters(), model=torch.nn.Linear(2, 2))
    optimizer = AFOpt(model.parameters(), attention=[layer])
    with pytest.raises(RuntimeError, match="have not been inverted yet"):
        optimizer.pull_back(layer.query.weight, layer.query.weight)
    with pytest.raises(ValueError, match="not the query or key weight"):
        optimizer.pull_back(layer.value.weight, layer.value.weight)

    def bypass():  # the projections' gradients without their forward hooks
        optimizer.zero_grad()
        loss = (layer.query.weight.sum() + layer.key.weight.sum())
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="hooks saw no input"):
        optimizer.step(bypass)


def test_zero_factor_falls_back_to_adamw_and_is_counted():
    layer = SelfAttention(dim=4, num_heads=1).to(DTYPE)
    x = torch.zeros(1, 5, 4, dtype=DTYPE)
    optimizer = AFOpt(layer.parameters(), attention=[layer])

    def closure():
        optimizer.zero_grad()
        loss = layer(x).sum() + layer.query.weight.square().sum() + layer.key.weight.sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert diagnostics["failed_inverses"] == 2 and diagnostics["adamw_fallbacks"] == 2
    assert diagnostics["preconditioned"] == 0
