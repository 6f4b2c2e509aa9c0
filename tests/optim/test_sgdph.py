"""SGD-PH (``deepoptim.optim.SGDPH``): the probes against dense Hessians, the round-robin
schedule, the step against its formula, SGD when nothing is preconditioned, and the behaviour of
the preconditioned path (resume, schedulers, dtypes, safeguards, misuse)."""

from __future__ import annotations

import copy
import math
import warnings

import pytest
import torch
from torch import nn

from deepoptim.curvature import dense_hessian
from deepoptim.optim import DIAGNOSTICS, SGDPH, channelwise_param_groups

from .test_conformance import assert_identical

BN_NAMES = ["1.weight", "1.bias", "4.weight", "4.bias"]  # the channel-wise tensors of bn_cnn


def bn_cnn(dtype=torch.float64, seed=0) -> nn.Module:
    """Two convolutions with batch normalisation and a linear head; BN scales drawn at random
    so that the Hessian blocks are generic."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Tanh(),
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Tanh(),
        nn.Flatten(), nn.Linear(4 * 5 * 5, 3),
    ).to(dtype)
    with torch.no_grad():
        for index in (1, 4):
            model[index].weight.uniform_(0.5, 1.5)
            model[index].bias.uniform_(-0.5, 0.5)
    return model


def batch(dtype=torch.float64, size=12, seed=1):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(size, 1, 5, 5, generator=generator, dtype=dtype)
    return x, torch.randint(0, 3, (size,), generator=generator)


def loss_fn(output, target):
    return nn.functional.cross_entropy(output, target)


def graph_closure(optimizer, model, x, y):
    """A closure in the package convention that keeps the gradient's graph."""

    def closure():
        loss = loss_fn(model(x), y)
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward(create_graph=True)
        return loss

    return closure


def state_of(optimizer, params):
    return [copy.deepcopy(optimizer.state[p]) for p in params]


# --------------------------------------------------------------------------- the probes


@pytest.mark.parametrize("probe", ["ones", "exact"])
def test_probe_equals_dense_hessian_in_train_mode(probe):
    """After one refresh with hessian_decay=0, D of every BN tensor is |H_kk 1| (ones) or
    |diag H_kk| (exact) of the dense float64 Hessian of the train-mode loss, and the count of
    rectified entries is the number of negative entries of that probe."""
    model = bn_cnn()
    x, y = batch()
    expected = []
    for name in BN_NAMES:
        block = dense_hessian(model, loss_fn, x, y, parameters=[name], train=True)
        expected.append(block.sum(dim=1) if probe == "ones" else block.diagonal())
    optimizer = SGDPH(channelwise_param_groups(model, probe=probe, hessian_decay=0.0), lr=0.0,
                      round_robin=False)
    optimizer.step(graph_closure(optimizer, model, x, y))
    tensors = [model.get_parameter(name) for name in BN_NAMES]
    actual = [optimizer.state[p]["hessian_diag"] for p in tensors]
    torch.testing.assert_close(actual, [h.abs() for h in expected], rtol=1e-10, atol=1e-12)
    negative = sum(int((h < 0).sum()) for h in expected)
    assert optimizer.state[DIAGNOSTICS]["negative_curvature"] == negative


def test_row_sums_are_not_the_diagonal_through_batch_norm():
    """The blocks of the BN tensors are not diagonal, so the two probes differ (the published
    probe is a row sum): the check above would not tell them apart otherwise."""
    model = bn_cnn()
    x, y = batch()
    block = dense_hessian(model, loss_fn, x, y, parameters=["1.weight"], train=True)
    gap = (block.sum(dim=1) - block.diagonal()).norm() / block.diagonal().norm()
    assert gap > 0.1


# --------------------------------------------------------------------------- the schedule


def test_round_robin_refreshes_step_mod_m():
    """Step t probes tensor t mod M of the preconditioned list (in group order), and each
    tensor's refresh count is the number of steps s <= t with s mod M equal to its position."""
    model = bn_cnn()
    x, y = batch()
    groups = channelwise_param_groups(model)
    bn, others = groups[1]["params"], groups[0]["params"]
    split = [{"params": others}, {"params": bn[:2], "precondition": True},
             {"params": bn[2:], "precondition": True, "probe": "exact"}]
    optimizer = SGDPH(split, lr=0.01)
    closure = graph_closure(optimizer, model, x, y)
    assert optimizer.scheduled(5) == [1]
    for t in range(9):
        optimizer.step(closure)
        diagnostics = optimizer.state[DIAGNOSTICS]
        assert diagnostics["refreshed_index"] == t % 4
        assert diagnostics["refreshed_group"] == 1 + (t % 4) // 2
        assert diagnostics["steps"] == diagnostics["refreshes"] == t + 1
        assert diagnostics["preconditioner_seconds"] > 0
        counts = [optimizer.state[p]["hessian_updates"] for p in bn]
        assert counts == [len([s for s in range(t + 1) if s % 4 == k]) for k in range(4)]


