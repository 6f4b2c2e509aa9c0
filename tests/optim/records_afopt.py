"""Conformance records of AFOpt. The conformance problems have no attention layer, so AFOpt is
AdamW there (``attention=()``), checked against the float64 AdamW written out in
``records_adamr``; ``test_afopt.py`` checks the attention step on a tiny transformer."""

from __future__ import annotations

import torch

from deepoptim.optim import AFOpt

from .optim_info import ErrorCase, OptimInfo, OptimInput
from .records_adamr import ReferenceAdamW


def _reference(params, attention=(), damping=None, factor_decay=None, update_interval=None,
               **adamw):
    """AdamW: what AFOpt is without attention layers (its attention options are unused)."""
    return ReferenceAdamW(params, **adamw)


_DECAY = {"test_zero_grads_leave_params_unchanged": "decoupled weight decay shrinks the params"}

RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=AFOpt,
        inputs=[
            OptimInput("default (AdamW)", {"lr": 0.05, "attention": ()}, skips=_DECAY),
            OptimInput("no weight decay", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6,
                                           "weight_decay": 0.0, "attention": (),
                                           "update_interval": 3}),
        ],
        errors=[
            ErrorCase({"lr": -1.0, "attention": ()}, ValueError, "Invalid lr value: -1.0"),
            ErrorCase({"betas": (1.0, 0.9), "attention": ()}, ValueError,
                      "Invalid beta parameter at index 0"),
            ErrorCase({"eps": -1.0, "attention": ()}, ValueError, "Invalid eps value: -1.0"),
            ErrorCase({"weight_decay": -0.1, "attention": ()}, ValueError,
                      "Invalid weight_decay value: -0.1"),
            ErrorCase({"damping": -1.0, "attention": ()}, ValueError,
                      "Invalid damping value: -1.0"),
            ErrorCase({"factor_decay": 1.0, "attention": ()}, ValueError,
                      "Invalid factor_decay value: 1.0"),
            ErrorCase({"update_interval": 0, "attention": ()}, ValueError,
                      "Invalid update_interval value: 0"),
            ErrorCase({"attention": (), "model": torch.nn.Linear(2, 2)}, TypeError,
                      "AFOpt must be told its attention layers by exactly one"),
            ErrorCase({}, TypeError, "AFOpt must be told its attention layers by exactly one",
                      on="step", desc="neither attention nor model"),
            ErrorCase({"attention": [torch.nn.Linear(2, 2)]}, TypeError,
                      r"attention\[0\] \(Linear\) is not an attention layer"),
            ErrorCase({"attention": ()}, ValueError, "Invalid damping value: -2",
                      params=lambda: [{"params": [torch.zeros(2, 2, requires_grad=True)],
                                       "damping": -2}],
                      desc="invalid value in a group"),
        ],
        reference=_reference,
    ),
]
