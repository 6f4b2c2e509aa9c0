"""deepoptim.curvature against the tools a user would install instead.

Peers (benchmark-only dependencies; a missing one is reported and skipped):
``hessian-eigenthings`` (``HessianOperator`` + ``lanczos`` / ``spectral_density``) and
``curvlinops-for-pytorch`` (``HessianLinearOperator``, with SciPy's ``eigsh`` (ARPACK, from a fixed
start vector: its default is random, which would make its calibration irreproducible) for
eigenvalues and its own ``lanczos_approximate_spectrum`` for densities).

Problems: MLPs on a fixed MNIST-1D subset (cross-entropy, float32), trained briefly with Adam
so that their spectra have outliers and a bulk: a *small* one (40-64-32-10, 5,034 parameters)
and the *larger* MNIST-1D MLP (40-100-100-10, 15,210). Accuracy is always a true error: the
small network's truth is its dense float64 Hessian, the larger one's ARPACK run to convergence
(``tol=0``) on its float64 Hessian; never a method's own residual estimate.

Every method runs with its defaults except the one knob that sets its accuracy. Ours is the
default operator (it caches its linearisation, the subset being one batch) with ``eigsh``'s
default stopping rule, and also with its ``tol`` calibrated; "ours uncached" (``cache=False``)
shows what caching contributes.

1. Cost of one Hessian-vector product relative to one gradient over the subset (a product
   from scratch costs about two): ours uncached and cached, per vector in a batch of 10 (a
   loop of backward passes sharing one linearisation, the CPU default, or one vectorised
   pass), and the peers' products.
2. Top-5 eigenvalues at equal accuracy (both networks): each knob (our ``tol``,
   hessian-eigenthings' number of Lanczos steps, ARPACK's ``tol``) is set to the cheapest value
   that puts all five within ``--target`` relative error of the truth; the methods are then
   timed alternately, each beside its products alone (the same number of products with a
   fixed vector, no solver). Beside each ratio: the true errors, and the ratio split into
   three factors whose product it is: products (fewer), time per product timed alone
   (cheaper products), and time around the products (solver bookkeeping).
3. Spectral density by SLQ at equal budget (probes x steps, the GradVis default 10 x 80): ours
   with the chains side by side (a loop of products per step, or one vectorised pass) and one
   after another, cached (the default) and uncached, against hessian-eigenthings'
   ``spectral_density`` and curvlinops' ``lanczos_approximate_spectrum`` (Papyan's SLQ, no
   reorthogonalisation, ARPACK for the ends of the spectrum); on the small network the
   Wasserstein-1 distance of each estimate to the dense spectrum. Beside them the products
   alone (cached), one at a time and in batches of the probes (loop and vectorised): what
   batching gains on the products themselves, the rest being the chains' bookkeeping.

Every time is measured ``--repeats`` times, methods alternating in one process; ratios
(peer / ours, serial / batched, product / gradient) are median [q1, q3] over repeats.
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
from timing import alternate, ratios, repeated, show

K = 5
TOLS = [0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5]


def _available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


HAVE_EIGENTHINGS = _available("hessian_eigenthings")
HAVE_CURVLINOPS = _available("curvlinops")


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
        self.ours = curvature.HessianOperator(model, F.cross_entropy, x, y)
        self.ours_uncached = curvature.HessianOperator(model, F.cross_entropy, x, y, cache=False)
        self.ours_vectorized = curvature.HessianOperator(model, F.cross_entropy, x, y,
                                                         vectorize=True)
        self.ours_vectorized_uncached = curvature.HessianOperator(
            model, F.cross_entropy, x, y, vectorize=True, cache=False)
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

    def float64_operator(self) -> curvature.HessianOperator:
        return curvature.HessianOperator(self.model, F.cross_entropy, self.x, self.y,
                                         dtype=torch.float64)


def reference_spectrum(problem: Problem, dense: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The true top-K (descending) and, if ``dense``, every eigenvalue, in float64."""
    op = problem.float64_operator()
    if dense:
        eigenvalues = torch.linalg.eigvalsh(curvature.to_dense(op, chunk_size=64))
        return eigenvalues.flip(0)[:K], eigenvalues
    matrix = scipy.sparse.linalg.LinearOperator(
        (op.dim, op.dim), dtype=np.float64,
        matvec=lambda v: op.matvec(torch.from_numpy(np.ascontiguousarray(v).ravel())).numpy())
    values = scipy.sparse.linalg.eigsh(matrix, k=K, which="LA", tol=0,
                                       return_eigenvectors=False)
    return torch.as_tensor(np.sort(values)[::-1].copy()), None


