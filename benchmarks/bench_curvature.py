"""deepoptim.curvature against the tools a user would install instead.

Peers (benchmark-only dependencies; a missing one is reported and skipped):
``hessian-eigenthings`` (``HessianOperator`` + ``lanczos`` / ``spectral_density``) and
``curvlinops-for-pytorch`` (``HessianLinearOperator``) with SciPy's ``eigsh`` (ARPACK).

Problems: MLPs on a fixed MNIST-1D subset (cross-entropy, float32), trained briefly with Adam
so that their spectra have outliers and a bulk: a *small* one (40-24-24-10, 1,834 parameters)
with a dense Hessian as ground truth, and the *larger* MNIST-1D MLP (40-100-100-10, 15,210).

1. Cost of one Hessian-vector product relative to one gradient over the subset (the floor of
   a product computed from scratch is about two): ours without and with the cached
   linearisation, ours per vector in a batch of 10 (a loop of backward passes sharing one
   linearisation, the CPU default, or one vectorised pass), and the peers' products.
2. Top-5 eigenvalues at equal accuracy (small network): each method's knob (our ``tol``,
   hessian-eigenthings' number of Lanczos steps, ARPACK's ``tol``) is set to the cheapest value
   that puts all five within ``--target`` relative error of the dense truth; the methods are
   then timed alternately.
3. Spectral density by SLQ at equal budget (probes x steps, the GradVis default 10 x 80): ours
   with the chains side by side (batched) and one after another (serial), against
   hessian-eigenthings; on the small network the Wasserstein-1 distance of each estimate to the
   dense spectrum shows the accuracy is the same.
4. Top-5 on the larger network at equal budget (exactly the same number of Lanczos steps):
   ours and hessian-eigenthings, with the residual estimates reached; ARPACK runs to its own
   ``tol``.

Every time is measured ``--repeats`` times, methods alternating in one process; reported are
ratios (peer / ours, serial / batched, product / gradient) as median [q1, q3] over repeats.
Run: ``python benchmarks/bench_curvature.py [--quick] [--threads N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from collections.abc import Callable

import numpy as np
import scipy.sparse.linalg
import scipy.stats
import torch
import torch.nn.functional as F

from deepoptim import curvature, data, experiment, models, train
from timing import alternate, show

K = 5


def _available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


HAVE_EIGENTHINGS = _available("hessian_eigenthings")
HAVE_CURVLINOPS = _available("curvlinops")


def ratios(times: dict[str, list[float]], numerator: str, denominator: str) -> list[float]:
    return [a / b for a, b in zip(times[numerator], times[denominator], strict=True)]


def trained_mlp(hidden: tuple[int, ...], dataset: data.ClassificationData, steps: int,
                seed: int) -> torch.nn.Module:
    experiment.seed_everything(seed)
    model = models.build_model("mlp", hidden=hidden)
    train.train(model, torch.optim.Adam(model.parameters(), lr=1e-2), dataset, steps=steps,
                seed=seed, progress=False)
    return model.eval()


class Problem:
    """A model and its fixed Hessian subset, with our operators and the peers' over it."""

    def __init__(self, name: str, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor):
        self.name, self.model, self.x, self.y = name, model, x, y
        self.ours = curvature.HessianOperator(model, F.cross_entropy, x, y, cache=True)
        self.ours_uncached = curvature.HessianOperator(model, F.cross_entropy, x, y)
        self.ours_vectorized = curvature.HessianOperator(model, F.cross_entropy, x, y,
                                                         vectorize=True)
        self.dim = self.ours.dim
        if HAVE_EIGENTHINGS:
            import hessian_eigenthings as he

            self.eigenthings = he.HessianOperator(model, [(x, y)],
                                                  he.supervised_loss(F.cross_entropy))
        if HAVE_CURVLINOPS:
            from curvlinops import HessianLinearOperator

            self.curvlinops = HessianLinearOperator(
                model, torch.nn.CrossEntropyLoss(), list(model.parameters()), [(x, y)],
                check_deterministic=False)

    def gradient(self) -> torch.Tensor:
        return torch.autograd.grad(F.cross_entropy(self.model(self.x), self.y),
                                   list(self.model.parameters()))