def test_without_round_robin_every_tensor_is_refreshed_every_step():
    model = bn_cnn()
    x, y = batch()
    optimizer = SGDPH(channelwise_param_groups(model), lr=0.01, round_robin=False)
    closure = graph_closure(optimizer, model, x, y)
    for t in range(3):
        optimizer.step(closure)
        assert optimizer.scheduled(t) == [0, 1, 2, 3]
        assert optimizer.state[DIAGNOSTICS]["refreshes"] == 4 * (t + 1)
    assert all(optimizer.state[model.get_parameter(n)]["hessian_updates"] == 3 for n in BN_NAMES)


# --------------------------------------------------------------------------- the step


def test_preconditioned_step_equals_its_formula():
    """Four steps on a tiny problem, computed by hand from autograd's gradient and Hessian
    (torch.autograd.functional, no deepoptim): the SGD part is SGD with coupled weight decay,
    the channel-wise tensor takes tau (1 - beta^n) / (D + eps) times its momentum (without the
    weight decay), plus lr * wd * theta, and the SGD step before its first refresh."""
    generator = torch.Generator().manual_seed(0)
    data = torch.randn(6, 3, generator=generator, dtype=torch.float64)
    target = torch.randn(6, generator=generator, dtype=torch.float64)
    w0 = torch.randn(3, 3, generator=generator, dtype=torch.float64)
    scales0 = torch.rand(3, generator=generator, dtype=torch.float64) + 0.5
    shift0 = torch.randn(3, generator=generator, dtype=torch.float64)

    def loss_of(w, scales, shift):
        return (torch.tanh(data @ w * scales + shift).sum(dim=1) - target).pow(2).mean()

    lr, momentum, wd, tau, eps, beta = 0.1, 0.9, 0.01, 0.05, 1e-3, 0.8
    params = [t.clone().requires_grad_() for t in (w0, scales0, shift0)]
    optimizer = SGDPH([{"params": params[:1]}, {"params": params[1:], "precondition": True}],
                      lr=lr, momentum=momentum, weight_decay=wd, tau=tau, eps=eps,
                      hessian_decay=beta)

    def closure():
        optimizer.zero_grad()
        loss = loss_of(*params)
        loss.backward(create_graph=True)
        return loss

    theta = [t.clone() for t in (w0, scales0, shift0)]
    bufs = [None] * 3
    diags, counts = [torch.zeros(3, dtype=torch.float64)] * 2, [0, 0]
    for t in range(4):
        optimizer.step(closure)
        grads = torch.autograd.functional.jacobian(loss_of, tuple(theta))
        k = t % 2  # the round-robin refresh: scales at even steps, shift at odd ones
        block = torch.autograd.functional.hessian(loss_of, tuple(theta))[1 + k][1 + k]
        diags[k] = beta * diags[k] + (1 - beta) * block.sum(dim=1).abs()
        counts[k] += 1
        for i in range(3):
            d = grads[i] + wd * theta[i] if i == 0 else grads[i]
            bufs[i] = d.clone() if bufs[i] is None else momentum * bufs[i] + d
            if i == 0:
                theta[i] = theta[i] - lr * bufs[i]
                continue
            n = counts[i - 1]
            step = tau * (1 - beta ** n) / (diags[i - 1] + eps) * bufs[i] if n else bufs[i]
            theta[i] = theta[i] - lr * (step + wd * theta[i])
        torch.testing.assert_close([p.detach() for p in params], theta, msg=f"step {t}")
    torch.testing.assert_close([optimizer.state[p]["hessian_diag"] for p in params[1:]], diags)


