r"""Sharpness during training: the Hessian's largest eigenvalue, every few steps.

The sharpness of a point of the trajectory is :math:`\lambda_{\max}(\nabla^2 L(\theta_t))`, the
largest eigenvalue of the Hessian of the loss over a *fixed* data set (not the mini-batch of
the step, so that the values of different steps are comparable). Gradient descent with step
:math:`\eta` is stable on a quadratic only while :math:`\lambda_{\max} < 2/\eta`; Cohen et al.
(2021) observed that full-batch gradient descent on networks raises :math:`\lambda_{\max}`
until it reaches that limit and then hovers around it (the edge of stability).

:class:`SharpnessTracker` is a ``callback`` for :func:`deepoptim.train.train`: at the steps it
is asked for it builds a :class:`~deepoptim.curvature.HessianOperator` at the model's current
parameters (copied; the model's parameters, buffers and train/eval flags are left as they
were), records :math:`\lambda_{\max}` by :func:`~deepoptim.curvature.eigsh` and the loss, and
can hand the same operator to further analyses (spectral densities, more eigenvalues) without
building it again. The book follows the sharpness of SGD and Adam, and the edge of stability,
in "Hessian spectra with parallel stochastic Lanczos" (``notebooks/10_hessian_spectra``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import torch
from torch import nn

from deepoptim._checks import check_int_at_least, check_positive
from deepoptim.curvature import HessianOperator, eigsh

__all__ = ["SharpnessTracker"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class SharpnessTracker:
    """Records :math:`\\lambda_{\\max}` of the Hessian and the loss during training.

    Pass an instance as ``callback`` to :func:`deepoptim.train.train`, which calls it with
    ``(step, model, optimizer)`` before training (step 0) and after every step. At the steps
    that are multiples of ``every``, and at the steps in ``at``, it appends
    ``{"step": step, "lambda_max": ..., "loss": ...}`` to :attr:`records`.

    Args:
        loss_fn: ``loss_fn(model(inputs), targets)``, the mean loss of a batch.
        inputs, targets: the fixed data set of the Hessian.
        every: record every this many steps.
        at: further steps to record (e.g. the checkpoints of a density).
        tol: the relative residual tolerance of :func:`~deepoptim.curvature.eigsh`.
        seed: the seed of its start block.
        batch_size, dtype, train: of :class:`~deepoptim.curvature.HessianOperator` (eval mode
            by default).
        analyse: called as ``analyse(step, operator)`` after each record, with that step's
            operator (its gradient graph cached), for further quantities of the same Hessian;
            it must not keep the operator.
    """

    def __init__(self, loss_fn: LossFn, inputs: torch.Tensor, targets: torch.Tensor, *,
                 every: int = 1, at: Collection[int] = (), tol: float = 1e-3, seed: int = 0,
                 batch_size: int | None = None, dtype: torch.dtype | None = None,
                 train: bool = False,
                 analyse: Callable[[int, HessianOperator], None] | None = None) -> None:
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
        check_int_at_least("every", every, 1)
        at = set(at)
        for step in at:
            check_int_at_least("at", step, 0)
        check_positive("tol", tol)
        check_int_at_least("seed", seed, 0)
        if analyse is not None and not callable(analyse):
            raise TypeError(f"analyse must be callable, got {type(analyse).__name__}")
        self.loss_fn = loss_fn
        self.inputs = inputs
        self.targets = targets
        self.every = every
        self.at = at
        self.tol = tol
        self.seed = seed
        self.operator_options = {"batch_size": batch_size, "dtype": dtype, "train": train}
        self.analyse = analyse
        self.records: list[dict[str, float | int]] = []

    def wants(self, step: int) -> bool:
        """Whether ``step`` is recorded."""
        return step % self.every == 0 or step in self.at

    def __call__(self, step: int, model: nn.Module, optimizer: object = None) -> None:
        if not self.wants(step):
            return
        operator = HessianOperator(model, self.loss_fn, self.inputs, self.targets, cache=True,
                                   **self.operator_options)
        top = eigsh(operator, 1, tol=self.tol, seed=self.seed)
        self.records.append({"step": int(step), "lambda_max": float(top.eigenvalues[0]),
                             "loss": operator.loss()})
        if self.analyse is not None:
            self.analyse(step, operator)
