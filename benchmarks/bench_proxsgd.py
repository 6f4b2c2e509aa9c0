"""ProxSGD's step against torch.optim.SGD's, and a pruned CNN's inference against the dense one.

1. Optimizer step: an MLP 40-w-w-10 (w = 100: 15k parameters; 1000: 1M; 3000: 9.2M) with fixed
   random gradients; ``step()`` of ``torch.optim.SGD(momentum=0.9, dampening=0.9)`` (the
   unregularised ProxSGD's counterpart; ``torch.optim.Adam`` for the configuration with the
   curvature proxy) and of ProxSGD with its defaults and a regulariser, timed in alternating rounds
   (``timing.alternate``), each sample a block of steps lasting at least 50 ms. Reported:
   ProxSGD's time / the reference's, median [q1, q3] over the rounds, beside the largest
   difference between ProxSGD's float64 iterate after a few steps and that of an independent
   out-of-place reference written from the paper (``tests/optim/records_proxsgd.py``): a ratio
   of a step that computes something else would be worthless. Where the ratio comes from: an
   SGD step makes three passes over memory (momentum, its scaling, the update); ProxSGD fuses
   each of its passes over the parameter list into one ``torch._foreach_*`` kernel and adds
   the finiteness check, ``b = x - v`` and the prox (``PASSES``); the zero count of the
   diagnostics is one more pass (``count_zeros=False`` leaves it out). Each configuration
   runs again with the compiled step (``fused=True``: one loop over memory, plus the
   finiteness check), whose first step is timed with no graph in memory and Inductor's cache of
   compiled graphs bypassed (its on-disk cache of built C++ kernels is not: after an earlier
   run of the same kernels the time is closer to a warm start's), and the number of steps
   after which the time it saves per step has repaid that compilation. A fixed cost per call
   (the compiled function's guards, the finiteness check, the diagnostics) separates the
   compiled step from its kernel on small models; the ``kernel floor`` line is the ratio of
   the eager step's ATen kernels alone.
2. Inference: a digits CNN (channels 32, 64) with a given fraction of its filters zeroed, and
   the network :func:`deepoptim.sparsity.prune_sequential` builds from it (same outputs, the
   largest difference shown), each also fused for inference (:func:`sparsity.fuse_for_inference`:
   batch norms folded, ReLUs after the pooling), timed alternately on one batch. Reported: dense
   time / pruned time (the speed-up) as trained, both fused, and end to end (dense as trained /
   pruned fused), the FLOP ratio, and the share of the ideal speed-up (speed-up x FLOP ratio:
   1 when time falls as fast as FLOPs); then the time of each fused layer beside its FLOP
   ratio, which shows where the remainder goes (layers whose cost shrinks with the kept
   channels only, and fixed per-call costs).

Run: ``python benchmarks/bench_proxsgd.py [--quick] [--threads N]`` (one torch thread by
default: on a small shared machine more threads make the timings noise).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from deepoptim import models, sparsity
from deepoptim.optim import ProxSGD
from timing import alternate, block_size, quartiles, ratios, repeated

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.optim.records_proxsgd import ReferenceProxSGD  # noqa: E402

#: ProxSGD's options per configuration (all with ``lr=0.01, rho=0.1``); "group rows" regularises
#: the rows of each layer (a filter with its bias) through :func:`sparsity.unit_param_groups`.
CONFIGS: dict[str, dict[str, object]] = {
    "none": {},
    "l1": {"regularizer": "l1", "mu": 1e-4},
    "l1 uncounted": {"regularizer": "l1", "mu": 1e-4, "count_zeros": False},
    "elastic net": {"regularizer": "elastic_net", "mu": 1e-4, "mu2": 1e-3},
    "elastic net box": {"regularizer": "elastic_net", "mu": 1e-4, "mu2": 1e-3,
                        "bounds": (-1.0, 1.0)},
    "group rows": {},
    "l1 adaptive": {"regularizer": "l1", "mu": 1e-4, "adaptive": True},
}
#: Every configuration also runs with the compiled step, ``fused=True`` (name + " fused");
#: ``--quick`` compiles only these.
QUICK_FUSED = ("l1",)
#: Passes over the parameters' memory per step (SGD's: momentum scaling, momentum, update).
PASSES = {"none": "4 (finite, momentum, update)", "l1": "6 + count",
          "l1 uncounted": "5 (finite, momentum, b, prox, update)", "elastic net": "7 + count",
          "elastic net box": "8 + count", "group rows": "6 (+ row norms)",
          "l1 adaptive": "9 + count",
          **{f"{name} fused": "2 (finite, one compiled loop)" for name in CONFIGS}}
#: Configurations with the curvature proxy keep Adam's state and are timed against Adam.
ADAPTIVE = {"l1 adaptive", "l1 adaptive fused"}


def make_optimizer(name: str, model: nn.Sequential) -> ProxSGD:
    """ProxSGD in configuration ``name`` (a key of :data:`CONFIGS`, with " fused" appended for
    the compiled step) for ``model``."""
    base = name.removesuffix(" fused")
    params = sparsity.unit_param_groups(model, mu=1e-3) if base == "group rows" \
        else list(model.parameters())
    return ProxSGD(params, lr=0.01, rho=0.1, fused=name.endswith(" fused"), **CONFIGS[base])


REFERENCES = {
    False: lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9, dampening=0.9),
    True: lambda params: torch.optim.Adam(params, lr=0.01),
}
CHECK_STEPS = 5


def _model(width: int, dtype: torch.dtype = torch.float32) -> nn.Sequential:
    torch.manual_seed(0)
    return sparsity.as_sequential(models.MLP(hidden=(width, width))).to(dtype)


def _with_grads(width: int, grads: list[torch.Tensor], dtype: torch.dtype) -> nn.Sequential:
    model = _model(width, dtype)
    for p, g in zip(model.parameters(), grads, strict=True):
        p.grad = g.to(dtype)
    return model


def reference_gap(name: str, width: int, grads: list[torch.Tensor]) -> float:
    """Largest |ProxSGD's iterate - the reference's| after ``CHECK_STEPS`` float64 steps on the
    fixed gradients, relative to the largest parameter (each parameter group is independent, so
    the reference runs one instance per group)."""
    model = _with_grads(width, grads, torch.float64)
    prox = make_optimizer(name, model)
    grad_of = {p: p.grad for p in model.parameters()}
    references = []
    for group in prox.param_groups:
        options = {k: v for k, v in group.items() if k != "params"}
        references.append((group["params"], ReferenceProxSGD(group["params"], **options)))
    for _ in range(CHECK_STEPS):
        prox.step()
        for params, reference in references:
            reference.step(lambda leaves, params=params: sum(
                (grad_of[p] * leaf).sum() for p, leaf in zip(params, leaves, strict=True)))
    gaps = [float((p.detach() - r).abs().max()) for params, reference in references
            for p, r in zip(params, reference.params, strict=True)]
    scale = max(float(p.detach().abs().max()) for p in model.parameters())
    return max(gaps) / scale


def bench_steps(width: int, repeats: int, target: float, fused: tuple[str, ...] = tuple(CONFIGS)
                ) -> dict[str, dict[str, object]]:
    """Per configuration: ProxSGD's step time / the reference's per round (median, q1, q3),
    the block of steps timed per sample, the step times, and the float64 gap to the paper's
    update (:func:`reference_gap`)."""
    torch.manual_seed(1)
    grads = [torch.randn_like(p) for p in _model(width).parameters()]
    results = {}
    for name in [*CONFIGS, *(f"{name} fused" for name in fused)]:
        ours, theirs = _with_grads(width, grads, torch.float32), \
            _with_grads(width, grads, torch.float32)
        prox = make_optimizer(name, ours)
        compile_s = _first_step_seconds(prox) if name.endswith(" fused") else None
        reference = REFERENCES[name in ADAPTIVE](theirs.parameters())
        block = max(block_size(prox.step, target), block_size(reference.step, target))
        times = alternate({"ProxSGD": repeated(prox.step, block),
                           "reference": repeated(reference.step, block)}, repeats)
        results[name] = {"ratio": quartiles(ratios(times, "ProxSGD", "reference")),
                         "block": block,
                         "ms": {k: 1e3 * quartiles(v)[0] / block for k, v in times.items()},
                         "gap": reference_gap(name, width, grads), "compile_s": compile_s}
    for name in fused:  # steps after which compiling has paid for itself
        compiled, eager = results[f"{name} fused"], results[name]
        # the time saved per step in units of the reference step, which both timed beside
        # them: robust to the machine's load changing between the two measurements
        reference_s = 1e-3 * (compiled["ms"]["reference"] + eager["ms"]["reference"]) / 2
        saved = (eager["ratio"][0] - compiled["ratio"][0]) * reference_s
        compiled["pays_after"] = compiled["compile_s"] / saved if saved > 0 else math.inf
    return results


def _first_step_seconds(optimizer: ProxSGD) -> float:
    """Seconds of ``optimizer``'s first step, compiling its graph: no graph in memory and
    Inductor's on-disk cache of compiled graphs bypassed (its cache of built C++ kernels is
    kept, so a kernel an earlier run built is not rebuilt)."""
    torch._dynamo.reset()
    with torch._inductor.config.patch(fx_graph_cache=False):
        start = time.perf_counter()
        optimizer.step()
        return time.perf_counter() - start


def kernel_floor(numel: int, repeats: int, target: float) -> tuple[float, float, float]:
    """The time of the ATen kernels an l1 step runs (finiteness sum, momentum lerp, ``b = x -
    v``, soft-thresholding, update lerp) over the time of SGD's (momentum scaling, momentum,
    update), on one flat tensor with no Python in between: what the ratio would be with no
    overhead at all, the floor of any unfused implementation."""
    x, v, g, b = (torch.randn(numel) for _ in range(4))

    def l1() -> None:
        g.sum()
        v.lerp_(g, 0.1)
        torch.sub(x, v, out=b)
        torch.ops.aten.softshrink.out(b, 1e-4, out=b)
        x.lerp_(b, 0.01)

    def sgd() -> None:
        v.mul_(0.9).add_(g, alpha=0.1)
        x.add_(v, alpha=-0.01)

    block = max(block_size(l1, target), block_size(sgd, target))
    times = alternate({"l1": repeated(l1, block), "sgd": repeated(sgd, block)}, repeats)
    return quartiles(ratios(times, "l1", "sgd"))


def _zeroed_cnn(zeroed: float) -> nn.Sequential:
    """A digits CNN (32, 64) in evaluation mode with about ``zeroed`` of its filters zero."""
    torch.manual_seed(0)
    dense = sparsity.as_sequential(models.DigitsCNN(channels=(32, 64))).eval()
    with torch.no_grad():
        for module in dense:  # non-trivial batch-norm statistics
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
        for tensors in sparsity.unit_groups(dense).values():
            drop = torch.rand(tensors[0].shape[0]) < zeroed
            for tensor in tensors:
                tensor[drop] = 0
    return dense


def _layer_times(networks: dict[str, nn.Sequential], x: torch.Tensor, repeats: int,
                 target: float) -> dict[str, list[float]]:
    """Milliseconds of each layer of each network on its own input (alternating rounds)."""
    methods = {}
    for name, net in networks.items():
        inputs = x
        for index, layer in enumerate(net):
            methods[f"{name} {index}"] = lambda layer=layer, inputs=inputs: layer(inputs)
            inputs = layer(inputs)
    blocks = {key: block_size(fn, target / 4) for key, fn in methods.items()}
    times = alternate({key: repeated(fn, blocks[key]) for key, fn in methods.items()}, repeats)
    return {name: [1e3 * quartiles(times[f"{name} {i}"])[0] / blocks[f"{name} {i}"]
                   for i in range(len(net))] for name, net in networks.items()}


@torch.no_grad()
def bench_inference(zeroed: float, batch: int, repeats: int, target: float) -> dict[str, object]:
    """Dense vs pruned digits CNN, each as trained and fused for inference (batch norms folded,
    ReLUs after the pooling): speed-ups (median, q1, q3), parameter and FLOP ratios, the largest
    output difference, and the per-layer times of the fused networks."""
    dense = _zeroed_cnn(zeroed)
    pruned, units = sparsity.prune_sequential(dense)
    pruned.eval()
    networks = {"dense": dense, "pruned": pruned, "dense fused": sparsity.fuse_for_inference(dense),
                "pruned fused": sparsity.fuse_for_inference(pruned)}
    x = torch.rand(batch, 1, 8, 8)
    gap = max(float((net(x) - dense(x)).abs().max()) for net in networks.values())
    count = max(block_size(lambda net=net: net(x), target) for net in networks.values())
    times = alternate({name: repeated(lambda net=net: net(x), count)
                       for name, net in networks.items()}, repeats)
    flops = sparsity.count_flops(pruned, x) / sparsity.count_flops(dense, x)
    speedups = {"pruned": quartiles(ratios(times, "dense", "pruned")),
                "fused": quartiles(ratios(times, "dense fused", "pruned fused")),
                "end to end": quartiles(ratios(times, "dense", "pruned fused"))}
    fused = {name: networks[name] for name in ("dense fused", "pruned fused")}
    return {
        "speedups": speedups,
        "ideal_share": {name: s[0] * flops for name, s in speedups.items()},
        "kept": units.fraction_kept,
        "params": models.count_parameters(pruned) / models.count_parameters(dense),
        "flops": flops,
        "gap": gap,
        "layers": _layer_times(fused, x, repeats, target),
        "names": [type(layer).__name__ for layer in networks["dense fused"]],
        "layer_flops": _layer_flops(fused, x),
    }


def _layer_flops(networks: dict[str, nn.Sequential], x: torch.Tensor) -> dict[str, list[int]]:
    """FLOPs per sample of each layer (0 for layers other than convolutions and linear)."""
    result = {}
    for name, net in networks.items():
        flops, inputs = [], x
        for layer in net:
            flops.append(sparsity.count_flops(layer, inputs)
                         if isinstance(layer, (nn.Conv2d, nn.Linear)) else 0)
            inputs = layer(inputs)
        result[name] = flops
    return result


def main(quick: bool = False, threads: int = 1) -> dict[str, object]:
    """Run both benchmarks, print the tables, return the measured ratios."""
    torch.set_num_threads(threads)
    repeats, target = (3, 0.005) if quick else (15, 0.05)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {repeats} "
          f"alternating rounds, samples of at least {1e3 * target:.0f} ms")
    results: dict[str, object] = {}
    for width in ((64,) if quick else (100, 1000, 3000)):
        step_results = bench_steps(width, repeats, target,
                                   QUICK_FUSED if quick else tuple(CONFIGS))
        params = sum(p.numel() for p in _model(width).parameters())
        print(f"\n[1] step time ProxSGD / reference (same model, same fixed gradients), MLP "
              f"40-{width}-{width}-10, {params} parameters; gap: max |x - x_ref| / max |x| "
              f"after {CHECK_STEPS} float64 steps against the paper's out-of-place update")
        print(f"  {'configuration':22s} {'ratio [q1, q3]':>22s}  {'vs':4s} {'ms ours':>8s} "
              f"{'ms ref':>8s} {'block':>6s} {'gap':>8s}  passes over memory")
        for name, res in step_results.items():
            versus = "Adam" if name in ADAPTIVE else "SGD"
            median, q1, q3 = res["ratio"]
            print(f"  {name:22s} {median:10.2f}x [{q1:.2f}, {q3:.2f}]  {versus:4s} "
                  f"{res['ms']['ProxSGD']:8.3f} {res['ms']['reference']:8.3f} "
                  f"{res['block']:6d} {res['gap']:8.1e}  {PASSES[name]}")
        print("  compiled step (fused=True): first step compiling its graph, and the steps after "
              "which the time saved per step has paid for it")
        for name in (QUICK_FUSED if quick else CONFIGS):
            res = step_results[f"{name} fused"]
            print(f"  {name + ' fused':22s} compile {res['compile_s']:6.1f} s, pays after "
                  f"{res['pays_after']:9.0f} steps")
        results[f"steps_{width}"] = step_results
        floor = kernel_floor(params, repeats, target)
        results[f"floor_{width}"] = floor
        print(f"  kernel floor of l1 uncounted: its ATen kernels alone / SGD's "
              f"{floor[0]:.2f}x [{floor[1]:.2f}, {floor[2]:.2f}] (no Python, one flat tensor)")
    batch = 64 if quick else 512
    print(f"\n[2] inference, digits CNN (32, 64), batch {batch}: dense time / pruned time; "
          "ideal share = speed-up x FLOP ratio (1: time falls as fast as FLOPs)")
    for zeroed in ((0.5,) if quick else (0.25, 0.5, 0.75)):
        res = bench_inference(zeroed, batch, repeats, target)
        print(f"  filters kept {res['kept']:.0%}: parameters {res['params']:.0%}, FLOPs "
              f"{res['flops']:.0%} of dense; max output difference {res['gap']:.1e}")
        for name, (median, q1, q3) in res["speedups"].items():
            print(f"    {name:10s} speed-up {median:5.2f}x [{q1:.2f}, {q3:.2f}]; ideal share "
                  f"{res['ideal_share'][name]:.2f}")
        print("    fused, per layer: ms dense / pruned (FLOP ratio)")
        for index, name in enumerate(res["names"]):
            d, p = res["layers"]["dense fused"][index], res["layers"]["pruned fused"][index]
            f_d, f_p = (res["layer_flops"][k][index] for k in ("dense fused", "pruned fused"))
            share = f"  ({f_p / f_d:.0%})" if f_d else ""
            print(f"      {index} {name:12s} {d:7.3f} / {p:7.3f}{share}")
        results[f"inference_{zeroed}"] = res
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few short rounds, small models")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default: 1)")
    args = parser.parse_args()
    main(quick=args.quick, threads=args.threads)