SGD_CONFIGS = {
    "plain": {"momentum": 0.0},
    "momentum": {"momentum": 0.9},
    "dampening": {"momentum": 0.9, "dampening": 0.3},
    "nesterov": {"momentum": 0.8, "nesterov": True},
    "weight decay": {"momentum": 0.9, "weight_decay": 0.05},
    "all": {"momentum": 0.5, "dampening": 0.2, "weight_decay": 0.01},
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("config", list(SGD_CONFIGS))
def test_nothing_to_precondition_is_torch_sgd_bit_for_bit(config, dtype):
    """Without a preconditioned group, SGD-PH's parameters and momentum buffers equal
    torch.optim.SGD's exactly after every step, with two groups of different lr."""
    runs = []
    for cls in (torch.optim.SGD, SGDPH):
        model = bn_cnn(dtype)
        x, y = batch(dtype)
        groups = [{"params": list(model[:3].parameters()), "lr": 0.05},
                  {"params": list(model[3:].parameters())}]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "it is torch.optim.SGD"
            optimizer = cls(groups, lr=0.1, **SGD_CONFIGS[config])
        trajectory = []
        for _ in range(5):
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            trajectory.append([p.detach().clone() for p in model.parameters()])
        runs.append((trajectory, state_of(optimizer, list(model.parameters()))))
    assert_identical(runs[1], runs[0])


# ------------------------------------------------------------------ the preconditioned path


def primed_sgdph(steps=3, dtype=torch.float64, **kwargs):
    model = bn_cnn(dtype)
    x, y = batch(dtype)
    optimizer = SGDPH(channelwise_param_groups(model), lr=0.05, weight_decay=1e-3, **kwargs)
    closure = graph_closure(optimizer, model, x, y)
    for _ in range(steps):
        optimizer.step(closure)
    return model, optimizer, closure, (x, y)


def without_timing(state_dict):
    state_dict = copy.deepcopy(state_dict)
    state_dict["state"][DIAGNOSTICS].pop("preconditioner_seconds")
    return state_dict


@pytest.mark.parametrize("probe", ["ones", "exact"])
def test_resume_equals_continue_with_preconditioning(probe):
    """Loading a state_dict saved mid-cycle (3 steps, 4 tensors) continues bit for bit: the
    parameters, the curvature state and the schedule (all but the wall time)."""
    model, optimizer, closure, (x, y) = primed_sgdph(probe=probe)
    saved = copy.deepcopy(optimizer.state_dict())
    twin = copy.deepcopy(model)
    resumed = SGDPH(channelwise_param_groups(twin), lr=0.05, weight_decay=1e-3, probe=probe)
    resumed.load_state_dict(saved)
    twin_closure = graph_closure(resumed, twin, x, y)
    for _ in range(4):
        optimizer.step(closure)
        resumed.step(twin_closure)
        assert_identical([p.detach() for p in twin.parameters()],
                         [p.detach() for p in model.parameters()])
    assert_identical(without_timing(resumed.state_dict()), without_timing(optimizer.state_dict()))


def test_lr_scales_the_whole_step():
    """lr multiplies the SGD and the Newton parts alike: from the same state, a step with half
    the lr (as a scheduler sets it) moves every parameter half as far."""
    moves = []
    for factor in (1.0, 0.5):
        model, optimizer, closure, _ = primed_sgdph(steps=2)
        torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _, f=factor: f)  # sets lr now
        assert optimizer.param_groups[1]["lr"] == 0.05 * factor
        before = [p.detach().clone() for p in model.parameters()]
        optimizer.step(closure)
        moves.append([p.detach() - b for p, b in zip(model.parameters(), before, strict=True)])
    torch.testing.assert_close([m / 2 for m in moves[0]], moves[1], rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("probe", ["ones", "exact"])
def test_dtypes_are_kept_and_the_loss_falls(probe, dtype):
    model, optimizer, closure, _ = primed_sgdph(steps=0, dtype=dtype, probe=probe)
    initial = loss_fn(model(batch(dtype)[0]), batch(dtype)[1]).item()
    for _ in range(15):
        optimizer.step(closure)
    assert loss_fn(model(batch(dtype)[0]), batch(dtype)[1]).item() < initial
    for p in model.parameters():
        assert p.dtype == dtype and torch.isfinite(p).all()
        for value in optimizer.state[p].values():
            assert not isinstance(value, torch.Tensor) or value.dtype == dtype


# --------------------------------------------------------------------------- safeguards


class _InfiniteCurvature(torch.autograd.Function):
    """The gradient 2p of sum(p^2), whose own derivative is reported as infinite."""

    @staticmethod
    def forward(ctx, p):
        return 2 * p

    @staticmethod
    def backward(ctx, v):
        return torch.full_like(v, math.inf)


class _Square(torch.autograd.Function):
    """sum(p^2) with a finite gradient and an infinite Hessian."""

    @staticmethod
    def forward(ctx, p):
        ctx.save_for_backward(p)
        return (p * p).sum()

    @staticmethod
    def backward(ctx, upstream):
        (p,) = ctx.saved_tensors
        return upstream * _InfiniteCurvature.apply(p)


def test_nonfinite_curvature_is_rejected_and_recorded():
    """A probe with an infinite entry leaves D and n as they were (the tensor takes the SGD step
    it took before), is counted, and the parameters stay finite."""
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = SGDPH([p], lr=0.1, momentum=0.0, precondition=True)

    def closure():
        optimizer.zero_grad()
        loss = _Square.apply(p)
        loss.backward(create_graph=True)
        return loss

    optimizer.step(closure)
    diagnostics = optimizer.state[DIAGNOSTICS]
    assert diagnostics["curvature_rejections"] == 1 and diagnostics["refreshes"] == 0
    assert optimizer.state[p]["hessian_updates"] == 0
    assert not optimizer.state[p]["hessian_diag"].any()
    torch.testing.assert_close(p.detach(), torch.tensor([0.8, -1.6], dtype=torch.float64))


def test_nonfinite_gradient_skips_the_step():
    model, optimizer, closure, (x, y) = primed_sgdph(steps=2)
    before = [p.detach().clone() for p in model.parameters()]
    state = state_of(optimizer, list(model.parameters()))

    def poisoned():
        loss = closure()
        model[0].weight.grad[0, 0, 0, 0] = math.nan
        return loss

    optimizer.step(poisoned)
    assert optimizer.state[DIAGNOSTICS]["nonfinite_skips"] == 1
    assert optimizer.state[DIAGNOSTICS]["steps"] == 2
    assert_identical([p.detach() for p in model.parameters()], before)
    assert_identical(state_of(optimizer, list(model.parameters())), state)


# --------------------------------------------------------------------------- misuse


def test_a_refresh_without_the_graph_is_an_error():
    model = bn_cnn()
    x, y = batch()
    optimizer = SGDPH(channelwise_param_groups(model))
    loss_fn(model(x), y).backward()
    with pytest.raises(RuntimeError, match=r"call loss.backward\(create_graph=True\)"):
        optimizer.step()


def test_nothing_to_precondition_warns():
    with pytest.warns(UserWarning, match="no parameter to precondition.*channelwise_param_groups"):
        SGDPH(bn_cnn().parameters())


def test_a_matrix_cannot_be_preconditioned():
    model = bn_cnn()
    with pytest.raises(ValueError, match=r"parameter 0 of shape \(3, 1, 3, 3\)"):
        SGDPH(model.parameters(), precondition=True)
    optimizer = SGDPH(channelwise_param_groups(model))
    with pytest.raises(ValueError, match=r"of shape \(3, 100\)"):
        optimizer.add_param_group({"params": [model[7].weight.detach().clone().requires_grad_()],
                                   "precondition": True})
    assert len(optimizer.param_groups) == 2  # the invalid group was not added


def test_channelwise_rules():
    """normalization: BN affine and weight-norm magnitudes (both APIs); authors: every 1-D
    tensor but the last; a callable; options go to the preconditioned group only."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 4), nn.LayerNorm(4),
        nn.utils.parametrizations.weight_norm(nn.Linear(4, 4)),
        nn.GroupNorm(2, 4), nn.Linear(4, 2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the old weight_norm API
        model.append(nn.utils.weight_norm(nn.Linear(2, 2)))

    def chosen(groups):
        ids = {id(p) for group in groups if group["precondition"] for p in group["params"]}
        return [name for name, p in model.named_parameters() if id(p) in ids]

    groups = channelwise_param_groups(model, tau=0.5)
    assert chosen(groups) == ["1.weight", "1.bias", "2.parametrizations.weight.original0",
                              "3.weight", "3.bias", "5.weight_g"]
    assert groups[1]["tau"] == 0.5 and "tau" not in groups[0]
    names = [name for name, p in model.named_parameters() if p.dim() == 1]
    assert chosen(channelwise_param_groups(model, "authors")) == names[:-1]
    assert chosen(channelwise_param_groups(model, lambda name, p: name == "0.bias")) == ["0.bias"]
    with pytest.raises(ValueError, match="Invalid rule value: 'bn'"):
        channelwise_param_groups(model, "bn")
    SGDPH(groups)  # every chosen tensor is channel-wise (the magnitudes are (4, 1) and (2, 1))
