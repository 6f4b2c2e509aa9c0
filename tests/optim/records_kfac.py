"""Conformance records of KFAC, NKFAC and AdaNKFAC.

The generic problem ``||W x + b||^2`` has parameters but no modules, so it runs with
``model=None``: no layer is preconditioned, and KFAC and NKFAC must be exactly SGD with
momentum (the float64 reference is ``records_torch.ReferenceSGD``), AdaNKFAC exactly AdamW
(``torch.optim.AdamW``). Preconditioning, its
schedules, fallbacks and resume are tested on real models in ``test_kfac.py`` and
``test_nkfac.py``.
"""

from __future__ import annotations

from deepoptim.optim.adankfac import AdaNKFAC
from deepoptim.optim.kfac import KFAC
from deepoptim.optim.nkfac import NKFAC

from .optim_info import ErrorCase, OptimInfo, OptimInput
from .records_adamr import ReferenceAdamW
from .records_torch import ReferenceSGD

_NO_LAYERS = {"model": None}


def sgd_reference(lr: float):
    """The SGD that a Kronecker optimizer with no preconditioned layer must equal."""

    def reference(params, model, lr=lr, momentum=0.9, dampening=0.0, weight_decay=0.0,
                  nesterov=False, **preconditioner_options):
        assert model is None
        return ReferenceSGD(params, lr=lr, momentum=momentum, dampening=dampening,
                            weight_decay=weight_decay, nesterov=nesterov)

    return reference


def inputs() -> list[OptimInput]:
    """The SGD configurations every Kronecker optimizer shares."""
    return [
        OptimInput("default", dict(_NO_LAYERS)),
        OptimInput("weight decay", {**_NO_LAYERS, "lr": 0.01, "weight_decay": 0.1},
                   skips={"test_zero_grads_leave_params_unchanged":
                          "weight decay moves parameters whose gradients are zero"}),
        OptimInput("nesterov", {**_NO_LAYERS, "lr": 0.01, "nesterov": True}),
        OptimInput("dampening", {**_NO_LAYERS, "lr": 0.01, "dampening": 0.5}),
        OptimInput("no momentum", {**_NO_LAYERS, "lr": 0.01, "momentum": 0.0},
                   skips={"test_state_created_and_stable":
                          "plain SGD keeps no state, as torch.optim.SGD"}),
    ]


def errors() -> list[ErrorCase]:
    """The invalid inputs every Kronecker optimizer refuses."""
    return [
        ErrorCase({}, TypeError, "needs the model it trains: pass model=model", on="step",
                  desc="no model"),
        ErrorCase({"model": "net"}, TypeError, "model must be a torch.nn.Module or None, got str"),
        ErrorCase({**_NO_LAYERS, "layers": ["0"]}, ValueError,
                  "Invalid layers value: layers were named but model is None"),
        ErrorCase({**_NO_LAYERS, "lr": -1.0}, ValueError, "Invalid lr value: -1.0"),
        ErrorCase({**_NO_LAYERS, "momentum": 1.0}, ValueError, "Invalid momentum value: 1.0"),
        ErrorCase({**_NO_LAYERS, "dampening": 2.0}, ValueError, "Invalid dampening value: 2.0"),
        ErrorCase({**_NO_LAYERS, "weight_decay": -0.1}, ValueError,
                  "Invalid weight_decay value: -0.1"),
        ErrorCase({**_NO_LAYERS, "nesterov": True, "momentum": 0.0}, ValueError,
                  "Invalid nesterov value: True"),
        ErrorCase({**_NO_LAYERS, "nesterov": 1}, TypeError, "nesterov must be a bool, got int"),
        ErrorCase({**_NO_LAYERS, "damping": -1.0}, ValueError, "Invalid damping value: -1.0"),
        ErrorCase({**_NO_LAYERS, "stat_decay": 1.0}, ValueError,
                  "Invalid stat_decay value: 1.0"),
        ErrorCase({**_NO_LAYERS, "cov_interval": 0}, ValueError,
                  "Invalid cov_interval value: 0"),
        ErrorCase({**_NO_LAYERS, "inv_interval": 1.5}, TypeError,
                  "inv_interval must be an int, got float"),
    ]


RECORDS: list[OptimInfo] = [
    OptimInfo(cls=KFAC, inputs=inputs(), errors=errors(), reference=sgd_reference(1e-3)),
]
# The authors' lr of 0.1 diverges on the generic quadratic (curvature about 10).
RECORDS.append(OptimInfo(cls=NKFAC, inputs=[
    OptimInput("lr 0.01", {**_NO_LAYERS, "lr": 0.01}), *inputs()[1:]], errors=[
    *errors(),
    ErrorCase({**_NO_LAYERS, "newton_steps": 0}, ValueError, "Invalid newton_steps value: 0"),
    ErrorCase({**_NO_LAYERS, "exact_interval": 0}, ValueError,
              "Invalid exact_interval value: 0"),
    ErrorCase({**_NO_LAYERS, "unsafe_start": "cold"}, ValueError,
              "Invalid unsafe_start value: 'cold'"),
], reference=sgd_reference(0.1)))

# AdaNKFAC with nothing preconditioned is AdamW (records_adamr's float64 reference).
_DECAY = {"test_zero_grads_leave_params_unchanged": "decoupled weight decay shrinks the params"}
RECORDS.append(OptimInfo(cls=AdaNKFAC, inputs=[
    OptimInput("default", {**_NO_LAYERS, "lr": 0.05}, skips=_DECAY),
    OptimInput("no decay, other betas", {**_NO_LAYERS, "lr": 0.05, "weight_decay": 0.0,
                                         "betas": (0.8, 0.9), "eps": 1e-6}),
], errors=[
    *[case for case in errors()  # SGD's own options are not AdaNKFAC's
      if not {"momentum", "dampening", "nesterov"} & set(case.kwargs)],
    ErrorCase({**_NO_LAYERS, "betas": (1.0, 0.9)}, ValueError,
              "Invalid beta parameter at index 0"),
    ErrorCase({**_NO_LAYERS, "eps": 0.0}, ValueError, "Invalid eps value: 0.0"),
    ErrorCase({**_NO_LAYERS, "newton_steps": 0}, ValueError, "Invalid newton_steps value: 0"),
], reference=ReferenceAdamW))
