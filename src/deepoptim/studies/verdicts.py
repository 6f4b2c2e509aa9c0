"""Words for measured values: the phrases and verdicts the book's chapters put in their text.

A sentence of a chapter that states a result is built from the result, so it cannot say more
than was measured and reads right whichever way the measurement went. Each function here
maps values to a phrase, covering both directions, ties, a single seed and a missing (NaN)
value:

* :func:`joined` and :func:`count_phrase`: lists and counts in words ("a, b and c", "2 of 3");
* :func:`share_verdict`: a claim made for every case, held on some of them
  ("agrees", "partly", "disagrees");
* :func:`relative_phrase` and :func:`relative_to`: a ratio of two positive values, e.g. of
  losses ("12% lower", "12% lower than Adam's");
* :func:`clear_difference`: a difference in units of its standard error (Welch's statistic of
  :func:`~deepoptim.studies.summaries.standardized_difference`): clear beyond two;
* :func:`holds_verdict` and :func:`holds_phrase`: a claim tested once ("agrees",
  "disagrees"), and a prediction over several cases as a predicate ("holds for 1 of 2 ...");
* :func:`times_phrase` and :func:`every_phrase`: how often something happened ("never",
  "once", "in every run", "in none of the 4 runs");
* :func:`speed_verdict`: a range of repeated speed-ups, clearly above or below 1 or neither;
* :func:`mean_spread`, :func:`spread_phrase` and :func:`seeds_phrase`: a mean with its
  spread over seeds, which one seed leaves unknown (the value alone, not "± 0"), and
  :func:`machine_phrase`, the device a chapter runs on.

The chapter-specific sentences are built from these in
:mod:`~deepoptim.studies.part1_verdicts` (Part I) and :mod:`~deepoptim.studies.part3`
(Part III).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import torch

from .._checks import check_int_at_least

__all__ = [
    "clear_difference",
    "count_phrase",
    "every_phrase",
    "holds_phrase",
    "holds_verdict",
    "joined",
    "machine_phrase",
    "mean_spread",
    "relative_phrase",
    "relative_to",
    "seeds_phrase",
    "share_verdict",
    "speed_verdict",
    "spread_phrase",
    "times_phrase",
]


def joined(items: Sequence[str], *, empty: str = "none") -> str:
    """The items as an English list: "a", "a and b", "a, b and c"; ``empty`` for none."""
    items = [str(item) for item in items]
    if not items:
        return empty
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _check_count(hits: int, total: int) -> None:
    check_int_at_least("total", total, 1)
    check_int_at_least("hits", hits, 0)
    if hits > total:
        raise ValueError(f"Invalid hits value: {hits!r} (at most total = {total})")


def count_phrase(hits: int, total: int, noun: str | None = None) -> str:
    """``"hits of total"``, e.g. "0 of 3"; all of one case reads "1 of 1". With a ``noun`` in
    the singular it follows in the number of ``total``: "0 of 3 pairs", "0 of 1 pair"."""
    _check_count(hits, total)
    text = f"{hits} of {total}"
    return text if noun is None else f"{text} {noun}" + ("" if total == 1 else "s")


def share_verdict(hits: int, total: int) -> str:
    """The verdict on a claim made for every case that held in ``hits`` of ``total`` cases:
    "agrees" (all), "partly" (some) or "disagrees" (none)."""
    _check_count(hits, total)
    return "agrees" if hits == total else "partly" if hits else "disagrees"


def holds_verdict(holds: bool) -> str:
    """The verdict on a claim that was tested once: "agrees" or "disagrees"."""
    return "agrees" if holds else "disagrees"


def holds_phrase(hits: int, total: int, cases: str) -> str:
    """How a prediction fared on ``total`` cases (``cases`` in the plural, e.g. "step sizes"),
    as a sentence's predicate: "holds", "holds for 1 of 2 step sizes", "is not reproduced"."""
    _check_count(hits, total)
    if hits == total:
        return "holds"
    return f"holds for {hits} of {total} {cases}" if hits else "is not reproduced"


def times_phrase(count: int) -> str:
    """How often something happened: "never", "once", "7 times"."""
    check_int_at_least("count", count, 0)
    return "never" if count == 0 else "once" if count == 1 else f"{count} times"


def every_phrase(verb: str, hits: int, total: int, noun: str = "run") -> str:
    """In how many of ``total`` cases (``noun`` in the singular) something happened: "shrinks
    in every run", "shrinks in 1 of 4 runs", "shrinks in none of the 4 runs"; of a single
    case, "shrinks in the one run" or "shrinks in no run"."""
    _check_count(hits, total)
    if total == 1:
        return f"{verb} in the one {noun}" if hits else f"{verb} in no {noun}"
    if hits == total:
        return f"{verb} in every {noun}"
    return f"{verb} in {hits} of {total} {noun}s" if hits else (
        f"{verb} in none of the {total} {noun}s")


