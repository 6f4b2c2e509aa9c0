r"""Pseudo-arclength continuation (PARC): :math:`\theta` and :math:`\lambda` corrected together.

Pathak & Paffenroth, "Principled Curriculum Learning using Parameter Continuation Methods"
(arXiv:2507.22089) and Pathak 2024; the method of the authors' ``continuation-jax``. The
unknown is :math:`x = (\theta, \lambda)`.

* **Start.** ``warmup`` corrector steps at :math:`\lambda_0`, a natural step
  :math:`\lambda_1 = \lambda_0 + \Delta\lambda` and ``ascent_period * descent_period``
  corrector steps at :math:`\lambda_1` give two corrected points :math:`x_0, x_1`.
* **Predictor.** The secant of the last two corrected points, its parameter part of length
  :math:`\Delta s`:

  .. math:: t = \Bigl(\Delta s \frac{\theta_k - \theta_{k-1}}{\lVert\theta_k -
            \theta_{k-1}\rVert},\ \lambda_k - \lambda_{k-1}\Bigr), \qquad
            \hat x = x_k + t

  (the :math:`\lambda` part scaled by :math:`\Delta s / \Delta s_{\text{prev}} = 1`: the
  arclength is fixed). If :math:`\hat\lambda > 1`, :math:`t` is shortened to end at
  :math:`\lambda = 1`.
* **Corrector.** Minimise :math:`J(\theta, \lambda)` (the task's loss) on the hyperplane through
  :math:`\hat x` normal to :math:`t`, :math:`N(x) = \langle x - \hat x, t\rangle = 0`, through
  the Lagrangian :math:`J + \mu N`: ``ascent_period`` rounds, each one gradient-ascent step
  :math:`\mu \leftarrow \mu + \eta_\mu N(x)` and ``descent_period`` descent steps on both
  :math:`\theta` (the optimizer, on :math:`J + \mu N`) and :math:`\lambda`
  (:math:`\lambda \leftarrow \lambda - \eta_\lambda(\partial_\lambda J + \mu t_\lambda)`, kept in
  [0, 1]). :math:`\mu` starts at 0 for every new hyperplane. Unlike natural continuation,
  :math:`\lambda` is itself optimised.

Continuation ends when :math:`\lambda` reaches 1. Two choices here are ours, not the paper's:
the hyperplane passes through :math:`\hat x` (``continuation-jax``'s ``normal_vector`` has the
``- delta_s`` of the paper's formula commented out), and the :math:`\lambda` part of the secant
is at least ``delta_min`` (recorded as ``floored``), so that :math:`\lambda` keeps advancing
where the reference would choose the secant's orientation instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_int_at_least, check_non_negative, check_positive
from deepoptim.train import Task, optimizer_step
from deepoptim.train.tasks import Batch

from .activations import Homotopy
from .base import Continuation, parameters_of

__all__ = ["PseudoArclength"]


class PseudoArclength(Continuation):
    r"""Pseudo-arclength continuation around any optimizer (the :math:`\theta` corrector).

    Args:
        task: the problem; its default ``step`` is replaced by steps on the Lagrangian, so a
            task with its own ``step`` is refused.
        homotopy: the holder of :math:`\lambda` (set to ``lam0``).
        lam0: the first :math:`\lambda`.
        delta: the natural step from :math:`\lambda_0` to :math:`\lambda_1`.
        arc_length: :math:`\Delta s`, the length of the secant's parameter part.
        warmup: corrector steps at :math:`\lambda_0`.
        ascent_period: rounds (ascent steps on :math:`\mu`) per continuation step.
        descent_period: descent steps per round.
        lambda_lr: :math:`\eta_\lambda`, the step size of the descent on :math:`\lambda`.
        ascent_lr: :math:`\eta_\mu`, the step size of the ascent on :math:`\mu`.
        delta_min: the least :math:`\lambda` part of a secant.
        reset_state: clear the optimizer's state at every predictor step.

    Per step it records ``mu`` and ``floored`` (1 at a predictor step whose :math:`\lambda`
    part was raised to ``delta_min``) while :math:`\lambda < 1`; ``loss`` is :math:`J` at
    the step's start.
    """

    def __init__(self, task: Task, homotopy: Homotopy, *, lam0: float = 0.01,
                 delta: float = 0.02, arc_length: float = 0.05, warmup: int = 100,
                 ascent_period: int = 4, descent_period: int = 25, lambda_lr: float = 3e-3,
                 ascent_lr: float = 3e-5, delta_min: float = 1e-3,
                 reset_state: bool = False) -> None:
        for name, value in dict(delta=delta, arc_length=arc_length,
                                delta_min=delta_min).items():
            check_positive(name, value)
        check_non_negative("lambda_lr", lambda_lr)
        check_non_negative("ascent_lr", ascent_lr)
        check_int_at_least("warmup", warmup, 1)
        check_int_at_least("ascent_period", ascent_period, 1)
        check_int_at_least("descent_period", descent_period, 1)
        if isinstance(task, Task) and type(task).step is not Task.step:
            raise TypeError(f"task must be a Task with the default step (PseudoArclength "
                            f"steps on its loss), got {type(task).__name__}")
        super().__init__(task, homotopy, lam0=lam0, reset_state=reset_state)
        self.delta, self.arc_length, self.warmup = delta, arc_length, warmup
        self.ascent_period, self.descent_period = ascent_period, descent_period
        self.lambda_lr, self.ascent_lr, self.delta_min = lambda_lr, ascent_lr, delta_min
        self.mu = 0.0
        self.point: tuple[float, list[torch.Tensor]] | None = None  # last corrected (lam, theta)
        self.guess: dict[str, Any] | None = None  # x_hat and t, while on a hyperplane

    @property
    def corrector_steps(self) -> int:
        """Corrector steps per continuation step."""
        return self.ascent_period * self.descent_period

    def continuation_step(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                          batch: Batch, search_batch: Batch | None) -> dict[str, float]:
        """A corrector step (at fixed :math:`\\lambda` before the first secant, on the
        hyperplane after), then the predictor at the end of a correction."""
        params = parameters_of(optimizer)
        since = self.steps_taken - self.warmup
        if self.guess is None:
            records = self.task.step(model, optimizer, batch, search_batch)
        else:
            if since % self.descent_period == 0:
                self.mu += self.ascent_lr * float(self._constraint(params))
            records = self._constrained_step(model, optimizer, batch, search_batch, params)
        records = {**records, "mu": self.mu, "floored": 0.0}
        if since == -1 or (since >= 0 and (since + 1) % self.corrector_steps == 0
                           and not self.finished):
            records["floored"] = float(self._predict(optimizer, params))
        return records

    def _constrained_step(self, model: nn.Module, optimizer: torch.optim.Optimizer,
                          batch: Batch, search_batch: Batch | None,
                          params: list[torch.Tensor]) -> dict[str, float]:
        """One step of the optimizer on :math:`J + \\mu N` and one on :math:`\\lambda`."""
        mu, guess, homotopy = self.mu, self.guess, self.homotopy
        homotopy.tracking(True)
        first: dict[str, torch.Tensor] = {}

        def lagrangian(b: Batch) -> torch.Tensor:
            loss = self.task.loss(model, b)
            if torch.is_grad_enabled() and not first:
                first["loss"] = loss.detach()
            return loss + mu * self._constraint(params) if mu else loss

        def after_backward() -> None:  # N is linear: its gradient is t
            if mu:
                torch._foreach_add_([p.grad for p in params], guess["t_theta"], alpha=mu)
            first.setdefault("dlam", homotopy.variable.grad)
            homotopy.variable.grad = None

        optimizer_step(optimizer, lagrangian, batch, search_batch,
                       after_backward=after_backward)
        dlam = 0.0 if first.get("dlam") is None else float(first["dlam"])
        lam = homotopy.lam - self.lambda_lr * (dlam + mu * guess["t_lam"])
        homotopy.lam = min(1.0, max(0.0, lam))
        if self.finished:
            homotopy.tracking(False)
        return {"loss": float(first["loss"])}

    @torch.no_grad()
    def _constraint(self, params: list[torch.Tensor]) -> torch.Tensor:
        """:math:`N(x) = \\langle x - \\hat x, t\\rangle`, a 0-dim tensor."""
        guess = self.guess
        offsets = torch._foreach_sub(params, guess["theta"])
        total = sum(torch.vdot(d.flatten(), t.flatten())
                    for d, t in zip(offsets, guess["t_theta"], strict=True))
        return total + (self.homotopy.lam - guess["lam"]) * guess["t_lam"]

    @torch.no_grad()
    def _predict(self, optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> bool:
        """The natural first step, or the secant predictor; whether :math:`t_\\lambda` was
        floored."""
        lam, theta = self.homotopy.lam, [p.detach().clone() for p in params]
        previous, self.point = self.point, (lam, theta)
        self.homotopy.tracking(False)
        self.mu, self.guess = 0.0, None
        if previous is None:
            self.predict(optimizer, min(1.0, lam + self.delta))
            return False
        lam_prev, theta_prev = previous
        step = [q - q_prev for q, q_prev in zip(theta, theta_prev, strict=True)]
        length = float(torch.nn.utils.get_total_norm(step))
        t_theta = [s * (self.arc_length / length) if length else torch.zeros_like(s)
                   for s in step]
        floored = lam - lam_prev < self.delta_min
        t_lam = max(lam - lam_prev, self.delta_min)
        new = lam + t_lam
        if new >= 1.0:  # shorten the secant to end at lambda = 1
            t_theta = [t * ((1.0 - lam) / t_lam) for t in t_theta]
            t_lam, new = 1.0 - lam, 1.0
        torch._foreach_add_(params, t_theta)
        self.predict(optimizer, new)
        if new < 1.0:
            self.guess = {"lam": new, "theta": [p.detach().clone() for p in params],
                          "t_theta": t_theta, "t_lam": t_lam}
        return floored

    def extra_state(self) -> dict[str, Any]:
        """:math:`\\mu`, the last corrected point and the hyperplane."""
        point = None if self.point is None else {"lam": self.point[0], "params": self.point[1]}
        return {"mu": self.mu, "point": point, "guess": self.guess}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`extra_state`."""
        self.mu, point, self.guess = state["mu"], state["point"], state["guess"]
        self.point = None if point is None else (point["lam"], list(point["params"]))
        self.homotopy.tracking(self.guess is not None and not self.finished)
