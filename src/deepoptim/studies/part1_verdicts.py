"""The sentences of Part I's chapters that state a result, as functions of the results.

Each function maps what a chapter of Part I (the testbed, SLS, ADAMSLS and KenSLS, SaLSa,
PLASLS) measured to the words its text and claims table use, so that the text reads right
whichever way the measurement went; the generic phrases are those of
:mod:`~deepoptim.studies.verdicts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .verdicts import clear_difference, count_phrase, joined, relative_phrase, seeds_phrase

__all__ = [
    "better_than_baselines",
    "budget_sentence",
    "expectation_phrase",
    "interpolation_verdict",
    "layerwise_verdict",
    "loss_halving_verdict",
    "overhead_verdict",
    "frequency_word",
    "gru_budget_sentence",
    "paper_accuracy_verdict",
    "reproduction_verdict",
    "roundoff_verdict",
    "search_cost_phrase",
    "seed_spread_sentence",
    "small_start_sentence",
    "spatial_prior_verdict",
    "step_scale_phrase",
    "wins_summary",
]


def interpolation_verdict(linear: bool, stalls: bool) -> str:
    """What a line search did on least squares with targets every example fits (``linear``:
    a linear rate to a tiny suboptimality) and with noisy ones (``stalls``: no progress in
    the second half), as a verb phrase."""
    with_it = ("converges linearly with interpolation" if linear
               else "does not converge linearly with interpolation")
    without = "stalls without it" if stalls else "does not stall without it"
    return f"{with_it} and {without}"


def expectation_phrase(value: float, reference: float, *, expected: str, smaller: str,
                       larger: str, tolerance: float = 0.005) -> str:
    """How ``value`` compares with ``reference`` beside what the theory expects.

    ``expected`` is ``"smaller"`` or ``"larger"``; ``smaller`` and ``larger`` are the words
    for the two directions (e.g. "shorter", "longer"). "shorter, as expected", "longer,
    against the expectation", or "about the same, against the expectation" within
    ``tolerance`` (relative); NaN gives "not measured".
    """
    if expected not in ("smaller", "larger"):
        raise ValueError(f"Invalid expected value: {expected!r} (expected 'smaller' or "
                         "'larger')")
    if math.isnan(value) or math.isnan(reference):
        return "not measured"
    if abs(value - reference) <= tolerance * abs(reference):
        return "about the same, against the expectation"
    direction = "smaller" if value < reference else "larger"
    word = smaller if direction == "smaller" else larger
    return f"{word}, as expected" if direction == expected else f"{word}, against the expectation"


def wins_summary(method: str, loss_wins: int, acc_wins: int, total: int) -> str:
    """A sentence on how a method compared with the better tuned baseline per problem: the
    lower final training loss on ``loss_wins`` and at least the better test accuracy on
    ``acc_wins`` of ``total`` problems."""
    loss, acc = count_phrase(loss_wins, total), count_phrase(acc_wins, total)
    if loss_wins == acc_wins == total:
        return (f"{method} ends with the lower final training loss and at least the better "
                f"test accuracy on every problem ({loss}).")
    if loss_wins == acc_wins == 0:
        return (f"{method} matches the better tuned baseline on none of the {total} problems, "
                "neither in final training loss nor in test accuracy.")
    return (f"{method} reaches the lower final training loss on {loss} problems and at least "
            f"the better test accuracy on {acc}.")


def search_cost_phrase(forwards: Sequence[float], *, floor: float = 2.0,
                       tolerance: float = 0.25) -> str:
    """Forward passes per step of a line search beside its floor (the gradient's pass and
    one trial): "close to its floor of ..." when every value is within ``tolerance`` of it,
    otherwise how far the most expensive one lies above it."""
    if not len(forwards) or any(math.isnan(f) for f in forwards):
        raise ValueError(f"Invalid forwards value: {list(forwards)!r} (measured values)")
    worst = max(forwards)
    if worst - floor <= tolerance:
        return f"close to its floor of {floor:g} forward passes per step"
    return f"up to {worst - floor:.2f} forward passes per step above its floor of {floor:g}"


def seed_spread_sentence(method: str, std: float, n: int) -> str:
    """What the seed-to-seed spread of a method's final training loss says about differences
    between single-seed runs; with one seed the spread is unknown."""
    if n < 2:
        return (f"The comparison ran {seeds_phrase(max(n, 1))}, so the seed-to-seed spread of "
                f"{method}'s final training loss is unknown, and single-seed differences rank "
                "nothing.")
    return (f"For scale: {method}'s final training loss on the MLP has a standard deviation of "
            f"{std:.3f} over {seeds_phrase(n)}, so single-seed differences smaller than that "
            "rank nothing.")


def better_than_baselines(ratios: Mapping[str, float], reference: str) -> str:
    """How methods compared with a reference over the problems, from their geometric mean
    ratios of final training loss (:func:`~deepoptim.studies.loss_ratio`), e.g. "PLASLS ends
    12% lower than tuned Adam and ADAMSLS 3% higher"."""
    if not ratios:
        raise ValueError("Invalid ratios value: {} (give at least one method)")
    phrases = []
    for index, (name, ratio) in enumerate(ratios.items()):
        words = relative_phrase(ratio)
        if words == "the same":
            phrases.append(f"{name} ends level with {reference}")
        elif words == "not measured":
            phrases.append(f"{name} was not measured against {reference}")
        else:
            phrases.append(f"{name} ends {words} than {reference}" if index == 0
                           else f"{name} {words}")
    return joined(phrases)


