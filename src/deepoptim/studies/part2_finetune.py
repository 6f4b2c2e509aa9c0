r"""Experiment code and sentences of Part II's chapter on fine-tuning with line searches.

Kenneweg, Galli, Kenneweg and Hammer ("Faster Convergence for Transformer Fine-tuning with
Line Search Methods", IJCNN 2023; Kenneweg 2025 thesis) fine-tune BERT with ADAMSLS and
PLASLS (:mod:`deepoptim.optim.linesearch`) against Adam with a warm-up cosine schedule, and
report that the line searches reach good accuracy in fewer steps on small data (500
training texts). The chapter repeats that comparison on MiniLM with the library's training
loop and optimizers, unchanged:

* :class:`FineTuningTask`: :class:`~deepoptim.train.TokenClassificationTask` whose step draws
  one dropout mask for all the forward passes of a step (the gradient's and every trial
  point's), as the authors' code does, and whose evaluation reads the test set only
  (optionally its first ``max_test`` texts, to keep frequent evaluations cheap);
* :func:`dev_split`: a stratified held-out part of the training set, to tune Adam's learning
  rate without the test set;
* :func:`finetune_optimizer` builds one of :data:`FINETUNE_OPTIMIZERS` on a
  :class:`~deepoptim.models.SentenceClassifier` (PLASLS on the parts of
  :func:`~deepoptim.optim.split_encoder`: embeddings | one part per layer | head), and
  :func:`finetune` runs one seeded fine-tuning with :func:`~deepoptim.train.fit`, returning
  the evaluations with the forward passes counted up to each (the line searches' diagnostic
  ``loss_evals``; one per step for Adam);
* :func:`first_reach`: the first step (or forward pass) at which a curve reaches a target;
* the sentences: :func:`reach_phrase`, :func:`sooner_word`, :func:`sooner_verdict`.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .._checks import check_choice, check_in_range, check_int_at_least
from ..data.text import TokenizedSplits, Tokens
from ..experiment import seed_everything
from ..models import SentenceClassifier, SentenceHead
from ..optim import PLASLS, SLS, AdamSLS, split_encoder
from ..schedules import make_schedule
from ..train import TokenClassificationTask, evaluate, fit, optimizer_step
from .verdicts import share_verdict

__all__ = [
    "FINETUNE_OPTIMIZERS",
    "FineTuningTask",
    "dev_split",
    "finetune",
    "finetune_optimizer",
    "first_reach",
    "reach_phrase",
    "sooner_verdict",
    "sooner_word",
]

#: The optimizers the chapter compares: Adam with a warm-up cosine schedule, and the line
#: searches with their published defaults (SLS from the step size 0.1 of the IJCNN'23 runs).
FINETUNE_OPTIMIZERS = ("Adam", "SLS", "AdamSLS", "PLASLS")

_NOT_MEASURED = "not measured"


@dataclasses.dataclass(frozen=True, eq=False)
class FineTuningTask(TokenClassificationTask):
    """Fine-tuning on tokenised text with one dropout mask per step, evaluated on the test set.

    A line search evaluates the mini-batch loss several times per step; with dropout on,
    each evaluation would draw other masks and the Armijo test would compare losses of
    different networks. The step draws a seed from torch's global generator and every
    forward pass of the step runs under it (the global generator is restored after each), so
    the gradient's pass and the trial points share their masks; the next step draws a new
    seed. Evaluation: ``test_loss`` and ``test_acc`` on the first ``max_test`` test texts
    (all with ``None``), in eval mode.
    """

    max_test: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_test is not None:
            check_int_at_least("max_test", self.max_test, 1)

    def step(self, model: nn.Module, optimizer: Any, batch: Tokens, search_batch: Tokens | None
             ) -> dict[str, float]:
        """One optimizer step through closures that all draw the same dropout masks."""
        seed = int(torch.randint(0, 2**62, (1,)))
        device = batch[0].device
        devices = [device] if device.type == "cuda" else []

        def loss_of(tokens: Tokens) -> torch.Tensor:
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                return self.loss(model, tokens)

        return {"loss": optimizer_step(optimizer, loss_of, batch, search_batch)}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Loss and accuracy on the (first ``max_test`` texts of the) test set."""
        test = self.data.test
        n = len(test.labels) if self.max_test is None else min(self.max_test, len(test.labels))
        loss, accuracy = evaluate(model, (test.input_ids[:n], test.attention_mask[:n]),
                                  test.labels[:n], self.loss_fn, self.eval_batch_size)
        return {"test_loss": loss, "test_acc": accuracy}


