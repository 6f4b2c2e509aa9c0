"""The authors' SaLSa run beside ours, through the book's own training loop.

Kenneweg et al. publish SaLSa as the package ``salsa-optimizer`` (0.1.0, MIT; ``from
salsa.SaLSA import SaLSA``). :class:`ReferenceSaLSa` wraps that optimizer, unchanged, behind
the closure convention of :mod:`deepoptim.train`, so that a chapter trains it on the same
problems, batches and initialisations as :class:`deepoptim.optim.SaLSa`
(:func:`run_reference`), and records per step what our line searches record:

* ``loss_evals``: the forward passes the step made (counted at the closure, the gradient's
  included, so a skipped step makes 1 and a search step 1 plus its trials);
* ``searched``: 1 when the step searched (made more than one forward pass), else 0;
* ``step_size``: the optimizer's step size after the step.

The package's step calls its closure as ``closure(backwards=True)`` once (forward and
backward pass) and ``closure()`` for each trial; it reseeds the global random number
generators from the wall clock inside every closure call and restores torch's, but not
NumPy's, afterwards, and prints a line when a trial's loss equals the current one. The
adapter keeps NumPy's generator as it was and silences the print; the chapter's models have
no randomness in their forward pass, so the reseeding changes nothing there.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..experiment import seed_everything
from ..models import build_model
from ..optim import DIAGNOSTICS
from ..train import train
from .part1 import Problem
from .runs import Runs

__all__ = ["ReferenceSaLSa", "run_reference"]


class ReferenceSaLSa(torch.optim.Optimizer):
    """The authors' SaLSa (``salsa.SaLSA.SaLSA`` of ``salsa-optimizer``) as a
    ``torch.optim.Optimizer`` driven by this package's closures; ``kwargs`` go to it
    unchanged (its defaults: ``init_step_size=1``, ``c=0.5``, ``momentum=(0.9, 0.999, 0.9)``).
    The parameter groups' ``lr`` follows its step size (the training loop records it).
    """

    def __init__(self, params: Iterable[torch.Tensor], **kwargs: Any) -> None:
        try:
            from salsa.SaLSA import SaLSA
        except ImportError as error:
            raise ImportError("ReferenceSaLSa needs the authors' package: pip install "
                              "salsa-optimizer==0.1.0") from error
        params = list(params)
        self.reference = SaLSA(params, **kwargs)
        super().__init__(params, {"lr": float(self.reference.step_size)})

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        """One step of the authors' SaLSa; records its diagnostics."""
        forwards = 0

        def their_closure(backwards: bool = False) -> torch.Tensor:
            nonlocal forwards
            forwards += 1
            with torch.enable_grad() if backwards else torch.no_grad():
                return closure()

        numpy_state = np.random.get_state()  # noqa: NPY002 (the global state it reseeds)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                loss = self.reference.step(their_closure)
        finally:
            np.random.set_state(numpy_state)  # noqa: NPY002
        step_size = float(self.reference.step_size)
        self.state[DIAGNOSTICS] = {"loss_evals": forwards, "searched": float(forwards > 1),
                                   "step_size": step_size}
        for group in self.param_groups:
            group["lr"] = step_size
        return loss


def run_reference(problem: Problem, seeds: Iterable[int], config: str,
                  make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer]) -> Runs:
    """Train ``problem`` from every seed with ``make_optimizer(parameters)`` (e.g.
    :class:`ReferenceSaLSa`), seeded as :func:`~deepoptim.studies.run_classifier` seeds its
    runs, so the initialisation and the batches are those of the registry's optimizers.

    Returns :class:`Runs` labelled ``config``, ``model``, ``optimizer`` (the optimizer's class
    name) and ``seed``, like :func:`~deepoptim.studies.run_grid`'s.
    """
    records, evals, steps = [], [], []
    for seed in seeds:
        seed_everything(seed)
        model = build_model(problem.model).to(problem.dataset.x_train.device)
        optimizer = make_optimizer(list(model.parameters()))
        history = train(model, optimizer, problem.dataset, steps=problem.steps,
                        batch_size=problem.batch_size, eval_every=problem.eval_every, seed=seed)
        labels = {"config": config, "model": problem.model,
                  "optimizer": type(optimizer).__name__, "seed": seed}
        final = {key: value for key, value in history.final().items() if key != "step"}
        records.append({**labels, "dataset": problem.dataset.name, **final})
        evals.append(history.evals_frame().assign(**labels))
        steps.append(history.steps_frame().assign(**labels))
    if not records:
        raise ValueError("Invalid seeds value: [] (give at least one seed)")
    return Runs(pd.DataFrame(records), pd.concat(evals, ignore_index=True),
                pd.concat(steps, ignore_index=True))
