"""Probes: how well a protected attribute can be read off embeddings.

A probe is a classifier trained to predict the attribute (e.g. the gender of the word a
sentence was built from) from the embedding; its test accuracy, against the chance level of
always guessing the majority class, measures how much attribute information is recoverable.
A linear probe sees linearly encoded information (what projection debiasing such as
Sent-Debias or INLP removes); a small MLP probe also sees non-linear information, the point of
Kenneweg et al. 2023 (ICPRAM), who probe with a linear layer and a 3 x 20 ReLU MLP. (They
regress Bolukbasi et al.'s profession scores and report MSE; here the attribute is a class
and the score an accuracy.)

Both probes split the data with ``sklearn.model_selection.train_test_split`` (stratified by
class, ``random_state=seed``; each class needs two examples). The linear probe is scikit-learn's
L2-regularised ``LogisticRegression`` (convex: its result does not depend on a training
budget); the MLP probe is :class:`deepoptim.models.MLP` trained with Adam by
:func:`deepoptim.train.train`, its initialisation seeded from ``seed`` without touching the
global RNG.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from deepoptim._checks import check_in_range, check_int_at_least, check_positive
from deepoptim.data import ClassificationData

from ._inputs import check_vectors

__all__ = ["ProbeResult", "linear_probe", "mlp_probe"]


@dataclasses.dataclass(frozen=True)
class ProbeResult:
    """A probe's accuracy on its training and test splits, and ``chance``: the test accuracy of
    always predicting the training split's most frequent class."""

    train_accuracy: float
    test_accuracy: float
    chance: float


def _split(embeddings: torch.Tensor, labels: torch.Tensor, test_fraction: float, seed: int
           ) -> ClassificationData:
    """Check the arguments and split them; the labels become classes 0..k-1."""
    check_vectors("embeddings", embeddings)
    if not isinstance(labels, torch.Tensor):
        raise TypeError(f"labels must be a Tensor, got {type(labels).__name__}")
    if labels.dim() != 1 or labels.is_floating_point() or labels.is_complex():
        raise ValueError(f"Invalid labels value: a {labels.dtype} tensor of shape "
                         f"{tuple(labels.shape)} (expected a 1-D integer tensor)")
    if len(labels) != len(embeddings):
        raise ValueError(f"Invalid labels value: {len(labels)} labels "
                         f"(expected {len(embeddings)}, one per embedding)")
    check_in_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False)
    check_int_at_least("seed", seed, 0)
    values, classes, counts = labels.cpu().unique(return_inverse=True, return_counts=True)
    if len(values) < 2 or counts.min() < 2:
        raise ValueError(f"Invalid labels value: classes {values.tolist()} with counts "
                         f"{counts.tolist()} (expected at least 2 classes of 2 examples each)")
    # Imported here: scikit-learn is slow to import and only the split and the linear probe use it.
    from sklearn.model_selection import train_test_split

    x = embeddings.detach().cpu()
    x_train, x_test, y_train, y_test = train_test_split(
        x, classes, test_size=test_fraction, random_state=seed, stratify=classes)
    return ClassificationData(name="probe", x_train=x_train, y_train=y_train, x_test=x_test,
                              y_test=y_test, num_classes=len(values))


def _chance(data: ClassificationData) -> float:
    majority = data.y_train.bincount(minlength=data.num_classes).argmax()
    return float((data.y_test == majority).double().mean())


def linear_probe(embeddings: torch.Tensor, labels: torch.Tensor, *, C: float = 1.0,
                 max_iter: int = 1000, test_fraction: float = 0.2, seed: int = 0
                 ) -> ProbeResult:
    """Accuracy of a logistic-regression probe predicting ``labels`` from ``embeddings``.

    Args:
        embeddings: one vector per row.
        labels: one integer class per row (any values; at least 2 classes of 2 examples).
        C: scikit-learn's inverse L2 regularisation strength.
        max_iter: the solver's iteration limit (scikit-learn warns when it is reached).
        test_fraction: the share of the examples held out for the test accuracy.
        seed: seeds the split.
    """
    check_positive("C", C)
    check_int_at_least("max_iter", max_iter, 1)
    data = _split(embeddings, labels, test_fraction, seed)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=max_iter)
    model.fit(data.x_train.double().numpy(), data.y_train.numpy())
    return ProbeResult(
        train_accuracy=float(model.score(data.x_train.double().numpy(), data.y_train.numpy())),
        test_accuracy=float(model.score(data.x_test.double().numpy(), data.y_test.numpy())),
        chance=_chance(data),
    )


def mlp_probe(embeddings: torch.Tensor, labels: torch.Tensor, *,
              hidden: Sequence[int] = (20, 20, 20), steps: int = 500, lr: float = 1e-2,
              batch_size: int | None = None, test_fraction: float = 0.2, seed: int = 0
              ) -> ProbeResult:
    """Accuracy of a ReLU MLP probe predicting ``labels`` from ``embeddings``.

    Args:
        embeddings, labels, test_fraction: as in :func:`linear_probe`.
        hidden: the hidden widths (Kenneweg et al.: three layers of 20).
        steps: Adam steps on the cross-entropy.
        lr: Adam's learning rate.
        batch_size: mini-batch size, or ``None`` for the whole training split.
        seed: seeds the split, the initialisation and the batch order.

    Raises:
        RuntimeError: when the training loss became non-finite.
    """
    if isinstance(hidden, str) or not isinstance(hidden, Sequence):
        raise TypeError(f"hidden must be a sequence of ints, got {type(hidden).__name__}")
    for width in hidden:
        check_int_at_least("hidden width", width, 1)
    check_int_at_least("steps", steps, 1)
    check_positive("lr", lr)
    if batch_size is not None:
        check_int_at_least("batch_size", batch_size, 1)
    data = _split(embeddings, labels, test_fraction, seed)
    from deepoptim.models import MLP
    from deepoptim.train import train

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MLP(data.x_train.shape[1], tuple(hidden), data.num_classes)
    model = model.to(data.x_train.dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = train(model, optimizer, data, steps=steps, batch_size=batch_size, seed=seed,
                    progress=False)
    if history.diverged:
        raise RuntimeError(f"the MLP probe diverged: non-finite loss at step "
                           f"{len(history.steps)} (try a smaller lr than {lr})")
    final = history.final()
    return ProbeResult(train_accuracy=float(final["train_acc"]),
                       test_accuracy=float(final["test_acc"]), chance=_chance(data))
