r"""Experiment code and sentences of Part II's chapter on classification heads.

Kenneweg, Schröder and Hammer ("Neural Architecture Search for Sentence Classification with
BERT", arXiv 2403.18547; Kenneweg 2025 thesis) search heads over a sentence encoder's token
vectors (:func:`~deepoptim.models.build_head`). With the encoder frozen, a head only ever sees
the encoder's last hidden states, so the chapter computes them once per task
(:func:`cache_hidden_states`) and trains every head on the cached tensors:

* :func:`cache_hidden_states`: MiniLM's last hidden states of a task's training and test texts
  (:class:`CachedTask`), and :func:`validation_split`, a seeded held-out part of the training
  set for the search to score on (the test set stays out of the search);
* :func:`train_head`: a seeded training run of a head on a cached task (Adam, warm-up cosine,
  cross-entropy on logits), with the test accuracy and the training time;
* :func:`suggest_head` and :func:`search_heads`: the search space as an optuna trial draws it,
  and a seeded TPE + Hyperband search (:mod:`~deepoptim.studies.search`) scored on validation
  accuracy after each epoch;
* :func:`batch_dependence`: how much one example's logits move when the rest of its batch is
  replaced, for our head and for the authors' sequence-first attention fed (B, T, D);
* the sentences: :func:`head_description`, :func:`batch_mixing_phrase`,
  :func:`versus_linear`,
  :func:`cost_verdict`.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_in_range, check_int_at_least, check_positive
from ..models import build_head
from ..schedules import make_schedule
from .search import load_or_create, optimize, report
from .verdicts import clear_difference, holds_verdict, joined, share_verdict

__all__ = [
    "PAPER_HEAD",
    "CachedTask",
    "CachedTokens",
    "batch_dependence",
    "batch_mixing_phrase",
    "cache_hidden_states",
    "cost_verdict",
    "head_description",
    "search_heads",
    "suggest_head",
    "train_head",
    "versus_linear",
    "validation_split",
]

#: The best head of the paper's combined search (its ``build_head`` settings) and its lr.
PAPER_HEAD: dict[str, Any] = {"transformer_layers": 4, "num_heads": 1, "conv_layers": 1,
                              "conv_hidden": 40, "kernel_size": 11, "skip": True,
                              "pooling": "mean", "mlp_layers": 1}


class CachedTokens(NamedTuple):
    """One split's encoder outputs: ``hidden`` (N, T, D) float, ``attention_mask`` (N, T) and
    ``labels`` (N,)."""

    hidden: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


class CachedTask(NamedTuple):
    """A task's cached encoder outputs: ``train`` and ``test`` splits, ``num_classes``, and
    ``seconds``, the wall time the encoder took to compute them."""

    name: str
    num_classes: int
    train: CachedTokens
    test: CachedTokens
    seconds: float


@torch.no_grad()
def cache_hidden_states(encoder: nn.Module, tokenizer: Any, task: Any, *, max_length: int = 32,
                        batch_size: int = 64, max_test: int | None = None,
                        device: torch.device | str = "cpu") -> CachedTask:
    """The frozen ``encoder``'s last hidden states of ``task``'s texts (a
    :class:`~deepoptim.data.TextClassificationData`), cut to ``max_length`` tokens.

    The encoder runs in eval mode without gradients, ``batch_size`` texts at a time; the
    results are stored on ``device``. ``max_test`` keeps only the first test texts (for a
    short run).
    """
    check_int_at_least("batch_size", batch_size, 1)
    if max_test is not None:
        check_int_at_least("max_test", max_test, 1)
    tokens = task.tokenize(tokenizer, max_length)
    encoder.eval()
    start = time.perf_counter()
    splits = []
    for split, limit in ((tokens.train, None), (tokens.test, max_test)):
        ids, mask, labels = (tensor[:limit] for tensor in split)
        parts = []
        for i in range(0, len(ids), batch_size):
            batch_ids = ids[i:i + batch_size].to(device)
            batch_mask = mask[i:i + batch_size].to(device)
            parts.append(encoder(input_ids=batch_ids, attention_mask=batch_mask)
                         .last_hidden_state.float())
        splits.append(CachedTokens(torch.cat(parts), mask.to(device), labels.to(device)))
    return CachedTask(task.name, task.num_classes, splits[0], splits[1],
                      time.perf_counter() - start)


def validation_split(task: CachedTask, fraction: float = 0.2, *, seed: int = 0) -> CachedTask:
    """``task`` with its training set split in two, seeded: the new ``train`` is the first
    part and the new ``test`` the held-out ``fraction`` (a validation set; the real test set
    is left out)."""
    check_in_range("fraction", fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_int_at_least("seed", seed, 0)
    n = len(task.train.labels)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    held = max(1, round(fraction * n))
    if held >= n:
        raise ValueError(f"Invalid fraction value: {fraction!r} (leaves no training example)")
    pick = [order[held:].to(task.train.labels.device), order[:held].to(task.train.labels.device)]
    train, valid = (CachedTokens(*(tensor[index] for tensor in task.train)) for index in pick)
    return CachedTask(f"{task.name} (validation)", task.num_classes, train, valid, 0.0)


@torch.no_grad()
def _accuracy(head: nn.Module, split: CachedTokens, batch_size: int = 256) -> float:
    head.eval()
    correct = 0
    for i in range(0, len(split.labels), batch_size):
        logits = head(split.hidden[i:i + batch_size], split.attention_mask[i:i + batch_size])
        correct += int((logits.argmax(dim=1) == split.labels[i:i + batch_size]).sum())
    return correct / len(split.labels)


def train_head(head: nn.Module, task: CachedTask, *, epochs: int, lr: float,
               batch_size: int = 16, seed: int = 0,
               on_epoch: Callable[[int, float], None] | None = None) -> dict[str, float]:
    """Train ``head`` on ``task``'s cached training set and return its results.

    Adam at peak learning rate ``lr`` with a linear warm-up over 10% of the steps and a
    cosine decay (the paper's schedule), ``batch_size`` examples per step in an order drawn
    with ``seed``, cross-entropy on the head's logits, for ``epochs`` epochs. When
    ``on_epoch`` is given it is called as ``on_epoch(epoch, test_accuracy)`` after each
    epoch (from 1), outside the timed training (a search's pruner reports there).

    Returns ``test_acc``, ``train_loss`` (the mean loss of the last epoch), ``seconds`` (the
    training time, evaluations excluded) and ``params`` (the head's parameter count).
    """
    check_int_at_least("epochs", epochs, 1)
    check_positive("lr", lr)
    check_int_at_least("batch_size", batch_size, 1)
    hidden, mask, labels = task.train
    n = len(labels)
    steps_per_epoch = math.ceil(n / batch_size)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    scheduler = make_schedule(optimizer, "warmup_cosine", epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    seconds, last_loss = 0.0, math.nan
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        head.train()
        order = torch.randperm(n, generator=generator).to(labels.device)
        total = 0.0
        for i in range(0, n, batch_size):
            index = order[i:i + batch_size]
            loss = F.cross_entropy(head(hidden[index], mask[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(index)
        last_loss = total / n
        seconds += time.perf_counter() - start
        if on_epoch is not None:
            on_epoch(epoch, _accuracy(head, task.test))
    return {"test_acc": _accuracy(head, task.test), "train_loss": last_loss,
            "seconds": seconds, "params": float(sum(p.numel() for p in head.parameters()))}


def suggest_head(trial: Any, *, max_transformer_layers: int = 5, max_conv_layers: int = 5,
                 max_mlp_layers: int = 5, lr_range: tuple[float, float] = (1e-5, 1e-4)
                 ) -> dict[str, Any]:
    """The paper's search space as an optuna ``trial`` draws it: :func:`build_head`'s settings
    and ``lr``.

    0 to ``max_transformer_layers`` transformer blocks with ``num_heads`` in {1, 2, 4, 8, 16}
    (drawn only when there are blocks), 0 to ``max_conv_layers`` Conv1d layers of width 5-200
    (log scale), kernel in {3, 5, 7, 9, 11} and an optional skip (drawn only when there are
    layers), the pooling, an MLP of 1 to ``max_mlp_layers`` layers of width 5-200, and the
    learning rate log-uniform in ``lr_range`` (the paper's [1e-5, 1e-4] by default). The
    paper's space has at least one transformer block or conv layer optional each; 0 here
    means the stage is left out.
    """
    check_int_at_least("max_transformer_layers", max_transformer_layers, 0)
    check_int_at_least("max_conv_layers", max_conv_layers, 0)
    check_int_at_least("max_mlp_layers", max_mlp_layers, 1)
    low, high = lr_range
    check_positive("lr_range[0]", low)
    if high < low:
        raise ValueError(f"Invalid lr_range value: {lr_range!r} (expected (low, high), low <= "
                         "high)")
    settings: dict[str, Any] = {"transformer_layers": trial.suggest_int(
        "transformer_layers", 0, max_transformer_layers)}
    if settings["transformer_layers"]:
        settings["num_heads"] = trial.suggest_categorical("num_heads", [1, 2, 4, 8, 16])
    settings["conv_layers"] = trial.suggest_int("conv_layers", 0, max_conv_layers)
    if settings["conv_layers"]:
        settings["conv_hidden"] = trial.suggest_int("conv_hidden", 5, 200, log=True)
        settings["kernel_size"] = trial.suggest_categorical("kernel_size", [3, 5, 7, 9, 11])
        settings["skip"] = trial.suggest_categorical("skip", [False, True])
    settings["pooling"] = trial.suggest_categorical("pooling", ["mean", "max", "cls"])
    settings["mlp_layers"] = trial.suggest_int("mlp_layers", 1, max_mlp_layers)
    if settings["mlp_layers"] > 1:
        settings["mlp_hidden"] = trial.suggest_int("mlp_hidden", 5, 200, log=True)
    settings["lr"] = trial.suggest_float("lr", low, high, log=True)
    return settings


def search_heads(task: CachedTask, *, num_trials: int, epochs: int, seed: int = 0,
                 batch_size: int = 16, path: str | Path | None = None,
                 space: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A seeded TPE + Hyperband search over heads (:func:`suggest_head`) on ``task``.

    Each trial builds its head with the trial's seed (``seed`` + trial number), trains it
    with :func:`train_head` for up to ``epochs`` epochs and reports its accuracy on
    ``task.test`` after each epoch (give a :func:`validation_split`, never the real test
    set); Hyperband stops trials behind their bracket. The study lives in the SQLite file
    ``path`` (a fresh temporary file when ``None``), so the search is rerun in full.
    ``space`` is passed to :func:`suggest_head`.

    Returns ``settings`` (the best trial's, ``lr`` included), ``value`` (its validation
    accuracy), ``trials`` (finished trials), ``pruned`` (how many of them Hyperband
    stopped), ``seconds`` (the search's wall time) and ``study``.
    """
    check_int_at_least("num_trials", num_trials, 1)
    check_int_at_least("epochs", epochs, 1)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="heads_search_")) / "search.db"
    study = load_or_create(path, "heads", seed=seed, max_resource=epochs)
    space = dict(space or {})

    def objective(trial: Any) -> float:
        settings = suggest_head(trial, **space)
        lr = settings.pop("lr")
        torch.manual_seed(seed + trial.number)
        head = build_head(task.train.hidden.shape[-1], task.num_classes, **settings)
        head = head.to(task.train.hidden.device)
        result = train_head(head, task, epochs=epochs, lr=lr, batch_size=batch_size,
                            seed=seed + trial.number,
                            on_epoch=lambda epoch, acc: report(trial, acc, epoch))
        return result["test_acc"]

    start = time.perf_counter()
    optimize(study, objective, num_trials)
    seconds = time.perf_counter() - start
    states = [trial.state for trial in study.trials]
    return {"settings": _settings_of(study.best_trial.params), "value": study.best_value,
            "trials": len(study.trials),
            "pruned": sum(s == optuna.trial.TrialState.PRUNED for s in states),
            "seconds": seconds, "study": study}


def _settings_of(params: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's parameters as :func:`build_head` settings plus ``lr`` (defaults where a stage
    is left out)."""
    return {key: params[key] for key in ("transformer_layers", "num_heads", "conv_layers",
                                         "conv_hidden", "kernel_size", "skip", "pooling",
                                         "mlp_layers", "mlp_hidden", "lr") if key in params}


@torch.no_grad()
def batch_dependence(head: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                     hidden: torch.Tensor, attention_mask: torch.Tensor,
                     other_hidden: torch.Tensor, other_mask: torch.Tensor) -> float:
    """The largest change of example 0's output when the rest of its batch is replaced.

    ``head(hidden, attention_mask)`` (a module in eval mode, or any function of the batch)
    sees the batch, then the same example 0 with rows 1: taken from ``other_hidden`` and
    ``other_mask`` (same shapes); returns the maximum absolute difference of row 0 of the two
    outputs. A head that treats each example on its own gives 0 (up to round-off).
    """
    if hidden.shape != other_hidden.shape or attention_mask.shape != other_mask.shape:
        raise ValueError(f"Invalid other_hidden value: shapes {tuple(other_hidden.shape)} and "
                         f"{tuple(other_mask.shape)} (expected those of hidden, "
                         f"{tuple(hidden.shape)}, and of its mask)")
    if len(hidden) < 2:
        raise ValueError(f"Invalid hidden value: a batch of {len(hidden)} (expected at least "
                         "two examples)")
    mixed_hidden = torch.cat([hidden[:1], other_hidden[1:]])
    mixed_mask = torch.cat([attention_mask[:1], other_mask[1:]])
    first = head(hidden, attention_mask)[0]
    second = head(mixed_hidden, mixed_mask)[0]
    return float((first - second).abs().max())


def head_description(settings: Mapping[str, Any]) -> str:
    """A head's :func:`build_head` settings in words: "2 transformer blocks with 4 heads, a
    Conv1d of 40 channels (kernel 11) with skip, mean pooling and a linear layer"."""
    parts = []
    blocks = int(settings.get("transformer_layers", 0))
    if blocks:
        heads = int(settings.get("num_heads", 1))
        parts.append(f"{blocks} transformer block{'s' if blocks > 1 else ''} with {heads} "
                     f"head{'s' if heads > 1 else ''}")
    convs = int(settings.get("conv_layers", 0))
    if convs:
        stack = "a Conv1d" if convs == 1 else f"{convs} Conv1d layers"
        skip = "with" if settings.get("skip", False) else "without"
        parts.append(f"{stack} of {int(settings.get('conv_hidden', 40))} channels (kernel "
                     f"{int(settings.get('kernel_size', 11))}) {skip} skip")
    parts.append(f"{settings.get('pooling', 'mean')} pooling")
    layers = int(settings.get("mlp_layers", 1))
    parts.append("a linear layer" if layers == 1 else
                 f"an MLP of {layers} layers (width {int(settings.get('mlp_hidden', 64))})")
    return joined(parts)


def batch_mixing_phrase(ours: float, mixed: float, *, tolerance: float = 1e-5) -> str:
    """What :func:`batch_dependence` measured for our head (``ours``) and for the
    sequence-first attention (``mixed``), as a sentence: a head is independent of its batch
    when example 0's logits move by at most ``tolerance``."""
    check_positive("tolerance", tolerance)
    if math.isnan(ours) or math.isnan(mixed):
        return "The dependence on the batch was not measured."

    def words(name: str, gap: float) -> str:
        if gap == 0:
            return f"{name} are unchanged (exactly)"
        if gap <= tolerance:
            return f"{name} are unchanged (they move by {gap:.1e}, round-off)"
        return f"{name} move by up to {gap:.3g}"
    return (f"When the other examples of the batch are replaced, {words('our head’s logits', ours)}"
            f" and {words('the sequence-first attention’s outputs', mixed)}.")


def versus_linear(statistics: Mapping[str, float]) -> tuple[str, str]:
    """The claim "this head is more accurate than the linear head", from Welch's statistic of
    (head's test accuracy - linear head's) on each task (keys: the tasks' names).

    A task agrees when the head is clearly more accurate (beyond two standard errors,
    :func:`clear_difference`). Returns a predicate ("is clearly more accurate than the linear
    head on docstrings and not clearly different on passages") and the verdict
    (:func:`share_verdict` over the tasks with a known statistic; "not measured" if none).
    """
    if not statistics:
        raise ValueError("Invalid statistics value: {} (give at least one task)")
    words_of = {"clearly higher": "clearly more accurate", "clearly lower": "clearly less accurate",
                "not clearly different": "not clearly different",
                "unknown": "of unknown difference (one seed)"}
    words = {task: clear_difference(statistic) for task, statistic in statistics.items()}
    parts = [f"{words_of[w]} on {task}" for task, w in words.items()]
    known = [w for w in words.values() if w != "unknown"]
    verdict = (share_verdict(sum(w == "clearly higher" for w in known), len(known)) if known
               else "not measured")
    if not known:
        phrase = ("differs from the linear head by an unknown amount on " + joined(list(words))
                  + " (one seed, or runs that all agree)")
    elif len(set(words.values())) == 1:
        only = words_of[next(iter(words.values()))]
        relation = "from" if only == "not clearly different" else "than"
        phrase = f"is {only} {relation} the linear head on {joined(list(words))}"
    else:
        phrase = "compared with the linear head, is " + joined(parts)
    return phrase, verdict


def cost_verdict(head_seconds: float, encoder_seconds: float, *, limit: float = 0.1
                 ) -> tuple[float, str]:
    """The claim "the head costs little compute", from the head's training time per epoch and
    the frozen encoder's forward time over the same texts.

    Fine-tuning the encoder costs about three of its forward passes per example (the backward
    pass about two), so the head's share of a fine-tuning epoch is about ``head_seconds /
    (3 * encoder_seconds)``; the claim agrees when that share is at most ``limit``. Returns
    the share and the verdict ("not measured" for NaN).
    """
    check_positive("limit", limit)
    if math.isnan(head_seconds) or math.isnan(encoder_seconds):
        return math.nan, "not measured"
    check_positive("encoder_seconds", encoder_seconds)
    share = head_seconds / (3 * encoder_seconds)
    return share, holds_verdict(share <= limit)
