r"""The sentences of Part III's chapters that state a result, as functions of the results.

Each function maps what a chapter of Part III (Hessian spectra, loss landscapes, ProxSGD,
group sparsity) measured to the words its text and its claims table use, so that the text reads
right whichever way the measurement went: both directions, a tie within the stated tolerance,
a count of none and a missing value (NaN: a run the profile skips, or a quantity that could
not be formed) each have their own wording. Each criterion is stated in the function's
docstring and, beside the result, in the chapter. The generic phrases (counts, verdicts,
spreads) are those of :mod:`~deepoptim.studies.verdicts`; the functions follow the chapters'
order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .._checks import check_int_at_least
from .verdicts import count_phrase, every_phrase, holds_verdict, joined, share_verdict

__all__ = [
    "anisotropy_verdict",
    "batched_products_sentence",
    "binarised_weights_phrase",
    "early_share_phrase",
    "eos_phrase",
    "exact_match_verdict",
    "flatness_phrase",
    "flops_speed_phrase",
    "growth_phrase",
    "larger_step_phrase",
    "loss_rises_sentence",
    "matched_sparsity_sentence",
    "nas_random_phrase",
    "nas_supernet_phrase",
    "orthogonality_phrase",
    "outlier_gap_phrase",
    "penalty_effect_phrase",
    "products_phrase",
    "proximal_gap_phrase",
    "quadratic_model_phrase",
    "random_cosine_phrase",
    "smooth_convergence_phrase",
    "sparsity_claim",
    "spectrum_shape",
    "trace_estimators_phrase",
    "weight_spike_phrase",
]

#: The verdict on a claim whose measurement is missing (a run the profile skips, or NaN).
_NOT_MEASURED = "not measured"


def _missing(*values: float) -> bool:
    return any(value is None or math.isnan(value) for value in values)


# ---------------------------------------------------------------------------------------------
# Hessian spectra
# ---------------------------------------------------------------------------------------------

def exact_match_verdict(density_distance: float, top_error: float, *,
                        density_limit: float = 0.01, top_limit: float = 1e-6) -> str:
    """The verdict on "stochastic Lanczos quadrature gives the spectrum" against a dense
    Hessian: the Wasserstein distance of the quadrature measure from the exact eigenvalues, in
    units of the spectral range, at most ``density_limit``, and the relative error of the top
    eigenvalues at most ``top_limit``: "agrees" (both), "partly" (one), "disagrees" (none)."""
    if _missing(density_distance, top_error):
        return _NOT_MEASURED
    return share_verdict(int(density_distance <= density_limit) + int(top_error <= top_limit),
                         2)


def spectrum_shape(eigenvalues: Sequence[float] | np.ndarray, *, bulk: float = 0.01,
                   outlier: float = 0.1, handful: int = 20) -> tuple[float, int, str]:
    r"""The shape of a spectrum against the picture of trained networks (a bulk near zero and
    a few outliers far above it).

    Returns the share of eigenvalues with :math:`|\lambda| \le` ``bulk`` :math:`\cdot
    \lambda_{\max}`, the number above ``outlier`` :math:`\cdot \lambda_{\max}`, and a phrase:
    the spectrum "has the shape reported for trained networks" when at least 90% lie in the
    bulk and between one and ``handful`` are outliers; otherwise "does not have ...".
    """
    values = np.asarray(eigenvalues, dtype=float)
    if values.size == 0 or np.isnan(values).any():
        raise ValueError(f"Invalid eigenvalues value: {values!r} (finite values, at least one)")
    top = values.max()
    if top <= 0:
        return 0.0, 0, "has no positive eigenvalue, unlike the spectra of trained networks"
    share = float((np.abs(values) <= bulk * top).mean())
    outliers = int((values > outlier * top).sum())
    shaped = share >= 0.9 and 1 <= outliers <= handful
    words = "has" if shaped else "does not have"
    return share, outliers, f"{words} the shape reported for trained networks"


def trace_estimators_phrase(hutchinson_error: float, hutchpp_error: float) -> str:
    """Hutchinson's and Hutch++'s mean trace errors at the same budget, in words: Hutch++
    "clearly the more accurate" below 0.8 of Hutchinson's error, Hutchinson's above 1.25 of
    it, "about equally accurate" in between."""
    if _missing(hutchinson_error, hutchpp_error):
        return "the two trace errors were not measured"
    if hutchpp_error < 0.8 * hutchinson_error:
        return ("Hutch++ is clearly the more accurate, as expected when a few outliers carry "
                "much of the trace and its sketch takes them out of the random part")
    if hutchpp_error <= 1.25 * hutchinson_error:
        return "at this budget the two are about equally accurate"
    return "Hutchinson's is the more accurate in this run"


def products_phrase(count: int, budget: int) -> str:
    """Products needed to reach a tolerance: "12", or "more than 400" where ``count`` is -1
    (the budget ran out first)."""
    check_int_at_least("budget", budget, 1)
    if count == -1:
        return f"more than {budget}"
    check_int_at_least("count", count, 0)
    return str(count)


def orthogonality_phrase(largest_entry: float) -> str:
    r"""A Lanczos basis (in float64) by the largest entry of :math:`|Q^\top Q - I|`: "far
    from orthogonal" (at least 0.1), "measurably not orthogonal" (at least
    :math:`10^{-12}`), "orthogonal to rounding" below."""
    if _missing(largest_entry):
        return "of unmeasured orthogonality"
    if largest_entry >= 0.1:
        return "far from orthogonal"
    return "measurably not orthogonal" if largest_entry >= 1e-12 else "orthogonal to rounding"


def larger_step_phrase(sharpness_small: float, sharpness_large: float, *,
                       tolerance: float = 0.05) -> tuple[str, str]:
    r"""How the larger of two step sizes ends against the smaller, by the final
    :math:`\lambda_{\max}`: ("flatter" | "sharper" | "about as sharp", and how that compares
    with the stability limit :math:`2/\eta`, which predicts a flatter end). Within
    ``tolerance`` (relative) the two count as equal."""
    if _missing(sharpness_small, sharpness_large):
        return _NOT_MEASURED, "which leaves the stability limit's prediction untested"
    if abs(sharpness_large - sharpness_small) <= tolerance * abs(sharpness_small):
        return "about as sharp", "although the stability limit of a larger step suggests flatter"
    if sharpness_large < sharpness_small:
        return "flatter", "as the stability limit of a larger step suggests"
    return "sharper", "against what the stability limit of a larger step suggests"


def growth_phrase(starts: Sequence[float], ends: Sequence[float]) -> str:
    r"""How :math:`\lambda_{\max}` changed from the start to the end of several runs:
    "grows in every run, by a factor between 2.1 and 9.3", "grows in 1 of 4 runs" or "grows in
    none of the 4 runs"."""
    if len(starts) != len(ends) or not starts:
        raise ValueError(f"Invalid ends value: {len(ends)} values for {len(starts)} starts "
                         "(one per run, at least one)")
    factors = [end / start for start, end in zip(starts, ends, strict=True)
               if not _missing(start, end) and start > 0]
    if len(factors) < len(starts):
        return _NOT_MEASURED
    grows = sum(factor > 1 for factor in factors)
    phrase = every_phrase("grows", grows, len(factors))
    if grows == len(factors):
        phrase += f", by a factor between {min(factors):.1f} and {max(factors):.1f}"
    return phrase


