r"""Chapter 20's (continuation) experiment code and the sentences that state its results.

The continuation chapter of Part IV (Pathak 2024) builds its problems here when they take
more than a few lines (the curved path of minimisers, the homotopy autoencoder, the runs of
every continuation method), and maps what it measured to the words its text and its
claims table use, covering both directions, ties and a missing value (NaN). The criterion is
stated in each docstring and, beside the result, in the chapter. The generic phrases are those
of :mod:`~deepoptim.studies.verdicts` and :mod:`~deepoptim.studies.part5`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import train
from .._checks import check_int_at_least, check_positive
from ..continuation import (
    Homotopy,
    LinearSchedule,
    NaturalContinuation,
    PseudoArclength,
    homotopize,
)
from .verdicts import count_phrase, share_verdict

__all__ = [
    "AUTOENCODER_WIDTHS",
    "CONTINUATION_METHODS",
    "CurvedPath",
    "Reconstruction",
    "diverged_phrase",
    "diverged_runs",
    "homotopy_autoencoder",
    "lambda_phrase",
    "loglog_slope",
    "loss_change_phrase",
    "order_verdict",
    "path_error_phrase",
    "predictor_errors",
    "reach_cell",
    "reach_verdict",
    "run_continuation",
    "steps_to_reach",
    "with_continuation",
]

#: The verdict on a claim whose measurement is missing (NaN).
_NOT_MEASURED = "not measured"

# --- Chapter 20 (continuation) --------------------------------------------------------------

#: The digits autoencoder's encoder widths (the decoder mirrors them): 64-32-16-2-16-32-64.
AUTOENCODER_WIDTHS = (64, 32, 16, 2)
#: The continuation methods :func:`with_continuation` knows ("plain": none, lambda = 1).
CONTINUATION_METHODS = ("plain", "npc", "npacs", "parc", "linear")


class CurvedPath(train.Task):
    r""":math:`J(\theta; \lambda) = \tfrac12 \lVert \theta - c(\lambda) \rVert^2`, whose
    minimiser is :math:`\theta^*(\lambda) = c(\lambda)`.

    ``curved=True``: :math:`c(\lambda) = (\cos \pi\lambda, \sin \pi\lambda, \lambda)`, a helix
    (curvature :math:`\pi^2 / (1 + \pi^2)` everywhere); ``curved=False``: the straight line
    :math:`c(\lambda) = (1 - 2\lambda, \lambda, \lambda)`. The model is one parameter vector
    (:class:`Point`); one step of SGD with learning rate 1 solves each problem exactly.
    """

    def __init__(self, homotopy: Homotopy, *, curved: bool = True) -> None:
        self.homotopy, self.curved = homotopy, curved

    def solution(self, lam: float | torch.Tensor) -> torch.Tensor:
        """:math:`c(\\lambda)` (float64)."""
        lam = torch.as_tensor(lam, dtype=torch.float64)
        if self.curved:
            return torch.stack([torch.cos(math.pi * lam), torch.sin(math.pi * lam), lam])
        return torch.stack([1 - 2 * lam, lam, lam])

    def batches(self, generator: torch.Generator) -> Iterator[torch.Tensor]:
        while True:
            yield torch.zeros(1, dtype=torch.float64)

    def loss(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return 0.5 * (model.theta - self.solution(self.homotopy.value)).square().sum()

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {"loss": float(self.loss(model, None))}


class Point(nn.Module):
    """One parameter vector of 3 entries (float64, starting at 0), the whole model."""

    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.zeros(3, dtype=torch.float64))


def predictor_errors(delta: float, *, secant: bool, curved: bool = True) -> list[float]:
    r"""The distance :math:`\lVert\hat\theta - \theta^*(\lambda_{k+1})\rVert` right after
    every prediction of natural continuation on :class:`CurvedPath`, from :math:`\lambda = 0`
    in fixed steps ``delta`` (the library's :class:`~deepoptim.continuation.NaturalContinuation`,
    one corrector step per :math:`\lambda`: SGD with learning rate 1, exact; the secant scale
    from the steps, ``secant_scale="ratio"``).

    With ``secant`` the first prediction (a natural one: no previous point yet) is left out;
    the last step, cut at :math:`\lambda = 1`, is left out too.
    """
    check_positive("delta", delta)
    homotopy = Homotopy()
    problem, model = CurvedPath(homotopy, curved=curved), Point()
    task = NaturalContinuation(problem, homotopy, lam0=0.0, delta=delta, every=1,
                               secant=secant, adaptive=False, secant_scale="ratio")
    errors: list[float] = []
    previous = [0.0]

    def after(step: int, model: nn.Module, _: Any) -> None:
        lam = homotopy.lam
        if step and lam < 1 and math.isclose(lam - previous[0], delta, rel_tol=1e-9):
            errors.append(float(torch.linalg.vector_norm(
                model.theta.detach() - problem.solution(lam))))
        previous[0] = lam

    steps = math.ceil(1 / delta) + 1
    train.fit(task, model, torch.optim.SGD(model.parameters(), lr=1.0), steps=steps,
              callback=after, progress=False)
    return errors[1:] if secant else errors


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """The least-squares slope of log y against log x (NaN with fewer than two points or a
    value that is not positive)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"Invalid y value: {len(y)} values (expected {len(x)}, one per x)")
    if len(x) < 2 or not (np.all(x > 0) and np.all(y > 0)):
        return math.nan
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def order_verdict(slope: float, expected: float, *, tolerance: float = 0.25
                  ) -> tuple[str, str]:
    r"""The claim "an error shrinks like :math:`\Delta\lambda^p`" (``expected`` :math:`p`), from
    the measured log-log ``slope``.

    It agrees when the slope is within ``tolerance`` of :math:`p`. Returns a phrase ("shrinks
    like Δλ^2.01, the order 2 expected", "shrinks like Δλ^1.30, not the order 2 expected",
    "does not shrink with Δλ (slope -0.10)") and the verdict (:func:`holds_verdict`; "not
    measured" for NaN).
    """
    check_positive("tolerance", tolerance)
    if math.isnan(slope):
        return "was not measured", _NOT_MEASURED
    if slope <= 0:
        return f"does not shrink with Δλ (slope {slope:.2f})", "disagrees"
    holds = abs(slope - expected) <= tolerance
    return (f"shrinks like Δλ^{slope:.2f}, {'' if holds else 'not '}the order {expected:g} "
            "expected", "agrees" if holds else "disagrees")


