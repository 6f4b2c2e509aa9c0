r"""Natural-parameter continuation, with the secant predictor and adaptive steps of NPACS.

Pathak & Paffenroth, "Parameter Continuation Methods for the Optimization of Deep Neural
Networks" (ICMLA 2019), and Pathak 2024 (thesis, Part IV): NPACS, "Natural Parameter Adaptive
Continuation with Secant approximation". The corrector is the
ordinary optimizer, ``every`` steps at each :math:`\lambda`, its state kept across
:math:`\lambda` steps. Then :math:`\lambda` moves, never past 1:

.. math:: \lambda_{k+1} = \min(1, \lambda_k + \Delta\lambda),

with a fixed :math:`\Delta\lambda` (natural continuation, NPC) or the adaptive rule
(:func:`~deepoptim.continuation.adapt_delta`, from the global gradient norm of every step),
and the *secant predictor* moves the parameters along the path of minimisers:

.. math:: \theta \leftarrow \theta_k + s\,(\theta_k - \theta_{k-1}), \qquad
          s = \frac{\lambda_{k+1} - \lambda_k}{\lambda_k - \lambda_{k-1}},

with :math:`\theta_{k-1}` the parameters corrected at :math:`\lambda_{k-1}`. It is exact when
the path is linear in :math:`\lambda`. The first :math:`\lambda` step has no previous point and
is a natural one. The authors' code applies a constant :math:`s = 0.008 / 0.02 = 0.4` (baked
into its TF1 graph), which is the default here (``secant_scale=0.4``; any positive constant
may be given); ``secant_scale="ratio"`` uses the formula, with the increments actually taken
(the last one is cut at 1). The formula is exact on a straight path of
minimisers, but when the corrector's few steps do not converge, the predictor repeats the
optimizer's own displacement with weight :math:`s` at every later step of :math:`\lambda`,
like momentum; with :math:`s \approx 1` that displacement does not decay, and on the book's
digits autoencoder NPACS with the formula diverges where the constant 0.4 trains (chapter
"Continuation").
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least, check_positive
from deepoptim.train import Task
from deepoptim.train.tasks import Batch

from .activations import Homotopy
from .adaptive import adapt_delta
from .base import Continuation, parameters_of

__all__ = ["NaturalContinuation"]


class NaturalContinuation(Continuation):
    r"""Natural-parameter continuation (NPC) and NPACS around any optimizer.

    The defaults are NPACS's reference settings (``secant=True, adaptive=True``);
    ``secant=False, adaptive=False`` is NPC: a fixed :math:`\Delta\lambda` after every
    ``every`` corrector steps.

    Args:
        task: the problem (its loss depends on :math:`\lambda` through ``homotopy``); its own
            ``step`` is the corrector step.
        homotopy: the holder of :math:`\lambda` (set to ``lam0``).
        lam0: the first :math:`\lambda` (reference: 0.01).
        delta: the first :math:`\Delta\lambda` (the only one without ``adaptive``).
        every: corrector steps at each :math:`\lambda` (reference ``u_freq``: 10).
        secant: use the secant predictor (NPACS) or keep the parameters (NPC).
        adaptive: adapt :math:`\Delta\lambda` to the gradient norms' trend; the global gradient
            norm of every step is then recorded as ``grad_norm``.
        delta_min, delta_max: the bounds of the adaptive :math:`\Delta\lambda`.
        window: steps per window of gradient norms; adaptation starts once more than
            ``window`` steps are recorded (the reference's ``adaptive_threshold``).
        norm_strict: the relative change of the mean norm that changes :math:`\Delta\lambda`.
        norm_cap: a gradient norm this large within the last window halves
            :math:`\Delta\lambda`.
        secant_scale: a constant :math:`s` (the authors' code's 0.4) or ``"ratio"``
            (:math:`s` from the increments taken).
        reset_state: clear the optimizer's state at every :math:`\lambda` step.
    """

    def __init__(self, task: Task, homotopy: Homotopy, *, lam0: float = 0.01,
                 delta: float = 0.008, every: int = 10, secant: bool = True,
                 adaptive: bool = True, delta_min: float = 8e-4, delta_max: float = 0.02,
                 window: int = 100, norm_strict: float = 0.05, norm_cap: float = 0.25,
                 secant_scale: float | str = 0.4,
                 reset_state: bool = False) -> None:
        for name, value in dict(delta=delta, delta_min=delta_min, delta_max=delta_max,
                                norm_strict=norm_strict, norm_cap=norm_cap).items():
            check_positive(name, value)
        check_int_at_least("every", every, 1)
        check_int_at_least("window", window, 1)
        if isinstance(secant_scale, str):
            check_choice("secant_scale", secant_scale, ("ratio",))
        else:
            check_positive("secant_scale", secant_scale)
        for name, value in dict(secant=secant, adaptive=adaptive).items():
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
        if adaptive and delta_min > delta_max:
            raise ValueError(f"Invalid delta_min value: {delta_min!r} (expected delta_min <= "
                             f"delta_max = {delta_max!r})")
        if adaptive and not delta_min <= delta <= delta_max:
            raise ValueError(f"Invalid delta value: {delta!r} (expected delta_min = "
                             f"{delta_min!r} <= delta <= delta_max = {delta_max!r})")
        super().__init__(task, homotopy, lam0=lam0, reset_state=reset_state)
        self.delta, self.every, self.secant, self.adaptive = delta, every, secant, adaptive
        self.bounds = dict(window=window, delta_min=delta_min, delta_max=delta_max,
                           norm_strict=norm_strict, norm_cap=norm_cap)
        self.fixed_scale = None if secant_scale == "ratio" else float(secant_scale)
        self.norms: list[float] = []
        self.previous: tuple[float, list[torch.Tensor]] | None = None  # (lambda, theta)

    def continuation_step(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                          batch: Batch, search_batch: Batch | None) -> dict[str, float]:
        """A corrector step (the wrapped task's), then the predictor every ``every`` steps."""
        records = self.task.step(model, optimizer, batch, search_batch)
        params = parameters_of(optimizer)
        if self.adaptive:
            norm = _grad_norm(params)
            self.norms = [*self.norms[1 - 2 * self.bounds["window"]:], norm]
            records = {**records, "grad_norm": norm}
        if (self.steps_taken + 1) % self.every == 0:
            self._predict(optimizer, params)
        return records

    @torch.no_grad()
    def _predict(self, optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> None:
        """:math:`\\Delta\\lambda` (adapted), the secant predictor, the next :math:`\\lambda`."""
        if self.adaptive and len(self.norms) > self.bounds["window"]:
            self.delta = adapt_delta(self.delta, self.norms, **self.bounds)
        lam = self.homotopy.lam
        new = min(1.0, lam + self.delta)
        if self.secant:
            corrected = [p.detach().clone() for p in params]
            if self.previous is not None:
                lam_prev, theta_prev = self.previous
                scale = self.fixed_scale or (new - lam) / (lam - lam_prev)
                for p, q in zip(params, theta_prev, strict=True):
                    p.add_(p - q, alpha=scale)
            self.previous = (lam, corrected)
        self.predict(optimizer, new)

    def extra_state(self) -> dict[str, Any]:
        """:math:`\\Delta\\lambda`, the recent gradient norms and the previous corrected point."""
        previous = None if self.previous is None else {"lam": self.previous[0],
                                                       "params": self.previous[1]}
        return {"delta": self.delta, "norms": list(self.norms), "previous": previous}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`extra_state`."""
        self.delta, self.norms = state["delta"], list(state["norms"])
        previous = state["previous"]
        self.previous = None if previous is None else (previous["lam"],
                                                       list(previous["params"]))


def _grad_norm(params: list[torch.Tensor]) -> float:
    """The global 2-norm of the parameters' gradients (those that have one)."""
    grads = [p.grad for p in params if p.grad is not None]
    return float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
