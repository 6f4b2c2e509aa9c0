"""Loss-surface throughput: deepoptim's batched grid evaluation against one-point loops.

Problem: the MNIST-1D MLP (40-100-100-10, 15,210 parameters, float32, eval mode) trained briefly
with Adam; a fixed subset of ``--samples`` training samples; a ``--grid`` x ``--grid`` plane of
random filter-normalised directions (41 x 41 = 1,681 points by default); cross-entropy only (no
accuracy), one forward pass over the subset per point.

Methods, timed alternately in one process (the order rotates every round):

* ``batched``: :func:`deepoptim.landscape.loss_surface`, ``torch.func.functional_call`` under
  ``torch.vmap`` over chunks of ``--chunk`` grid points (default: the library's, about
  ``PAIRS_PER_CALL`` (point, sample) pairs per call);
* ``loop``: the same function with ``method="loop"``: each point's parameters are written into
  the model, which is then called (the usual landscape script);
* ``loss-landscapes``: the PyPI package's ``random_plane`` with ``steps=--grid`` (the same number
  of points, the same model and data; its own random filter-normalised directions, which do not
  change the cost). A benchmark-only dependency: reported as missing and skipped if absent.

Reported: loss evaluations (grid points) per second per method, and the ratios batched / loop
and batched / loss-landscapes per round, as median [q1, q3] over ``--repeats`` rounds. Quote
ratios, not absolute times, on a shared machine.

The floor: every method does the same arithmetic per point (a vmapped point costs the multiply-adds
of a single one), dominated by the three matrix products of the forward pass. ``floor`` times
exactly these products for one point (the subset through the three weight matrices, nothing
else), alternating with the methods, and each method's rate is also given as a share of that
floor's rate: a method at 100% would do nothing but the unavoidable matrix products. On a CPU
batching can only remove what lies between a method and this floor (per-call overhead, poorly
threaded small kernels); where the loop is already near it, no batching can make it much faster.

Run: ``python benchmarks/bench_landscape.py [--quick] [--threads N] [--samples N] [--grid N]``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
from collections.abc import Callable

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

    methods = {"batched": ours("batched"), "loop": ours("loop")}
    if HAVE_LOSS_LANDSCAPES:
        import loss_landscapes
        import loss_landscapes.metrics

        metric = loss_landscapes.metrics.Loss(F.cross_entropy, x, y)
        methods["loss-landscapes"] = lambda: loss_landscapes.random_plane(
            model, metric, distance=1, steps=grid, normalization="filter", deepcopy_model=True)
    return methods


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (seconds), for tests")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: as is)")
    parser.add_argument("--samples", type=int, nargs="+", default=[50, 250, 1000],
                        help="sizes of the evaluation subset")
    parser.add_argument("--grid", type=int, default=41, help="points per axis")
    parser.add_argument("--chunk", type=int, default=None,
                        help="grid points per vmap call (default: the library's)")
    parser.add_argument("--batch", type=int, default=None,
                        help="samples per vmap call of the batched method (default: all)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=500)
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.grid, args.repeats, args.train_steps = [50], 5, 2, 10
    if args.threads is not None:
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
        for other in [name for name in methods if name != "batched"]:
            ratio = [b / o for b, o in zip(rates["batched"], rates[other], strict=True)]
            print(f"  batched / {other:16s} {show(ratio)}")
            rows.append({"samples": samples, "versus": other, "ratio": quartiles(ratio)[0],
                         "ratios": ratio, "rate": quartiles(rates["batched"])[0]})
    return rows


if __name__ == "__main__":
    main()
