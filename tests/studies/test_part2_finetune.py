"""Part II's fine-tuning chapter: one dropout mask per step, the dev split, the optimizers and
the seeded run on a tiny BERT (nothing downloaded), and the reach sentences both ways."""

from __future__ import annotations

import math

import pytest
import torch

from deepoptim import studies
from deepoptim.data import TokenizedSplits, Tokens
from deepoptim.models import SentenceClassifier, SentenceHead
from deepoptim.optim import PLASLS, SLS, AdamSLS

transformers = pytest.importorskip("transformers")


def tiny_bert(dropout: float = 0.1) -> torch.nn.Module:
    """A randomly initialised 2-layer BERT of width 16, with dropout and a pooler."""
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=8, hidden_dropout_prob=dropout,
                                     attention_probs_dropout_prob=dropout)
    return transformers.BertModel(config)


def tokens(n: int, seed: int) -> Tokens:
    """Class 1 texts start with token 7 after [CLS]; 3 classes in turn; 6 tokens, padded."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    ids = torch.randint(10, 30, (n, 6), generator=generator)
    ids[:, 1] = labels + 1
    mask = torch.ones(n, 6, dtype=torch.long)
    mask[::2, 4:] = 0
    return Tokens(ids * mask, mask, labels)


def splits() -> TokenizedSplits:
    return TokenizedSplits(tokens(30, 1), tokens(12, 2))


def classifier(dropout: float = 0.1) -> SentenceClassifier:
    return SentenceClassifier(tiny_bert(dropout), SentenceHead(16, 3))


class Recorder(torch.optim.SGD):
    """SGD that evaluates its closure three times (twice without gradients) and keeps the losses."""

    def __init__(self, params):
        super().__init__(params, lr=0.0)
        self.losses = []

    def step(self, closure):
        loss = closure()
        with torch.no_grad():
            self.losses.append((float(loss), float(closure()), float(closure())))
        return loss


def test_every_forward_pass_of_a_step_draws_the_same_dropout_masks():
    model = classifier().train()
    optimizer = Recorder(model.parameters())
    task = studies.FineTuningTask(splits(), batch_size=8)
    batch = next(task.batches(torch.Generator().manual_seed(0)))
    torch.manual_seed(3)
    task.step(model, optimizer, batch, None)
    task.step(model, optimizer, batch, None)
    (a, b, c), (d, _, _) = optimizer.losses
    assert a == b == c  # one mask within a step, though dropout is on
    assert d != a  # a new mask at the next step (same batch, same weights)
    # The global generator is where it would be after one draw per step, not after the passes.
    torch.manual_seed(3)
    torch.randint(0, 2**62, (1,))
    torch.randint(0, 2**62, (1,))
    expected = torch.rand(1)
    torch.manual_seed(3)
    task.step(model, optimizer, batch, None)
    task.step(model, optimizer, batch, None)
    assert torch.equal(torch.rand(1), expected)


def test_evaluation_reads_the_first_test_texts_only():
    model, data = classifier().eval(), splits()
    metrics = studies.FineTuningTask(data, max_test=5).evaluate(model)
    with torch.no_grad():
        logits = model(data.test.input_ids[:5], data.test.attention_mask[:5])
    assert set(metrics) == {"test_loss", "test_acc"}
    assert metrics["test_loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(
        logits, data.test.labels[:5])), rel=1e-5)
    assert metrics["test_acc"] == int((logits.argmax(1) == data.test.labels[:5]).sum()) / 5
    with pytest.raises(ValueError, match="max_test"):
        studies.FineTuningTask(data, max_test=0)


def test_dev_split_partitions_the_training_set_stratified():
    data = splits()
    dev = studies.dev_split(data, 0.2, seed=0)
    assert len(dev.train.labels) == 24 and len(dev.test.labels) == 6
    assert torch.bincount(dev.test.labels).tolist() == [2, 2, 2]
    rows = torch.cat([dev.train.input_ids, dev.test.input_ids])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, data.train.input_ids.tolist()))
    assert torch.equal(studies.dev_split(data, 0.2, seed=0).test.input_ids, dev.test.input_ids)
    with pytest.raises(TypeError, match="tokens must be a TokenizedSplits"):
        studies.dev_split(data.train)


def test_finetune_optimizer_builds_each_method():
    model = classifier()
    adam, schedule = studies.finetune_optimizer("Adam", model, lr=1e-3, steps=20)
    assert isinstance(adam, torch.optim.Adam) and schedule is not None
    assert adam.param_groups[0]["lr"] == pytest.approx(5e-4)  # warm-up: step 1 of 2
    sls, none = studies.finetune_optimizer("SLS", model)
    assert isinstance(sls, SLS) and none is None
    assert sls.param_groups[0]["init_step_size"] == 0.1
    assert isinstance(studies.finetune_optimizer("AdamSLS", model)[0], AdamSLS)
    plasls = studies.finetune_optimizer("PLASLS", model)[0]
    assert isinstance(plasls, PLASLS)
    assert [g["name"] for g in plasls.param_groups] == [
        "embeddings", "encoder.encoder.layer.0", "encoder.encoder.layer.1", "head"]
    with pytest.raises(ValueError, match="lr"):
        studies.finetune_optimizer("AdamSLS", model, lr=1e-3)
    with pytest.raises(ValueError, match="Adam needs lr"):
        studies.finetune_optimizer("Adam", model, lr=1e-3)
    with pytest.raises(ValueError, match="name"):
        studies.finetune_optimizer("SGD", model)


@pytest.mark.parametrize("name", ["Adam", "AdamSLS", "PLASLS"])
def test_finetune_counts_forward_passes_and_is_seeded(name):
    encoder = tiny_bert()
    before = [p.detach().clone() for p in encoder.parameters()]
    lr = 1e-3 if name == "Adam" else None
    evals, steps = studies.finetune(encoder, splits(), name, steps=4, seed=1, batch_size=8,
                                    lr=lr, eval_every=2)
    assert evals["step"].tolist() == [0, 2, 4]
    assert evals["forwards"].tolist() == [0.0, *steps["forwards"].cumsum().iloc[[1, 3]]]
    if name == "Adam":
        assert steps["forwards"].tolist() == [1.0] * 4
    else:  # the gradient's pass and at least one trial per step
        assert (steps["forwards"] >= 2).all()
        assert steps["forwards"].tolist() == steps["loss_evals"].tolist()
    again, _ = studies.finetune(encoder, splits(), name, steps=4, seed=1, batch_size=8,
                                lr=lr, eval_every=2)
    assert again["test_loss"].tolist() == evals["test_loss"].tolist()
    # a copy trains: the encoder given is untouched
    assert all(torch.equal(p, q) for p, q in zip(encoder.parameters(), before, strict=True))


def test_first_reach_in_steps_or_forwards():
    assert studies.first_reach([0, 5, 10], [0.2, 0.6, 0.8], 0.6) == 5
    assert studies.first_reach([0, 9, 20], [0.2, 0.6, 0.8], 0.7) == 20
    assert math.isinf(studies.first_reach([0, 5], [0.2, 0.5], 0.6))
    assert math.isnan(studies.first_reach([], [], 0.6))
    assert math.isnan(studies.first_reach([0], [0.9], math.nan))
    with pytest.raises(ValueError, match="values"):
        studies.first_reach([0, 1], [0.5], 0.6)


def test_reach_phrase_and_sooner_both_ways():
    assert studies.reach_phrase(24, "steps", 48) == "after 24 steps"
    assert studies.reach_phrase(math.inf, "steps", 48) == "not within 48 steps"
    assert studies.reach_phrase(math.nan, "steps", 48) == "not measured"
    assert studies.sooner_word(10, 20) == "sooner than"
    assert studies.sooner_word(30, 20) == "later than"
    assert studies.sooner_word(20, 20) == "as soon as"
    assert studies.sooner_word(math.inf, math.inf) == "as soon as"
    assert studies.sooner_word(10, math.inf) == "sooner than"
    assert studies.sooner_word(math.nan, 20) == "not compared with"


def test_sooner_verdict_counts_strictly_sooner_pairs():
    assert studies.sooner_verdict([(10, 20), (15, 20)]) == "agrees"
    assert studies.sooner_verdict([(10, 20), (20, 20)]) == "partly"  # a tie is not sooner
    assert studies.sooner_verdict([(30, 20), (math.inf, 20)]) == "disagrees"
    assert studies.sooner_verdict([(math.inf, math.inf)]) == "disagrees"
    assert studies.sooner_verdict([(30, math.inf)]) == "agrees"
    assert studies.sooner_verdict([(math.nan, 20)]) == "not measured"
    assert studies.sooner_verdict([(10, math.nan)]) == "not measured"
    assert studies.sooner_verdict([]) == "not measured"
