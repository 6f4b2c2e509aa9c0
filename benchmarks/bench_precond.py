"""The preconditioned optimizers of Part V (SGD-PH, KFAC, NKFAC, AdaNKFAC, AdamR) against
PyTorch's and pytorch-optimizer's, side by side in one process.

1. **Inverse refresh** of one Kronecker factor, float32, sizes 64 to 1024: KFAC's (an
   eigendecomposition, :class:`deepoptim.curvature.SymmetricEigen`) against NKFAC's (a relative
   damping from 10 power iterations, ``newton_steps`` warm-started Newton-Schulz iterations,
   :func:`deepoptim.curvature.newton_schulz_inverse`, two matrix products each, the last
   iteration's residual bounded rather than measured: its diagnostics keep the bound),
   both through the optimizers' own ``_invert``, with the same damping. The factor is what
   NKFAC holds at a refresh: the running average (NKFAC's ``_fold``) of normalised covariances
   of batches of ``4 d`` samples from a fixed Gaussian (spectrum from 1 to 1e-3), the warm start
   the exact inverse of the previous refresh, ``inv_interval / cov_interval`` recordings
   earlier. Also timed: the Newton-Schulz iterations alone, and iterated from the same warm
   start to their tolerance (:math:`\\sqrt{\\varepsilon}`, the accuracy the eigendecomposition
   reaches within rounding). Reported: KFAC's time / each one's (the speed-up), and each
   method's residual :math:`\\lVert I - B(F + \\lambda I)\\rVert_F`. Goal (issue): NKFAC's
   refresh at least 3x faster than KFAC's at 512 on a CPU.
2. **Whole step**, forward and backward included, on the digits CNN with batch normalisation
   (:class:`deepoptim.models.DigitsCNN`, batch 128): every optimizer at its defaults trains its
   own copy of the model (same initialisation, same batches) in blocks of ``--block`` steps
   (200 by default: one ``inv_interval`` period of NKFAC, two of KFAC), the optimizers taking
   turns block by block in a rotating order, after ``--warmup`` untimed steps (600: NKFAC's first
   three refreshes are exact). Per optimizer: time per step / its reference's in the same round
   (``torch.optim.SGD`` with momentum 0.9 for SGD-PH, KFAC and NKFAC; ``torch.optim.AdamW`` for
   AdaNKFAC and AdamR), median [IQR] over blocks, and where the time goes: the forward and
   backward pass (SGD-PH's closure back-propagates with ``create_graph=True``, timed as such)
   and the ``preconditioner_seconds`` of the optimizers' diagnostics. Goals (issue): SGD-PH at
   most 2x SGD; NKFAC at most 1.5x SGD averaged over a ``T_inv`` period.
3. **Peers** from pytorch-optimizer, in the same rounds at equal settings where a peer exists:
   SOAP for AdamR (same learning rate, betas, weight decay, factor decay and basis refresh every
   10 steps) and SophiaH for SGD-PH (one Hessian-vector product every step). KFAC and NKFAC
   have none: pytorch-optimizer has no KFAC, and its Shampoo (inverse roots every ``T_inv``,
   momentum 0.9) diverges on this model: with ``lr`` 1e-4 its loss is NaN at step 210, 10 steps
   after its first inverse root, and with 1e-3 its SVD failed on non-finite statistics within
   the 600 warm-up steps; it is left out.
   Reported: peer time / ours. Not equal in everything: see the notes printed with the table.

Run: ``python benchmarks/bench_precond.py [--quick] [--threads N] [--repeats R] [--block B]``.
Timings use one intra-op thread by default: on a small, shared machine two OpenMP threads fight
other processes and the timings become noise.
"""

from __future__ import annotations

import argparse
import inspect
import math
import statistics
import time
import warnings
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim import data, models
from deepoptim.curvature import MatrixOperator, newton_schulz_inverse, power_iteration
from deepoptim.optim import KFAC, NKFAC, SGDPH, AdamR, AdaNKFAC, channelwise_param_groups
from deepoptim.optim._base import DIAGNOSTICS
from deepoptim.train import closure_of
from deepoptim.train.tasks import minibatches
from timing import alternate, quartiles, show

#: Newton-Schulz iterations per refresh, NKFAC's default.
NEWTON_STEPS = inspect.signature(NKFAC).parameters["newton_steps"].default

#: The warm start's residual ||I - B_0 (F + lambda I)||_F the Newton-Schulz refresh is timed at.
WARM_RESIDUAL = 0.5