def layerwise_verdict(statistics: Mapping[str, float]) -> tuple[str, str]:
    """PLASLS against ADAMSLS per problem, from Welch's statistic of the difference of their
    final training losses (PLASLS minus ADAMSLS): a sentence for the text and the verdict on
    the claim that PLASLS is no significant improvement over ADAMSLS.

    A difference beyond two standard errors is clear; a NaN statistic (one seed) cannot be
    judged. The claim agrees when no problem shows a clear improvement and at least one was
    judged, disagrees when every problem does, partly agrees otherwise, and is not tested
    when no problem could be judged.
    """
    if not statistics:
        raise ValueError("Invalid statistics value: {} (give at least one problem)")
    words = {p: clear_difference(t) for p, t in statistics.items()}
    better = [p for p, w in words.items() if w == "clearly lower"]
    worse = [p for p, w in words.items() if w == "clearly higher"]
    unknown = [p for p, w in words.items() if w == "unknown"]
    total = len(statistics)
    if len(unknown) == total:
        return ("With one seed per configuration the standard errors are unknown, so no "
                "difference between PLASLS and ADAMSLS can be judged.", "not tested (one seed)")
    parts = [f"clearly lower than ADAMSLS's on the {joined(better)}" if better else "",
             f"clearly higher on the {joined(worse)}" if worse else "",
             f"not judged on the {joined(unknown)} (one seed)" if unknown else ""]
    rest = total - len(better) - len(worse) - len(unknown)
    if rest:
        parts.append(("not clearly different from ADAMSLS's" if not (better or worse)
                      else "not clearly different")
                     + f" on {count_phrase(rest, total)} problems")
    sentence = ("Measured in standard errors over the seeds, PLASLS's final training loss is "
                + joined([part for part in parts if part]) + ".")
    verdict = ("disagrees: PLASLS is clearly better on every problem" if len(better) == total
               else f"partly: PLASLS is clearly better on the {joined(better)}" if better
               else "agrees")
    return sentence, verdict


def reproduction_verdict(statistics: Mapping[str, float]) -> str:
    """Whether our implementation reproduces a reference implementation, from Welch's
    statistic of the difference of their final training losses (ours minus theirs) per
    problem: "agrees" when no difference exceeds two standard errors, "differs on the ..."
    naming where and which way, "not tested (one seed)" when no problem can be judged."""
    if not statistics:
        raise ValueError("Invalid statistics value: {} (give at least one problem)")
    words = {p: clear_difference(t) for p, t in statistics.items()}
    if all(w == "unknown" for w in words.values()):
        return "not tested (one seed)"
    differs = [f"{p} (ours {w})" for p, w in words.items()
               if w in ("clearly lower", "clearly higher")]
    return f"differs on the {joined(differs)}" if differs else "agrees"


def overhead_verdict(whole_runs: float, settled: Sequence[str], *, limit: float = 0.05) -> str:
    """The verdict on a claimed overhead of a few percent: "agrees" when the largest extra
    compute over whole runs is at most ``limit``, "agrees once the step size settles (...)"
    when it only holds late in training on the problems ``settled``, else "disagrees"."""
    if math.isnan(whole_runs):
        return "not measured"
    if whole_runs <= limit:
        return "agrees"
    if settled:
        return (f"agrees once the step size settles (the {joined(list(settled))}); whole short "
                "runs cost more")
    return "disagrees"


def loss_halving_verdict(ratio: float) -> str:
    """A geometric-mean ratio of final training losses against the claim of about half the
    loss (a ratio of at most 0.6 agrees)."""
    if math.isnan(ratio):
        return "not measured"
    if ratio <= 0.6:
        return "agrees"
    return "partly: a smaller gain" if ratio < 1 else "disagrees: no lower loss"


def step_scale_phrase(ratios: Mapping[str, float]) -> str:
    """Accepted step sizes over a tuned schedule's mean step size, per problem, in words:
    much shorter (below 0.5), of the same order (0.5 to 2) or much longer (above 2)."""
    if not ratios or any(math.isnan(r) or r <= 0 for r in ratios.values()):
        raise ValueError(f"Invalid ratios value: {dict(ratios)!r} (positive ratios)")
    groups = {"much shorter than": [p for p, r in ratios.items() if r < 0.5],
              "of the order of": [p for p, r in ratios.items() if 0.5 <= r <= 2],
              "much longer than": [p for p, r in ratios.items() if r > 2]}
    present = {words: problems for words, problems in groups.items() if problems}
    if len(present) == 1:
        words = next(iter(present))
        return f"the accepted steps are {words} the tuned schedule's on every problem"
    return "the accepted steps are " + joined(
        [f"{words} the tuned schedule's on the {joined(problems)}"
         for words, problems in present.items()])


