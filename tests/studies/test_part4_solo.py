"""Chapter 22's pieces: text-only loss and bits, generation scores, and its verdicts."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deepoptim.data import e2e_data, encode_pairs
from deepoptim.studies import (
    HeldOutTokenTask,
    PairTask,
    crop,
    fewer_parameters_verdict,
    generate_texts,
    generation_scores,
    lora_comparisons,
    overhead_phrase,
    text_bits,
    tune_then_repeat,
)
from deepoptim.train import fit


class Uniform(nn.Module):
    """Equal logits for all 256 bytes, and one parameter so an optimizer has something."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(256))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(*ids.shape, 256)


class Echo(nn.Module):
    """Emits, byte by byte, a fixed text after the first SEP (a causal 'model' for tests)."""

    def __init__(self, text: bytes) -> None:
        super().__init__()
        self.text = list(text) + [3]

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(*ids.shape, 256)
        for row in range(ids.shape[0]):
            sep = (ids[row] == 2).nonzero()
            if len(sep):
                for t in range(int(sep[0]), ids.shape[1]):
                    k = min(t - int(sep[0]), len(self.text) - 1)
                    logits[row, t, self.text[k]] = 1.0
        return logits


DATA = e2e_data(train=20, dev=5, test=5, seed=0)


def test_uniform_model_has_eight_bits_per_text_byte_and_bias_learns():
    train = encode_pairs(DATA.pairs("train"), length=360)
    dev = encode_pairs(DATA.pairs("dev"), length=360)
    model = Uniform()
    assert text_bits(model, dev) == pytest.approx(8.0)
    task = PairTask(train, dev, batch_size=8)
    history = fit(task, model, torch.optim.Adam(model.parameters(), lr=0.1), steps=30,
                  progress=False)
    evals = history.evals_frame()
    assert evals["dev_bits"].iloc[0] == pytest.approx(8.0)
    assert evals["dev_bits"].iloc[-1] < 6.0  # byte frequencies of the texts are learnt


def test_generation_of_a_reference_scores_perfectly():
    example = DATA.test[0]
    texts = generate_texts(Echo(example.references[0].encode()), [example], 300)
    assert texts == [example.references[0]]
    scores = generation_scores([example], texts)
    assert scores["bleu"] == pytest.approx(100.0)
    assert scores["rouge_l"] == pytest.approx(100.0)
    assert scores["ser"] == 0.0


def test_fewer_parameters_verdict_both_ways():
    assert fewer_parameters_verdict({"LoRA r=4": (100, 800, 0.5)}) == (
        "is not clearly worse than LoRA r=4 with fewer trainable parameters", "agrees")
    assert fewer_parameters_verdict({"LoRA r=4": (100, 800, -3.0)}) == (
        "is not both smaller than and not clearly worse than LoRA r=4", "disagrees")
    # more parameters than the LoRA arm: not the claim, whatever the metric
    assert fewer_parameters_verdict({"a": (900, 800, 5.0)})[1] == "disagrees"
    # for a loss, lower is better
    assert fewer_parameters_verdict({"a": (1, 2, -3.0)}, better="lower")[1] == "agrees"
    text, verdict = fewer_parameters_verdict(
        {"a": (1, 2, 0.0), "b": (1, 2, -2.5), "c": (1, 2, math.nan)})
    assert text == "is not clearly worse than a with fewer trainable parameters, but not " \
                   "than b (unknown against c)"
    assert verdict == "partly"
    assert fewer_parameters_verdict({"a": (1, 2, math.nan)})[1] == "not measured"
    with pytest.raises(ValueError, match="Invalid better value"):
        fewer_parameters_verdict({"a": (1, 2, 0.0)}, better="up")


def test_overhead_phrase():
    assert overhead_phrase(1.25) == "25% higher than the base's"
    assert overhead_phrase(1.01) == "the same as the base's"
    assert overhead_phrase(0.8) == "20% lower than the base's"
    assert overhead_phrase(math.nan) == "not measured"