def bench_products(problem: Problem, repeats: int) -> dict[str, list[float]]:
    """Seconds per product (per vector for the batch of 10) over seconds per gradient."""
    generator = torch.Generator().manual_seed(0)
    vectors = torch.randn(10, problem.dim, generator=generator)
    v = vectors[0]
    methods: dict[str, Callable[[], object]] = {
        "gradient": problem.gradient,
        "ours": lambda: problem.ours_uncached.matvec(v),
        "ours cached": lambda: problem.ours.matvec(v),
        "ours batch of 10": lambda: problem.ours_uncached.matvec_batch(vectors),
        "ours vectorized batch of 10": lambda: problem.ours_vectorized.matvec_batch(vectors),
        "ours cached batch of 10": lambda: problem.ours.matvec_batch(vectors),
    }
    if HAVE_EIGENTHINGS:
        methods["hessian-eigenthings"] = lambda: problem.eigenthings.matvec(v)
    if HAVE_CURVLINOPS:
        methods["curvlinops"] = lambda: problem.curvlinops @ v
    times = alternate(methods, repeats)
    per_vector = {name: [t / (10 if "batch" in name else 1) for t in ts]
                  for name, ts in times.items()}
    return {name: ratios(per_vector, name, "gradient") for name in per_vector
            if name != "gradient"}


def _top_error(values, truth: torch.Tensor) -> float:
    found = torch.as_tensor(np.asarray(values), dtype=torch.float64).sort(descending=True).values
    return float(((found[:K] - truth) / truth).abs().max())


def _calibrate(run: Callable[[object], object], knobs: list, truth: torch.Tensor,
               target: float) -> object:
    """The first knob (cheapest first) whose run puts the top-K within ``target``."""
    for knob in knobs:
        if _top_error(run(knob), truth) <= target:
            return knob
    return None


def _ours_topk(op: curvature.LinearOperator, tol: float) -> torch.Tensor:
    return curvature.eigsh(op, K, tol=tol).eigenvalues


def _eigenthings_topk(problem: Problem, steps: int) -> torch.Tensor:
    import hessian_eigenthings as he

    return he.lanczos(problem.eigenthings, k=K, max_iter=steps, which="LA", seed=0,
                      reorthogonalize=True).eigenvalues


def _arpack_topk(problem: Problem, tol: float) -> np.ndarray:
    return scipy.sparse.linalg.eigsh(problem.curvlinops.to_scipy(), k=K, which="LA", tol=tol,
                                     return_eigenvectors=False)


def _arpack_matvecs(problem: Problem, tol: float) -> int:
    """Products ARPACK asks for at this ``tol`` (counted through a wrapping operator)."""
    inner, count = problem.curvlinops.to_scipy(), [0]

    def product(v: np.ndarray) -> np.ndarray:
        count[0] += 1
        return inner @ v

    counted = scipy.sparse.linalg.LinearOperator(inner.shape, matvec=product, dtype=inner.dtype)
    scipy.sparse.linalg.eigsh(counted, k=K, which="LA", tol=tol, return_eigenvectors=False)
    return count[0]


def bench_topk_equal_accuracy(problem: Problem, truth: torch.Tensor, target: float,
                              repeats: int) -> dict[str, object]:
    """Calibrate each method to the accuracy target, then time them alternately."""
    tols = [0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 5e-3, 2e-3, 1e-3, 1e-4, 1e-5]
    settings: dict[str, tuple[Callable[[object], object], object]] = {}
    ours = _calibrate(lambda tol: _ours_topk(problem.ours, tol), tols, truth, target)
    settings["ours"] = (lambda tol: _ours_topk(problem.ours, tol), ours)
    settings["ours uncached"] = (lambda tol: _ours_topk(problem.ours_uncached, tol), ours)
    if HAVE_EIGENTHINGS:
        steps = _calibrate(lambda m: _eigenthings_topk(problem, m),
                           list(range(K + 1, 61)), truth, target)
        settings["hessian-eigenthings"] = (lambda m: _eigenthings_topk(problem, m), steps)
    if HAVE_CURVLINOPS:
        arpack = _calibrate(lambda tol: _arpack_topk(problem, tol), [*tols, 0.0], truth, target)
        settings["curvlinops + scipy eigsh"] = (lambda tol: _arpack_topk(problem, tol), arpack)
    runnable = {name: (lambda run=run, knob=knob: run(knob))
                for name, (run, knob) in settings.items() if knob is not None}
    times = alternate(runnable, repeats)
    errors = {name: _top_error(run(), truth) for name, run in runnable.items()}
    matvecs = {"ours": curvature.eigsh(problem.ours, K, tol=ours).num_matvecs}
    if HAVE_EIGENTHINGS and settings["hessian-eigenthings"][1] is not None:
        matvecs["hessian-eigenthings"] = settings["hessian-eigenthings"][1]  # one per step
    if HAVE_CURVLINOPS and settings["curvlinops + scipy eigsh"][1] is not None:
        matvecs["curvlinops + scipy eigsh"] = _arpack_matvecs(
            problem, settings["curvlinops + scipy eigsh"][1])
    return {"knobs": {name: knob for name, (_, knob) in settings.items()},
            "errors": errors, "times": times, "matvecs": matvecs,
            "ratios": {name: ratios(times, name, "ours") for name in times if name != "ours"}}


