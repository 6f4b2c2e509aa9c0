"""Conformance records of ProxSGD (every regulariser, constraint, grouping and curvature option),
with an independent float64 reference written from the paper's update.
"""

from __future__ import annotations

import math

import torch

from deepoptim.optim import ProxSGD

from .optim_info import ErrorCase, LossFn, OptimInfo, OptimInput, gradients


class ReferenceProxSGD:
    """ProxSGD written out from the paper, on flattened rows, with no shared code.

    t = steps so far;  e = lr/(t+c)^a_e;  r = rho/(t+c)^a_r;
    v = (1-r) v + r g (v starts at 0, or at g for momentum_init="gradient");
    tau = sqrt(s/(1-beta^(t+1))) + eps with s = beta s + (1-beta) g^2, or 1;
    x_hat = argmin of the prox subproblem at b = x - v/tau;  x = x + e (x_hat - x).
    """

    def __init__(self, params, lr=0.06, lr_decay=0.5, rho=0.9, rho_decay=0.5, step_offset=4,
                 adaptive=False, beta=0.999, eps=1e-8, regularizer=None, mu=0.0, mu2=0.0,
                 bounds=None, group_by="row", group_normalization="none", momentum_init="zero",
                 count_zeros=True, fused=False):  # neither changes the update
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.lr, self.lr_decay, self.rho, self.rho_decay = lr, lr_decay, rho, rho_decay
        self.offset, self.adaptive, self.beta, self.eps = step_offset, adaptive, beta, eps
        self.regularizer, self.mu, self.mu2, self.bounds = regularizer, mu, mu2, bounds
        self.group_by, self.normalization = group_by, group_normalization
        self.momentum_init = momentum_init

    def step(self, loss_fn: LossFn) -> None:
        grads = gradients(loss_fn, self.params)
        taus, steps = [], []
        for g, state in zip(grads, self.state, strict=True):
            t = state.get("step", 0)
            rho_t = self.rho / (t + self.offset) ** self.rho_decay
            start = g.clone() if self.momentum_init == "gradient" else torch.zeros_like(g)
            v = (1 - rho_t) * state.get("momentum_buffer", start) + rho_t * g
            state.update(step=t + 1, momentum_buffer=v)
            tau = torch.ones_like(g)
            if self.adaptive:
                s = state.get("exp_avg_sq", torch.zeros_like(g))
                s = self.beta * s + (1 - self.beta) * g * g
                state["exp_avg_sq"] = s
                tau = torch.sqrt(s / (1 - self.beta ** (t + 1))) + self.eps
            taus.append(tau)
            steps.append(self.lr / (t + self.offset) ** self.lr_decay)
        if self.regularizer == "group_lasso":
            targets = self._group_prox(taus)
        else:
            targets = [self._elementwise_prox(p - s["momentum_buffer"] / tau, tau)
                       for p, s, tau in zip(self.params, self.state, taus, strict=True)]
        for p, target, e in zip(self.params, targets, steps, strict=True):
            p.add_(e * (target - p))

    def _elementwise_prox(self, b, tau):
        if self.regularizer in ("l1", "elastic_net"):
            b = torch.sign(b) * torch.clamp(b.abs() - self.mu / tau, min=0)
        if self.regularizer == "elastic_net":
            b = b / (1 + self.mu2 / tau)
        if self.bounds is not None:
            b = torch.clamp(b, *self.bounds)
        return b

    def _group_prox(self, taus):
        """Rows (or everything) concatenated into one matrix with one group per matrix row."""
        rows = self.params[0].shape[0] if self.group_by == "row" else 1
        flat = lambda ts: torch.cat([x.reshape(rows, -1) for x in ts], dim=1)  # noqa: E731
        tau = flat(taus).mean(dim=1, keepdim=True)
        b = flat(self.params) - flat([s["momentum_buffer"] for s in self.state]) / tau
        size = b.shape[1]
        mu = {"none": self.mu, "div": self.mu / math.sqrt(size),
              "mul": self.mu * math.sqrt(size)}[self.normalization]
        norm = b.norm(dim=1, keepdim=True)
        x_hat = torch.where(norm > mu / tau, b * (1 - mu / tau / norm), torch.zeros_like(b))
        pieces, start = [], 0
        for p in self.params:
            width = p.numel() // rows
            pieces.append(x_hat[:, start:start + width].reshape(p.shape))
            start += width
        return pieces


_SHRINKS = {"test_zero_grads_leave_params_unchanged":
            "the proximal step shrinks (or projects) parameters without gradients"}
_ROWS = {"test_params_without_grads_are_skipped":
         "row groups need all tensors of a parameter group to share dimension 0"}


def _leaf(*shape: int) -> torch.Tensor:
    return torch.zeros(*shape, requires_grad=True)


RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=ProxSGD,
        inputs=[
            OptimInput("default", {}),
            OptimInput("constant schedules", {"lr": 0.01, "lr_decay": 0.0, "rho": 0.1,
                                              "rho_decay": 0.0}),
            OptimInput("momentum from gradient", {"momentum_init": "gradient"}),
            OptimInput("adaptive", {"adaptive": True}),
            OptimInput("l1", {"regularizer": "l1", "mu": 0.01}, skips=_SHRINKS),
            OptimInput("l1 adaptive", {"regularizer": "l1", "mu": 0.01, "adaptive": True},
                       skips=_SHRINKS),
            OptimInput("l1 uncounted", {"regularizer": "l1", "mu": 0.01, "count_zeros": False},
                       skips=_SHRINKS),
            OptimInput("l1 box", {"regularizer": "l1", "mu": 0.01, "bounds": (-1.5, 1.5)},
                       skips=_SHRINKS),
            OptimInput("box", {"bounds": (-1.0, 1.0)}, skips=_SHRINKS),
            OptimInput("half-open box", {"bounds": (None, 1.0)}, skips=_SHRINKS),
            OptimInput("elastic net", {"regularizer": "elastic_net", "mu": 0.01, "mu2": 0.05},
                       skips=_SHRINKS),
            OptimInput("group rows", {"regularizer": "group_lasso", "mu": 0.05},
                       skips={**_SHRINKS, **_ROWS}),
            OptimInput("group rows div adaptive",
                       {"regularizer": "group_lasso", "mu": 0.05, "adaptive": True,
                        "group_normalization": "div"}, skips={**_SHRINKS, **_ROWS}),
            OptimInput("group all mul", {"regularizer": "group_lasso", "mu": 0.01,
                                         "group_by": "all", "group_normalization": "mul"},
                       skips=_SHRINKS),
            OptimInput("group all adaptive", {"regularizer": "group_lasso", "mu": 0.05,
                                              "group_by": "all", "adaptive": True},
                       skips=_SHRINKS),
            OptimInput("l1 box adaptive fused", {"regularizer": "l1", "mu": 0.01,
                                                 "bounds": (-1.5, 1.5), "adaptive": True,
                                                 "fused": True}, skips=_SHRINKS),
            OptimInput("elastic net fused", {"regularizer": "elastic_net", "mu": 0.01,
                                             "mu2": 0.05, "fused": True}, skips=_SHRINKS),
            OptimInput("group rows div adaptive fused",
                       {"regularizer": "group_lasso", "mu": 0.05, "adaptive": True,
                        "group_normalization": "div", "fused": True},
                       skips={**_SHRINKS, **_ROWS}),
            OptimInput("group all fused", {"regularizer": "group_lasso", "mu": 0.05,
                                           "group_by": "all", "fused": True}, skips=_SHRINKS),
        ],
        errors=[
            ErrorCase({"lr": -1.0}, ValueError, "Invalid lr value: -1.0"),
            ErrorCase({"lr_decay": -0.5}, ValueError, "Invalid lr_decay value: -0.5"),
            ErrorCase({"rho": 0.0}, ValueError, "Invalid rho value: 0.0"),
            ErrorCase({"rho": 1.5}, ValueError, "Invalid rho value: 1.5"),
            ErrorCase({"rho_decay": -1.0}, ValueError, "Invalid rho_decay value: -1.0"),
            ErrorCase({"step_offset": 0.5}, ValueError, "Invalid step_offset value: 0.5"),
            ErrorCase({"beta": 1.0}, ValueError, "Invalid beta value: 1.0"),
            ErrorCase({"eps": 0.0}, ValueError, "Invalid eps value: 0.0"),
            ErrorCase({"adaptive": "yes"}, TypeError, "adaptive must be a bool"),
            ErrorCase({"count_zeros": 1}, TypeError, "count_zeros must be a bool, got int"),
            ErrorCase({"fused": "yes"}, TypeError, "fused must be a bool, got str"),
            ErrorCase({"regularizer": "l2"}, ValueError, "Invalid regularizer value: 'l2'"),
            ErrorCase({"mu": -0.1}, ValueError, "Invalid mu value: -0.1"),
            ErrorCase({"mu2": -0.1}, ValueError, "Invalid mu2 value: -0.1"),
            ErrorCase({"bounds": (1.0, -1.0)}, ValueError, r"Invalid bounds value: \(1.0, -1.0\)"),
            ErrorCase({"bounds": (0.0,)}, ValueError, r"Invalid bounds value: \(0.0,\)"),
            ErrorCase({"bounds": (0.0, math.nan)}, ValueError, "Invalid bounds.1. value: nan"),
            ErrorCase({"group_by": "column"}, ValueError, "Invalid group_by value: 'column'"),
            ErrorCase({"group_normalization": "sqrt"}, ValueError,
                      "Invalid group_normalization value: 'sqrt'"),
            ErrorCase({"momentum_init": "ones"}, ValueError, "Invalid momentum_init value: 'ones'"),
            ErrorCase({"regularizer": "group_lasso", "bounds": (-1.0, 1.0)}, ValueError,
                      "cannot be combined with regularizer='group_lasso'"),
            ErrorCase({"regularizer": "group_lasso"}, ValueError,
                      r"Invalid group_by value: 'row' for tensors of shapes \[\(3, 2\), \(4,\)\]",
                      params=lambda: [_leaf(3, 2), _leaf(4)], desc="rows of unequal tensors"),
            ErrorCase({"regularizer": "group_lasso"}, ValueError,
                      "Invalid group_by value: 'row' for tensors of shapes",
                      params=lambda: [torch.zeros((), requires_grad=True)], desc="0-dim rows"),
            ErrorCase({}, ValueError, "Invalid mu value: -1",
                      params=lambda: [{"params": [_leaf(2)], "mu": -1}],
                      desc="invalid value in a group"),
        ],
        reference=ReferenceProxSGD,
    ),
]
