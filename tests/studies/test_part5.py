"""Part V's sentences on made-up results: both directions, ties and missing values."""

import math

import pytest

from deepoptim import studies

NAN = math.nan


def test_row_sum_verdict_agrees_partly_or_disagrees_with_the_sizes_of_the_misses():
    assert studies.row_sum_verdict([0.0, 0.01]) == (
        "are the diagonal to within 5% for every block", "agrees")
    phrase, verdict = studies.row_sum_verdict([0.01, 0.6])
    assert verdict == "partly" and phrase.endswith("for 1 of 2 blocks only")
    assert studies.row_sum_verdict([0.6, 1.5]) == (
        "miss the diagonal by 60% to 150% of its size", "disagrees")
    assert studies.row_sum_verdict([0.6, 0.6]) == (
        "miss the diagonal by 60% of its size", "disagrees")
    assert studies.row_sum_verdict([0.3], tolerance=0.5)[1] == "agrees"
    assert studies.row_sum_verdict([0.1, NAN]) == ("were not measured", "not measured")
    assert studies.row_sum_verdict([]) == ("were not measured", "not measured")
    with pytest.raises(ValueError, match="Invalid tolerance value"):
        studies.row_sum_verdict([0.1], tolerance=0.0)


def test_versus_baselines_reads_each_baseline_both_ways():
    phrase, verdict = studies.versus_baselines("SGD-PH", {"SGD": -3.0, "AdamW": 0.5})
    assert phrase == ("SGD-PH's is clearly lower than SGD's and not clearly different from "
                      "AdamW's")
    assert verdict == "partly"
    assert studies.versus_baselines("M", {"SGD": -3.0, "AdamW": -2.5})[1] == "agrees"
    phrase, verdict = studies.versus_baselines("M", {"SGD": 3.0, "AdamW": NAN})
    assert phrase == "M's is clearly higher than SGD's and of unknown difference from AdamW's"
    assert verdict == "disagrees"
    assert studies.versus_baselines("M", {"SGD": NAN})[1] == "not measured"
    # for an accuracy, higher is better
    assert studies.versus_baselines("M", {"SGD": 3.0}, better="higher")[1] == "agrees"
    assert studies.versus_baselines("M", {"SGD": -3.0}, better="higher")[1] == "disagrees"
    with pytest.raises(ValueError, match="Invalid better value"):
        studies.versus_baselines("M", {"SGD": 1.0}, better="more")
    with pytest.raises(ValueError, match="Invalid statistics value"):
        studies.versus_baselines("M", {})


@pytest.mark.parametrize("statistic, better, verdict", [
    (0.0, "higher", "agrees"), (3.0, "higher", "agrees"), (-1.9, "higher", "agrees"),
    (-2.5, "higher", "disagrees"), (2.5, "lower", "disagrees"), (-2.5, "lower", "agrees"),
    (NAN, "higher", "not measured")])
def test_not_worse_verdict_fails_only_when_clearly_worse(statistic, better, verdict):
    assert studies.not_worse_verdict(statistic, better=better) == verdict


def test_not_worse_verdict_rejects_an_unknown_direction():
    with pytest.raises(ValueError, match="Invalid better value"):
        studies.not_worse_verdict(1.0, better="bigger")


def test_squaring_verdict_counts_the_iterations_that_square():
    assert studies.squaring_verdict([1.0, 1.0 + 1e-5, 0.9999]) == (
        "squares the residual at every one of the 3 iterations measured", "agrees")
    assert studies.squaring_verdict([1.0]) == (
        "squares the residual at the one iteration measured", "agrees")
    assert studies.squaring_verdict([1.0, 1.5]) == (
        "squares the residual at 1 of 2 iterations only", "partly")
    assert studies.squaring_verdict([0.5, 2.0]) == (
        "squares the residual at none of the 2 iterations", "disagrees")
    assert studies.squaring_verdict([1.2], tolerance=0.5)[1] == "agrees"
    assert studies.squaring_verdict([1.0, NAN]) == ("was not measured", "not measured")
    assert studies.squaring_verdict([]) == ("was not measured", "not measured")
    with pytest.raises(ValueError, match="Invalid tolerance value"):
        studies.squaring_verdict([1.0], tolerance=0.0)


