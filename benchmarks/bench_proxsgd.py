"""ProxSGD's step against torch.optim.SGD's, and a pruned CNN's inference against the dense one.

1. Optimizer step: the same model and the same fixed gradients; ``step()`` of
   ``torch.optim.SGD(momentum=0.9, dampening=0.9)`` (the unregularised ProxSGD's equivalent;
   ``torch.optim.Adam`` for the configuration with the curvature proxy) and of ProxSGD in
   several configurations are timed alternately, ``--steps`` steps per measurement,
   ``--repeats`` times. Reported: ProxSGD time / the reference's time (median and
   interquartile range over the repeats); the issue's goal is 1.3x. ``l1 uncounted`` is the l1
   step without the zero count of its diagnostics (``count_zeros=False``). An l1 step makes
   five passes over each tensor (seven counting zeros) where SGD makes three, and the
   soft-thresholding kernel is slower than a clamp: on a CPU, short of fusing the passes into
   one kernel, the regularised step cannot come within 1.3x of SGD's.
2. Inference: a digits CNN (channels 32, 64) with a given fraction of its filters zeroed, and
   the network :func:`deepoptim.sparsity.prune_sequential` builds from it (same outputs), timed
   alternately on one batch. Reported: dense time / pruned time (the speed-up), beside the
   ratios of parameters and FLOPs.

Run: ``python benchmarks/bench_proxsgd.py [--quick] [--threads N]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from torch import nn

from deepoptim import models, sparsity
from deepoptim.optim import ProxSGD
from timing import quartiles, seconds

CONFIGS: dict[str, Callable[[list[torch.Tensor], nn.Module], torch.optim.Optimizer]] = {
    "none": lambda params, _: ProxSGD(params, lr=0.01, rho=0.1),
    "l1": lambda params, _: ProxSGD(params, lr=0.01, rho=0.1, regularizer="l1", mu=1e-4),
    "l1 uncounted": lambda params, _: ProxSGD(params, lr=0.01, rho=0.1, regularizer="l1",
                                              mu=1e-4, count_zeros=False),
    "l1 adaptive": lambda params, _: ProxSGD(params, lr=0.01, rho=0.1, regularizer="l1",
                                             mu=1e-4, adaptive=True),
    "elastic net box": lambda params, _: ProxSGD(params, lr=0.01, rho=0.1,
                                                 regularizer="elastic_net", mu=1e-4, mu2=1e-3,
                                                 bounds=(-1.0, 1.0)),
    "group rows": lambda _, seq: ProxSGD(sparsity.unit_param_groups(seq, mu=1e-3), lr=0.01,
                                         rho=0.1),
}


#: Configurations with the curvature proxy keep Adam's state and are timed against Adam.
ADAPTIVE = {"l1 adaptive"}
REFERENCES = {
    False: lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9, dampening=0.9),
    True: lambda params: torch.optim.Adam(params, lr=0.01),
}


def _model(width: int) -> nn.Sequential:
    torch.manual_seed(0)
    return sparsity.as_sequential(models.MLP(hidden=(width, width)))


def bench_steps(width: int, steps: int, repeats: int) -> dict[str, tuple[float, float, float]]:
    """Per configuration: (median, q1, q3) of ProxSGD step time / the reference's (SGD, or
    Adam for the configurations in ``ADAPTIVE``)."""
    reference = _model(width)
    grads = [torch.randn_like(p) for p in reference.parameters()]
    results = {}
    for name, make in CONFIGS.items():
        ours, theirs = _model(width), _model(width)
        for model in (ours, theirs):
            for p, g in zip(model.parameters(), grads, strict=True):
                p.grad = g.clone()
        prox = make(list(ours.parameters()), ours)
        reference = REFERENCES[name in ADAPTIVE](theirs.parameters())
        prox.step()
        reference.step()  # warm-up and state creation
        ratios = []
        for _ in range(repeats):
            t_reference = seconds(reference.step, steps)
            t_prox = seconds(prox.step, steps)
            ratios.append(t_prox / t_reference)
        results[name] = quartiles(ratios)
    return results


def bench_inference(zeroed: float, batch: int, count: int, repeats: int) -> dict[str, object]:
    """Dense vs pruned digits CNN: speed-up (median, q1, q3) and parameter and FLOP ratios."""
    torch.manual_seed(0)
    dense = sparsity.as_sequential(models.DigitsCNN(channels=(32, 64))).eval()
    with torch.no_grad():
        for tensors in sparsity.unit_groups(dense).values():
            drop = torch.rand(tensors[0].shape[0]) < zeroed
            for tensor in tensors:
                tensor[drop] = 0
    pruned, units = sparsity.prune_sequential(dense)
    pruned.eval()
    x = torch.rand(batch, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), dense(x), rtol=1e-4, atol=1e-5)
        speedups = []
        for _ in range(repeats):
            t_dense = seconds(lambda: dense(x), count)
            t_pruned = seconds(lambda: pruned(x), count)
            speedups.append(t_dense / t_pruned)
    return {
        "speedup": quartiles(speedups),
        "kept": units.fraction_kept,
        "params": models.count_parameters(pruned) / models.count_parameters(dense),
        "flops": sparsity.count_flops(pruned, x) / sparsity.count_flops(dense, x),
    }


def main(quick: bool = False, threads: int | None = None) -> dict[str, object]:
    """Run both benchmarks, print the tables, return the measured ratios."""
    if threads is not None:
        torch.set_num_threads(threads)
    steps, repeats = (5, 3) if quick else (50, 15)
    results: dict[str, object] = {}
    for width in ((64,) if quick else (100, 1000)):
        step_ratios = bench_steps(width, steps, repeats)
        params = sum(p.numel() for p in _model(width).parameters())
        print(f"\nstep time ProxSGD / torch.optim.SGD (Adam for adaptive), MLP "
              f"40-{width}-{width}-10 ({params} parameters), {steps} steps x {repeats} repeats")
        for name, (median, q1, q3) in step_ratios.items():
            versus = "Adam" if name in ADAPTIVE else "SGD"
            print(f"  {name:16s} {median:5.2f}x vs {versus}  (IQR {q1:.2f}-{q3:.2f})")
        results[f"steps_{width}"] = step_ratios
    print("\ninference, digits CNN (32, 64): dense time / pruned time")
    for zeroed in ((0.5,) if quick else (0.25, 0.5, 0.75)):
        res = bench_inference(zeroed, batch=64 if quick else 512, count=3 if quick else 20,
                              repeats=repeats)
        median, q1, q3 = res["speedup"]
        print(f"  filters kept {res['kept']:.0%}: speed-up {median:.2f}x (IQR {q1:.2f}-"
              f"{q3:.2f}); parameters {res['params']:.0%}, FLOPs {res['flops']:.0%} of dense")
        results[f"inference_{zeroed}"] = res
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few repeats on small models")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads)
