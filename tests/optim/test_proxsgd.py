"""ProxSGD's reference tests: special cases equal torch's SGD and Adam, the documented difference of
the paper's zero-started momentum, exact zeros of the group lasso, monotone objective on a convex
problem, diagnostics, non-finite steps and per-group validation; the compiled step
(``fused=True``) equals the formulas and the eager step, diagnostics included.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepoptim.optim import DIAGNOSTICS, ProxSGD


def tiny_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()


def batches(steps: int):
    gen = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 4, generator=gen, dtype=torch.float64),
             torch.randint(0, 3, (8,), generator=gen)) for _ in range(steps)]


def train_steps(model, optimizer, data, scheduler=None):
    """One step per batch; yields after each step."""
    for x, y in data:
        def closure(x=x, y=y):
            loss = nn.functional.cross_entropy(model(x), y)
            if torch.is_grad_enabled():
                optimizer.zero_grad()
                loss.backward()
            return loss
        optimizer.step(closure)
        if scheduler is not None:
            scheduler.step()
        yield


def test_no_regulariser_equals_torch_sgd_when_momentum_starts_at_gradient():
    rho, lr = 0.2, 0.05
    ours, theirs = tiny_mlp(), tiny_mlp()
    prox_opt = ProxSGD(ours.parameters(), lr=lr, lr_decay=0.0, rho=rho, rho_decay=0.0,
                       momentum_init="gradient")
    sgd = torch.optim.SGD(theirs.parameters(), lr=lr, momentum=1 - rho, dampening=1 - rho)
    data = batches(10)
    for _ in zip(train_steps(ours, prox_opt, data), train_steps(theirs, sgd, data), strict=True):
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-12, atol=1e-14)
            torch.testing.assert_close(prox_opt.state[p]["momentum_buffer"],
                                       sgd.state[q]["momentum_buffer"], rtol=1e-12, atol=1e-14)


def test_zero_started_momentum_lags_by_the_documented_term():
    """On a linear loss (constant gradient g) the paper's v_{-1} = 0 gives
    v_t = (1 - (1-rho)^{t+1}) g, so after T steps x differs from SGD's by
    lr * g * sum_{t<T} (1-rho)^{t+1}."""
    rho, lr, steps = 0.3, 0.1, 6
    g = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    finals = {}
    for init in ("zero", "gradient"):
        x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        opt = ProxSGD([x], lr=lr, lr_decay=0.0, rho=rho, rho_decay=0.0, momentum_init=init)
        for t in range(steps):
            x.grad = g.clone()
            opt.step()
            if init == "zero":
                expected = (1 - (1 - rho) ** (t + 1)) * g
                torch.testing.assert_close(opt.state[x]["momentum_buffer"], expected)
        finals[init] = x.detach()
    lag = lr * g * sum((1 - rho) ** (t + 1) for t in range(steps))
    torch.testing.assert_close(finals["zero"] - finals["gradient"], lag)


def test_adaptive_equals_adam_without_first_moment_bias_correction():
    """ProxSGD(adaptive, rho = 1 - beta1 constant) equals torch's Adam whose lr at step k is
    lr * (1 - beta1^k): that factor cancels Adam's first-moment bias correction."""
    beta1, beta2, lr = 0.9, 0.99, 0.01
    ours, theirs = tiny_mlp(), tiny_mlp()
    prox_opt = ProxSGD(ours.parameters(), lr=lr, lr_decay=0.0, rho=1 - beta1, rho_decay=0.0,
                       adaptive=True, beta=beta2, eps=1e-8)
    adam = torch.optim.Adam(theirs.parameters(), lr=lr, betas=(beta1, beta2), eps=1e-8)
    undo = torch.optim.lr_scheduler.LambdaLR(adam, lambda k: 1 - beta1 ** (k + 1))
    data = batches(10)
    pairs = zip(train_steps(ours, prox_opt, data), train_steps(theirs, adam, data, undo),
                strict=True)
    for _ in pairs:
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
            torch.testing.assert_close(prox_opt.state[p]["exp_avg_sq"], adam.state[q]["exp_avg_sq"])


