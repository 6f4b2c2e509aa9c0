r"""Chapter 22's (Solo-Connection against LoRA) fine-tuning runs and the sentences of its results.

The pieces the chapter composes with :func:`deepoptim.train.fit`:

* :class:`PairTask`: fine-tuning a causal byte-level model on prompt/text pairs
  (:func:`~deepoptim.data.encode_pairs`), the loss the mean cross-entropy of the text's bytes
  only, evaluated as :func:`text_bits` (bits per text byte) on held-out pairs;
* :func:`generate_texts` (greedy texts for meaning representations) and :func:`generation_scores`
  (BLEU, ROUGE-L, slot error rate);
* :func:`tune_then_repeat`: each arm's learning rate picked on a dev metric from the first
  seed's runs, that seed's chosen run kept, the other seeds trained at the chosen rate;
* :class:`HeldOutTokenTask`: sentence classification (a frozen encoder with an adapter and a
  head) evaluated on its held-out split only.

Batches are cut after their last scored position (:func:`crop`): a causal model's logits
at a position never depend on later ones, so the cut changes no loss, only the cost.

The verdicts map what was measured to words, covering both directions, ties and a missing
value (NaN); each states its criterion:

* :func:`lora_comparisons` pairs each LoRA arm with the Solo-Connection arm that has fewer
  trainable parameters and the best dev score, and :func:`fewer_parameters_verdict` judges
  the paper's claim "Solo-Connection matches or beats LoRA
  with fewer trainable parameters", judged against each LoRA arm separately;
* :func:`overhead_phrase`: an inference cost per token relative to the frozen base's.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_int_at_least
from ..data import E2EExample, PairBatch, prompt_ids, slot_error_rate, text_of
from ..data.byte_pairs import EOS, IGNORE_INDEX
from ..nlp import bleu, greedy_continue, rouge_l
from ..train import Task, TokenClassificationTask, evaluate
from .summaries import standardized_difference
from .verdicts import clear_difference, joined, relative_phrase, share_verdict

__all__ = [
    "HeldOutTokenTask",
    "PairTask",
    "crop",
    "fewer_parameters_verdict",
    "generate_texts",
    "generation_scores",
    "lora_comparisons",
    "overhead_phrase",
    "text_bits",
    "tune_then_repeat",
]

_NOT_MEASURED = "not measured"


def crop(batch: PairBatch) -> PairBatch:
    """``batch`` without the columns after its last scored target (all padding)."""
    scored = (batch.targets != IGNORE_INDEX).any(dim=0).nonzero()
    end = int(scored[-1]) + 1 if len(scored) else 1
    return PairBatch(batch.inputs[:, :end], batch.targets[:, :end])


@torch.no_grad()
def text_bits(model: nn.Module, batch: PairBatch, batch_size: int = 64) -> float:
    """Mean cross-entropy of ``model`` on the scored (text and EOS) bytes of ``batch``, in
    bits per byte; eval mode, the model's mode restored."""
    was_training = model.training
    model.eval()
    try:
        total, count = 0.0, 0
        for start in range(0, len(batch.inputs), batch_size):
            inputs, targets = crop(PairBatch(batch.inputs[start : start + batch_size],
                                             batch.targets[start : start + batch_size]))
            logits = model(inputs)
            total += float(F.cross_entropy(logits.flatten(0, 1), targets.flatten(),
                                           reduction="sum"))
            count += int((targets != IGNORE_INDEX).sum())
    finally:
        model.train(was_training)
    return total / (count * math.log(2))


