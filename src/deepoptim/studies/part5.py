r"""The sentences of Part V's chapters that state a result, as functions of the results.

Each function maps what a chapter of Part V (preconditioned optimizers) measured to the words
its text and its claims table use, covering both directions, ties and a missing value (NaN).
The criterion is stated in each docstring and, beside the result, in the chapter. The generic
phrases are those of :mod:`~deepoptim.studies.verdicts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .._checks import check_int_at_least, check_positive
from .verdicts import clear_difference, holds_verdict, joined, share_verdict, speed_verdict

__all__ = [
    "agreement_phrase",
    "basis_gain_verdict",
    "basis_share_phrase",
    "damped_share_phrase",
    "not_worse_verdict",
    "row_sum_verdict",
    "sizes_speed_verdict",
    "squaring_verdict",
    "step_cost_verdict",
    "turn_phrase",
    "updates_phrase",
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


# --- Chapter 31 (NKFAC) ---------------------------------------------------------------------


def squaring_verdict(ratios: Sequence[float], *, tolerance: float = 1e-3) -> tuple[str, str]:
    r"""The claim "each Newton-Schulz step squares the residual", from the measured ratios
    :math:`\rho(E_{k+1}) / \rho(E_k)^2` of successive iterations (:math:`E_k = I - B_k A`,
    :math:`\rho` the spectral radius).

    An iteration agrees when its ratio is within ``tolerance`` of 1. Returns a predicate for
    the text ("squares the residual at every one of the 12 iterations measured", "... at 3 of
    12 iterations") and the verdict (:func:`share_verdict`; "not measured" when a ratio is
    NaN or there is none).
    """
    if tolerance <= 0:
        raise ValueError(f"Invalid tolerance value: {tolerance!r} (a positive number)")
    ratios = [float(ratio) for ratio in ratios]
    if not ratios or any(math.isnan(ratio) for ratio in ratios):
        return "was not measured", _NOT_MEASURED
    hits = sum(abs(ratio - 1) <= tolerance for ratio in ratios)
    verdict = share_verdict(hits, len(ratios))
    noun = "iteration" if len(ratios) == 1 else "iterations"
    if hits == len(ratios):
        every = "the one iteration" if len(ratios) == 1 else f"every one of the {len(ratios)} "
        return (f"squares the residual at {every}{'' if len(ratios) == 1 else noun} measured",
                verdict)
    if hits:
        return f"squares the residual at {hits} of {len(ratios)} {noun} only", verdict
    return f"squares the residual at none of the {len(ratios)} {noun}", verdict


def sizes_speed_verdict(speedups: Mapping[int, tuple[float, float]], *, margin: float = 0.05
                        ) -> tuple[str, str]:
    """The claim "NKFAC's inverse refresh is cheaper than KFAC's", from the range
    ``(low, high)`` of the speed-ups (KFAC's time over NKFAC's, over repeats) at each factor
    size.

    A size agrees when it is clearly faster (:func:`speed_verdict`). Returns a predicate ("is
    faster at every size", "is faster at sizes 128 and 256 and slower at 32", "is neither
    clearly faster nor slower at any size") and :func:`share_verdict` of the sizes where it
    is faster ("not measured" when a range is NaN or there is none).
    """
    if not speedups:
        return "was not measured", _NOT_MEASURED
    words = {size: speed_verdict(*bounds, margin=margin) for size, bounds in speedups.items()}
    if "not measured" in words.values():
        return "was not measured", _NOT_MEASURED
    faster = [str(size) for size, word in words.items() if word == "faster"]
    slower = [str(size) for size, word in words.items() if word == "slower"]
    verdict = share_verdict(len(faster), len(words))
    if len(faster) == len(words):
        return "is faster at every size", verdict
    if len(slower) == len(words):
        return "is slower at every size", verdict
    parts = []
    if faster:
        parts.append(f"faster at {'size' if len(faster) == 1 else 'sizes'} {joined(faster)}")
    if slower:
        parts.append(f"slower at {'size' if len(slower) == 1 else 'sizes'} {joined(slower)}")
    if not parts:
        return "is neither clearly faster nor slower at any size", verdict
    rest = len(words) - len(faster) - len(slower)
    if rest:
        parts.append(f"neither at the {'other' if rest == 1 else f'{rest} others'}")
    return f"is {joined(parts)}", verdict


def updates_phrase(count: int, total: int) -> str:
    """How often an event (an unsafe warm start, an exact replacement) concerned NKFAC's
    inverse updates, out of ``total`` updates after the exact warm-up: "never (0 of 40
    updates)", "for 12 of 40 updates (30%)", "for every one of the 40 updates"; "not
    measured" when there was no update."""
    check_int_at_least("count", count, 0)
    check_int_at_least("total", total, 0)
    if count > total:
        raise ValueError(f"Invalid count value: {count!r} (at most total = {total})")
    if total == 0:
        return "not measured (no update after the exact warm-up)"
    noun = "update" if total == 1 else "updates"
    if count == 0:
        return f"never (0 of {total} {noun})"
    if count == total:
        return "for the one update" if total == 1 else f"for every one of the {total} updates"
    return f"for {count} of {total} {noun} ({count / total:.0%})"