def test_sizes_speed_verdict_reads_each_size():
    assert studies.sizes_speed_verdict({64: (2.0, 3.0), 128: (1.5, 1.6)}) == (
        "is faster at every size", "agrees")
    assert studies.sizes_speed_verdict({64: (0.2, 0.3), 128: (0.5, 0.6)}) == (
        "is slower at every size", "disagrees")
    assert studies.sizes_speed_verdict({32: (0.2, 0.3), 128: (2.0, 3.0), 256: (0.9, 1.1)}) == (
        "is faster at size 128, slower at size 32 and neither at the other", "partly")
    assert studies.sizes_speed_verdict({32: (0.2, 0.3), 64: (0.9, 1.1), 96: (0.95, 1.0)}) == (
        "is slower at size 32 and neither at the 2 others", "disagrees")
    assert studies.sizes_speed_verdict({64: (0.98, 1.02)}) == (
        "is neither clearly faster nor slower at any size", "disagrees")
    assert studies.sizes_speed_verdict({64: (NAN, 1.0)}) == ("was not measured", "not measured")
    assert studies.sizes_speed_verdict({}) == ("was not measured", "not measured")


def test_updates_phrase_counts_the_updates_an_event_concerned():
    assert studies.updates_phrase(0, 40) == "never (0 of 40 updates)"
    assert studies.updates_phrase(12, 40) == "for 12 of 40 updates (30%)"
    assert studies.updates_phrase(40, 40) == "for every one of the 40 updates"
    assert studies.updates_phrase(1, 1) == "for the one update"
    assert studies.updates_phrase(0, 1) == "never (0 of 1 update)"
    assert studies.updates_phrase(0, 0).startswith("not measured")
    with pytest.raises(ValueError, match="Invalid count value"):
        studies.updates_phrase(3, 2)


# ----------------------------------------------------------------- chapter 32 (AdamR)


@pytest.mark.parametrize("difference, phrase", [
    (0.0, "agree exactly"), (3e-16, "agree to rounding (largest difference 3e-16)"),
    (1e-6, "agree to rounding (largest difference 1e-06)"),
    (0.02, "differ (largest difference 0.02)"), (NAN, "were not compared")])
def test_agreement_phrase_reads_exact_rounding_and_real_differences(difference, phrase):
    assert studies.agreement_phrase(difference) == phrase


def test_agreement_phrase_rejects_bad_values():
    assert studies.agreement_phrase(1e-3, tolerance=1e-2).startswith("agree to rounding")
    with pytest.raises(ValueError, match="Invalid difference value"):
        studies.agreement_phrase(-1.0)
    with pytest.raises(ValueError, match="tolerance"):
        studies.agreement_phrase(0.0, tolerance=0.0)


@pytest.mark.parametrize("ratio, verdict", [
    (1.5, "agrees"), (1.06, "agrees"), (1.05, "disagrees"), (1.0, "disagrees"),
    (NAN, "not measured")])
def test_basis_gain_verdict_needs_a_real_gain(ratio, verdict):
    assert studies.basis_gain_verdict(ratio) == verdict


def test_basis_gain_verdict_rejects_a_non_positive_ratio():
    with pytest.raises(ValueError, match="Invalid ratio value"):
        studies.basis_gain_verdict(0.0)