def test_adaptive_equals_time_varying_adam_variant():
    """With decaying rho it is Adam with beta1_t = 1 - rho_t, no first-moment bias correction."""
    x0 = torch.randn(5, dtype=torch.float64)
    target = torch.randn(5, dtype=torch.float64)
    x = x0.clone().requires_grad_()
    opt = ProxSGD([x], adaptive=True, lr=0.1, rho=0.9, lr_decay=0.5, rho_decay=0.5)
    ref, m, s = x0.clone(), torch.zeros(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    for t in range(8):
        x.grad = 2 * (x.detach() - target)
        g = 2 * (ref - target)
        opt.step()
        beta1 = 1 - 0.9 / (t + 4) ** 0.5
        m = beta1 * m + (1 - beta1) * g
        s = 0.999 * s + 0.001 * g * g
        ref = ref - 0.1 / (t + 4) ** 0.5 * m / (torch.sqrt(s / (1 - 0.999 ** (t + 1))) + 1e-8)
        torch.testing.assert_close(x.detach(), ref)


def test_group_lasso_zeroes_exactly_the_groups_below_threshold():
    """With zero momentum (zero gradient) x_hat = prox(x): rows of norm <= mu become exactly 0;
    with lr = 1 the step lands on x_hat, with lr < 1 those rows only shrink by (1 - lr)."""
    norms = torch.tensor([0.5, 0.99, 1.01, 3.0], dtype=torch.float64)
    direction = torch.randn(4, 3, dtype=torch.float64)
    weight0 = direction / direction.norm(dim=1, keepdim=True) * norms[:, None]
    for lr in (1.0, 0.25):
        weight = weight0.clone().requires_grad_()
        opt = ProxSGD([weight], lr=lr, lr_decay=0.0, regularizer="group_lasso", mu=1.0)
        weight.grad = torch.zeros_like(weight)
        opt.step()
        diagnostics = opt.state[DIAGNOSTICS]
        assert diagnostics["prox_zero_groups"] == 0.5 and diagnostics["num_groups"] == 4
        assert diagnostics["prox_zero_fraction"] == 0.5
        below = weight.detach()[:2]
        if lr == 1.0:
            assert torch.count_nonzero(below) == 0
        else:
            torch.testing.assert_close(below, (1 - lr) * weight0[:2])
        kept = weight.detach()[2:]
        shrunk = weight0[2:] * (1 - 1.0 / norms[2:, None])
        torch.testing.assert_close(kept, weight0[2:] + lr * (shrunk - weight0[2:]))


def test_weights_decay_geometrically_but_never_reach_zero():
    """A coordinate whose proximal point stays 0 decays as prod (1 - eps_t): never exactly 0."""
    x = torch.tensor([1e-3, -2e-3], dtype=torch.float64, requires_grad=True)
    opt = ProxSGD([x], lr=0.5, regularizer="l1", mu=1.0)
    factor = 1.0
    for t in range(50):
        x.grad = torch.zeros_like(x)
        opt.step()
        factor *= 1 - 0.5 / (t + 4) ** 0.5
        assert opt.state[DIAGNOSTICS]["prox_zero_fraction"] == 1.0
    start = torch.tensor([1e-3, -2e-3], dtype=torch.float64)
    torch.testing.assert_close(x.detach(), start * factor)
    assert torch.count_nonzero(x) == 2


@pytest.mark.parametrize("regularizer", ["group_lasso", "l1", "elastic_net"])
def test_objective_is_non_increasing_on_a_convex_problem(regularizer):
    """Least squares with L <= tau = 1 and no momentum (rho = 1): x_hat is a proximal-gradient
    step, which lowers F = f + r, and x + eps (x_hat - x) keeps F below F(x) by convexity."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(30, 6, generator=gen, dtype=torch.float64)
    a = a / torch.linalg.matrix_norm(a, ord=2)  # Lipschitz constant of the gradient: 1
    y = torch.randn(30, 4, generator=gen, dtype=torch.float64)
    x = torch.randn(6, 4, generator=gen, dtype=torch.float64).requires_grad_()
    opt = ProxSGD([x], lr=0.1, rho=1.0, rho_decay=0.0, regularizer=regularizer, mu=0.05,
                  mu2=0.1, group_normalization="none")

    def objective() -> float:
        with torch.no_grad():
            return float(0.5 * (a @ x - y).pow(2).sum()) + opt.penalty()

    values = [objective()]
    for _ in range(200):
        opt.zero_grad()
        (0.5 * (a @ x - y).pow(2).sum()).backward()
        opt.step()
        values.append(objective())
    assert all(later <= earlier + 1e-12 for earlier, later in zip(values, values[1:], strict=False))
    assert values[-1] < values[0]


def test_group_norms_and_penalty_match_dense_computation():
    weight = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, requires_grad=True)
    other = torch.randn(5, dtype=torch.float64, requires_grad=True)
    opt = ProxSGD([
        {"params": [weight, bias], "regularizer": "group_lasso", "mu": 0.3,
         "group_normalization": "div"},
        {"params": [other], "regularizer": "elastic_net", "mu": 0.2, "mu2": 0.4},
    ])
    rows = torch.cat([weight, bias[:, None]], dim=1).detach()
    norms = opt.group_norms()
    torch.testing.assert_close(norms[0], rows.norm(dim=1))
    assert norms[1] is None
    expected = (0.3 / math.sqrt(4) * rows.norm(dim=1).sum()
                + 0.2 * other.detach().abs().sum() + 0.2 * other.detach().pow(2).sum())
    assert opt.penalty() == pytest.approx(float(expected), rel=1e-12)


def test_l1_diagnostics_count_exact_zeros_of_the_proximal_point():
    x = torch.tensor([0.05, -0.5, 0.09, 2.0, 0.0], requires_grad=True)
    opt = ProxSGD([x], regularizer="l1", mu=0.1)
    x.grad = torch.zeros(5)
    opt.step()
    assert opt.state[DIAGNOSTICS]["prox_zero_fraction"] == pytest.approx(3 / 5)


@pytest.mark.parametrize("fused", [False, True], ids=["eager", "fused"])
@pytest.mark.parametrize("bad", ["loss", "grad"])
def test_non_finite_step_leaves_parameters_unchanged(bad, fused):
    x = torch.ones(3, requires_grad=True)
    opt = ProxSGD([x], regularizer="l1", mu=0.1, fused=fused)

    def closure():
        loss = (x * x).sum() * (math.nan if bad == "loss" else 1.0)
        opt.zero_grad()
        loss.backward()
        if bad == "grad":
            x.grad[1] = math.inf
        return loss

    opt.step(closure)
    assert torch.equal(x.detach(), torch.ones(3)) and not opt.state[x]
    assert opt.state[DIAGNOSTICS]["nonfinite_skips"] == 1


def test_invalid_group_is_not_added():
    opt = ProxSGD([torch.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match=r"for tensors of shapes \[\(2, 3\), \(5,\)\]"):
        opt.add_param_group({"params": [torch.zeros(2, 3, requires_grad=True),
                                        torch.zeros(5, requires_grad=True)],
                             "regularizer": "group_lasso"})
    with pytest.raises(ValueError, match="Invalid group_normalization value: 'half'"):
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)],
                             "group_normalization": "half"})
    assert len(opt.param_groups) == 1


def test_row_groups_span_tensors_and_box_binarises():
    """A row group joins a weight row with its bias entry; a box projects onto [-1, 1]."""
    weight = torch.tensor([[3.0, 4.0], [0.3, 0.0]], requires_grad=True)
    bias = torch.tensor([0.0, 0.4], requires_grad=True)
    opt = ProxSGD([weight, bias], lr=1.0, lr_decay=0.0, regularizer="group_lasso", mu=1.0)
    weight.grad, bias.grad = torch.zeros(2, 2), torch.zeros(2)
    opt.step()  # row norms 5 and 0.5: the second row and its bias vanish together
    torch.testing.assert_close(weight.detach(), torch.tensor([[2.4, 3.2], [0.0, 0.0]]))
    torch.testing.assert_close(bias.detach(), torch.tensor([0.0, 0.0]))

    w = torch.tensor([-3.0, 0.2, 5.0], requires_grad=True)
    box = ProxSGD([w], lr=1.0, lr_decay=0.0, bounds=(-1.0, 1.0))
    w.grad = torch.zeros(3)
    box.step()
    torch.testing.assert_close(w.detach(), torch.tensor([-1.0, 0.2, 1.0]))


def reference_step(params, grads, state, config, t):
    """ProxSGD's step from the module docstring's formulas, out of place, with the operators of
    ``deepoptim.prox``: the specification the optimizer's in-place step is checked against."""
    from deepoptim import prox

    base = t + 4
    eps_t, rho_t = config.get("lr", 0.06) / base ** 0.5, 0.9 / base ** 0.5
    beta = 0.999
    state.setdefault("v", [torch.zeros_like(p) for p in params])
    state.setdefault("s", [torch.zeros_like(p) for p in params])
    state["v"] = [(1 - rho_t) * v + rho_t * g for v, g in zip(state["v"], grads, strict=True)]
    state["s"] = [beta * s + (1 - beta) * g * g for s, g in zip(state["s"], grads, strict=True)]
    if config.get("adaptive"):
        taus = [torch.sqrt(s / (1 - beta ** (t + 1))) + 1e-8 for s in state["s"]]
    else:
        taus = [torch.ones_like(p) for p in params]
    regularizer = config.get("regularizer")
    if regularizer == "group_lasso":
        rows = config.get("group_by", "row") == "row"
        if rows:
            tau = torch.cat([t_.reshape(len(t_), -1) for t_ in taus], 1).mean(1)
            scales = [tau.reshape(-1, *[1] * (p.dim() - 1)) for p in params]
        else:
            tau = torch.cat([t_.reshape(-1) for t_ in taus]).mean()
            scales = [tau for _ in params]
        b = [p - v / s for p, v, s in zip(params, state["v"], scales, strict=True)]
        mu = config["mu"]
        if rows:
            size = sum(p[0].numel() for p in params)
            weight = mu / math.sqrt(size) if config.get("group_normalization") == "div" else mu
            x_hat = prox.prox_group_lasso_rows(b, weight, tau)
        else:
            x_hat = prox.prox_group_lasso(b, mu, tau)
    else:
        x_hat = []
        for p, v, tau in zip(params, state["v"], taus, strict=True):
            b = p - v / tau
            if regularizer == "l1":
                b = prox.prox_l1(b, config["mu"], tau)
            elif regularizer == "elastic_net":
                b = prox.prox_elastic_net(b, config["mu"], config["mu2"], tau)
            if config.get("bounds") is not None:
                b = prox.prox_box(b, *config["bounds"])
            x_hat.append(b)
    return [p + eps_t * (h - p) for p, h in zip(params, x_hat, strict=True)]


@pytest.mark.parametrize("config", [
    {"regularizer": "l1", "mu": 0.05},
    {"regularizer": "l1", "mu": 0.05, "adaptive": True},
    {"regularizer": "l1", "mu": 0.05, "bounds": (-0.3, 0.3), "adaptive": True},
    {"regularizer": "elastic_net", "mu": 0.05, "mu2": 0.2, "bounds": (None, 0.4)},
    {"regularizer": "elastic_net", "mu": 0.05, "mu2": 0.2, "adaptive": True},
    {"regularizer": None, "bounds": (-0.2, 0.2), "adaptive": True},
    {"regularizer": "group_lasso", "mu": 0.5, "group_normalization": "div"},
    {"regularizer": "group_lasso", "mu": 0.4, "adaptive": True},
    {"regularizer": "group_lasso", "mu": 2.0, "group_by": "all", "adaptive": True},
], ids=str)
@pytest.mark.parametrize("fused", [False, True], ids=["eager", "fused"])
def test_in_place_step_equals_the_formulas(config, fused):
    """Ten steps on fixed random gradients equal the out-of-place formulas in float64, for the
    elementwise and group regularisers with and without the curvature proxy (the eager step
    reuses its work buffers, so every step after the first runs on the previous step's
    leftovers; the compiled one takes its schedules as data, so a new step must not reuse the
    first step's values)."""
    gen = torch.Generator().manual_seed(3)
    params = [torch.randn(5, 3, generator=gen, dtype=torch.float64, requires_grad=True),
              torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True)]
    reference = [p.detach().clone() for p in params]
    opt = ProxSGD(params, lr=0.3, fused=fused, **config)
    state = {}
    for t in range(10):
        grads = [torch.randn(p.shape, generator=gen, dtype=torch.float64) for p in params]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.clone()
        opt.step()
        reference = reference_step(reference, grads, state, {**config, "lr": 0.3}, t)
        for p, r in zip(params, reference, strict=True):
            torch.testing.assert_close(p.detach(), r, rtol=1e-12, atol=1e-14)


