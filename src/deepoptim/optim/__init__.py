"""Optimizers of deepoptim: ``torch.optim.Optimizer`` subclasses, one method family per file.

Each family lives in its own module (``linesearch.py``, ``layerwise.py``, ``proxsgd.py``, ...),
which opens with the method's math, its source paper and where the book derives it. ``_base``
holds what they share: hyperparameter validation (the package's shared checks from
``deepoptim._checks`` plus the optimizer-specific ones) and the package's closure convention
(documented once, in its module docstring). Public names are re-exported here.
"""

from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    check_betas,
    check_choice,
    check_in_range,
    check_int_at_least,
    check_non_negative,
    check_positive,
    check_sparse_grad,
    global_mean,
    loss_and_grad,
    loss_only,
    require_closure,
)

__all__ = [
    "DIAGNOSTICS",
    "Closure",
    "check_betas",
    "check_choice",
    "check_in_range",
    "check_int_at_least",
    "check_non_negative",
    "check_positive",
    "check_sparse_grad",
    "global_mean",
    "loss_and_grad",
    "loss_only",
    "require_closure",
]
