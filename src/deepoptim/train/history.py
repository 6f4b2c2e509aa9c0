"""What a training run records: :class:`History`, and the optimizers' diagnostics as numbers.

Per step, :func:`deepoptim.train.fit` records the step's number, the records the task's
step returned (its loss or losses, and any extra values such as an outer parameter), the
learning rate of every optimizer, the training time so far and every optimizer's
diagnostics (:func:`optimizer_diagnostics`); per evaluation, the step, the time and the
task's metrics. A record named ``loss`` or ending in ``_loss`` is a loss: the run stops,
flagged as diverged, when one is not finite.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import torch

from deepoptim.optim import DIAGNOSTICS

__all__ = ["History", "optimizer_diagnostics"]


@dataclasses.dataclass
class History:
    """What a training run recorded.

    For a classification run (:func:`deepoptim.train.train`) the columns are:

    Attributes:
        steps: one dict per optimizer step: ``step``, ``loss`` (the mini-batch loss the
            closure returned first), ``lr`` (of the first parameter group), ``time``
            (seconds of training so far, evaluations excluded) and the optimizer's
            diagnostics. Another task adds its step's records after ``step``; several
            named optimizers give ``<name>_lr`` and ``<name>_<diagnostic>``.
        evals: one dict per evaluation: ``step``, ``time``, ``train_loss``,
            ``train_acc``, ``test_loss``, ``test_acc`` (another task: its own metrics
            after ``step`` and ``time``).
        diverged: True when a loss became non-finite and training stopped early.

    ``dataclasses.asdict(history)`` holds only lists, dicts and numbers, so it can be saved
    with a checkpoint and restored as ``History(**saved)`` to resume the run.
    """

    steps: list[dict[str, float]] = dataclasses.field(default_factory=list)
    evals: list[dict[str, float]] = dataclasses.field(default_factory=list)
    diverged: bool = False

    def steps_frame(self) -> pd.DataFrame:
        """The per-step records as a data frame."""
        return pd.DataFrame(self.steps)

    def evals_frame(self) -> pd.DataFrame:
        """The per-evaluation records as a data frame."""
        return pd.DataFrame(self.evals)

    def final(self) -> dict[str, float]:
        """The last evaluation, plus the total training time and whether it diverged."""
        if not self.evals:
            raise ValueError("the history holds no evaluation")
        return {**self.evals[-1], "diverged": self.diverged}


def optimizer_diagnostics(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """The optimizer's diagnostics as flat numbers.

    Optimizers of this package keep their diagnostics (accepted step size, loss
    evaluations, failure flags, ...) in ``optimizer.state["diagnostics"]``, a dict of
    Python numbers or tensors. Scalars become one column; a 1-D tensor (one entry per
    parameter group or layer) becomes columns ``name[0]``, ``name[1]``, .... Optimizers
    without diagnostics (PyTorch's own) give an empty dict.
    """
    diagnostics = optimizer.state.get(DIAGNOSTICS, {})
    flat: dict[str, float] = {}
    for name, value in diagnostics.items():
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            flat.update({f"{name}[{i}]": float(v) for i, v in enumerate(value.flatten())})
        else:
            flat[name] = float(value)
    return flat