def outlier_gap_phrase(gap_after: int, classes: int) -> str:
    """Where the largest ratio of successive top eigenvalues falls, against the picture in
    which a network for ``classes`` classes has ``classes - 1`` or ``classes`` outliers."""
    check_int_at_least("gap_after", gap_after, 1)
    check_int_at_least("classes", classes, 2)
    if gap_after in (classes - 1, classes):
        return f"as in that picture ({classes - 1} or {classes} outliers)"
    return f"not at the {classes - 1} or {classes} outliers of that picture"


def eos_phrase(first_step: int, median_ratio: float, largest_ratio: float, steps: int) -> str:
    r"""One run of full-batch gradient descent against the edge of stability, in plain text
    (glued text is not parsed for math): where
    :math:`\lambda_{\max}` first reaches :math:`0.9 \cdot 2/\eta` (``first_step``, -1 if never
    within ``steps``) and the median of :math:`\lambda_{\max} / (2/\eta)` from then on."""
    check_int_at_least("steps", steps, 1)
    if first_step == -1:
        peak = "" if _missing(largest_ratio) else f", at most {largest_ratio:.2f} times 2/η"
        return f"does not reach 0.9 · 2/η within {steps} steps{peak}"
    check_int_at_least("first_step", first_step, 0)
    return (f"reaches 0.9 · 2/η at step {first_step} and then sits at a median of "
            f"{median_ratio:.2f} times 2/η")


