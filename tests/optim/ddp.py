"""The DDP tests' harness: a training function run on gloo ranks, and its problem.

A DDP test trains one small float64 problem for a few steps on ``world`` CPU processes, each
with its share of one batch, and compares what every rank ends with against the
single-process run on the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

Train = Callable[[str, int, int], list[torch.Tensor]]


def batch(examples: int = 16, features: int = 6, classes: int = 3):
    """A fixed float64 classification batch ``(x, y)``."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(examples, features, generator=generator, dtype=torch.float64)
    y = torch.randint(0, classes, (examples,), generator=generator)
    return x, y


def share(rank: int, world: int, examples: int) -> slice:
    """The rows of the batch that rank ``rank`` of ``world`` holds."""
    return slice(rank * examples // world, (rank + 1) * examples // world)


def run_on_ranks(train: Train, names: Sequence[str], tmp_path: Path, world: int = 2
                 ) -> list[dict[str, list[torch.Tensor]]]:
    """``{name: train(name, rank, world)}`` of every rank, in rank order, each rank a gloo
    process on the CPU (``train`` must be a module-level function: it is pickled)."""
    mp.spawn(_worker, args=(train, tuple(names), world, str(tmp_path)), nprocs=world,
             join=True)
    return [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in range(world)]


def _worker(rank: int, train: Train, names: tuple[str, ...], world: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{out_dir}/init", rank=rank,
                            world_size=world)
    try:
        torch.save({name: train(name, rank, world) for name in names}, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def ddp(model: nn.Module, world: int) -> nn.Module:
    """``model`` wrapped in ``DistributedDataParallel`` when there are several ranks."""
    return nn.parallel.DistributedDataParallel(model) if world > 1 else model
