"""Optimizers of deepoptim: ``torch.optim.Optimizer`` subclasses, one method family per file.

Each family lives in its own module (``linesearch.py``, ``layerwise.py``, ``proxsgd.py``, ...),
which opens with the method's math, its source paper and where the book derives it. ``_base``
holds what they share: the optimizer-specific checks (the generic ones are in
``deepoptim._checks``), the package's closure convention (documented once, in its module
docstring) and the diagnostics key. Public names are re-exported here.
"""

from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    global_mean,
    loss_and_grad,
    loss_only,
)

__all__ = [
    "DIAGNOSTICS",
    "Closure",
    "global_mean",
    "loss_and_grad",
    "loss_only",
]
