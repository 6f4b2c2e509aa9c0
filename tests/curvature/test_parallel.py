"""Two gloo processes give the serial results: probes over ranks, and data over ranks."""

from __future__ import annotations

import datetime

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from deepoptim import curvature as cv

from .problems import make_mlp_problem

PROBES, STEPS, SEED = 5, 10, 3


def _hessian(problem, start: int = 0, stop: int | None = None) -> cv.HessianOperator:
    return cv.HessianOperator(problem.model, problem.loss_fn, problem.inputs[start:stop],
                              problem.targets[start:stop], batch_size=8)


def _serial_results(problem) -> dict[str, torch.Tensor]:
    op = _hessian(problem)
    density = cv.slq(op, PROBES, STEPS, seed=SEED)
    top = cv.eigsh(op, 2, seed=SEED)
    vectors = torch.randn(3, op.dim, generator=torch.Generator().manual_seed(0),
                          dtype=torch.float64)
    return {"nodes": density.nodes, "weights": density.weights, "top": top.eigenvalues,
            "products": op.matvec_batch(vectors), "vectors": vectors}


def _on_rank(rank: int, world_size: int, init_file: str, expected: dict) -> None:
    """Worker: both layouts on this rank must reproduce the serial results."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world_size, timeout=datetime.timedelta(seconds=60))
    try:
        problem = make_mlp_problem()
        # probes over ranks: every rank holds the whole operator, runs its share of the probes
        density = cv.distributed_slq(_hessian(problem), PROBES, STEPS, seed=SEED, chunk_size=2)
        torch.testing.assert_close(density.nodes, expected["nodes"], rtol=0, atol=1e-12)
        torch.testing.assert_close(density.weights, expected["weights"], rtol=0, atol=1e-12)
        assert density.num_matvecs == PROBES * STEPS
        # data over ranks: uneven shards (30 and 10 samples), one all-reduce per product
        shard = _hessian(problem, 0, 30) if rank == 0 else _hessian(problem, 30, None)
        op = cv.DataParallelOperator(shard)
        torch.testing.assert_close(op.matvec_batch(expected["vectors"]), expected["products"],
                                   rtol=0, atol=1e-12)
        density = cv.slq(op, PROBES, STEPS, seed=SEED)
        torch.testing.assert_close(density.nodes, expected["nodes"], rtol=0, atol=1e-10)
        torch.testing.assert_close(density.weights, expected["weights"], rtol=0, atol=1e-10)
        top = cv.eigsh(op, 2, seed=SEED)
        torch.testing.assert_close(top.eigenvalues, expected["top"], rtol=1e-10, atol=0)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_two_processes_reproduce_the_serial_run(tmp_path):
    """Two CPU processes in a gloo group (several seconds: each process imports torch)."""
    expected = _serial_results(make_mlp_problem())
    mp.spawn(_on_rank, args=(2, str(tmp_path / "init"), expected), nprocs=2, join=True)


def test_without_a_process_group_the_parallel_tools_refuse():
    op = cv.MatrixOperator(torch.eye(3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="torch.distributed is not initialised"):
        cv.DataParallelOperator(op, 1.0)
    with pytest.raises(RuntimeError, match="torch.distributed is not initialised"):
        cv.distributed_slq(op, 2, 2)
