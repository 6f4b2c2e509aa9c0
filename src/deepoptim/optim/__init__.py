"""Optimizers of deepoptim: ``torch.optim.Optimizer`` subclasses, and the pieces they share.

* ``_base.py``: the package's closure convention (documented once, in its module docstring),
  the optimizer-specific checks (the generic ones are in ``deepoptim._checks``) and the
  diagnostics key;
* ``directions.py``: search directions as functional pieces over tensor lists (gradient,
  momentum, Adam, sign), which any line search takes;
* ``param_groups.py``: splitting a network into parameter groups, and per-group learning rates;
* ``linesearch/``: :class:`LineSearch` on any direction, and SLS, AdamSLS, KenSLS, SaLSa and
  PLASLS, one file each;
* ``proxsgd.py``: ProxSGD, with per-group regularisers, constraints and group sparsity;
* ``sgdph.py``: SGD-PH, SGD with a diagonal Newton step for the channel-wise parameters;
* ``kfac.py``, ``nkfac.py``, ``adankfac.py``: KFAC, NKFAC and AdaNKFAC (NKFAC's direction
  stepped by AdamW), on the Kronecker machinery of ``_kronecker.py``;
* ``adamr.py``: AdamR, Adam in the eigenbasis of Kronecker factors of the gradients;
* ``afopt.py``: AFOpt, a gradient step in attention-logit space for query and key weights.

Each method's file opens with its math, its source paper and where the book derives it. Public
names are re-exported here.
"""

from deepoptim.optim import directions
from deepoptim.optim._base import (
    DIAGNOSTICS,
    Closure,
    global_mean,
    loss_and_grad,
    loss_only,
)
from deepoptim.optim.adamr import AdamR
from deepoptim.optim.adankfac import AdaNKFAC
from deepoptim.optim.afopt import AFOpt, attention_layers, is_attention_layer
from deepoptim.optim.directions import Direction, Directions
from deepoptim.optim.kfac import KFAC
from deepoptim.optim.linesearch import (
    FAILURES,
    LINE_SEARCH,
    PLASLS,
    SLS,
    AdamSLS,
    ArmijoSearch,
    KenSLS,
    Line,
    LineSearch,
    SaLSa,
    SearchResult,
    SearchStatus,
    finite_difference_slope,
    finite_difference_step,
    reset_step_size,
    sls_growth,
)
from deepoptim.optim.nkfac import NKFAC
from deepoptim.optim.param_groups import (
    depth_profile,
    layer_decay,
    split_by_prefix,
    split_encoder,
    split_parameters,
    with_learning_rates,
)
from deepoptim.optim.proxsgd import ProxSGD
from deepoptim.optim.sgdph import SGDPH, channelwise_param_groups

__all__ = [
    "DIAGNOSTICS",
    "FAILURES",
    "LINE_SEARCH",
    "PLASLS",
    "SGDPH",
    "SLS",
    "AFOpt",
    "AdaNKFAC",
    "AdamR",
    "AdamSLS",
    "ArmijoSearch",
    "Closure",
    "Direction",
    "Directions",
    "KFAC",
    "KenSLS",
    "Line",
    "LineSearch",
    "NKFAC",
    "ProxSGD",
    "SaLSa",
    "SearchResult",
    "SearchStatus",
    "attention_layers",
    "channelwise_param_groups",
    "depth_profile",
    "directions",
    "finite_difference_slope",
    "finite_difference_step",
    "global_mean",
    "is_attention_layer",
    "layer_decay",
    "loss_and_grad",
    "loss_only",
    "reset_step_size",
    "sls_growth",
    "split_by_prefix",
    "split_encoder",
    "split_parameters",
    "with_learning_rates",
]
