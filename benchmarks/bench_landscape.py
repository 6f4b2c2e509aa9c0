"""Loss-surface throughput: deepoptim's grid evaluation against one-point loops and loss-landscapes.

Problem: the MNIST-1D MLP (40-100-100-10, 15,210 parameters, float32, eval mode) trained briefly
with Adam; a fixed subset of ``--samples`` training samples; a ``--grid`` x ``--grid`` plane
(21 x 21 by default) of random filter-normalised directions; cross-entropy only (no accuracy),
one forward pass over the subset per point. One torch thread by default (``--threads``).

Methods, timed alternately in one process (the order rotates every round):

* ``default``: :func:`deepoptim.landscape.loss_surface` as a user calls it (``method="auto"``:
  batched on a GPU, and on a CPU for small forward passes; otherwise the loop);
* ``batched``: ``method="batched"``, ``torch.func.functional_call`` under ``torch.vmap`` over
  chunks of grid points (the library's default chunk);
* ``loop``: ``method="loop"``: each point formed in a flat buffer, copied into the model's
  parameters, and the model called;
* ``loss-landscapes``: the PyPI package's ``planar_interpolation`` on the *same* directions and
  grid extent and size (start at the grid's corner, ends one grid width along each
  direction; its points are shifted by one step, which does not change the cost), its in-place
  stepping through the model's parameters. A benchmark-only dependency: reported as missing
  and skipped if absent.

Reported: grid points per second per method, and the ratios of every method's rate to
``default``'s (> 1: that method is faster), as median [q1, q3] over ``--repeats`` rounds.

The floor: every method does the same arithmetic per point (a vmapped point costs the
multiply-adds of a single one), dominated by the three matrix products of the forward pass.
``floor`` times exactly these products for one point (the subset through the three weight
matrices, nothing else), alternating with the methods, and each method's rate is also given as
a share of that floor's rate: a method at 100% would do nothing but the unavoidable matrix
products.

Run: ``python benchmarks/bench_landscape.py [--quick] [--threads N] [--samples N] [--grid N]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
from collections.abc import Callable
from copy import deepcopy

import torch
import torch.nn.functional as F

from deepoptim import data, experiment, landscape, models, train
from timing import alternate, quartiles, show

HAVE_LOSS_LANDSCAPES = importlib.util.find_spec("loss_landscapes") is not None


def trained_mlp(dataset: data.ClassificationData, steps: int, seed: int = 0) -> torch.nn.Module:
    experiment.seed_everything(seed)
    model = models.build_model("mlp")
    train.train(model, torch.optim.Adam(model.parameters(), lr=1e-2), dataset, steps=steps,
                seed=seed, progress=False)
    return model.eval()


def floor_products(model: torch.nn.Module, samples: int, points: int) -> Callable[[], object]:
    """The matrix products of ``points`` forward passes over ``samples`` inputs, alone."""
    weights = [m.weight.detach() for m in model.modules() if isinstance(m, torch.nn.Linear)]
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(samples, w.shape[1], generator=generator) for w in weights]
    return lambda: [[x @ w.T for x, w in zip(inputs, weights, strict=True)]
                    for _ in range(points)]


def methods_for(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, grid: int,
                chunk: int | None, batch: int | None) -> dict[str, Callable[[], object]]:
    """The competing evaluations of one ``grid`` x ``grid`` plane."""
    directions = landscape.random_directions(model, 2, seed=0)
    axis = torch.linspace(-1.0, 1.0, grid)

    def ours(method: str) -> Callable[[], object]:
        return lambda: landscape.loss_surface(model, F.cross_entropy, x, y, directions, axis, axis,
                                              chunk_size=chunk, batch_size=batch,
                                              accuracy=False, method=method)

    methods = {"default": ours("auto"), "batched": ours("batched"), "loop": ours("loop")}
    if HAVE_LOSS_LANDSCAPES:
        import loss_landscapes
        import loss_landscapes.metrics

        theta = landscape.flat_parameters(model)
        width = float(axis[-1] - axis[0])

        def model_at(point: torch.Tensor) -> torch.nn.Module:
            copy = deepcopy(model)
            torch.nn.utils.vector_to_parameters(point, copy.parameters())
            return copy

        start = model_at(theta + axis[0] * directions.sum(0))
        ends = [model_at(theta + axis[0] * directions.sum(0) + width * d) for d in directions]
        metric = loss_landscapes.metrics.Loss(F.cross_entropy, x, y)
        methods["loss-landscapes"] = lambda: loss_landscapes.planar_interpolation(
            start, *ends, metric, steps=grid, deepcopy_model=True)
    return methods


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for tests")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--samples", type=int, nargs="+", default=[50, 250, 1000],
                        help="sizes of the evaluation subset")
    parser.add_argument("--grid", type=int, default=21, help="points per axis")
    parser.add_argument("--chunk", type=int, default=None,
                        help="grid points per vmap call (default: the library's)")
    parser.add_argument("--batch", type=int, default=None,
                        help="samples per vmap call of the batched method (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=500)
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.grid, args.repeats, args.train_steps = [50], 5, 2, 10
    torch.set_num_threads(args.threads)
    dataset = data.mnist1d()
    model = trained_mlp(dataset, args.train_steps)
    peer = (f"loss-landscapes {importlib.metadata.version('loss-landscapes')}"
            if HAVE_LOSS_LANDSCAPES else "loss-landscapes not installed: skipped")
    print(f"MNIST-1D MLP ({models.count_parameters(model)} parameters), {args.grid}x{args.grid} "
          f"grid, chunk {args.chunk or 'default'}, data batch {args.batch or 'all'}, "
          f"{torch.get_num_threads()} thread(s), torch {torch.__version__}, {peer}; "
          f"median [q1, q3] over {args.repeats} rounds")
    rows = []
    for samples in args.samples:
        x, y = dataset.x_train[:samples], dataset.y_train[:samples]
        methods = methods_for(model, x, y, args.grid, args.chunk, args.batch)
        points = args.grid ** 2
        times = alternate({**methods, "floor": floor_products(model, samples, points)},
                          args.repeats)
        rates = {name: [points / t for t in ts] for name, ts in times.items()}
        print(f"\n{samples} samples: grid points per second (share of the floor's rate)")
        for name, values in rates.items():
            share = [v / f for v, f in zip(values, rates["floor"], strict=True)]
            print(f"  {name:16s} {show(values, 1)}   ({quartiles(share)[0]:.0%})")
        for other in [name for name in methods if name != "default"]:
            ratio = [d / o for d, o in zip(rates["default"], rates[other], strict=True)]
            print(f"  default / {other:16s} {show(ratio)}")
            rows.append({"samples": samples, "versus": other, "ratio": quartiles(ratio)[0],
                         "ratios": ratio, "rate": quartiles(rates["default"])[0]})
    return rows


if __name__ == "__main__":
    main()