def dev_split(tokens: TokenizedSplits, fraction: float = 0.2, *, seed: int = 0
              ) -> TokenizedSplits:
    """The training set of ``tokens`` split into a smaller training set and a held-out
    ``fraction`` in the test set's place, stratified by label and drawn with ``seed``."""
    if not isinstance(tokens, TokenizedSplits):
        raise TypeError(f"tokens must be a TokenizedSplits, got {type(tokens).__name__}")
    check_in_range("fraction", fraction, 0.0, 1.0)
    from sklearn.model_selection import train_test_split

    labels = tokens.train.labels
    kept, held = train_test_split(np.arange(len(labels)), test_size=fraction, random_state=seed,
                                  stratify=labels.cpu().numpy())
    kept, held = torch.as_tensor(np.sort(kept)), torch.as_tensor(np.sort(held))
    return TokenizedSplits(train=Tokens(*(t[kept.to(t.device)] for t in tokens.train)),
                           test=Tokens(*(t[held.to(t.device)] for t in tokens.train)))


def finetune_optimizer(name: str, model: SentenceClassifier, *, lr: float | None = None,
                       steps: int | None = None, warmup_fraction: float = 0.1
                       ) -> tuple[torch.optim.Optimizer, Any]:
    """``(optimizer, scheduler)`` of one of :data:`FINETUNE_OPTIMIZERS` for ``model``.

    ``"Adam"``: ``torch.optim.Adam`` at ``lr`` with a linear warm-up over ``warmup_fraction``
    of ``steps`` and a cosine decay (:func:`~deepoptim.schedules.make_schedule`). The line
    searches take no ``lr`` and no schedule (scheduler ``None``): ``"SLS"`` from the step
    size 0.1, ``"AdamSLS"`` with its defaults, ``"PLASLS"`` with its defaults on the parts of
    :func:`~deepoptim.optim.split_encoder` (embeddings | each encoder layer | the head).
    """
    check_choice("name", name, FINETUNE_OPTIMIZERS)
    if not isinstance(model, SentenceClassifier):
        raise TypeError(f"model must be a SentenceClassifier, got {type(model).__name__}")
    if name != "Adam":
        if lr is not None:
            raise ValueError(f"Invalid lr value: {lr!r} ({name} searches its step size; "
                             "give lr for Adam only)")
        if name == "SLS":
            return SLS(model.parameters(), init_step_size=0.1), None
        if name == "AdamSLS":
            return AdamSLS(model.parameters()), None
        return PLASLS(split_encoder(model, embeddings="encoder.embeddings",
                                    layers="encoder.encoder.layer")), None
    if lr is None or steps is None:
        raise ValueError(f"Invalid lr value: {lr!r} (Adam needs lr and steps, got steps="
                         f"{steps!r})")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return optimizer, make_schedule(optimizer, "warmup_cosine", steps, warmup_fraction)