def path_error_phrase(error: float, scale: float, *, rounding: float = 1e-12) -> tuple[str, str]:
    """The claim "a prediction lands on the path", from the largest distance ``error`` of a
    prediction to the path and the path's size ``scale`` (e.g. the length of one step).

    It agrees when ``error`` is at most ``rounding`` times ``scale``. Returns a phrase ("lands
    on the path to rounding (largest error 2e-16)", "misses the path by up to 0.012") and the
    verdict ("not measured" for NaN)."""
    check_positive("scale", scale)
    if math.isnan(error):
        return "was not measured", _NOT_MEASURED
    if error <= rounding * scale:
        return f"lands on the path to rounding (largest error {error:.0e})", "agrees"
    return f"misses the path by up to {error:.2g}", "disagrees"


class Reconstruction(train.Task):
    """Mean squared reconstruction error of (centred) data, on mini-batches.

    Its evaluation is the mean squared error on the whole training and test sets,
    ``train_loss`` and ``test_loss``.
    """

    def __init__(self, x_train: torch.Tensor, x_test: torch.Tensor, batch_size: int = 200
                 ) -> None:
        check_int_at_least("batch_size", batch_size, 1)
        self.x_train, self.x_test, self.batch_size = x_train, x_test, batch_size

    def batches(self, generator: torch.Generator) -> Iterator[torch.Tensor]:
        for index in train.minibatches(len(self.x_train), self.batch_size, generator):
            yield self.x_train[index.to(self.x_train.device)]

    def loss(self, model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(model(batch), batch)

    @torch.no_grad()
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {"train_loss": float(F.mse_loss(model(self.x_train), self.x_train)),
                "test_loss": float(F.mse_loss(model(self.x_test), self.x_test))}


def homotopy_autoencoder(widths: Sequence[int] = AUTOENCODER_WIDTHS, *, lam: float = 1.0,
                         activation: Callable[[], nn.Module] = nn.ReLU
                         ) -> tuple[nn.Sequential, Homotopy]:
    """An autoencoder ``widths`` then mirrored (e.g. 64-32-16-2-16-32-64), ``activation`` after
    every hidden layer, linear code and output layers, turned into homotopy activations at
    ``lam``; the model is ``Sequential(encoder, decoder)`` (PyTorch's default initialisation,
    from the global generator)."""
    if len(widths) < 2:
        raise ValueError(f"Invalid widths value: {tuple(widths)!r} (at least an input and a code)")

    def stack(sizes: Sequence[int]) -> nn.Sequential:
        layers: list[nn.Module] = []
        for a, b in zip(sizes, sizes[1:], strict=False):
            layers += [nn.Linear(a, b), activation()]
        return nn.Sequential(*layers[:-1])  # the last layer is linear

    model = nn.Sequential(stack(widths), stack(widths[::-1]))
    return model, homotopize(model, lam=lam)


def with_continuation(method: str, task: train.Task, homotopy: Homotopy, **options: Any
                      ) -> train.Task:
    """``task`` trained by a continuation ``method`` (:data:`CONTINUATION_METHODS`): "plain"
    (the task itself at :math:`\\lambda = 1`), "npc" (natural continuation, fixed steps, no
    predictor), "npacs" (secant predictor and adaptive steps), "parc" (pseudo-arclength) or
    "linear" (a linear schedule; ``steps`` in ``options``). Other ``options`` go to the
    method's class; unset ones are the library's defaults."""
    if method == "plain":
        if options:
            raise ValueError(f"Invalid options value: {options!r} (plain training takes none)")
        homotopy.lam = 1.0
        return task
    if method == "npc":
        return NaturalContinuation(task, homotopy, **{"secant": False, "adaptive": False,
                                                      **options})
    if method == "npacs":
        return NaturalContinuation(task, homotopy, **options)
    if method == "parc":
        return PseudoArclength(task, homotopy, **options)
    if method == "linear":
        return LinearSchedule(task, homotopy, **options)
    raise ValueError(f"Invalid method value: {method!r} (expected one of "
                     f"{', '.join(map(repr, CONTINUATION_METHODS))})")


def run_continuation(configs: Mapping[str, Callable[[int], tuple[train.Task, nn.Module,
                                                                 torch.optim.Optimizer]]],
                     seeds: Sequence[int], *, steps: int, eval_every: int
                     ) -> dict[str, pd.DataFrame]:
    """Train every configuration once per seed; the runs as tidy frames.

    ``configs[name](seed)`` builds a fresh ``(task, model, optimizer)``; it draws the model's
    initialisation, and :func:`~deepoptim.train.fit` gets the seed for its batches.

    Returns ``final`` (one row per run: ``config``, ``seed``, the last evaluation, ``time``
    the training time, ``ms_per_step``, ``lambda`` the last :math:`\\lambda` (1 for a task
    without one), ``lambda_one`` the first step taken at :math:`\\lambda = 1`, NaN if none,
    and ``continuation_ms`` the time per step before it), ``evals`` (every evaluation) and
    ``lambdas`` (``config``, ``seed``, ``step``, ``lambda``, ``delta_lambda``, ``time`` of
    every step).
    """
    check_int_at_least("steps", steps, 1)
    finals, evals, lambdas = [], [], []
    for name, build in configs.items():
        for seed in seeds:
            task, model, optimizer = build(seed)
            history = train.fit(task, model, optimizer, steps=steps, seed=seed,
                                eval_every=eval_every, progress=False)
            frame = history.steps_frame()
            if "lambda" not in frame:
                frame["lambda"], frame["delta_lambda"] = 1.0, 0.0
            ones = frame.index[frame["lambda"] == 1.0]
            first = int(frame["step"][ones[0]]) if len(ones) else math.nan
            before = frame[frame["lambda"] < 1.0]
            time = float(frame["time"].iloc[-1])
            finals.append({"config": name, "seed": seed, **history.final(), "time": time,
                           "ms_per_step": 1e3 * time / len(frame),
                           "lambda": float(frame["lambda"].iloc[-1]), "lambda_one": first,
                           "continuation_ms": (1e3 * float(before["time"].iloc[-1]) / len(before)
                                               if len(before) else math.nan)})
            evals.append(history.evals_frame().assign(config=name, seed=seed))
            lambdas.append(frame[["step", "lambda", "delta_lambda", "time"]].assign(
                config=name, seed=seed))
    return {"final": pd.DataFrame(finals), "evals": pd.concat(evals, ignore_index=True),
            "lambdas": pd.concat(lambdas, ignore_index=True)}


def steps_to_reach(evals: pd.DataFrame, threshold: float, *, metric: str = "train_loss"
                   ) -> pd.DataFrame:
    """Per run (``config``, ``seed``) of ``evals``: the first evaluation whose ``metric`` is at
    most ``threshold``, as ``step`` and ``time`` (NaN when none is)."""
    rows = []
    for (config, seed), run in evals.groupby(["config", "seed"], sort=False):
        hits = run[run[metric] <= threshold]
        first = hits.iloc[0] if len(hits) else None
        rows.append({"config": config, "seed": seed,
                     "step": math.nan if first is None else float(first["step"]),
                     "time": math.nan if first is None else float(first["time"])})
    return pd.DataFrame(rows, columns=["config", "seed", "step", "time"])


def reach_cell(steps: Sequence[float], budget: int) -> str:
    """Steps to reach a target over seeds, for a table: "450" (all alike), "300 to 450",
    "450 (1 of 2 seeds)" when some seeds never reach it, "not within 2000" when none does,
    "not run" for no seed."""
    check_int_at_least("budget", budget, 1)
    steps = [float(s) for s in steps]
    if not steps:
        return "not run"
    reached = [int(s) for s in steps if not math.isnan(s)]
    if not reached:
        return f"not within {budget}"
    low, high = min(reached), max(reached)
    span = f"{low}" if low == high else f"{low} to {high}"
    return span if len(reached) == len(steps) else f"{span} ({len(reached)} of {len(steps)} seeds)"


def reach_verdict(reached: Sequence[float], limits: Sequence[float]) -> str:
    """The claim "a method reaches the reference's final loss sooner than the reference", one
    seed at a time: ``reached[i]`` is when the method first reached it (NaN: never) and
    ``limits[i]`` when the reference's run ended (both in steps, or both in seconds).
    :func:`share_verdict` of the seeds reached strictly before the limit; "not measured" for
    no seed or a NaN limit."""
    if len(reached) != len(limits):
        raise ValueError(f"Invalid limits value: {len(limits)} limits (expected "
                         f"{len(reached)}, one per seed)")
    if not reached or any(math.isnan(float(limit)) for limit in limits):
        return _NOT_MEASURED
    hits = sum(not math.isnan(float(r)) and float(r) < float(limit)
               for r, limit in zip(reached, limits, strict=True))
    return share_verdict(hits, len(reached))


def lambda_phrase(firsts: Sequence[float], finals: Sequence[float]) -> str:
    """Where :math:`\\lambda` went over seeds: ``firsts`` the first step at
    :math:`\\lambda = 1` (NaN: never), ``finals`` the last :math:`\\lambda`. "is 1 throughout"
    (plain training), "reaches λ = 1
    after 520 to 610 steps", "reaches λ = 1 in 1 of 2 seeds (after 900 steps) and ends at λ =
    0.83 in the other", "ends at λ = 0.43 to 0.47, short of 1"; "not run" for no seed."""
    if len(firsts) != len(finals):
        raise ValueError(f"Invalid finals value: {len(finals)} values (expected {len(firsts)})")
    if not firsts:
        return "not run"
    reached = [int(f) for f in firsts if not math.isnan(float(f))]
    short = [float(lam) for f, lam in zip(firsts, finals, strict=True) if math.isnan(float(f))]

    def span(values: Sequence[float], spec: str) -> str:
        low, high = format(min(values), spec), format(max(values), spec)
        return low if low == high else f"{low} to {high}"

    if not short:
        if max(reached) == 1:
            return "is 1 throughout"
        return f"reaches λ = 1 after {span(reached, 'd')} steps"
    if not reached:
        return f"ends at λ = {span(short, '.2f')}, short of 1"
    others = "the other" if len(short) == 1 else "the others"
    return (f"reaches λ = 1 in {len(reached)} of {len(firsts)} seeds (after "
            f"{span(reached, 'd')} steps) and ends at λ = {span(short, '.2f')} in {others}")


def loss_change_phrase(final: float, start: float) -> str:
    """How a run's loss ended against where it started: "ends 3.2e+10 times above its starting
    value" (a rise of more than tenfold), "ends 45% above its starting value", "ends 60% below
    its starting value", "ends where it started" (within 0.5%); "was not measured" for NaN."""
    if math.isnan(final) or math.isnan(start):
        return "was not measured"
    if start <= 0 or final < 0:
        raise ValueError(f"Invalid start value: {start!r} (a positive loss; final {final!r})")
    ratio = final / start
    if ratio > 10:
        return f"ends {ratio:.1e} times above its starting value"
    if abs(ratio - 1) < 0.005:
        return "ends where it started"
    return (f"ends {ratio - 1:.0%} above its starting value" if ratio > 1
            else f"ends {1 - ratio:.0%} below its starting value")


#: A run diverged when its last evaluation is this many times its first, or more.
DIVERGED_FACTOR = 10.0


def diverged_runs(evals: pd.DataFrame, config: str, *, metric: str = "train_loss"
                  ) -> tuple[int, int]:
    """``(diverged, runs)`` of configuration ``config`` in ``evals`` (one row per run and
    evaluation, with ``config``, ``seed``, ``step`` and ``metric``): a run diverged when its
    last evaluation is at least :data:`DIVERGED_FACTOR` times its first, or not finite."""
    runs = evals[evals["config"] == config].sort_values("step").groupby("seed")[metric]
    ends = [(float(values.iloc[0]), float(values.iloc[-1])) for _, values in runs]
    return sum(not last < DIVERGED_FACTOR * first for first, last in ends), len(ends)


def diverged_phrase(method: str, diverged: int, runs: int) -> str | None:
    """The sentence that replaces a comparison when runs of ``method`` diverged: "NPACS
    diverged in 2 of 2 runs (its loss ended at least tenfold above where it started)";
    ``None`` when none did."""
    if diverged == 0:
        check_int_at_least("runs", runs, 0)
        return None
    return (f"{method} diverged in {count_phrase(diverged, runs, 'run')} (its loss ended at "
            f"least {DIVERGED_FACTOR:g}-fold above where it started)")
