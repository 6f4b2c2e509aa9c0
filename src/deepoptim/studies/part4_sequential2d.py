r"""Chapter 21's (Sequential2D) experiment pieces and the sentences that state its results.

Each phrase or verdict function maps what the Sequential2D chapter of Part IV (Pathak 2024)
measured to the words its text and its claims table use, covering
both directions, ties and a missing value (NaN). The criterion is stated in each docstring and,
beside the result, in the chapter. The generic phrases are those of
:mod:`~deepoptim.studies.verdicts`.

The chapter also keeps here the networks it builds that the library's
constructors do not (:func:`masked_dense`, :class:`SequenceClassifier`), the search for widths
and densities that match a parameter count (:func:`matched_width`, :func:`density_for`), its
training runs of arbitrary modules with Adam (:func:`train_models`, :func:`best_lr_runs`) and a
side-by-side timer (:func:`alternating_times`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._checks import check_in_range, check_int_at_least
from ..data import ClassificationData
from ..experiment import seed_everything
from ..models import MaskedLinear, Sequential2D, count_effective_parameters
from ..train import evaluate, train
from .runs import METRICS, Runs
from .verdicts import clear_difference, holds_verdict, joined

__all__ = [
    "SequenceClassifier",
    "alternating_times",
    "best_lr_runs",
    "block_pattern",
    "count_match_phrase",
    "density_for",
    "exact_mask",
    "exact_verdict",
    "iterations_phrase",
    "masked_dense",
    "matched_width",
    "patterns_verdict",
    "train_models",
]

#: The verdict on a claim whose measurement is missing (NaN).
_NOT_MEASURED = "not measured"


# --- Chapter 21 (Sequential2D): networks and runs --------------------------------------------


def block_pattern(model: Sequential2D) -> np.ndarray:
    """The block matrix of ``model`` as numbers for a picture, in the code convention (row =
    source slot, column = destination slot): 1 where a block has trainable parameters, 0.5
    where it has none (``nn.Identity``), 0 where there is no block."""
    if not isinstance(model, Sequential2D):
        raise TypeError(f"model must be a Sequential2D, got {type(model).__name__}")
    n = model.n_slots
    pattern = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            block = model.block(i, j)
            if block is not None:
                trainable = any(p.requires_grad for p in block.parameters())
                pattern[i, j] = 1.0 if trainable else 0.5
    return pattern


def exact_mask(out_features: int, in_features: int, density: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """A 0/1 mask of shape (out_features, in_features) with exactly
    ``max(1, round(density * size))`` ones at random places (a fixed count, so that a network of
    such masks has a known number of weights)."""
    check_int_at_least("out_features", out_features, 1)
    check_int_at_least("in_features", in_features, 1)
    check_in_range("density", density, 0.0, 1.0, low_inclusive=False, high_inclusive=True)
    size = out_features * in_features
    keep = max(1, round(density * size))
    mask = torch.zeros(size)
    mask[torch.randperm(size, generator=generator)[:keep]] = 1.0
    return mask.reshape(out_features, in_features)


def masked_dense(sizes: Sequence[int], density: float,
                 activation: Callable[[], nn.Module] = nn.ReLU,
                 generator: torch.Generator | None = None) -> Sequential2D:
    """A DenseNet-like Sequential2D whose whole upper triangle holds sparse blocks: every
    ``blocks[i][j]``, ``i < j``, is a :class:`~deepoptim.models.MaskedLinear` keeping
    ``density`` of its weights (:func:`exact_mask`), with a bias on the superdiagonal (one per
    slot), ``activation()`` on the hidden slots and the input held. Slot ``j`` reads every
    earlier slot; the depth is still ``len(sizes) - 1``."""
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"Invalid sizes value: {sizes!r} (expected at least 2 widths)")
    n = len(sizes)
    blocks: list[list[nn.Module | None]] = [[None] * n for _ in range(n)]
    blocks[0][0] = nn.Identity()
    for j in range(1, n):
        for i in range(j):
            mask = exact_mask(sizes[j], sizes[i], density, generator)
            blocks[i][j] = MaskedLinear(sizes[i], sizes[j], mask, bias=i == j - 1)
    activations = [None, *[activation() for _ in range(n - 2)], None]
    return Sequential2D(blocks, activations, iterations=n - 1)


def density_for(sizes: Sequence[int], target: int) -> float:
    """The density at which :func:`masked_dense` of ``sizes`` has ``target`` trainable
    parameters (its biases plus the kept weights; up to the rounding of each mask), checked
    to lie in (0, 1]."""
    sizes = list(sizes)
    check_int_at_least("target", target, 1)
    biases = sum(sizes[1:])
    weights = sum(sizes[i] * sizes[j] for j in range(len(sizes)) for i in range(j))
    density = (target - biases) / weights
    if not 0 < density <= 1:
        raise ValueError(f"Invalid target value: {target!r} (expected between {biases} and "
                         f"{biases + weights} parameters for sizes {sizes})")
    return density


def matched_width(make: Callable[[int], nn.Module], target: int, widths: Sequence[int]) -> int:
    """The width among ``widths`` whose network ``make(width)`` has the trainable-parameter
    count (:func:`~deepoptim.models.count_effective_parameters`) closest to ``target`` (the
    smaller width on a tie)."""
    widths = list(widths)
    if not widths:
        raise ValueError("Invalid widths value: [] (give at least one width)")
    gaps = [(abs(count_effective_parameters(make(width)) - target), width) for width in widths]
    return min(gaps)[1]


class SequenceClassifier(nn.Module):
    """A recurrent map read over a vector cut into ``tokens`` equal pieces, classified from its
    last slot after the last token.

    ``cell`` is a Sequential2D run by :meth:`~deepoptim.models.Sequential2D.scan` (e.g.
    :meth:`~deepoptim.models.Sequential2D.rnn`, whose ``iterations`` are the internal steps
    per token); an input (N, F) becomes a sequence (tokens, N, F / tokens), and a linear layer
    maps the final hidden state to ``classes`` logits.
    """

    def __init__(self, cell: Sequential2D, tokens: int, classes: int) -> None:
        super().__init__()
        if not isinstance(cell, Sequential2D):
            raise TypeError(f"cell must be a Sequential2D, got {type(cell).__name__}")
        check_int_at_least("tokens", tokens, 1)
        check_int_at_least("classes", classes, 1)
        hidden = cell.sizes[-1]
        if hidden is None:
            raise ValueError("Invalid cell value: its last slot has no known size")
        self.cell, self.tokens = cell, tokens
        self.readout = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] % self.tokens:
            raise ValueError(f"Invalid x value: shape {tuple(x.shape)} (expected (N, F) with F "
                             f"a multiple of {self.tokens} tokens)")
        sequence = x.reshape(x.shape[0], self.tokens, -1).transpose(0, 1)
        _, state = self.cell.scan(sequence)
        return self.readout(state[-1])


def train_models(
    builders: Mapping[str, Callable[[], nn.Module]],
    dataset: ClassificationData,
    lrs: Mapping[str, Sequence[float]],
    seeds: Sequence[int],
    *,
    steps: int,
    batch_size: int = 100,
    eval_every: int | None = None,
    validation: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> Runs:
    """Train each named network ``builders[name]()`` with Adam at each learning rate of
    ``lrs[name]`` from each seed (initialisation and batch order seeded), as tidy frames.

    Every row carries ``config`` (the name), ``lr``, ``seed`` and the network's trainable
    parameters ``params`` (:func:`~deepoptim.models.count_effective_parameters`); the records
    hold the final metrics and ``time`` (seconds of training), ``time_per_step`` too, and with
    ``validation`` (inputs, targets held out of ``dataset``'s training set) the final model's
    ``val_loss`` and ``val_acc`` on it, for choosing a learning rate without the test set.
    """
    seeds = list(seeds)
    if not builders or not seeds:
        raise ValueError("Invalid builders or seeds value: give at least one of each")
    missing = [name for name in builders if not lrs.get(name)]
    if missing:
        raise ValueError(f"Invalid lrs value: no learning rate for {missing}")
    check_int_at_least("steps", steps, 1)
    records, evals, step_frames = [], [], []
    for name, build in builders.items():
        for lr in lrs[name]:
            for seed in seeds:
                seed_everything(seed)
                model = build().to(dataset.x_train.device)
                optimizer = torch.optim.Adam(model.parameters(), lr=lr)
                history = train(model, optimizer, dataset, steps=steps, batch_size=batch_size,
                                eval_every=eval_every, seed=seed, progress=False)
                labels = {"config": name, "lr": float(lr), "seed": seed,
                          "params": count_effective_parameters(model)}
                final = {k: v for k, v in history.final().items() if k != "step"}
                if validation is not None:
                    final["val_loss"], final["val_acc"] = evaluate(model, *validation)
                records.append({**labels, **final, "time_per_step": final["time"] / steps})
                evals.append(history.evals_frame().assign(**labels))
                step_frames.append(history.steps_frame().assign(**labels))
    return Runs(pd.DataFrame(records), pd.concat(evals, ignore_index=True),
                pd.concat(step_frames, ignore_index=True))


def best_lr_runs(runs: Runs, metric: str = "train_loss") -> tuple[dict[str, float], Runs]:
    """Per ``config`` of :func:`train_models`' runs, the learning rate with the best mean final
    ``metric`` over seeds (lowest, or highest for an accuracy; a run whose metric is not finite
    ranks last), and the runs at those learning rates only. ``metric`` is a final metric of
    :data:`~deepoptim.studies.METRICS` or ``val_loss`` / ``val_acc`` (runs with a validation
    set)."""
    choices = (*METRICS, "val_loss", "val_acc")
    if metric not in choices or metric not in runs.records.columns:
        raise ValueError(f"Invalid metric value: {metric!r} (choose from {list(choices)}, "
                         "a column of the records)")
    records = runs.records
    sign = -1.0 if metric.endswith("acc") else 1.0
    rank = (sign * records[metric]).where(records[metric].map(math.isfinite), math.inf)
    means = records.assign(rank=rank).groupby(["config", "lr"], sort=False)["rank"].mean()
    best = {config: float(group.idxmin()[1]) for config, group in
            means.groupby(level="config", sort=False)}

    def keep(frame: pd.DataFrame) -> pd.DataFrame:
        chosen = frame["lr"] == frame["config"].map(best)
        return frame[chosen].reset_index(drop=True)

    return best, Runs(keep(runs.records), keep(runs.evals), keep(runs.steps))


def alternating_times(calls: Mapping[str, Callable[[], object]], rounds: int,
                      count: int = 10, clock: Callable[[], float] = time.perf_counter
                      ) -> dict[str, list[float]]:
    """Seconds per call of each of ``calls``, over ``rounds`` rounds of ``count`` calls each,
    the order of the calls rotating from round to round so that a change of load falls on all
    of them (one warm-up call each first). ``clock`` reads the time: wall time by default,
    ``time.process_time`` for the CPU time of this process (less sensitive to other
    processes on a shared machine when torch computes on one thread)."""
    check_int_at_least("rounds", rounds, 1)
    check_int_at_least("count", count, 1)
    if not calls:
        raise ValueError("Invalid calls value: {} (give at least one)")
    names = list(calls)
    for name in names:
        calls[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            for _ in range(count):
                calls[name]()
            times[name].append((clock() - start) / count)
    return times


# --- Chapter 21 (Sequential2D): sentences ----------------------------------------------------


def exact_verdict(difference: float) -> str:
    """The verdict on "two ways of writing a network compute the same numbers", from the
    largest absolute difference between them: "agrees" only when it is exactly 0 (bit-identical),
    "disagrees" otherwise, "not measured" for NaN."""
    if math.isnan(difference):
        return _NOT_MEASURED
    if difference < 0:
        raise ValueError(f"Invalid difference value: {difference!r} (an absolute difference)")
    return holds_verdict(difference == 0)


def count_match_phrase(counts: Mapping[str, int], target: int, *, tolerance: float = 0.01
                       ) -> str:
    """How close each network's parameter count comes to ``target`` (the reference's), as a
    clause: "every network is within 0.4% of the MLP's 11,594 parameters", or naming those
    beyond ``tolerance`` (relative): "the rest within 1%, but dense is 12% above"."""
    check_int_at_least("target", target, 1)
    if not counts:
        raise ValueError("Invalid counts value: {} (give at least one network)")
    gaps = {name: count / target - 1 for name, count in counts.items()}
    worst = max(abs(gap) for gap in gaps.values())
    if worst <= tolerance:
        return (f"every network is within {worst:.1%} of the MLP's {target:,} parameters")
    off = [f"{name} {abs(gap):.0%} {'above' if gap > 0 else 'below'}"
           for name, gap in gaps.items() if abs(gap) > tolerance]
    near = len(gaps) - len(off)
    rest = (f"{near} of {len(gaps)} networks are within {tolerance:.0%} of the MLP's "
            f"{target:,} parameters" if near else
            f"no network is within {tolerance:.0%} of the MLP's {target:,} parameters")
    return f"{rest}; {joined(off)}"


def patterns_verdict(statistics: Mapping[str, float], *, reference: str = "the MLP"
                     ) -> tuple[str, str]:
    """The claim "at an equal number of parameters, another block pattern (skips, a dense
    triangle, a weight-shared map) matches or beats ``reference``", from Welch's statistic of
    (pattern - reference) test accuracy per pattern.

    A pattern beats the reference when it is clearly more accurate (beyond two standard
    errors, :func:`clear_difference`), loses when clearly less. Returns a clause naming the
    patterns of each outcome ("the α·I skips are clearly more accurate than the MLP; the dense
    triangle is clearly less accurate") and the verdict: "agrees" when some pattern beats the
    reference, "partly" when none does but some is not clearly different (a match no sharper
    than the spread), "disagrees" when every measured pattern is clearly less accurate, and
    "not measured" when no statistic is known (one seed).
    """
    if not statistics:
        raise ValueError("Invalid statistics value: {} (give at least one pattern)")
    words = {name: clear_difference(s) for name, s in statistics.items()}
    groups = {
        "clearly higher": "clearly more accurate than",
        "not clearly different": "not clearly different from",
        "clearly lower": "clearly less accurate than",
        "unknown": "of unknown difference from",
    }
    parts = []
    for word, text in groups.items():
        names = [name for name, w in words.items() if w == word]
        if names:
            verb = "is" if len(names) == 1 else "are"
            parts.append(f"{joined(names)} {verb} {text} {reference}")
    clause = "; ".join(parts)
    known = [w for w in words.values() if w != "unknown"]
    if not known:
        return clause, _NOT_MEASURED
    if "clearly higher" in known:
        return clause, "agrees"
    return clause, "partly" if "not clearly different" in known else "disagrees"


def iterations_phrase(statistic: float, fewer: int, more: int, *, metric: str = "test accuracy"
                      ) -> str:
    """More iterations of a map against fewer, from Welch's statistic of (``more`` − ``fewer``)
    ``metric``: "K = 8 iterations give a clearly higher test accuracy than K = 4", "... a
    test accuracy not clearly different from K = 4's", "... a test accuracy of unknown
    difference from K = 4's (one seed)"."""
    check_int_at_least("fewer", fewer, 1)
    check_int_at_least("more", more, fewer + 1)
    words = clear_difference(statistic)
    head = f"K = {more} iterations give"
    if words == "unknown":
        return f"{head} a {metric} of unknown difference from K = {fewer}'s (one seed)"
    if words == "not clearly different":
        return f"{head} a {metric} not clearly different from K = {fewer}'s"
    return f"{head} a {words} {metric} than K = {fewer}"
