r"""The sentences of Part V's chapters that state a result, as functions of the results.

Each function maps what a chapter of Part V (preconditioned optimizers) measured to the words
its text and its claims table use, covering both directions, ties and a missing value (NaN).
The criterion is stated in each docstring and, beside the result, in the chapter. The generic
phrases are those of :mod:`~deepoptim.studies.verdicts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .verdicts import clear_difference, holds_verdict, joined, share_verdict

__all__ = [
    "damped_share_phrase",
    "not_worse_verdict",
    "row_sum_verdict",
    "step_cost_verdict",
    "turn_phrase",
    "versus_baselines",
]

#: The verdict on a claim whose measurement is missing (NaN).
_NOT_MEASURED = "not measured"


def _check_better(better: str) -> None:
    if better not in ("lower", "higher"):
        raise ValueError(f"Invalid better value: {better!r} (expected 'lower' or 'higher')")


def row_sum_verdict(errors: Sequence[float], *, tolerance: float = 0.05) -> tuple[str, str]:
    r"""The claim "one Hessian-vector product with :math:`\mathbf 1` gives the diagonal of a
    channel-wise block", from the relative errors :math:`\|H\mathbf 1 - \operatorname{diag}
    H\| / \|\operatorname{diag} H\|` of the blocks measured.

    A block agrees when its error is at most ``tolerance``. Returns a predicate for the text
    ("are the diagonal to within 5% for every block", "... for 1 of 4 blocks", "miss the
    diagonal by 40% to 150% of its size") and the claims table's verdict (:func:`share_verdict`;
    "not measured" when an error is NaN or there is none).
    """
    if tolerance <= 0:
        raise ValueError(f"Invalid tolerance value: {tolerance!r} (a positive number)")
    errors = [float(error) for error in errors]
    if not errors or any(math.isnan(error) for error in errors):
        return "were not measured", _NOT_MEASURED
    hits = sum(error <= tolerance for error in errors)
    verdict = share_verdict(hits, len(errors))
    if hits == len(errors):
        return f"are the diagonal to within {tolerance:.0%} for every block", verdict
    if hits:
        return (f"are the diagonal to within {tolerance:.0%} for {hits} of {len(errors)} "
                "blocks only", verdict)
    low, high = min(errors), max(errors)
    size = f"{low:.0%}" if f"{low:.0%}" == f"{high:.0%}" else f"{low:.0%} to {high:.0%}"
    return f"miss the diagonal by {size} of its size", verdict


def versus_baselines(method: str, statistics: Mapping[str, float], *, better: str = "lower"
                     ) -> tuple[str, str]:
    """How ``method`` compares with each baseline on one metric, from Welch's statistic of
    (method - baseline) per baseline (:func:`~deepoptim.studies.standardized_difference`).

    ``better`` is ``"lower"`` (a loss) or ``"higher"`` (an accuracy). A baseline is beaten
    when the difference is clearly better (beyond two standard errors,
    :func:`clear_difference`). Returns a predicate ("is clearly lower than SGD's and not
    clearly different from AdamW's") and the verdict on "``method`` beats the baselines":
    :func:`share_verdict` of the baselines beaten, "not measured" if no statistic is known.
    """
    _check_better(better)
    if not statistics:
        raise ValueError("Invalid statistics value: {} (give at least one baseline)")
    parts, hits = [], 0
    for name, statistic in statistics.items():
        words = clear_difference(statistic)
        if words == "unknown":
            parts.append(f"of unknown difference from {name}'s")
        elif words == "not clearly different":
            parts.append(f"not clearly different from {name}'s")
        else:
            parts.append(f"{words} than {name}'s")
        hits += words == f"clearly {better}"
    known = [s for s in statistics.values() if not math.isnan(s)]
    verdict = share_verdict(hits, len(statistics)) if known else _NOT_MEASURED
    return f"{method}'s is {joined(parts)}", verdict


def not_worse_verdict(statistic: float, *, better: str = "higher") -> str:
    """The verdict on "a method is at least as good as a baseline", from Welch's statistic of
    (method - baseline): "agrees" unless the method is clearly worse (beyond two standard
    errors the wrong way, :func:`clear_difference`), "not measured" for NaN."""
    _check_better(better)
    words = clear_difference(statistic)
    if words == "unknown":
        return _NOT_MEASURED
    worse = "clearly lower" if better == "higher" else "clearly higher"
    return holds_verdict(words != worse)


def step_cost_verdict(low: float, high: float, *, limit: float = 1.25,
                      reference: str = "AdamW", cases: str = "seeds") -> tuple[str, str]:
    """The claim "a method's extra cost per step is small", from the range ``[low, high]`` of
    its time per step over ``reference``'s, one ratio per repeat (``cases``, in the plural:
    "seeds", "blocks of rounds").

    Small means at most ``limit`` times the reference's time. Returns a predicate for the
    text ("stays within the 1.25× of AdamW's we call small in all seeds", "exceeds ... in
    all seeds", "exceeds ... in some seeds only") and the verdict: "agrees" when ``high`` is
    within the limit, "disagrees" when ``low`` exceeds it, "partly" in between, "not
    measured" for NaN.
    """
    if limit <= 1:
        raise ValueError(f"Invalid limit value: {limit!r} (a ratio above 1)")
    if math.isnan(low) or math.isnan(high):
        return "was not measured", _NOT_MEASURED
    if low > high:
        raise ValueError(f"Invalid low value: {low!r} (at most high = {high!r})")
    allowance = f"the {limit:g}× of {reference}'s we call small"
    if high <= limit:
        return f"stays within {allowance} in all {cases}", "agrees"
    if low > limit:
        return f"exceeds {allowance} in all {cases}", "disagrees"
    return f"exceeds {allowance} in some {cases} only", "partly"


def turn_phrase(low: float, high: float, reference: str, *, close: float = 0.9,
                far: float = 0.5) -> str:
    """Where a preconditioned direction lies against a plain one (``reference``, e.g. "the
    momentum"), from the range ``[low, high]`` of the cosines between them (over layers and
    steps), as a predicate.

    Every cosine at least ``close``: "stays close to the momentum"; every cosine below
    ``far``: "lies far from the momentum"; otherwise "lies at varying angles to the
    momentum". The range follows in parentheses; "was not measured" for NaN.
    """
    if not -1 <= far < close <= 1:
        raise ValueError(f"Invalid far value: {far!r} (expected -1 <= far < close = "
                         f"{close!r} <= 1)")
    if math.isnan(low) or math.isnan(high):
        return "was not measured"
    if low > high:
        raise ValueError(f"Invalid low value: {low!r} (at most high = {high!r})")
    span = f"cosine {low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else (
        f"cosines {low:.2f} to {high:.2f}")
    words = ("stays close to" if low >= close else "lies far from" if high < far
             else "lies at varying angles to")
    return f"{words} {reference} ({span})"


def damped_share_phrase(share: float) -> str:
    """The share of a factor's eigenvalues below its damping, in words: "none of the
    eigenvalues lies below the damping", "all of them lie below it" (never for a non-zero
    factor, whose largest eigenvalue is above), "12% of the eigenvalues lie below the
    damping"; "not measured" for NaN."""
    if math.isnan(share):
        return "not measured"
    if not 0 <= share <= 1:
        raise ValueError(f"Invalid share value: {share!r} (a share in [0, 1])")
    if share == 0:
        return "none of the eigenvalues lies below the damping"
    if share == 1:
        return "every eigenvalue lies below the damping"
    percent = "under 1%" if share < 0.005 else "over 99%" if share > 0.995 else f"{share:.0%}"
    return f"{percent} of the eigenvalues lie below the damping"
