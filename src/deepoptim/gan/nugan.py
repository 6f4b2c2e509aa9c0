r"""NuGAN ("nudged Adam"): keep the generator out of sharp minima of its loss.

Durall, Chatzimichailidis, Labus and Keuper (2021) and Chatzimichailidis (2023) relate mode
collapse to the generator converging to *sharp* minima of its loss: a large top eigenvalue
:math:`\lambda_1` of :math:`H_G = \nabla^2_\theta L_G` (the discriminator held fixed). NuGAN
removes the direction of the top eigenvector :math:`v_1` from the generator's gradient before
the base optimizer (Adam) sees it. With :math:`g = \nabla_\theta L_G` and :math:`\|v_1\| = 1`:

* ``mode="project"`` (the default), projection removal with strength :math:`\gamma`:

  .. math:: \tilde g = g - \gamma\,\langle g, v_1\rangle\, v_1 ,

  so :math:`\gamma = 1` leaves :math:`\tilde g \perp v_1` (no step along the sharpest
  direction), :math:`\gamma = 0` is plain Adam, :math:`\gamma = 2` reflects the gradient's
  component;
* ``mode="nudge"``, an explicit nudge of fixed length :math:`\eta_n`:

  .. math:: \tilde g = g - \eta_n\, \operatorname{sign}(\langle g, v_1\rangle)\, v_1 .

The eigenpair is refreshed every ``every`` (:math:`K`) generator steps, on one noise batch
drawn once and kept (so that successive refreshes see the same loss, moved only by the
parameters), the discriminator frozen (:func:`~deepoptim.gan.generator_hessian`), by Lanczos on
the largest algebraic eigenvalue warm-started from the last eigenvector
(:func:`~deepoptim.gan.top_eigenpair`), or by cold power iteration. The eigenvector is stored
detached; between refreshes the same :math:`v_1` is used. Choices the sources leave open, and
what is chosen here: the modification acts on the gradient (not on Adam's direction
:math:`\hat m/\sqrt{\hat v}`); only the generator is modified; :math:`K`, :math:`\gamma`, the
solver and its budget are parameters (the book's chapter measures the alternatives).

Use: one :class:`NuGAN` per training run, given to :class:`~deepoptim.gan.GANTask`, which calls
:meth:`NuGAN.prepare` before each generator step and :meth:`NuGAN.modify` between its backward
pass and its optimizer's step (``closure_of(..., after_backward=...)``).
"""

from __future__ import annotations

import math

import torch

from deepoptim._checks import check_choice, check_int_at_least, check_non_negative

from .hessians import SOLVERS, generator_hessian, top_eigenpair
from .models import GAN

__all__ = ["MODES", "NuGAN"]

#: How NuGAN modifies the gradient.
MODES = ("project", "nudge")


