"""Sequential2D's forward and backward pass against the plain PyTorch networks it writes.

Two cases, each timed side by side in one process on the same modules (so the same FLOPs), one
batch, forward + cross-entropy + backward per call, ``--count`` calls per measurement, the
methods alternating in a rotating order over ``--repeats`` rounds (``timing.alternate``):

1. **MLP**: :meth:`Sequential2D.from_sequential` against the ``nn.Sequential`` it shares its
   layers with (input held, ``L`` iterations). Goal (issue): at most 1.2x on a CPU.
2. **Skip MLP**: :meth:`Sequential2D.skip_mlp` (``alpha I`` skips at distance 2 between hidden
   slots) against a hand-written ``forward`` adding the same skips.

Reported: Sequential2D time / the reference's, median [IQR] over rounds, for a small network
(MNIST-1D's 40-100-100-10 MLP, batch 128: Python overhead shows) and a larger one (784 inputs,
width 512, batch 256: the matrix products dominate). The overhead is Sequential2D's bookkeeping
per iteration and slot (which slots changed, which blocks have inputs): a few microseconds per
layer, as many ``nn.Module`` calls as the reference makes.

Run: ``python benchmarks/bench_sequential2d.py [--quick] [--threads N] [--repeats R]``.
One intra-op thread by default: on a small shared machine more threads make the timings noise.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn

from deepoptim.models import ScaledIdentity, Sequential2D
from timing import alternate, quartiles, show

#: (name, widths, batch); the quick mode runs the first on a smaller batch.
SIZES = [
    ("small", [40, 100, 100, 10], 128),
    ("large", [784, 512, 512, 512, 10], 256),
]


class HandSkipMLP(nn.Module):
    """The skip MLP written out: ``h_j = relu(alpha_j h_{j-2} + W_j h_{j-1} + b_j)`` between
    hidden slots, the layers and skips those of a :meth:`Sequential2D.skip_mlp` (shared)."""

    def __init__(self, model: Sequential2D) -> None:
        super().__init__()
        n = model.n_slots
        self.layers = nn.ModuleList(model.block(j - 1, j) for j in range(1, n))
        self.skips = nn.ModuleList(model.block(j - 2, j) or nn.Identity() for j in range(1, n))
        self.has_skip = [model.block(j - 2, j) is not None for j in range(1, n)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = [x]
        last = len(self.layers) - 1
        for k, (layer, skip) in enumerate(zip(self.layers, self.skips, strict=True)):
            z = layer(h[-1])
            if self.has_skip[k]:
                z = skip(h[-2]) + z
            h.append(z if k == last else torch.relu(z))
        return h[-1]


def _pass(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One forward, cross-entropy and backward pass of ``model`` (gradients reset first)."""
    def run() -> None:
        model.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
    return run


def bench(widths: list[int], batch: int, count: int, repeats: int) -> dict[str, object]:
    """Ratios Sequential2D / reference (per round) for the MLP and the skip MLP."""
    torch.manual_seed(0)
    x, y = torch.randn(batch, widths[0]), torch.randint(0, widths[-1], (batch,))
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    sequential = nn.Sequential(*layers[:-1])
    ours = Sequential2D.from_sequential(sequential)
    skip_widths = [widths[0], *[widths[1]] * 4, widths[-1]]
    skip = Sequential2D.skip_mlp(skip_widths, 2, lambda i, o: ScaledIdentity(i, o, init=0.5))
    hand = HandSkipMLP(skip)
    torch.testing.assert_close(ours(x), sequential(x), rtol=0, atol=0)
    torch.testing.assert_close(skip(x), hand(x), rtol=0, atol=0)
    results: dict[str, object] = {}
    for case, (mine, reference) in {"mlp": (ours, sequential), "skip": (skip, hand)}.items():
        runs = {"sequential2d": _pass(mine, x, y), "reference": _pass(reference, x, y)}
        times = alternate({name: lambda run=run: [run() for _ in range(count)]
                           for name, run in runs.items()}, repeats)
        ratios = [a / b for a, b in zip(times["sequential2d"], times["reference"], strict=True)]
        results[case] = {"ratio": quartiles(ratios), "ratios": ratios,
                         "reference_ms": 1e3 * quartiles(times["reference"])[0] / count}
    return results


def main(quick: bool = False, threads: int | None = 1, repeats: int | None = None) -> dict:
    """Run the cases, print the table, return the measured ratios."""
    if threads is not None:
        torch.set_num_threads(threads)
    repeats = repeats or (3 if quick else 21)
    count = 2 if quick else 20
    sizes = [("small", SIZES[0][1], 16)] if quick else SIZES
    print(f"Sequential2D / reference, forward + backward, {count} calls x {repeats} rounds, "
          f"{torch.get_num_threads()} thread(s)")
    results = {}
    for name, widths, batch in sizes:
        res = bench(widths, batch, count, repeats)
        for case, label in (("mlp", "MLP vs nn.Sequential"), ("skip", "skip MLP vs hand-written")):
            print(f"  {name:5s} {'-'.join(map(str, widths))} batch {batch}: {label:26s} "
                  f"{show(res[case]['ratios'])}x   (reference {res[case]['reference_ms']:.3f} "
                  f"ms/call)")
        results[name] = res
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds on a small batch")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (default 21)")
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads, repeats=args.repeats)
