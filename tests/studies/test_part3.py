"""Part III's sentences on made-up results: both directions, ties, one seed and missing values."""

import math

import numpy as np
import pytest

from deepoptim import studies

NAN = math.nan


# --- Hessian spectra ----------------------------------------------------------------------

@pytest.mark.parametrize("distance, error, verdict", [
    (0.001, 1e-15, "agrees"), (0.05, 1e-15, "partly"), (0.001, 1e-3, "partly"),
    (0.05, 1e-3, "disagrees"), (0.01, 1e-6, "agrees"), (NAN, 1e-15, "not measured")])
def test_exact_match_verdict_counts_density_and_top_eigenvalues(distance, error, verdict):
    assert studies.exact_match_verdict(distance, error) == verdict


def test_spectrum_shape_finds_bulk_and_outliers_or_says_it_misses_them():
    bulk = np.linspace(-0.001, 0.001, 990)
    share, outliers, phrase = studies.spectrum_shape([*bulk, *range(5, 15)])
    assert share == pytest.approx(0.99) and outliers == 10
    assert phrase == "has the shape reported for trained networks"
    _, outliers, phrase = studies.spectrum_shape(np.linspace(0.0, 1.0, 100))  # no bulk
    assert outliers == 90 and phrase.startswith("does not have")
    assert studies.spectrum_shape([-1.0, -2.0])[2].startswith("has no positive eigenvalue")
    with pytest.raises(ValueError, match="Invalid eigenvalues value"):
        studies.spectrum_shape([1.0, NAN])


@pytest.mark.parametrize("hutch, hutchpp, start", [
    (0.10, 0.05, "Hutch++ is clearly the more accurate"), (0.10, 0.09, "at this budget"),
    (0.10, 0.125, "at this budget"), (0.10, 0.20, "Hutchinson's is the more accurate"),
    (0.0, 0.0, "at this budget"), (NAN, 0.1, "the two trace errors were not measured")])
def test_trace_estimators_phrase_reads_both_ways_and_ties(hutch, hutchpp, start):
    assert studies.trace_estimators_phrase(hutch, hutchpp).startswith(start)


def test_products_phrase_and_orthogonality():
    assert studies.products_phrase(12, 400) == "12"
    assert studies.products_phrase(-1, 400) == "more than 400"
    with pytest.raises(ValueError, match="count"):
        studies.products_phrase(-2, 400)
    assert studies.orthogonality_phrase(0.93) == "far from orthogonal"
    assert studies.orthogonality_phrase(1e-5) == "measurably not orthogonal"
    assert studies.orthogonality_phrase(1.4e-11) == "measurably not orthogonal"
    assert studies.orthogonality_phrase(1.5e-14) == "orthogonal to rounding"
    assert studies.orthogonality_phrase(NAN) == "of unmeasured orthogonality"


@pytest.mark.parametrize("small, large, word, expectation", [
    (8.2, 5.4, "flatter", "as the stability limit"),
    (5.4, 8.2, "sharper", "against what the stability limit"),
    (8.0, 8.2, "about as sharp", "although the stability limit"),
    (NAN, 8.0, "not measured", "which leaves")])
def test_larger_step_phrase_reads_both_ways(small, large, word, expectation):
    got_word, got_expectation = studies.larger_step_phrase(small, large)
    assert got_word == word and got_expectation.startswith(expectation)


def test_growth_phrase_counts_the_runs_that_grow():
    assert studies.growth_phrase([1.0, 2.0], [3.0, 20.0]) == (
        "grows in every run, by a factor between 3.0 and 10.0")
    assert studies.growth_phrase([1.0, 2.0], [3.0, 1.0]) == "grows in 1 of 2 runs"
    assert studies.growth_phrase([1.0, 2.0], [0.5, 2.0]) == "grows in none of the 2 runs"
    assert studies.growth_phrase([1.0], [NAN]) == "not measured"
    with pytest.raises(ValueError, match="Invalid ends value"):
        studies.growth_phrase([1.0, 2.0], [3.0])


def test_outlier_gap_matches_the_classes_or_says_it_does_not():
    assert studies.outlier_gap_phrase(9, 10).startswith("as in that picture")
    assert studies.outlier_gap_phrase(10, 10).startswith("as in that picture")
    assert studies.outlier_gap_phrase(1, 10) == "not at the 9 or 10 outliers of that picture"


def test_eos_phrase_for_a_run_that_reaches_the_limit_and_one_that_does_not():
    assert studies.eos_phrase(160, 1.023, 1.4, 600) == (
        "reaches 0.9 · 2/η at step 160 and then sits at a median of 1.02 times 2/η")
    assert studies.eos_phrase(-1, NAN, 0.42, 600) == (
        "does not reach 0.9 · 2/η within 600 steps, at most 0.42 times 2/η")
    assert studies.eos_phrase(-1, NAN, NAN, 10).endswith("within 10 steps")


