r"""Experiment code and sentences of Part II's chapter on learning-rate distributions against
catastrophic forgetting.

Kenneweg, Schulz, Schröder and Hammer ("Intelligent Learning Rate Distribution to reduce
Catastrophic Forgetting in Transformers", 2022; arXiv 2404.01317; Kenneweg 2025 thesis)
fine-tune one encoder on a task A with a head of its own, then on a task B with a second
head, and measure

* :math:`\mathrm{acc}_1`, task A's accuracy after training on A;
* :math:`\mathrm{acc}_2`, task B's accuracy after training on B;
* :math:`\mathrm{acc}_3`, task A's accuracy after training on B, through task A's head;
* the forgetting :math:`\mathrm{acc}_1 - \mathrm{acc}_3`.

The encoder is split into parts (embeddings | layers | head,
:func:`~deepoptim.optim.split_encoder`) and part :math:`j` trains at
:math:`\mathrm{lr}\cdot f_j` (:func:`~deepoptim.optim.depth_profile`); a search chooses the
factors that maximise the paper's reward :math:`\mathrm{acc}_2 + \mathrm{acc}_3`.

* :func:`split_tokens` and :class:`TaskSplits`: a task's training set with a seeded
  development part held out (the search and the choice of EWC's weight score on it);
* :class:`TaskSequence`: the two tasks in sequence on one shared encoder.
  :meth:`TaskSequence.learn_first` trains the encoder and head A on task A at the flat rate
  and keeps the result (a :class:`FirstTask`: the state, :math:`\mathrm{acc}_1` on each
  split, the empirical Fisher of task A for EWC); :meth:`TaskSequence.learn_second`
  restores it, trains the encoder and a fresh head B on task B with per-part learning rates
  and optionally the EWC penalty, and measures the four numbers;
* :func:`search_distribution`: a seeded, resumable TPE + Hyperband search
  (:mod:`~deepoptim.studies.search`) of the learning rates at ``knots`` points over depth,
  log-uniform in the paper's range, scored by :math:`\mathrm{acc}_2 + \mathrm{acc}_3` on the
  development splits; :func:`best_importance`: EWC's :math:`\lambda` from a grid, by the same
  score;
* the sentences: :func:`points_phrase`, :func:`tradeoff_sentence`, :func:`tradeoff_verdict`.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from .._checks import check_in_range, check_int_at_least, check_non_negative, check_positive
from ..data.text import TokenizedSplits, Tokens
from ..models import SentenceClassifier, SentenceHead
from ..optim import depth_profile, split_encoder, with_learning_rates
from ..schedules import make_schedule
from ..train import EWC, TokenClassificationTask, empirical_fisher, evaluate, fit
from .search import load_or_create, optimize, report

__all__ = [
    "FirstTask",
    "TaskSequence",
    "TaskSplits",
    "best_importance",
    "points_phrase",
    "search_distribution",
    "split_tokens",
    "tradeoff_sentence",
    "tradeoff_verdict",
]

#: The splits a :class:`TaskSequence` measures on.
SPLITS = ("dev", "test")


class TaskSplits(NamedTuple):
    """One task's tokenised ``train``, ``dev`` (held out of ``train``) and ``test`` splits and
    its ``num_classes``."""

    train: Tokens
    dev: Tokens
    test: Tokens
    num_classes: int


def split_tokens(splits: TokenizedSplits, num_classes: int, dev_size: int, *, seed: int = 0,
                 max_test: int | None = None) -> TaskSplits:
    """``splits`` with ``dev_size`` training examples (drawn with ``seed``) held out as the
    development split; the test split cut to its first ``max_test`` examples (all if
    ``None``)."""
    check_int_at_least("num_classes", num_classes, 2)
    n = len(splits.train.labels)
    check_int_at_least("dev_size", dev_size, 1)
    if dev_size >= n:
        raise ValueError(f"Invalid dev_size value: {dev_size} (expected fewer than the {n} "
                         "training examples)")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    dev, train = order[:dev_size].sort().values, order[dev_size:].sort().values
    test = splits.test if max_test is None else Tokens(*(t[:max_test] for t in splits.test))
    return TaskSplits(Tokens(*(t[train] for t in splits.train)),
                      Tokens(*(t[dev] for t in splits.train)), test, num_classes)


class FirstTask(NamedTuple):
    """The model after task A: ``state`` (the encoder and head A), ``acc1`` by split
    (``"dev"``, ``"test"``), ``fisher`` (task A's empirical Fisher of the encoder's trainable
    parameters, by name; empty when not computed) and ``seed``."""

    state: dict[str, torch.Tensor]
    acc1: dict[str, float]
    fisher: dict[str, torch.Tensor]
    seed: int


@dataclasses.dataclass(frozen=True, eq=False)
class _PenalizedTask(TokenClassificationTask):
    """A tokenised task whose loss adds ``penalty(model)`` (EWC), evaluated outside the loop."""

    penalty: Callable[[nn.Module], torch.Tensor] | None = None

    def loss(self, model: nn.Module, batch: Tokens) -> torch.Tensor:
        value = super().loss(model, batch)
        return value if self.penalty is None else value + self.penalty(model)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        return {}  # the accuracies are measured by TaskSequence, on the splits it chooses


def _accuracy(model: nn.Module, tokens: Tokens) -> float:
    return evaluate(model, (tokens.input_ids, tokens.attention_mask), tokens.labels)[1]


class TaskSequence:
    """Two classification tasks learnt in sequence by one encoder with a head per task.

    Args:
        encoder: a ``transformers`` BERT-style encoder (``embeddings.*``,
            ``encoder.layer.{i}.*``); its trainable parameters are trained in place, so the
            caller freezes what should stay (e.g. the word embeddings).
        first, second: the tasks A and B (:class:`TaskSplits`).
        steps: Adam steps on task A and on task B.
        lr: the flat learning rate; task A always trains at it, task B at ``lr`` times each
            part's factor.
        batch_size: examples per step.
        fisher_examples: task A's training examples the EWC Fisher averages over (one
            backward pass each); 0 skips it.

    Each task trains with Adam, a linear warm-up over 10% of its steps and a cosine decay,
    every part on its own rate; a fresh optimizer per task. The heads are linear layers on
    the mean of the last hidden states over the real tokens, initialised from the run's seed.
    The encoder is split into :math:`L + 2` parts: embeddings | each of the :math:`L`
    layers | the head.
    """

    def __init__(self, encoder: nn.Module, first: TaskSplits, second: TaskSplits, *,
                 steps: tuple[int, int], lr: float, batch_size: int = 16,
                 fisher_examples: int = 0) -> None:
        for name, task in (("first", first), ("second", second)):
            if not isinstance(task, TaskSplits):
                raise TypeError(f"{name} must be a TaskSplits, got {type(task).__name__}")
        if len(steps) != 2:
            raise ValueError(f"Invalid steps value: {steps!r} (expected two step counts)")
        for count in steps:
            check_int_at_least("steps", count, 1)
        check_positive("lr", lr)
        check_int_at_least("batch_size", batch_size, 1)
        check_int_at_least("fisher_examples", fisher_examples, 0)
        self.encoder, self.first, self.second = encoder, first, second
        self.steps, self.lr, self.batch_size = tuple(steps), float(lr), batch_size
        self.fisher_examples = min(fisher_examples, len(first.train.labels))
        parts = split_encoder(encoder)  # a pooler, when there is one, joins the head
        self.num_parts = len(parts) + (parts[-1]["name"] != "head")

    @property
    def dim(self) -> int:
        """The encoder's width."""
        return int(self.encoder.config.hidden_size)

    def _model(self, task: TaskSplits, seed: int) -> SentenceClassifier:
        """The encoder with a fresh linear head for ``task``, initialised from ``seed``."""
        torch.manual_seed(seed)
        device = next(self.encoder.parameters()).device
        return SentenceClassifier(self.encoder, SentenceHead(self.dim, task.num_classes)
                                  ).to(device)

    def groups(self, model: SentenceClassifier) -> tuple[list[dict], list[str]]:
        """The parameter groups embeddings | layers | head of a model, and their names."""
        groups = split_encoder(model, embeddings="encoder.embeddings",
                               layers="encoder.encoder.layer")
        return groups, [group["name"].removeprefix("encoder.encoder.") for group in groups]

    def _train(self, model: SentenceClassifier, task: TaskSplits, steps: int,
               factors: Sequence[float], seed: int,
               penalty: Callable[[nn.Module], torch.Tensor] | None = None,
               callback: Callable[[int], None] | None = None) -> None:
        groups = with_learning_rates(self.groups(model)[0], self.lr, factors)
        optimizer = torch.optim.Adam(groups)
        scheduler = make_schedule(optimizer, "warmup_cosine", steps)
        data = TokenizedSplits(task.train, task.dev)
        torch.manual_seed(seed)  # dropout
        fit(_PenalizedTask(data, self.batch_size, penalty=penalty), model, optimizer,
            steps=steps, seed=seed, scheduler=scheduler, progress=False,
            callback=None if callback is None else lambda step, *_: callback(step))

    def learn_first(self, seed: int) -> FirstTask:
        """Train the encoder and head A on task A at the flat rate; return the result."""
        check_int_at_least("seed", seed, 0)
        model = self._model(self.first, seed)
        self._train(model, self.first, self.steps[0], [1.0] * self.num_parts, seed)
        acc1 = {split: _accuracy(model, getattr(self.first, split)) for split in SPLITS}
        fisher = {}
        if self.fisher_examples:
            task = TokenClassificationTask(TokenizedSplits(self.first.train, self.first.dev))
            train = self.first.train
            examples = [Tokens(*(t[i:i + 1] for t in train)) for i in range(self.fisher_examples)]
            fisher = {name: value for name, value in
                      empirical_fisher(model, task.loss, examples).items()
                      if name.startswith("encoder.")}
        state = {name: value.detach().clone() for name, value in model.state_dict().items()}
        return FirstTask(state, acc1, fisher, seed)

    def learn_second(self, start: FirstTask, factors: Sequence[float] | None = None, *,
                     split: str = "test", importance: float = 0.0,
                     report_every: int | None = None,
                     on_report: Callable[[int, float], None] | None = None) -> dict[str, float]:
        """From ``start``, train the encoder and a fresh head B on task B; measure.

        Args:
            start: the model after task A (:meth:`learn_first`).
            factors: one learning-rate factor per part (:attr:`num_parts`), or ``None`` for
                the flat rate.
            split: where the accuracies are measured, ``"dev"`` or ``"test"``.
            importance: EWC's :math:`\\lambda` (0: no penalty); needs ``start.fisher``.
            report_every, on_report: call ``on_report(step, acc2 + acc3)`` (on ``split``)
                every ``report_every`` steps of task B, e.g. to let a pruner stop the run.

        Returns ``acc1``, ``acc2``, ``acc3``, ``forgetting`` (``acc1 - acc3``) and
        ``objective`` (``acc2 + acc3``, the paper's search reward).
        """
        if split not in SPLITS:
            raise ValueError(f"Invalid split value: {split!r} (expected one of {SPLITS})")
        factors = [1.0] * self.num_parts if factors is None else list(factors)
        if len(factors) != self.num_parts:
            raise ValueError(f"Invalid factors value: {len(factors)} factors (expected "
                             f"{self.num_parts}, one per part)")
        check_non_negative("importance", importance)
        if importance and not start.fisher:
            raise ValueError("Invalid start value: it has no Fisher (give the TaskSequence "
                             "fisher_examples > 0 for EWC)")
        first = self._model(self.first, start.seed)
        first.load_state_dict(start.state)
        penalty = EWC(first, start.fisher, importance) if importance else None
        second = self._model(self.second, start.seed)
        first_eval, second_eval = getattr(self.first, split), getattr(self.second, split)

        def objective() -> float:
            return _accuracy(second, second_eval) + _accuracy(first, first_eval)

        callback = None
        if report_every is not None and on_report is not None:
            check_int_at_least("report_every", report_every, 1)

            def callback(step: int) -> None:
                if step and step % report_every == 0 and step < self.steps[1]:
                    on_report(step, objective())

        self._train(second, self.second, self.steps[1], factors, start.seed, penalty, callback)
        acc1, acc2, acc3 = (start.acc1[split], _accuracy(second, second_eval),
                            _accuracy(first, first_eval))
        return {"acc1": acc1, "acc2": acc2, "acc3": acc3, "forgetting": acc1 - acc3,
                "objective": acc2 + acc3}


