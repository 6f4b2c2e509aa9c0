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
from deepoptim.optim.armijo import ArmijoSearch, Line, SearchResult, reset_step_size
from deepoptim.optim.layerwise import PLASLS, split_by_prefix, split_parameters
from deepoptim.optim.linesearch import LINE_SEARCH, SLS, AdamSLS, KenSLS
from deepoptim.optim.proxsgd import ProxSGD
from deepoptim.optim.salsa import SaLSa

__all__ = [
    "DIAGNOSTICS",
    "LINE_SEARCH",
    "PLASLS",
    "SLS",
    "AdamSLS",
    "ArmijoSearch",
    "Closure",
    "KenSLS",
    "Line",
    "ProxSGD",
    "SaLSa",
    "SearchResult",
    "global_mean",
    "loss_and_grad",
    "loss_only",
    "reset_step_size",
    "split_by_prefix",
    "split_parameters",
]