def _w1(nodes: torch.Tensor, weights: torch.Tensor, eigenvalues: torch.Tensor) -> float:
    """Wasserstein-1 distance of the pooled quadrature measure to the eigenvalue distribution."""
    return float(scipy.stats.wasserstein_distance(
        np.asarray(nodes, dtype=np.float64).ravel(), eigenvalues.numpy(),
        np.asarray(weights, dtype=np.float64).ravel()))


def bench_density(problem: Problem, probes: int, steps: int, repeats: int,
                  eigenvalues: torch.Tensor | None) -> dict[str, object]:
    """SLQ at equal budget: ours batched and serial (cached or not) against the peer."""
    methods: dict[str, Callable[[], object]] = {
        "ours batched": lambda: curvature.slq(problem.ours, probes, steps),
        "ours serial": lambda: curvature.slq(problem.ours, probes, steps, chunk_size=1),
        "ours uncached batched": lambda: curvature.slq(problem.ours_uncached, probes, steps),
        "ours uncached serial": lambda: curvature.slq(problem.ours_uncached, probes, steps,
                                                      chunk_size=1),
    }
    if HAVE_EIGENTHINGS:
        import hessian_eigenthings as he

        methods["hessian-eigenthings"] = lambda: he.spectral_density(
            problem.eigenthings, num_runs=probes, lanczos_steps=steps, num_grid_points=1000,
            seed=0)
    times = alternate(methods, repeats)
    result = {"times": times,
              "ratios": {"hessian-eigenthings / ours batched": ratios(
                             times, "hessian-eigenthings", "ours batched")
                         if HAVE_EIGENTHINGS else [],
                         "serial / batched (cached)": ratios(times, "ours serial",
                                                             "ours batched"),
                         "serial / batched (uncached)": ratios(times, "ours uncached serial",
                                                               "ours uncached batched")}}
    if eigenvalues is not None:
        ours = methods["ours batched"]()
        accuracy = {"ours": _w1(ours.nodes, ours.weights / probes, eigenvalues)}
        if HAVE_EIGENTHINGS:
            peer = methods["hessian-eigenthings"]()
            accuracy["hessian-eigenthings"] = _w1(
                torch.stack([torch.as_tensor(e) for e in peer.raw_eigenvalues]),
                torch.stack([torch.as_tensor(w) for w in peer.raw_weights]) / probes,
                eigenvalues)
        result["w1"] = accuracy
    return result