def test_crop_drops_only_trailing_padding_and_keeps_the_loss():
    batch = encode_pairs(DATA.pairs("train")[:4], length=400)
    cropped = crop(batch)
    last = max(len(p) + len(t) + 1 for p, t in DATA.pairs("train")[:4])
    assert cropped.inputs.shape[1] == last < 400
    assert torch.equal(cropped.inputs, batch.inputs[:, :last])
    assert text_bits(Uniform(), cropped) == text_bits(Uniform(), batch)


def test_tune_then_repeat_keeps_the_first_seed_run_and_trains_the_rest_at_its_lr():
    calls = []

    def train(name, lr, seed):
        calls.append((name, lr, seed))
        loss = {"a": {0.1: 2.0, 1.0: 1.0}, "b": {0.1: 1.0, 1.0: math.nan}}[name][lr]
        return f"{name}{lr}{seed}", {"dev": loss + seed}

    best, sweep, runs = tune_then_repeat(train, ["a", "b"], [0.1, 1.0], [0, 5], "dev")
    assert best == {"a": 1.0, "b": 0.1}  # NaN ranks last
    assert len(sweep) == 4
    assert [model for model, _ in runs] == ["a1.00", "a1.05", "b0.10", "b0.15"]
    assert calls[4:] == [("a", 1.0, 5), ("b", 0.1, 5)]  # after the whole sweep
    with pytest.raises(ValueError, match="Invalid lrs or seeds"):
        tune_then_repeat(train, ["a"], [], [0], "dev")


def test_held_out_token_task_evaluates_the_held_out_split_only():
    from deepoptim.data.text import TokenizedSplits, Tokens

    class Mean(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(1, 2)

        def forward(self, ids, mask):
            return self.linear((ids * mask).float().mean(dim=1, keepdim=True))

    ids = torch.tensor([[1, 1], [5, 5], [1, 0]])
    train = Tokens(ids, torch.ones_like(ids), torch.tensor([0, 1, 0]))
    held_out = Tokens(ids[:1], torch.ones_like(ids[:1]), torch.tensor([1]))
    model = Mean()
    metrics = HeldOutTokenTask(TokenizedSplits(train, held_out), batch_size=2).evaluate(model)
    assert set(metrics) == {"test_loss", "test_acc"}
    with torch.no_grad():
        logits = model(held_out.input_ids, held_out.attention_mask)
    assert metrics["test_loss"] == pytest.approx(float(F.cross_entropy(logits, held_out.labels)))


def test_lora_comparisons_pick_the_smaller_solo_arm_with_the_best_dev_score():
    import pandas as pd

    from deepoptim.experiment import summarize

    rows = [("LoRA r=1", 100, 1.0, 50.0), ("LoRA r=4", 400, 0.9, 60.0),
            ("Solo a", 50, 1.2, 40.0), ("Solo b", 300, 0.8, 62.0), ("Solo c", 200, 1.1, 10.0)]
    records = pd.DataFrame([{"arm": arm, "seed": s, "params": params, "dev": dev,
                             "bleu": bleu + (s - 0.5)} for arm, params, dev, bleu in rows
                            for s in (0, 1)])
    pairs = lora_comparisons(summarize(records, ["arm"], ["params", "dev", "bleu"]), "bleu",
                             "dev")
    # each arm's two seeds are bleu +- 0.5: standard error sqrt(0.5/2 + 0.5/2) = sqrt(0.5)
    assert pairs == {"LoRA r=1 (Solo a)": (50, 100, pytest.approx(-10 / math.sqrt(0.5))),
                     "LoRA r=4 (Solo b)": (300, 400, pytest.approx(2 / math.sqrt(0.5)))}
    assert fewer_parameters_verdict(pairs)[1] == "partly"
    assert lora_comparisons(summarize(records[records["arm"] != "Solo a"], ["arm"],
                                      ["params", "dev", "bleu"]), "bleu", "dev").keys() \
        == {"LoRA r=4 (Solo b)"}
