"""Tasks: what the training loop needs to know about a problem.

A :class:`Task` gives the loop of :func:`deepoptim.train.fit`

* its training batches, an endless stream whose order is drawn from one seeded
  ``torch.Generator`` (a batch is a tensor, or a tuple, list or dict of them);
* the loss of a model on one batch;
* the evaluation of a model, as named metrics;
* how a batch moves to the model's device (by default, every tensor in it moves);
* one training step on a batch (by default, one closure-driven step of one optimizer on
  the loss; a task with several players, such as a GAN's discriminator and generator,
  or with an outer parameter, overrides it and returns extra records).

:class:`ClassificationTask` is the book's default: mini-batches of a
:class:`~deepoptim.data.ClassificationData`, a loss of the logits and targets, and the
loss and accuracy on the whole training and test sets (:func:`evaluate`).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepoptim._checks import check_int_at_least
from deepoptim.data import ClassificationData, TokenizedSplits, Tokens

from .closures import LossFn, optimizer_step

__all__ = ["ClassificationTask", "Task", "TokenClassificationTask", "evaluate", "minibatches"]

Batch = Any
"""A training batch: a tensor, or a tuple, list or dict of tensors (nested freely)."""


class Task(abc.ABC):
    """A training problem for :func:`deepoptim.train.fit`.

    Subclasses implement :meth:`batches`, :meth:`loss` and :meth:`evaluate`; they may
    override :meth:`to_device` (batches of other structures) and :meth:`step` (several
    optimizers, an outer parameter, a modified gradient).
    """

    @abc.abstractmethod
    def batches(self, generator: torch.Generator) -> Iterator[Batch]:
        """Endless training batches; their order (and any noise) drawn from ``generator`` only.

        The same generator state gives the same stream, so a run is reproducible and can be
        resumed by replaying it.
        """

    @abc.abstractmethod
    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        """The loss of ``model`` on ``batch``, a scalar tensor."""

    @abc.abstractmethod
    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Named metrics of ``model`` (held-out loss and accuracy, ...).

        It sets the modes it needs (``model.eval()``, ``torch.no_grad()``) and leaves the
        model's parameters and mode as it found them.
        """

    def to_device(self, batch: Batch, device: torch.device) -> Batch:
        """``batch`` with every tensor in it (through tuples, lists and dicts) on ``device``."""
        if isinstance(batch, torch.Tensor):
            return batch.to(device)
        if isinstance(batch, Mapping):
            return {key: self.to_device(value, device) for key, value in batch.items()}
        if isinstance(batch, (tuple, list)):
            moved = [self.to_device(value, device) for value in batch]
            return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
        return batch

    def step(self, model: nn.Module, optimizer: Any, batch: Batch, search_batch: Batch | None
             ) -> dict[str, float]:
        """One training step on ``batch``; returns the step's records, its loss(es) first.

        The default takes one step of ``optimizer`` (a ``torch.optim.Optimizer``) on
        :meth:`loss` through a closure (:func:`~deepoptim.train.optimizer_step`) and
        records ``{"loss": ...}``, the loss at the parameters the step started from.
        ``search_batch`` is ``None``, or the batch a line search evaluates its trial points
        on (``fit(..., search_batch="independent")``).

        A task that overrides it receives what was passed to ``fit`` as ``optimizer`` (for
        several players, a dict of optimizers by name) and returns any records: a loss is
        named ``loss`` or ``<name>_loss`` (``fit`` stops when one is not finite); other
        values (an outer parameter) are recorded as they are. The names ``step``, ``time``
        and ``lr`` (``<name>_lr``) are the loop's.
        """
        return {"loss": optimizer_step(optimizer, functools.partial(self.loss, model), batch,
                                       search_batch)}