def _ours_fixed_steps(problem: Problem, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-K Ritz values and residuals of exactly ``steps`` Lanczos steps."""
    start = torch.randn(problem.dim, generator=torch.Generator().manual_seed(0))
    values, residuals = curvature.lanczos(problem.ours, start, steps,
                                          keep_basis=False).ritz_residuals()
    return values[0, -K:].flip(0), residuals[0, -K:].flip(0)


def bench_topk_equal_budget(problem: Problem, steps: int, repeats: int) -> dict[str, object]:
    """Top-K from a fixed number of Lanczos steps (ours, hessian-eigenthings); ARPACK at 1e-3."""
    methods: dict[str, Callable[[], object]] = {"ours": lambda: _ours_fixed_steps(problem, steps)}
    if HAVE_EIGENTHINGS:
        import hessian_eigenthings as he

        methods["hessian-eigenthings"] = lambda: he.lanczos(
            problem.eigenthings, k=K, max_iter=steps, which="LA", seed=0, reorthogonalize=True)
    if HAVE_CURVLINOPS:
        methods["curvlinops + scipy eigsh (tol 1e-3)"] = lambda: _arpack_topk(problem, 1e-3)
    times = alternate(methods, repeats)
    values, ritz_residuals = _ours_fixed_steps(problem, steps)
    residuals = {"ours": float(ritz_residuals.max() / values.abs().max())}
    if HAVE_EIGENTHINGS:
        peer = methods["hessian-eigenthings"]()
        residuals["hessian-eigenthings"] = float(
            np.max(np.asarray(peer.residuals)) / np.max(np.abs(np.asarray(peer.eigenvalues))))
    return {"times": times, "relative residuals": residuals,
            "ratios": {name: ratios(times, name, "ours") for name in times if name != "ours"}}


def main(quick: bool = False, threads: int = 1, repeats: int | None = None,
         target: float = 1e-4) -> dict[str, object]:
    torch.set_num_threads(threads)
    repeats = repeats or (2 if quick else 7)
    samples = 128 if quick else 1000
    probes, steps = (2, 8) if quick else (10, 80)
    budget = 10 if quick else 60
    mnist = data.mnist1d()
    x, y = mnist.x_train[:samples], mnist.y_train[:samples]
    train_steps = 10 if quick else 300
    small = Problem("small MLP", trained_mlp((24, 24), mnist, train_steps, 0), x, y)
    large = Problem("MNIST-1D MLP", trained_mlp((100, 100), mnist, train_steps, 0), x, y)
    dense = curvature.dense_hessian(small.model, F.cross_entropy, x, y, dtype=torch.float64)
    eigenvalues = torch.linalg.eigvalsh(dense)
    truth = eigenvalues.flip(0)[:K]
    peers = [name for name, have in (("hessian-eigenthings", HAVE_EIGENTHINGS),
                                     ("curvlinops", HAVE_CURVLINOPS)) if not have]
    print(f"torch {torch.__version__}, {threads} thread(s), {repeats} repeats, subset of "
          f"{samples} samples; small: n={small.dim}, larger: n={large.dim}"
          + (f"; not installed: {', '.join(peers)}" if peers else ""))

    results: dict[str, object] = {}
    for problem in (small, large):
        products = bench_products(problem, repeats * (1 if quick else 3))
        results[f"products {problem.name}"] = products
        print(f"\n[1] {problem.name}: one Hessian-vector product / one gradient "
              "(median [q1, q3])")
        for name, values in products.items():
            print(f"    {name:28s} {show(values)}")

    topk = bench_topk_equal_accuracy(small, truth, target, repeats)
    results["topk equal accuracy"] = topk
    print(f"\n[2] top-{K} of the small MLP within {target:g} relative error of the dense truth")
    for name, knob in topk["knobs"].items():
        error = topk["errors"].get(name, float("nan"))
        count = topk["matvecs"].get(name, topk["matvecs"]["ours"])
        print(f"    {name:28s} setting {knob!s:6s} error {error:.1e} products {count:4d} "
              f"time {statistics.median(topk['times'][name]) * 1e3:8.1f} ms"
              if knob is not None else f"    {name:28s} never reached the target")
    for name, values in topk["ratios"].items():
        print(f"    {name} / ours: {show(values)}")

    for problem, spectrum in ((small, eigenvalues), (large, None)):
        density = bench_density(problem, probes, steps, repeats, spectrum)
        results[f"density {problem.name}"] = density
        print(f"\n[3] SLQ density of the {problem.name}, {probes} probes x {steps} steps")
        for name, ts in density["times"].items():
            print(f"    {name:28s} {statistics.median(ts) * 1e3:9.1f} ms")
        for name, values in density["ratios"].items():
            if values:
                print(f"    {name}: {show(values)}")
        for name, w1 in density.get("w1", {}).items():
            print(f"    Wasserstein-1 to the dense spectrum, {name}: {w1:.2e}")

    equal_budget = bench_topk_equal_budget(large, budget, repeats)
    results["topk equal budget"] = equal_budget
    print(f"\n[4] top-{K} of the {large.name} from {budget} Lanczos steps")
    for name, ts in equal_budget["times"].items():
        print(f"    {name:36s} {statistics.median(ts) * 1e3:9.1f} ms")
    for name, value in equal_budget["relative residuals"].items():
        print(f"    max residual / |lambda_max|, {name}: {value:.1e}")
    for name, values in equal_budget["ratios"].items():
        print(f"    {name} / ours: {show(values)}")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast configuration")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed rounds per method")
    parser.add_argument("--target", type=float, default=1e-4,
                        help="relative accuracy of the top eigenvalues in section 2")
    arguments = parser.parse_args()
    main(quick=arguments.quick, threads=arguments.threads, repeats=arguments.repeats,
         target=arguments.target)