def loss_rises_sentence(rises: int, intervals: int, after_overshoot: int, step_size: float
                        ) -> str:
    r"""How often the full-batch loss rose between successive records (``rises`` of
    ``intervals``), and how many of those rises followed a record with :math:`\lambda_{\max}`
    above :math:`2/\eta` (``after_overshoot``), as a sentence."""
    rises_text = count_phrase(rises, intervals)
    if rises == 0:
        return (f"With η = {step_size:g} the loss falls between every pair of successive "
                "records.")
    return (f"With η = {step_size:g} the loss rises between {rises_text} pairs of successive "
            f"records, {count_phrase(after_overshoot, rises)} of them after a record with "
            "λmax above 2/η: it is not monotonic.")


def batched_products_sentence(device_type: str) -> str:
    """How the Hessian-vector products of a batch of chains run on the device of this run,
    and what that means for running chains side by side."""
    if device_type == "cuda":
        return ("On this run's GPU the products of a batch are one vectorised pass "
                "(vectorize=True, the default there), so chains side by side share the "
                "kernels as well as the graph.")
    if device_type != "cpu":
        raise ValueError(f"Invalid device_type value: {device_type!r} (expected 'cpu' or "
                         "'cuda')")
    return ("On a CPU, as in this run, the products of a batch are a loop of backward passes "
            "(vectorize=False, the library's default there), so with a cached graph chains "
            "side by side share only the loop's overhead; on a GPU the products of a batch "
            "are one vectorised pass, which is where batching chains is expected to pay most.")


# ---------------------------------------------------------------------------------------------
# Loss landscapes
# ---------------------------------------------------------------------------------------------

def quadratic_model_phrase(factor: float) -> str:
    """The quadratic model's predicted rise over the measured one at the edge of an
    eigen-plane: a sentence. Within 20% (either way) the model holds across the box."""
    if _missing(factor):
        return "The quadratic model could not be checked here."
    if factor <= 0:
        return ("The loss does not rise along v₁ at the edge of the box: the quadratic "
                "model fails there.")
    if abs(math.log(factor)) < math.log(1.2):
        return "The quadratic model holds across the box."
    return ("The second-order model is off by that factor at the edge of the box: the "
            "eigenvalues describe the loss only close to the centre.")


def random_cosine_phrase(cosine: float, dimension: int, *, factor: float = 3.0) -> str:
    r"""A random direction's cosine with the top eigenvector against the
    :math:`1/\sqrt{n}` typical of a direction drawn at random: what the curvature of a
    random plane then shows. Up to ``factor`` times the typical value counts as typical."""
    check_int_at_least("dimension", dimension, 1)
    if _missing(cosine):
        return _NOT_MEASURED
    if abs(cosine) <= factor / math.sqrt(dimension):
        return ("as small as that of a direction drawn at random, so the curvature a random "
                "plane shows is a weighted average over the whole spectrum, not that of the "
                "sharpest directions")
    return ("well above that of a direction drawn at random: this random direction leans "
            "towards v₁, and its plane shows more of the sharpest curvature than a typical "
            "one")


def smooth_convergence_phrase(order: float, *, smooth: float = 1.5) -> str:
    """A second difference's observed order of convergence to the eigenvalue: "converges at
    the rate of a smooth function" from order ``smooth`` up (the rate is 2 for a smooth
    function), "does not converge ..." below."""
    if _missing(order):
        return "could not be measured"
    return ("converges at the rate of a smooth function" if order >= smooth
            else "does not converge at the rate of a smooth function")


def early_share_phrase(shares: Mapping[str, float], *, dominant: float = 0.5) -> str:
    """Whether the first quarter of each path carries most of its squared distance from the
    end point (above ``dominant``): "so the first stretch of training dominates them", or for
    which paths it does."""
    if not shares or _missing(*shares.values()):
        return "so their weighting could not be measured"
    dominated = [name for name, share in shares.items() if share > dominant]
    if len(dominated) == len(shares):
        return "so the first stretch of training dominates them"
    if not dominated:
        return "but here the first stretch of training does not dominate them"
    return f"so the first stretch of training dominates them for {joined(dominated)}"