def test_work_buffers_persist_and_mixed_dtypes_share_a_group():
    """The work buffers are allocated once (one per dtype) and reused; a group mixing float32
    and float64 tensors steps each as if it were alone."""
    gen = torch.Generator().manual_seed(4)
    single = torch.randn(50, generator=gen).requires_grad_()
    double = torch.randn(7, 3, generator=gen, dtype=torch.float64).requires_grad_()
    alone = [single.detach().clone().requires_grad_(), double.detach().clone().requires_grad_()]
    config = {"regularizer": "l1", "mu": 0.1, "adaptive": True}
    together = ProxSGD([single, double], **config)
    separate = [ProxSGD([p], **config) for p in alone]
    pointers = None
    for _ in range(5):
        for p, q in zip((single, double), alone, strict=True):
            p.grad = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            q.grad = p.grad.clone()
        together.step()
        for opt in separate:
            opt.step()
        current = {key: buffer.data_ptr() for key, buffer in together._workspace.items()}
        assert pointers is None or current == pointers
        pointers = current
    assert {dtype for _, dtype in pointers} == {torch.float32, torch.float64}
    for p, q in zip((single, double), alone, strict=True):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=0)


def test_count_zeros_off_changes_nothing_but_the_diagnostic():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(20, generator=gen).requires_grad_()
    y = x.detach().clone().requires_grad_()
    counted = ProxSGD([x], regularizer="l1", mu=0.5)
    uncounted = ProxSGD([y], regularizer="l1", mu=0.5, count_zeros=False)
    for _ in range(3):
        x.grad = torch.randn(20, generator=gen)
        y.grad = x.grad.clone()
        counted.step()
        uncounted.step()
    torch.testing.assert_close(x.detach(), y.detach(), rtol=0, atol=0)
    assert counted.state[DIAGNOSTICS]["prox_zero_fraction"] > 0
    assert "prox_zero_fraction" not in uncounted.state[DIAGNOSTICS]
    with pytest.raises(TypeError, match="count_zeros must be a bool, got int"):
        ProxSGD([x], count_zeros=1)
    mixed = ProxSGD([{"params": [x], "count_zeros": False},
                     {"params": [y], "regularizer": "l1", "mu": 0.5}])
    restored = ProxSGD([{"params": [x]}, {"params": [y]}])
    restored.load_state_dict(mixed.state_dict())  # the option is per group, and saved
    assert [g["count_zeros"] for g in restored.param_groups] == [False, True]


