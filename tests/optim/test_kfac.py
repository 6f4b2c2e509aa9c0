"""KFAC in float64: its factors equal the Kronecker identities where KFAC is exact, its step is
the damped Kronecker direction, its schedules refresh what they say, poisoned factors fall
back visibly, and every parameter outside a supported layer takes exactly torch's SGD step."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim.optim import DIAGNOSTICS
from deepoptim.optim.kfac import KFAC

from .kronecker_problems import (
    batch,
    check_poisoned_factor,
    check_resume_equals_continuing,
    check_trains,
    classifier,
    closure_for,
    kronecker_direction,
    linear_factors,
    train,
)


def one_step(model, x, y, **kwargs):
    optimizer = KFAC(model.parameters(), model=model, **kwargs)
    optimizer.step(closure_for(model, optimizer, x, y))
    return optimizer


def per_example_gradient(layer, x, y):
    """vec([dW db]) (column-major) of one example's loss, by autograd."""
    layer.zero_grad()
    F.cross_entropy(layer(x), y).backward()
    weight = layer.weight.grad.reshape(len(layer.weight), -1)
    return torch.cat([weight, layer.bias.grad[:, None]], dim=1).T.reshape(-1)


def test_linear_factors_of_one_example_are_its_exact_fisher():
    """One example: (a a^T) kron (g g^T) = vec(dW) vec(dW)^T, the empirical Fisher."""
    torch.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    x, y = torch.randn(1, 3, dtype=torch.float64), torch.tensor([1])
    vec = per_example_gradient(copy.deepcopy(layer), x, y)
    state = one_step(layer, x, y).state[layer.weight]
    torch.testing.assert_close(torch.kron(state["a_factor"], state["g_factor"]),
                               torch.outer(vec, vec))


def test_conv_with_one_position_is_exact_and_patches_give_the_gradient():
    """A Conv1d whose kernel spans its input acts at one position: exact, as a Linear. With
    padding (6 positions) the gradient matrix is sum_t g_t [a_t; 1]^T over the unfolded
    patches and the factors are KFC's Omega and Gamma."""
    torch.manual_seed(0)
    whole = nn.Conv1d(2, 3, 4).double()
    x = torch.randn(1, 2, 4, dtype=torch.float64)
    layer = nn.Sequential(whole, nn.Flatten())
    y = torch.tensor([2])
    probe = copy.deepcopy(layer)
    F.cross_entropy(probe(x), y).backward()
    weight = probe[0].weight.grad.reshape(3, -1)
    vec = torch.cat([weight, probe[0].bias.grad[:, None]], dim=1).T.reshape(-1)
    state = one_step(layer, x, y).state[whole.weight]
    torch.testing.assert_close(torch.kron(state["a_factor"], state["g_factor"]),
                               torch.outer(vec, vec))

    conv = nn.Conv1d(2, 3, 3, padding=1).double()
    model = nn.Sequential(conv, nn.Flatten(), nn.Linear(18, 4).double())
    x, y = batch(n=4)
    probe = copy.deepcopy(model)
    out = probe[0](x)
    out.retain_grad()
    F.cross_entropy(probe[2](probe[1](out)), y).backward()
    padded = F.pad(x, (1, 1))
    patches = padded.unfold(2, 3, 1).permute(0, 2, 1, 3).reshape(4, 6, 6)  # (N, T, C*k)
    rows = torch.cat([patches, torch.ones(4, 6, 1, dtype=x.dtype)], dim=2).reshape(24, 7)
    g = (out.grad * 4).permute(0, 2, 1).reshape(24, 3)  # g = N dL/ds at every position
    gradient = torch.cat([probe[0].weight.grad.reshape(3, 6), probe[0].bias.grad[:, None]], 1)
    torch.testing.assert_close(g.T @ rows / 4, gradient)
    state = one_step(model, x, y).state[conv.weight]
    torch.testing.assert_close(state["a_factor"], rows.T @ rows / 4)
    torch.testing.assert_close(state["g_factor"], g.T @ g / 24)


