"""Conformance records of SGD-PH (``deepoptim.optim.SGDPH``).

The generic suite drives every optimizer on ``||Wx + b||^2`` with closures that call
``backward()`` without the gradient's graph, so SGD-PH runs here with nothing to precondition:
as SGD with momentum, dampening, Nesterov and weight decay, against the float64 SGD reference
of ``records_torch``. Each construction warns that it is plain SGD. The preconditioned path
(which needs ``backward(create_graph=True)``) has its own tests in ``test_sgdph.py``: resume,
schedulers, dtypes, the probes against dense Hessians and the step against its formula.
"""

from __future__ import annotations

import torch

from deepoptim.optim import SGDPH

from .optim_info import ErrorCase, OptimInfo, OptimInput
from .records_torch import ReferenceSGD

_NO_MOMENTUM_STATE = {"test_state_created_and_stable": "SGD without momentum keeps no state"}
_WEIGHT_DECAY_MOVES = {
    "test_zero_grads_leave_params_unchanged": "weight decay moves parameters without gradients"
}


_SGD_KEYS = ("lr", "momentum", "dampening", "weight_decay", "nesterov")


def _reference(params, **kwargs) -> ReferenceSGD:
    """SGD in float64: SGD-PH with nothing to precondition (its other options are unused)."""
    return ReferenceSGD(params, **{key: kwargs[key] for key in _SGD_KEYS if key in kwargs})


def _leaf(*shape: int) -> torch.Tensor:
    return torch.zeros(*shape, requires_grad=True)


RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=SGDPH,
        inputs=[
            OptimInput("momentum", {"lr": 0.01, "momentum": 0.9}),
            OptimInput("no momentum", {"lr": 0.01, "momentum": 0.0}, skips=_NO_MOMENTUM_STATE),
            OptimInput("nesterov", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
            OptimInput("dampening", {"lr": 0.01, "momentum": 0.9, "dampening": 0.5}),
            OptimInput("weight decay", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1},
                       skips=_WEIGHT_DECAY_MOVES),
            OptimInput("every tensor probed", {"lr": 0.01, "momentum": 0.9, "probe": "exact",
                                               "round_robin": False}),
        ],
        errors=[
            ErrorCase({"lr": -1.0}, ValueError, "Invalid lr value: -1.0"),
            ErrorCase({"momentum": 1.0}, ValueError, "Invalid momentum value: 1.0"),
            ErrorCase({"dampening": 1.5}, ValueError, "Invalid dampening value: 1.5"),
            ErrorCase({"weight_decay": -1}, ValueError, "Invalid weight_decay value: -1"),
            ErrorCase({"nesterov": True, "momentum": 0.0}, ValueError,
                      "Nesterov momentum requires a momentum and zero dampening"),
            ErrorCase({"nesterov": 1}, TypeError, "nesterov must be a bool, got int"),
            ErrorCase({"tau": 0.0}, ValueError, "Invalid tau value: 0.0"),
            ErrorCase({"eps": 0.0}, ValueError, "Invalid eps value: 0.0"),
            ErrorCase({"hessian_decay": 1.0}, ValueError, "Invalid hessian_decay value: 1.0"),
            ErrorCase({"probe": "diagonal"}, ValueError, "Invalid probe value: 'diagonal'"),
            ErrorCase({"precondition": "yes"}, TypeError, "precondition must be a bool, got str"),
            ErrorCase({"round_robin": 1}, TypeError, "round_robin must be a bool, got int"),
            ErrorCase({"precondition": True}, ValueError,
                      r"Invalid precondition value: True for parameter 0 of shape \(3, 2\)",
                      params=lambda: [_leaf(3, 2), _leaf(3)], desc="a matrix preconditioned"),
            ErrorCase({}, ValueError, "Invalid tau value: -1",
                      params=lambda: [{"params": [_leaf(2)], "tau": -1}],
                      desc="invalid value in a group"),
        ],
        reference=_reference,
    ),
]