def minibatches(num_samples: int, batch_size: int | None, generator: torch.Generator
                ) -> Iterator[torch.Tensor]:
    """Endless index batches: a fresh permutation per epoch, the last partial batch dropped.

    ``batch_size=None`` (or at least ``num_samples``) gives the full batch every step.
    """
    if batch_size is None or batch_size >= num_samples:
        full = torch.arange(num_samples)
        while True:
            yield full
    while True:
        order = torch.randperm(num_samples, generator=generator)
        for start in range(0, num_samples - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


@torch.no_grad()
def evaluate(model: nn.Module, inputs: torch.Tensor | tuple[torch.Tensor, ...],
             targets: torch.Tensor, loss_fn: LossFn = F.cross_entropy,
             batch_size: int = 1024) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` on a data set, in eval mode (mode restored after).

    ``inputs`` is one tensor, or a tuple of tensors with the examples along their first
    dimension, given to the model as its arguments (``model(input_ids, attention_mask)``).
    """
    arguments = inputs if isinstance(inputs, tuple) else (inputs,)
    was_training = model.training
    model.eval()
    try:
        total_loss, correct = 0.0, 0
        for start in range(0, len(targets), batch_size):
            y = targets[start:start + batch_size]
            logits = model(*(x[start:start + batch_size] for x in arguments))
            total_loss += float(loss_fn(logits, y)) * len(y)
            correct += int((logits.argmax(dim=-1) == y).sum())
    finally:
        model.train(was_training)
    return total_loss / len(targets), correct / len(targets)


@dataclasses.dataclass(frozen=True, eq=False)
class ClassificationTask(Task):
    """Supervised classification: ``loss_fn(model(inputs), targets)`` on mini-batches.

    Attributes:
        data: training and test tensors; batches are ``(inputs, targets)`` on its device.
        batch_size: mini-batch size (batches of :func:`minibatches`: a fresh permutation
            per epoch), or ``None`` for the full batch every step.
        loss_fn: ``loss_fn(logits, targets)`` returning a scalar.

    Its evaluation is the mean loss and accuracy on the whole training and test sets
    (:func:`evaluate`): ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``.
    """

    data: ClassificationData
    batch_size: int | None = 100
    loss_fn: LossFn = F.cross_entropy

    def __post_init__(self) -> None:
        if not isinstance(self.data, ClassificationData):
            raise TypeError(f"data must be a ClassificationData, got {type(self.data).__name__}")
        if self.batch_size is not None:
            check_int_at_least("batch_size", self.batch_size, 1)

    @property
    def full_batch(self) -> bool:
        """Whether every batch is the whole training set."""
        return self.batch_size is None or self.batch_size >= self.data.num_train

    def batches(self, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """``(inputs, targets)`` of the training set, in the order of :func:`minibatches`."""
        device = self.data.x_train.device
        for index in minibatches(self.data.num_train, self.batch_size, generator):
            index = index.to(device)
            yield self.data.x_train[index], self.data.y_train[index]

    def loss(self, model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``loss_fn(model(inputs), targets)``."""
        inputs, targets = batch
        return self.loss_fn(model(inputs), targets)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Loss and accuracy on the whole training set, then on the test set."""
        train_loss, train_acc = evaluate(model, self.data.x_train, self.data.y_train,
                                         self.loss_fn)
        test_loss, test_acc = evaluate(model, self.data.x_test, self.data.y_test, self.loss_fn)
        return dict(train_loss=train_loss, train_acc=train_acc, test_loss=test_loss,
                    test_acc=test_acc)


@dataclasses.dataclass(frozen=True, eq=False)
class TokenClassificationTask(Task):
    """Sequence classification on tokenised text: ``loss_fn(model(input_ids, attention_mask),
    labels)`` on mini-batches of :func:`minibatches`.

    Attributes:
        data: the tokenised training and test sets
            (:meth:`deepoptim.data.TextClassificationData.tokenize`); batches are
            ``(input_ids, attention_mask, labels)`` on their device.
        batch_size: mini-batch size, or ``None`` for the full batch every step.
        loss_fn: ``loss_fn(logits, labels)`` returning a scalar.
        eval_batch_size: examples per forward pass of the evaluation.

    Its evaluation is that of :class:`ClassificationTask`: ``train_loss``, ``train_acc``,
    ``test_loss``, ``test_acc`` on the whole sets (:func:`evaluate`).
    """

    data: TokenizedSplits
    batch_size: int | None = 32
    loss_fn: LossFn = F.cross_entropy
    eval_batch_size: int = 256

    def __post_init__(self) -> None:
        if not isinstance(self.data, TokenizedSplits):
            raise TypeError(f"data must be a TokenizedSplits, got {type(self.data).__name__}")
        if self.batch_size is not None:
            check_int_at_least("batch_size", self.batch_size, 1)
        check_int_at_least("eval_batch_size", self.eval_batch_size, 1)

    def batches(self, generator: torch.Generator) -> Iterator[Tokens]:
        """``(input_ids, attention_mask, labels)`` of the training set, in the order of
        :func:`minibatches`."""
        train = self.data.train
        for index in minibatches(len(train.labels), self.batch_size, generator):
            index = index.to(train.labels.device)
            yield Tokens(*(tensor[index] for tensor in train))

    def loss(self, model: nn.Module, batch: Tokens) -> torch.Tensor:
        """``loss_fn(model(input_ids, attention_mask), labels)``."""
        input_ids, attention_mask, labels = batch
        return self.loss_fn(model(input_ids, attention_mask), labels)

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        """Loss and accuracy on the whole training set, then on the test set."""
        metrics = {}
        for split, tokens in (("train", self.data.train), ("test", self.data.test)):
            loss, accuracy = evaluate(model, (tokens.input_ids, tokens.attention_mask),
                                      tokens.labels, self.loss_fn, self.eval_batch_size)
            metrics.update({f"{split}_loss": loss, f"{split}_acc": accuracy})
        return metrics
