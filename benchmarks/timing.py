"""Timing helpers shared by the benchmark scripts: alternating rounds and quartile summaries.

Every benchmark times our code and its comparison in the same process, alternating between
them so that a change of machine load falls on both; results are ratios, summarised by the
median and the interquartile range over rounds.

The line-search benchmarks also share the *Armijo floor* (:func:`floor_rows`): a step that
makes ``e`` more forward passes than the baseline's step costs at least
``(t_base + e * t_forward) / t_base`` of it, with ``t_forward`` the time of one loss-only
forward pass on the same batch, timed in the same rounds; "vs floor" is the step's time over
that floor (1.0: the search machinery costs nothing beyond its forward passes). Passes are
counted by hooks on the model (:class:`PassCounter`).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable

import torch


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """``(median, q1, q3)`` of ``values`` (a single value is all three)."""
    q1, median, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return median, q1, q3


def show(values: list[float], digits: int = 2) -> str:
    """``median [q1, q3]`` of ``values`` as text."""
    median, q1, q3 = quartiles(values)
    return f"{median:8.{digits}f} [{q1:.{digits}f}, {q3:.{digits}f}]"


def seconds(fn: Callable[[], object], count: int = 1) -> float:
    """Wall-clock seconds of ``count`` calls of ``fn``."""
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return time.perf_counter() - start


def alternate(methods: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each method, ``repeats`` rounds, the order rotating every round
    (after one warm-up call each: first calls load kernels and build caches)."""
    for method in methods.values():
        method()
    times: dict[str, list[float]] = {name: [] for name in methods}
    names = list(methods)
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            times[name].append(seconds(methods[name]))
    return times


class PassCounter:
    """Forward and backward passes of a model, counted by hooks (a forward pre-hook on the
    model, a post-accumulate-grad hook on its first parameter)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.forwards = self.backwards = 0
        model.register_forward_pre_hook(self._forward)
        next(model.parameters()).register_post_accumulate_grad_hook(self._backward)

    def _forward(self, *_):
        self.forwards += 1

    def _backward(self, *_):
        self.backwards += 1


def forward_seconds(forward: Callable[[], object], count: int, counter: PassCounter) -> float:
    """Seconds per call of ``forward`` (a loss-only forward pass), over ``count`` calls,
    without counting them in ``counter``."""
    before = counter.forwards
    elapsed = seconds(forward, count) / count
    counter.forwards = before
    return elapsed


def rotating_blocks(run_block: dict[str, Callable[[list], object]],
                    next_batch: Callable[[], object], time_forward: Callable[[list], float],
                    steps: int, block: int) -> list[float]:
    """Run ``steps // block`` rounds (at least one): each round draws ``block`` batches, runs
    every method's ``run_block(batches)`` in an order rotating by one per round, then times
    one loss-only forward pass over the same batches (``time_forward(batches)``, seconds);
    returns those forward times, one per round."""
    names = list(run_block)
    forward_times = []
    for round_index in range(max(1, steps // block)):
        batches = [next_batch() for _ in range(block)]
        for name in names[round_index % len(names):] + names[:round_index % len(names)]:
            run_block[name](batches)
        forward_times.append(time_forward(batches))
    return forward_times


def floor_rows(block_times: dict[str, list[float]], counters: dict[str, PassCounter],
               steps: dict[str, int], forward_times: list[float], base: str = "Adam"
               ) -> list[dict]:
    """One row per optimizer: its step time over ``base``'s (``ratio``, median and quartiles
    over blocks), forward and backward passes per step, the floor and its time over the
    floor (``vs_floor``), and its median milliseconds per step. ``block_times[name][i]`` is
    the seconds per step of block ``i``; ``forward_times[i]`` that of one loss-only forward
    pass in the same round."""
    base_times = block_times[base]
    base_forwards = counters[base].forwards / steps[base]
    rows = []
    for name, times in block_times.items():
        forwards = counters[name].forwards / steps[name]
        backwards = counters[name].backwards / steps[name]
        extra = forwards - base_forwards
        ratios = [t / a for t, a in zip(times, base_times, strict=True)]
        floors = [(a + extra * f) / a for a, f in zip(base_times, forward_times, strict=True)]
        median, q1, q3 = quartiles(ratios)
        floor_median, f1, f3 = quartiles([r / f for r, f in zip(ratios, floors, strict=True)])
        rows.append(dict(optimizer=name, ratio=median, ratio_q1=q1, ratio_q3=q3,
                         fwd=forwards, bwd=backwards, extra_fwd=extra,
                         floor=statistics.median(floors), vs_floor=floor_median,
                         vs_floor_q1=f1, vs_floor_q3=f3,
                         ms_per_step=1e3 * statistics.median(times)))
    return rows


def floor_table(rows: Iterable[dict]) -> str:
    """The rows of :func:`floor_rows` as a text table."""
    lines = [f"{'optimizer':<13} {'ratio [IQR]':>20} {'fwd/step':>8} {'bwd/step':>8} "
             f"{'floor':>6} {'vs floor [IQR]':>20} {'ms/step':>8}"]
    for r in rows:
        lines.append(
            f"{r['optimizer']:<13} {r['ratio']:6.3f} [{r['ratio_q1']:5.3f},{r['ratio_q3']:6.3f}]"
            f" {r['fwd']:8.3f} {r['bwd']:8.3f} {r['floor']:6.3f}"
            f" {r['vs_floor']:6.3f} [{r['vs_floor_q1']:5.3f},{r['vs_floor_q3']:6.3f}]"
            f" {r['ms_per_step']:8.3f}")
    return "\n".join(lines)
def block_size(fn: Callable[[], object], target: float = 0.05, limit: int = 100_000) -> int:
    """How many calls of ``fn`` one timed sample needs to last at least ``target`` seconds
    (``perf_counter`` resolves far less, but a sample that short is dominated by the machine's
    jitter); at most ``limit``. Calls ``fn`` a few times to find out."""
    fn()
    count = 1
    while (elapsed := seconds(fn, count)) < target and count < limit:
        count = min(limit, max(2 * count, math.ceil(1.2 * count * target / max(elapsed, 1e-9))))
    return count


def ratios(times: dict[str, list[float]], numerator: str, denominator: str) -> list[float]:
    """Per-round ratios ``times[numerator][i] / times[denominator][i]`` of :func:`alternate`'s
    result (each round times both under the same load)."""
    return [a / b for a, b in zip(times[numerator], times[denominator], strict=True)]


def repeated(fn: Callable[[], object], count: int) -> Callable[[], None]:
    """``fn`` called ``count`` times in a row, as one method of :func:`alternate` (a block of
    calls timed as one sample; divide its seconds by ``count``)."""

    def block() -> None:
        for _ in range(count):
            fn()

    return block
