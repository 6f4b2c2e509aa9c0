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


def test_step_cost_verdict_reads_the_range_of_ratios_against_the_limit():
    assert studies.step_cost_verdict(1.05, 1.2) == (
        "stays within the 1.25× of AdamW's we call small in all seeds", "agrees")
    assert studies.step_cost_verdict(1.25, 1.25)[1] == "agrees"  # the limit itself is small
    assert studies.step_cost_verdict(1.3, 1.6) == (
        "exceeds the 1.25× of AdamW's we call small in all seeds", "disagrees")
    phrase, verdict = studies.step_cost_verdict(1.1, 1.4, limit=1.5, reference="SGD",
                                                cases="blocks of rounds")
    assert (phrase, verdict) == (
        "stays within the 1.5× of SGD's we call small in all blocks of rounds", "agrees")
    assert studies.step_cost_verdict(1.1, 1.4) == (
        "exceeds the 1.25× of AdamW's we call small in some seeds only", "partly")
    assert studies.step_cost_verdict(0.9, 0.95)[1] == "agrees"  # cheaper is small too
    assert studies.step_cost_verdict(NAN, 1.2) == ("was not measured", "not measured")
    with pytest.raises(ValueError, match="Invalid low value"):
        studies.step_cost_verdict(1.4, 1.1)
    with pytest.raises(ValueError, match="Invalid limit value"):
        studies.step_cost_verdict(1.1, 1.2, limit=1.0)


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
