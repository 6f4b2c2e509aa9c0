"""Records of LineSearch, SLS, AdamSLS and KenSLS (``deepoptim.optim.linesearch``).

The C5 reference is the independent float64 loop of ``reference_linesearch.py``; the special
cases (a constant step equals SGD or Adam) are tested against torch in ``test_linesearch.py``.
"""

from __future__ import annotations

from functools import partial

from deepoptim.optim import SLS, AdamSLS, KenSLS, LineSearch
from deepoptim.optim.directions import Adam, Momentum, Sign

from .optim_info import ErrorCase, OptimInfo, OptimInput
from .reference_linesearch import ReferenceLineSearch


def _two_groups(**second):
    """Two parameter groups, the second with its own hyperparameters."""
    import torch

    return lambda: [{"params": [torch.zeros(2, requires_grad=True)]},
                    {"params": [torch.zeros(3, requires_grad=True)], **second}]


def common_errors(extra_group_key: str = "c") -> list[ErrorCase]:
    """The checks every line search makes of its shared hyperparameters."""
    import torch

    return [
        ErrorCase({"lr": 1e-3}, TypeError, r"searches its step size and takes no lr"),
        ErrorCase({"init_step_size": 0.0}, ValueError, r"Invalid init_step_size value: 0.0"),
        ErrorCase({"c": 0.0}, ValueError, r"Invalid c value: 0.0"),
        ErrorCase({"c": 1.0}, ValueError, r"Invalid c value: 1.0"),
        ErrorCase({"beta_b": 1.0}, ValueError, r"Invalid beta_b value: 1.0"),
        ErrorCase({"max_trials": -1}, ValueError, r"Invalid max_trials value: -1"),
        ErrorCase({"max_trials": 2.5}, TypeError, r"max_trials must be an int, got float"),
        ErrorCase({"max_step_size": 0.0}, ValueError, r"Invalid max_step_size value: 0.0"),
        ErrorCase({}, ValueError, rf"same {extra_group_key} in every parameter group",
                  params=_two_groups(**{extra_group_key: 0.3}), desc="groups disagree"),
        ErrorCase({}, ValueError, r"Invalid lr value: -2", params=_two_groups(lr=-2),
                  desc="group lr negative"),
        ErrorCase({}, ValueError, r"a tensor lr is not supported",
                  params=_two_groups(lr=torch.tensor(0.5)), desc="group lr tensor"),
    ]


def reset_errors() -> list[ErrorCase]:
    return [
        ErrorCase({"gamma": 0.5}, ValueError, r"Invalid gamma value: 0.5"),
        ErrorCase({"n_batches_per_epoch": 0}, ValueError,
                  r"Invalid n_batches_per_epoch value: 0"),
        ErrorCase({"reset": "restart"}, ValueError, r"Invalid reset value: 'restart'"),
    ]


def adam_errors() -> list[ErrorCase]:
    return [
        ErrorCase({"betas": (1.0, 0.9)}, ValueError, r"Invalid beta parameter at index 0"),
        ErrorCase({"betas": (0.9, 1.0)}, ValueError, r"Invalid beta parameter at index 1"),
        ErrorCase({"eps": -1.0}, ValueError, r"Invalid eps value: -1.0"),
    ]


NO_PARAM_STATE = {"test_state_created_and_stable": "SLS keeps no per-parameter state (its step "
                  "size is optimizer-level state under state['line_search'])"}