def flatness_phrase(rank: float, points: int, *, clear: float = 0.5) -> str:
    """The rank correlation between the training loss of minima and their top Ritz value, in
    words: flatter minima fit the subset more closely (correlation at least ``clear``), less
    closely (at most ``-clear``), or neither; fewer than three minima cannot be ranked."""
    check_int_at_least("points", points, 1)
    if points < 3:
        return f"{points} minima are too few to rank"
    if _missing(rank) or abs(rank) < clear:
        return "the flatness of a minimum does not follow how closely it fits the subset"
    if rank < 0:
        return "the flatter minima are the ones that fit the subset less closely"
    return ("the flatter minima are the ones that fit the subset more closely. This is what "
            "the cross-entropy predicts: its Hessian is weighted by p(1 - p) over the model's "
            "class probabilities p and vanishes as the predictions on the subset become "
            "certain, so the sharpness of a minimum says as much about how far training went "
            "as about its shape")


def anisotropy_verdict(eigen_ratio: float, random_ratio: float, *, factor: float = 2.0) -> str:
    """The verdict on "eigenvector planes show second-order structure that random planes
    hide", by the ratio of the loss changes along a plane's two directions (its size: a fall
    along a negative-curvature direction is structure too): "agrees" when the eigen-plane's
    ratio is at least ``factor`` times the random plane's, either way round."""
    if _missing(eigen_ratio, random_ratio) or eigen_ratio == 0 or random_ratio == 0:
        return _NOT_MEASURED
    eigen, random = abs(eigen_ratio), abs(random_ratio)
    return holds_verdict(max(eigen, 1 / eigen) >= factor * max(random, 1 / random))


# ---------------------------------------------------------------------------------------------
# ProxSGD
# ---------------------------------------------------------------------------------------------

def matched_sparsity_sentence(prox: float, prox_hat: float, adam: float, tolerance: float,
                              *, tie: float = 0.01) -> str:
    r"""ProxSGD's and Adam's largest shares of sparse weights among the :math:`\ell_1` runs
    within ``tolerance`` of the better unregularised accuracy (NaN: no such run), with the
    share of exact zeros in ProxSGD's proximal point, as sentences; within ``tie`` the two
    count as equally sparse."""
    among = (f"Among the ℓ1 runs whose accuracy stays within {tolerance:.0%} of the "
             "better of the two")
    if _missing(prox, adam):
        missing = joined([name for name, value in (("ProxSGD", prox), ("Adam", adam))
                          if _missing(value)])
        return f"{among}, there is none of {missing}, so the two are not compared there."
    if abs(prox - adam) <= tie:
        comparison = "the two are about equally sparse at matched accuracy"
    else:
        comparison = f"{'ProxSGD' if prox > adam else 'Adam'} is the sparser at matched accuracy"
    return (f"{among}, ProxSGD makes at most {prox:.1%} of the weights smaller than "
            f"10⁻⁴ (and its proximal point has {prox_hat:.1%} exact zeros), Adam with the "
            f"subgradient at most {adam:.1%}: {comparison}.")


def sparsity_claim(prox: float, adam: float, tolerance: float, *, margin: float = 0.05
                   ) -> tuple[str, str, str]:
    """The claim "ProxSGD trains much sparser networks than Adam with the penalty's subgradient,
    at comparable accuracy", from each method's largest share of weights below the threshold
    among its runs within ``tolerance`` of the unregularised accuracy (NaN: no such run).

    Returns the claim's predicate ("holds" when ProxSGD's share is more than ``margin``
    above Adam's, "is not reproduced", or "cannot be tested"), the numbers as a phrase, and
    the verdict for a claims table."""
    if _missing(prox, adam):
        missing = joined([name for name, value in (("ProxSGD", prox), ("Adam", adam))
                          if _missing(value)])
        return ("cannot be tested", f"no ℓ1 run of {missing} stays within {tolerance:.0%} of "
                "the unregularised accuracy", _NOT_MEASURED)
    holds = prox > adam + margin
    return ("holds" if holds else "is not reproduced",
            f"{prox:.1%} of its weights below 10⁻⁴ against Adam's {adam:.1%}, within "
            f"{tolerance:.0%} of the unregularised accuracy", holds_verdict(holds))


def penalty_effect_phrase(with_penalty: float, without_penalty: float, *,
                          tolerance: float = 0.01) -> str:
    """What a penalty did to an accuracy: "raises", "lowers" (by more than ``tolerance``)
    or "does not clearly change"."""
    if _missing(with_penalty, without_penalty):
        return "was not measured on"
    difference = with_penalty - without_penalty
    if abs(difference) <= tolerance:
        return "does not clearly change"
    return "raises" if difference > 0 else "lowers"