def test_the_two_schedules_follow_their_own_exponents():
    """epsilon_t = lr/(t+c)^a_eps and rho_t = rho/(t+c)^a_rho with different exponents and
    offsets, so a schedule that read the other's exponent would show."""
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    opt = ProxSGD([x], lr=0.2, lr_decay=0.3, rho=0.8, rho_decay=0.7, step_offset=2.5)
    for t in range(4):
        x.grad = torch.full_like(x, 0.1)
        opt.step()
        info = opt.state[DIAGNOSTICS]
        assert info["step_size"] == pytest.approx(0.2 / (t + 2.5) ** 0.3, rel=1e-15)
        assert info["rho"] == pytest.approx(0.8 / (t + 2.5) ** 0.7, rel=1e-15)
        torch.testing.assert_close(info["group_step_sizes"],
                                   torch.tensor([info["step_size"]], dtype=torch.float64))


@pytest.mark.parametrize("kwargs", [{"regularizer": "l1", "mu": 1e-3},
                                    {"bounds": (-1.0, 1.0)}])
def test_a_step_past_the_proximal_point_is_refused(kwargs):
    """With a regulariser or a box, epsilon_0 = lr / c^a must be at most 1."""
    with pytest.raises(ValueError, match=r"Invalid lr value: 2.5 .*lr / step_offset\*\*lr_decay "
                                         r"= 1.25 must be at most 1"):
        ProxSGD(None, lr=2.5, lr_decay=0.5, step_offset=4, **kwargs)
    ProxSGD([torch.zeros(2, requires_grad=True)], lr=2.0, lr_decay=0.5, step_offset=4, **kwargs)
    ProxSGD([torch.zeros(2, requires_grad=True)], lr=2.5, lr_decay=0.5, step_offset=4)