class NuGAN:
    """The NuGAN gradient modification of a generator.

    Args:
        gamma: :math:`\\gamma`, the strength of the projection removal (``mode="project"``);
            0 is plain Adam.
        every: :math:`K`, generator steps between two refreshes of the eigenpair (the first
            step refreshes).
        mode: ``"project"`` or ``"nudge"`` (see the module).
        nudge: :math:`\\eta_n`, the length of the nudge (``mode="nudge"``).
        solver: ``"lanczos"`` (largest algebraic eigenvalue, warm-started) or ``"power"``
            (largest magnitude, cold).
        max_steps: Hessian-vector products per refresh at most.
        tol: the solver's stopping tolerance (:func:`~deepoptim.gan.top_eigenpair`).
        warm_start: Lanczos starts from the last eigenvector (else from a fresh random
            vector); default: on for Lanczos. Power iteration cannot be warm-started.
        noise_size: the size of the fixed noise batch of the eigen-solve.
        seed: seeds that noise batch and the solver's random starts.

    After each step, :meth:`records` gives the current :math:`\\lambda_1` (``lambda_max``),
    the products the step's refresh spent (``eigen_matvecs``, 0 between refreshes), whether
    the solver met its tolerance (``eigen_converged``, 1 or 0; a solve that ran out of
    products is not hidden) and the cosine between the gradient and :math:`v_1` before the
    modification (``grad_cosine``).
    """

    def __init__(self, gamma: float = 1.0, *, every: int = 20, mode: str = "project",
                 nudge: float = 0.0, solver: str = "lanczos", max_steps: int = 20,
                 tol: float = 1e-3, warm_start: bool | None = None, noise_size: int = 256,
                 seed: int = 0) -> None:
        check_non_negative("gamma", gamma)
        check_int_at_least("every", every, 1)
        check_choice("mode", mode, MODES)
        check_non_negative("nudge", nudge)
        check_choice("solver", solver, SOLVERS)
        check_int_at_least("max_steps", max_steps, 1)
        check_non_negative("tol", tol)
        check_int_at_least("noise_size", noise_size, 1)
        check_int_at_least("seed", seed, 0)
        if mode == "nudge" and nudge == 0:
            raise ValueError("Invalid nudge value: 0.0 (expected a positive length for "
                             "mode='nudge')")
        if warm_start is None:
            warm_start = solver == "lanczos"
        if solver == "power" and warm_start:
            raise ValueError("Invalid warm_start value: True (power iteration starts cold; "
                             "give warm_start=False or None)")
        self.gamma = float(gamma)
        self.every = every
        self.mode = mode
        self.nudge = float(nudge)
        self.solver = solver
        self.max_steps = max_steps
        self.tol = float(tol)
        self.warm_start = bool(warm_start)
        self.noise_size = noise_size
        self.seed = seed
        self.steps = 0
        self.refreshes = 0
        self.eigenvalue = math.nan
        self.eigenvector: torch.Tensor | None = None
        self._noise: torch.Tensor | None = None
        self._params: list[torch.Tensor] = []
        self._views: list[torch.Tensor] = []
        self._records: dict[str, float] = {}

    def __repr__(self) -> str:
        strength = (f"gamma={self.gamma:g}" if self.mode == "project"
                    else f"nudge={self.nudge:g}")
        return (f"NuGAN({strength}, every={self.every}, mode={self.mode!r}, "
                f"solver={self.solver!r}, max_steps={self.max_steps})")

    def refresh(self, gan: GAN) -> dict[str, float]:
        """Compute the top eigenpair of the generator's Hessian now; its records."""
        if not isinstance(gan, GAN):
            raise TypeError(f"gan must be a deepoptim.gan.GAN, got {type(gan).__name__}")
        if self._noise is None:
            self._noise = gan.noise(self.noise_size, torch.Generator().manual_seed(self.seed))
        op = generator_hessian(gan, self._noise)
        start = self.eigenvector if self.warm_start else None
        result = top_eigenpair(op, solver=self.solver, max_steps=self.max_steps, tol=self.tol,
                               start=start, seed=self.seed + self.refreshes)
        self.refreshes += 1
        self.eigenvalue = float(result.eigenvalues[0])
        self.eigenvector = result.eigenvectors[0].detach().clone()
        self._params = [p for p in gan.generator.parameters() if p.requires_grad]
        views = op.hessian.unflatten(self.eigenvector)
        self._views = list(views.values())
        return {"eigen_matvecs": float(result.num_matvecs),
                "eigen_converged": float(result.converged)}

    def prepare(self, gan: GAN) -> None:
        """Before a generator step: count it, and refresh the eigenpair when it is due."""
        records = {"eigen_matvecs": 0.0,
                   "eigen_converged": self._records.get("eigen_converged", math.nan)}
        if self.steps % self.every == 0:
            records = self.refresh(gan)
        self.steps += 1
        self._records = {"lambda_max": self.eigenvalue, **records, "grad_cosine": math.nan}

    @torch.no_grad()
    def modify(self) -> None:
        """Modify the generator's fresh gradients in ``.grad`` in place (after backward)."""
        if self.eigenvector is None:
            raise RuntimeError("NuGAN.modify needs an eigenpair: call prepare or refresh first")
        grads = [p.grad for p in self._params]
        if any(g is None for g in grads):
            raise RuntimeError("NuGAN.modify needs the generator's gradients: call it after "
                               "backward")
        inner = sum(float((g * v).sum()) for g, v in zip(grads, self._views, strict=True))
        norm = math.sqrt(sum(float(g.square().sum()) for g in grads))
        self._records["grad_cosine"] = inner / norm if norm > 0 else math.nan
        coefficient = (self.gamma * inner if self.mode == "project"
                       else self.nudge * math.copysign(1.0, inner))
        for g, v in zip(grads, self._views, strict=True):
            g.sub_(v, alpha=coefficient)

    def records(self) -> dict[str, float]:
        """The last step's records (see the class)."""
        return dict(self._records)
