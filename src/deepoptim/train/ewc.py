r"""Elastic weight consolidation (EWC), the forgetting baseline of sequential training.

Kirkpatrick et al. ("Overcoming catastrophic forgetting in neural networks", PNAS 2017) keep a
network close to what it learnt on task A while it trains on task B by a quadratic penalty,
weighted per parameter by how much task A's loss depends on it:

.. math::

    L_B(\theta) + \frac{\lambda}{2} \sum_i F_i\, (\theta_i - \theta^*_i)^2,

with :math:`\theta^*` the parameters at the end of task A and :math:`F` the diagonal of the
empirical Fisher of task A's loss there, the mean of the squared per-example gradients:

.. math::

    F_i = \frac1N \sum_{n=1}^N \Big(\frac{\partial \ell(\theta^*; x_n, y_n)}{\partial \theta_i}
    \Big)^2.

Kenneweg et al. compare their learning-rate distributions over BERT's depth with EWC at
importance :math:`\lambda = 1000`, the Fisher taken from the masked-language-model loss.

:func:`empirical_fisher` computes :math:`F` with one backward pass per example (in eval mode,
so dropout does not make it random); a batch of :math:`b` examples given as one example would
give the squared *mean* gradient instead, a smaller quantity. :class:`EWC` holds
:math:`\theta^*`, :math:`F` and :math:`\lambda` and is called on the model inside a task's
loss::

    ewc = EWC.after_training(model, task_a.loss, examples_a, importance=1000.0)

    class TaskB(ClassificationTask):
        def loss(self, model, batch):
            return super().loss(model, batch) + ewc(model)

Several tasks' penalties add up (one :class:`EWC` per finished task).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_non_negative

__all__ = ["EWC", "empirical_fisher"]


def empirical_fisher(model: nn.Module, loss: Callable[[nn.Module, Any], torch.Tensor],
                     examples: Iterable[Any]) -> dict[str, torch.Tensor]:
    """The diagonal empirical Fisher of ``loss`` at the model's current parameters.

    Args:
        model: the network; its trainable parameters get an entry each, by name.
        loss: ``loss(model, example)``, a scalar (a :class:`~deepoptim.train.Task`'s loss).
        examples: single examples (batches of size one) of the task.

    Returns ``{name: F}`` with :math:`F` the mean over the examples of the squared gradient,
    of each parameter's shape. The model is evaluated in eval mode (restored afterwards); its
    ``.grad`` fields are not touched. An empty ``examples`` or a non-finite loss is a
    ``ValueError``.
    """
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("Invalid model value: it has no trainable parameters")
    params = [p for _, p in named]
    fisher = [torch.zeros_like(p) for p in params]
    count = 0
    was_training = model.training
    model.eval()
    try:
        for count, example in enumerate(examples, start=1):
            value = loss(model, example)
            if not math.isfinite(float(value.detach())):
                raise ValueError(f"Invalid examples value: the loss of example {count - 1} is "
                                 f"{float(value.detach())} (expected a finite loss)")
            grads = torch.autograd.grad(value, params, allow_unused=True)
            for total, grad in zip(fisher, grads, strict=True):
                if grad is not None:
                    total.add_(grad.square())
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("Invalid examples value: no example (expected at least one)")
    return {name: total / count for (name, _), total in zip(named, fisher, strict=True)}


class EWC:
    r"""The penalty :math:`\frac{\lambda}{2} \sum_i F_i (\theta_i - \theta^*_i)^2`.

    Args:
        model: the network at :math:`\theta^*` (its parameters are copied now).
        fisher: ``{name: F}`` for some of its parameters (:func:`empirical_fisher`),
            non-negative, of the parameters' shapes; the others are not penalised.
        importance: :math:`\lambda \ge 0`.

    Calling it on the model returns the penalty, a scalar tensor that back-propagates into
    the parameters: its gradient is :math:`\lambda F_i (\theta_i - \theta^*_i)`.
    """

    def __init__(self, model: nn.Module, fisher: Mapping[str, torch.Tensor],
                 importance: float) -> None:
        check_non_negative("importance", importance)
        params = dict(model.named_parameters())
        if not fisher:
            raise ValueError("Invalid fisher value: {} (expected an entry per parameter)")
        for name, value in fisher.items():
            if name not in params:
                raise ValueError(f"Invalid fisher value: {name!r} is not a parameter of model")
            if not isinstance(value, torch.Tensor) or value.shape != params[name].shape:
                shape = getattr(value, "shape", type(value).__name__)
                raise ValueError(f"Invalid fisher value: {name!r} has shape {shape} (expected "
                                 f"{tuple(params[name].shape)})")
            if not bool(torch.isfinite(value).all()) or bool((value < 0).any()):
                raise ValueError(f"Invalid fisher value: {name!r} has negative or non-finite "
                                 "entries (expected F >= 0)")
        self.importance = float(importance)
        self.fisher = {name: value.detach().to(params[name]) for name, value in fisher.items()}
        self.anchor = {name: params[name].detach().clone() for name in fisher}

    @classmethod
    def after_training(cls, model: nn.Module, loss: Callable[[nn.Module, Any], torch.Tensor],
                       examples: Iterable[Any], importance: float) -> EWC:
        """The penalty anchored at the model's current parameters, with the empirical Fisher
        of ``loss`` over ``examples`` (:func:`empirical_fisher`)."""
        check_non_negative("importance", importance)
        return cls(model, empirical_fisher(model, loss, examples), importance)

    def __call__(self, model: nn.Module) -> torch.Tensor:
        params = dict(model.named_parameters())
        missing = sorted(set(self.fisher) - set(params))
        if missing:
            raise ValueError(f"Invalid model value: it lacks the parameters {missing}")
        total = sum((self.fisher[name] * (params[name] - self.anchor[name]).square()).sum()
                    for name in self.fisher)
        return 0.5 * self.importance * total