def test_loss_rises_sentence_both_ways():
    assert studies.loss_rises_sentence(0, 30, 0, 0.25) == (
        "With η = 0.25 the loss falls between every pair of successive records.")
    assert studies.loss_rises_sentence(7, 30, 5, 0.5) == (
        "With η = 0.5 the loss rises between 7 of 30 pairs of successive records, 5 of 7 "
        "of them after a record with λmax above 2/η: it is not monotonic.")
    with pytest.raises(ValueError, match="Invalid hits value: 8"):
        studies.loss_rises_sentence(7, 30, 8, 0.5)


def test_batched_products_sentence_follows_the_device():
    assert "On this run's GPU" in studies.batched_products_sentence("cuda")
    assert "On a CPU, as in this run" in studies.batched_products_sentence("cpu")
    with pytest.raises(ValueError, match="Invalid device_type value: 'mps'"):
        studies.batched_products_sentence("mps")


# --- loss landscapes --------------------------------------------------------------------------

@pytest.mark.parametrize("factor, start", [
    (1.0, "The quadratic model holds"), (1.19, "The quadratic model holds"),
    (1 / 1.19, "The quadratic model holds"), (9.3, "The second-order model is off"),
    (0.5, "The second-order model is off"), (-2.0, "The loss does not rise"),
    (NAN, "The quadratic model could not be checked")])
def test_quadratic_model_phrase_both_ways(factor, start):
    assert studies.quadratic_model_phrase(factor).startswith(start)


def test_random_cosine_phrase_against_the_typical_cosine():
    assert studies.random_cosine_phrase(0.0087, 15210).startswith("as small as")
    assert studies.random_cosine_phrase(-0.0087, 15210).startswith("as small as")
    assert studies.random_cosine_phrase(0.2, 15210).startswith("well above")
    assert studies.random_cosine_phrase(NAN, 15210) == "not measured"


def test_smooth_convergence_and_early_share():
    assert studies.smooth_convergence_phrase(2.05) == "converges at the rate of a smooth function"
    assert studies.smooth_convergence_phrase(1.5) == "converges at the rate of a smooth function"
    assert studies.smooth_convergence_phrase(0.3).startswith("does not converge")
    assert studies.smooth_convergence_phrase(NAN) == "could not be measured"
    assert studies.early_share_phrase({"SGD": 0.7, "Adam": 0.6}) == (
        "so the first stretch of training dominates them")
    assert studies.early_share_phrase({"SGD": 0.7, "Adam": 0.4}) == (
        "so the first stretch of training dominates them for SGD")
    assert studies.early_share_phrase({"SGD": 0.3}).startswith("but here")
    assert studies.early_share_phrase({"SGD": NAN}).startswith("so their weighting")


@pytest.mark.parametrize("rank, points, start", [
    (0.8, 4, "the flatter minima are the ones that fit the subset more closely"),
    (-0.8, 4, "the flatter minima are the ones that fit the subset less closely"),
    (0.2, 4, "the flatness of a minimum does not follow"),
    (NAN, 4, "the flatness of a minimum does not follow"),
    (1.0, 2, "2 minima are too few to rank")])
def test_flatness_phrase_both_ways_and_too_few(rank, points, start):
    assert studies.flatness_phrase(rank, points).startswith(start)


@pytest.mark.parametrize("eigen, random, verdict", [
    (11.7, 1.09, "agrees"), (1 / 11.7, 1.09, "agrees"), (-38.6, 0.74, "agrees"),
    (1.5, 1.09, "disagrees"), (11.7, 1 / 9.0, "disagrees"), (NAN, 1.0, "not measured"),
    (0.0, 1.0, "not measured")])
def test_anisotropy_verdict_either_way_round(eigen, random, verdict):
    assert studies.anisotropy_verdict(eigen, random) == verdict


# --- ProxSGD ----------------------------------------------------------------------------------

def test_matched_sparsity_sentence_both_ways_ties_and_no_run():
    more = studies.matched_sparsity_sentence(0.327, 0.640, 0.046, 0.02)
    assert more.startswith("Among the ℓ1 runs whose accuracy stays within 2% of")
    assert "ProxSGD makes at most 32.7% of the weights smaller than 10⁻⁴" in more
    assert "(and its proximal point has 64.0% exact zeros)" in more
    assert more.endswith("at most 4.6%: ProxSGD is the sparser at matched accuracy.")
    assert studies.matched_sparsity_sentence(0.05, 0.6, 0.3, 0.02).endswith(
        "Adam is the sparser at matched accuracy.")
    assert studies.matched_sparsity_sentence(0.10, 0.6, 0.105, 0.02).endswith(
        "the two are about equally sparse at matched accuracy.")
    assert studies.matched_sparsity_sentence(NAN, NAN, 0.1, 0.02).endswith(
        "there is none of ProxSGD, so the two are not compared there.")
    assert "none of ProxSGD and Adam" in studies.matched_sparsity_sentence(NAN, NAN, NAN, 0.02)


