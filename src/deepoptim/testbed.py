"""The book's reference problems and baselines, shared by every chapter that compares.

The testbed chapter establishes them; the method chapters measure against them:

* :data:`BASELINES`: SGD with heavy-ball momentum and Adam, with the step sizes the
  testbed chapter uses (Adam's is the MNIST-1D paper's ``1e-2``; SGD's comes from the
  chapter's sweep);
* :func:`run_classifier`: one seeded training run of a model from
  :func:`deepoptim.models.build_model` on a classification data set, returning a flat
  result record and the full :class:`~deepoptim.train.History`.

The MNIST-1D protocol of Greydanus (2020) is batch 100, constant step size, 6000 steps,
no weight decay; the ``full`` profile uses it, smaller profiles shorten the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from . import models
from .data import ClassificationData
from .experiment import seed_everything
from .train import History, train

__all__ = ["BASELINES", "make_optimizer", "run_classifier"]


#: Baseline optimizers: name -> (class, default hyperparameters).
BASELINES: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "SGD": (torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    "Adam": (torch.optim.Adam, {"lr": 1e-2}),
}


def make_optimizer(name: str, params: Iterable[torch.nn.Parameter], **overrides: Any
                   ) -> torch.optim.Optimizer:
    """A baseline optimizer by name, with its defaults updated by ``overrides``."""
    if name not in BASELINES:
        raise ValueError(f"Invalid optimizer value: {name!r} (choose from {sorted(BASELINES)})")
    cls, defaults = BASELINES[name]
    return cls(params, **{**defaults, **overrides})


def run_classifier(
    model_name: str,
    dataset: ClassificationData,
    optimizer_name: str,
    *,
    steps: int,
    seed: int,
    batch_size: int | None = 100,
    eval_every: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    optimizer_kwargs: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], History]:
    """Train one model with one baseline optimizer from a seeded initialisation.

    Everything is seeded from ``seed`` (initialisation and batch order), and the model
    is created on the data's device. Returns ``(record, history)`` where ``record`` holds
    the configuration and the final ``train_loss``, ``train_acc``, ``test_loss``,
    ``test_acc``, ``time`` (seconds of training) and ``diverged``.
    """
    seed_everything(seed)
    model = models.build_model(model_name, **(model_kwargs or {})).to(dataset.x_train.device)
    optimizer = make_optimizer(optimizer_name, model.parameters(), **(optimizer_kwargs or {}))
    history = train(model, optimizer, dataset, steps=steps, batch_size=batch_size,
                    eval_every=eval_every, seed=seed)
    record = {"model": model_name, "dataset": dataset.name, "optimizer": optimizer_name,
              "seed": seed, **{k: v for k, v in history.final().items() if k != "step"}}
    return record, history
