r"""Parallel stochastic Lanczos across processes (``torch.distributed``).

Stochastic Lanczos quadrature has two independent axes of parallelism, and this module offers
both; on one device the third, chains side by side, is ``slq(..., chunk_size=...)``.

* **Probes over ranks** (:func:`distributed_slq`): the :math:`n_v` Lanczos chains are
  independent. Rank :math:`r` of :math:`P` runs probes :math:`r, r+P, r+2P, \dots` on its full
  operator; the only communication is one gather of :math:`2m` numbers per probe at the end.
  The ideal speed-up is :math:`\min(n_v, P)`.
* **Data over ranks** (:class:`DataParallelOperator`): each rank holds a shard of the data
  subset and its local operator :math:`H_r` (mean over its :math:`N_r` samples); a product is
  :math:`Hv = \sum_r N_r H_r v / \sum_r N_r`, one all-reduce of an :math:`n`-vector per product.
  Every rank then runs the same algorithm (same seed) on the global operator and gets the same
  result. Use it when one product over the whole subset is the bottleneck.

The two compose: groups of ranks over probes, data-parallel inside a group (pass ``group``).
Whatever the layout, probe :math:`l` is the vector drawn from the seed pair ``(seed, l)``, so
the result equals the serial run with the same seed up to the order of floating point sums.
Chatzimichailidis et al. (GradVis, 2019) propose parallelising stochastic Lanczos; which axis
their scheme used is not stated in the sources we could read. The book measures the layouts in
"Hessian spectra with parallel stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist

from deepoptim._checks import check_positive

from .density import SpectralDensity, check_slq_arguments, slq_chains
from .operators import LinearOperator, check_operator

__all__ = ["DataParallelOperator", "distributed_slq"]


def _require_process_group() -> None:
    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError("torch.distributed is not initialised: call "
                           "torch.distributed.init_process_group first")


def _communication_device(group: dist.ProcessGroup | None) -> torch.device:
    """CUDA for NCCL, which only moves CUDA tensors; the CPU for every other backend."""
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


class DataParallelOperator(LinearOperator):
    """The weighted average over ranks of each rank's local operator.

    :math:`Av = \\sum_r w_r A_r v / \\sum_r w_r`, computed with one all-reduce per batch of
    products. Every rank of ``group`` must call every product, in the same order (running the
    same algorithm with the same seed does that).

    Args:
        local: this rank's operator, e.g. a :class:`~deepoptim.curvature.HessianOperator` over
            this rank's shard of the data.
        weight: this rank's weight :math:`w_r`; default ``local.num_samples`` (so that the
            result is the Hessian of the mean loss over all shards).
        group: the process group (default: the world).
    """

    def __init__(self, local: LinearOperator, weight: float | None = None, *,
                 group: dist.ProcessGroup | None = None) -> None:
        check_operator(local, "local")
        _require_process_group()
        if weight is None:
            if not hasattr(local, "num_samples"):
                raise ValueError("Invalid weight value: None, and the local operator has no "
                                 "num_samples to weight it by")
            weight = local.num_samples
        check_positive("weight", weight)
        super().__init__(local.dim, local.dtype, local.device)
        self.local = local
        self.group = group
        self._device = _communication_device(group)
        dims = torch.tensor([local.dim, -local.dim], dtype=torch.float64, device=self._device)
        dist.all_reduce(dims, op=dist.ReduceOp.MAX, group=group)
        if dims[0] != local.dim or -dims[1] != local.dim:
            raise ValueError(f"Invalid local value: the ranks' operators differ in dimension "
                             f"(from {int(-dims[1])} to {int(dims[0])})")
        total = torch.tensor(float(weight), dtype=torch.float64, device=self._device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
        self.fraction = float(weight) / float(total)

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        products = self.local.matvec_batch(vectors).to(self._device) * self.fraction
        dist.all_reduce(products, op=dist.ReduceOp.SUM, group=self.group)
        return products.to(self.device)


def distributed_slq(op: LinearOperator, num_probes: int = 10, num_steps: int = 80, *,
                    seed: int = 0, distribution: str = "rademacher",
                    chunk_size: int | None = None, reorthogonalize: bool = True,
                    group: dist.ProcessGroup | None = None) -> SpectralDensity:
    """:func:`~deepoptim.curvature.slq` with the probes split over the ranks of ``group``.

    Every rank passes its own (full) operator and the same arguments; rank :math:`r` runs the
    probes :math:`r, r+P, \\dots` (``chunk_size`` chains side by side) and every rank returns
    the whole :class:`~deepoptim.curvature.SpectralDensity`, equal to the serial one with the
    same seed. ``num_matvecs`` counts the products of all ranks.
    """
    check_slq_arguments(op, num_probes, num_steps, seed, distribution, chunk_size)
    _require_process_group()
    rank, size = dist.get_rank(group), dist.get_world_size(group)
    nodes, weights, matvecs = slq_chains(op, range(rank, num_probes, size), num_steps, seed,
                                         distribution, chunk_size, reorthogonalize)
    device = _communication_device(group)
    per_rank = math.ceil(num_probes / size)
    mine = torch.full((per_rank, 2, num_steps), math.nan, dtype=torch.float64, device=device)
    mine[:len(nodes), 0], mine[:len(nodes), 1] = nodes.to(device), weights.to(device)
    gathered = [torch.empty_like(mine) for _ in range(size)]
    dist.all_gather(gathered, mine, group=group)
    total = torch.tensor(float(matvecs), dtype=torch.float64, device=device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM, group=group)
    ordered = torch.empty(num_probes, 2, num_steps, dtype=torch.float64)
    for source, block in enumerate(gathered):
        owned = range(source, num_probes, size)
        ordered[list(owned)] = block[:len(owned)].cpu()
    return SpectralDensity(nodes=ordered[:, 0].contiguous(), weights=ordered[:, 1].contiguous(),
                           dim=op.dim, num_matvecs=int(total))