def test_basis_share_phrase_places_a_basis_between_the_coordinates_and_the_eigenbasis():
    assert studies.basis_share_phrase(100.0, 70.0, 60.0) == (
        "closes 75% of the gap between the coordinate basis and the eigenbasis")
    assert studies.basis_share_phrase(100.0, 100.0, 60.0) == (
        "is no better than the coordinate basis")
    assert studies.basis_share_phrase(100.0, 120.0, 60.0) == (
        "is no better than the coordinate basis")
    assert studies.basis_share_phrase(100.0, 60.0, 60.0).startswith("is the eigenbasis")
    assert studies.basis_share_phrase(60.0, 70.0, 60.0).startswith("leaves nothing to close")
    assert studies.basis_share_phrase(100.0, NAN, 60.0) == "was not measured"
    with pytest.raises(ValueError, match="Invalid terms"):
        studies.basis_share_phrase(100.0, 50.0, 60.0)


def test_step_cost_verdict_reads_the_range_of_ratios_against_the_limit():
    assert studies.step_cost_verdict([1.05, 1.2]) == (
        "1.05 to 1.20 times AdamW's, within the 1.25× we call small in all seeds", "agrees")
    assert studies.step_cost_verdict([1.25, 1.25])[1] == "agrees"  # the limit is small
    assert studies.step_cost_verdict([1.3, 1.6]) == (
        "1.30 to 1.60 times AdamW's, beyond the 1.25× we call small in all seeds",
        "disagrees")
    assert studies.step_cost_verdict([1.1, 1.4], limit=1.5, reference="SGD",
                                     cases="blocks of rounds") == (
        "1.10 to 1.40 times SGD's, within the 1.5× we call small in all blocks of rounds",
        "agrees")
    assert studies.step_cost_verdict([1.1, 1.4]) == (
        "1.10 to 1.40 times AdamW's, beyond the 1.25× we call small in some seeds only",
        "partly")
    assert studies.step_cost_verdict([0.9])[0].startswith("0.90 times")  # cheaper is small
    assert studies.step_cost_verdict([0.9])[1] == "agrees"
    assert studies.step_cost_verdict([NAN, 1.2]) == ("not measured", "not measured")
    assert studies.step_cost_verdict([]) == ("not measured", "not measured")
    with pytest.raises(ValueError, match="Invalid limit value"):
        studies.step_cost_verdict([1.1, 1.2], limit=1.0)


def test_turn_phrase_says_close_far_or_varying_with_the_range():
    assert studies.turn_phrase(0.95, 0.99, "m") == "stays close to m (cosines 0.95 to 0.99)"
    assert studies.turn_phrase(0.9, 0.9, "m") == "stays close to m (cosine 0.90)"  # tie: close
    assert studies.turn_phrase(0.1, 0.45, "m") == "lies far from m (cosines 0.10 to 0.45)"
    assert studies.turn_phrase(-0.2, 0.5, "m") == (
        "lies at varying angles to m (cosines -0.20 to 0.50)")  # 0.5 is not far
    assert studies.turn_phrase(0.3, 0.95, "m") == (
        "lies at varying angles to m (cosines 0.30 to 0.95)")
    assert studies.turn_phrase(NAN, 0.5, "m") == "was not measured"
    with pytest.raises(ValueError, match="Invalid low value"):
        studies.turn_phrase(0.5, 0.2, "m")
    with pytest.raises(ValueError, match="Invalid far value"):
        studies.turn_phrase(0.1, 0.2, "m", close=0.5, far=0.6)


def test_damped_share_phrase_covers_none_some_all_and_rounding():
    assert studies.damped_share_phrase(0.0) == "none of the eigenvalues lies below the damping"
    assert studies.damped_share_phrase(0.25) == "25% of the eigenvalues lie below the damping"
    assert studies.damped_share_phrase(0.001).startswith("under 1% of")
    assert studies.damped_share_phrase(0.999).startswith("over 99% of")
    assert studies.damped_share_phrase(1.0) == "every eigenvalue lies below the damping"
    assert studies.damped_share_phrase(NAN) == "not measured"
    with pytest.raises(ValueError, match="Invalid share value"):
        studies.damped_share_phrase(1.5)