@pytest.mark.parametrize("config", [{"regularizer": "l1", "mu": 0.1},
                                    {"regularizer": "elastic_net", "mu": 0.1, "mu2": 0.3,
                                     "bounds": (-0.5, None), "adaptive": True},
                                    {"adaptive": True},
                                    {"regularizer": "l1", "mu": 0.1, "bounds": (-0.5, 0.5),
                                     "fused": True},
                                    {"regularizer": "elastic_net", "mu": 0.1, "mu2": 0.3,
                                     "adaptive": True, "fused": True}], ids=str)
def test_fused_step_over_buckets_and_a_regrown_workspace_equals_stepping_alone(config):
    """The fused kernels run over the parameters that share a step count: a parameter that
    missed a gradient lags one step and forms its own bucket, and a group added later grows
    the work buffer (the cached views must follow); the compiled step gives each parameter its
    own schedules. Each parameter still steps exactly as it does alone, in float64."""
    gen = torch.Generator().manual_seed(6)
    shapes = [(4, 3), (4,), (30, 2)]
    params = [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in shapes]
    alone = [p.detach().clone().requires_grad_() for p in params]
    together = ProxSGD(params[:2], lr=0.3, **config)
    separate = [ProxSGD([q], lr=0.3, **config) for q in alone]
    for t in range(6):
        if t == 3:
            together.add_param_group({"params": [params[2]]})
        for index, (p, q, opt) in enumerate(zip(params, alone, separate, strict=True)):
            has_grad = not (index == 1 and t == 1) and not (index == 2 and t < 3)
            p.grad = torch.randn(p.shape, generator=gen, dtype=torch.float64) if has_grad \
                else None
            q.grad = None if p.grad is None else p.grad.clone()
            if has_grad:
                opt.step()
        together.step()
        for p, q in zip(params, alone, strict=True):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-14, atol=1e-15)
    assert together.state[params[1]]["step"] == together.state[params[0]]["step"] - 1