RECORDS: list[OptimInfo] = [
    OptimInfo(
        cls=LineSearch,
        inputs=[
            OptimInput("default", {}, skips=NO_PARAM_STATE),
            OptimInput("momentum", {"direction": Momentum(0.9)}, skips={
                "test_scheduled_lr_is_used_by_next_step": "the heavy-ball direction does not "
                "descend at the second step of this problem (not_descent), so neither run "
                "moves there"}),
            OptimInput("nesterov", {"direction": Momentum(0.5, nesterov=True), "c": 0.3}),
            OptimInput("adam, searched along the gradient, update applied",
                       {"direction": Adam(search_along="gradient"), "apply": "update",
                        "init_step_size": 0.1}),
            OptimInput("sign", {"direction": Sign(), "init_step_size": 0.1},
                       skips=NO_PARAM_STATE),
            OptimInput("adam, finite-difference slope",
                       {"direction": Adam(), "slope": "finite_difference", "beta_s": 0.9,
                        "init_step_size": 0.1, "reset": "keep"}),
            OptimInput("momentum, constant step",
                       {"direction": Momentum(0.9), "reset": "initial", "max_trials": 0,
                        "init_step_size": 0.01}),
        ],
        errors=[
            *common_errors(),
            ErrorCase({"direction": "adam"}, TypeError, r"direction must be a .*Direction"),
            ErrorCase({"growth": 0.5}, ValueError, r"Invalid growth value: 0.5"),
            ErrorCase({"reset": "restart"}, ValueError, r"Invalid reset value: 'restart'"),
            ErrorCase({"slope": "central"}, ValueError, r"Invalid slope value: 'central'"),
            ErrorCase({"apply": "both"}, ValueError, r"Invalid apply value: 'both'"),
            ErrorCase({"fd_eps": 0.0}, ValueError, r"Invalid fd_eps value: 0.0"),
            ErrorCase({"direction": Momentum(0.9)}, ValueError, r"Invalid momentum value: 1.5",
                      params=_two_groups(momentum=1.5), desc="group direction invalid"),
        ],
        reference=partial(ReferenceLineSearch, method="linesearch", growth=2 ** (1 / 500)),
        step_requires_closure=True,
        lr_argument=False,
    ),
    OptimInfo(
        cls=SLS,
        inputs=[
            OptimInput("default", {}),
            OptimInput("goldstein", {"condition": "goldstein"}),
            OptimInput("reset keep", {"reset": "keep"}),
            OptimInput("reset initial", {"reset": "initial"}),
            OptimInput("smoothed", {"beta_s": 0.9, "c": 0.3}),
            OptimInput("capped", {"max_step_size": 0.05}),
            OptimInput("few trials", {"max_trials": 5, "beta_b": 0.3}),
            OptimInput("constant step",
                       {"reset": "initial", "max_trials": 0, "init_step_size": 0.01}),
        ],
        errors=[
            *common_errors(),
            *reset_errors(),
            ErrorCase({"condition": "wolfe"}, ValueError, r"Invalid condition value: 'wolfe'"),
            ErrorCase({"condition": "goldstein", "c": 0.5}, ValueError,
                      r"Invalid c value: 0.5 \(expected 0.0 < c < 0.5\)"),
            ErrorCase({"beta_f": 1.0}, ValueError, r"Invalid beta_f value: 1.0"),
            ErrorCase({"beta_s": 1.0}, ValueError, r"Invalid beta_s value: 1.0"),
        ],
        reference=partial(ReferenceLineSearch, method="sls"),
        step_requires_closure=True,
        lr_argument=False,
        skips=NO_PARAM_STATE,
    ),
    OptimInfo(
        cls=AdamSLS,
        inputs=[
            OptimInput("default", {}),
            OptimInput("exact", {"variant": "exact"}),
            OptimInput("smoothed", {"beta_s": 0.9, "c": 0.3}),
            OptimInput("reset initial", {"reset": "initial", "init_step_size": 0.5}),
            OptimInput("constant step",
                       {"reset": "initial", "max_trials": 0, "init_step_size": 0.01}),
        ],
        errors=[
            *common_errors("variant"),
            *reset_errors(),
            *adam_errors(),
            ErrorCase({"variant": "true"}, ValueError, r"Invalid variant value: 'true'"),
        ],
        reference=partial(ReferenceLineSearch, method="adamsls", init_step_size=0.1),
        step_requires_closure=True,
        lr_argument=False,
    ),
    OptimInfo(
        cls=KenSLS,
        inputs=[
            OptimInput("default", {}),
            OptimInput("exact slope", {"slope": "exact"}),
            OptimInput("unsmoothed", {"beta_s": 0.0, "c": 0.3}),
            OptimInput("given fd_eps", {"fd_eps": 1e-2}),
        ],
        errors=[
            *common_errors(),
            *adam_errors(),
            ErrorCase({"growth": 0.9}, ValueError, r"Invalid growth value: 0.9"),
            ErrorCase({"slope": "central"}, ValueError, r"Invalid slope value: 'central'"),
            ErrorCase({"fd_eps": 0.0}, ValueError, r"Invalid fd_eps value: 0.0"),
        ],
        reference=partial(ReferenceLineSearch, method="kensls", init_step_size=0.1,
                          beta_s=0.99, growth=1 / 0.999, slope="finite_difference"),
        step_requires_closure=True,
        lr_argument=False,
    ),
]
