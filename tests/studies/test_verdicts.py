"""Measured values in words: both directions, ties, one seed and missing values."""

import math
import os

import pytest
import torch

from deepoptim import studies


def test_joined_lists_in_english():
    assert studies.joined([]) == "none"
    assert studies.joined([], empty="no problem") == "no problem"
    assert studies.joined(["a"]) == "a"
    assert studies.joined(["a", "b"]) == "a and b"
    assert studies.joined(["a", "b", "c"]) == "a, b and c"


def test_count_and_share_cover_none_some_and_all():
    assert studies.count_phrase(0, 3) == "0 of 3"
    assert studies.count_phrase(1, 1) == "1 of 1"
    assert studies.count_phrase(0, 3, "pair") == "0 of 3 pairs"
    assert studies.count_phrase(0, 1, "pair") == "0 of 1 pair"
    assert [studies.share_verdict(hits, 3) for hits in range(4)] == [
        "disagrees", "partly", "partly", "agrees"]
    assert studies.share_verdict(1, 1) == "agrees" and studies.share_verdict(0, 1) == "disagrees"


@pytest.mark.parametrize("hits, total, message", [
    (4, 3, "Invalid hits value: 4"), (-1, 3, "hits"), (0, 0, "total")])
def test_counts_outside_their_range_are_errors(hits, total, message):
    with pytest.raises(ValueError, match=message):
        studies.count_phrase(hits, total)
    with pytest.raises(ValueError, match=message):
        studies.share_verdict(hits, total)


def test_relative_phrase_reads_both_directions_and_ties():
    assert studies.relative_phrase(0.88) == "12% lower"
    assert studies.relative_phrase(1.05) == "5% higher"
    assert studies.relative_phrase(3.66) == "266% higher"
    assert studies.relative_phrase(1.0) == "the same"
    assert studies.relative_phrase(0.998) == "the same"  # no "0% lower"
    assert studies.relative_phrase(math.nan) == "not measured"
    assert studies.relative_to(0.48, "Adam's") == "52% lower than Adam's"
    assert studies.relative_to(1.0, "Adam's") == "the same as Adam's"
    assert studies.relative_to(math.nan, "Adam's") == "not measured against Adam's"
    for ratio in (0.0, -1.0, math.inf):
        with pytest.raises(ValueError, match="Invalid ratio value"):
            studies.relative_phrase(ratio)


def test_clear_difference_needs_two_standard_errors_and_a_spread():
    assert studies.clear_difference(-17.1) == "clearly lower"
    assert studies.clear_difference(2.5) == "clearly higher"
    assert studies.clear_difference(-2.0) == "not clearly different"  # the edge is not clear
    assert studies.clear_difference(0.0) == "not clearly different"
    assert studies.clear_difference(math.nan) == "unknown"
    assert studies.clear_difference(1.5, threshold=1.0) == "clearly higher"
    with pytest.raises(ValueError, match="Invalid threshold value: 0"):
        studies.clear_difference(1.0, threshold=0)


def test_mean_spread_shows_no_spread_for_one_seed():
    assert studies.mean_spread(0.1234, 0.0046, 2, ".3f") == "0.123 ± 0.005"
    assert studies.mean_spread(0.6543, 0.0, 1, ".1%") == "65.4%"  # not "± 0.0%"
    assert studies.mean_spread(0.5, math.nan, 3, ".2f") == "0.50"
    assert studies.mean_spread(math.nan, math.nan, 2, ".2f") == "not run"
    assert studies.mean_spread(0.5, 0.1, 0, ".2f") == "not run"
    with pytest.raises(ValueError, match="n"):
        studies.mean_spread(0.5, 0.1, -1, ".2f")


def test_seeds_phrase():
    assert studies.seeds_phrase(1) == "one seed"
    assert studies.seeds_phrase(5) == "5 seeds"
    with pytest.raises(ValueError, match="n"):
        studies.seeds_phrase(0)


def test_holds_and_times_cover_none_some_and_all():
    assert studies.holds_verdict(True) == "agrees" and studies.holds_verdict(False) == "disagrees"
    assert studies.holds_phrase(2, 2, "step sizes") == "holds"
    assert studies.holds_phrase(1, 2, "step sizes") == "holds for 1 of 2 step sizes"
    assert studies.holds_phrase(0, 2, "step sizes") == "is not reproduced"
    assert [studies.times_phrase(k) for k in (0, 1, 7)] == ["never", "once", "7 times"]
    with pytest.raises(ValueError, match="Invalid hits value: 3"):
        studies.holds_phrase(3, 2, "step sizes")
    with pytest.raises(ValueError, match="count"):
        studies.times_phrase(-1)


def test_every_phrase_counts_all_some_and_none():
    assert studies.every_phrase("shrinks", 4, 4) == "shrinks in every run"
    assert studies.every_phrase("shrinks", 1, 4) == "shrinks in 1 of 4 runs"
    assert studies.every_phrase("shrinks", 0, 4) == "shrinks in none of the 4 runs"
    assert studies.every_phrase("holds", 1, 2, "pair") == "holds in 1 of 2 pairs"
    assert studies.every_phrase("holds", 1, 1, "pair") == "holds in the one pair"
    assert studies.every_phrase("holds", 0, 1, "pair") == "holds in no pair"
    with pytest.raises(ValueError, match="Invalid hits value: 5"):
        studies.every_phrase("shrinks", 5, 4)


@pytest.mark.parametrize("low, high, verdict", [
    (1.2, 1.3, "faster"), (0.7, 0.9, "slower"), (0.9, 1.1, "neither clearly faster nor slower"),
    (1.0, 1.0, "neither clearly faster nor slower"),
    (1.01, 1.01, "neither clearly faster nor slower"),
    (0.97, 0.97, "neither clearly faster nor slower"), (math.nan, 1.2, "not measured")])
def test_speed_verdict_needs_the_whole_range_clearly_on_one_side(low, high, verdict):
    assert studies.speed_verdict(low, high) == verdict


def test_speed_verdict_rejects_an_inverted_range():
    with pytest.raises(ValueError, match="Invalid low value: 2.0"):
        studies.speed_verdict(2.0, 1.0)


def test_machine_phrase_names_the_threads_and_cores_of_a_cpu():
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = studies.machine_phrase(torch.device("cpu"))
        torch.set_num_threads(2)
        two = studies.machine_phrase(torch.device("cpu"))
    finally:
        torch.set_num_threads(threads)
    cores = os.cpu_count()
    assert one == f"one thread of a CPU with {cores} cores" or cores == 1
    assert two.startswith("2 threads of a CPU")
    with pytest.raises(TypeError, match="device must be torch.device, got str"):
        studies.machine_phrase("cpu")
    with pytest.raises(ValueError, match="Invalid device value: device\\(type='meta'\\)"):
        studies.machine_phrase(torch.device("meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_machine_phrase_names_the_gpu():
    device = torch.device("cuda")
    assert studies.machine_phrase(device) == f"a GPU ({torch.cuda.get_device_name(device)})"


def test_spread_phrase_says_one_seed_has_no_spread():
    assert studies.spread_phrase(3) == "mean ± one standard deviation over 3 seeds"
    assert studies.spread_phrase(1) == "one seed, so no spread"
    with pytest.raises(ValueError, match="n"):
        studies.spread_phrase(0)
