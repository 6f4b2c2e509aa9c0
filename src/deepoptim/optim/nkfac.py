r"""NKFAC: KFAC with Newton-Schulz inverses, relative damping and gradient amplitude
preservation (Sun, Yong and Zhang 2023; Sun 2024, the thesis's NKFAC chapter).

The factors are KFAC's (:mod:`deepoptim.optim.kfac`), each normalised by its Frobenius norm
before its running average, which starts at zero, every ``cov_interval`` steps:

.. math::

    F \leftarrow \beta F + (1 - \beta)\, F_{\mathrm{new}} / (\lVert F_{\mathrm{new}}\rVert_F
    + 10^{-12}) .

Every ``inv_interval`` steps each factor gets the relative damping
:math:`\lambda = \max(10^{-4}, \eta\, \lambda_{\max}(F))` (``damping`` :math:`=\eta`,
:math:`\lambda_{\max}` by 10 power iterations, :func:`~deepoptim.curvature.power_iteration`)
and its inverse :math:`B \approx (F + \lambda I)^{-1}` is updated by ``newton_steps``
Newton-Schulz iterations warm-started at the previous inverse,
:math:`B \leftarrow 2B - B (F + \lambda I) B`, whose residual squares each time:
:math:`I - B'(F + \lambda I) = (I - B(F + \lambda I))^2`
(:func:`~deepoptim.curvature.newton_schulz_inverse`). The inverse is computed exactly
(eigendecomposition, :func:`~deepoptim.curvature.damped_inverse`) at the first three refreshes
and every ``exact_interval``-th refresh after, as in the authors' code. A warm start is unsafe
when :math:`\lVert I - B(F + \lambda I)\rVert_F \ge 1`, where the full step may diverge. In a
factor of a few hundred rows this is common long before the iteration is in danger: the
Frobenius norm adds up every eigenvalue's error. ``unsafe_start`` chooses what happens then
(:func:`~deepoptim.curvature.newton_schulz_inverse`): ``"scaled"`` (the default) takes the step
:math:`B \leftarrow B + \alpha (I - T) B`, :math:`T = B(F + \lambda I)`, with
:math:`\alpha = \min(1, 1/\hat\mu)` from a power-iteration estimate :math:`\hat\mu` of
:math:`T`'s largest eigenvalue (with a 10% margin); ``"damped"`` is the authors' rule,
:math:`\alpha = 1/\lVert T\rVert_F`, which keeps :math:`B` positive definite too but, for a large
factor, barely moves it, so that its residual can stay large refresh after refresh;
``"exact"`` computes the inverse by eigendecomposition. A Newton update that expands the
residual (an indefinite start) is replaced by an exact inverse. The preconditioned
gradient matrix is rescaled to the gradient's norm, the thesis's "gradient amplitude
preservation":

.. math::

    D = (G + \lambda_G I)^{-1} V (A + \lambda_A I)^{-1}, \qquad
    D \leftarrow D\, \lVert V\rVert_F / (\lVert D\rVert_F + 10^{-12}),

so a converged NKFAC direction is the KFAC direction with these dampings, rescaled to the
gradient's norm; the scale of the factors does not matter. Then SGD with momentum on
:math:`D`, coupled weight decay added after preconditioning (``lr`` is its learning rate).
Defaults are the authors' (``lr=0.1``, ``momentum=0.9``, ``stat_decay=0.95``,
``damping=0.01``, ``T_cov=20``, ``T_inv=200``, one Newton step, an exact refresh every 500),
except ``unsafe_start="scaled"`` (theirs is ``"damped"``).
The shared machinery, how the model is given, the fallbacks and the diagnostics are in
:mod:`deepoptim.optim._kronecker`; NKFAC adds ``exact_inversions`` (inverses computed
exactly), ``newton_inversions`` (inverses updated by Newton-Schulz), ``newton_iterations``
(the iterations they ran: fewer than ``newton_steps`` once the residual is below
:math:`\sqrt{\varepsilon}`), ``damped_steps`` (those that took the damped step from an
unsafe start), ``unsafe_starts`` (Newton updates whose warm start was unsafe),
``newton_failures`` (Newton updates that expanded the residual, a sign of an indefinite start
or factor: the inverse is then computed exactly, and a factor that is not positive definite
fails there; each is also a fallback) and
``newton_residual`` (the
largest :math:`\lVert I - B(F + \lambda I)\rVert_F` of the last refresh; for a Newton-Schulz
update, the bound :math:`\lVert E\rVert_F^2` from the residual :math:`E` before its last
iteration, whose own measuring product is saved:
:func:`~deepoptim.curvature.newton_schulz_inverse` with ``measure_last=False``).

A refresh by Newton-Schulz costs two matrix products per iteration (one with the default
single step), a check of the factor and ten matrix-vector products; an exact refresh an
eigendecomposition.

Under ``torch.distributed`` the factors recorded on each rank are averaged over the ranks
before the normalisation (so the full-batch factor is normalised, not each rank's), making
every rank's running factors the full-batch ones when the ranks hold equal shares of the batch
(see :mod:`deepoptim.optim._kronecker`). Everything else agrees without communication: the
power iteration starts from a fixed seeded probe, so the relative damping is a function of
the factor; the choice between an exact and a Newton-Schulz inverse depends on the refresh
count, the factor and the previous inverse, all equal on every rank; and the amplitude
preservation uses DDP's averaged gradient.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least
from deepoptim.curvature import (
    FactorError,
    MatrixOperator,
    damped_inverse,
    newton_schulz_inverse,
    power_iteration,
)
from deepoptim.optim._kronecker import REQUIRED, KroneckerOptimizer

__all__ = ["NKFAC"]

#: The smallest damping, whatever the factor's largest eigenvalue.
DAMPING_FLOOR = 1e-4

#: What NKFAC does with an unsafe warm start (see the module docstring).
UNSAFE_STARTS = ("damped", "scaled", "exact")

#: Refreshes computed exactly before the Newton iterations take over (the authors' three).
EXACT_WARMUP = 3


class NKFAC(KroneckerOptimizer):
    """NKFAC; see the module docstring for the method and :mod:`deepoptim.optim._kronecker`
    for the shared behaviour.

    Args:
        params: parameters or parameter groups (every hyperparameter but ``model``,
            ``layers``, the intervals and the Newton options can be set per group).
        model: the network (keyword-only, required): ``NKFAC(model.parameters(),
            model=model)``; ``None`` preconditions nothing (SGD with momentum).
        lr: the learning rate.
        momentum, dampening, nesterov: as in ``torch.optim.SGD``.
        weight_decay: coupled L2, added to the preconditioned direction.
        damping: :math:`\\eta`, the damping relative to each factor's largest eigenvalue.
        stat_decay: :math:`\\beta` of the factors' running average.
        cov_interval: record the factors every this many steps (:math:`T_{\\mathrm{cov}}`).
        inv_interval: update the inverses every this many steps (:math:`T_{\\mathrm{inv}}`).
        newton_steps: Newton-Schulz iterations per update (the authors' ``K``).
        exact_interval: compute the inverses exactly every this many updates.
        unsafe_start: for a warm start whose residual is at least one, ``"scaled"`` (a step
            scaled to its largest eigenvalue), ``"damped"`` (the authors' damped step) or
            ``"exact"`` (an eigendecomposition).
        layers: names of the modules to precondition; default every supported layer of
            ``model`` whose weight is in ``params``.
    """

    def __init__(self, params: Iterable[Any] | None, lr: float = 0.1, momentum: float = 0.9,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 damping: float = 0.01, stat_decay: float = 0.95, cov_interval: int = 20,
                 inv_interval: int = 200, newton_steps: int = 1, exact_interval: int = 500,
                 unsafe_start: str = "scaled", *, model: nn.Module | None = REQUIRED,
                 layers: Sequence[str] | None = None) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, damping=damping,
                        stat_decay=stat_decay)
        self._setup(params, defaults, model=model, layers=layers, cov_interval=cov_interval,
                    inv_interval=inv_interval, newton_steps=newton_steps,
                    exact_interval=exact_interval, unsafe_start=unsafe_start)

    def _setup(self, params: Iterable[Any] | None, defaults: dict[str, Any], *,
               model: nn.Module | None, layers: Sequence[str] | None, cov_interval: int,
               inv_interval: int, newton_steps: int, exact_interval: int,
               unsafe_start: str) -> None:
        """Check and keep the Newton options, then the shared construction."""
        check_int_at_least("newton_steps", newton_steps, 1)
        check_int_at_least("exact_interval", exact_interval, 1)
        check_choice("unsafe_start", unsafe_start, UNSAFE_STARTS)
        self.newton_steps = newton_steps
        self.exact_interval = exact_interval
        self.unsafe_start = unsafe_start
        KroneckerOptimizer.__init__(self, params, defaults, model=model, layers=layers,
                                    cov_interval=cov_interval, inv_interval=inv_interval)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "newton_steps": self.newton_steps,
                "exact_interval": self.exact_interval, "unsafe_start": self.unsafe_start}

    def _initial_diagnostics(self) -> dict[str, float | int]:
        return {"exact_inversions": 0, "newton_inversions": 0, "newton_iterations": 0,
                "damped_steps": 0, "unsafe_starts": 0, "newton_failures": 0,
                "newton_residual": 0.0}

    def _fold(self, running: torch.Tensor | None, new: torch.Tensor, decay: float
              ) -> torch.Tensor:
        normalized = new / (torch.linalg.matrix_norm(new) + 1e-12)
        running = torch.zeros_like(new) if running is None else running
        return running * decay + normalized * (1 - decay)

    def _invert(self, factor: torch.Tensor, previous: torch.Tensor | None, damping: float,
                refresh: int, diagnostics: dict[str, Any], name: str) -> torch.Tensor:
        operator = MatrixOperator(factor, name)  # checks the factor: finite, symmetric
        largest = float(power_iteration(operator, max_iter=10, tol=0.0).eigenvalues[0])
        shift = max(DAMPING_FLOOR, damping * largest)
        exact = previous is None or refresh < EXACT_WARMUP or refresh % self.exact_interval == 0
        if not exact:
            try:
                result = newton_schulz_inverse(
                    factor, shift, initial=previous, max_iter=self.newton_steps,
                    measure_last=False,
                    unsafe_start="stop" if self.unsafe_start == "exact" else self.unsafe_start)
            except FactorError:  # the iteration expanded the residual: start afresh, exactly
                diagnostics["newton_failures"] += 1
                diagnostics["fallbacks"] += 1
                exact = True
            else:
                diagnostics["unsafe_starts"] += float(result.residuals[0]) >= 1
                exact = not result.warm_start
        if exact:
            inverse = damped_inverse(factor, shift)
            diagnostics["exact_inversions"] += 1
            eye = torch.eye(len(factor), dtype=factor.dtype, device=factor.device)
            residual = float(torch.linalg.matrix_norm(eye - inverse @ (factor + shift * eye)))
        else:
            inverse = result.inverse
            diagnostics["newton_inversions"] += 1
            diagnostics["newton_iterations"] += result.iterations
            diagnostics["damped_steps"] += result.damped_steps
            residual = result.residual_bound  # the last step's product is saved
        diagnostics["newton_residual"] = max(diagnostics["newton_residual"], residual)
        return inverse

    def _refresh(self, refresh: int, diagnostics: dict[str, Any]) -> None:
        diagnostics["newton_residual"] = 0.0  # the largest of this refresh
        super()._refresh(refresh, diagnostics)

    def _rescale(self, direction: torch.Tensor, gradient: torch.Tensor) -> torch.Tensor:
        scale = torch.linalg.matrix_norm(gradient) / (torch.linalg.matrix_norm(direction) + 1e-12)
        return direction * scale