# ----------------------------------------------------------------- chapter 32 (AdamR)


def agreement_phrase(difference: float, *, tolerance: float = 1e-6) -> str:
    """Two computations that should give the same numbers, from the largest absolute
    difference between them: "agree exactly" (0), "agree to rounding (largest difference
    3e-16)" (at most ``tolerance``), "differ (largest difference 0.02)" beyond it, and "were
    not compared" for NaN."""
    check_positive("tolerance", tolerance)
    if math.isnan(difference):
        return "were not compared"
    if difference < 0:
        raise ValueError(f"Invalid difference value: {difference!r} (an absolute difference)")
    if difference == 0:
        return "agree exactly"
    if difference <= tolerance:
        return f"agree to rounding (largest difference {difference:.0e})"
    return f"differ (largest difference {difference:.2g})"


def basis_gain_verdict(ratio: float, *, tolerance: float = 0.05) -> str:
    r"""The claim "rotating a diagonal method into the gradients' eigenbasis lowers its regret
    bound", from the ratio of the bound's term :math:`\sum_i \lVert g_{1:T,i}\rVert` in the
    coordinate basis to its value in the eigenbasis, :math:`\operatorname{tr}(S^{1/2})`.

    The ratio is at least 1 (Schur-Horn); the claim "agrees" when it exceeds
    ``1 + tolerance`` and "disagrees" when the coordinates are already (nearly) an
    eigenbasis; "not measured" for NaN."""
    check_positive("tolerance", tolerance)
    if math.isnan(ratio):
        return _NOT_MEASURED
    if ratio <= 0:
        raise ValueError(f"Invalid ratio value: {ratio!r} (a ratio of two positive terms)")
    return holds_verdict(ratio > 1 + tolerance)


def basis_share_phrase(coordinates: float, basis: float, best: float) -> str:
    r"""Where a basis's regret term ``basis`` lies between the coordinate basis's
    (``coordinates``) and the smallest possible, the eigenbasis's ``best``
    (:math:`\operatorname{tr}(S^{1/2})`): "closes 85% of the gap between the coordinate
    basis and the eigenbasis", "is no better than the coordinate basis" (no gain, or a
    loss), "is the eigenbasis" (closes all of it, to 0.5%); "was not measured" for NaN, and
    "leaves nothing to close" when the coordinate basis is already the best."""
    values = (coordinates, basis, best)
    if any(math.isnan(value) for value in values):
        return "was not measured"
    if min(values) <= 0 or best > min(coordinates, basis) * (1 + 1e-9):
        raise ValueError(f"Invalid terms: {values!r} (positive, with best the smallest)")
    gap = coordinates - best
    if gap <= 1e-12 * coordinates:
        return "leaves nothing to close (the coordinate basis is already an eigenbasis)"
    share = (coordinates - basis) / gap
    if share <= 0.005:
        return "is no better than the coordinate basis"
    if share >= 0.995:
        return "is the eigenbasis (it closes the whole gap)"
    return f"closes {share:.0%} of the gap between the coordinate basis and the eigenbasis"


def step_cost_verdict(ratios: Sequence[float], *, limit: float = 1.25,
                      reference: str = "AdamW", cases: str = "seeds") -> tuple[str, str]:
    """The claim "a method's extra cost per step is small", from the ratios of its time per
    step to ``reference``'s, one per repeat (``cases``, in the plural: "seeds", "blocks of
    rounds").

    Small means at most ``limit`` times the reference's time. Returns a phrase ("1.05 to 1.20
    times AdamW's, within the 1.25× we call small in all seeds"; "beyond ... in all seeds";
    "beyond ... in some seeds only") and the verdict: :func:`share_verdict` of the repeats
    within the limit, "not measured" for no ratio or a NaN.
    """
    if limit <= 1:
        raise ValueError(f"Invalid limit value: {limit!r} (a ratio above 1)")
    ratios = [float(ratio) for ratio in ratios]
    if not ratios or any(math.isnan(ratio) for ratio in ratios):
        return "not measured", _NOT_MEASURED
    low, high = min(ratios), max(ratios)
    span = f"{low:.2f}" if f"{low:.2f}" == f"{high:.2f}" else f"{low:.2f} to {high:.2f}"
    hits = sum(ratio <= limit for ratio in ratios)
    where = ("within" if hits == len(ratios) else "beyond") + f" the {limit:g}× we call small"
    scope = f"in some {cases} only" if 0 < hits < len(ratios) else f"in all {cases}"
    return f"{span} times {reference}'s, {where} {scope}", share_verdict(hits, len(ratios))


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
