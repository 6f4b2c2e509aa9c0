"""Conformance records of AdamR (rotation cadences, weight decay, maximize, unrotated sides),
with an independent float64 reference for the configuration without rotated sides.

The conformance quadratic ``||W x + b||^2`` has rank-one gradients ``2 r x^T``, so AdamR's
factors have null spaces whose eigenvectors ``eigh`` picks arbitrarily: their rotations, kept
in the state, are not comparable with a reference's. The rotated configurations therefore skip
C5 here; ``test_adamr.py`` checks them against a dense Kronecker-product reference on a problem
with full-rank gradients.
"""

from __future__ import annotations

import torch

from deepoptim.optim import AdamR

from .optim_info import ErrorCase, LossFn, OptimInfo, OptimInput, gradients


class ReferenceAdamW:
    """AdamW written out: t += 1;  p *= 1 - lr wd;  m = b1 m + (1 - b1) d;
    v = b2 v + (1 - b2) d^2;  p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), with
    d = -g when maximizing. AdamR without rotated sides (``max_dim=1``) is exactly this."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 maximize=False, **rotation_options):  # no side is rotated: options unused
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.weight_decay, self.maximize = weight_decay, maximize

    def step(self, loss_fn: LossFn) -> None:
        grads = gradients(loss_fn, self.params)
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            d = -g if self.maximize else g
            t = state.get("step", 0) + 1
            m = self.beta1 * state.get("exp_avg", torch.zeros_like(p)) + (1 - self.beta1) * d
            v = self.beta2 * state.get("exp_avg_sq", torch.zeros_like(p)) \
                + (1 - self.beta2) * d * d
            state.update(step=t, exp_avg=m, exp_avg_sq=v)
            p.mul_(1 - self.lr * self.weight_decay)
            p.sub_(self.lr * (m / (1 - self.beta1 ** t))
                   / ((v / (1 - self.beta2 ** t)).sqrt() + self.eps))


_RANK_ONE = {"test_matches_reference": "rank-one gradients: the rotations of the factors' null "
             "spaces are arbitrary (test_adamr.py has a dense reference)"}
_DECAY = {"test_zero_grads_leave_params_unchanged": "decoupled weight decay shrinks the params"}

RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=AdamR,
        inputs=[
            OptimInput("default", {"lr": 0.05}, skips={**_RANK_ONE, **_DECAY}),
            OptimInput("refresh every step", {"lr": 0.05, "weight_decay": 0.0,
                                              "rotation_interval": 1}, skips=_RANK_ONE),
            OptimInput("sparse statistics", {"lr": 0.05, "weight_decay": 0.0, "stat_interval": 2,
                                             "rotation_interval": 3, "factor_decay": 0.5},
                       skips=_RANK_ONE),
            OptimInput("one side rotated", {"lr": 0.05, "max_dim": 5, "betas": (0.8, 0.9)},
                       skips={**_RANK_ONE, **_DECAY}),
            OptimInput("maximize", {"lr": 0.05, "weight_decay": 0.0, "maximize": True},
                       skips=_RANK_ONE),
            OptimInput("no rotated side (AdamW)", {"lr": 0.05, "max_dim": 1}, skips=_DECAY),
            OptimInput("no rotated side, maximize", {"lr": 0.05, "max_dim": 1,
                                                     "weight_decay": 0.0, "maximize": True}),
        ],
        errors=[
            ErrorCase({"lr": -1.0}, ValueError, "Invalid lr value: -1.0"),
            ErrorCase({"betas": (1.0, 0.9)}, ValueError, "Invalid beta parameter at index 0"),
            ErrorCase({"betas": 0.9}, TypeError, "betas must be a pair"),
            ErrorCase({"eps": 0.0}, ValueError, "Invalid eps value: 0.0"),
            ErrorCase({"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1"),
            ErrorCase({"factor_decay": 1.0}, ValueError, "Invalid factor_decay value: 1.0"),
            ErrorCase({"stat_interval": 0}, ValueError, "Invalid stat_interval value: 0"),
            ErrorCase({"rotation_interval": 2.0}, TypeError,
                      "rotation_interval must be an int, got float"),
            ErrorCase({"max_dim": 0}, ValueError, "Invalid max_dim value: 0"),
            ErrorCase({"maximize": 1}, TypeError, "maximize must be a bool, got int"),
            ErrorCase({"timed": "yes"}, TypeError, "timed must be a bool, got str"),
            ErrorCase({}, ValueError, "Invalid rotation_interval value: 0",
                      params=lambda: [{"params": [torch.zeros(2, 2, requires_grad=True)],
                                       "rotation_interval": 0}],
                      desc="invalid value in a group"),
        ],
        reference=ReferenceAdamW,
        supports_maximize=True,
    ),
]
