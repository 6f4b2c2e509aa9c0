"""Greedy continuation of ragged prompts, and BLEU / ROUGE-L equal to their libraries'."""

from __future__ import annotations

import pytest
import sacrebleu
import torch
from rouge_score import rouge_scorer
from torch import nn

from deepoptim.nlp import bleu, greedy_continue, rouge_l


class CausalBag(nn.Module):
    """A causal toy LM: logits at t from the mean embedding of tokens <= t (and t itself)."""

    def __init__(self, vocab: int = 11, dim: int = 8) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed, self.out = nn.Embedding(vocab, dim), nn.Linear(2 * dim, vocab)
        self.calls: list[tuple[int, int]] = []

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(ids.shape))
        e = self.embed(ids)
        mean = e.cumsum(1) / torch.arange(1, ids.shape[1] + 1)[:, None]
        return self.out(torch.cat([mean, e], -1))


class Counter(nn.Module):
    """Next token = last token + 1 (mod 10)."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.one_hot((ids + 1) % 10, 10).float()


def test_counter_continues_and_stops():
    prompts = [torch.tensor([1, 2]), torch.tensor([5]), torch.tensor([7, 8, 8])]
    out = greedy_continue(Counter(), prompts, 4, stop=0)
    assert [o.tolist() for o in out] == [[3, 4, 5, 6], [6, 7, 8, 9], [9, 0]]
    assert [o.tolist() for o in greedy_continue(Counter(), prompts, 2)] == [[3, 4], [6, 7],
                                                                           [9, 0]]


def test_ragged_batch_equals_one_prompt_at_a_time():
    model = CausalBag().train()
    g = torch.Generator().manual_seed(1)
    prompts = [torch.randint(11, (n,), generator=g) for n in (1, 7, 3, 12, 5)]
    together = greedy_continue(model, prompts, 9, stop=4, batch_size=3)
    for prompt, got in zip(prompts, together, strict=True):
        assert torch.equal(greedy_continue(model, [prompt], 9, stop=4)[0], got)
        assert len(got) == 9 or got[-1] == 4
    assert model.training  # mode restored


def test_finished_rows_leave_the_batch():
    model = CausalBag()
    greedy_continue(model, [torch.tensor([1])], 3)
    assert model.calls == [(1, 1), (1, 2), (1, 3)]  # one row, growing by one token a step


def test_bad_prompts_rejected():
    with pytest.raises(ValueError, match="Invalid prompts value"):
        greedy_continue(Counter(), [torch.tensor([])], 3)
    with pytest.raises(ValueError, match="Invalid max_new_tokens value: 0"):
        greedy_continue(Counter(), [torch.tensor([1])], 0)


HYPS = ["the cat sat on the mat", "a dog barks loudly at night", "it rains"]
REFS = [
    ["the cat sat on a mat", "there is a cat on the mat"],
    ["a dog barks at night"],
    ["it is raining", "rain falls", "it rains today"],
]


def test_bleu_is_sacrebleus_with_none_padded_streams():
    streams = [[r[k] if k < len(r) else None for r in REFS] for k in range(3)]
    assert bleu(HYPS, REFS) == sacrebleu.corpus_bleu(HYPS, streams).score
    assert bleu(["a b c d e"], [["a b c d e"]]) == pytest.approx(100.0)
    # the order of a hypothesis's references does not matter
    assert bleu(HYPS, [list(reversed(r)) for r in REFS]) == pytest.approx(bleu(HYPS, REFS))


def test_rouge_l_is_the_mean_best_f_measure():
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    expected = [max(scorer.score(r, h)["rougeL"].fmeasure for r in refs)
                for h, refs in zip(HYPS, REFS, strict=True)]
    assert rouge_l(HYPS, REFS) == pytest.approx(100 * sum(expected) / 3)
    # by hand: LCS("the cat sat", "the cat was sat") = 3 words, P = 1, R = 3/4
    assert rouge_l(["the cat sat"], [["the cat was sat"]]) == pytest.approx(100 * 6 / 7)


def test_metrics_reject_mismatched_references():
    with pytest.raises(ValueError, match="one per hypothesis"):
        bleu(HYPS, REFS[:2])
    with pytest.raises(ValueError, match="at least one str"):
        rouge_l(["x"], [[]])