@pytest.mark.parametrize("config", [
    {"regularizer": "l1", "mu": 0.02, "adaptive": True, "bounds": (-0.9, None)},
    {"regularizer": "elastic_net", "mu": 0.02, "mu2": 0.1},
    {"regularizer": "group_lasso", "mu": 0.2, "group_normalization": "mul"},
    {"regularizer": "group_lasso", "mu": 0.4, "adaptive": True},
], ids=str)
def test_compiled_step_equals_eager_step_with_its_diagnostics(config):
    """In float32 on a small network, the compiled step tracks the eager one to rounding and
    reports the same diagnostics (exact zeros of the proximal points, zero groups, schedules);
    ``fused`` is saved with the groups and must be a bool."""
    torch.manual_seed(7)
    eager_model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    fused_model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
    fused_model.load_state_dict(eager_model.state_dict())
    params = {"eager": list(eager_model[0].parameters()),
              "fused": list(fused_model[0].parameters())}
    eager = ProxSGD(params["eager"], lr=0.5, **config)
    fused = ProxSGD(params["fused"], lr=0.5, fused=True, **config)
    for _ in range(8):
        grads = [0.3 * torch.randn_like(p) for p in params["eager"]]
        for name, opt in (("eager", eager), ("fused", fused)):
            for p, g in zip(params[name], grads, strict=True):
                p.grad = g.clone()
            opt.step()
        for p, q in zip(params["eager"], params["fused"], strict=True):
            torch.testing.assert_close(q.detach(), p.detach(), rtol=1e-5, atol=1e-6)
        ours, theirs = fused.state[DIAGNOSTICS], eager.state[DIAGNOSTICS]
        assert ours.keys() == theirs.keys()
        for key, value in theirs.items():
            if isinstance(value, torch.Tensor):
                torch.testing.assert_close(ours[key], value)
            else:
                assert ours[key] == pytest.approx(value, rel=1e-12), key
    sparse = "prox_zero_fraction" if config["regularizer"] != "group_lasso" else "prox_zero_groups"
    assert 0 < fused.state[DIAGNOSTICS][sparse] < 1  # the zeros were counted, not assumed
    restored = ProxSGD(params["fused"])
    restored.load_state_dict(fused.state_dict())
    assert restored.param_groups[0]["fused"] is True
    with pytest.raises(TypeError, match="fused must be a bool, got int"):
        ProxSGD(params["fused"], fused=1)


def test_fused_step_without_a_compiler_fails_clearly_and_changes_nothing(monkeypatch):
    """Without a C++ compiler the first step raises, naming the cure, before any group (here
    an eager one first) has changed."""
    from torch._inductor import cpp_builder
    from torch._inductor.exc import InvalidCxxCompiler

    from deepoptim.optim import _proxsgd_fused

    def no_compiler() -> str:
        raise InvalidCxxCompiler("no-such-cxx")

    monkeypatch.setattr(cpp_builder, "get_cpp_compiler", no_compiler)
    _proxsgd_fused._cpu_compiler.cache_clear()
    try:
        eager, compiled = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
        opt = ProxSGD([{"params": [eager]}, {"params": [compiled], "fused": True}],
                      regularizer="l1", mu=0.1)
        eager.grad, compiled.grad = torch.ones(3), torch.ones(2)
        with pytest.raises(RuntimeError, match="needs a C.. compiler.*pass fused=False"):
            opt.step()
        assert torch.equal(eager.detach(), torch.ones(3)) and not opt.state[eager]
        assert torch.equal(compiled.detach(), torch.ones(2)) and not opt.state[compiled]
    finally:
        _proxsgd_fused._cpu_compiler.cache_clear()
