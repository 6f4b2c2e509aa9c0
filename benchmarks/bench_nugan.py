"""NuGAN's cost: its overhead per training step, and warm-started against cold Lanczos refreshes.

Problem: the GAN of the book's NuGAN chapter (two MLPs with hidden layers 64-64, noise of
dimension 16, batch 256) on ring-8, both players trained with Adam (step 2e-3, betas 0.5 and
0.999) for ``--warmup`` steps first, so that the timings are those of a GAN in training.

1. Overhead: one refresh period (``K`` steps of :class:`deepoptim.gan.GANTask`: a
   discriminator step and a generator step each) of the plain GAN and of NuGAN (gamma 1,
   refresh every ``K`` steps by warm-started Lanczos, at most 20 products to relative residual
   1e-3), each continuing its own run, timed alternately ``--repeats`` times. Reported: NuGAN's
   time / the plain GAN's, median [q1, q3]; the goal is at most 1.5x at the chosen K.
2. Refresh: at ``--checkpoints`` points of a NuGAN run, K steps apart, the top eigenpair of the
   generator's Hessian by Lanczos started from the previous refresh's eigenvector (warm) and
   from a random vector (cold), both to the same relative residual 1e-3 (at most 60
   products). Reported: products per refresh of each, median [q1, q3], and the largest
   relative difference of their eigenvalues (the same accuracy).

One torch thread by default (``--threads`` to change).
Run: ``python benchmarks/bench_nugan.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import argparse

import torch

from deepoptim import data, experiment, train
from deepoptim.gan import GAN, PLAYERS, GANTask, NuGAN, generator_hessian, top_eigenpair
from timing import alternate, quartiles, show

LATENT, HIDDEN, BATCH, LR = 16, (64, 64), 256, 2e-3


class Run:
    """A GAN in training: its model, optimizers, task and batch stream."""

    def __init__(self, regularizer: NuGAN | None, seed: int = 0) -> None:
        experiment.seed_everything(seed)
        self.gan = GAN(LATENT, HIDDEN, HIDDEN)
        self.optimizers = {name: torch.optim.Adam(getattr(self.gan, name).parameters(), lr=LR,
                                                  betas=(0.5, 0.999)) for name in PLAYERS}
        self.task = GANTask(data.ring8(), LATENT, BATCH, regularizer)
        self.batches = self.task.batches(torch.Generator().manual_seed(seed))

    def steps(self, count: int) -> None:
        for _ in range(count):
            self.task.step(self.gan, self.optimizers, next(self.batches), None)


def warmed_up(steps: int) -> GAN:
    """A plain GAN trained for ``steps`` steps."""
    run = Run(None)
    train.fit(run.task, run.gan, run.optimizers, steps=steps, progress=False)
    return run.gan


def bench_overhead(every: int, warmup: int, repeats: int) -> list[float]:
    """NuGAN time / plain time per refresh period, one ratio per repeat."""
    state = warmed_up(warmup).state_dict()
    plain, nugan = Run(None), Run(NuGAN(1.0, every=every))
    for run in (plain, nugan):
        run.gan.load_state_dict(state)
    times = alternate({"plain": lambda: plain.steps(every), "nugan": lambda: nugan.steps(every)},
                      repeats)
    return [n / p for n, p in zip(times["nugan"], times["plain"], strict=True)]


def bench_refresh(every: int, warmup: int, checkpoints: int) -> dict[str, list[float]]:
    """Products per refresh, warm and cold, at ``checkpoints`` points ``every`` steps apart,
    and the relative differences of their eigenvalues."""
    run = Run(None)
    run.gan.load_state_dict(warmed_up(warmup).state_dict())
    noise = run.gan.noise(256, torch.Generator().manual_seed(1))
    previous = None
    results: dict[str, list[float]] = {"warm": [], "cold": [], "difference": []}
    for checkpoint in range(checkpoints + 1):
        op = generator_hessian(run.gan, noise)
        cold = top_eigenpair(op, max_steps=60, tol=1e-3, seed=checkpoint)
        if previous is not None:
            warm = top_eigenpair(op, max_steps=60, tol=1e-3, start=previous)
            results["warm"].append(warm.num_matvecs)
            results["cold"].append(cold.num_matvecs)
            value, reference = float(warm.eigenvalues[0]), float(cold.eigenvalues[0])
            results["difference"].append(abs(value - reference) / abs(reference))
            previous = warm.eigenvectors[0]
        else:
            previous = cold.eigenvectors[0]
        run.steps(every)
    return results


def main(quick: bool = False, threads: int | None = 1) -> dict[str, object]:
    """Run both benchmarks, print the tables, return the measured values."""
    if threads is not None:
        torch.set_num_threads(threads)
    every = 20
    warmup, repeats, checkpoints = (50, 3, 4) if quick else (500, 15, 30)
    overhead = bench_overhead(every, warmup, repeats)
    print(f"\nNuGAN (gamma 1, K = {every}, warm-started Lanczos) / plain GAN, time per "
          f"refresh period of {every} steps (both players), {repeats} repeats, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"  ratio {show(overhead)}   goal <= 1.5x")
    refresh = bench_refresh(every, warmup, checkpoints)
    print(f"\nLanczos products per refresh to relative residual 1e-3, {checkpoints} refreshes "
          f"{every} steps apart")
    print(f"  warm-started {show(refresh['warm'], 1)}")
    print(f"  cold         {show(refresh['cold'], 1)}")
    print(f"  largest relative difference of the eigenvalues {max(refresh['difference']):.1e}")
    return {"overhead": overhead, "overhead_quartiles": quartiles(overhead), **refresh}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repeats, short warm-up")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads)