def proximal_gap_phrase(threshold_share: float, prox_share: float, *,
                        gap: float = 0.05) -> str:
    """ProxSGD's share of weights below the threshold against the share of exact zeros in its
    proximal point: when the zeros exceed it by more than ``gap``, the iterate has not yet
    followed its proximal point down to the threshold and the two measures disagree."""
    if _missing(threshold_share, prox_share):
        return "the two measures of sparsity were not both measured"
    if prox_share > threshold_share + gap:
        return ("the iterate has not yet followed its proximal point down to the threshold, "
                "so sparsity by threshold and sparsity of x̂ disagree")
    return "the iterate has followed its proximal point, and the two measures of sparsity agree"


def binarised_weights_phrase(near: float, near_without: float, *, most: float = 0.5,
                             tie: float = 0.01) -> str:
    """Where a binarisation penalty left the weights, from the shares with :math:`|w| > 0.9`
    with the penalty (``near``) and without it: "cluster at ±1" (more than ``most``), "move
    towards ±1, but most have not reached it" (more than ``tie`` above ``near_without``),
    or "are no closer to ±1 than without the penalty"."""
    if _missing(near, near_without):
        return "were not measured"
    if near > most:
        return "cluster at ±1"
    if near > near_without + tie:
        return "move towards ±1, but most have not reached it"
    return "are no closer to ±1 than without the penalty"


def weight_spike_phrase(prox_share: float, adam_share: float, *, tie: float = 0.01) -> str:
    """What the distributions of ProxSGD's and Adam's weights show, from their shares below the
    sparsity threshold: a spike of ProxSGD's weights near zero when its share is more than
    ``tie`` above Adam's."""
    if _missing(prox_share, adam_share):
        return "the weights were not measured"
    if prox_share > adam_share + tie:
        return ("ProxSGD's weights form a spike near zero, left there by the geometric decay of "
                "weights whose proximal point is zero, while Adam's subgradient leaves a broad "
                "band of small weights that keep crossing zero")
    return ("at this strength ProxSGD's iterate has not carried more of its weights below the "
            "threshold than Adam's subgradient has")


# ---------------------------------------------------------------------------------------------
# Group sparsity
# ---------------------------------------------------------------------------------------------

def nas_random_phrase(found: float, random_mean: float, random_std: float,
                      random_count: int) -> str:
    """The found architecture's accuracy against random architectures of the same size, with
    the criterion: more than one standard deviation (over the random architectures) above or
    below their mean; one random architecture has no spread, so only the direction is given."""
    check_int_at_least("random_count", random_count, 1)
    if _missing(found, random_mean):
        return "not compared with the random ones"
    if random_count == 1 or _missing(random_std):
        word = "above" if found > random_mean else "below" if found < random_mean else "level with"
        return f"{word} the one random architecture (whose spread is unknown)"
    if found > random_mean + random_std:
        word = "better than"
    elif found < random_mean - random_std:
        word = "worse than"
    else:
        word = "not clearly different from"
    return f"{word} the random ones (criterion: more than one standard deviation from their mean)"


def nas_supernet_phrase(found: float, supernet: float, *, tolerance: float = 0.02) -> str:
    """The found architecture's accuracy against the retrained supernet's: "more than two
    points above", "within two points of" or "more than two points below" (``tolerance`` as
    a fraction)."""
    if _missing(found, supernet):
        return "not compared with"
    points = f"{100 * tolerance:g} points"
    if found > supernet + tolerance:
        return f"more than {points} above"
    if found < supernet - tolerance:
        return f"more than {points} below"
    return f"within {points} of"


def flops_speed_phrase(speedup: float, flop_ratio: float, *, tolerance: float = 0.1) -> str:
    """A pruned network's measured speed-up against the one its FLOPs predict
    (``1 / flop_ratio``), as a sentence: the time falls less than the FLOPs, about as much
    (within ``tolerance``, relative) or more."""
    if _missing(speedup, flop_ratio) or flop_ratio <= 0 or speedup <= 0:
        return "The speed-up was not measured against the FLOPs."
    predicted = 1 / flop_ratio
    share = speedup / predicted
    start = f"The FLOPs alone predict a speed-up of {predicted:.2f}: the time falls"
    if share < 1 - tolerance:
        return (f"{start} less than the FLOPs, as the fixed costs of each layer do not shrink "
                "with its filters.")
    if share > 1 + tolerance:
        return f"{start} more than the FLOPs."
    return f"{start} about as much as the FLOPs."