def bench_products(problem: Problem, repeats: int) -> dict[str, list[float]]:
    """Seconds per product (per vector for the batch of 10) over seconds per gradient."""
    generator = torch.Generator().manual_seed(0)
    vectors = torch.randn(10, problem.dim, generator=generator)
    v = vectors[0]
    methods: dict[str, Callable[[], object]] = {
        "gradient": problem.gradient,
        "ours uncached": lambda: problem.ours_uncached.matvec(v),
        "ours (cached, the default)": lambda: problem.ours.matvec(v),
        "ours uncached, loop of 10": lambda: problem.ours_uncached.matvec_batch(vectors),
        "ours uncached, vmap of 10": lambda: problem.ours_vectorized_uncached.matvec_batch(
            vectors),
        "ours cached, loop of 10": lambda: problem.ours.matvec_batch(vectors),
        "ours cached, vmap of 10": lambda: problem.ours_vectorized.matvec_batch(vectors),
    }
    if HAVE_EIGENTHINGS:
        methods["hessian-eigenthings"] = lambda: problem.eigenthings.matvec(v)
    if HAVE_CURVLINOPS:
        methods["curvlinops"] = lambda: problem.curvlinops @ v
    times = alternate(methods, repeats)
    per_vector = {name: [t / (10 if " of 10" in name else 1) for t in ts]
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


class _Counted(scipy.sparse.linalg.LinearOperator):
    """A SciPy operator that counts its products."""

    def __init__(self, inner: scipy.sparse.linalg.LinearOperator) -> None:
        super().__init__(inner.dtype, inner.shape)
        self.inner, self.count = inner, 0

    def _matvec(self, v: np.ndarray) -> np.ndarray:
        self.count += 1
        return self.inner @ v


def _products_alone(matvec: Callable[[torch.Tensor], object], dim: int,
                    count: int) -> Callable[[], None]:
    """``count`` products with a fixed vector, timed as one sample: the products an
    eigensolver made, without the solver around them."""
    vector = torch.randn(dim, generator=torch.Generator().manual_seed(0))
    return repeated(lambda: matvec(vector), count)


def _split(times: dict[str, list[float]], products: dict[str, int], peer: str,
           ours: str) -> dict[str, object]:
    """``peer / ours`` split into three factors whose product is the ratio of every round:
    products (a count), time per product with the products alone, and the time around the
    products (solver bookkeeping: ``total / products alone`` of each side)."""
    per_product = [(p / products[peer]) / (o / products[ours]) for p, o in zip(
        times[f"{peer}: products alone"], times[f"{ours}: products alone"], strict=True)]
    around = [(tp / ap) / (to / ao) for tp, ap, to, ao in zip(
        times[peer], times[f"{peer}: products alone"], times[ours],
        times[f"{ours}: products alone"], strict=True)]
    return {"products": products[peer] / products[ours], "per product": per_product,
            "around the products": around}


def bench_topk_equal_accuracy(problem: Problem, truth: torch.Tensor, target: float,
                              repeats: int) -> dict[str, object]:
    """Calibrate each method to the accuracy target, then time them alternately, each beside
    its products alone (the same number of products with a fixed vector)."""
    def ours(op: curvature.LinearOperator) -> Callable[[object], curvature.EigenResult]:
        return lambda tol: curvature.eigsh(op, K, tol=tol)

    runs: dict[str, Callable[[object], object]] = {
        "ours, default tol": ours(problem.ours), "ours": ours(problem.ours),
        "ours uncached": ours(problem.ours_uncached)}
    knob = _calibrate(lambda tol: runs["ours"](tol).eigenvalues, TOLS, truth, target)
    knobs: dict[str, object] = {"ours, default tol": None, "ours": knob, "ours uncached": knob}
    matvecs: dict[str, Callable[[torch.Tensor], object]] = {
        "ours, default tol": problem.ours.matvec, "ours": problem.ours.matvec}
    if HAVE_EIGENTHINGS:
        import hessian_eigenthings as he

        runs["hessian-eigenthings"] = lambda m: he.lanczos(
            problem.eigenthings, k=K, max_iter=m, which="LA", seed=0)
        knobs["hessian-eigenthings"] = _calibrate(
            lambda m: runs["hessian-eigenthings"](m).eigenvalues,
            list(range(K + 1, min(problem.dim, 300))), truth, target)
        matvecs["hessian-eigenthings"] = problem.eigenthings.matvec
    if HAVE_CURVLINOPS:
        start = np.random.default_rng(0).standard_normal(problem.dim)  # ARPACK's is random
        runs["curvlinops + scipy eigsh"] = lambda tol: scipy.sparse.linalg.eigsh(
            problem.curvlinops.to_scipy(), k=K, which="LA", tol=tol, v0=start,
            return_eigenvectors=False)
        knobs["curvlinops + scipy eigsh"] = _calibrate(runs["curvlinops + scipy eigsh"],
                                                       [*TOLS, 0.0], truth, target)
        scipy_operator = problem.curvlinops.to_scipy()
        matvecs["curvlinops + scipy eigsh"] = lambda v: scipy_operator @ v.numpy()
    runnable = {name: (lambda run=runs[name], knob=knob: run(knob))
                for name, knob in knobs.items()
                if knob is not None or name == "ours, default tol"}
    errors, products = {}, {}
    for name, run in runnable.items():
        result = run()
        if isinstance(result, curvature.EigenResult):
            errors[name], products[name] = _top_error(result.eigenvalues, truth), \
                result.num_matvecs
        elif name == "hessian-eigenthings":
            errors[name], products[name] = _top_error(result.eigenvalues, truth), \
                knobs[name]
        else:
            counted = _Counted(problem.curvlinops.to_scipy())
            values = scipy.sparse.linalg.eigsh(counted, k=K, which="LA", tol=knobs[name],
                                               v0=start, return_eigenvectors=False)
            errors[name], products[name] = _top_error(values, truth), counted.count
    alone = {f"{name}: products alone": _products_alone(matvec, problem.dim, products[name])
             for name, matvec in matvecs.items() if name in runnable}
    times = alternate({**runnable, **alone}, repeats)
    versus, split = {}, {}
    for name in runnable:
        if name.startswith("ours"):
            continue
        for ours_name in ("ours, default tol", "ours"):
            if ours_name in runnable:
                label = f"{name} / {ours_name}"
                versus[label] = ratios(times, name, ours_name)
                split[label] = _split(times, products, name, ours_name)
    if "ours uncached" in runnable:
        versus["ours uncached / ours (caching)"] = ratios(times, "ours uncached", "ours")
    in_products = {name: ratios(times, f"{name}: products alone", name)
                   for name in runnable if f"{name}: products alone" in times}
    return {"knobs": knobs, "errors": errors, "times": times, "matvecs": products,
            "ratios": versus, "split": split, "share in products": in_products}


def _w1(nodes, weights, eigenvalues: torch.Tensor) -> float:
    """Wasserstein-1 distance of a discrete measure to the eigenvalue distribution."""
    weights = np.asarray(weights, dtype=np.float64).ravel()
    return float(scipy.stats.wasserstein_distance(
        np.asarray(nodes, dtype=np.float64).ravel(), eigenvalues.numpy(), weights))


def bench_density(problem: Problem, probes: int, steps: int, repeats: int,
                  eigenvalues: torch.Tensor | None) -> dict[str, object]:
    """SLQ at equal budget: ours side by side and serial (cached or not) against the peers."""
    methods: dict[str, Callable[[], object]] = {
        "ours batched": lambda: curvature.slq(problem.ours, probes, steps),
        "ours serial": lambda: curvature.slq(problem.ours, probes, steps, chunk_size=1),
        "ours vmap batched": lambda: curvature.slq(problem.ours_vectorized, probes, steps),
        "ours uncached batched": lambda: curvature.slq(problem.ours_uncached, probes, steps),
        "ours uncached serial": lambda: curvature.slq(problem.ours_uncached, probes, steps,
                                                      chunk_size=1),
        "ours uncached vmap batched": lambda: curvature.slq(problem.ours_vectorized_uncached,
                                                            probes, steps),
    }
    # the same products without the chains around them: one at a time, or steps batches
    vector = torch.randn(problem.dim, generator=torch.Generator().manual_seed(0))
    batch = torch.randn(probes, problem.dim, generator=torch.Generator().manual_seed(0))
    methods["products alone, serial"] = repeated(lambda: problem.ours.matvec(vector),
                                                 probes * steps)
    methods["products alone, batched"] = repeated(lambda: problem.ours.matvec_batch(batch),
                                                  steps)
    methods["products alone, vmap batched"] = repeated(
        lambda: problem.ours_vectorized.matvec_batch(batch), steps)
    if HAVE_EIGENTHINGS:
        import hessian_eigenthings as he

        methods["hessian-eigenthings"] = lambda: he.spectral_density(
            problem.eigenthings, num_runs=probes, lanczos_steps=steps, num_grid_points=1000,
            seed=0)
    if HAVE_CURVLINOPS:
        from curvlinops import lanczos_approximate_spectrum

        methods["curvlinops"] = lambda: lanczos_approximate_spectrum(
            problem.curvlinops, steps, num_repeats=probes)
    times = alternate(methods, repeats)
    # every pair at equal products (probes x steps): a ratio comes from batching or caching
    named = {"serial / batched, cached (the default)": ("ours serial", "ours batched"),
             "serial / batched, cached, products alone": ("products alone, serial",
                                                          "products alone, batched"),
             "serial / vmap batched, cached, products alone": (
                 "products alone, serial", "products alone, vmap batched"),
             "ours serial / its products alone (bookkeeping)": ("ours serial",
                                                                "products alone, serial"),
             "ours batched / its products alone (bookkeeping)": ("ours batched",
                                                                 "products alone, batched"),
             "serial / batched, uncached": ("ours uncached serial", "ours uncached batched"),
             "loop / vmap batched, cached": ("ours batched", "ours vmap batched"),
             "loop / vmap batched, uncached": ("ours uncached batched",
                                               "ours uncached vmap batched"),
             "uncached / cached, batched (caching)": ("ours uncached batched", "ours batched"),
             "hessian-eigenthings / ours batched": ("hessian-eigenthings", "ours batched"),
             "curvlinops / ours batched": ("curvlinops", "ours batched")}
    result = {"times": times, "ratios": {label: ratios(times, a, b)
                                         for label, (a, b) in named.items()
                                         if a in times and b in times}}
    if eigenvalues is not None:
        ours = methods["ours batched"]()
        accuracy = {"ours": _w1(ours.nodes, ours.weights / probes, eigenvalues)}
        if HAVE_EIGENTHINGS:
            peer = methods["hessian-eigenthings"]()
            accuracy["hessian-eigenthings"] = _w1(
                torch.stack([torch.as_tensor(e) for e in peer.raw_eigenvalues]),
                torch.stack([torch.as_tensor(w) for w in peer.raw_weights]) / probes,
                eigenvalues)
        if HAVE_CURVLINOPS:
            grid, density = methods["curvlinops"]()
            accuracy["curvlinops (its grid)"] = _w1(grid, density / density.sum(), eigenvalues)
        result["w1"] = accuracy
    return result


def main(quick: bool = False, threads: int = 1, repeats: int | None = None,
         target: float = 1e-4) -> dict[str, object]:
    torch.set_num_threads(threads)
    repeats = repeats or (2 if quick else 7)
    samples = 128 if quick else 1000
    probes, steps = (2, 8) if quick else (10, 80)
    mnist = data.mnist1d()
    x, y = mnist.x_train[:samples], mnist.y_train[:samples]
    train_steps = 10 if quick else 300
    small = Problem("small MLP", trained_mlp((16, 8) if quick else (64, 32), mnist,
                                             train_steps, 0), x, y)
    large = Problem("MNIST-1D MLP", trained_mlp((100, 100), mnist, train_steps, 0), x, y)
    small_truth, eigenvalues = reference_spectrum(small, dense=True)
    large_truth, _ = reference_spectrum(large, dense=False)
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
            print(f"    {name:30s} {show(values)}")

    for problem, truth in ((small, small_truth), (large, large_truth)):
        topk = bench_topk_equal_accuracy(problem, truth, target, repeats)
        results[f"topk equal accuracy {problem.name}"] = topk
        print(f"\n[2] top-{K} of the {problem.name} within {target:g} relative error of the "
              "truth (true errors)")
        for name, knob in topk["knobs"].items():
            if name not in topk["times"]:
                print(f"    {name:28s} never reached the target")
                continue
            count = topk["matvecs"][name]
            line = (f"    {name:28s} setting {knob!s:7s} error {topk['errors'][name]:.1e} "
                    f"products {count:4d} "
                    f"time {statistics.median(topk['times'][name]) * 1e3:8.1f} ms")
            if name in topk["share in products"]:
                alone = statistics.median(topk["times"][f"{name}: products alone"])
                line += (f", {alone / count * 1e3:.2f} ms per product alone, in products "
                         f"{statistics.median(topk['share in products'][name]):.0%}")
            print(line)
        print("    ratio = products (fewer) x time per product (cheaper products, timed alone)"
              " x time around the products (solver bookkeeping)")
        for name, values in topk["ratios"].items():
            line = f"    {name:44s} {show(values)}"
            if name in topk["split"]:
                split = topk["split"][name]
                line += (f" = {split['products']:.2f} x {show(split['per product']).strip()}"
                         f" x {show(split['around the products']).strip()}")
            print(line)

    for problem, spectrum in ((small, eigenvalues), (large, None)):
        density = bench_density(problem, probes, steps, repeats, spectrum)
        results[f"density {problem.name}"] = density
        print(f"\n[3] SLQ density of the {problem.name}, {probes} probes x {steps} steps "
              "(our variants all make probes x steps products: their ratios come from "
              "batching or caching)")
        for name, ts in density["times"].items():
            print(f"    {name:28s} {statistics.median(ts) * 1e3:9.1f} ms")
        for name, values in density["ratios"].items():
            print(f"    {name:40s} {show(values)}")
        for name, w1 in density.get("w1", {}).items():
            print(f"    Wasserstein-1 to the dense spectrum, {name}: {w1:.2e}")
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