def test_first_step_is_the_damped_kronecker_direction():
    """p_1 = p_0 - lr ((A + l I) kron (G + l I))^-1 vec(grad), for the Linear layer of a
    network, with A and G written out from its input and output gradients."""
    model = classifier()
    x, y = batch()
    probe = copy.deepcopy(model)
    features = probe[2](probe[1](probe[0](x))).detach()
    a, g, gradient = linear_factors(probe[3], features,
                                    lambda s: F.cross_entropy(probe[4](s), y))
    before = torch.cat([model[3].weight, model[3].bias[:, None]], dim=1).detach().clone()
    one_step(model, x, y, lr=0.1, damping=0.01)
    after = torch.cat([model[3].weight, model[3].bias[:, None]], dim=1).detach()
    torch.testing.assert_close((before - after) / 0.1,
                               kronecker_direction(a, g, gradient, 0.01))


def test_unsupported_layers_get_exactly_sgd_with_momentum():
    """BatchNorm's parameters step exactly as torch.optim.SGD steps them on the same
    gradients; with model=None the whole run is torch.optim.SGD's, bit for bit."""
    options = dict(lr=0.05, momentum=0.9, weight_decay=1e-2, nesterov=True)
    model = classifier()
    optimizer = KFAC(model.parameters(), model=model, cov_interval=2, inv_interval=3,
                     **options)
    norm = [p.detach().clone().requires_grad_() for p in model[4].parameters()]
    sgd = torch.optim.SGD(norm, foreach=False, **options)
    def closure_copying_grads(inner):
        def closure():
            loss = inner()
            for mine, theirs in zip(model[4].parameters(), norm, strict=True):
                theirs.grad = mine.grad.clone()
            return loss
        return closure

    for step in range(5):
        optimizer.step(closure_copying_grads(closure_for(model, optimizer, *batch(step))))
        sgd.step()
        for mine, theirs in zip(model[4].parameters(), norm, strict=True):
            assert torch.equal(mine, theirs)
    assert optimizer.state[DIAGNOSTICS]["factor_updates"] == 3

    plain, reference = classifier(), classifier()
    optimizer = KFAC(plain.parameters(), model=None, **options)
    sgd = torch.optim.SGD(reference.parameters(), foreach=False, **options)
    train(plain, optimizer, 4)
    train(reference, sgd, 4)
    for mine, theirs in zip(plain.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine, theirs)


def test_schedules_refresh_factors_and_inverses_when_their_formulas_say():
    """Factors change exactly at t % T_cov == 0, inverses exactly at t % T_inv == 0, and then
    equal (F + l I)^-1 of the current factors."""
    model = classifier()
    optimizer = KFAC(model.parameters(), model=model, cov_interval=2, inv_interval=3,
                     damping=0.05)
    weight = model[3].weight
    previous = {}
    for t in range(8):
        x, y = batch(t)
        optimizer.step(closure_for(model, optimizer, x, y))
        state = optimizer.state[weight]
        for key, period in (("a_factor", 2), ("g_factor", 2), ("a_inverse", 3),
                            ("g_inverse", 3)):
            changed = key not in previous or not torch.equal(previous[key], state[key])
            assert changed == (t % period == 0), (t, key)
            previous[key] = state[key].clone()
        if t % 3 == 0:
            for key in ("a", "g"):
                factor = state[f"{key}_factor"]
                expected = torch.linalg.inv(factor + 0.05 * torch.eye(len(factor),
                                                                       dtype=factor.dtype))
                torch.testing.assert_close(state[f"{key}_inverse"], expected)
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert (diagnostics["step"], diagnostics["factor_updates"],
            diagnostics["inverse_refreshes"], diagnostics["fallbacks"]) == (8, 4, 3, 0)


@pytest.mark.parametrize("poison", ["nan", "indefinite"])
def test_a_poisoned_factor_keeps_the_previous_inverse_and_is_recorded(poison):
    check_poisoned_factor(KFAC, poison, 3, cov_interval=2, inv_interval=3)


