r"""Each player's Hessian with the other one frozen, its top eigenpair and its spectral density.

A GAN is a game, not a minimisation: the simultaneous gradient field
:math:`(\nabla_\theta L_G, \nabla_\phi L_D)` has the Jacobian

.. math::

    J = \begin{pmatrix} \nabla^2_{\theta\theta} L_G & \nabla^2_{\theta\phi} L_G \\
                        \nabla^2_{\phi\theta} L_D & \nabla^2_{\phi\phi} L_D \end{pmatrix},

which is **not symmetric** (the off-diagonal blocks come from two different losses), so it has
complex eigenvalues in general and Lanczos and stochastic Lanczos quadrature do not apply to it.
What this module computes are the two diagonal blocks, each symmetric: the generator's Hessian
:math:`\nabla^2_\theta L_G` with the discriminator frozen (its parameters held fixed, on a
fixed noise batch), and the discriminator's :math:`\nabla^2_\phi L_D` with the generator frozen
(its points computed once and detached). Each is a :class:`PlayerHessian`, a
:class:`~deepoptim.curvature.LinearOperator` that freezes the other player
(:func:`~deepoptim.gan.frozen`) around every product, so no product leaves a gradient in, or
keeps a graph through, the frozen player.

:func:`top_eigenpair` is the eigen-solve NuGAN refreshes (:func:`deepoptim.curvature.eigsh`,
Lanczos on the largest *algebraic* eigenvalue, warm-startable; or
:func:`~deepoptim.curvature.power_iteration`, which finds the largest *magnitude*, possibly a
negative one); :func:`player_spectra` the SLQ densities (:func:`deepoptim.curvature.slq`) of
both blocks.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from deepoptim._checks import check_choice, check_int_at_least, check_positive
from deepoptim.curvature import (
    EigenResult,
    HessianOperator,
    LinearOperator,
    SpectralDensity,
    eigsh,
    power_iteration,
    slq,
)

from .losses import discriminator_batch, labelled_bce
from .models import GAN, frozen

__all__ = [
    "SOLVERS",
    "PlayerHessian",
    "discriminator_hessian",
    "generator_hessian",
    "player_spectra",
    "top_eigenpair",
]

#: The eigen-solvers of :func:`top_eigenpair`.
SOLVERS = ("lanczos", "power")


class PlayerHessian(LinearOperator):
    """A player's Hessian, its products computed with the other player frozen.

    Args:
        hessian: the player's :class:`~deepoptim.curvature.HessianOperator`.
        other: the module held fixed during every product.

    Vectors are flat over the player's parameters in ``named_parameters()`` order
    (:attr:`names`).
    """

    def __init__(self, hessian: HessianOperator, other: nn.Module) -> None:
        super().__init__(hessian.dim, hessian.dtype, hessian.device)
        self.hessian = hessian
        self.other = other

    @property
    def names(self) -> list[str]:
        """The player's parameters, in the order of the flat vectors."""
        return self.hessian.names

    def _apply(self, vectors: torch.Tensor) -> torch.Tensor:
        with frozen(self.other):
            return self.hessian.matvec_batch(vectors)


def _check_gan(gan: object) -> None:
    if not isinstance(gan, GAN):
        raise TypeError(f"gan must be a deepoptim.gan.GAN, got {type(gan).__name__}")


def _check_points(name: str, points: object, width: int) -> None:
    if not isinstance(points, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(points).__name__}")
    if points.dim() != 2 or points.shape[1] != width or len(points) == 0:
        raise ValueError(f"Invalid {name} value: shape {tuple(points.shape)} "
                         f"(expected (B, {width}) with B >= 1)")


def _discriminated(discriminator: nn.Module, outputs: torch.Tensor,
                   labels: torch.Tensor) -> torch.Tensor:
    """The loss of the generated ``outputs`` as the discriminator labels them."""
    return labelled_bce(discriminator(outputs).squeeze(-1), labels)