def test_sparsity_claim_both_ways_and_untestable():
    assert studies.sparsity_claim(0.327, 0.046, 0.02) == (
        "holds", "32.7% of its weights below 10⁻⁴ against Adam's 4.6%, within 2% of the "
        "unregularised accuracy", "agrees")
    predicate, _, verdict = studies.sparsity_claim(0.08, 0.046, 0.02)  # sparser, not much
    assert (predicate, verdict) == ("is not reproduced", "disagrees")
    assert studies.sparsity_claim(0.01, 0.046, 0.02)[::2] == ("is not reproduced", "disagrees")
    assert studies.sparsity_claim(NAN, 0.046, 0.02) == (
        "cannot be tested", "no ℓ1 run of ProxSGD stays within 2% of the unregularised "
        "accuracy", "not measured")


def test_penalty_effect_both_ways():
    assert studies.penalty_effect_phrase(0.74, 0.92) == "lowers"
    assert studies.penalty_effect_phrase(0.92, 0.74) == "raises"
    assert studies.penalty_effect_phrase(0.92, 0.915) == "does not clearly change"
    assert studies.penalty_effect_phrase(NAN, 0.9) == "was not measured on"


def test_proximal_gap_phrase_both_ways():
    assert studies.proximal_gap_phrase(0.02, 0.60).startswith("the iterate has not yet followed")
    assert studies.proximal_gap_phrase(0.58, 0.60).startswith("the iterate has followed")
    assert studies.proximal_gap_phrase(0.70, 0.60).startswith("the iterate has followed")
    assert studies.proximal_gap_phrase(NAN, 0.6) == (
        "the two measures of sparsity were not both measured")


@pytest.mark.parametrize("near, without, phrase", [
    (0.8, 0.1, "cluster at ±1"), (0.3, 0.1, "move towards ±1, but most have not reached it"),
    (0.1, 0.1, "are no closer to ±1 than without the penalty"),
    (0.05, 0.1, "are no closer to ±1 than without the penalty"), (NAN, 0.1, "were not measured")])
def test_binarised_weights_phrase_needs_more_than_without_the_penalty(near, without, phrase):
    assert studies.binarised_weights_phrase(near, without) == phrase


def test_weight_spike_phrase_both_ways():
    assert studies.weight_spike_phrase(0.33, 0.05).startswith("ProxSGD's weights form a spike")
    assert studies.weight_spike_phrase(0.05, 0.05).startswith("at this strength ProxSGD's")
    assert studies.weight_spike_phrase(0.01, 0.05).startswith("at this strength ProxSGD's")
    assert studies.weight_spike_phrase(NAN, 0.05) == "the weights were not measured"


# --- group sparsity ---------------------------------------------------------------------------

@pytest.mark.parametrize("found, start", [
    (0.96, "better than"), (0.93, "worse than"), (0.95, "not clearly different from"),
    (0.959, "not clearly different from")])
def test_nas_random_phrase_is_two_sided(found, start):
    assert studies.nas_random_phrase(found, 0.949, 0.01, 3).startswith(start)


def test_nas_random_phrase_with_one_random_architecture_gives_only_the_direction():
    assert studies.nas_random_phrase(0.96, 0.95, 0.0, 1) == (
        "above the one random architecture (whose spread is unknown)")
    assert studies.nas_random_phrase(0.94, 0.95, 0.0, 1).startswith("below")
    assert studies.nas_random_phrase(0.95, 0.95, 0.0, 1).startswith("level with")
    assert studies.nas_random_phrase(NAN, 0.95, 0.0, 1) == "not compared with the random ones"


@pytest.mark.parametrize("found, supernet, phrase", [
    (0.9635, 0.917, "more than 2 points above"),  # the case a one-sided test called "within"
    (0.90, 0.95, "more than 2 points below"), (0.94, 0.95, "within 2 points of"),
    (0.95, 0.95, "within 2 points of"), (NAN, 0.95, "not compared with")])
def test_nas_supernet_phrase_is_two_sided(found, supernet, phrase):
    assert studies.nas_supernet_phrase(found, supernet) == phrase


def test_flops_speed_phrase_against_the_flops_prediction():
    assert studies.flops_speed_phrase(1.86, 0.26) == (
        "The FLOPs alone predict a speed-up of 3.85: the time falls less than the FLOPs, as "
        "the fixed costs of each layer do not shrink with its filters.")
    assert studies.flops_speed_phrase(1.09, 0.78).endswith("falls less than the FLOPs, as the "
                                                           "fixed costs of each layer do not "
                                                           "shrink with its filters.")
    assert studies.flops_speed_phrase(3.9, 0.26).endswith("falls about as much as the FLOPs.")
    assert studies.flops_speed_phrase(5.0, 0.26).endswith("falls more than the FLOPs.")
    assert studies.flops_speed_phrase(NAN, 0.26).startswith("The speed-up was not measured")
