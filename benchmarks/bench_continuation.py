"""The continuation trainer's overhead per step against plain training, side by side in one run.

The model is the digits-sized autoencoder of the continuation demos (64-32-16-2-16-32-64, ReLU
hidden layers turned into homotopy activations by :func:`deepoptim.continuation.homotopize`,
linear code and output layers), trained with mean squared error on mini-batches of 200 of a
fixed random data set. "plain" is :func:`deepoptim.train.fit` on the autoencoder's task with
:math:`\\lambda` held at 0.5 (every activation does the same work as during continuation); the
continuation methods wrap the same task (NPC, NPACS with the secant predictor and the adaptive
rule, the linear schedule, PARC), with step sizes small enough that :math:`\\lambda` stays
below 1 for the whole run (checked and printed): what is timed is the continuation phase.
Every configuration trains its own copy (same initialisation) with the same optimizer (Adam;
SLS, a line search, for the second table), in blocks of ``--block`` steps, the configurations
taking turns in a rotating order after one untimed block each. Time per step is the loop's own
step time (``History.steps[-1]["time"]``: evaluations excluded); per round, each method's time
/ plain's, median [IQR] over rounds. None of these methods takes extra corrector steps, so the
ratio is the whole overhead: recording, the gradient norm (NPACS), the predictor (every
``every`` steps) and, for PARC, the multiplier's term and the descent on :math:`\\lambda`.
Goal (issue): at most 1.05x.

Run: ``python benchmarks/bench_continuation.py [--quick] [--threads N] [--rounds R] [--block B]``.
One torch thread by default.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import train
from deepoptim.continuation import (
    Homotopy,
    LinearSchedule,
    NaturalContinuation,
    PseudoArclength,
    homotopize,
)
from deepoptim.optim import SLS
from timing import quartiles, show

WIDTHS = (64, 32, 16, 2)


class Reconstruction(train.Task):
    """Mean squared reconstruction error of a fixed random data set, mini-batches of 200."""

    def __init__(self, samples: int = 2000) -> None:
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(samples, WIDTHS[0], generator=generator)

    def batches(self, generator):
        for index in train.minibatches(len(self.x), 200, generator):
            yield self.x[index]

    def loss(self, model, batch):
        return F.mse_loss(model(batch), batch)

    @torch.no_grad()
    def evaluate(self, model):
        return {"train_loss": float(F.mse_loss(model(self.x[:200]), self.x[:200]))}


def autoencoder() -> tuple[nn.Module, Homotopy]:
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    widths = [*WIDTHS, *WIDTHS[-2::-1]]
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i not in (len(WIDTHS) - 2, len(widths) - 2):  # linear code and output layers
            layers.append(nn.ReLU())
    model = nn.Sequential(*layers)
    return model, homotopize(model, lam=0.5)


METHODS: dict[str, Callable[[train.Task, Homotopy], train.Task]] = {
    "plain": lambda task, _: task,
    "NPC": lambda task, h: NaturalContinuation(task, h, delta=1e-5, secant=False,
                                               adaptive=False),
    "NPACS": lambda task, h: NaturalContinuation(task, h, delta=1e-5, delta_min=1e-6,
                                                 delta_max=1e-5),
    "linear": lambda task, h: LinearSchedule(task, h, 10**9),
    "PARC": lambda task, h: PseudoArclength(task, h, delta=1e-5, delta_min=1e-6,
                                            arc_length=1e-3, lambda_lr=1e-6),
}
OPTIMIZERS: dict[str, Callable[[nn.Module], torch.optim.Optimizer]] = {
    "Adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
    "SLS": lambda m: SLS(m.parameters()),
}


def bench(optimizer_name: str, block: int, rounds: int) -> dict[str, object]:
    """Per method: its time per step / plain's, per round; (median, q1, q3) of the plain
    time per step; whether lambda stayed below 1."""
    runs = {}
    for name, wrap in METHODS.items():
        model, homotopy = autoencoder()
        runs[name] = (wrap(Reconstruction(), homotopy), model,
                      OPTIMIZERS[optimizer_name](model), homotopy)

    def per_step(name: str) -> float:
        task, model, optimizer, _ = runs[name]
        history = train.fit(task, model, optimizer, steps=block, progress=False)
        return history.steps[-1]["time"] / block

    names = list(runs)
    for name in names:
        per_step(name)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(rounds):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times[name].append(per_step(name))
    ratios = {name: [t / p for t, p in zip(times[name], times["plain"], strict=True)]
              for name in names if name != "plain"}
    below_one = all(runs[name][3].lam < 1 for name in names if name != "plain")
    return {"ratios": ratios, "plain": quartiles(times["plain"]), "below_one": below_one}


def main(quick: bool = False, threads: int | None = 1, rounds: int | None = None,
         block: int | None = None) -> dict[str, object]:
    """Run the comparison for each optimizer, print the tables, return the ratios."""
    if threads is not None:
        torch.set_num_threads(threads)
    rounds = rounds or (2 if quick else 15)
    block = block or (5 if quick else 200)
    results = {}
    for optimizer_name in OPTIMIZERS:
        res = bench(optimizer_name, block, rounds)
        print(f"\n{optimizer_name}: time per step / plain training's, autoencoder "
              f"{'-'.join(map(str, [*WIDTHS, *WIDTHS[-2::-1]]))}, batch 200, "
              f"{rounds} rounds x {block} steps, {torch.get_num_threads()} thread(s)")
        print(f"  plain: {1e3 * res['plain'][0]:.3f} ms per step")
        for name, ratios in res["ratios"].items():
            print(f"  {name:7s} {show(ratios, 3)}x")
        print(f"  lambda stayed below 1 in every continuation run: {res['below_one']}")
        results[optimizer_name] = res
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--block", type=int, default=None)
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads, rounds=args.rounds, block=args.block)
