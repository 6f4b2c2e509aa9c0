"""Sparse and structured networks: what proximal training (``deepoptim.optim.ProxSGD``) needs
around the optimizer.

- ``pruning``: filter/neuron groups of sequential networks, their removal into a genuinely
  smaller ``nn.Sequential`` (and its folded inference form), sparsity by threshold, FLOP counts;
- ``search``: operation-level group sparsity on the cell-based search space
  (``deepoptim.models.cells``): groups across cells, the found architecture, its pruned network,
  random baselines;
- ``binarization``: the box-constrained binarisation penalty and sign quantisation;
- ``penalties``: l1 / elastic-net penalised losses, the subgradient baseline.

Parameters are counted by ``deepoptim.models.count_parameters``.
"""

from .binarization import binarization_aux, binarization_penalty, binarize
from .penalties import penalized_loss
from .pruning import (
    PrunedUnits,
    as_sequential,
    count_flops,
    fuse_for_inference,
    prune_sequential,
    threshold_sparsity,
    unit_groups,
    unit_norms,
    unit_param_groups,
    zero_small_units,
)
from .search import (
    found_architecture,
    operation_norms,
    operation_param_groups,
    prune_operations,
    random_architecture,
)

__all__ = [
    "PrunedUnits",
    "as_sequential",
    "binarization_aux",
    "binarization_penalty",
    "binarize",
    "count_flops",
    "found_architecture",
    "fuse_for_inference",
    "operation_norms",
    "operation_param_groups",
    "penalized_loss",
    "prune_operations",
    "prune_sequential",
    "random_architecture",
    "threshold_sparsity",
    "unit_groups",
    "unit_norms",
    "unit_param_groups",
    "zero_small_units",
]