def speed_verdict(low: float, high: float, *, margin: float = 0.05) -> str:
    """Whether one program is faster than another over repeated timings, from the range
    ``[low, high]`` of the ratios (the other's time over this one's): "faster" when the whole
    range is above ``1 + margin``, "slower" when it is below ``1 / (1 + margin)``, "neither
    clearly faster nor slower" otherwise (timings vary by a few percent between repeats),
    "not measured" for NaN."""
    if math.isnan(low) or math.isnan(high):
        return "not measured"
    if low > high:
        raise ValueError(f"Invalid low value: {low!r} (at most high = {high!r})")
    if low > 1 + margin:
        return "faster"
    return "slower" if high < 1 / (1 + margin) else "neither clearly faster nor slower"


def relative_phrase(ratio: float, *, tolerance: float = 0.005) -> str:
    """A ratio ``a / b`` of two positive values as how ``a`` compares with ``b``.

    "12% lower" below 1, "5% higher" above 1, "the same" within ``tolerance`` of 1 (which
    also keeps "0% lower" from being printed), "not measured" for NaN.
    """
    if math.isnan(ratio):
        return "not measured"
    if ratio <= 0 or math.isinf(ratio):
        raise ValueError(f"Invalid ratio value: {ratio!r} (a ratio of two positive values)")
    if abs(ratio - 1) < tolerance:
        return "the same"
    return f"{1 - ratio:.0%} lower" if ratio < 1 else f"{ratio - 1:.0%} higher"


def relative_to(ratio: float, reference: str) -> str:
    """:func:`relative_phrase` against a named reference: "12% lower than tuned Adam's",
    "the same as tuned Adam's", "not measured against tuned Adam's"."""
    words = relative_phrase(ratio)
    if words == "the same":
        return f"the same as {reference}"
    if words == "not measured":
        return f"not measured against {reference}"
    return f"{words} than {reference}"


def clear_difference(statistic: float, *, threshold: float = 2.0) -> str:
    """A difference ``a - b`` in units of its standard error, in words.

    "clearly lower" below ``-threshold``, "clearly higher" above ``threshold``, "not clearly
    different" in between (ties included), and "unknown" for NaN (a standard error of 0:
    one seed each, or runs that all agree).
    """
    if threshold <= 0:
        raise ValueError(f"Invalid threshold value: {threshold!r} (a positive number)")
    if math.isnan(statistic):
        return "unknown"
    if statistic < -threshold:
        return "clearly lower"
    return "clearly higher" if statistic > threshold else "not clearly different"


def mean_spread(mean: float, std: float, n: int, spec: str) -> str:
    """A mean over ``n`` seeds with its standard deviation, each formatted with ``spec``
    (e.g. ``".3f"``, ``".1%"``): "0.123 ± 0.004"; one seed leaves the spread unknown, so
    the value stands alone; "not run" when the mean is NaN (no run)."""
    check_int_at_least("n", n, 0)
    if n == 0 or math.isnan(mean):
        return "not run"
    text = format(mean, spec)
    return text if n == 1 or math.isnan(std) else f"{text} ± {format(std, spec)}"


def spread_phrase(n: int) -> str:
    """What an error bar over ``n`` seeds shows: "mean ± one standard deviation over 3 seeds",
    or for one seed "one seed, so no spread"."""
    check_int_at_least("n", n, 1)
    return ("one seed, so no spread" if n == 1
            else f"mean ± one standard deviation over {seeds_phrase(n)}")


def seeds_phrase(n: int) -> str:
    """"one seed" or "3 seeds"."""
    check_int_at_least("n", n, 1)
    return "one seed" if n == 1 else f"{n} seeds"


def machine_phrase(device: torch.device) -> str:
    """The machine a chapter runs on, as its text names it: the GPU by name ("a GPU (NVIDIA
    H200)"), or the threads torch uses and the CPU's cores ("one thread of a CPU with 2
    cores")."""
    if not isinstance(device, torch.device):
        raise TypeError(f"device must be torch.device, got {type(device).__name__}")
    if device.type == "cuda":
        return f"a GPU ({torch.cuda.get_device_name(device)})"
    if device.type != "cpu":
        raise ValueError(f"Invalid device value: {device!r} (expected a CPU or CUDA device)")
    threads, cores = torch.get_num_threads(), os.cpu_count()
    used = "one thread" if threads == 1 else f"{threads} threads"
    return f"{used} of a CPU" + ("" if cores is None else
                                 " with one core" if cores == 1 else f" with {cores} cores")