def generator_hessian(gan: GAN, noise: torch.Tensor, *, cache: bool = True) -> PlayerHessian:
    """:math:`\\nabla^2_\\theta L_G` on the noise batch ``noise`` ``(B, latent_dim)``, the
    discriminator frozen, at the generator's current parameters (copied).

    ``cache`` keeps the gradient's graph between products, so every product after the first
    costs one backward pass (the graph is freed with the operator).
    """
    _check_gan(gan)
    _check_points("noise", noise, gan.latent_dim)
    loss_fn = functools.partial(_discriminated, gan.discriminator)
    with frozen(gan.discriminator):
        hessian = HessianOperator(gan.generator, loss_fn, noise, noise.new_ones(len(noise)),
                                  cache=cache)
    return PlayerHessian(hessian, gan.discriminator)


def discriminator_hessian(gan: GAN, real: torch.Tensor, noise: torch.Tensor, *,
                          cache: bool = True) -> PlayerHessian:
    """:math:`\\nabla^2_\\phi L_D` on the real points ``real`` and the generated points of
    ``noise``, the generator frozen (its points computed once), at the discriminator's current
    parameters (copied)."""
    _check_gan(gan)
    _check_points("real", real, gan.data_dim)
    _check_points("noise", noise, gan.latent_dim)
    points, labels = discriminator_batch(gan, real, noise)
    hessian = HessianOperator(gan.discriminator, lambda logits, y: labelled_bce(
        logits.squeeze(-1), y), points, labels, cache=cache)
    return PlayerHessian(hessian, gan.generator)


def top_eigenpair(op: LinearOperator, *, solver: str = "lanczos", max_steps: int = 20,
                  tol: float = 1e-3, start: torch.Tensor | None = None,
                  seed: int = 0) -> EigenResult:
    """The top eigenpair of a player's Hessian.

    Args:
        op: the operator (:func:`generator_hessian`).
        solver: ``"lanczos"``: :func:`~deepoptim.curvature.eigsh` with ``which="LA"``, the
            largest algebraic eigenvalue, stopped when the residual is at most ``tol`` times
            the largest Ritz value in magnitude; ``"power"``:
            :func:`~deepoptim.curvature.power_iteration`, the largest in *magnitude* (a large
            negative eigenvalue wins over a smaller positive one), stopped when the Rayleigh
            quotient changes by at most ``tol`` relative.
        max_steps: products at most (for Lanczos, capped at the operator's dimension).
        tol: the stopping tolerance (see ``solver``).
        start: Lanczos only: the start vector ``(n,)`` (a warm start from the last
            eigenvector); ``None``: a Gaussian one drawn from ``seed``. Power iteration always
            starts from the Gaussian vector of ``seed``.
        seed: seeds the random start and Lanczos' restarts.

    Returns:
        The :class:`~deepoptim.curvature.EigenResult` of one pair (``converged`` False when
        ``max_steps`` ran out first).
    """
    check_choice("solver", solver, SOLVERS)
    check_int_at_least("max_steps", max_steps, 1)
    check_positive("tol", tol)
    if solver == "power":
        if start is not None:
            raise ValueError("Invalid start value: a tensor (power iteration is not "
                             "warm-started; give start=None)")
        return power_iteration(op, 1, max_iter=max_steps, tol=tol, seed=seed)
    return eigsh(op, 1, which="LA", max_steps=min(max_steps, op.dim), tol=tol, start=start,
                 seed=seed)


def player_spectra(gan: GAN, real: torch.Tensor, noise: torch.Tensor, *, num_probes: int = 4,
                   num_steps: int = 40, seed: int = 0) -> dict[str, SpectralDensity]:
    """The SLQ spectral densities of both players' Hessians (each with the other frozen), by
    player name: ``{"generator": ..., "discriminator": ...}``. Not the spectrum of the game's
    Jacobian, which is not symmetric."""
    operators = {"generator": generator_hessian(gan, noise),
                 "discriminator": discriminator_hessian(gan, real, noise)}
    return {name: slq(op, num_probes, min(num_steps, op.dim), seed=seed)
            for name, op in operators.items()}