@dataclasses.dataclass(frozen=True, eq=False)
class PairTask(Task):
    """Fine-tuning on ``train`` pairs: batches of ``batch_size`` rows (a fresh permutation per
    epoch), loss the mean cross-entropy over scored bytes; evaluated as ``dev_bits``
    (:func:`text_bits` on ``dev``)."""

    train: PairBatch
    dev: PairBatch
    batch_size: int = 16

    def __post_init__(self) -> None:
        check_int_at_least("batch_size", self.batch_size, 1)

    def batches(self, generator: torch.Generator) -> Iterator[PairBatch]:
        n = len(self.train.inputs)
        while True:
            order = torch.randperm(n, generator=generator)
            for start in range(0, n - self.batch_size + 1, self.batch_size):
                index = order[start : start + self.batch_size]
                yield crop(PairBatch(self.train.inputs[index], self.train.targets[index]))

    def loss(self, model: nn.Module, batch: PairBatch) -> torch.Tensor:
        logits = model(batch.inputs)
        return F.cross_entropy(logits.flatten(0, 1), batch.targets.flatten())

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {"dev_bits": text_bits(model, self.dev)}


def generate_texts(model: nn.Module, examples: Sequence[E2EExample], max_new_tokens: int,
             batch_size: int = 64) -> list[str]:
    """The greedy text of ``model`` for each example's MR (prompt ``str(mr)`` + SEP, up to EOS
    or ``max_new_tokens`` bytes)."""
    prompts = [prompt_ids(str(example.mr)) for example in examples]
    new = greedy_continue(model, prompts, max_new_tokens, stop=EOS, batch_size=batch_size)
    return [text_of(ids) for ids in new]


def generation_scores(examples: Sequence[E2EExample], texts: Sequence[str]) -> dict[str, float]:
    """``bleu`` and ``rouge_l`` (0-100) against the examples' references and the slot error
    rate ``ser`` (0-1) of ``texts``."""
    references = [example.references for example in examples]
    return {
        "bleu": bleu(texts, references),
        "rouge_l": rouge_l(texts, references),
        "ser": slot_error_rate([example.mr for example in examples], texts),
    }


@dataclasses.dataclass(frozen=True, eq=False)
class HeldOutTokenTask(TokenClassificationTask):
    """:class:`~deepoptim.train.TokenClassificationTask` evaluated on ``data.test`` only
    (``test_loss``, ``test_acc``): give it a dev split there to pick a learning rate."""

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        tokens = self.data.test
        loss, accuracy = evaluate(model, (tokens.input_ids, tokens.attention_mask),
                                  tokens.labels, self.loss_fn, self.eval_batch_size)
        return {"test_loss": loss, "test_acc": accuracy}


def tune_then_repeat(
    train: Callable[[str, float, int], tuple[Any, dict[str, Any]]],
    names: Iterable[str],
    lrs: Sequence[float],
    seeds: Sequence[int],
    metric: str,
) -> tuple[dict[str, float], list[dict[str, Any]], list[tuple[Any, dict[str, Any]]]]:
    """Pick each arm's learning rate on the first seed, then repeat it over the other seeds.

    ``train(name, lr, seed)`` returns ``(model, record)``, the record holding ``metric`` (lower
    is better; a value that is not finite ranks last). For each name, every lr of ``lrs`` is
    trained from ``seeds[0]``; the lowest ``metric`` wins (the first of equal ones). Returns
    ``(best_lr, sweep, runs)``: the chosen lr per name, every first-seed record, and for each
    name the ``(model, record)`` of its chosen first-seed run followed by those of the other
    seeds at that lr (trained after the whole sweep).
    """
    names, lrs, seeds = list(names), [float(lr) for lr in lrs], list(seeds)
    if not lrs or not seeds:
        raise ValueError(f"Invalid lrs or seeds value: {lrs!r}, {seeds!r} (give at least one "
                         "of each)")
    first = {(name, lr): train(name, lr, seeds[0]) for name in names for lr in lrs}

    def rank(lr: float, name: str) -> float:
        value = float(first[name, lr][1][metric])
        return value if math.isfinite(value) else math.inf

    best = {name: min(lrs, key=lambda lr, name=name: rank(lr, name)) for name in names}
    runs = [run for name in names
            for run in [first[name, best[name]],
                        *(train(name, best[name], seed) for seed in seeds[1:])]]
    return best, [record for _, record in first.values()], runs


