"""The sentences of Part I's chapters read right whichever way the measurement went."""

import math

import pytest

from deepoptim import studies

NAN = math.nan


def test_holds_and_interpolation_verdicts_cover_every_outcome():
    assert studies.holds_verdict(True) == "agrees"
    assert studies.holds_verdict(False) == "disagrees"
    assert studies.interpolation_verdict(True, True) == (
        "converges linearly with interpolation and stalls without it")
    assert studies.interpolation_verdict(False, True) == (
        "does not converge linearly with interpolation and stalls without it")
    assert studies.interpolation_verdict(True, False) == (
        "converges linearly with interpolation and does not stall without it")
    assert studies.interpolation_verdict(False, False).count("does not") == 2


def test_expectation_phrase_reads_both_directions_ties_and_nan():
    words = {"expected": "smaller", "smaller": "shorter", "larger": "longer"}
    assert studies.expectation_phrase(0.19, 1.46, **words) == "shorter, as expected"
    assert studies.expectation_phrase(1.46, 0.19, **words) == "longer, against the expectation"
    assert studies.expectation_phrase(1.0, 1.001, **words) == (
        "about the same, against the expectation")
    assert studies.expectation_phrase(NAN, 1.0, **words) == "not measured"
    assert studies.expectation_phrase(2.0, 1.0, expected="larger", smaller="s",
                                      larger="l") == "l, as expected"
    with pytest.raises(ValueError, match="Invalid expected value: 'lower'"):
        studies.expectation_phrase(1.0, 2.0, expected="lower", smaller="s", larger="l")


def test_wins_summary_never_says_more_than_the_counts():
    assert "on every problem (3 of 3)" in studies.wins_summary("SLS", 3, 3, 3)
    none = studies.wins_summary("SLS", 0, 0, 3)
    assert "none of the 3 problems" in none
    some = studies.wins_summary("SLS", 0, 1, 3)
    assert some == ("SLS reaches the lower final training loss on 0 of 3 problems and at least "
                    "the better test accuracy on 1 of 3.")
    assert "everywhere" not in some and "every problem" not in some
    assert "3 of 3" in studies.wins_summary("SLS", 3, 2, 3)
    with pytest.raises(ValueError, match="hits"):
        studies.wins_summary("SLS", 4, 0, 3)


def test_search_cost_phrase_against_the_floor():
    assert studies.search_cost_phrase([2.1, 2.2]) == (
        "close to its floor of 2 forward passes per step")
    assert studies.search_cost_phrase([2.25]) == "close to its floor of 2 forward passes per step"
    assert studies.search_cost_phrase([2.16, 2.38]) == (
        "up to 0.38 forward passes per step above its floor of 2")
    for bad in ([], [NAN]):
        with pytest.raises(ValueError, match="Invalid forwards value"):
            studies.search_cost_phrase(bad)


def test_seed_spread_sentence_with_one_seed_has_no_spread():
    assert "unknown" in studies.seed_spread_sentence("SLS", 0.0, 1)
    assert "0.000" not in studies.seed_spread_sentence("SLS", 0.0, 1)
    several = studies.seed_spread_sentence("SLS", 0.0401, 2)
    assert "0.040 over 2 seeds" in several


def test_better_than_baselines_names_each_direction():
    assert studies.better_than_baselines({"PLASLS": 1.66, "ADAMSLS": 2.24}, "tuned Adam") == (
        "PLASLS ends 66% higher than tuned Adam and ADAMSLS 124% higher")
    assert studies.better_than_baselines({"PLASLS": 0.76, "ADAMSLS": 1.1}, "tuned Adam") == (
        "PLASLS ends 24% lower than tuned Adam and ADAMSLS 10% higher")
    assert studies.better_than_baselines({"A": 1.0}, "Adam") == "A ends level with Adam"
    assert studies.better_than_baselines({"A": NAN}, "Adam") == "A was not measured against Adam"
    with pytest.raises(ValueError, match="Invalid ratios value"):
        studies.better_than_baselines({}, "Adam")


def test_layerwise_verdict_follows_the_standard_errors():
    problems = ("MLP", "CNN", "digits")

    def by_problem(*values):
        return dict(zip(problems, values, strict=True))

    clear_on_one = studies.layerwise_verdict(by_problem(1.4, -17.1, -0.8))
    assert clear_on_one == (
        "Measured in standard errors over the seeds, PLASLS's final training loss is clearly "
        "lower than ADAMSLS's on the CNN and not clearly different on 2 of 3 problems.",
        "partly: PLASLS is clearly better on the CNN")
    sentence, verdict = studies.layerwise_verdict(by_problem(-3.0, -2.5, -9.0))
    assert verdict == "disagrees: PLASLS is clearly better on every problem"
    sentence, verdict = studies.layerwise_verdict(by_problem(0.5, -1.0, 1.9))
    assert verdict == "agrees" and "not clearly different from ADAMSLS's on 3 of 3" in sentence
    sentence, verdict = studies.layerwise_verdict(by_problem(3.0, 0.0, 0.0))
    assert verdict == "agrees" and "clearly higher on the MLP" in sentence
    sentence, verdict = studies.layerwise_verdict(by_problem(NAN, NAN, NAN))
    assert verdict == "not tested (one seed)" and "unknown" in sentence
    sentence, verdict = studies.layerwise_verdict({"MLP": NAN, "CNN": -3.0})
    assert verdict == "partly: PLASLS is clearly better on the CNN"
    assert "not judged on the MLP (one seed)" in sentence
    with pytest.raises(ValueError, match="Invalid statistics value"):
        studies.layerwise_verdict({})


