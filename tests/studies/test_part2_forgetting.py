"""Part II's forgetting chapter: the two-task sequence on a tiny BERT and made-up token tasks,
and its sentences on made-up values (both directions, ties and missing values)."""

import math

import pytest
import torch
import transformers

from deepoptim import studies
from deepoptim.data.text import TokenizedSplits, Tokens
from deepoptim.studies import part2_forgetting as pf

NAN = math.nan


def _encoder():
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=16, hidden_dropout_prob=0.0,
                                     attention_probs_dropout_prob=0.0)
    return transformers.BertModel(config).eval()


def _splits(classes, offset, n=48, n_test=24, tokens=5, seed=0):
    """Token tasks whose class is the token id at every position (ids offset by ``offset``)."""
    generator = torch.Generator().manual_seed(seed)

    def split(count):
        labels = torch.randint(0, classes, (count,), generator=generator)
        ids = (labels[:, None] + offset).repeat(1, tokens)
        return Tokens(ids, torch.ones_like(ids), labels)

    return TokenizedSplits(split(n), split(n_test))


def _sequence(fisher_examples=8, steps=(20, 20), lr=3e-3):
    first = pf.split_tokens(_splits(3, 1), 3, 12, seed=0)
    second = pf.split_tokens(_splits(2, 10, seed=1), 2, 12, seed=0)
    return pf.TaskSequence(_encoder(), first, second, steps=steps, lr=lr, batch_size=8,
                           fisher_examples=fisher_examples)


def test_split_tokens_holds_out_a_seeded_part_of_the_training_set():
    splits = _splits(3, 1, n=20, n_test=10)
    task = pf.split_tokens(splits, 3, 5, seed=2, max_test=4)
    assert len(task.train.labels) == 15 and len(task.dev.labels) == 5
    assert len(task.test.labels) == 4 and task.num_classes == 3
    together = torch.cat([task.train.input_ids, task.dev.input_ids])
    assert sorted(map(tuple, together.tolist())) == sorted(map(tuple,
                                                              splits.train.input_ids.tolist()))
    again = pf.split_tokens(splits, 3, 5, seed=2)
    assert torch.equal(again.dev.input_ids, task.dev.input_ids)
    with pytest.raises(ValueError, match="Invalid dev_size value"):
        pf.split_tokens(splits, 3, 20)


def test_sequence_learns_both_tasks_measures_forgetting_and_is_seeded():
    sequence = _sequence()
    assert sequence.num_parts == 4  # embeddings | 2 layers | head (with the pooler)
    names = sequence.groups(sequence._model(sequence.second, 0))[1]
    assert names == ["embeddings", "layer.0", "layer.1", "head"]
    start = sequence.learn_first(0)
    assert start.acc1["test"] >= 0.9  # chance is about 1/3
    assert start.fisher and all(name.startswith("encoder.") for name in start.fisher)
    flat = sequence.learn_second(start)
    assert flat["acc2"] >= 0.9
    assert flat["acc1"] == start.acc1["test"]
    assert flat["forgetting"] == pytest.approx(flat["acc1"] - flat["acc3"])
    assert flat["objective"] == pytest.approx(flat["acc2"] + flat["acc3"])
    assert sequence.learn_second(start) == flat  # restored from the same start, same seed
    frozen = sequence.learn_second(start, [0.0, 0.0, 0.0, 1.0])  # only the head trains
    assert frozen["acc3"] == start.acc1["test"] and frozen["forgetting"] == 0.0
    seen = []
    sequence.learn_second(start, split="dev", report_every=5,
                          on_report=lambda step, value: seen.append((step, value)))
    assert [step for step, _ in seen] == [5, 10, 15] and all(0 <= v <= 2 for _, v in seen)


def test_ewc_penalty_keeps_the_encoder_near_the_first_task():
    sequence = _sequence(lr=1e-2)
    start = sequence.learn_first(0)

    def moved(importance):
        sequence.learn_second(start, importance=importance)
        encoder = {f"encoder.{n}": p for n, p in sequence.encoder.named_parameters()}
        return sum(float((encoder[n].detach() - start.state[n]).norm()) for n in start.fisher)

    assert moved(1e6) < moved(0.0)
    best, scores = pf.best_importance(sequence, start, [0.0, 1e6])
    assert set(scores) == {0.0, 1e6} and scores[best] == max(scores.values())
    no_fisher = _sequence(fisher_examples=0)
    with pytest.raises(ValueError, match="Invalid start value"):
        no_fisher.learn_second(no_fisher.learn_first(0), importance=1.0)