# --- 1. the inverse refresh --------------------------------------------------------------------


def _tiny(cls: type) -> torch.optim.Optimizer:
    """An optimizer whose ``_fold`` and ``_invert`` are the ones timed (on a placeholder model)."""
    model = nn.Linear(2, 2)
    return cls(model.parameters(), model=model)


def _residual(factor: torch.Tensor, shift: float, inverse: torch.Tensor) -> float:
    eye = torch.eye(len(factor), dtype=factor.dtype)
    return float(torch.linalg.matrix_norm(eye - inverse @ (factor + shift * eye)))


def nkfac_factors(size: int, nkfac: NKFAC, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(factor at the previous refresh, factor now): NKFAC's running average of normalised batch
    covariances, ``inv_interval / cov_interval`` recordings apart, after 20 recordings."""
    generator = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(size, size, generator=generator)).Q
    scale = torch.logspace(0, -3, size).sqrt()

    def recording() -> torch.Tensor:
        x = torch.randn(4 * size, size, generator=generator) * scale @ basis.T
        return x.T @ x / len(x)

    running = None
    for _ in range(20):
        running = nkfac._fold(running, recording(), 0.95)
    previous = running
    for _ in range(nkfac.inv_interval // nkfac.cov_interval):
        running = nkfac._fold(running, recording(), 0.95)
    return previous, running


def bench_refresh(size: int, repeats: int) -> dict[str, object]:
    """Times and residuals of KFAC's and NKFAC's refresh of one ``size`` x ``size`` factor.

    The drift between two refreshes of batches of ``4 d`` samples puts the warm start's residual
    above one (measured and reported: NKFAC then takes its default scaled step, one power
    iteration more and a measured residual, timed as "NKFAC, unsafe start", whose residual is
    that of the one step). The Newton-Schulz refresh is timed from the exact inverse of
    ``factor + t (previous - factor)``, with ``t`` set for a warm-start residual of about
    ``WARM_RESIDUAL``. "power iteration" is the part of NKFAC's refresh that finds the damping.
    """
    kfac, nkfac = _tiny(KFAC), _tiny(NKFAC)
    damping = nkfac.defaults["damping"]
    previous, factor = nkfac_factors(size, nkfac)
    # NKFAC's damping (as it computes it, from 10 power iterations), given to KFAC as well.
    largest = power_iteration(MatrixOperator(factor), max_iter=10, tol=0.0).eigenvalues[0]
    shift = max(1e-4, damping * float(largest))

    def exact_inverse(matrix: torch.Tensor) -> torch.Tensor:
        return nkfac._invert(matrix, None, damping, 0, nkfac._initial_diagnostics(), "previous")

    unsafe_start = exact_inverse(previous)
    drift = _residual(factor, shift, unsafe_start)
    t = min(1.0, WARM_RESIDUAL / drift)
    warm_start = exact_inverse(factor + t * (previous - factor))
    refresh = 5  # past the exact warm-up refreshes, not a multiple of exact_interval
    diagnostics = nkfac._initial_diagnostics()
    nkfac_inverse = nkfac._invert(factor, warm_start, damping, refresh, diagnostics, "factor")
    if diagnostics["newton_inversions"] != 1:
        raise RuntimeError(f"NKFAC's refresh at size {size} fell back to the exact inverse")
    converged = newton_schulz_inverse(factor, shift, initial=warm_start)
    methods: dict[str, Callable[[], object]] = {
        "KFAC (eigh)": lambda: kfac._invert(factor, None, shift, refresh, {}, "factor"),
        "NKFAC refresh": lambda: nkfac._invert(factor, warm_start, damping, refresh,
                                               nkfac._initial_diagnostics(), "factor"),
        f"Newton-Schulz x{NEWTON_STEPS}": lambda: newton_schulz_inverse(
            factor, shift, initial=warm_start, max_iter=NEWTON_STEPS),
        "Newton-Schulz to tol": lambda: newton_schulz_inverse(factor, shift, initial=warm_start),
        "power iteration": lambda: power_iteration(MatrixOperator(factor), max_iter=10,
                                                   tol=0.0),
        "NKFAC, unsafe start": lambda: nkfac._invert(factor, unsafe_start, damping, refresh,
                                                     nkfac._initial_diagnostics(), "factor"),
    }
    times = alternate(methods, repeats)
    unsafe = nkfac._initial_diagnostics()
    unsafe_inverse = nkfac._invert(factor, unsafe_start, damping, refresh, unsafe, "factor")
    residuals = {
        "power iteration": float("nan"),
        "KFAC (eigh)": _residual(factor, shift, kfac._invert(factor, None, shift, 0, {}, "f")),
        "NKFAC refresh": diagnostics["newton_residual"],
        f"Newton-Schulz x{NEWTON_STEPS}": _residual(factor, shift, nkfac_inverse),
        "Newton-Schulz to tol": float(converged.residuals[-1]),
        "NKFAC, unsafe start": _residual(factor, shift, unsafe_inverse),
    }
    eigh = times["KFAC (eigh)"]
    return {"times": times, "residuals": residuals, "drift residual": drift,
            "warm start residual": _residual(factor, shift, warm_start),
            "unsafe start": "exact inverse" if unsafe["exact_inversions"] else
            f"{unsafe['damped_steps']} scaled step",
            "iterations to tol": converged.iterations,
            "speed-ups": {name: [e / s for e, s in zip(eigh, ts, strict=True)]
                          for name, ts in times.items() if name != "KFAC (eigh)"}}


# --- 2 and 3. the whole step ---------------------------------------------------------------------


class Entry(NamedTuple):
    """An optimizer of the step benchmark: how to build it, what it is timed against."""

    make: Callable[[nn.Module], torch.optim.Optimizer]
    reference: str | None = None  # the baseline of its ratio (None: it is a baseline)
    graph: bool = False  # its closure back-propagates with create_graph=True
    ours: str | None = None  # for a peer: our optimizer it is compared with


def _peer(name: str) -> Callable[..., torch.optim.Optimizer]:
    import pytorch_optimizer

    return getattr(pytorch_optimizer, name)


OURS: dict[str, Entry] = {
    "SGD": Entry(lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9)),
    "AdamW": Entry(lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-2)),
    "SGD-PH": Entry(lambda m: SGDPH(channelwise_param_groups(m)), "SGD", graph=True),
    "KFAC": Entry(lambda m: KFAC(m.parameters(), model=m), "SGD"),
    "NKFAC": Entry(lambda m: NKFAC(m.parameters(), model=m), "SGD"),
    "AdaNKFAC": Entry(lambda m: AdaNKFAC(m.parameters(), model=m), "AdamW"),
    "AdamR": Entry(lambda m: AdamR(m.parameters(), timed=True), "AdamW"),
}

PEERS: dict[str, Entry] = {
    "SOAP": Entry(lambda m: _peer("SOAP")(
        m.parameters(), lr=1e-3, betas=(0.9, 0.999), shampoo_beta=0.95, weight_decay=1e-2,
        precondition_frequency=10, max_precondition_dim=2048), "AdamW", ours="AdamR"),
    "SophiaH": Entry(lambda m: _peer("SophiaH")(m.parameters(), update_period=1), "SGD",
                     graph=True, ours="SGD-PH"),
}

PEER_NOTES = (
    "SOAP: factors per tensor dimension (a convolution kernel gets four), AdamR one per side of "
    "the kernel seen as a matrix; SOAP's refresh is a power iteration + QR, AdamR's an eigh",
    "SophiaH: a Hutchinson probe of every parameter (SGD-PH: H 1 of one channel-wise tensor)",
)


def _graph_closure(loss_of: Callable[[], torch.Tensor], optimizer: torch.optim.Optimizer
                   ) -> Callable[[], torch.Tensor]:
    """The closure convention, back-propagating with ``create_graph=True`` (what SGD-PH's and
    SophiaH's Hessian-vector products need)."""

    def closure() -> torch.Tensor:
        loss = loss_of()
        if torch.is_grad_enabled():
            optimizer.zero_grad(set_to_none=True)
            loss.backward(create_graph=True)
        return loss

    return closure


class Runner:
    """One optimizer on its own model copy, stepping through the shared batches."""

    def __init__(self, entry: Entry, dataset: data.ClassificationData, seed: int) -> None:
        torch.manual_seed(seed)
        self.model = models.build_model("digits_cnn")
        self.optimizer = entry.make(self.model)
        self.entry, self.dataset = entry, dataset
        self.block_times: list[float] = []
        self.preconditioner: list[float] = []  # seconds per step, per block

    def closure(self, index: torch.Tensor, graph: bool | None = None):
        x, y = self.dataset.x_train[index], self.dataset.y_train[index]
        wrap = _graph_closure if (self.entry.graph if graph is None else graph) else closure_of
        return wrap(lambda: F.cross_entropy(self.model(x), y), self.optimizer)

    def _preconditioner_total(self) -> float:
        return self.optimizer.state.get(DIAGNOSTICS, {}).get("preconditioner_seconds", 0.0)

    def run(self, batches: list[torch.Tensor], timed: bool = True) -> None:
        """``len(batches)`` steps (closure construction included, as in training); timed, the
        time per step and the preconditioner's. SGD-PH records its probes' time per step, the
        others a running total."""
        per_step = isinstance(self.optimizer, SGDPH)
        total = 0.0 if per_step else self._preconditioner_total()
        started = time.perf_counter()
        for index in batches:
            self.optimizer.step(self.closure(index))
            if per_step:
                total += self._preconditioner_total()
        elapsed = time.perf_counter() - started
        if timed:
            self.block_times.append(elapsed / len(batches))
            spent = total if per_step else self._preconditioner_total() - total
            self.preconditioner.append(spent / len(batches))


def time_backward(runner: Runner, batches: list[torch.Tensor], graph: bool) -> float:
    """Seconds of one forward and backward pass (closure included), without a step."""
    closures = [runner.closure(index, graph) for index in batches]
    started = time.perf_counter()
    for closure in closures:
        closure()
    runner.optimizer.zero_grad(set_to_none=True)
    return (time.perf_counter() - started) / len(batches)


def measure_steps(entries: dict[str, Entry], rounds: int, block: int, warmup: int,
                  seed: int = 0) -> dict[str, object]:
    """Interleaved blocks of every optimizer; the runners, the forward-backward times."""
    digits = data.digits()
    runners = {name: Runner(entry, digits, seed) for name, entry in entries.items()}
    stream = minibatches(digits.num_train, 128, torch.Generator().manual_seed(seed))
    warm = [next(stream) for _ in range(warmup)]
    for runner in runners.values():
        runner.run(warm, timed=False)
    counts = {name: dict(runner.optimizer.state.get(DIAGNOSTICS, {}))
              for name, runner in runners.items()}
    backward: dict[bool, list[float]] = {False: [], True: []}
    names = list(runners)
    for round_index in range(rounds):
        batches = [next(stream) for _ in range(block)]
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            runners[name].run(batches)
        for graph in (False, True):
            backward[graph].append(time_backward(runners["SGD"], batches, graph))
    nkfac = runners["NKFAC"].optimizer.state[DIAGNOSTICS]
    inversions = {key: nkfac[key] - counts["NKFAC"][key]
                  for key in ("exact_inversions", "newton_inversions", "inverse_refreshes")}
    return {"runners": runners, "backward": backward, "nkfac inversions": inversions}


def step_rows(measured: dict[str, object]) -> list[dict]:
    """Per optimizer: ratio to its reference [IQR], ms per step, forward-backward and
    preconditioner ms per step."""
    runners, backward = measured["runners"], measured["backward"]
    rows = []
    for name, runner in runners.items():
        reference = runner.entry.reference or name
        ratios = [t / r for t, r in zip(runner.block_times, runners[reference].block_times,
                                        strict=True)]
        median, q1, q3 = quartiles(ratios)
        rows.append(dict(optimizer=name, reference=reference, ratio=median, q1=q1, q3=q3,
                         ratios=ratios, ms=1e3 * statistics.median(runner.block_times),
                         backward=1e3 * statistics.median(backward[runner.entry.graph]),
                         preconditioner=1e3 * statistics.median(runner.preconditioner)))
    return rows


def peer_rows(measured: dict[str, object]) -> list[dict]:
    """Per peer: its time per step / our counterpart's in the same round."""
    runners = measured["runners"]
    rows = []
    for name, runner in runners.items():
        if runner.entry.ours is None:
            continue
        ratios = [p / o for p, o in zip(runner.block_times,
                                        runners[runner.entry.ours].block_times, strict=True)]
        median, q1, q3 = quartiles(ratios)
        rows.append(dict(peer=name, ours=runner.entry.ours, ratio=median, q1=q1, q3=q3,
                         ratios=ratios))
    return rows


# --- the report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Parse arguments, measure, print one table per part; return the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short blocks")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1)")
    parser.add_argument("--repeats", type=int, default=None, help="timed refreshes per size (7)")
    parser.add_argument("--rounds", type=int, default=None, help="timed blocks per optimizer (9)")
    parser.add_argument("--block", type=int, default=None, help="steps per block (200)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps first (600)")
    args = parser.parse_args(argv)
    sizes = (64, 128) if args.quick else (64, 128, 256, 512, 1024)
    repeats = args.repeats or (2 if args.quick else 7)
    rounds = args.rounds or (2 if args.quick else 9)
    block = args.block or (10 if args.quick else 200)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 600)
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        with warnings.catch_warnings():
            # Our closures set the gradients to None before each backward, breaking the cycle.
            warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph")
            refresh = {size: bench_refresh(size, repeats) for size in sizes}
            entries = {**OURS, **PEERS}
            measured = measure_steps(entries, rounds, block, warmup)
    finally:
        torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")

    print(f"\n[1] one factor's inverse refresh, float32, {repeats} repeats: KFAC's time / "
          f"each one's (median [IQR]); residual ||I - B(F + lambda I)||_F")
    print(f"{'size':>5} {'method':<22} {'ms':>9} {'speed-up [IQR]':>24} {'residual':>9}")
    for size, result in refresh.items():
        for name, times in result["times"].items():
            speed = (show(result["speed-ups"][name]) if name in result["speed-ups"]
                     else f"{'':24}")
            residual = result["residuals"][name]
            residual = "–" if math.isnan(residual) else f"{residual:.1e}"  # no inverse
            print(f"{size:5d} {name:<22} {1e3 * statistics.median(times):9.2f} {speed:>24} "
                  f"{residual:>9}")
        print(f"{'':5} warm start residual {result['warm start residual']:.2f} (the batches' "
              f"drift gives {result['drift residual']:.2f}: unsafe, NKFAC takes "
              f"{result['unsafe start']}); "
              f"Newton-Schulz iterations to tol {result['iterations to tol']}")
    if 512 in refresh:
        at_512 = quartiles(refresh[512]["speed-ups"]["NKFAC refresh"])[0]
        print(f"goal: NKFAC's refresh >= 3x faster than KFAC's at 512: {at_512:.2f}x, "
              f"{'met' if at_512 >= 3 else 'not met'}")

    rows = step_rows(measured)
    print(f"\n[2] whole step (forward + backward included), digits CNN with BatchNorm, batch 128, "
          f"{rounds} blocks of {block} steps after {warmup}; ratio to the reference's step "
          f"(median [IQR] over blocks)")
    print(f"{'optimizer':<9} {'vs':<6} {'ratio [IQR]':>24} {'ms/step':>8} {'fwd+bwd':>8} "
          f"{'precond':>8} {'other':>8}")
    for r in rows:
        if r["optimizer"] in OURS:
            ratio = show(r["ratios"]) if r["reference"] != r["optimizer"] else f"{'':24}"
            print(f"{r['optimizer']:<9} {r['reference']:<6} {ratio:>24} {r['ms']:8.3f} "
                  f"{r['backward']:8.3f} {r['preconditioner']:8.3f} "
                  f"{r['ms'] - r['backward'] - r['preconditioner']:8.3f}")
    inversions = measured["nkfac inversions"]
    print(f"NKFAC in the timed blocks: {inversions['inverse_refreshes']} refreshes, "
          f"{inversions['newton_inversions']} Newton-Schulz and {inversions['exact_inversions']} "
          f"exact inverses")
    by_name = {r["optimizer"]: r["ratio"] for r in rows}
    for name, goal in (("SGD-PH", 2.0), ("NKFAC", 1.5)):
        print(f"goal: {name} <= {goal}x SGD: {by_name[name]:.2f}x, "
              f"{'met' if by_name[name] <= goal else 'not met'}")

    peers = peer_rows(measured)
    if peers:
        print("\n[3] pytorch-optimizer peers in the same rounds: peer's step / ours "
              "(median [IQR]); the peer against our reference")
        for p in peers:
            reference = next(r for r in rows if r["optimizer"] == p["peer"])
            print(f"{p['peer']:<8} / {p['ours']:<7} {show(p['ratios'])}   "
                  f"{p['peer']} / {reference['reference']} {show(reference['ratios'])}")
        for note in PEER_NOTES:
            print(f"  {note}")
    return {"refresh": refresh, "steps": rows, "peers": peers,
            "nkfac inversions": measured["nkfac inversions"]}


if __name__ == "__main__":
    main()
