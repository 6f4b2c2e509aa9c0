"""Step time of the line-search optimizers against torch.optim.Adam, side by side in one run.

Every optimizer trains its own copy of the MNIST-1D CNN (same initialisation, same batches of
100) for the quick profile's 2000 steps (200 with ``--quick``). Steps run in blocks, and the
optimizers take turns block by block in a rotating order, so a slow spell of the (shared,
noisy) machine hits all of them alike. Per optimizer it reports:

- ``ratio``: median over blocks of (its time per step / Adam's in the same round), with the
  interquartile range;
- ``fwd/step``, ``bwd/step``: forward and backward passes per step, counted by hooks on the model;
- ``floor``: the cheapest a step with that many forward passes can be, relative to Adam:
  ``(t_Adam + extra forwards per step * t_forward) / t_Adam``, with ``t_forward`` the time of
  one loss-only forward pass on the same batch, timed in the same rounds (a step that searches
  costs at least one forward more than Adam's);
- ``vs floor``: median over blocks of (its time per step / its floor): 1.0 means the search
  machinery costs nothing beyond its forward passes.

Goals (issue 3): ADAMSLS and SLS within 1.1x of their floor with at most 1.2 extra forward
passes per step on average; SaLSa within 1.25x of Adam's step time. ``AdamSLS-exact`` (the
search along the direction it applies) is shown beside the published ADAMSLS, whose second
direction and second move cost a little more than the floor charges. All optimizers run with
their defaults.

Run: ``python benchmarks/bench_linesearch.py [--quick] [--steps N] [--block B] [--threads T]``.
Timings use one intra-op thread by default (``--threads``): on a small, shared 2-core machine
two OpenMP threads fight other processes and the timings become noise.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from deepoptim import data, models
from deepoptim.optim import PLASLS, SLS, AdamSLS, KenSLS, SaLSa, loss_only, split_parameters
from deepoptim.train import make_closure, minibatches
from timing import PassCounter, floor_rows, floor_table, forward_seconds, rotating_blocks

OPTIMIZERS: dict[str, Callable[[torch.nn.Module], torch.optim.Optimizer]] = {
    "Adam": lambda model: torch.optim.Adam(model.parameters(), lr=1e-2),
    "SLS": lambda model: SLS(model.parameters()),
    "AdamSLS": lambda model: AdamSLS(model.parameters()),
    "AdamSLS-exact": lambda model: AdamSLS(model.parameters(), variant="exact"),
    "KenSLS": lambda model: KenSLS(model.parameters()),
    "SaLSa": lambda model: SaLSa(model.parameters()),
    "PLASLS": lambda model: PLASLS(split_parameters(model)),
}


class Runner:
    """One optimizer on its own model copy, stepping through the shared batches."""

    def __init__(self, name: str, mnist, seed: int) -> None:
        torch.manual_seed(seed)
        self.model = models.build_model("cnn1d")
        self.optimizer = OPTIMIZERS[name](self.model)
        self.counter = PassCounter(self.model)
        self.mnist = mnist
        self.block_times: list[float] = []
        self.steps = 0

    def closure(self, index: torch.Tensor):
        x, y = self.mnist.x_train[index], self.mnist.y_train[index]
        return make_closure(self.model, F.cross_entropy, x, y, self.optimizer)

    def run_block(self, batches: list[torch.Tensor]) -> None:
        """Time ``len(batches)`` steps (closure construction included, as in training)."""
        started = time.perf_counter()
        for index in batches:
            self.optimizer.step(self.closure(index))
        self.block_times.append((time.perf_counter() - started) / len(batches))
        self.steps += len(batches)


def time_forward(runner: Runner, batches: list[torch.Tensor]) -> float:
    """Seconds of one loss-only forward pass (closure included), without counting it."""
    closures = iter([runner.closure(index) for index in batches])
    return forward_seconds(lambda: loss_only(next(closures)), len(batches), runner.counter)


def measure(steps: int, block: int, seed: int = 0) -> list[dict]:
    """Interleaved blocks of every optimizer; one result row per optimizer."""
    mnist = data.mnist1d()
    runners = {name: Runner(name, mnist, seed) for name in OPTIMIZERS}
    stream = minibatches(mnist.num_train, 100, torch.Generator().manual_seed(seed))
    forward_times = rotating_blocks({name: r.run_block for name, r in runners.items()},
                                    lambda: next(stream),
                                    lambda batches: time_forward(runners["Adam"], batches),
                                    steps, block)
    return floor_rows({name: r.block_times for name, r in runners.items()},
                      {name: r.counter for name, r in runners.items()},
                      {name: r.steps for name, r in runners.items()}, forward_times)


def main(argv: list[str] | None = None) -> list[dict]:
    """Parse arguments, measure, print the table; return the rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 steps in blocks of 20")
    parser.add_argument("--steps", type=int, default=None, help="steps per optimizer (2000)")
    parser.add_argument("--block", type=int, default=None, help="steps per timed block (50)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    steps = args.steps or (200 if args.quick else 2000)
    block = args.block or (20 if args.quick else 50)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        rows = measure(steps, block, args.seed)
    finally:
        torch.set_num_threads(threads)
    print(f"MNIST-1D CNN, batch 100, {steps} steps per optimizer in blocks of {block}, "
          f"{args.threads} thread(s); ratios to torch.optim.Adam (median [IQR] over blocks)")
    print(floor_table(rows))
    assert all(math.isfinite(r["ratio"]) for r in rows)
    return rows


if __name__ == "__main__":
    main()