def search_distribution(sequence: TaskSequence, start: FirstTask, *, num_trials: int,
                        knots: int, low: float = 1e-7, high: float = 1e-3,
                        reports: int = 2, path: str | Path, name: str = "forgetting",
                        seed: int = 0) -> dict[str, Any]:
    """A seeded TPE + Hyperband search of task B's learning rates, resumable.

    Each trial draws ``knots`` learning rates ``lr_0, ..., lr_{knots-1}``, log-uniform in
    ``[low, high]`` (the paper's range is [1e-7, 1e-3], one rate per part), spreads them
    over the parts (:func:`~deepoptim.optim.depth_profile` ``"knots"``: with ``knots`` equal
    to the number of parts, they are the parts' rates), trains task B from ``start`` and
    scores :math:`\\mathrm{acc}_2 + \\mathrm{acc}_3` on the development splits, reported
    ``reports`` times during the run (the last is the value) so that Hyperband can stop it.
    The study ``name`` lives in the SQLite file ``path``; a rerun only runs the trials still
    missing.

    Returns ``rates`` (the best trial's learning rate per part), ``knots`` (its drawn
    rates), ``value``, ``trials`` (finished), ``ran`` (run by this call), ``pruned``,
    ``seconds`` (this call's wall time), ``values`` (every complete trial's
    ``(rates, value)``) and ``study``.
    """
    import optuna

    check_int_at_least("num_trials", num_trials, 1)
    check_int_at_least("knots", knots, 2)
    check_positive("low", low)
    check_in_range("high", high, low, math.inf, low_inclusive=False)
    check_int_at_least("reports", reports, 1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    steps = sequence.steps[1]
    every = max(1, steps // reports)
    study = load_or_create(path, name, seed=seed, max_resource=steps)

    def rates_of(params: Mapping[str, float]) -> list[float]:
        drawn = [params[f"lr_{i}"] for i in range(knots)]
        return [sequence.lr * f for f in depth_profile(
            sequence.num_parts, "knots", knots=[r / sequence.lr for r in drawn])]

    def objective(trial: Any) -> float:
        for i in range(knots):
            trial.suggest_float(f"lr_{i}", low, high, log=True)
        factors = [r / sequence.lr for r in rates_of(trial.params)]
        result = sequence.learn_second(start, factors, split="dev", report_every=every,
                                       on_report=lambda step, value: report(trial, value, step))
        return result["objective"]

    began = time.perf_counter()
    ran = optimize(study, objective, num_trials)
    seconds = time.perf_counter() - began
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    best = study.best_trial
    return {"rates": rates_of(best.params), "knots": [best.params[f"lr_{i}"]
                                                      for i in range(knots)],
            "value": best.value, "trials": len(study.trials), "ran": ran,
            "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
            "seconds": seconds, "values": [(rates_of(t.params), t.value) for t in complete],
            "study": study}


def best_importance(sequence: TaskSequence, start: FirstTask, grid: Sequence[float]
                    ) -> tuple[float, dict[float, float]]:
    """EWC's :math:`\\lambda` from ``grid``: the one whose run from ``start`` at the flat
    rate scores the highest :math:`\\mathrm{acc}_2 + \\mathrm{acc}_3` on the development
    splits (the first of equal scores); returns it and every value's score."""
    if not grid:
        raise ValueError("Invalid grid value: [] (give at least one importance)")
    scores = {float(value): sequence.learn_second(start, split="dev",
                                                  importance=value)["objective"]
              for value in grid}
    return max(scores, key=scores.get), scores


# ----------------------------------------------------------------------------- sentences


def points_phrase(difference: float, *, less: str = "less", more: str = "more",
                  tolerance: float = 0.005) -> str:
    """A difference of two accuracies (fractions) in percentage points: "5.2 points more",
    "1 point less" (``more`` and ``less`` name the two directions), "no different (within
    0.5 points)" within ``tolerance``, "not measured" for NaN."""
    check_positive("tolerance", tolerance)
    if math.isnan(difference):
        return "not measured"
    if abs(difference) < tolerance:
        return f"no different (within {100 * tolerance:g} points)"
    points = f"{100 * abs(difference):.1f}"
    unit = "point" if points == "1.0" else "points"
    return f"{points} {unit} {more if difference > 0 else less}"


def tradeoff_sentence(method: str, reference: str, forgetting_change: float,
                      acc2_change: float) -> str:
    """What a method does to forgetting and to task B's accuracy, against a reference, from
    the changes of their means (method - reference, fractions): "the searched distribution
    forgets 4.1 points less than the flat rate, and its accuracy on the second task is 2.0
    points lower"."""
    forgets = points_phrase(forgetting_change)
    learns = points_phrase(acc2_change, less="lower", more="higher")
    if forgets.startswith("no different"):
        forgets = f"forgets as much as {reference} {forgets.removeprefix('no different ')}"
    elif forgets == "not measured":
        forgets = f"was not compared with {reference} on forgetting"
    else:
        forgets = f"forgets {forgets} than {reference}"
    if learns.startswith("no different"):
        learns = f"is as high {learns.removeprefix('no different ')}"
    elif learns == "not measured":
        learns = "was not measured"
    else:
        learns = f"is {learns}"
    return f"{method} {forgets}, and its accuracy on the second task {learns}"


def tradeoff_verdict(acc3_statistic: float, acc2_change: float, *, limit: float = 0.02
                     ) -> str:
    """The claim "it keeps more of the first task at a modest cost on the second": "agrees"
    when task A's accuracy after B is clearly higher than the reference's (Welch's statistic
    of the difference beyond 2) and task B's accuracy lost at most ``limit`` (mean change
    ``acc2_change`` >= -limit), "disagrees" otherwise, "not measured" when either is NaN."""
    check_positive("limit", limit)
    if math.isnan(acc3_statistic) or math.isnan(acc2_change):
        return "not measured"
    return "agrees" if acc3_statistic > 2.0 and acc2_change >= -limit else "disagrees"
