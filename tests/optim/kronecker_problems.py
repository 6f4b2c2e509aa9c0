"""Small float64 networks and independent Kronecker computations shared by test_kfac.py and
test_nkfac.py (written from the formulas, not with deepoptim.curvature)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def classifier(seed: int = 0, dtype=torch.float64) -> nn.Module:
    """Conv1d -> ReLU -> Linear -> BatchNorm: two preconditioned layers and one that is not."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(3 * 6, 4), nn.BatchNorm1d(4)).to(dtype)


def batch(seed: int = 1, n: int = 8, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, 6, generator=gen, dtype=dtype), torch.randint(0, 4, (n,),
                                                                          generator=gen)


def closure_for(model, optimizer, x, y):
    def closure():
        loss = F.cross_entropy(model(x), y)
        if torch.is_grad_enabled():
            optimizer.zero_grad()
            loss.backward()
        return loss
    return closure


def train(model, optimizer, steps: int, seed: int = 1):
    """``steps`` steps, each on its own batch (seed + step)."""
    for step in range(steps):
        x, y = batch(seed + step, dtype=next(model.parameters()).dtype)
        optimizer.step(closure_for(model, optimizer, x, y))


def linear_factors(layer: nn.Linear, x: torch.Tensor, loss_of_output):
    """A = mean of [a;1][a;1]^T, G = mean of g g^T with g = N dL/ds, and the gradient
    matrix [dW db], for a mean loss of the layer's output."""
    s = layer(x)
    s.retain_grad()
    loss_of_output(s).backward()
    a = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)
    g = s.grad * len(x)
    gradient = torch.cat([layer.weight.grad, layer.bias.grad[:, None]], dim=1)
    return a.T @ a / len(x), g.T @ g / len(x), gradient


def kronecker_direction(a, g, gradient, damping):
    """((A + l I) kron (G + l I))^-1 vec(V), densely, column-major vec."""
    eye_a, eye_g = torch.eye(len(a), dtype=a.dtype), torch.eye(len(g), dtype=g.dtype)
    dense = torch.kron(a + damping * eye_a, g + damping * eye_g)
    vec = gradient.T.reshape(-1)
    return torch.linalg.solve(dense, vec).reshape(gradient.shape[1], -1).T


def twin(model, optimizer_cls, **kwargs):
    """A deep copy of the model with a fresh optimizer on it."""
    other = copy.deepcopy(model)
    return other, optimizer_cls(other.parameters(), model=other, **kwargs)


def check_poisoned_factor(optimizer_cls, poison: str, steps: int, **options) -> None:
    """After ``steps`` steps, poison a running factor of the Linear layer (a NaN entry, or
    -I: indefinite) and step until the next refresh (``steps`` must leave it one step away):
    the layer keeps its inverses, the parameters stay finite, one failed inverse is recorded
    (after a failed Newton update, for NKFAC's indefinite factor)."""
    model = classifier()
    optimizer = optimizer_cls(model.parameters(), model=model, **options)
    train(model, optimizer, steps)
    state = optimizer.state[model[3].weight]
    kept = state["a_inverse"].clone(), state["g_inverse"].clone()
    if poison == "nan":
        state["a_factor"][0, 0] = float("nan")
    else:
        state["g_factor"] = -torch.eye(4, dtype=torch.float64)
    train(model, optimizer, 1, seed=10)
    assert torch.equal(state["a_inverse"], kept[0]) and torch.equal(state["g_inverse"], kept[1])
    assert all(torch.isfinite(p).all() for p in model.parameters())
    diagnostics = optimizer.state["diagnostics"]
    # NKFAC's Newton update fails first on the indefinite factor, then its exact inverse
    assert diagnostics["failed_inverses"] == 1
    assert diagnostics["fallbacks"] == 1 + diagnostics.get("newton_failures", 0)


def check_resume_equals_continuing(optimizer_cls, **options):
    """Four steps, then the state loaded into a copy of the model: five more steps of each
    (across recording and refresh steps) give the same parameters and the same diagnostics,
    bit for bit (but the wall time). Returns the two optimizers."""
    model = classifier()
    optimizer = optimizer_cls(model.parameters(), model=model, **options)
    train(model, optimizer, 4)
    copy_model, resumed = twin(model, optimizer_cls, **options)
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    train(model, optimizer, 5, seed=20)
    train(copy_model, resumed, 5, seed=20)
    for mine, theirs in zip(model.parameters(), copy_model.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    timing = "preconditioner_seconds"
    ours, theirs = (o.state["diagnostics"] for o in (optimizer, resumed))
    assert {k: v for k, v in ours.items() if k != timing} == \
        {k: v for k, v in theirs.items() if k != timing}
    return optimizer, resumed


def check_trains(optimizer_cls, dtype, **options):
    """Ten steps on one batch of the classifier in ``dtype`` halve the loss with no fallback;
    returns the model and the optimizer (its state is in ``dtype``)."""
    model = classifier(dtype=dtype)
    optimizer = optimizer_cls(model.parameters(), model=model, **options)
    x, y = batch(dtype=dtype)
    closure = closure_for(model, optimizer, x, y)
    first = float(closure().detach())
    for _ in range(10):
        optimizer.step(closure)
    assert float(closure().detach()) < 0.5 * first
    assert optimizer.state["diagnostics"]["fallbacks"] == 0
    return model, optimizer