def test_reproduction_and_overhead_verdicts():
    assert studies.reproduction_verdict({"MLP": 0.3, "CNN": -1.2}) == "agrees"
    assert studies.reproduction_verdict({"MLP": 2.5, "CNN": -3.0}) == (
        "differs on the MLP (ours clearly higher) and CNN (ours clearly lower)")
    assert studies.reproduction_verdict({"MLP": NAN}) == "not tested (one seed)"
    assert studies.reproduction_verdict({"MLP": NAN, "CNN": 0.1}) == "agrees"
    assert studies.overhead_verdict(0.04, []) == "agrees"
    assert studies.overhead_verdict(0.05, []) == "agrees"
    assert studies.overhead_verdict(0.3, ["MLP"]).startswith("agrees once the step size settles")
    assert studies.overhead_verdict(0.3, []) == "disagrees"
    assert studies.overhead_verdict(NAN, []) == "not measured"


def test_loss_halving_and_step_scale():
    assert studies.loss_halving_verdict(0.42) == "agrees"
    assert studies.loss_halving_verdict(0.6) == "agrees"
    assert studies.loss_halving_verdict(0.8) == "partly: a smaller gain"
    assert studies.loss_halving_verdict(1.0) == "disagrees: no lower loss"
    assert studies.loss_halving_verdict(NAN) == "not measured"
    assert studies.step_scale_phrase({"MLP": 0.1, "CNN": 0.2}) == (
        "the accepted steps are much shorter than the tuned schedule's on every problem")
    assert studies.step_scale_phrase({"MLP": 0.1, "CNN": 1.0, "digits": 5.0}) == (
        "the accepted steps are much shorter than the tuned schedule's on the MLP, of the order "
        "of the tuned schedule's on the CNN and much longer than the tuned schedule's on the "
        "digits")
    with pytest.raises(ValueError, match="Invalid ratios value"):
        studies.step_scale_phrase({"MLP": NAN})


def test_small_start_frequency_and_roundoff():
    assert studies.small_start_sentence("ADAMSLS", 1e-3, 0.1, 0.0013, 0.0053).endswith(
        "smaller, as expected.")
    assert studies.small_start_sentence("ADAMSLS", 1e-3, 0.1, 0.01, 0.0053).endswith(
        "larger, against the expectation.")
    assert studies.small_start_sentence("ADAMSLS", 1.0, 0.1, 0.01, 0.0053) == (
        "This run tries no initial step size below ADAMSLS's default 0.1.")
    assert [studies.frequency_word(share) for share in (0, 0.01, 0.2, 0.9, 1)] == [
        "never", "rarely", "often", "mostly", "always"]
    with pytest.raises(ValueError, match="Invalid share value"):
        studies.frequency_word(1.5)
    assert studies.roundoff_verdict(0.5, 1e-7).startswith("In float64 the same step is accurate")
    assert studies.roundoff_verdict(1e-3, 1e-7).startswith("The step is accurate in both")
    assert studies.roundoff_verdict(0.5, 0.2).startswith("Even in float64")
    with pytest.raises(ValueError, match="Invalid error value"):
        studies.roundoff_verdict(NAN, 0.1)


def test_testbed_verdicts():
    drops = {"cnn1d": 0.30, "gru": 0.25, "mlp": 0.01, "logreg": -0.02}
    spatial, dense = ["cnn1d", "gru"], ["mlp", "logreg"]
    assert studies.spatial_prior_verdict(drops, spatial, dense)
    assert not studies.spatial_prior_verdict({**drops, "gru": 0.05}, spatial, dense)
    assert not studies.spatial_prior_verdict({**drops, "mlp": -0.08}, spatial, dense)
    assert not studies.spatial_prior_verdict({**drops, "gru": NAN}, spatial, dense)
    with pytest.raises(ValueError, match="Invalid drops value"):
        studies.spatial_prior_verdict({"cnn1d": 0.3}, spatial, dense)
    assert studies.paper_accuracy_verdict(0.66, 0.68) == "agrees"
    assert studies.paper_accuracy_verdict(0.593, 0.68) == "8.7 points lower"
    assert studies.paper_accuracy_verdict(0.75, 0.68) == "7.0 points higher"
    assert studies.paper_accuracy_verdict(NAN, 0.68) == "not run"


def test_budget_sentences():
    quick = studies.gru_budget_sentence(
        "quick", steps_gru=1000, steps_main=2000, gru_seeds=1, main_seeds=2,
        gru_optimizers=["Adam"], main_optimizers=["SGD", "Adam"], cost_ratio=9.84)
    assert quick == ("In this run (the quick profile) the GRU costs 9.8 times as much per step "
                     "as the CNN, and it trains for 1000 steps instead of 2000, one seed "
                     "instead of 2 and Adam only.")
    full = studies.gru_budget_sentence(
        "full", steps_gru=6000, steps_main=6000, gru_seeds=5, main_seeds=5,
        gru_optimizers=["SGD", "Adam"], main_optimizers=["SGD", "Adam"], cost_ratio=NAN)
    assert full == "In this run (the full profile) it trains with the budget of the other models."
    assert studies.budget_sentence(2000, 6000, 5).startswith(
        "This run trains for 2000 of the paper's 6000 steps")
    assert "not a matter of the budget" in studies.budget_sentence(6000, 6000, 5)
