"""Chapter 22's pieces: text-only loss and bits, generation scores, and its verdicts."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from deepoptim.data import e2e_data, encode_pairs
from deepoptim.studies import (
    PairTask,
    fewer_parameters_verdict,
    generate_texts,
    generation_scores,
    overhead_phrase,
    text_bits,
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
        "matches or beats LoRA r=4 with fewer trainable parameters", "agrees")
    assert fewer_parameters_verdict({"LoRA r=4": (100, 800, -3.0)}) == (
        "does not match or beat LoRA r=4 with fewer trainable parameters", "disagrees")
    # more parameters than the LoRA arm: not the claim, whatever the metric
    assert fewer_parameters_verdict({"a": (900, 800, 5.0)})[1] == "disagrees"
    # for a loss, lower is better
    assert fewer_parameters_verdict({"a": (1, 2, -3.0)}, better="lower")[1] == "agrees"
    text, verdict = fewer_parameters_verdict(
        {"a": (1, 2, 0.0), "b": (1, 2, -2.5), "c": (1, 2, math.nan)})
    assert text == "matches or beats a with fewer trainable parameters, but not b " \
                   "(unknown against c)"
    assert verdict == "partly"
    assert fewer_parameters_verdict({"a": (1, 2, math.nan)})[1] == "not measured"
    with pytest.raises(ValueError, match="Invalid better value"):
        fewer_parameters_verdict({"a": (1, 2, 0.0)}, better="up")


def test_overhead_phrase():
    assert overhead_phrase(1.25) == "25% higher than the base's"
    assert overhead_phrase(1.01) == "the same as the base's"
    assert overhead_phrase(0.8) == "20% lower than the base's"
    assert overhead_phrase(math.nan) == "not measured"
