r"""Architecture search by operation-level group sparsity (GSparsity) on :class:`CellNet1d`.

The supernet holds every candidate operation on every edge; the group of an operation is its
parameters in *all* cells (:func:`operation_param_groups`), so a group lasso trained with
:class:`deepoptim.optim.ProxSGD` (``group_by="all"``) decides once per (edge, operation) whether
the operation survives, in a single-level problem instead of DARTS' bilevel one. The surviving
operations are the architecture (:func:`found_architecture`); :func:`prune_operations` builds
the smaller network holding the trained weights of the survivors, with the same outputs as the
supernet whose removed groups are zeroed. :func:`random_architecture` draws a baseline of the
same number of operations.
"""

from __future__ import annotations

from typing import Any

import torch

from deepoptim._checks import check_int_at_least, check_non_negative
from deepoptim.models.cells import CellNet1d

__all__ = [
    "found_architecture",
    "operation_norms",
    "operation_param_groups",
    "prune_operations",
    "random_architecture",
]


def operation_param_groups(net: CellNet1d, **group_options: Any) -> list[dict[str, Any]]:
    """ProxSGD parameter groups: one group-lasso group (``group_by="all"``) per existing
    operation across cells, with ``group_options`` (e.g. ``mu``) added, then the stem and
    classifier unregularised."""
    groups = net.operation_parameters()
    grouped = {id(p) for params in groups.values() for p in params}
    rest = [p for p in net.parameters() if id(p) not in grouped]
    return [*({"params": params, "regularizer": "group_lasso", "group_by": "all",
               **group_options} for params in groups.values()),
            {"params": rest, "regularizer": None}]


@torch.no_grad()
def operation_norms(net: CellNet1d) -> torch.Tensor:
    """The joint norm of every (edge, operation) group, shape (edges, operations); 0 where the
    operation does not exist."""
    norms = torch.zeros(net.mask.shape)
    for (edge, name), params in net.operation_parameters().items():
        norms[edge, net.operations.index(name)] = torch.sqrt(
            sum(p.detach().pow(2).sum() for p in params))
    return norms


def found_architecture(net: CellNet1d, threshold: float = 1e-5) -> torch.Tensor:
    """The mask of the operations whose group norm exceeds ``threshold``."""
    check_non_negative("threshold", threshold)
    return operation_norms(net) > threshold


@torch.no_grad()
def prune_operations(net: CellNet1d, threshold: float = 1e-5) -> CellNet1d:
    """A :class:`CellNet1d` with only the operations of :func:`found_architecture`, holding the
    trained weights (and batch-norm statistics) of ``net``. Its outputs equal those of ``net``
    with the removed groups set to zero."""
    mask = found_architecture(net, threshold)
    cells = len(net.cells)
    channels = net.stem[0].out_channels
    pruned = CellNet1d(channels=channels, cells=cells, nodes=net.cells[0].nodes,
                       operations=net.operations, mask=mask, length=net.length,
                       num_classes=net.classifier.out_features)
    reference = next(net.parameters())
    pruned.to(device=reference.device, dtype=reference.dtype)
    state = {k: v for k, v in net.state_dict().items() if k in pruned.state_dict()}
    pruned.load_state_dict({**state, "mask": mask})
    return pruned.train(net.training)


def random_architecture(edges: int, operations: int, count: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """A mask of shape (edges, operations) with ``count`` operations chosen uniformly."""
    check_int_at_least("count", count, 0)
    if count > edges * operations:
        raise ValueError(f"Invalid count value: {count} (at most {edges * operations})")
    chosen = torch.randperm(edges * operations, generator=generator)[:count]
    mask = torch.zeros(edges * operations, dtype=torch.bool)
    mask[chosen] = True
    return mask.reshape(edges, operations)