def small_start_sentence(method: str, small_init: float, default_init: float,
                         small_step: float, default_step: float) -> str:
    """A sentence on a line search started from a small initial step size: its median
    accepted step beside the default start's, which a slow reset should keep smaller."""
    if small_init >= default_init:
        return (f"This run tries no initial step size below {method}'s default "
                f"{default_init:g}.")
    effect = expectation_phrase(small_step, default_step, expected="smaller",
                                smaller="smaller", larger="larger")
    return (f"From an initial step size of {small_init:g}, {method}'s median accepted step is "
            f"{small_step:.2g}, against {default_step:.2g} from the default {default_init:g}: "
            f"{effect}.")


def frequency_word(share: float, *, rare: float = 0.05, common: float = 0.5) -> str:
    """How often something happened, as an adverb: "never" (0), "rarely" (below ``rare``),
    "often" (below ``common``), "mostly" (below 1) or "always" (1)."""
    if math.isnan(share) or not 0 <= share <= 1:
        raise ValueError(f"Invalid share value: {share!r} (a fraction in [0, 1])")
    if share == 0:
        return "never"
    if share == 1:
        return "always"
    return "rarely" if share < rare else "often" if share < common else "mostly"


def roundoff_verdict(error32: float, error64: float, *, accurate: float = 0.01) -> str:
    """A sentence on the median relative error of a forward-difference slope with one step in
    float32 and in float64: whether the error is round-off (accurate in float64 only)."""
    if math.isnan(error32) or math.isnan(error64):
        raise ValueError(f"Invalid error value: {(error32, error64)!r} (measured errors)")
    if error64 <= accurate < error32:
        return (f"In float64 the same step is accurate (median error {error64:.1e}): the "
                "problem is float32 round-off, not the method.")
    if error64 <= accurate and error32 <= accurate:
        return (f"The step is accurate in both precisions here (median errors {error32:.1e} "
                f"in float32, {error64:.1e} in float64).")
    return (f"Even in float64 the step is off by a median {error64:.1e}, so round-off is not "
            "the only error here.")


def spatial_prior_verdict(drops: Mapping[str, float], spatial: Sequence[str],
                          dense: Sequence[str], *, large: float = 0.10,
                          small: float = 0.05) -> bool:
    """Whether shuffling the inputs costs only the models with a spatial prior: every model
    of ``spatial`` loses more than ``large`` of accuracy and every model of ``dense``
    changes by less than ``small``. A NaN drop (a model not run) fails the test."""
    missing = [m for m in (*spatial, *dense) if m not in drops]
    if missing or not spatial or not dense:
        raise ValueError(f"Invalid drops value: {dict(drops)!r} (a drop for every model of "
                         f"{list(spatial)} and {list(dense)})")
    return (all(drops[m] > large for m in spatial)
            and all(abs(drops[m]) < small for m in dense))


def paper_accuracy_verdict(ours: float, published: float, *, tolerance: float = 0.03) -> str:
    """Our accuracy against a published one: "agrees" within ``tolerance`` (3 points by
    default), else "disagrees" and by how many points ours is higher or lower; NaN gives
    "not run"."""
    if math.isnan(ours):
        return "not run"
    gap = ours - published
    if abs(gap) <= tolerance:
        return "agrees"
    return f"disagrees: {100 * abs(gap):.1f} points {'higher' if gap > 0 else 'lower'}"


def gru_budget_sentence(profile: str, *, steps_gru: int, steps_main: int, gru_seeds: int,
                        main_seeds: int, gru_optimizers: Sequence[str],
                        main_optimizers: Sequence[str], cost_ratio: float) -> str:
    """The testbed's budget for the GRU against the other models' (steps, seeds,
    optimizers), with its measured cost per step relative to the CNN's."""
    cost = ("" if math.isnan(cost_ratio) else
            f" the GRU costs {cost_ratio:.1f} times as much per step as the CNN, and")
    cuts = []
    if steps_gru != steps_main:
        cuts.append(f"{steps_gru} steps instead of {steps_main}")
    if gru_seeds != main_seeds:
        cuts.append(f"{seeds_phrase(gru_seeds)} instead of {main_seeds}")
    if list(gru_optimizers) != list(main_optimizers):
        cuts.append(f"{joined(list(gru_optimizers))} only")
    if not cuts:
        return (f"In this run (the {profile} profile){cost} it trains with the budget of the "
                "other models.")
    return f"In this run (the {profile} profile){cost} it trains for {joined(cuts)}."


def budget_sentence(steps: int, paper_steps: int, full_seeds: int) -> str:
    """Whether this run's training budget can explain gaps to a paper that trained for
    ``paper_steps``."""
    if steps < paper_steps:
        return (f"This run trains for {steps} of the paper's {paper_steps} steps, the likeliest "
                "source of the remaining gaps to the paper; the `full` profile uses the "
                f"paper's {paper_steps} steps and {seeds_phrase(full_seeds)} and tests that "
                "explanation.")
    return (f"This run trains for the paper's {paper_steps} steps, so the remaining gaps to "
            "the paper are not a matter of the budget.")

