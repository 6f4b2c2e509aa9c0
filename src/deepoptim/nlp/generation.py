"""Generating text with a causal language model, and scoring it against references.

* :func:`greedy_continue` continues prompts of *different* lengths in one batch: the prompts are
  right-padded, and row ``i`` reads the logits at its own last position. A causal model's
  logits at a position never depend on later positions, so the padding changes nothing, and no
  attention mask is needed: any ``model(ids) -> logits`` works (a GPT, or one wrapped by an
  adapter). Rows stop at the ``stop`` id; the loop ends when every row has stopped. This
  re-runs every prefix for each new token. A model with a ``make_cache(batch)`` method whose
  ``forward(ids, cache)`` feeds only new tokens (:meth:`deepoptim.models.GPT.make_cache`, also
  through ``peft``'s LoRA and :class:`~deepoptim.adapters.SoloConnected`) is instead fed the
  padded prompts once, then one token per row per step (:mod:`deepoptim.models.kv_cache`):
  the same tokens, in linear instead of quadratic cost.
* :func:`bleu`: corpus BLEU (Papineni et al., 2002) from ``sacrebleu`` (Post, 2018) with its
  defaults (13a tokenisation, exponential smoothing), on the 0-100 scale. Each hypothesis may
  have its own number of references: sacrebleu takes reference *streams*, and a hypothesis
  with fewer references gets ``None`` in the streams it lacks.
* :func:`rouge_l`: ROUGE-L F-measure (Lin, 2004) from Google's ``rouge-score`` (no stemming,
  its default tokenisation), scored by ``score_multi`` against each hypothesis's references
  (the best reference counts) and averaged over hypotheses, on the 0-100 scale. The E2E
  challenge's official script computes ROUGE-L differently (pycocoevalcap's multi-reference
  formula), so values are comparable within this library, not with published E2E tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from deepoptim._checks import check_int_at_least


@torch.no_grad()
def greedy_continue(
    model: nn.Module,
    prompts: Sequence[torch.Tensor],
    max_new_tokens: int,
    *,
    stop: int | None = None,
    batch_size: int = 64,
    cache: bool = True,
) -> list[torch.Tensor]:
    """The greedy continuation of every prompt (1-D id tensors), at most ``max_new_tokens``
    ids each, ending with ``stop`` where the model emitted it.

    Runs in eval mode (the model's mode is restored). A prompt plus its continuation must fit
    the model's context. ``cache``: decode with the model's key/value cache where it has one
    (a ``make_cache`` method); ``False`` re-runs every prefix (the same tokens, slower).
    """
    check_int_at_least("max_new_tokens", max_new_tokens, 1)
    check_int_at_least("batch_size", batch_size, 1)
    if not prompts or any(
        not isinstance(p, torch.Tensor) or p.dim() != 1 or len(p) == 0 for p in prompts
    ):
        raise ValueError("Invalid prompts value: expected non-empty 1-D tensors of token ids")
    if not isinstance(cache, bool):
        raise TypeError(f"cache must be a bool, got {type(cache).__name__}")
    decode = _continue_cached if cache and hasattr(model, "make_cache") else _continue
    was_training = model.training
    model.eval()
    try:
        return [
            new
            for start in range(0, len(prompts), batch_size)
            for new in decode(model, prompts[start : start + batch_size], max_new_tokens, stop)
        ]
    finally:
        model.train(was_training)


def _padded(prompts: Sequence[torch.Tensor], extra: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The prompts' lengths, and the prompts right-padded with zeros to the longest + extra."""
    lengths = torch.tensor([len(p) for p in prompts])
    ids = torch.zeros(len(prompts), int(lengths.max()) + extra, dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, : len(prompt)] = prompt
    return lengths, ids


def _continue(
    model: nn.Module, prompts: Sequence[torch.Tensor], max_new_tokens: int, stop: int | None
) -> list[torch.Tensor]:
    lengths, ids = _padded(prompts, max_new_tokens)
    position = lengths.clone()  # where each row's next id goes
    active = torch.ones(len(prompts), dtype=torch.bool)
    for _ in range(max_new_tokens):
        rows = active.nonzero().squeeze(1)
        if len(rows) == 0:
            break
        logits = model(ids[rows, : int(position[rows].max())])
        following = logits[torch.arange(len(rows)), position[rows] - 1].argmax(dim=-1)
        ids[rows, position[rows]] = following
        position[rows] += 1
        if stop is not None:
            active[rows[following == stop]] = False
    return [ids[row, int(lengths[row]) : int(position[row])] for row in range(len(prompts))]


def _continue_cached(
    model: nn.Module, prompts: Sequence[torch.Tensor], max_new_tokens: int, stop: int | None
) -> list[torch.Tensor]:
    """:func:`_continue` with the model's cache: the padded prompts in one forward, the
    padding forgotten, then each unstopped row's last id per step (rows leave as they stop)."""
    lengths, ids = _padded(prompts, 0)
    cache = model.make_cache(len(prompts))
    logits = model(ids, cache=cache)
    cache.rewind(lengths)
    following = logits[torch.arange(len(prompts)), lengths - 1].argmax(dim=-1)
    rows = torch.arange(len(prompts))
    new: list[list[int]] = [[] for _ in prompts]
    for step in range(max_new_tokens):
        for row, token in zip(rows.tolist(), following.tolist(), strict=True):
            new[row].append(token)
        if stop is not None and bool((following == stop).any()):
            going = following != stop
            rows, following, cache = rows[going], following[going], cache.select(going)
        if step == max_new_tokens - 1 or len(rows) == 0:
            break
        following = model(following[:, None], cache=cache)[:, -1].argmax(dim=-1)
    return [torch.tensor(tokens, dtype=torch.long) for tokens in new]


def _check_references(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> None:
    if not hypotheses or len(references) != len(hypotheses):
        raise ValueError(
            f"Invalid references value: {len(references)} reference lists (expected one per "
            f"hypothesis, {len(hypotheses)}, at least 1)"
        )
    if not all(isinstance(h, str) for h in hypotheses):
        raise TypeError("hypotheses must be a sequence of str")
    if any(not refs or not all(isinstance(r, str) for r in refs) for refs in references):
        raise ValueError("Invalid references value: every hypothesis needs at least one str")


def bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU (0-100) of ``hypotheses[i]`` against the texts ``references[i]``."""
    _check_references(hypotheses, references)
    import sacrebleu

    streams = [
        [refs[k] if k < len(refs) else None for refs in references]
        for k in range(max(map(len, references)))
    ]
    return float(sacrebleu.corpus_bleu(list(hypotheses), streams).score)


def rouge_l(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """Mean over hypotheses of the best ROUGE-L F-measure against their references (0-100)."""
    _check_references(hypotheses, references)
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    scores = [
        scorer.score_multi(list(refs), hyp)["rougeL"].fmeasure
        for hyp, refs in zip(hypotheses, references, strict=True)
    ]
    return 100.0 * sum(scores) / len(scores)