def lora_comparisons(summary: pd.DataFrame, metric: str, select: str
                     ) -> dict[str, tuple[int, int, float]]:
    """The input of :func:`fewer_parameters_verdict` from a summary of arms.

    ``summary`` is :func:`deepoptim.experiment.summarize` by ``arm`` with ``params``, ``metric``
    and ``select`` (a dev loss: lower is better). Each arm named "LoRA ..." is paired with the
    arm named "Solo ..." that has fewer trainable parameters and the lowest mean ``select``;
    the value is ``(solo_params, lora_params, statistic)``, the statistic Welch's of Solo's
    mean ``metric`` minus LoRA's (:func:`standardized_difference`), keyed "LoRA r=4 (Solo k=2
    r=16)". A LoRA arm with no smaller Solo arm is left out.
    """
    table = summary.rename(columns={"arm": "config"})
    solos = table[table["config"].str.startswith("Solo")]
    pairs = {}
    for _, lora in table[table["config"].str.startswith("LoRA")].iterrows():
        smaller = solos[solos["params_mean"] < lora["params_mean"]]
        if len(smaller):
            solo = smaller.loc[smaller[f"{select}_mean"].idxmin()]
            pairs[f"{lora['config']} ({solo['config']})"] = (
                int(solo["params_mean"]), int(lora["params_mean"]),
                standardized_difference(table, solo["config"], lora["config"], metric=metric))
    return pairs


def fewer_parameters_verdict(
    comparisons: Mapping[str, tuple[int, int, float]], *, better: str = "higher"
) -> tuple[str, str]:
    """The claim "Solo-Connection matches or beats LoRA with fewer trainable parameters".

    ``comparisons`` maps each LoRA arm's name to ``(solo_params, lora_params, statistic)``:
    the trainable parameters of the Solo arm compared with it (the best one, chosen on dev,
    among those with fewer parameters than the LoRA arm) and Welch's statistic of (Solo -
    LoRA) on the metric (``better``: ``"higher"`` for BLEU, ``"lower"`` for a loss). A
    comparison holds when Solo has fewer parameters and is not clearly worse (within two
    standard errors, :func:`clear_difference`). Returns a predicate for the text ("is not
    clearly worse than LoRA r=4 and LoRA r=8 with fewer trainable parameters, but not than
    LoRA r=1") and the verdict (:func:`share_verdict`;
    "not measured" when no statistic is known).
    """
    if better not in ("higher", "lower"):
        raise ValueError(f"Invalid better value: {better!r} (expected 'higher' or 'lower')")
    if not comparisons:
        raise ValueError("Invalid comparisons value: {} (give at least one LoRA arm)")
    worse = "clearly lower" if better == "higher" else "clearly higher"
    held, failed, unknown = [], [], []
    for name, (solo_params, lora_params, statistic) in comparisons.items():
        words = clear_difference(statistic)
        if words == "unknown":
            unknown.append(name)
        elif solo_params < lora_params and words != worse:
            held.append(name)
        else:
            failed.append(name)
    if len(unknown) == len(comparisons):
        return "could not be compared with LoRA (one seed)", _NOT_MEASURED
    fewer = "with fewer trainable parameters"
    text = f"is not clearly worse than {joined(held)} {fewer}" if held else ""
    if failed:
        text += (f", but not than {joined(failed)}" if held
                 else f"is not both smaller than and not clearly worse than {joined(failed)}")
    if unknown:
        text += f" (unknown against {joined(unknown)})"
    return text, share_verdict(len(held), len(held) + len(failed))


def overhead_phrase(ratio: float) -> str:
    """An inference time per token over the frozen base's, in words: "12% higher than the
    base's", "the same as the base's", "not measured" (NaN)."""
    words = relative_phrase(ratio, tolerance=0.02)
    if words == "not measured":
        return words
    return "the same as the base's" if words == "the same" else f"{words} than the base's"
