"""Part IV's experiment pieces and sentences: networks, runs and phrases on made-up results
(both directions, ties and missing values)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from deepoptim import studies
from deepoptim.data import ClassificationData
from deepoptim.models import MaskedLinear, Sequential2D, count_effective_parameters

NAN = math.nan


# ---- chapter 21: networks -------------------------------------------------------------------

def test_block_pattern_marks_trainable_parameter_free_and_empty_blocks():
    pattern = studies.block_pattern(Sequential2D.mlp([3, 4, 2]))
    expected = np.array([[0.5, 1, 0], [0, 0, 1], [0, 0, 0]])
    assert np.array_equal(pattern, expected)
    iterative = studies.block_pattern(Sequential2D.iterative(3, 4, 2, iterations=3))
    assert iterative[1, 1] == 1 and iterative[0, 0] == 0.5
    with pytest.raises(TypeError, match="model must be a Sequential2D"):
        studies.block_pattern(nn.Linear(2, 2))


def test_exact_mask_keeps_the_rounded_share_of_entries():
    generator = torch.Generator().manual_seed(0)
    mask = studies.exact_mask(6, 10, 0.25, generator)
    assert mask.shape == (6, 10) and int(mask.sum()) == 15
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert int(studies.exact_mask(3, 3, 0.01).sum()) == 1  # at least one weight
    with pytest.raises(ValueError, match="Invalid density value"):
        studies.exact_mask(3, 3, 0.0)


def test_masked_dense_fills_the_upper_triangle_and_hits_its_parameter_target():
    sizes = [5, 8, 8, 3]
    target = 150
    density = studies.density_for(sizes, target)
    model = studies.masked_dense(sizes, density, generator=torch.Generator().manual_seed(1))
    filled = {(i, j) for i in range(4) for j in range(4) if model.block(i, j) is not None}
    assert filled == {(0, 0)} | {(i, j) for j in range(1, 4) for i in range(j)}
    assert all(isinstance(model.block(i, j), MaskedLinear) for i, j in filled - {(0, 0)})
    assert model.block(0, 1).bias is not None and model.block(0, 2).bias is None
    assert model.depth == 3
    # exact masks: the count is the target up to one rounding per block (six blocks)
    assert abs(count_effective_parameters(model) - target) <= 6
    assert model(torch.randn(2, 5)).shape == (2, 3)
    with pytest.raises(ValueError, match="Invalid target value"):
        studies.density_for(sizes, 10)  # fewer than the biases


def test_matched_width_picks_the_count_closest_to_the_target():
    def make(width):
        return Sequential2D.mlp([4, width, 2])  # 4w + w + 2w + 2 = 7w + 2 parameters

    assert studies.matched_width(make, 7 * 9 + 2, range(2, 20)) == 9
    assert studies.matched_width(make, 7 * 9 + 5, range(2, 20)) == 9  # 3 away vs 4 away
    with pytest.raises(ValueError, match="Invalid widths value"):
        studies.matched_width(make, 10, [])


def test_sequence_classifier_runs_the_map_over_the_tokens():
    torch.manual_seed(0)
    rnn = nn.RNN(2, 5)
    model = studies.SequenceClassifier(Sequential2D.from_rnn(rnn), tokens=3, classes=4)
    x = torch.randn(7, 6)
    sequence = x.reshape(7, 3, 2).transpose(0, 1)
    _, h = rnn(sequence)
    assert torch.equal(model(x), model.readout(h[0]))
    with pytest.raises(ValueError, match="Invalid x value"):
        model(torch.randn(7, 5))


# ---- chapter 21: runs -----------------------------------------------------------------------

def tiny_data():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    return ClassificationData("tiny", x[:48], y[:48], x[48:], y[48:], num_classes=2)


def test_train_models_and_best_lr_runs():
    data = tiny_data()
    builders = {"mlp": lambda: Sequential2D.mlp([4, 6, 2]),
                "skip": lambda: Sequential2D.iterative(4, 6, 2, iterations=3)}
    runs = studies.train_models(builders, data, {"mlp": [1e-3, 1e-1], "skip": [1e-2]},
                                [0, 1], steps=15, batch_size=16, eval_every=5)
    assert len(runs.records) == 6
    assert set(runs.records["params"]) == {4 * 6 + 6 + 6 * 2 + 2, 4 * 6 + 6 + 36 + 6 * 2 + 2}
    again = studies.train_models(builders, data, {"mlp": [1e-1], "skip": [1e-2]}, [1],
                                 steps=15, batch_size=16)
    first = runs.records.query("config == 'mlp' and lr == 0.1 and seed == 1")["train_loss"]
    assert float(first.iloc[0]) == float(again.records["train_loss"].iloc[0])  # seeded
    best, chosen = studies.best_lr_runs(runs)
    losses = runs.records.groupby(["config", "lr"])["train_loss"].mean()
    assert best["mlp"] == float(losses["mlp"].idxmin()) and best["skip"] == 1e-2
    assert set(zip(chosen.records["config"], chosen.records["lr"], strict=True)) == \
        set(best.items())
    assert set(chosen.evals["lr"]) <= set(best.values())
    assert "val_acc" not in runs.records
    with pytest.raises(ValueError, match="Invalid metric value: 'val_acc'"):
        studies.best_lr_runs(runs, "val_acc")
    best_acc, _ = studies.best_lr_runs(runs, "test_acc")
    accuracy = runs.records.groupby(["config", "lr"])["test_acc"].mean()["mlp"]
    assert accuracy[best_acc["mlp"]] == accuracy.max()
    with pytest.raises(ValueError, match="Invalid lrs value"):
        studies.train_models(builders, data, {"mlp": [1e-3]}, [0], steps=2)
    with pytest.raises(ValueError, match="Invalid metric value"):
        studies.best_lr_runs(runs, "speed")


def test_train_models_scores_a_held_out_validation_set():
    data = tiny_data()
    held_out = (data.x_test[:8], data.y_test[:8])
    runs = studies.train_models({"mlp": lambda: Sequential2D.mlp([4, 6, 2])}, data,
                                {"mlp": [1e-3, 1e-1]}, [0], steps=10, batch_size=16,
                                validation=held_out)
    assert runs.records["val_acc"].between(0, 1).all()
    assert runs.records["val_loss"].gt(0).all()
    best, _ = studies.best_lr_runs(runs, "val_acc")
    assert best["mlp"] == float(runs.records.loc[runs.records["val_acc"].idxmax(), "lr"])


def test_best_lr_runs_ranks_a_diverged_run_last():
    data = tiny_data()
    runs = studies.train_models({"mlp": lambda: Sequential2D.mlp([4, 6, 2])}, data,
                                {"mlp": [1e-3, 1e-2]}, [0], steps=3, batch_size=16)
    records = runs.records.copy()
    records.loc[records["lr"] == 1e-3, "train_loss"] = NAN
    records.loc[records["lr"] == 1e-2, "train_loss"] = 1e9
    best, _ = studies.best_lr_runs(studies.Runs(records, runs.evals, runs.steps))
    assert best == {"mlp": 1e-2}


def test_alternating_times_times_every_call_in_every_round():
    seen = []
    times = studies.alternating_times({"a": lambda: seen.append("a"),
                                       "b": lambda: seen.append("b")}, rounds=3, count=2)
    assert {name: len(values) for name, values in times.items()} == {"a": 3, "b": 3}
    assert seen[:2] == ["a", "b"]  # warm-up
    assert seen[2:6] == ["a", "a", "b", "b"] and seen[6:10] == ["b", "b", "a", "a"]
    assert all(value >= 0 for values in times.values() for value in values)
    ticks = iter(range(100))
    fixed = studies.alternating_times({"a": lambda: None}, rounds=2, count=4,
                                      clock=lambda: float(next(ticks)))
    assert fixed == {"a": [0.25, 0.25]}  # one tick per round of four calls
    with pytest.raises(ValueError, match="Invalid rounds value"):
        studies.alternating_times({"a": lambda: None}, rounds=0)


# ---- chapter 21: sentences ------------------------------------------------------------------

def test_exact_verdict_needs_bit_identity():
    assert studies.exact_verdict(0.0) == "agrees"
    assert studies.exact_verdict(1e-17) == "disagrees"
    assert studies.exact_verdict(NAN) == "not measured"
    with pytest.raises(ValueError, match="Invalid difference value"):
        studies.exact_verdict(-1.0)


def test_count_match_phrase_names_the_networks_off_target():
    assert studies.count_match_phrase({"a": 1000, "b": 1004}, 1000) == (
        "every network is within 0.4% of the MLP's 1,000 parameters")
    assert studies.count_match_phrase({"a": 1000, "b": 1200, "c": 900}, 1000) == (
        "1 of 3 networks are within 1% of the MLP's 1,000 parameters; b 20% above and "
        "c 10% below")
    assert studies.count_match_phrase({"b": 1200}, 1000) == (
        "no network is within 1% of the MLP's 1,000 parameters; b 20% above")
    with pytest.raises(ValueError, match="Invalid counts value"):
        studies.count_match_phrase({}, 1000)


def test_patterns_verdict_reads_every_outcome():
    clause, verdict = studies.patterns_verdict({"skips": 3.0, "dense": -3.0, "map": 0.5})
    assert clause == ("skips is clearly more accurate than the MLP; map is not clearly "
                      "different from the MLP; dense is clearly less accurate than the MLP")
    assert verdict == "agrees"
    clause, verdict = studies.patterns_verdict({"a": 0.1, "b": -0.1, "c": -5.0})
    assert verdict == "partly" and clause.startswith("a and b are not clearly different")
    assert studies.patterns_verdict({"a": -3.0, "b": NAN})[1] == "disagrees"
    clause, verdict = studies.patterns_verdict({"a": NAN})
    assert verdict == "not measured" and clause == "a is of unknown difference from the MLP"
    with pytest.raises(ValueError, match="Invalid statistics value"):
        studies.patterns_verdict({})


def test_iterations_phrase_both_ways_tie_and_unknown():
    assert studies.iterations_phrase(3.0, 4, 8) == (
        "K = 8 iterations give a clearly higher test accuracy than K = 4")
    assert studies.iterations_phrase(-3.0, 4, 8) == (
        "K = 8 iterations give a clearly lower test accuracy than K = 4")
    assert studies.iterations_phrase(1.0, 1, 3) == (
        "K = 3 iterations give a test accuracy not clearly different from K = 1's")
    assert studies.iterations_phrase(NAN, 1, 3).endswith("unknown difference from K = 1's "
                                                        "(one seed)")
    with pytest.raises(ValueError, match="Invalid more value"):
        studies.iterations_phrase(1.0, 4, 4)