def test_a_layer_without_any_inverse_takes_the_plain_gradient():
    """Undamped, one example: A is singular, so there is no inverse; the step is SGD's."""
    torch.manual_seed(0)
    layer = nn.Linear(3, 2).double()
    reference = copy.deepcopy(layer)
    x, y = torch.randn(1, 3, dtype=torch.float64), torch.tensor([0])
    optimizer = one_step(layer, x, y, lr=0.1, damping=0.0)
    sgd = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9, foreach=False)
    closure_for(reference, sgd, x, y)()
    sgd.step()
    for mine, theirs in zip(layer.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert (diagnostics["failed_inverses"], diagnostics["plain_gradient_layers"],
            diagnostics["fallbacks"]) == (1, 1, 2)


def test_resume_from_state_dict_equals_continuing():
    """Factors, inverses, buffers and counters are in the state: loading it into a copy of the
    model continues bit for bit across recording and refresh steps."""
    optimizer, resumed = check_resume_equals_continuing(KFAC, cov_interval=2, inv_interval=3)
    ours, theirs = optimizer.state_dict(), resumed.state_dict()
    for key in ours["state"]:
        if key == DIAGNOSTICS:
            continue
        for name, value in ours["state"][key].items():
            assert torch.equal(value, theirs["state"][key][name]), (key, name)


def test_param_groups_and_schedulers_set_the_learning_rate():
    """A group with lr 0 stays put; a StepLR halving equals setting the halved lr by hand."""
    model = classifier()
    groups = [{"params": model[0].parameters(), "lr": 0.0},
              {"params": [*model[3].parameters(), *model[4].parameters()]}]
    optimizer = KFAC(groups, model=model, lr=0.1)
    conv = [p.detach().clone() for p in model[0].parameters()]
    train(model, optimizer, 3)
    assert all(torch.equal(a, b) for a, b in zip(model[0].parameters(), conv, strict=True))
    assert not torch.equal(model[3].weight, classifier()[3].weight)

    runs = []
    for scheduled in (True, False):
        net = classifier()
        opt = KFAC(net.parameters(), model=net, lr=0.1, cov_interval=1, inv_interval=1)
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for step in range(3):
            opt.step(closure_for(net, opt, *batch(step)))
            if scheduled:
                scheduler.step()
            else:
                opt.param_groups[0]["lr"] *= 0.5
        runs.append([p.detach() for p in net.parameters()])
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_trains_in_float32_and_float64(dtype):
    model, optimizer = check_trains(KFAC, dtype, lr=0.1, cov_interval=1, inv_interval=2)
    state = optimizer.state[model[3].weight]
    assert state["a_factor"].dtype == state["g_inverse"].dtype == dtype


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.MultiheadAttention(4, 1)

    def forward(self, x):
        return self.attention(x, x, x)[0]


def test_misuse_is_loud():
    model = classifier()
    with pytest.raises(ValueError, match=r"parameter 6 \(shape \(2,\)\) is not a parameter"):
        KFAC([*model.parameters(), torch.zeros(2, requires_grad=True)], model=model)
    with pytest.raises(ValueError, match="the bias of layer '3' must be optimized with"):
        KFAC([{"params": [model[3].weight]}, {"params": [model[3].bias]}], model=model)
    with pytest.raises(ValueError, match=r"Invalid layers value: \['0'\]"):
        KFAC(model[3].parameters(), model=model, layers=["0"])
    with pytest.raises(ValueError, match="no supported layer whose weight is in params"):
        KFAC(model[4].parameters(), model=model)
    optimizer = KFAC(model.parameters(), model=model)
    with pytest.raises(RuntimeError, match="KFAC requires a closure"):
        optimizer.step()
    unset = KFAC(model.parameters())
    with pytest.raises(TypeError, match="KFAC needs the model it trains"):
        unset.step(closure_for(model, unset, *batch()))

    attention = Attention().double()
    optimizer = KFAC(attention.parameters(), model=attention)
    x = torch.randn(3, 2, 4, dtype=torch.float64)

    def closure():
        optimizer.zero_grad()
        loss = attention(x).pow(2).mean()
        loss.backward()
        return loss

    before = [p.detach().clone() for p in attention.parameters()]
    with pytest.raises(RuntimeError, match=r"layers \['attention.out_proj'\] received"):
        optimizer.step(closure)
    assert all(torch.equal(a, b) for a, b in zip(attention.parameters(), before, strict=True))