def finetune(encoder: nn.Module, tokens: TokenizedSplits, name: str, *, steps: int, seed: int,
             batch_size: int = 32, lr: float | None = None, eval_every: int | None = None,
             max_test: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fine-tune a copy of ``encoder`` with a linear head (mean pooling) on ``tokens``.

    Seeds everything with ``seed`` (the head's initialisation, the batches, the dropout
    masks), freezes the encoder's pooler (unused: the head pools the last hidden states
    itself), builds the optimizer with :func:`finetune_optimizer` and trains with
    :func:`~deepoptim.train.fit` on a :class:`FineTuningTask`. Returns ``(evals, steps)``: the
    evaluations (``step``, ``time``, ``test_loss``, ``test_acc``) with ``forwards``, the
    training forward passes up to that step, and the per-step records with ``forwards`` per
    step (the optimizer's ``loss_evals``; 1 for Adam, which records none).
    """
    check_int_at_least("steps", steps, 1)
    seed_everything(seed)
    device = next(encoder.parameters()).device
    backbone = copy.deepcopy(encoder)
    for module_name, module in backbone.named_children():
        if module_name == "pooler":
            module.requires_grad_(False)
    num_classes = int(tokens.train.labels.max()) + 1
    model = SentenceClassifier(backbone, SentenceHead(backbone.config.hidden_size,
                                                       num_classes)).to(device)
    optimizer, scheduler = finetune_optimizer(name, model, lr=lr, steps=steps)
    task = FineTuningTask(tokens, batch_size, max_test=max_test)
    history = fit(task, model, optimizer, steps=steps, seed=seed, scheduler=scheduler,
                  eval_every=eval_every, progress=False)
    step_frame = history.steps_frame()
    step_frame["forwards"] = (step_frame["loss_evals"] if "loss_evals" in step_frame
                              else pd.Series(1.0, index=step_frame.index))
    counted = dict(zip(step_frame["step"], step_frame["forwards"].cumsum(), strict=True))
    evals = history.evals_frame()
    evals["forwards"] = [0.0 if step == 0 else float(counted[step]) for step in evals["step"]]
    return evals, step_frame


def first_reach(x: Sequence[float], values: Sequence[float], target: float) -> float:
    """The first ``x`` (a step, a count of forward passes) whose value is at least ``target``;
    ``inf`` when none is (not within the budget), NaN for an empty curve or a NaN target."""
    x, values = [float(v) for v in x], [float(v) for v in values]
    if len(x) != len(values):
        raise ValueError(f"Invalid values value: {len(values)} values (expected {len(x)}, one "
                         "per x)")
    if not x or math.isnan(target):
        return math.nan
    return next((at for at, value in zip(x, values, strict=True) if value >= target), math.inf)


def reach_phrase(at: float, unit: str, budget: float) -> str:
    """When a curve reached its target (:func:`first_reach`), for a sentence: "after 24
    steps", "not within 48 steps" (``inf``), "not measured" (NaN); ``unit`` in the plural."""
    if math.isnan(at):
        return _NOT_MEASURED
    if math.isinf(at):
        return f"not within {budget:g} {unit}"
    return f"after {at:g} {unit}"


def sooner_word(at: float, baseline: float) -> str:
    """How a method's first reach compares with a baseline's (:func:`first_reach`, both in
    steps or both in forward passes): "sooner than", "later than", "as soon as" (a tie, also
    when neither reaches it), "not compared with" (NaN)."""
    if math.isnan(at) or math.isnan(baseline):
        return "not compared with"
    if at == baseline:
        return "as soon as"
    return "sooner than" if at < baseline else "later than"


def sooner_verdict(pairs: Sequence[tuple[float, float]]) -> str:
    """The claim "the line searches reach good accuracy in fewer steps than Adam", from pairs
    ``(method, baseline)`` of first reaches (:func:`first_reach`, one pair per method and
    task): the share of pairs where the method is strictly sooner (:func:`share_verdict`; a
    tie is not sooner). "not measured" when a value is NaN or no pair is given."""
    pairs = [(float(at), float(baseline)) for at, baseline in pairs]
    if not pairs or any(math.isnan(value) for pair in pairs for value in pair):
        return _NOT_MEASURED
    return share_verdict(sum(at < baseline for at, baseline in pairs), len(pairs))
