"""Records of PyTorch's own SGD and Adam, with independent float64 references.

They prove the conformance suite on optimizers known to be correct.
"""

from __future__ import annotations

import torch

from .optim_info import ErrorCase, LossFn, OptimInfo, OptimInput, gradients


class ReferenceSGD:
    """SGD with momentum, dampening, Nesterov, L2 weight decay and maximize, one tensor at a time.

    d = -g if maximizing else g;  d += wd * p;
    b = d on the first step, else mu * b + (1 - dampening) * d;
    d = d + mu * b with Nesterov, else b;  p -= lr * d.
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        maximize=False,
    ):
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov, self.maximize = weight_decay, nesterov, maximize

    def step(self, loss_fn: LossFn) -> None:
        """One update of every parameter from its gradient."""
        grads = gradients(loss_fn, self.params)
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            d = -g if self.maximize else g
            d = d + self.weight_decay * p
            if self.momentum != 0:
                if "momentum_buffer" in state:
                    buf = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * d
                else:
                    buf = d.clone()
                state["momentum_buffer"] = buf
                d = d + self.momentum * buf if self.nesterov else buf
            p.sub_(self.lr * d)


class ReferenceAdam:
    """Adam (and AMSGrad) with L2 weight decay and maximize, one tensor at a time.

    d = -g if maximizing else g;  d += wd * p;  t += 1;
    m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;  (AMSGrad: v_max = max(v_max, v), used as v)
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    def __init__(
        self,
        params,
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.0,
        amsgrad=False,
        maximize=False,
    ):
        self.params = [p.detach().clone() for p in params]
        self.state = [{} for _ in self.params]
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad, self.maximize = weight_decay, amsgrad, maximize

    def step(self, loss_fn: LossFn) -> None:
        """One update of every parameter from its gradient."""
        grads = gradients(loss_fn, self.params)
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            d = -g if self.maximize else g
            d = d + self.weight_decay * p
            t = state.get("step", 0) + 1
            m = self.beta1 * state.get("exp_avg", 0.0) + (1 - self.beta1) * d
            v = self.beta2 * state.get("exp_avg_sq", 0.0) + (1 - self.beta2) * d * d
            state.update(step=t, exp_avg=m, exp_avg_sq=v)
            if self.amsgrad:
                v = torch.maximum(state.get("max_exp_avg_sq", v), v)
                state["max_exp_avg_sq"] = v
            m_hat = m / (1 - self.beta1**t)
            v_hat = v / (1 - self.beta2**t)
            p.sub_(self.lr * m_hat / (v_hat.sqrt() + self.eps))


# With differentiable=True torch steps with autograd on, so the in-place update of a leaf that
# requires grad fails: a genuine step-time error of torch's optimizers, exercising on="step".
_DIFFERENTIABLE_STEP = ErrorCase(
    {"differentiable": True}, RuntimeError, "a leaf Variable that requires grad", on="step"
)

_NO_MOMENTUM_STATE = {"test_state_created_and_stable": "SGD without momentum keeps no state"}
_WEIGHT_DECAY_MOVES = {
    "test_zero_grads_leave_params_unchanged": "weight decay moves parameters without gradients"
}

RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=torch.optim.SGD,
        supports_complex=True,
        supports_tensor_lr=True,
        inputs=[
            OptimInput("default", {}, skips=_NO_MOMENTUM_STATE),
            OptimInput("momentum", {"lr": 0.01, "momentum": 0.9}),
            OptimInput("nesterov", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
            OptimInput("dampening", {"lr": 0.01, "momentum": 0.9, "dampening": 0.5}),
            OptimInput(
                "weight decay",
                {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
                skips=_WEIGHT_DECAY_MOVES,
            ),
            OptimInput("maximize", {"lr": 0.01, "momentum": 0.9, "maximize": True}),
        ],
        errors=[
            ErrorCase({"lr": -0.1}, ValueError, "Invalid learning rate: -0.1"),
            ErrorCase({"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5"),
            ErrorCase({"weight_decay": -1}, ValueError, "Invalid weight_decay value: -1"),
            ErrorCase(
                {"nesterov": True, "momentum": 0.0},
                ValueError,
                "Nesterov momentum requires a momentum and zero dampening",
            ),
            _DIFFERENTIABLE_STEP,
        ],
        reference=ReferenceSGD,
        supports_maximize=True,
        skips={"test_sparse_grads_rejected": "torch.optim.SGD supports sparse gradients"},
    ),
    OptimInfo(
        cls=torch.optim.Adam,
        supports_complex=True,
        supports_tensor_lr=True,
        inputs=[
            OptimInput("default", {}),
            OptimInput("amsgrad", {"lr": 0.01, "amsgrad": True}),
            OptimInput(
                "weight decay", {"lr": 0.01, "weight_decay": 0.1}, skips=_WEIGHT_DECAY_MOVES
            ),
            OptimInput("maximize", {"lr": 0.01, "maximize": True}),
        ],
        errors=[
            ErrorCase({"lr": -1.0}, ValueError, "Invalid learning rate: -1.0"),
            ErrorCase({"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0"),
            ErrorCase({"weight_decay": -1}, ValueError, "Invalid weight_decay value: -1"),
            ErrorCase({"betas": (1.0, 0.0)}, ValueError, "Invalid beta parameter at index 0: 1.0"),
            ErrorCase({"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0"),
            _DIFFERENTIABLE_STEP,
        ],
        reference=ReferenceAdam,
        supports_maximize=True,
    ),
]