def test_learn_second_rejects_bad_arguments():
    sequence = _sequence(steps=(1, 1))
    start = sequence.learn_first(0)
    with pytest.raises(ValueError, match="Invalid factors value"):
        sequence.learn_second(start, [1.0, 1.0])
    with pytest.raises(ValueError, match="Invalid split value"):
        sequence.learn_second(start, split="train")
    with pytest.raises(ValueError, match="Invalid importance value"):
        sequence.learn_second(start, importance=-1.0)
    with pytest.raises(ValueError, match="Invalid steps value"):
        pf.TaskSequence(sequence.encoder, sequence.first, sequence.second, steps=(1,), lr=1e-3)
    with pytest.raises(TypeError, match="first must be a TaskSplits"):
        pf.TaskSequence(sequence.encoder, None, sequence.second, steps=(1, 1), lr=1e-3)


def test_search_distribution_runs_resumes_and_spreads_the_knots(tmp_path):
    sequence = _sequence(steps=(10, 4), fisher_examples=0)
    start = sequence.learn_first(0)
    found = pf.search_distribution(sequence, start, num_trials=2, knots=2, low=1e-4,
                                   high=1e-2, path=tmp_path / "s.db", seed=0)
    assert found["trials"] == 2 and found["ran"] == 2 and len(found["rates"]) == 4
    assert found["rates"][0] == pytest.approx(found["knots"][0])
    assert found["rates"][-1] == pytest.approx(found["knots"][-1])
    assert all(1e-4 <= rate <= 1e-2 for rate in found["rates"])
    assert 0.0 <= found["value"] <= 2.0 and found["value"] == max(v for _, v in found["values"])
    resumed = pf.search_distribution(sequence, start, num_trials=3, knots=2, low=1e-4,
                                     high=1e-2, path=tmp_path / "s.db", seed=0)
    assert resumed["trials"] == 3 and resumed["ran"] == 1
    with pytest.raises(ValueError, match="Invalid high value"):
        pf.search_distribution(sequence, start, num_trials=1, knots=2, low=1e-2, high=1e-3,
                               path=tmp_path / "t.db")


def test_points_phrase_reads_both_directions_ties_and_nan():
    assert pf.points_phrase(0.052) == "5.2 points more"
    assert pf.points_phrase(-0.01) == "1.0 point less"
    assert pf.points_phrase(-0.03, less="lower", more="higher") == "3.0 points lower"
    assert pf.points_phrase(0.002) == "no different (within 0.5 points)"
    assert pf.points_phrase(NAN) == "not measured"


def test_tradeoff_sentence_and_verdict():
    assert pf.tradeoff_sentence("the searched distribution", "the flat rate", -0.041, -0.02) == (
        "the searched distribution forgets 4.1 points less than the flat rate, and its "
        "accuracy on the second task is 2.0 points lower")
    assert pf.tradeoff_sentence("EWC", "the flat rate", 0.03, 0.001) == (
        "EWC forgets 3.0 points more than the flat rate, and its accuracy on the second task "
        "is as high (within 0.5 points)")
    assert pf.tradeoff_sentence("X", "Y", 0.0, NAN) == (
        "X forgets as much as Y (within 0.5 points), and its accuracy on the second task was "
        "not measured")
    assert pf.tradeoff_verdict(3.0, -0.01) == "agrees"
    assert pf.tradeoff_verdict(3.0, -0.05) == "disagrees"  # too costly on task B
    assert pf.tradeoff_verdict(1.0, 0.02) == "disagrees"  # not clearly better on task A
    assert pf.tradeoff_verdict(NAN, 0.0) == "not measured"


def test_names_are_exported_from_studies():
    for name in pf.__all__:
        assert getattr(studies, name) is getattr(pf, name)
