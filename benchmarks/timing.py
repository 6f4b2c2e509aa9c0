"""Timing helpers shared by the benchmark scripts: alternating rounds and quartile summaries.

Every benchmark times our code and its comparison in the same process, alternating between
them so that a change of machine load falls on both; results are ratios, summarised by the
median and the interquartile range over rounds.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable


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
