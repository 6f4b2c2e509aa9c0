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
